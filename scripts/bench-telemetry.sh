#!/usr/bin/env bash
# GPU telemetry at fleet scale, in one run: NODES nodes x 8 GPUs pushing 15 fields per GPU
# through gpufleet's write route into real Redis (hot status) and real InfluxDB (history), and
# the same line protocol straight into InfluxDB for comparison. Prints figures; asserts nothing.
#
#   scripts/bench-telemetry.sh
#
# Steps: seed the CMDB (SQLite) with the fleet (`gpufleet-bench --seed-into`); start a
# release-built `gpufleet serve` with `redis_url` and `history.influx_url` (Redis and InfluxDB
# from scripts/services.sh); then, each with the load generator `gpufleet-telemetry-bench` in its
# own process:
#   1. paced: every GPU HZ times a second (1) for DURATION s, while a probe puts an XID 48 into one
#      GPU's sample each second and times the sample's send to the live stream's
#      `gpu.status_changed` → failed for that GPU (p50 / p99 / max);
#   2. flat out against gpufleet for MAX_SECS s: samples per second taken;
#   3. flat out against InfluxDB's /write with the same lines for MAX_SECS s: the bare
#      database's samples per second (the ratio gpufleet / bare InfluxDB).
# CPU seconds of gpufleet, redis-server and influxd are read from /proc around step 1 (per
# million samples), and gpufleet's peak resident memory (VmHWM) at the end.
#
# Environment: NODES (10000), HZ (1; 0.1: every 10 s), DURATION (60), MAX_SECS (20),
# CONNECTIONS (8), BATCH_NODES (100), CARGO_TARGET_DIR; gpufleet's own settings pass through
# (e.g. GPUFLEET_HISTORY__RESOLUTION_SECS=60).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/bench.sh
. scripts/lib/bench.sh

NODES=${NODES:-10000}
HZ=${HZ:-1}
DURATION=${DURATION:-60}
MAX_SECS=${MAX_SECS:-20}
CONNECTIONS=${CONNECTIONS:-8}
BATCH_NODES=${BATCH_NODES:-100}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gpufleet/target}

echo "bench: building gpufleet (release)" >&2
cargo build -q --release -p fleet-server --bin gpufleet --bin gpufleet-bench --bin gpufleet-telemetry-bench
BIN=$CARGO_TARGET_DIR/release

