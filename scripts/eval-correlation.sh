#!/usr/bin/env bash
# End-to-end evaluation of alert correlation: the simulator's example fleet and a release
# gpufleet, the fleet imported with its power feeds and cabling, then fault scenarios injected in
# the simulator (a rack PDU lost, a leaf switch down, a GPU off the bus, two and three faults at
# once, and a cooling unit (CDU) lost: the GPUs of its two racks hot)
# that gpufleet sees only through its own telemetry (BMC liveness probes, dcgm-exporter scrapes,
# gNMI streams) and its own alert rules. Prints, per scenario, the exact-incident rate, the
# root-cause accuracy, pairwise precision and recall, and the time from the last alert to the
# right incidents (python/gpufleet_sim/evaluate.py). Takes about 25 minutes without the cooling
# scenario, which adds its watch (320 to 420 s: gpufleet's GpuTemperatureHigh waits 5 minutes)
# and the recovery after it; asserts nothing.
#
#   scripts/eval-correlation.sh [--scenario TEXT]...   (only scenarios whose name contains TEXT)
#
# Environment: GPUFLEET_TOPOLOGY (python/examples/fleet-3rack.yaml), CARGO_TARGET_DIR, EVAL_OUT
# (also write the scores as JSON there). The example fleet's simulator listens on fixed loopback
# addresses (127.20.0.x, 127.30.0.x, 127.40.0.x, 127.60.0.x): do not run it beside scripts/run.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TOPOLOGY=${GPUFLEET_TOPOLOGY:-$ROOT/python/examples/fleet-3rack.yaml}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gpufleet/target}

echo "eval: building gpufleet (release)" >&2
cargo build -q --release -p fleet-server --bin gpufleet
BIN=$CARGO_TARGET_DIR/release/gpufleet
VENV=$(scripts/python-env.sh)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpufleet-eval.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$VENV/bin/gpufleet-sim" up --topology "$TOPOLOGY" --control 127.0.0.1:0 --quiet >"$WORK/sim.log" 2>&1 &
pids+=("$!")
PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
# Fast detection for a run of minutes: scrapes every 2 s, BMC and PDU liveness every 3 s (2 s deadline),
# counters from the switches every 5 s.
GPUFLEET_LISTEN=127.0.0.1:0 GPUFLEET_ADMIN_PASSWORD="$PASSWORD" \
	GPUFLEET_TELEMETRY__SCRAPE_INTERVAL_SECS=2 \
	GPUFLEET_TELEMETRY__GNMI_SAMPLE_INTERVAL_SECS=5 \
	GPUFLEET_ENRICHER__LIVENESS_INTERVAL_SECS=3 \
	GPUFLEET_ENRICHER__BMC_TIMEOUT_SECS=2 \
	"$BIN" serve --data-dir "$WORK/data" >"$WORK/gpufleet.log" 2>&1 &
pids+=("$!")

URL="" CONTROL=""
for _ in $(seq 1 300); do
	URL=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$WORK/gpufleet.log" | head -n 1)
	CONTROL=$(sed -n 's/.*control API on \(http:\/\/[^ ]*\).*/\1/p' "$WORK/sim.log" | head -n 1)
	[[ -n "$URL" && -n "$CONTROL" ]] && curl -sf "$URL/healthz" >/dev/null 2>&1 && break
	sleep 0.2
done
if [[ -z "$URL" || -z "$CONTROL" ]]; then
	echo "gpufleet or the simulator did not start; logs:" >&2
	tail -n 30 "$WORK/gpufleet.log" "$WORK/sim.log" >&2
	exit 1
fi
TOKEN=$(curl -sf -XPOST -H 'content-type: application/json' \
	-d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
out=()
[[ -n "${EVAL_OUT:-}" ]] && out=(--out "$EVAL_OUT")
if ! "$VENV/bin/gpufleet-sim" evaluate --server "$URL" --token "$TOKEN" --control "$CONTROL" \
	--topology "$TOPOLOGY" "${out[@]}" "$@"; then
	echo "the evaluation failed; last lines of gpufleet's log:" >&2
	tail -n 40 "$WORK/gpufleet.log" >&2
	exit 1
fi
