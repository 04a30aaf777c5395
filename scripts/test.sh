#!/usr/bin/env bash
# THE project test command: starts the local services (scripts/services.sh up), then runs every
# Rust test target of the workspace and the Python checks (scripts/test-python.sh, when present).
# Stops at the first failing stage.
#
# Environment:
#   CARGO_TARGET_DIR            build directory; default $HOME/.cache/gpufleet/target, shared by
#                               every clone on the machine so builds stay warm
#   GPUFLEET_SERVICES_DIR       where services keep data and the env file (see scripts/services.sh)
#   GPUFLEET_TEST_POSTGRES_URL  use this PostgreSQL instead of starting one
#   GPUFLEET_TEST_NATS_URL      use this nats-server (JetStream enabled) instead of starting one
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/stage.sh
. scripts/lib/stage.sh
STAGE_PREFIX='==> test'

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gpufleet/target}
SERVICES_DIR=${GPUFLEET_SERVICES_DIR:-$HOME/.cache/gpufleet/services}
total_start=$SECONDS

stage services bash scripts/services.sh up
# Python venv + independent protocol peers (sushy-tools, ipmi_sim, ipmitool) for the fleet-bmc tests.
stage peers bash scripts/peers.sh
# shellcheck disable=SC1091
. "$SERVICES_DIR/env"
echo "GPUFLEET_TEST_POSTGRES_URL=$GPUFLEET_TEST_POSTGRES_URL"
echo "GPUFLEET_TEST_NATS_URL=$GPUFLEET_TEST_NATS_URL"
# Tinkerbell control plane for fleet-tinkerbell's integration tests, only where it is already
# built on this machine (its cold build is a separate step: scripts/tinkerbell.sh up, see
# docs/TINKERBELL.md); elsewhere those tests skip themselves.
if bash scripts/tinkerbell.sh built; then
	stage tinkerbell bash scripts/tinkerbell.sh up
	eval "$(bash scripts/tinkerbell.sh test-env)"
	echo "GPUFLEET_TEST_KUBECONFIG=$GPUFLEET_TEST_KUBECONFIG"
else
	stage_skip tinkerbell "not built here: scripts/tinkerbell.sh up builds it"
fi

if [[ -f Cargo.toml ]]; then
	stage rust cargo test --workspace --all-targets
else
	stage_skip rust "no Cargo.toml"
fi

# The README's run command, end to end: gpufleet (the test build) with the simulator's example
# fleet; every BMC registered through discovery must end in a ready node.
run_command_check() {
	local dir
	dir=$(mktemp -d)
	GPUFLEET_BIN="$CARGO_TARGET_DIR/debug/gpufleet" GPUFLEET_DATA_DIR="$dir" \
		GPUFLEET_LISTEN=127.0.0.1:18081 GPUFLEET_RUN_ONCE=1 GPUFLEET_ADMIN_PASSWORD=run-check-pw \
		timeout 300 bash scripts/run.sh
	local rc=$?
	rm -rf "$dir"
	return $rc
}
if [[ -f Cargo.toml ]]; then
	stage run-command run_command_check
fi

if [[ -f scripts/test-python.sh ]]; then
	stage python bash scripts/test-python.sh
else
	stage_skip python "no scripts/test-python.sh"
fi

stage_summary
printf '%s: all stages passed in %ds\n' "$STAGE_PREFIX" "$((SECONDS - total_start))"
