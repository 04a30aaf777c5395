#!/usr/bin/env bash
# Generates the typed part of the Python SDK (python/gpufleet-sdk/gpufleet_sdk/generated) from the
# OpenAPI document gpufleet serves: starts gpufleet on embedded defaults (SQLite in a temporary
# data directory, REST on a port it picks, no gRPC), fetches /api/v1/openapi.json, stops it, and
# runs the pinned openapi-python-client on the document.
#
#   scripts/sdk-generate.sh           rewrite python/gpufleet-sdk/openapi.json and .../generated
#   scripts/sdk-generate.sh --check   generate into a temporary directory and compare with the
#                                     committed files: exit 1 with the differences on drift
#
# Environment:
#   GPUFLEET_BIN       the gpufleet binary (default: $CARGO_TARGET_DIR/debug/gpufleet, else
#                      cargo builds it)
#   SDK_PYTHON         a Python with openapi-python-client $GENERATOR_VERSION (default: the venv
#                      of scripts/python-env.sh, which installs it)
set -euo pipefail
GENERATOR_VERSION=0.29.1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SDK=$ROOT/python/gpufleet-sdk
CHECK=0
case "${1:-}" in
--check) CHECK=1 ;;
"") ;;
*) echo "usage: $0 [--check]" >&2 && exit 2 ;;
esac

PY=${SDK_PYTHON:-}
if [[ -z $PY ]]; then PY="$(bash "$ROOT/scripts/python-env.sh")/bin/python"; fi
have=$("$PY" -c 'import importlib.metadata as m; print(m.version("openapi-python-client"))' 2>/dev/null || true)
if [[ $have != "$GENERATOR_VERSION" ]]; then
	echo "sdk-generate: $PY has openapi-python-client '${have:-none}', not $GENERATOR_VERSION (scripts/python-env.sh installs it)" >&2
	exit 1
fi

BIN=${GPUFLEET_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/gpufleet/target}/debug/gpufleet}
if [[ ! -x $BIN ]]; then
	echo "sdk-generate: building gpufleet ($BIN is missing)" >&2
	(cd "$ROOT" && cargo build -q -p fleet-server --bin gpufleet)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpufleet-sdk.XXXXXX")
PID=""
cleanup() {
	if [[ -n $PID ]]; then kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# Only the defaults: no GPUFLEET_* setting of the caller's shell changes what is served.
(
	while read -r name; do unset "$name"; done < <(compgen -e | grep '^GPUFLEET_')
	export GPUFLEET_ADMIN_PASSWORD="sdk-generate-$RANDOM$RANDOM"
	exec "$BIN" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --grpc-listen ""
) >"$WORK/gpufleet.log" 2>&1 </dev/null &
PID=$!
URL=""
for _ in $(seq 1 600); do
	URL=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$WORK/gpufleet.log" | head -n 1)
	[[ -n $URL ]] && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.2
done
if [[ -z $URL ]]; then
	echo "sdk-generate: gpufleet did not start:" >&2
	tail -n 30 "$WORK/gpufleet.log" >&2
	exit 1
fi
# The document as served, indented for readable diffs.
curl -fsS --noproxy '*' --max-time 60 "$URL/api/v1/openapi.json" |
	"$PY" -c 'import json, sys; json.dump(json.load(sys.stdin), sys.stdout, indent=2, ensure_ascii=False); print()' \
		>"$WORK/openapi.json"
kill -TERM "$PID" && wait "$PID" 2>/dev/null || true
PID=""

mkdir -p "$WORK/out"
"$PY" -m openapi_python_client generate --path "$WORK/openapi.json" --output-path "$WORK/out/generated" \
	--meta none --config "$SDK/generator.yaml" >"$WORK/generate.log" 2>&1 ||
	{ cat "$WORK/generate.log" >&2 && exit 1; }
find "$WORK/out" -name __pycache__ -prune -exec rm -rf {} +

if ((CHECK)); then
	rc=0
	diff -u "$SDK/openapi.json" "$WORK/openapi.json" || rc=1
	diff -ru "$SDK/gpufleet_sdk/generated" "$WORK/out/generated" -x __pycache__ || rc=1
	if ((rc)); then
		echo "sdk-generate: the committed SDK differs from what the served OpenAPI document generates; run scripts/sdk-generate.sh and commit" >&2
		exit 1
	fi
	echo "sdk-generate: python/gpufleet-sdk matches the served OpenAPI document"
else
	cp "$WORK/openapi.json" "$SDK/openapi.json"
	rm -rf "$SDK/gpufleet_sdk/generated"
	cp -r "$WORK/out/generated" "$SDK/gpufleet_sdk/generated"
	echo "sdk-generate: wrote $SDK/openapi.json and $SDK/gpufleet_sdk/generated"
fi
