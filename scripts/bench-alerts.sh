#!/usr/bin/env bash
# One alert storm with ground truth, side by side: gpufleet's correlation against Prometheus
# Alertmanager (Debian's prometheus-alertmanager, 0.25 on bookworm) with typical `group_by`
# routes, in one run. Prints a table; asserts nothing.
#
#   scripts/bench-alerts.sh
#
# Steps (the program is `gpufleet-alert-bench`, crates/fleet-server/src/bin/alert_bench.rs):
#   1. a fleet of NODES nodes (racks of 40, two PDUs and a leaf switch per rack, a BMC, a NIC and
#      8 GPUs per node) and a storm of ALERTS alerts with its truth: PDUs dark, leaf switches down
#      with the NCCL timeouts of their jobs, GPUs off the bus, noise;
#   2. a release-built `gpufleet serve` on a fresh SQLite store, the fleet imported into its CMDB
#      through POST /api/v1/import; the storm posted to POST /api/v1/alerts in requests of BATCH
#      alerts, the incidents read back (GET /api/v1/alerts, /api/v1/incidents) and scored;
#   3. Alertmanager (installed with scripts/services.sh's apt helper when missing), started once
#      per GROUP_BY row on a free loopback port with its own storage, clustering off, the given
#      group_wait / group_interval and a webhook receiver in the program; the same storm posted to
#      /api/v2/alerts, its groups read back (/api/v2/alerts/groups and the notifications) and
#      scored against the same truth.
#
# Environment: NODES (1600), ALERTS (1500), BATCH (64), GROUP_BY (rows separated by ';',
# default 'alertname,rack;alertname;rack;...'), GROUP_WAIT_MS (1000), GROUP_INTERVAL_MS (2000),
# ALERTMANAGER (the binary; default prometheus-alertmanager from PATH), KEEP (1: keep the work
# directory with the fleet, storm, truth and Alertmanager's configurations and logs),
# CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh

NODES=${NODES:-1600}
ALERTS=${ALERTS:-1500}
BATCH=${BATCH:-64}
GROUP_BY=${GROUP_BY:-alertname,rack;alertname;rack;...}
GROUP_WAIT_MS=${GROUP_WAIT_MS:-1000}
GROUP_INTERVAL_MS=${GROUP_INTERVAL_MS:-2000}
KEEP=${KEEP:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gpufleet/target}

echo "bench: building gpufleet and gpufleet-alert-bench (release)" >&2
cargo build -q --release -p fleet-server --bin gpufleet --bin gpufleet-alert-bench
BIN=$CARGO_TARGET_DIR/release

if [[ -z ${ALERTMANAGER:-} ]]; then
	if ! command -v prometheus-alertmanager >/dev/null; then
		bash scripts/services.sh packages prometheus-alertmanager
	fi
	ALERTMANAGER=$(command -v prometheus-alertmanager)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpufleet-bench-alerts.XXXXXX")
SERVER_PID=""
cleanup() {
	if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
	if [[ $KEEP == 1 ]]; then echo "bench: work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
PASSWORD=bench-$$-$RANDOM
GPUFLEET_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn GPUFLEET_TELEMETRY__SCRAPE_INTERVAL_SECS=0 \
	"$BIN/gpufleet" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --grpc-listen "" \
	>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE=http://127.0.0.1:$PORT
bench_wait_for_gpufleet "$BASE" "$SERVER_PID" "$WORK/server.log"
TOKEN=$(bench_admin_token "$BASE" "$PASSWORD")

group_args=()
IFS=';' read -r -a rows <<<"$GROUP_BY"
for g in "${rows[@]}"; do group_args+=(--group-by "$g"); done
write_args=()
if [[ $KEEP == 1 ]]; then write_args+=(--write); fi

GPUFLEET_TOKEN=$TOKEN "$BIN/gpufleet-alert-bench" --nodes "$NODES" --alerts "$ALERTS" \
	--batch "$BATCH" --gpufleet "$BASE" --alertmanager "$ALERTMANAGER" "${group_args[@]}" \
	--group-wait-ms "$GROUP_WAIT_MS" --group-interval-ms "$GROUP_INTERVAL_MS" \
	--work "$WORK" "${write_args[@]}"
echo
echo "  gpufleet peak resident memory: $(awk '/VmHWM/{printf "%.0f MiB", $2/1024}' "/proc/$SERVER_PID/status")"
