#!/usr/bin/env bash
# Create (idempotently) the Python virtual environment of the simulator and tools,
# install python/ with its dev/test extras and the SDK (python/gpufleet-sdk), and print the venv path.
#   GPUFLEET_VENV  where the venv lives (default ~/.cache/gpufleet/venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GPUFLEET_VENV:-$HOME/.cache/gpufleet/venv}"
PY="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --upgrade pip >&2
fi
# Reinstall only when the project's metadata changed since the last install, or when the venv was
# installed from another checkout: the install is editable, so the simulator code that runs is
# that of the checkout named in the stamp (a clone elsewhere would otherwise test another
# clone's simulator).
STAMP="$VENV/.gpufleet-python-stamp"
SUM="$( (cat "$ROOT/python/pyproject.toml" && echo "$ROOT") | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$SUM" ]] || ! "$VENV/bin/python" -c "import gpufleet_sim" 2>/dev/null; then
  "$VENV/bin/pip" install -q -e "$ROOT/python[dev]" >&2
  echo "$SUM" > "$STAMP"
fi
# The Python SDK (python/gpufleet-sdk), installed as its users install it (not editable), again
# whenever one of its files changed.
SDK="$ROOT/python/gpufleet-sdk"
SDK_STAMP="$VENV/.gpufleet-sdk-stamp"
SDK_SUM="$( (echo "$ROOT" && cd "$SDK" && find . \( -name build -o -name '*.egg-info' -o -name __pycache__ \) -prune \
  -o -type f -print | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$SDK_STAMP" || "$(cat "$SDK_STAMP")" != "$SDK_SUM" ]] || ! "$VENV/bin/python" -c "import gpufleet_sdk" 2>/dev/null; then
  rm -rf "$SDK/build"  # files left by an earlier build would end up in the wheel
  "$VENV/bin/pip" install -q --force-reinstall --no-deps "$SDK" >&2
  "$VENV/bin/pip" install -q "$SDK" >&2
  echo "$SDK_SUM" > "$SDK_STAMP"
fi
echo "$VENV"
