#!/usr/bin/env bash
# The issue-6 benchmark in one run: the server's LLM batcher (batching on and off) and the two
# reference loops (official-style PyTorch, plain ONNX Runtime), on the full-size random-weight model,
# at 1, 4, 16 and 32 concurrent requests; then one table with the ratios (perf/report.py).
#   perf/run.sh                      # everything (about 15 to 25 minutes on 2 cores)
#   CONCURRENCY=1,4 TOKENS=30 perf/run.sh   # a quicker look
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL_DIR="${MODEL_DIR:-models/random/full}"
CONCURRENCY="${CONCURRENCY:-1,4,16,32}"
TOKENS="${TOKENS:-60}"
PREFIX="${PREFIX:-150}"
MAX_SECONDS="${MAX_SECONDS:-180}"
WINDOW_SECONDS="${WINDOW_SECONDS:-60}"
OUT=target/perf
mkdir -p "$OUT"

PY=models/.venv/bin/python
# no public Python index is reachable here: the machine's local mirror, when it has one
if [ -z "${PIP_INDEX_URL:-}" ] && [ -d /opt/pypi/simple ]; then export PIP_INDEX_URL=file:///opt/pypi/simple; fi
if [ ! -x "$PY" ]; then
  python3 -m venv models/.venv && "$PY" -m pip install -q -r models/requirements.txt
fi
if [ ! -f "$MODEL_DIR/model.json" ]; then
  echo "perf: generating the full-size twin into $MODEL_DIR (about 4 minutes, 2.6 GB)"
  "$PY" models/random/generate.py --size full --out "$MODEL_DIR"
fi

echo "perf: building"
mvn -q -DskipTests -Dexec.skip test-compile dependency:build-classpath -Dmdep.outputFile="$OUT/classpath.txt"
JAVA="$(ls -d /usr/lib/jvm/*25*/bin/java 2>/dev/null | head -1)"
JAVA="${JAVA:-java}"
# ONNX Runtime 1.29's Java binding crashes on a JVM command line over ~4 KB: the class path goes in CLASSPATH
export CLASSPATH="target/classes:target/test-classes:$(cat "$OUT/classpath.txt")"

echo "perf: the server's batcher"
"$JAVA" --enable-native-access=ALL-UNNAMED io.cosyvoice.perf.LlmBenchmark --model-dir "$MODEL_DIR" \
  --concurrency "$CONCURRENCY" --tokens "$TOKENS" --prefix "$PREFIX" --max-seconds "$WINDOW_SECONDS" | tee "$OUT/server.jsonl"

echo "perf: the reference loops"
PYTHON="$PY" bash perf/run_references.sh "$MODEL_DIR" --concurrency "$CONCURRENCY" --tokens "$TOKENS" --prefix "$PREFIX" \
  --max-seconds "$MAX_SECONDS" | tee "$OUT/references.jsonl"

"$PY" perf/report.py "$OUT/server.jsonl" "$OUT/references.jsonl" | tee "$OUT/report.md"
