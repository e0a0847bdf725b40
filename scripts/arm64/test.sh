#!/usr/bin/env bash
# Runs the arm64 build of the test suite under qemu-aarch64-static: each
# package is cross-compiled as an arm64 test binary and executed through
# scripts/arm64/qemu (go test -exec), with the real models and face images.
# Then a smoke run of the cross-built binaries in $1 (bin/linux-arm64):
# edgectl verifies the models, edged starts, serves /healthz, answers its
# own -healthcheck, and stops on SIGTERM. Any failure fails the run.
#
#   scripts/arm64/test.sh [BIN_DIR]
#   ARM64_TEST_ONLY=opencv scripts/arm64/test.sh    packages matching a regex
#
# Emulation costs 10 to 40 times native speed, so the packages whose tests
# run for minutes natively leave out their longest data-set sweeps (listed
# below with -skip); their other tests, real models and images included, run.
# A test that starts its own test binary again (edge/store's crash test)
# starts it through scripts/arm64/qemu, named in DOZOR_TEST_EXEC.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
bin=${1:-bin/linux-arm64}

export DOZOR_SHARED=${DOZOR_SHARED:-$(cd .. && pwd)/shared}
export DOZOR_MODELS=${DOZOR_MODELS:-$repo/var/models}

# A test that starts its own test binary again (edge/store's crash test)
# is told to start it through the same emulator, so it needs no
# binfmt_misc entry on the host.
export DOZOR_TEST_EXEC=$repo/scripts/arm64/qemu

# package | -skip regex ("" runs every test)
specs=(
  # The usability gate's calibration and its test on the mugshots run the
  # real engine over thousands of dev-set photos: a measurement of the
  # data, done natively; the gate itself is pure Go and runs here.
  "./recognizer/|^(TestUsableCalibration|TestUsableRejectsBacksAndProfiles)\$"
  "./recognizer/opencv/|"
  # Natively 23 s each: every single-person photo, and all LFW dev pairs.
  "./recognizer/dlib/|^(TestDetectSinglePersonPhotos|TestLFWDevPairs)\$"
  "./recognizer/gallery/|"
  "./recognizer/eval/|"
  "./recognizer/track/|"
  "./edge/store/|"
  "./models/|"
  "./edge/config/|"
  "./edge/custody/|"
  "./internal/backoff/|"
  "./edge/rules/|"
  "./sync/wire/|"
  # Natively 7 s: every threading variant decodes three 1080p clips.
  "./camera/avcodec/|^TestDecodeVariantsSamePictures\$"
)

./scripts/arm64/sysroot.sh >/dev/null
# shellcheck source=env.sh
. scripts/arm64/env.sh
log=$ARM64_DIR/test.log
: >"$log"

if [ ! -d "$DOZOR_MODELS" ]; then
  echo "arm64 test: $DOZOR_MODELS missing: linking it from $DOZOR_SHARED/models with the arm64 edgectl"
  "$DOZOR_ARM64_EXEC" "$bin/edgectl" models install --from "$DOZOR_SHARED/models" --to "$DOZOR_MODELS" --link
fi

failed=()
summary=()
for spec in "${specs[@]}"; do
  pkg=${spec%%|*}
  skip=${spec#*|}
  if [ -n "${ARM64_TEST_ONLY:-}" ] && ! [[ $pkg =~ $ARM64_TEST_ONLY ]]; then continue; fi
  args=(-count=1 -v -timeout 30m -exec "$DOZOR_ARM64_EXEC")
  [ -z "$skip" ] || args+=(-skip "$skip")
  echo "arm64 test: go test ${args[*]} $pkg" | tee -a "$log"
  start=$(date +%s)
  # Everything goes to the log; the terminal gets it without the === lines.
  if go test "${args[@]}" "$pkg" 2>&1 | tee -a "$log" | grep --line-buffered -v '^=== '; then
    status=ok
  else
    status=FAIL
    failed+=("$pkg")
  fi
  wall=$(($(date +%s) - start))
  summary+=("$(printf '%-4s %-24s %4d s wall (build + run)%s' "$status" "$pkg" "$wall" "${skip:+, skipped $skip}")")
done

# The binaries themselves, under the same emulation.
smoke() {
  echo "arm64 smoke: edgectl models verify --dir $DOZOR_MODELS"
  # set -e does not apply in a function called as a condition: each step
  # returns on failure itself.
  "$DOZOR_ARM64_EXEC" "$bin/edgectl" models verify --dir "$DOZOR_MODELS" >/dev/null || return 1

  local dir port cfg pid code=0 i
  dir=$(mktemp -d) || return 1
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18181)
  mkdir -m 700 "$dir/key" || return 1
  cfg=$dir/edged.yaml
  cat >"$cfg" <<EOF
site: {region: north, id: arm64-smoke}
models: {dir: "$DOZOR_MODELS"}
recognizer: {workers: 1}
store: {path: "$dir/dozor.db", key_file: "$dir/key/dozor.key"}
uplink: {broker: "tcp://127.0.0.1:1"}
http: {listen: "127.0.0.1:$port"}
EOF
  echo "arm64 smoke: edged -config (127.0.0.1:$port), then edged -healthcheck"
  "$DOZOR_ARM64_EXEC" "$bin/edged" -config "$cfg" >"$dir/edged.log" 2>&1 &
  pid=$!
  for i in $(seq 1 240); do
    if "$DOZOR_ARM64_EXEC" "$bin/edged" -healthcheck -config "$cfg" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  if ! "$DOZOR_ARM64_EXEC" "$bin/edged" -healthcheck -config "$cfg"; then
    echo "arm64 smoke: edged is not healthy; its log:" >&2
    cat "$dir/edged.log" >&2
    code=1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || { echo "arm64 smoke: edged exited with $? after SIGTERM; its log:" >&2; cat "$dir/edged.log" >&2; code=1; }
  if [ $code = 0 ] && "$DOZOR_ARM64_EXEC" "$bin/edged" -healthcheck -config "$cfg" 2>/dev/null; then
    echo "arm64 smoke: -healthcheck reports healthy with edged stopped" >&2
    code=1
  fi
  rm -rf "$dir"
  return $code
}
if [ -z "${ARM64_TEST_ONLY:-}" ]; then
  start=$(date +%s)
  if smoke 2>&1 | tee -a "$log"; then status=ok; else status=FAIL; failed+=(smoke); fi
  summary+=("$(printf '%-4s %-24s %4d s wall' "$status" "smoke (edgectl, edged)" "$(($(date +%s) - start))")")
fi

echo
echo "arm64 test summary ($(uname -m) host, qemu-aarch64-static; go test times are in the ok lines above):"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "arm64 test: FAILED: ${failed[*]} (log: $log)" >&2
  exit 1
fi
echo "arm64 test: all passed (log: $log)"
