# shellcheck shell=bash
# Helpers of the benchmark scripts (sourced).

# Waits until the gpufleet at BASE (process PID, log LOG) answers /healthz; shows the log and
# exits when the process ends first or 30 s pass.
bench_wait_for_gpufleet() {
	local base=$1 pid=$2 log=$3
	for _ in $(seq 1 300); do
		curl -fs "$base/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
		sleep 0.1
	done
	echo "bench: gpufleet at $base did not answer within 30 s" >&2
	cat "$log" >&2
	exit 1
}

# Prints a session token of user admin with PASSWORD at BASE.
bench_admin_token() {
	local base=$1 password=$2
	curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
		-d "{\"username\":\"admin\",\"password\":\"$password\"}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
