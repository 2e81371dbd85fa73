#!/usr/bin/env bash
# Load tests (issue 7): builds the server, starts it on 127.0.0.1 with the engine on the committed tiny
# model and a fresh data directory, runs the Gatling simulations against it, and stops it.
#   perf/load.sh                                    # all three simulations, 8 users (about 3 x 1 minute)
#   USERS=16 RAMP=30 HOLD=60 perf/load.sh           # another ramp
#   SIMULATION=WebSocketSimulation perf/load.sh     # one of ReferenceAudioSimulation, SpeechSimulation, WebSocketSimulation
# Reports: target/gatling/<simulation>-<time>/index.html; real-time factors: target/gatling/rtf.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-18080}"
USERS="${USERS:-8}"
RAMP="${RAMP:-20}"
HOLD="${HOLD:-30}"
OUT=target/perf/load
mkdir -p "$OUT"
rm -rf "$OUT/data"
TOKEN="load-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

echo "load: building the server" >&2
mvn -q -DskipTests package
JAVA="$(ls -d /usr/lib/jvm/*25*/bin/java 2>/dev/null | head -1)"
JAVA="${JAVA:-java}"
COSYVOICE_HTTP_HOST=127.0.0.1 COSYVOICE_HTTP_PORT="$PORT" COSYVOICE_API_TOKENS="$TOKEN" \
  COSYVOICE_DATA_DIR="$OUT/data" COSYVOICE_LOG_LEVEL="${LOG_LEVEL:-WARN}" \
  "$JAVA" -jar target/cosyvoice-server.jar >"$OUT/server-$(date -u +%Y%m%dT%H%M%S).log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do
  if curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then echo "load: the server did not start; see the newest $OUT/server-*.log" >&2; exit 1; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null || { echo "load: the server is not ready after 180 s" >&2; exit 1; }
echo "load: server ready on 127.0.0.1:$PORT (engine on models/random/tiny); loadavg $(cut -d' ' -f1 /proc/loadavg)" >&2

if [ -n "${SIMULATION:-}" ]; then
  SELECT=(-Dgatling.simulationClass="io.cosyvoice.perf.gatling.$SIMULATION")
else
  SELECT=(-Dgatling.runMultipleSimulations=true)
fi
rm -f target/gatling/rtf.txt
mvn -Pgatling test-compile gatling:test "${SELECT[@]}" -Dcosyvoice.url="http://127.0.0.1:$PORT" \
  -Dcosyvoice.token="$TOKEN" -Dusers="$USERS" -Dramp="$RAMP" -Dhold="$HOLD" | tee "$OUT/gatling.log"
cat target/gatling/rtf.txt 2>/dev/null || true