# shellcheck disable=SC1090
eval "$(bash scripts/services.sh up redis influxdb 2>/dev/null | grep '^export')"
SERVICES_DIR=${GPUFLEET_SERVICES_DIR:-$HOME/.cache/gpufleet/services}
REDIS_PID=$(cat "$SERVICES_DIR/redis/redis.pid")
INFLUX_PID=$(cat "$SERVICES_DIR/influxdb/influxd.pid")
# A Redis database of its own, emptied at the end; InfluxDB databases of their own, dropped.
REDIS_URL=${GPUFLEET_TEST_REDIS_URL%/*}/14
INFLUX=$GPUFLEET_TEST_INFLUX_URL
DB_HISTORY=gpufleet_bench_$$
DB_BARE=gpufleet_bench_bare_$$

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpufleet-bench-telemetry.XXXXXX")
SERVER_PID=""
influxql() { curl -fsS -XPOST "$INFLUX/query" --data-urlencode "q=$1" >/dev/null; }
redis_cmd() { # a RESP command over bash's /dev/tcp
	local hp=${GPUFLEET_TEST_REDIS_URL#redis://}
	hp=${hp%%/*}
	exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}"
	printf '%s\r\n' "$@" >&3
	timeout 5 head -c 64 <&3 >/dev/null || true
	exec 3>&-
}
cleanup() {
	if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
	influxql "DROP DATABASE $DB_HISTORY" 2>/dev/null || true
	influxql "DROP DATABASE $DB_BARE" 2>/dev/null || true
	redis_cmd "SELECT 14" "FLUSHDB" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)

echo "bench: seeding $NODES nodes x 8 GPUs" >&2
"$BIN/gpufleet-bench" --seed-into "$WORK/data" --nodes "$NODES" --gpus 8 --racks $(((NODES + 99) / 100)) >"$WORK/seed.json"

PASSWORD=bench-$$-$RANDOM
GPUFLEET_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn GPUFLEET_REDIS_URL="$REDIS_URL" \
	GPUFLEET_REDIS_PREFIX="bench$$" GPUFLEET_HISTORY__INFLUX_URL="$INFLUX" \
	GPUFLEET_HISTORY__INFLUX_DB="$DB_HISTORY" GPUFLEET_TELEMETRY__SCRAPE_INTERVAL_SECS=0 \
	GPUFLEET_TELEMETRY__WRITE_LINES_PER_SEC=0 \
	"$BIN/gpufleet" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --grpc-listen "" \
	>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE=http://127.0.0.1:$PORT
bench_wait_for_gpufleet "$BASE" "$SERVER_PID" "$WORK/server.log"
TOKEN=$(bench_admin_token "$BASE" "$PASSWORD")

load() { "$BIN/gpufleet-telemetry-bench" --nodes "$NODES" --connections "$CONNECTIONS" --batch-nodes "$BATCH_NODES" "$@"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "bench: warm-up (the CMDB index of $((NODES * 8)) GPUs is built at the first sample)" >&2
load --url "$BASE" --token "$TOKEN" --hz 1 --duration-secs 5 >/dev/null

echo "bench: 1. paced, $HZ Hz for ${DURATION}s, with the XID probe" >&2
read -r g0 r0 i0 < <(echo "$(cpu_ticks "$SERVER_PID") $(cpu_ticks "$REDIS_PID") $(cpu_ticks "$INFLUX_PID")")
load --url "$BASE" --token "$TOKEN" --hz "$HZ" --duration-secs "$DURATION" --probe-url "$BASE" >"$WORK/paced.json"
read -r g1 r1 i1 < <(echo "$(cpu_ticks "$SERVER_PID") $(cpu_ticks "$REDIS_PID") $(cpu_ticks "$INFLUX_PID")")
sleep 2
curl -fsS -H "authorization: Bearer $TOKEN" "$BASE/api/v1/telemetry/status" >"$WORK/status.json"

echo "bench: 2. flat out into gpufleet for ${MAX_SECS}s" >&2
load --url "$BASE" --token "$TOKEN" --hz 0 --duration-secs "$MAX_SECS" >"$WORK/max.json"
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")

echo "bench: 3. flat out into InfluxDB's /write for ${MAX_SECS}s" >&2
influxql "CREATE DATABASE $DB_BARE"
load --url "$INFLUX" --influx-db "$DB_BARE" --hz 0 --duration-secs "$MAX_SECS" >"$WORK/bare.json"

TICK=$(getconf CLK_TCK)
python3 - "$WORK" "$TICK" "$HWM" "$((g1 - g0))" "$((r1 - r0))" "$((i1 - i0))" "$(nproc)" <<'EOF'
import json, sys
work, tick, hwm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g, r, i = (int(x) / tick for x in sys.argv[4:7])
cores = sys.argv[7]
paced = json.load(open(f"{work}/paced.json"))
mx = json.load(open(f"{work}/max.json"))
bare = json.load(open(f"{work}/bare.json"))
st = json.load(open(f"{work}/status.json"))
samples = paced["lines_sent"] * paced["fields_per_line"]
per_m = lambda s: s / (samples / 1e6) if samples else float("nan")
fmt = lambda v: "n/a" if v is None else f"{v:,.0f}"
print(f"GPUs: {paced['gpus']:,} ({paced['fields_per_line']} fields each), machine: {cores} cores shared by all processes")
print(f"1. paced at {paced['hz']:g} Hz for {paced['seconds']:.0f} s: {paced['samples_per_sec']:,.0f} samples/s taken, "
      f"{paced['late_rounds']} of {paced['rounds']} rounds late, {paced['lines_failed']} lines failed")
print(f"   XID 48 sample sent -> SSE client sees the GPU failed: p50 {fmt(paced['probe_p50_ms'])} ms, "
      f"p99 {fmt(paced['probe_p99_ms'])} ms, max {fmt(paced['probe_max_ms'])} ms "
      f"({paced['probes_seen']} of {paced['probes']} probes seen)")
print(f"   CPU seconds per million samples: gpufleet {per_m(g):.2f}, redis-server {per_m(r):.2f}, influxd {per_m(i):.2f}")
h = st.get("history", {})
print(f"   history ({h.get('resolution_secs')} s intervals): {h.get('points_written', 0):,} written to {h.get('backend')}, "
      f"{h.get('pending_points', 0):,} waiting, {h.get('dropped_points', 0):,} dropped, {h.get('write_errors', 0)} write errors")
print(f"2. flat out into gpufleet: {mx['samples_per_sec']:,.0f} samples/s ({mx['lines_failed']} lines failed)")
print(f"3. flat out into bare InfluxDB /write: {bare['samples_per_sec']:,.0f} samples/s ({bare['lines_failed']} lines failed)")
ratio = mx["samples_per_sec"] / bare["samples_per_sec"] if bare["samples_per_sec"] else float("nan")
print(f"   gpufleet / bare InfluxDB: {ratio:.2f}")
print(f"gpufleet peak resident memory: {hwm / 1024:,.0f} MiB")
EOF
