#!/usr/bin/env bash
# The demo: a whole facility on this machine. A local Mosquitto broker, a
# simulated camera streaming the labelled Hamilton clip over RTSP, the three
# people of its enrolment photos enrolled (one on a watch list), edged
# recognising them, its guard-post monitor with an account per role, and
# the sightings printed as the region would receive them. Ctrl-C stops it all;
# DEMO_SECONDS=N stops it after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED="${SHARED:-$(cd .. && pwd)/shared}"
MODELS="${DOZOR_MODELS:-$PWD/var/models}"
CLIP="$SHARED/testdata/video/hamilton_wh_short_640x360.mp4"
ENROL="$SHARED/testdata/video/enroll"
DIR="$PWD/var/demo"
BROKER_PORT="${DEMO_BROKER_PORT:-18830}"
RTSP_PORT="${DEMO_RTSP_PORT:-18554}"
HTTP_PORT="${DEMO_HTTP_PORT:-18080}"

for f in "$CLIP" "$ENROL" bin/edged bin/edgectl /usr/sbin/mosquitto; do
  [ -e "$f" ] || { echo "demo: $f is missing (run: make deps models build)" >&2; exit 1; }
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
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "demo: $3 did not start on $1:$2" >&2
  exit 1
}

cat > "$DIR/mosquitto.conf" <<CONF
listener $BROKER_PORT 127.0.0.1
allow_anonymous true
persistence false
CONF
/usr/sbin/mosquitto -c "$DIR/mosquitto.conf" > "$DIR/mosquitto.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$BROKER_PORT" mosquitto
echo "demo: broker on tcp://127.0.0.1:$BROKER_PORT"

bin/edgectl simcam --file "$CLIP" --listen "127.0.0.1:$RTSP_PORT" --path /cam1 --loop > "$DIR/simcam.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$RTSP_PORT" "simulated camera"
echo "demo: camera on rtsp://127.0.0.1:$RTSP_PORT/cam1 ($(basename "$CLIP"), looping)"

cat > "$DIR/edged.yaml" <<CONF
site: {region: demo, id: demo-site, name: "Demo facility", time_zone: UTC}
models: {dir: "$MODELS"}
cameras:
  - {id: cam1, url: "rtsp://127.0.0.1:$RTSP_PORT/cam1", zone: hall}
store: {path: "$DIR/dozor.db", key_file: "$DIR/dozor.key"}
uplink: {broker: "tcp://127.0.0.1:$BROKER_PORT"}
http: {listen: "127.0.0.1:$HTTP_PORT"}
CONF

# The enrolment's audit records leave under the site the daemon runs as.
# Lin-Manuel Miranda is on the "escape-risk" watch list, which a critical
# rule watches: each time the camera names him, the guard gets an alert.
cat > "$DIR/enrol.csv" <<CSV
person_id,display_name,photo,categories,watch_lists
lin-manuel-miranda,Lin-Manuel Miranda,$ENROL/lin-manuel-miranda.png,,escape-risk
alex-lacamoire,Alex Lacamoire,$ENROL/alex-lacamoire.png,,
obama,Barack Obama,$ENROL/obama.jpg,,
CSV
echo "demo: enrolling $(ls "$ENROL" | tr '\n' ' ')"
bin/edgectl enroll --config "$DIR/edged.yaml" --init-key --models "$MODELS" \
  --facility demo-site --actor demo --csv "$DIR/enrol.csv"
bin/edgectl rules put --config "$DIR/edged.yaml" --actor demo --id escape-risk --name "Escape risk seen" \
  --kind watch_list --params '{"watch_list":"escape-risk"}' --severity critical --cooldown 2m

# Monitor accounts, each with a fresh random password (there is no default
# password, ever).
declare -A logins
for role in guard supervisor auditor admin; do
  pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | cut -c1-16)"
  printf '%s\n' "$pw" | bin/edgectl user add --config "$DIR/edged.yaml" --actor demo \
    --name "$role" --role "$role" --lang en --password-stdin > /dev/null
  logins[$role]="$pw"
done

bin/edged -config "$DIR/edged.yaml" > "$DIR/edged.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$HTTP_PORT" edged
echo "demo: edged running (log $DIR/edged.log, health http://127.0.0.1:$HTTP_PORT/healthz, metrics /metrics)"
echo
echo "demo: the guard-post monitor: http://127.0.0.1:$HTTP_PORT/"
for role in guard supervisor auditor admin; do
  printf 'demo:   %-10s user %-10s password %s\n' "$role" "$role" "${logins[$role]}"
done
echo
echo "demo: sightings as the region receives them (Ctrl-C to stop):"

if [ -n "${DEMO_SECONDS:-}" ]; then
  timeout "$DEMO_SECONDS" bin/edgectl watch --broker "tcp://127.0.0.1:$BROKER_PORT" || true
else
  bin/edgectl watch --broker "tcp://127.0.0.1:$BROKER_PORT"
fi
