#!/usr/bin/env bash
# gpufleet on embedded defaults (SQLite in the data directory, in-process bus) together with the
# simulator's example fleet: starts both, imports the racks, registers every simulated BMC through
# the discovery API, and shows the nodes going discovered → inspecting → ready as the enricher
# reads their Redfish inventory; then points gpufleet at each node's dcgm-exporter page (the
# node's `metrics_url`) and shows live GPU health as it scrapes them. Then it keeps serving until
# interrupted (Ctrl-C stops both).
#
#   GPUFLEET_ADMIN_PASSWORD  admin password (first start only; default: generated once and kept
#                            in <data dir>/admin-password, mode 0600)
#   GPUFLEET_DATA_DIR        data directory (default ./data)
#   GPUFLEET_LISTEN          where gpufleet listens (default 127.0.0.1:8080; port 0: a free port,
#                            read back from what gpufleet prints)
#   GPUFLEET_TOPOLOGY        simulator topology (default python/examples/fleet-3rack.yaml); BMC
#                            addresses are those the running simulator reports, so a topology
#                            whose ports are 0 works too
#   GPUFLEET_SIM_CONTROL     the simulator's control API (default 127.0.0.1:8800; port 0 as above)
#   GPUFLEET_NO_SIM=1        gpufleet alone, no simulator
#   GPUFLEET_BIN             an already built gpufleet binary (default: build it here)
#   GPUFLEET_TELEMETRY__SCRAPE_INTERVAL_SECS
#                            seconds between two scrapes of a node's metrics page (default 5 here;
#                            gpufleet's own default is 15)
#   GPUFLEET_RUN_ONCE=1      stop once every node has left discovered/inspecting; exit 0 only if
#                            all are ready, every GPU has its health from the scrapes, and an XID
#                            injected on one GPU turns it failed in the API (the delay is printed;
#                            what scripts/test.sh checks)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DATA="${GPUFLEET_DATA_DIR:-$ROOT/data}"
LISTEN="${GPUFLEET_LISTEN:-127.0.0.1:8080}"
TOPOLOGY="${GPUFLEET_TOPOLOGY:-$ROOT/python/examples/fleet-3rack.yaml}"
SIM_CONTROL="${GPUFLEET_SIM_CONTROL:-127.0.0.1:8800}"
mkdir -p "$DATA"

if [[ -t 1 ]]; then
  say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
else
  say() { printf '==> %s\n' "$*"; }
fi

if [[ -n "${GPUFLEET_BIN:-}" ]]; then
  BIN="$GPUFLEET_BIN"
else
  say "building gpufleet (release; the first build takes a few minutes)"
  cargo build -q --release -p fleet-server --bin gpufleet
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/gpufleet"
fi

PWFILE="$DATA/admin-password"
if [[ -z "${GPUFLEET_ADMIN_PASSWORD:-}" ]]; then
  if [[ ! -f "$PWFILE" ]]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$PWFILE")
  fi
  GPUFLEET_ADMIN_PASSWORD="$(cat "$PWFILE")"
fi
export GPUFLEET_ADMIN_PASSWORD

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SIM_LOG="$DATA/simulator.log"
if [[ "${GPUFLEET_NO_SIM:-0}" != 1 ]]; then
  say "preparing the simulator's Python environment"
  VENV="$(scripts/python-env.sh)"
  SIM="$VENV/bin/gpufleet-sim"
  say "starting the simulated fleet ($TOPOLOGY; log $SIM_LOG)"
  "$SIM" up --topology "$TOPOLOGY" --control "$SIM_CONTROL" > "$SIM_LOG" 2>&1 &
  sim_pid=$!
  pids+=("$sim_pid")
fi

GF_LOG="$DATA/gpufleet.log"
say "starting gpufleet on $LISTEN (data in $DATA; log $GF_LOG)"
export GPUFLEET_TELEMETRY__SCRAPE_INTERVAL_SECS="${GPUFLEET_TELEMETRY__SCRAPE_INTERVAL_SECS:-5}"
GPUFLEET_LISTEN="$LISTEN" "$BIN" serve --data-dir "$DATA" > "$GF_LOG" 2>&1 &
gf_pid=$!
pids+=("$gf_pid")
# gpufleet says where it listens ("gpufleet listening on http://ADDR ...").
URL=""
for _ in $(seq 1 300); do
  URL="$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$GF_LOG" 2>/dev/null | head -n 1)"
  [[ -n "$URL" ]] && curl -sf "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$gf_pid" 2>/dev/null || { cat "$GF_LOG" >&2; echo "gpufleet did not start (log above)" >&2; exit 1; }
  sleep 0.2
done
[[ -n "$URL" ]] && curl -sf "$URL/healthz" >/dev/null || { echo "gpufleet did not answer within 60 s (log: $GF_LOG)" >&2; exit 1; }
say "gpufleet is listening on $URL"

