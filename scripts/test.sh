#!/usr/bin/env bash
# THE project test command: starts the local services (scripts/services.sh up), installs the
# protocol peers (scripts/peers.sh), builds (once per machine) and starts the Tinkerbell control
# plane (scripts/tinkerbell.sh up), then runs every Rust test target of the workspace, the
# README's run command end to end, and the Python checks (scripts/test-python.sh).
# Stops at the first failing stage. At the end (and after a failed test stage) it prints how many
# tests really ran, Rust and Python apart and in total, the total alone on the last line:
#
#   380 passed, 0 failed, 1 skipped
#
# A skipped test is one that said it could not run (cargo's "ignored", pytest's "skipped");
# Rust tests that need a service are `#[ignore]`d for a plain `cargo test` and run here with
# `--include-ignored`, where a missing prerequisite fails them instead.
#
# Environment:
#   CARGO_TARGET_DIR            build directory; default $HOME/.cache/gpufleet/target, shared by
#                               every clone on the machine so builds stay warm
#   GPUFLEET_SERVICES_DIR       where services keep data and the env file (see scripts/services.sh)
#   GPUFLEET_TEST_POSTGRES_URL  use this PostgreSQL instead of starting one
#   GPUFLEET_TEST_NATS_URL      use this nats-server (JetStream enabled) instead of starting one
#   GPUFLEET_TINK_DIR, GPUFLEET_TINK_PORT_BASE  the Tinkerbell control plane's cache dir and ports
#                               (see scripts/tinkerbell.sh)
#   GPUFLEET_TEST_SUMMARY_FILE  also write the closing counts line to this file (.ci/run does)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/stage.sh
. scripts/lib/stage.sh
STAGE_PREFIX='==> test'

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gpufleet/target}
SERVICES_DIR=${GPUFLEET_SERVICES_DIR:-$HOME/.cache/gpufleet/services}
# Tests that would skip for a missing prerequisite fail instead: this command installs them all.
export GPUFLEET_TEST_COMMAND=1
total_start=$SECONDS

RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/gpufleet-test-results.XXXXXX")
TINK_BUILD_PID=""
on_exit() {
	# A background Tinkerbell build still running (a stage failed before waiting for it) stops.
	if [[ -n $TINK_BUILD_PID ]]; then kill -TERM -- "-$TINK_BUILD_PID" 2>/dev/null || true; fi
	rm -rf "$RESULTS"
}
trap on_exit EXIT

# ---------------------------------------------------------------------------------------------
# Counting what ran

# Rust: the sum of every "test result:" line cargo's test binaries print (ignored = skipped).
rust_counts() {
	[[ -s $RESULTS/rust.log ]] || return 1
	awk '/^test result: /{
		for (i = 1; i <= NF; i++) {
			if ($(i+1) ~ /^passed;?$/) p += $i
			if ($(i+1) ~ /^failed;?$/) f += $i
			if ($(i+1) ~ /^ignored;?$/) s += $i
		}
		n++
	} END { if (n) printf "%d %d %d\n", p, f, s; else exit 1 }' "$RESULTS/rust.log"
}

# Python: pytest's JUnit report (errors count as failed).
python_counts() {
	[[ -s $RESULTS/python.xml ]] || return 1
	python3 - "$RESULTS/python.xml" <<-'PY'
		import sys
		import xml.etree.ElementTree as ET
		root = ET.parse(sys.argv[1]).getroot()
		suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
		t = f = s = 0
		for x in suites:
		    t += int(x.get("tests", 0))
		    f += int(x.get("failures", 0)) + int(x.get("errors", 0))
		    s += int(x.get("skipped", 0))
		print(t - f - s, f, s)
	PY
}

print_counts() {
	local p=0 f=0 s=0 rp rf rs line
	echo
	echo "$STAGE_PREFIX tests that ran (passed / failed / skipped: ignored or skipped, with the reason above):"
	if line=$(rust_counts); then
		read -r rp rf rs <<<"$line"
		printf '    Rust:   %d passed, %d failed, %d skipped\n' "$rp" "$rf" "$rs"
		((p += rp, f += rf, s += rs)) || true
	else
		echo "    Rust:   did not run"
	fi
	if line=$(python_counts); then
		read -r rp rf rs <<<"$line"
		printf '    Python: %d passed, %d failed, %d skipped\n' "$rp" "$rf" "$rs"
		((p += rp, f += rf, s += rs)) || true
	else
		echo "    Python: did not run"
	fi
	line=$(printf '%d passed, %d failed, %d skipped' "$p" "$f" "$s")
	if [[ -n ${GPUFLEET_TEST_SUMMARY_FILE:-} ]]; then
		printf '%s\n' "$line" >"$GPUFLEET_TEST_SUMMARY_FILE"
	fi
	printf '%s\n' "$line"
}

stage_on_failure() { print_counts >&2; }

# ---------------------------------------------------------------------------------------------
# Stages

