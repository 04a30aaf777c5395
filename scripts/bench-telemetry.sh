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
#      database's samples per second (the ratio gpufleet / bare InfluxDB);
#   4. scraping, for reference: the load generator serves dcgm-exporter pages (15 fields per GPU,
#      dcgm-exporter's labels) for PROM_NODES of the seeded nodes, one port each on 127.0.0.1;
#      Debian's Prometheus 2.42 (package `prometheus`, installed by `scripts/services.sh
#      packages` when missing; its TSDB in the temp dir) scrapes them every PROM_INTERVAL s for
#      PROM_SECS s; then, with Prometheus stopped, a second `gpufleet serve` on the same data
#      (those nodes' `metrics_url` set through the API, `telemetry.scrape_interval_secs` =
#      PROM_INTERVAL, its history in an InfluxDB database of its own) scrapes the same pages for
#      PROM_SECS s. One after the other so that their CPU does not mix; each window starts once
#      every target has been scraped. Samples taken: Prometheus'
#      `prometheus_tsdb_head_samples_appended_total` (which includes the 5 series it adds per
#      scrape), gpufleet's `samples_ingested`; CPU seconds of each process from /proc, per
#      million samples, and the ratio; Redis', InfluxDB's and the exporters' CPU in each window.
# CPU seconds of gpufleet, redis-server and influxd are read from /proc around step 1 (per
# million samples), and gpufleet's peak resident memory (VmHWM) at the end of step 2.
#
# Environment: NODES (10000), HZ (1; 0.1: every 10 s), DURATION (60), MAX_SECS (20),
# CONNECTIONS (8), BATCH_NODES (100), PROM_NODES (200; 0 skips step 4), PROM_INTERVAL (5),
# PROM_SECS (60), CARGO_TARGET_DIR; gpufleet's own settings pass through
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
PROM_NODES=${PROM_NODES:-200}
PROM_INTERVAL=${PROM_INTERVAL:-5}
PROM_SECS=${PROM_SECS:-60}
((PROM_NODES <= NODES)) || PROM_NODES=$NODES
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
DB_SCRAPE=gpufleet_bench_scrape_$$

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpufleet-bench-telemetry.XXXXXX")
SERVER_PID=""
EXPORTERS_PID=""
PROM_PID=""
influxql() { curl -fsS -XPOST "$INFLUX/query" --data-urlencode "q=$1" >/dev/null; }
redis_cmd() { # a RESP command over bash's /dev/tcp
	local hp=${GPUFLEET_TEST_REDIS_URL#redis://}
	hp=${hp%%/*}
	exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}"
	printf '%s\r\n' "$@" >&3
	timeout 5 head -c 64 <&3 >/dev/null || true
	exec 3>&-
}
stop() { # PID: TERM, and wait for it
	if [[ -n $1 ]]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}
cleanup() {
	stop "$SERVER_PID"
	stop "$PROM_PID"
	stop "$EXPORTERS_PID"
	influxql "DROP DATABASE $DB_HISTORY" 2>/dev/null || true
	influxql "DROP DATABASE $DB_BARE" 2>/dev/null || true
	influxql "DROP DATABASE $DB_SCRAPE" 2>/dev/null || true
	redis_cmd "SELECT 14" "FLUSHDB" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)

echo "bench: seeding $NODES nodes x 8 GPUs" >&2
"$BIN/gpufleet-bench" --seed-into "$WORK/data" --nodes "$NODES" --gpus 8 --racks $(((NODES + 99) / 100)) >"$WORK/seed.json"

PASSWORD=bench-$$-$RANDOM
BASE=http://127.0.0.1:$PORT
start_gpufleet() { # SCRAPE_INTERVAL_SECS HISTORY_DB: gpufleet on the seeded data; sets SERVER_PID
	GPUFLEET_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn GPUFLEET_REDIS_URL="$REDIS_URL" \
		GPUFLEET_REDIS_PREFIX="bench$$" GPUFLEET_HISTORY__INFLUX_URL="$INFLUX" \
		GPUFLEET_HISTORY__INFLUX_DB="$2" GPUFLEET_TELEMETRY__SCRAPE_INTERVAL_SECS="$1" \
		GPUFLEET_TELEMETRY__WRITE_LINES_PER_SEC=0 \
		"$BIN/gpufleet" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" --grpc-listen "" \
		>>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	bench_wait_for_gpufleet "$BASE" "$SERVER_PID" "$WORK/server.log"
}
start_gpufleet 0 "$DB_HISTORY"
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
influxql "DROP DATABASE $DB_BARE"

echo '{}' >"$WORK/scrape.json"
if ((PROM_NODES > 0)); then
	echo "bench: 4. $PROM_NODES dcgm-exporter pages scraped every ${PROM_INTERVAL}s, by Prometheus and then by gpufleet, ${PROM_SECS}s each" >&2
	bash scripts/services.sh packages prometheus >&2
	"$BIN/gpufleet-telemetry-bench" --nodes "$NODES" --serve-exporters "$PROM_NODES" \
		--targets-file "$WORK/targets.json" --duration-secs 86400 >"$WORK/exporters.json" 2>"$WORK/exporters.log" &
	EXPORTERS_PID=$!
	for _ in $(seq 1 300); do [[ -s $WORK/targets.json ]] && break; sleep 0.1; done
	[[ -s $WORK/targets.json ]] || { cat "$WORK/exporters.log" >&2; exit 1; }
	# gpufleet's targets: each sampled node's metrics_url, set through the API of the gpufleet
	# running now (which does not scrape); the one started after Prometheus scrapes them.
	python3 - "$BASE" "$TOKEN" "$WORK/targets.json" <<'PY'
import json, sys, urllib.request
base, token, path = sys.argv[1:4]
def call(method, url, body=None, headers=None):
    h = {"authorization": "Bearer " + token, "content-type": "application/json", **(headers or {})}
    rq = urllib.request.Request(base + url, method=method, headers=h,
                                data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(rq, timeout=60) as r:
        return json.loads(r.read() or b"null"), r.headers
for t in json.load(open(path)):
    node, _ = call("GET", f"/api/v1/nodes/{t['node']}")
    asset, h = call("GET", f"/api/v1/assets/{node['id']}")
    call("PUT", f"/api/v1/assets/{node['id']}/config",
         {"config": {**asset["spec"], "metrics_url": t["url"]}, "reason": "bench: scrape its exporter"},
         {"if-match": h["etag"]})
PY
	stop "$SERVER_PID"
	SERVER_PID=""
	snapshot() { # PID...: their CPU ticks, then the time
		local p
		for p in "$@"; do printf '%s ' "$(cpu_ticks "$p")"; done
		date +%s.%N
	}

	# 4a. Prometheus alone (no gpufleet running).
	PROM_PORT=$(free_port)
	PROM=http://127.0.0.1:$PROM_PORT
	python3 - "$WORK/targets.json" "$PROM_INTERVAL" >"$WORK/prometheus.yml" <<'PY'
import json, sys
targets, interval = json.load(open(sys.argv[1])), int(sys.argv[2])
print(f"global:\n  scrape_interval: {interval}s\n  scrape_timeout: {min(interval, 5)}s")
print("scrape_configs:\n  - job_name: dcgm\n    static_configs:\n      - targets:")
for t in targets:
    print(f"          - {t['address']}")
PY
	/usr/bin/prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus" \
		--web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
	PROM_PID=$!
	prom_all_up() { # every target scraped, and up
		curl -fsS "$PROM/api/v1/targets?state=active" 2>/dev/null | python3 -c '
import json, sys
try:
    t = json.load(sys.stdin)["data"]["activeTargets"]
except ValueError:
    sys.exit(1)
sys.exit(0 if len(t) == int(sys.argv[1]) and all(x["health"] == "up" for x in t) else 1)' "$PROM_NODES"
	}
	prom_samples() {
		curl -fsS "$PROM/metrics" | awk '/^prometheus_tsdb_head_samples_appended_total/ {s += $NF} END {printf "%.0f\n", s}'
	}
	for _ in $(seq 1 $((PROM_INTERVAL * 10 + 300))); do
		prom_all_up && break
		kill -0 "$PROM_PID" 2>/dev/null || { cat "$WORK/prometheus.log" >&2; exit 1; }
		sleep 0.2
	done
	prom_all_up || { echo "bench: Prometheus did not scrape every target" >&2; tail "$WORK/prometheus.log" >&2; exit 1; }
	sleep "$PROM_INTERVAL" # every target once more: its series exist
	read -r p0 pe0 pr0 pi0 pt0 < <(snapshot "$PROM_PID" "$EXPORTERS_PID" "$REDIS_PID" "$INFLUX_PID")
	ps0=$(prom_samples)
	sleep "$PROM_SECS"
	read -r p1 pe1 pr1 pi1 pt1 < <(snapshot "$PROM_PID" "$EXPORTERS_PID" "$REDIS_PID" "$INFLUX_PID")
	ps1=$(prom_samples)
	prom_version=$(/usr/bin/prometheus --version 2>&1 | awk 'NR == 1 {print $3}')
	prom_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PROM_PID/status")
	stop "$PROM_PID"
	PROM_PID=""

	# 4b. gpufleet alone, on the same data, scraping; its history in a database of its own (what
	# InfluxDB does in this window is for these samples only).
	start_gpufleet "$PROM_INTERVAL" "$DB_SCRAPE"
	TOKEN=$(bench_admin_token "$BASE" "$PASSWORD")
	telemetry_status() { curl -fsS -H "authorization: Bearer $TOKEN" "$BASE/api/v1/telemetry/status"; }
	gpufleet_all_up() { # every target up, and scraped twice
		telemetry_status | python3 -c '
import json, sys
st, n = json.load(sys.stdin), int(sys.argv[1])
up = sum(1 for t in st["scrape_targets"] if t["up"])
sys.exit(0 if up == n and st["requests"] >= 2 * n else 1)' "$PROM_NODES"
	}
	for _ in $(seq 1 $((PROM_INTERVAL * 15 + 300))); do
		gpufleet_all_up && break
		sleep 0.2
	done
	gpufleet_all_up || { echo "bench: gpufleet did not scrape every target" >&2; telemetry_status >&2; exit 1; }
	read -r s0 se0 sr0 si0 st0 < <(snapshot "$SERVER_PID" "$EXPORTERS_PID" "$REDIS_PID" "$INFLUX_PID")
	telemetry_status >"$WORK/scrape0.json"
	sleep "$PROM_SECS"
	read -r s1 se1 sr1 si1 st1 < <(snapshot "$SERVER_PID" "$EXPORTERS_PID" "$REDIS_PID" "$INFLUX_PID")
	telemetry_status >"$WORK/scrape1.json"
	scrape_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
	cat >"$WORK/scrape.json" <<JSON
{"nodes": $PROM_NODES, "interval": $PROM_INTERVAL, "prom_version": "$prom_version",
 "prometheus": {"samples": $((ps1 - ps0)), "t0": $pt0, "t1": $pt1, "cpu": $((p1 - p0)),
                "exporters": $((pe1 - pe0)), "redis": $((pr1 - pr0)), "influxd": $((pi1 - pi0)), "hwm_kib": $prom_hwm},
 "gpufleet": {"t0": $st0, "t1": $st1, "cpu": $((s1 - s0)), "exporters": $((se1 - se0)),
              "redis": $((sr1 - sr0)), "influxd": $((si1 - si0)), "hwm_kib": $scrape_hwm}}
JSON
fi

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
sc = json.load(open(f"{work}/scrape.json"))
if not sc:
    print("4. scraping: skipped (PROM_NODES=0)")
    sys.exit(0)
pr, gf = sc["prometheus"], sc["gpufleet"]
s0, s1 = json.load(open(f"{work}/scrape0.json")), json.load(open(f"{work}/scrape1.json"))
gf["samples"] = s1["samples_ingested"] - s0["samples_ingested"]
unknown = s1["unknown_samples"] - s0["unknown_samples"]
ex = json.load(open(f"{work}/targets.json"))
per_page = 8 * 15
print(f"4. {sc['nodes']} dcgm-exporter pages ({sc['nodes'] * 8:,} GPUs x 15 fields) scraped every {sc['interval']} s; "
      "Prometheus first, then gpufleet, never both at once (CPU of one scraper alone)")
rows = []
for name, m in ((f"Prometheus {sc['prom_version']}", pr), ("gpufleet", gf)):
    secs = m["t1"] - m["t0"]
    cpu = m["cpu"] / tick
    rows.append((name, m["samples"], secs, cpu, m))
    print(f"   {name:<18} {m['samples']:>10,} samples in {secs:5.1f} s ({m['samples'] / secs:>9,.0f}/s), "
          f"CPU {cpu:6.2f} s = {cpu / (m['samples'] / 1e6) if m['samples'] else float('nan'):5.2f} s per M samples, "
          f"peak RSS {m['hwm_kib'] / 1024:,.0f} MiB")
(_, ps, _, pc, _), (_, gs, _, gc, _) = rows
ratio = (gc / gs) / (pc / ps) if ps and gs and pc else float("nan")
print(f"   CPU per sample, gpufleet / Prometheus: {ratio:.2f}")
print(f"   Prometheus' count includes the 5 series it adds per scrape (up, scrape_*): {per_page + 5} per page of {per_page}; "
      f"per exporter value it spent {pc / (ps * per_page / (per_page + 5) / 1e6):.2f} s per M")
print(f"   gpufleet: {unknown} samples unresolved; in its window Redis used {gf['redis'] / tick:.2f} CPU s and "
      f"influxd {gf['influxd'] / tick:.2f} (in Prometheus' window, with nothing writing to them: "
      f"{pr['redis'] / tick:.2f} and {pr['influxd'] / tick:.2f}); gpufleet + Redis + InfluxDB: "
      f"{(gf['cpu'] + gf['redis'] + gf['influxd']) / tick / (gs / 1e6):.2f} s per M samples")
print(f"   the exporters (load generator, {len(ex)} ports) used {pr['exporters'] / tick:.2f} CPU s serving Prometheus "
      f"and {gf['exporters'] / tick:.2f} serving gpufleet")
EOF