export GPUFLEET_SERVER="$URL"
TOKEN="$(curl -sf -XPOST -H 'content-type: application/json' \
  -d "$(printf '{"username":"admin","password":"%s"}' "$GPUFLEET_ADMIN_PASSWORD")" \
  "$URL/api/v1/auth/login" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
if [[ -z "$TOKEN" ]]; then
  echo "cannot log in as admin: the data directory $DATA was created with another admin password" >&2
  echo "(set GPUFLEET_ADMIN_PASSWORD, or use a new GPUFLEET_DATA_DIR)" >&2
  exit 1
fi
export GPUFLEET_TOKEN="$TOKEN"

if [[ "${GPUFLEET_NO_SIM:-0}" != 1 ]]; then
  for _ in $(seq 1 300); do
    grep -q "control API on" "$SIM_LOG" 2>/dev/null && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$SIM_LOG" >&2; echo "the simulator did not start (log above)" >&2; exit 1; }
    sleep 0.2
  done
  grep -q "control API on" "$SIM_LOG" || { echo "the simulator did not start within 60 s (log: $SIM_LOG)" >&2; exit 1; }
  CONTROL_URL="$(sed -n 's/.*control API on \(http:\/\/[^ ]*\).*/\1/p' "$SIM_LOG" | head -n 1)"
  say "importing the racks, PDUs, switches and CDUs, and registering every BMC of the fleet"
  "$VENV/bin/python" - "$TOPOLOGY" "$URL" "$TOKEN" "$CONTROL_URL" <<'PY'
import json, subprocess, sys, urllib.request, yaml

topology, url, token, control = sys.argv[1:5]
inv = yaml.safe_load(subprocess.run(
    [sys.executable, "-m", "gpufleet_sim.cli", "inventory", topology],
    check=True, capture_output=True, text=True).stdout)
# The addresses the running simulator bound (the same as the topology's unless it asked for
# port 0): HTTPS where it serves it, as the inventory prefers.
with urllib.request.urlopen(control.rstrip("/") + "/fleet", timeout=60) as r:
    fleet = json.load(r)
bound = {n["id"]: n.get("redfish_https") or n["redfish"] for n in fleet["nodes"]}
for n in inv["nodes"]:
    if n["name"] in bound:
        n["bmc"]["address"] = bound[n["name"]]
        n["bmc"]["insecure_tls"] = bound[n["name"]].startswith("https://")
# The PDUs' Redfish controllers, which gpufleet polls for their outlets.
for p in inv.get("pdus", []):
    addr = ((fleet.get("pdus") or {}).get(p["name"]) or {}).get("redfish")
    if addr:
        p["address"] = addr
# The CDUs (coolant distribution units) with the racks they cool, and their Redfish controllers.
for c in inv.get("cdus", []):
    addr = ((fleet.get("cdus") or {}).get(c["name"]) or {}).get("redfish")
    if addr:
        c["address"] = addr

