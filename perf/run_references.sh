#!/usr/bin/env bash
# Both reference loops of the benchmark, one after the other, at their default settings
# (prefix 150, 60 tokens, concurrency 1,4,16,32, at most 120 s per configuration, 2 threads).
# JSON lines on stdout (one per system and concurrency), progress on stderr. About 20 minutes.
#
#   perf/run_references.sh [MODEL_DIR] [options passed to both scripts] > references.jsonl
#
# MODEL_DIR defaults to models/random/full (python models/random/generate.py --size full).
# PYTHON defaults to models/.venv/bin/python (models/test.sh creates it). WAIT_QUIET=SECONDS:
# before each configuration wait up to that long for other processes to leave the cores alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-models/.venv/bin/python}
MODEL_DIR=${1:-models/random/full}
[ $# -gt 0 ] && shift
"$PY" perf/official_style.py --model-dir "$MODEL_DIR" --wait-quiet "${WAIT_QUIET:-0}" "$@"
"$PY" perf/plain_ort.py --model-dir "$MODEL_DIR" --wait-quiet "${WAIT_QUIET:-0}" "$@"
