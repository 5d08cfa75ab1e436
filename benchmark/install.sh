#!/usr/bin/env bash
# Create .venv and install commitbench into it. With no NVIDIA GPU, torch is pinned to the
# CPU wheel (2.13.0) instead of the multi-GB CUDA build that a plain `pip install torch` takes.
# Usage: bash benchmark/install.sh [EXTRA]   (EXTRA: an optional-dependency group, e.g. test)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    python -m pip install -q torch
  else
    python -m pip install -q torch==2.13.0
  fi
fi
python -m pip install -q -e ".${1:+[$1]}"
echo "commitbench installed in $(pwd)/.venv ($(python -c 'import torch; print("torch", torch.__version__)'))"
