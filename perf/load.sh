#!/usr/bin/env bash
# Load tests (issue 7): builds the server, starts it on 127.0.0.1 with the engine on the committed tiny
# model and a fresh data directory, runs the Gatling simulations against it, and stops it.
#   perf/load.sh                                    # all three simulations, 8 users (about 3 x 1 minute)
#   USERS=16 RAMP=30 HOLD=60 perf/load.sh           # another ramp
#   SIMULATION=WebSocketSimulation perf/load.sh     # one of ReferenceAudioSimulation, SpeechSimulation, WebSocketSimulation
#   SPLIT=1 perf/load.sh                            # a frontend and a backend process on the cluster, not one process
# Reports: target/gatling/<simulation>-<time>/index.html; real-time factors: target/gatling/rtf.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-18080}"
USERS="${USERS:-8}"
RAMP="${RAMP:-20}"
HOLD="${HOLD:-30}"
OUT=target/perf/load
mkdir -p "$OUT"
rm -rf "$OUT/data" "$OUT/data-backend"
TOKEN="load-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

echo "load: building the server" >&2
mvn -q -DskipTests package
JAVA="$(ls -d /usr/lib/jvm/*25*/bin/java 2>/dev/null | head -1)"
JAVA="${JAVA:-java}"
STAMP="$(date -u +%Y%m%dT%H%M%S)"
SERVERS=()
trap 'kill "${SERVERS[@]}" 2>/dev/null; wait "${SERVERS[@]}" 2>/dev/null || true' EXIT
# start NAME ENV...: one server process in the background, its log in $OUT
start() {
  local name="$1"
  shift
  env COSYVOICE_HTTP_HOST=127.0.0.1 COSYVOICE_API_TOKENS="$TOKEN" COSYVOICE_LOG_LEVEL="${LOG_LEVEL:-WARN}" "$@" \
    "$JAVA" -jar target/cosyvoice-server.jar >"$OUT/$name-$STAMP.log" 2>&1 &
  SERVERS+=($!)
}
if [ -n "${SPLIT:-}" ]; then
  # the frontend (API, database, storage; no model) and the backend (the engine) on the cluster, on loopback
  CLUSTER=(COSYVOICE_CLUSTER_HOST=127.0.0.1 COSYVOICE_CLUSTER_MEMBERS=127.0.0.1:15701,127.0.0.1:15702)
  start backend "${CLUSTER[@]}" COSYVOICE_ROLE=backend COSYVOICE_CLUSTER_PORT=15702 COSYVOICE_HTTP_PORT=$((PORT + 1)) \
    COSYVOICE_DATA_DIR="$OUT/data-backend"
  start frontend "${CLUSTER[@]}" COSYVOICE_ROLE=frontend COSYVOICE_CLUSTER_PORT=15701 COSYVOICE_HTTP_PORT="$PORT" \
    COSYVOICE_DATA_DIR="$OUT/data"
  SHAPE="a frontend and a backend process"
else
  start server COSYVOICE_HTTP_PORT="$PORT" COSYVOICE_DATA_DIR="$OUT/data"
  SHAPE="one process"
fi
for _ in $(seq 1 180); do
  if curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then break; fi
  for pid in "${SERVERS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "load: a server did not start; see the newest logs in $OUT" >&2; exit 1; fi
  done
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null || { echo "load: the server is not ready after 180 s" >&2; exit 1; }
echo "load: server ready on 127.0.0.1:$PORT, $SHAPE (engine on models/random/tiny); loadavg $(cut -d' ' -f1 /proc/loadavg)" >&2

if [ -n "${SIMULATION:-}" ]; then
  SELECT=(-Dgatling.simulationClass="io.cosyvoice.perf.gatling.$SIMULATION")
else
  SELECT=(-Dgatling.runMultipleSimulations=true)
fi
rm -f target/gatling/rtf.txt
mvn -Pgatling test-compile gatling:test "${SELECT[@]}" -Dcosyvoice.url="http://127.0.0.1:$PORT" \
  -Dcosyvoice.token="$TOKEN" -Dusers="$USERS" -Dramp="$RAMP" -Dhold="$HOLD" | tee "$OUT/gatling.log"
cat target/gatling/rtf.txt 2>/dev/null || true
