#!/usr/bin/env bash
# gpufleet with an inspected simulated fleet of any size, for local work, in one command:
#   scripts/dev-up.sh --nodes 16 --racks 2 [--store postgres] [--services] [--seed N]
# Prepares the Python environment (scripts/python-env.sh) and runs `gpufleet-dev up` with the
# arguments given (see python/README.md); it prints the URLs and an admin token and serves until
# Ctrl-C. The gpufleet binary is GPUFLEET_BIN, else $CARGO_TARGET_DIR/debug/gpufleet.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$("$ROOT/scripts/python-env.sh")"
exec "$VENV/bin/gpufleet-dev" up "$@"
