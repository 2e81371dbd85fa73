#!/usr/bin/env bash
# Server overhead (issue 7): time to first chunk over HTTP JSON, SSE and WebSocket minus the backend's
# own, at 1 and 256 concurrent streams, and the heap 10,000 idle WebSocket connections hold.
# The server runs in a child JVM with the test synthesis backend (no model, but a model version, so voices'
# prompt features are looked up as in production); loopback only; it stops by itself.
#   perf/overhead.sh                                   # everything, about 2 minutes
#   perf/overhead.sh --seconds 5 --concurrency 1,16 --idle 1000   # a quicker look
#   perf/overhead.sh --pace-ms 0   # N streams back to back: saturation (CPU-bound queueing), not overhead
#   perf/overhead.sh --server-cpus 0 --client-cpus 1   # the load generator off the server's core
#   perf/overhead.sh --burst       # the N streams start together: every request arrives in a burst of N
#   perf/overhead.sh --server-env COSYVOICE_DATABASE_PROMPT_CACHE_BYTES=0   # server settings (KEY=VALUE,...)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/perf
mkdir -p "$OUT"
# 10,000 connections on loopback: both ends need a file descriptor each, in two processes
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "overhead: building" >&2
mvn -q -DskipTests -Dexec.skip test-compile dependency:build-classpath -Dmdep.outputFile="$OUT/classpath.txt"
JAVA="$(ls -d /usr/lib/jvm/*25*/bin/java 2>/dev/null | head -1)"
JAVA="${JAVA:-java}"
export CLASSPATH="target/classes:target/test-classes:$(cat "$OUT/classpath.txt")"
# --client-cpus 1 --server-cpus 0: the load generator and the server on separate cores
PIN=()
args=("$@")
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
  if [[ "${args[i]}" == --client-cpus ]]; then PIN=(taskset -c "${args[i + 1]}"); fi
done
"${PIN[@]}" "$JAVA" -Xmx1g --enable-native-access=ALL-UNNAMED io.cosyvoice.perf.OverheadBenchmark "$@" | tee "$OUT/overhead.md"
