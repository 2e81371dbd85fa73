#!/usr/bin/env bash
# Runs the models/ Python tests (twins, export, reference pipeline) with pytest, in models/.venv.
# Creates that venv from requirements.txt when it is missing. Where Python or the packages cannot be
# installed, it says so loudly and exits 0: the Java tests never need Python.
set -uo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY="$VENV/bin/python"

skip() {
  echo "=================================================================="
  echo "SKIPPED: models/ Python tests: $1"
  echo "=================================================================="
  exit 0
}

if [ "${COSYVOICE_SKIP_PYTHON_TESTS:-}" = "1" ]; then
  skip "COSYVOICE_SKIP_PYTHON_TESTS=1"
fi
command -v python3 >/dev/null || skip "no python3 on PATH"
# Machines of this project reach no public Python index: take the machine's local package mirror
# when it has one, so pip does not spend minutes retrying an index it cannot reach.
if [ -z "${PIP_INDEX_URL:-}" ] && [ -d /opt/pypi/simple ]; then
  export PIP_INDEX_URL=file:///opt/pypi/simple
fi
if [ ! -x "$PY" ] || ! "$PY" -c "import torch, onnx, onnxruntime, tokenizers, transformers, pytest" 2>/dev/null; then
  echo "models/test.sh: installing models/requirements.txt into models/$VENV"
  python3 -m venv "$VENV" || skip "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt \
    || skip "pip could not install models/requirements.txt"
fi
"$PY" -m pytest -q -p no:cacheprovider tests ../perf/tests "$@"
status=$?
# pytest's 5 means it collected nothing: a broken test tree, not a pass.
exit $status
