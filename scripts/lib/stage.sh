# shellcheck shell=bash
# Helpers for the project's entry scripts (scripts/test.sh, .ci/run): run named stages, print
# each one's duration, stop at the first failure with a clear message, and summarise at the end.
# Source this file; it defines stage and stage_summary.

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
