#!/usr/bin/env bash
# Build the two peer environments OUTSIDE the repo, each in its own virtualenv, because
# sdv 2.x needs pandas 2.x while mostlyai-engine 2.7 pulls pandas 3.x.
# torch 2.13.0 (CPU) goes in first so neither peer drags in another torch build.
# Idempotent: an environment whose peer already imports is left as it is.
#   usage: bash benchmarks/peers/setup_peers.sh [VENV_ROOT]   (default /work/venvs)
set -euo pipefail

VENV_ROOT="${1:-${PEER_VENV_ROOT:-/work/venvs}}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="torch==2.13.0"
SDV_SPEC="${SDV_SPEC:-sdv>=2.0,<3}"
MOSTLY_SPEC="${MOSTLY_SPEC:-mostlyai-engine>=2.7,<2.8}"

make_venv() {
  local dir="$1"
  if [ ! -x "$dir/bin/python" ]; then
    "$PYTHON" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --upgrade pip
  fi
}

ensure_sdv() {
  local dir="$VENV_ROOT/sdv"
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import sdv, psutil" 2>/dev/null; then
    echo "sdv env ok: $("$dir/bin/python" -c 'import sdv; print(sdv.__version__)')"
    return
  fi
  make_venv "$dir"
  "$dir/bin/python" -m pip install "$TORCH_SPEC"
  "$dir/bin/python" -m pip install "$SDV_SPEC" "pandas>=2,<3" psutil
  "$dir/bin/python" -c "import sdv, pandas; print('sdv', sdv.__version__, 'pandas', pandas.__version__)"
}

ensure_mostly() {
  local dir="$VENV_ROOT/mostly"
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import mostlyai.engine, psutil" 2>/dev/null; then
    echo "mostly env ok: $("$dir/bin/python" -m pip show mostlyai-engine | grep ^Version)"
    return
  fi
  make_venv "$dir"
  "$dir/bin/python" -m pip install "$TORCH_SPEC"
  "$dir/bin/python" -m pip install "$MOSTLY_SPEC" psutil
  # mostlyai-engine pulls torchvision/torchaudio builds that do not match torch 2.13.0 and break its import.
  "$dir/bin/python" -m pip uninstall -y torchvision torchaudio || true
  "$dir/bin/python" -c "import mostlyai.engine, torch; print('mostlyai-engine ok, torch', torch.__version__)"
}

mkdir -p "$VENV_ROOT"
ensure_sdv
ensure_mostly
