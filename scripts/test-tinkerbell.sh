#!/usr/bin/env bash
# Tests against a real Tinkerbell v0.12.2 control plane: starts it (scripts/tinkerbell.sh up,
# which builds it first on a new machine: see docs/TINKERBELL.md for how long that takes), runs
# the smoke test (the reference example Workflow reaches STATE_PENDING), makes the Python
# environment for the worker, then fleet-tinkerbell's integration tests: every generated object
# round-trips through the CRD schemas, tink-controller renders Workflows, a worker runs them over
# tink-server's gRPC API, and Workflow status maps onto the node lifecycle; then gpufleet's own
# provisioning end to end (crates/fleet-server/tests/provision_e2e.rs).
#
#   scripts/test-tinkerbell.sh [CARGO TEST ARG...]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/stage.sh
. scripts/lib/stage.sh
STAGE_PREFIX='==> test-tinkerbell'
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gpufleet/target}
total_start=$SECONDS

stage control-plane bash scripts/tinkerbell.sh up
stage smoke bash scripts/tinkerbell.sh smoke
stage python-env bash scripts/python-env.sh
eval "$(bash scripts/tinkerbell.sh test-env)"
[[ -n ${GPUFLEET_TEST_TINK_WORKER:-} ]] || {
	echo "test-tinkerbell: the Python environment has no gpufleet_sim.tinkworker" >&2
	exit 1
}
echo "GPUFLEET_TEST_KUBECONFIG=$GPUFLEET_TEST_KUBECONFIG GPUFLEET_TINK_GRPC=$GPUFLEET_TINK_GRPC"
# The control-plane tests are #[ignore]d for a plain `cargo test`: run them here.
stage rust nice -n 10 cargo test -p fleet-tinkerbell "$@" -- --include-ignored
# gpufleet's provisioning role end to end: 21 simulated nodes as workers against tink-server,
# one driver failure, a restart of gpufleet mid-way; prints wall time and per-node overhead.
stage provision-e2e nice -n 10 cargo test -p fleet-server --test provision_e2e -- --include-ignored --nocapture

stage_summary
printf '%s: all stages passed in %ds\n' "$STAGE_PREFIX" "$((SECONDS - total_start))"
