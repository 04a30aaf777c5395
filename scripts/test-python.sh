#!/usr/bin/env bash
# The Python part of the project's tests: lint, format check, pytest (python/tests, including the
# API client and SDK tests, which start the gpufleet binary of GPUFLEET_BIN; scripts/test.sh passes
# its test build), among them gpufleet-apitest --start in its bounded mode (test_apitest.py:
# schemathesis as viewer, operator and admin; about 10,000 requests, 1-2 minutes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -x scripts/deps-python.sh ]]; then scripts/deps-python.sh; fi
VENV="$(scripts/python-env.sh)"
export PATH="$VENV/bin:$PATH"
export NO_PROXY="${NO_PROXY:-127.0.0.1,localhost}"
# DMTF schemas for the Redfish Service Validator test; without them that test reports a skip.
if [[ -z "${GPUFLEET_REDFISH_SCHEMA_DIR:-}" ]]; then
  GPUFLEET_REDFISH_SCHEMA_DIR="$(bash scripts/redfish-schemas.sh)" || GPUFLEET_REDFISH_SCHEMA_DIR=""
  export GPUFLEET_REDFISH_SCHEMA_DIR
fi
echo "== ruff check python"
ruff check python
echo "== ruff format --check python"
ruff format --check python
echo "== pytest python/tests"
cd python
pytest tests -v -rfEs --durations=10 -p no:cacheprovider "$@"
