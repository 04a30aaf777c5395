#!/usr/bin/env bash
# Create (idempotently) the Python virtual environment of the simulator and tools,
# install python/ with its dev/test extras, and print the venv path.
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
echo "$VENV"
