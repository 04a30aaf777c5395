#!/usr/bin/env bash
# Prints the line coverage of the Rust workspace's unit tests (the #[cfg(test)] tests beside the
# code, in library targets), measured with cargo-tarpaulin.
#
#   scripts/coverage.sh                       whole workspace
#   scripts/coverage.sh -p fleet-model        extra arguments go to `cargo tarpaulin`
#   scripts/coverage.sh --fail-under 70       (e.g. a threshold)
#
# Counted: library code of every crate. Not counted: test code itself, integration tests
# (tests/), benches, examples, build scripts, binary entry points (src/main.rs, src/bin/) and
# generated code (any path with a `generated` folder), which unit tests do not exercise by design.
#
# cargo-tarpaulin is installed on first use into $CARGO_HOME/bin (about 12 minutes on 2 busy
# cores; later runs reuse it). The instrumented build has its own target directory, so it does
# not disturb the normal build cache. Not part of .ci/run: too slow for every change.
#
# Environment:
#   GPUFLEET_COVERAGE_TARGET_DIR  instrumented build dir; default $HOME/.cache/gpufleet/target-coverage
#   GPUFLEET_COVERAGE_ENGINE      tarpaulin engine: llvm (default; needs no llvm-tools) or ptrace
#   GPUFLEET_COVERAGE_JOBS        parallel jobs for the build and the install; default 1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/stage.sh
. scripts/lib/stage.sh
STAGE_PREFIX='==> coverage'

TARPAULIN_VERSION=0.37.5
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export PATH=$CARGO_HOME/bin:$PATH
TARGET_DIR=${GPUFLEET_COVERAGE_TARGET_DIR:-$HOME/.cache/gpufleet/target-coverage}
ENGINE=${GPUFLEET_COVERAGE_ENGINE:-llvm}
JOBS=${GPUFLEET_COVERAGE_JOBS:-1}
REPORT_DIR=$TARGET_DIR/report

install_tarpaulin() {
	echo "cargo-tarpaulin not found in $CARGO_HOME/bin: installing $TARPAULIN_VERSION (one time per machine, ~12 min)"
	nice -n 10 cargo install --locked cargo-tarpaulin --version "$TARPAULIN_VERSION" -j "$JOBS"
}

if ! command -v cargo-tarpaulin >/dev/null 2>&1; then
	stage install install_tarpaulin
fi
echo "using $(cargo tarpaulin --version 2>/dev/null | head -n 1), engine $ENGINE, target dir $TARGET_DIR"

# Unit tests may use the local services, as scripts/test.sh provides them.
stage services bash scripts/services.sh up
# shellcheck disable=SC1091
. "${GPUFLEET_SERVICES_DIR:-$HOME/.cache/gpufleet/services}/env"

mkdir -p "$REPORT_DIR"
log=$REPORT_DIR/tarpaulin.log
color=never
if [[ -t 1 ]]; then color=auto; fi
run_tarpaulin() {
	nice -n 10 cargo tarpaulin --workspace --lib --engine "$ENGINE" --skip-clean --color "$color" \
		--target-dir "$TARGET_DIR" -j "$JOBS" --timeout 300 \
		--exclude-files 'crates/*/tests/*' 'crates/*/benches/*' 'crates/*/examples/*' \
		'crates/*/build.rs' 'crates/*/src/main.rs' 'crates/*/src/bin/*' '*/generated/*' \
		--out Stdout Html Json --output-dir "$REPORT_DIR" "$@" 2>&1 | tee "$log"
}
stage tarpaulin run_tarpaulin "$@"

summary=$(grep -E '^[0-9.]+% coverage, [0-9]+/[0-9]+ lines covered' "$log" | tail -n 1 || true)
[[ -n $summary ]] || {
	echo "coverage: tarpaulin printed no summary line; see $log" >&2
	exit 1
}
pct=${summary%%\%*}
lines=$(sed -E 's/.* ([0-9]+\/[0-9]+) lines covered.*/\1/' <<<"$summary")
stage_summary
echo "report: $REPORT_DIR/tarpaulin-report.html"
echo "unit-test line coverage: ${pct}% (${lines} lines)"