stage services bash scripts/services.sh up
# Python venv + independent protocol peers (sushy-tools, ipmi_sim, ipmitool) for the fleet-bmc tests.
stage peers bash scripts/peers.sh
# shellcheck disable=SC1091
. "$SERVICES_DIR/env"
# shellcheck disable=SC1091
. "${GPUFLEET_TOOLS_DIR:-$HOME/.cache/gpufleet/tools}/peers.env"
echo "GPUFLEET_TEST_GRPCURL=$GPUFLEET_TEST_GRPCURL"
echo "GPUFLEET_TEST_POSTGRES_URL=$GPUFLEET_TEST_POSTGRES_URL"
echo "GPUFLEET_TEST_NATS_URL=$GPUFLEET_TEST_NATS_URL"

# The Tinkerbell control plane for fleet-tinkerbell's and fleet-server's end-to-end tests: built
# once per machine where it is missing (about 18 minutes cold; cached under ~/.cache), started
# (or found running), then its exports. Its tests are #[ignore]d for a plain `cargo test`.
# Where it must be built, the build (mostly module downloads; niced) runs in the background
# while cargo compiles the tests, in a process group of its own so that it can be stopped.
if ! bash scripts/tinkerbell.sh built; then
	echo "$STAGE_PREFIX tinkerbell: building the control plane in the background (log: $RESULTS/tinkerbell-build.log)"
	setsid bash scripts/tinkerbell.sh build >"$RESULTS/tinkerbell-build.log" 2>&1 </dev/null &
	TINK_BUILD_PID=$!
fi

rust_build() {
	claim_target_dir
	cargo test --workspace --all-targets --no-run
}
stage rust-build rust_build

tinkerbell_up() {
	if [[ -n $TINK_BUILD_PID ]]; then
		echo "waiting for the background build (log: $RESULTS/tinkerbell-build.log)"
		local rc=0
		wait "$TINK_BUILD_PID" || rc=$?
		TINK_BUILD_PID=""
		cat "$RESULTS/tinkerbell-build.log"
		((rc == 0)) || return "$rc"
	fi
	bash scripts/tinkerbell.sh up
}
stage tinkerbell tinkerbell_up
eval "$(bash scripts/tinkerbell.sh test-env)"
[[ -n ${GPUFLEET_TEST_TINK_WORKER:-} ]] ||
	{ echo "tinkerbell: no worker command (the Python environment lacks gpufleet_sim)" >&2 && exit 1; }
echo "GPUFLEET_TEST_KUBECONFIG=$GPUFLEET_TEST_KUBECONFIG"
echo "GPUFLEET_TINK_GRPC=$GPUFLEET_TINK_GRPC"

# Every test binary runs (--no-fail-fast) so that the counts cover them all; the stage fails
# if any test did.
rust_tests() {
	cargo test --workspace --all-targets --no-fail-fast -- --include-ignored 2>&1 |
		tee "$RESULTS/rust.log"
}
stage rust rust_tests

# The README's run command, end to end: gpufleet (the test build) with the simulator's example
# fleet; every BMC registered through discovery must end in a ready node. The same fleet, but
# every listener (gpufleet, the simulator's BMCs and control API) on a port it chooses itself,
# so that the check never collides with a fleet or server already running on this machine.
run_command_check() {
	local dir rc=0 venv
	dir=$(mktemp -d "${TMPDIR:-/tmp}/gpufleet-run-check.XXXXXX")
	venv=$(bash scripts/python-env.sh)
	"$venv/bin/python" - python/examples/fleet-3rack.yaml "$dir/topology.yaml" <<-'PY'
		import sys, yaml
		topo = yaml.safe_load(open(sys.argv[1]))
		topo["addressing"] = {"mode": "port", "host": "127.0.0.1", "redfish_http_port": 0,
		                      "redfish_https_port": 0, "telemetry_port": 0, "ipmi_port": 0, "gnmi_port": 0}
		yaml.safe_dump(topo, open(sys.argv[2], "w"))
	PY
	GPUFLEET_BIN="$CARGO_TARGET_DIR/debug/gpufleet" GPUFLEET_DATA_DIR="$dir/data" \
		GPUFLEET_TOPOLOGY="$dir/topology.yaml" GPUFLEET_SIM_CONTROL=127.0.0.1:0 \
		GPUFLEET_LISTEN=127.0.0.1:0 GPUFLEET_GRPC_LISTEN=127.0.0.1:0 GPUFLEET_RUN_ONCE=1 GPUFLEET_ADMIN_PASSWORD=run-check-pw \
		TMPDIR="$dir" timeout 300 bash scripts/run.sh || rc=$?
	rm -rf "$dir"
	return $rc
}
stage run-command run_command_check

# pytest's temporary directories go with the results (not kept in $TMPDIR between runs). The
# API client tests start the test build of gpufleet, as the run-command check does.
python_tests() {
	GPUFLEET_BIN="$CARGO_TARGET_DIR/debug/gpufleet" bash scripts/test-python.sh \
		--junitxml="$RESULTS/python.xml" --basetemp="$RESULTS/pytest"
}
stage python python_tests

stage_summary
printf '%s: all stages passed in %ds\n' "$STAGE_PREFIX" "$((SECONDS - total_start))"
print_counts
