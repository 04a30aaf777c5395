#!/usr/bin/env bash
# gpufleet's three APIs side by side, in one run: "get one node with its GPUs, NICs, disks, BMC
# and rack" and "a filtered page of 50 nodes with their GPUs", over REST, gRPC and GraphQL.
#
# One release-built `gpufleet serve` process serves a store seeded with NODES nodes x 8 GPUs; the
# load generators run in their own processes: `hey` for REST and GraphQL, `ghz` for gRPC (both
# built once per machine from the Go module proxy into ~/.cache/gpufleet/tools). Each cell is
# CONCURRENCY concurrent clients for SECONDS seconds after a 2 s warm-up; every request of a
# cell asks for the same node or rack (chosen from the seeded fleet), so every interface reads
# the same rows. Prints p50 / p99 latency in ms and requests per second; a cell with any failed
# request is marked and the script exits non-zero. Figures only: nothing is asserted.
#
#   scripts/bench-interfaces.sh                      # 10,000 nodes, embedded SQLite store
#   scripts/bench-interfaces.sh --store postgres     # PostgreSQL from scripts/services.sh
#
# Environment: NODES (10000), CONCURRENCY (32), DURATION (seconds per cell, 10), CARGO_TARGET_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh

STORE=sqlite
while [[ $# -gt 0 ]]; do
	case $1 in
	--store) STORE=$2; shift 2 ;;
	*) echo "usage: $0 [--store sqlite|postgres]" >&2; exit 2 ;;
	esac
done
NODES=${NODES:-10000}
CONCURRENCY=${CONCURRENCY:-32}
SECONDS_PER_CELL=${DURATION:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gpufleet/target}
TOOLS=$HOME/.cache/gpufleet/tools
HEY_VERSION=v0.1.4
GHZ_VERSION=v0.121.0

go_tool() { # name module version → path of the binary, built once per machine
	local name=$1 module=$2 version=$3 dir="$TOOLS/$1-$3"
	if [[ ! -x $dir/$name ]]; then
		command -v go >/dev/null || { echo "bench: $name needs Go to build (apt-get install golang-go)" >&2; exit 1; }
		echo "bench: building $name $version (once per machine)" >&2
		mkdir -p "$dir"
		GOBIN="$dir" GOFLAGS=-mod=mod go install "$module@$version" >&2
	fi
	echo "$dir/$name"
}
HEY=$(go_tool hey github.com/rakyll/hey "$HEY_VERSION")
GHZ=$(go_tool ghz github.com/bojand/ghz/cmd/ghz "$GHZ_VERSION")