def call(method, path, body, content_type="application/json"):
    req = urllib.request.Request(url + path, method=method, data=body,
                                 headers={"authorization": "Bearer " + token,
                                          "content-type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: HTTP {e.code}: {e.read().decode()}")

site = {k: inv.get(k, []) for k in ("racks", "pdus", "switches", "cdus")}
call("POST", "/api/v1/import", yaml.safe_dump(site).encode(), "application/yaml")
bmcs = [{"name": n["name"], "rack": n.get("rack"), "address": n["bmc"]["address"],
         "username": n["bmc"]["username"], "password": n["bmc"]["password"],
         "accept_self_signed": bool(n["bmc"].get("insecure_tls"))}
        for n in inv["nodes"]]
out = call("POST", "/api/v1/discovery", json.dumps({"bmcs": bmcs}).encode())
print(f"registered {len(bmcs)} BMCs")
PY

  say "watching the nodes (discovered → inspecting → ready)"
  total=0
  for _ in $(seq 1 600); do
    states="$("$BIN" --output json node list --limit 500 2>/dev/null \
      | "$VENV/bin/python" -c 'import json,sys,collections; d=json.load(sys.stdin); items=d["items"] if isinstance(d,dict) else d; c=collections.Counter((i.get("status") or {}).get("state") or "-" for i in items); print(len(items), " ".join(f"{k}={v}" for k,v in sorted(c.items())))' 2>/dev/null || true)"
    total="${states%% *}"
    printf '\r%s nodes: %s        ' "$total" "${states#* }"
    if [[ -n "$states" && "$states" != *discovered* && "$states" != *inspecting=* ]]; then break; fi
    sleep 1
  done
  echo
  "$BIN" node list --limit 500 || true
  if [[ "${GPUFLEET_RUN_ONCE:-0}" == 1 ]]; then
    if [[ -z "$total" || "$states" != "$total ready=$total" ]]; then
      echo "not every node became ready: $states (log: $GF_LOG)" >&2
      exit 1
    fi
    echo "all $total nodes ready"
  fi

  # GPU telemetry: each node's dcgm-exporter page (the simulator's) becomes the node's
  # `metrics_url`, which gpufleet scrapes; then one XID is injected and timed to the API.
  say "scraping each node's dcgm-exporter page for live GPU health"
  "$VENV/bin/python" - "$URL" "$TOKEN" "$CONTROL_URL" "${GPUFLEET_RUN_ONCE:-0}" <<'PY'
import json, os, sys, time, urllib.error, urllib.request

url, token, control, once = sys.argv[1:5]

def call(method, path, body=None, headers=None, base=None):
    h = {"authorization": "Bearer " + token, "content-type": "application/json", **(headers or {})}
    req = urllib.request.Request((base or url) + path, method=method, headers=h,
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null"), r.headers

fleet, _ = call("GET", "/fleet", base=control.rstrip("/"))
targets = {n["id"]: n["metrics"] for n in fleet["nodes"] if n.get("metrics")}
for name, metrics in targets.items():
    for attempt in range(5):
        node, _ = call("GET", f"/api/v1/nodes/{name}")
        asset, hdrs = call("GET", f"/api/v1/assets/{node['id']}")
        config = {**asset["spec"], "metrics_url": metrics}
        try:
            call("PUT", f"/api/v1/assets/{node['id']}/config",
                 {"config": config, "reason": "scrape its dcgm-exporter"}, {"if-match": hdrs["etag"]})
            break
        except urllib.error.HTTPError as e:
            if e.code != 412 or attempt == 4:
                sys.exit(f"{name}: metrics_url not set: HTTP {e.code}: {e.read().decode()}")

deadline = time.monotonic() + 120
while True:
    st, _ = call("GET", "/api/v1/telemetry/status")
    health = st["health"]
    up = sum(1 for t in st["scrape_targets"] if t["up"])
    print(f"\r{up}/{len(targets)} exporters up; GPUs: " + " ".join(f"{k}={v}" for k, v in sorted(health.items())) + "        ", end="", flush=True)
    # Every exporter answered, twice over (two rounds), and GPUs have their health.
    if up == len(targets) and st["requests"] >= 2 * len(targets) and sum(health.values()) > 0:
        break
    if time.monotonic() > deadline:
        print()
        sys.exit(f"the exporters were not all scraped within 120 s: {st}")
    time.sleep(1)
print()
missing = st["gpus_indexed"] - st["gpus_tracked"]
print(f"{st['gpus_tracked']} of {st['gpus_indexed']} CMDB GPUs report telemetry"
      + (f"; {missing} without (see unknown senders)" if missing > 0 else ""))
for u in st["unknown_senders"]:
    print(f"  unknown sender {u['key']}: {u['samples']} samples (no CMDB GPU with this key)")
print()
if once != "1":
    sys.exit(0)
# One XID on one GPU, timed from the injection to the API saying failed.
node = next(iter(targets))
truth, _ = call("GET", f"/nodes/{node}", base=control.rstrip("/"))
serial = truth["gpus"][0]["serial"]
gpus, _ = call("GET", f"/api/v1/nodes/{node}/health")
gpu = next(g for g in gpus["gpus"] if g["serial"] == serial)
start = time.monotonic()
call("POST", "/faults", {"kind": "xid", "target": node, "params": {"gpu": 0, "xid": 48}}, base=control.rstrip("/"))
while True:
    h, _ = call("GET", f"/api/v1/gpus/{gpu['gpu']}/health")
    if h["status"]["state"] == "failed":
        break
    if time.monotonic() - start > 60:
        sys.exit(f"GPU {gpu['name']} did not turn failed within 60 s of an injected XID 48: {h['status']}")
    time.sleep(0.1)
print(f"XID 48 injected on {node} GPU 0 ({gpu['name']}): failed in the API after {time.monotonic() - start:.1f} s "
      f"(scrape interval {os.environ.get('GPUFLEET_TELEMETRY__SCRAPE_INTERVAL_SECS', '15')} s)")
PY
  if [[ "${GPUFLEET_RUN_ONCE:-0}" == 1 ]]; then exit 0; fi
fi

cat <<EOF

gpufleet is running on $URL (API documentation: $URL/api/v1/docs/).
Log in as admin with the password in ${GPUFLEET_ADMIN_PASSWORD:+\$GPUFLEET_ADMIN_PASSWORD or }$PWFILE; for example:
  export GPUFLEET_SERVER=$URL
  alias gpufleet='$BIN'
  gpufleet login --username admin
  gpufleet node list
  gpufleet node show <name>
Ctrl-C stops gpufleet and the simulator.
EOF
wait "$gf_pid"
