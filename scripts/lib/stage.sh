# shellcheck shell=bash
# Helpers for the project's entry scripts (scripts/test.sh, .ci/run): run named stages, print
# each one's duration, stop at the first failure with a clear message, and summarise at the end.
# Source this file; it defines stage, stage_skip, stage_summary and claim_target_dir, and calls stage_on_failure
# (when the sourcing script defines it) before exiting on a failed stage.

if [[ -z ${HOME:-} ]]; then
	HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
	export HOME
fi

STAGE_TIMES=()
STAGE_PREFIX=${STAGE_PREFIX:-==>}

# stage NAME COMMAND [ARG...]: run the command as one stage; on failure print the stage's name,
# exit status and duration, then exit with that status.
stage() {
	local name=$1 start=$SECONDS rc=0
	shift
	printf '\n%s %s: %s\n' "$STAGE_PREFIX" "$name" "$*"
	"$@" || rc=$?
	local took=$((SECONDS - start))
	if ((rc != 0)); then
		printf '\n%s FAILED: stage "%s" exited with status %d after %ds (command: %s)\n' \
			"$STAGE_PREFIX" "$name" "$rc" "$took" "$*" >&2
		stage_summary >&2
		# A script may define stage_on_failure to report more (scripts/test.sh: the test counts).
		if declare -F stage_on_failure >/dev/null; then stage_on_failure || true; fi
		exit "$rc"
	fi
	STAGE_TIMES+=("$(printf '%-10s %5ds' "$name" "$took")")
	printf '%s %s: ok (%ds)\n' "$STAGE_PREFIX" "$name" "$took"
}

# stage_skip NAME REASON: record a stage that did not run, and why.
stage_skip() {
	printf '\n%s %s: skipped (%s)\n' "$STAGE_PREFIX" "$1" "$2"
	STAGE_TIMES+=("$(printf '%-10s %6s' "$1" skipped)")
}

stage_summary() {
	((${#STAGE_TIMES[@]} > 0)) || return 0
	printf '\n%s stages done:\n' "$STAGE_PREFIX"
	printf '    %s\n' "${STAGE_TIMES[@]}"
}

# claim_target_dir: before building in $CARGO_TARGET_DIR, make sure cargo rebuilds this
# checkout's crates when another checkout built there last. Cargo names a workspace crate's
# artifacts the same in every checkout and judges them fresh by modification times: sources of
# this checkout that are older than artifacts another checkout built look compiled, and its
# tests would run the other checkout's code. Touching this checkout's crates (only when the
# last checkout to build was another one) makes cargo rebuild them; dependencies stay shared.
# Builds from two checkouts at the same moment can still cross: give each its own
# CARGO_TARGET_DIR for that.
claim_target_dir() {
	local stamp=$CARGO_TARGET_DIR/.gpufleet-last-checkout root
	root=$(pwd -P)
	mkdir -p "$CARGO_TARGET_DIR"
	if [[ ! -f $stamp || $(<"$stamp") != "$root" ]]; then
		if [[ -f $stamp ]]; then
			printf '%s target dir last built from %s: rebuilding this checkout'"'"'s crates\n' \
				"$STAGE_PREFIX" "$(<"$stamp")"
		fi
		find crates -type f -exec touch {} +
		printf '%s\n' "$root" >"$stamp"
	fi
}