echo "bench: building gpufleet (release)" >&2
cargo build -q --release -p fleet-server --bin gpufleet --bin gpufleet-bench
BIN=$CARGO_TARGET_DIR/release

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpufleet-bench-interfaces.XXXXXX")
SERVER_PID=""
PG_DB=""
cleanup() {
	if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
	if [[ -n $PG_DB ]]; then psql "$GPUFLEET_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REST_PORT=$(free_port)
GRPC_PORT=$(free_port)

seed_args=(--seed-into "$WORK/data" --nodes "$NODES" --gpus 8 --racks $(((NODES + 99) / 100)))
serve_env=()
if [[ $STORE == postgres ]]; then
	# shellcheck disable=SC1090
	eval "$(bash scripts/services.sh up 2>/dev/null | grep '^export')"
	PG_DB=gpufleet_bench_ifaces_$$
	psql "$GPUFLEET_TEST_POSTGRES_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null
	DB_URL="${GPUFLEET_TEST_POSTGRES_URL%/*}/$PG_DB"
	seed_args+=(--store postgres --database-url "$DB_URL")
	serve_env+=(GPUFLEET_DATABASE_URL="$DB_URL")
elif [[ $STORE != sqlite ]]; then
	echo "bench: --store must be sqlite or postgres" >&2
	exit 2
fi

echo "bench: seeding $NODES nodes x 8 GPUs ($STORE)" >&2
"$BIN/gpufleet-bench" "${seed_args[@]}" >"$WORK/seed.json"
read -r NODE_ID RACK_ID SEED_SECS < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
ids = s["in_service"]
print(ids[len(ids) // 2], s["racks"][len(s["racks"]) // 2], round(s["seconds"], 1))' "$WORK/seed.json")

PASSWORD=bench-$$-$RANDOM
env "${serve_env[@]}" GPUFLEET_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn \
	"$BIN/gpufleet" serve --data-dir "$WORK/data" --listen "127.0.0.1:$REST_PORT" \
	--grpc-listen "127.0.0.1:$GRPC_PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE=http://127.0.0.1:$REST_PORT
bench_wait_for_gpufleet "$BASE" "$SERVER_PID" "$WORK/server.log"
TOKEN=$(bench_admin_token "$BASE" "$PASSWORD")

# The two reads, written once per interface.
REST_GET="$BASE/api/v1/nodes/$NODE_ID"
REST_LIST="$BASE/api/v1/nodes?state=in_service&rack=$RACK_ID&limit=50&include=gpus"
GQL_GET=$(python3 -c 'import json,sys; print(json.dumps({"query": "query($id: String!) { node(id: $id) { id name state model serial labels gpus { id name model serial } nics { id name address } disks { id name } bmc { id address } rack { id name } } }", "variables": {"id": sys.argv[1]}}))' "$NODE_ID")
GQL_LIST=$(python3 -c 'import json,sys; print(json.dumps({"query": "query($rack: String!) { assets(kind: \"node\", state: \"in_service\", rack: $rack, first: 50) { items { id name state model serial labels gpus { id name model serial } } nextCursor } }", "variables": {"rack": sys.argv[1]}}))' "$RACK_ID")
GRPC_GET="{\"id\":\"$NODE_ID\"}"
GRPC_LIST="{\"state\":\"in_service\",\"rack\":\"$RACK_ID\",\"page_size\":50}"

# Checks each request shape once, so that a cell measures answers, not errors.
check() { # label, then the curl arguments
	local label=$1; shift
	local code
	code=$(curl -s -o "$WORK/check.out" -w '%{http_code}' -H "authorization: Bearer $TOKEN" "$@")
	if [[ $code != 200 ]] || grep -q '"errors"' "$WORK/check.out"; then
		echo "bench: $label answered $code: $(head -c 400 "$WORK/check.out")" >&2
		exit 1
	fi
}
check "REST get" "$REST_GET"
check "REST list" "$REST_LIST"
check "GraphQL get" -H 'content-type: application/json' -d "$GQL_GET" "$BASE/api/v1/graphql"
check "GraphQL list" -H 'content-type: application/json' -d "$GQL_LIST" "$BASE/api/v1/graphql"

# hey: "p50 p99 rps failures" from its text report.
hey_run() { # seconds url [POST body]
	local secs=$1 url=$2 body=${3:-}
	local args=(-z "${secs}s" -c "$CONCURRENCY" -H "Authorization: Bearer $TOKEN")
	if [[ -n $body ]]; then args+=(-m POST -T application/json -d "$body"); fi
	"$HEY" "${args[@]}" "$url" | python3 -c '
import re, sys
t = sys.stdin.read()
def pct(p):
    m = re.search(rf"\s{p}% in ([0-9.]+) secs", t)
    return float(m.group(1)) * 1000 if m else float("nan")
rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", t).group(1))
codes, _, errors = t.partition("Error distribution:")
ok = sum(int(n) for n in re.findall(r"\[200\]\s+(\d+) responses", codes))
total = sum(int(n) for n in re.findall(r"\[\d+\]\s+(\d+) responses", codes))
errs = sum(int(n) for n in re.findall(r"\[(\d+)\]", errors))
print(f"{pct(50):.2f} {pct(99):.2f} {rps:.0f} {total - ok + errs}")'
}
# GraphQL answers 200 with an "errors" list too; its shape was checked above.
ghz_run() { # seconds method data
	# Through server reflection, as any client without the protos would.
	"$GHZ" --insecure --call "$2" -d "$3" \
		-m "{\"authorization\":\"Bearer $TOKEN\"}" -c "$CONCURRENCY" -z "$1s" -O json \
		"127.0.0.1:$GRPC_PORT" | python3 -c '
import json, sys
r = json.load(sys.stdin)
nan = float("nan")
lat = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}
codes = r.get("statusCodeDistribution") or {}
# When the duration ends ghz stops the calls still in flight, at most one per client: they end
# Canceled, or Unavailable with "use of closed network connection" (ghz closed its own
# connection). Those are not the server'"'"'s failures.
errs = r.get("errorDistribution") or {}
closed = sum(n for m, n in errs.items() if "use of closed network connection" in m)
ended = min(codes.get("Canceled", 0) + closed, int(sys.argv[1]))
bad = sum(n for c, n in codes.items() if c != "OK") - ended
rps = r["rps"]
print(f"{lat.get(50, nan):.2f} {lat.get(99, nan):.2f} {rps:.0f} {bad}")' "$CONCURRENCY"
}

cell() { # interface read → "p50 p99 rps failures"
	case "$1/$2" in
	REST/get) hey_run "$3" "$REST_GET" ;;
	REST/list) hey_run "$3" "$REST_LIST" ;;
	GraphQL/get) hey_run "$3" "$BASE/api/v1/graphql" "$GQL_GET" ;;
	GraphQL/list) hey_run "$3" "$BASE/api/v1/graphql" "$GQL_LIST" ;;
	gRPC/get) ghz_run "$3" gpufleet.v1.Nodes.GetNode "$GRPC_GET" ;;
	gRPC/list) ghz_run "$3" gpufleet.v1.Nodes.ListNodes "$GRPC_LIST" ;;
	esac
}

echo "gpufleet API benchmark: REST, gRPC and GraphQL side by side"
echo "  store: $STORE   fleet: $NODES nodes x 8 GPUs, seeded in ${SEED_SECS} s"
echo "  server: one gpufleet process (release); load: hey $HEY_VERSION (REST, GraphQL), ghz $GHZ_VERSION (gRPC), each its own process"
echo "  $CONCURRENCY concurrent clients, $SECONDS_PER_CELL s per cell after 2 s warm-up, on $(nproc) cores shared by server and load generator"
echo
printf '  %-44s' "read"
for i in REST gRPC GraphQL; do printf ' | %-26s' "$i  p50 ms  p99 ms   req/s"; done
echo
status=0
for read in get list; do
	case $read in
	get) label="get node (+ GPUs, NICs, disks, BMC, rack)" ;;
	list) label="50 nodes by state and rack (+ their GPUs)" ;;
	esac
	printf '  %-44s' "$label"
	for iface in REST gRPC GraphQL; do
		cell "$iface" "$read" 2 >/dev/null
		read -r p50 p99 rps failed < <(cell "$iface" "$read" "$SECONDS_PER_CELL")
		mark=""
		if [[ $failed != 0 ]]; then mark=" ($failed failed)"; status=1; fi
		printf ' | %-5s %7s %7s %7s%s' "" "$p50" "$p99" "$rps" "$mark"
	done
	echo
done
echo
echo "  server peak resident memory: $(awk '/VmHWM/{printf "%.0f MiB", $2/1024}' "/proc/$SERVER_PID/status")"
exit $status
