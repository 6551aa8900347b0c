#!/usr/bin/env bash
# The GPU check of issue 10: one script for a machine with one GPU, at most ~8 minutes.
# Writes ${OUT:-bench/results}/gpu_check.json (see bench/gpu_check.py). Wheels of missing
# packages may be carried in .whl/ (installed into /tmp/site first, no network needed).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
timeout 480 "$PY" bench/gpu_check.py --out "${OUT:-bench/results}/gpu_check.json" "$@"
