#!/usr/bin/env bash
# The region demo: regiond with its embedded NATS node (JetStream and the
# MQTT listener the facilities connect to), and two simulated facilities,
# each a simulated camera streaming the labelled Hamilton clip and an edged
# with the clip's three people enrolled, publishing to the region under
# their own credentials. Prints the addresses and the logins it created.
# Ctrl-C stops it all; DEMO_SECONDS=N stops it after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED="${SHARED:-$(cd .. && pwd)/shared}"
MODELS="${DOZOR_MODELS:-$PWD/var/models}"
CLIP="$SHARED/testdata/video/hamilton_wh_short_640x360.mp4"
ENROL="$SHARED/testdata/video/enroll"
DIR="$PWD/var/demo-region"
MQTT_PORT="${DEMO_MQTT_PORT:-18831}"
NATS_PORT="${DEMO_NATS_PORT:-18422}"
REGION_HTTP="${DEMO_REGION_HTTP_PORT:-18090}"
SITES=(north-1 north-2)

for f in "$CLIP" "$ENROL" bin/edged bin/edgectl bin/regiond; do
  [ -e "$f" ] || { echo "demo-region: $f is missing (run: make deps models build)" >&2; exit 1; }
done

rm -rf "$DIR"
mkdir -p "$DIR"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_port() { # host port what
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "demo-region: $3 did not start on $1:$2" >&2
  exit 1
}

cat > "$DIR/regiond.yaml" <<CONF
region: {id: demo}
data: {dir: "$DIR/region"}
store: {driver: sqlite, path: "$DIR/region/region.db"}
broker:
  mqtt_listen: "127.0.0.1:$MQTT_PORT"
  nats_listen: "127.0.0.1:$NATS_PORT"
  sites_file: "$DIR/sites"
http: {listen: "127.0.0.1:$REGION_HTTP"}
models: {dir: "$MODELS"}
CONF
# The sites accept gallery revisions signed by this key only; it is made
# on first use.
GALLERY_KEY="$(bin/regiond gallery pubkey -config "$DIR/regiond.yaml")"

# Each facility gets its own credentials: it may publish only under its
# own topics.
declare -A site_pw
for s in "${SITES[@]}"; do
  site_pw[$s]="$(bin/regiond site add -config "$DIR/regiond.yaml" -site "$s" | sed -n 's/^password: //p')"
done

# Dashboard accounts, each with a fresh random password (no default
# password, ever).
region_logins=()
for role in operator supervisor auditor admin; do
  pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16)"
  printf '%s\n' "$pw" | bin/regiond user add -config "$DIR/regiond.yaml" -name "$role" -role "$role" -lang en -password-stdin > /dev/null
  region_logins+=("$role $pw")
done

bin/regiond -config "$DIR/regiond.yaml" > "$DIR/regiond.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$MQTT_PORT" "regiond's MQTT listener"
wait_port 127.0.0.1 "$REGION_HTTP" "regiond's HTTP"
echo "demo-region: regiond running (log $DIR/regiond.log), MQTT tcp://127.0.0.1:$MQTT_PORT"

i=0
for s in "${SITES[@]}"; do
  i=$((i + 1))
  rtsp=$((18555 + i)); http=$((18080 + i))
  sd="$DIR/$s"
  mkdir -p "$sd"
  bin/edgectl simcam --file "$CLIP" --listen "127.0.0.1:$rtsp" --path /cam1 --loop > "$sd/simcam.log" 2>&1 &
  pids+=($!)
  wait_port 127.0.0.1 "$rtsp" "simulated camera of $s"
  printf '%s\n' "${site_pw[$s]}" > "$sd/uplink.password"
  chmod 600 "$sd/uplink.password"
  cat > "$sd/edged.yaml" <<CONF
site: {region: demo, id: $s, name: "Facility $s", time_zone: UTC}
models: {dir: "$MODELS"}
cameras:
  - {id: cam1, url: "rtsp://127.0.0.1:$rtsp/cam1", zone: hall}
store: {path: "$sd/dozor.db", key_file: "$sd/dozor.key"}
uplink: {broker: "tcp://127.0.0.1:$MQTT_PORT", username: $s, password_file: "$sd/uplink.password"}
http: {listen: "127.0.0.1:$http"}
gallery: {region_public_key: "$GALLERY_KEY"}
CONF
  if [ "$i" = 1 ]; then
    # The clip's three people are booked at the first facility's gate; the
    # enrolments go up to the region, which sends them back signed.
    bin/edgectl enroll --config "$sd/edged.yaml" --init-key --models "$MODELS" \
      --facility "$s" --actor demo --dir "$ENROL" > "$sd/enrol.log"
  fi
  bin/edged -config "$sd/edged.yaml" > "$sd/edged.log" 2>&1 &
  pids+=($!)
  wait_port 127.0.0.1 "$http" "edged of $s"
  echo "demo-region: facility $s running (log $sd/edged.log, monitor http://127.0.0.1:$http/)"
done

echo
echo "demo-region: the region: http://127.0.0.1:$REGION_HTTP/ (health /healthz, metrics /metrics)"
for l in "${region_logins[@]}"; do
  set -- $l
  printf 'demo-region:   %-10s user %-10s password %s\n' "$1" "$1" "$2"
done
echo "demo-region: the sites as the region sees them, every 10 s (Ctrl-C to stop):"

end=$(( $(date +%s) + ${DEMO_SECONDS:-0} ))
while true; do
  sleep 10
  echo
  bin/regiond status -url "http://127.0.0.1:$REGION_HTTP" || true
  if [ -n "${DEMO_SECONDS:-}" ] && [ "$(date +%s)" -ge "$end" ]; then break; fi
done
