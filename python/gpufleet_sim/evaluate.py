"""End-to-end evaluation of gpufleet's alert correlation against the simulator's ground truth.

Faults are injected in a running simulator; gpufleet sees them only through its own telemetry
(BMC liveness probes and status sync, dcgm-exporter scrapes, gNMI streams) and its own alert
rules, and groups the alerts into incidents. Each scenario is scored against the truth the
simulator writes for its faults:

* **exact**: the true fault's alerts are exactly one incident's alerts;
* **root cause**: that incident (the one holding most of the fault's alerts) names the asset
  the simulator says failed (a PDU or one of its outlets, a switch, a GPU, a CDU);
* **pairwise precision / recall** over the scenario's alerts (same incident vs. same fault);
* **latency**: from the scenario's last alert to the first time the incidents were right and
  stayed right (polled every half second).

The truth of an alert is the fault whose root is the alert's own asset (a CDU's ``CduFault``:
a CDU stands in no rack), else the fault of its rack (scenarios put concurrent faults in
different racks; a fault that spans racks, such as a CDU's, names them all in ``racks``);
alerts of assets in no faulted rack are noise, each its own true incident.

``gpufleet-sim evaluate`` runs against a gpufleet and a simulator that are already up, with the
fleet imported (``scripts/eval-correlation.sh`` starts both and imports it).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any


class Api:
    """A small JSON client (standard library only)."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, method=method, data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: HTTP {e.code}: {e.read().decode(errors='replace')}") from e
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)


@dataclass
class Fault:
    """One fault of a scenario: what the simulator injects and what the right root cause is."""

    kind: str
    target: str
    params: dict = field(default_factory=dict)
    #: The rack the fault's alerts come from.
    rack: str = ""
    #: More racks whose alerts are this fault's (a CDU cools several racks).
    racks: list[str] = field(default_factory=list)
    #: Asset kind and name the incident must name (a PDU may also be named by an outlet).
    root_kind: str = ""
    root_name: str = ""
    #: For a GPU root: the node and GPU index.
    gpu_node: str = ""
    gpu_index: int = 0

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.target}"

    def all_racks(self) -> list[str]:
        """Every rack whose alerts are this fault's."""
        return [r for r in dict.fromkeys([self.rack, *self.racks]) if r]


def truth_by_rack(faults: list[Fault]) -> dict[str, Fault]:
    """Rack -> the fault its alerts belong to; two faults of one scenario may not share a rack."""
    out: dict[str, Fault] = {}
    for f in faults:
        for r in f.all_racks():
            if r in out and out[r] is not f:
                raise ValueError(f"rack {r} is in two faults of one scenario: {out[r].key} and {f.key}")
            out[r] = f
    return out


@dataclass
class Scenario:
    name: str
    faults: list[Fault]
    #: Seconds to watch after the injection (alerts that need time, such as missing telemetry).
    watch_s: float
    #: Seconds without a new alert that end the watch early (after `min_watch_s`).
    quiet_s: float = 20.0
    min_watch_s: float = 10.0


def default_scenarios() -> list[Scenario]:
    """Scenarios for the example fleet (``python/examples/fleet-3rack.yaml``)."""
    pdu = Fault("pdu_power_loss", "pdu-a", rack="rack-a", root_kind="pdu", root_name="pdu-a")
    leaf = Fault("switch_down", "leaf-b", rack="rack-b", root_kind="switch", root_name="leaf-b")
    gpu = Fault(
        "gpu_off_bus",
        "c-l40s-1",
        {"gpu": 1},
        rack="rack-c",
        root_kind="gpu",
        gpu_node="c-l40s-1",
        gpu_index=1,
    )
    pdu_b = Fault("pdu_power_loss", "pdu-b", rack="rack-b", root_kind="pdu", root_name="pdu-b")
    gpu_c = Fault(
        "gpu_off_bus",
        "c-l40s-2",
        {"gpu": 0},
        rack="rack-c",
        root_kind="gpu",
        gpu_node="c-l40s-2",
        gpu_index=0,
    )
    leaf_a = Fault("switch_down", "leaf-a", rack="rack-a", root_kind="switch", root_name="leaf-a")
    # One BMC that stops answering while nothing else is wrong: an incident of its own.
    lone_bmc = Fault("bmc", "c-dell-1", {"mode": "unresponsive"}, rack="rack-c", root_kind="node", root_name="c-dell-1")
    # The CDU of racks a and b: its pumps stop, the 64 H100s of both racks run hot.
    cdu = Fault("cdu_failure", "cdu-01", rack="rack-a", racks=["rack-b"], root_kind="cdu", root_name="cdu-01")
    return [
        # Missing telemetry is alerted 2 minutes after the last sample: watch long enough.
        Scenario("rack PDU lost (pdu-a)", [pdu], watch_s=200, quiet_s=30, min_watch_s=170),
        # Every node of the rack unreachable, as with a dark PDU; the PDU still answers.
        Scenario("leaf switch down (leaf-b)", [leaf], watch_s=200, quiet_s=30, min_watch_s=170),
        # The GPU leaves the exporter's page with its XID: its missing telemetry is the signal.
        Scenario("GPU off the bus (c-l40s-1 GPU 1)", [gpu], watch_s=200, quiet_s=30, min_watch_s=170),
        Scenario(
            "overlapping: PDU lost (pdu-b) + GPU off the bus (c-l40s-2)",
            [pdu_b, gpu_c],
            watch_s=200,
            quiet_s=30,
            min_watch_s=170,
        ),
        # Neighbouring racks dark at once, for different reasons, and a lone BMC fault beside.
        Scenario(
            "neighbouring: leaf down (leaf-a) + PDU lost (pdu-b) + one BMC silent (c-dell-1)",
            [leaf_a, pdu_b, lone_bmc],
            watch_s=200,
            quiet_s=30,
            min_watch_s=170,
        ),
        # The GPUs cross 85 °C within seconds; GpuTemperatureHigh wants 5 minutes above it (plus a
        # scrape), so every alert arrives about 300 to 310 s after the injection.
        Scenario("cooling: CDU lost (cdu-01: rack-a, rack-b)", [cdu], watch_s=420, quiet_s=20, min_watch_s=320),
    ]


@dataclass
class Score:
    scenario: str
    true_incidents: int
    exact: int
    root_ok: int
    alerts: int
    incidents: int
    pair_precision: float | None
    pair_recall: float | None
    latency_s: float | None
    misses: list[str]


def _seconds(rfc: str | None) -> float | None:
    """An RFC 3339 time as seconds since the Unix epoch."""
    if not rfc:
        return None
    from datetime import datetime

    return datetime.fromisoformat(rfc.replace("Z", "+00:00")).timestamp()


class Evaluator:
    def __init__(self, gpufleet: Api, control: Api, log: Any = print) -> None:
        self.gf = gpufleet
        self.sim = control
        self.log = log
        self._assets: dict[str, dict] = {}
        self._racks: dict[str, str] = {}

    # ------------------------------------------------------------------ assets
    def asset(self, id_: str) -> dict:
        """An asset as the API shows it, with `parent_id` and `rack_id` lifted from `metadata`."""
        if id_ not in self._assets:
            a = self.gf.get(f"/api/v1/assets/{id_}")
            meta = a.get("metadata") or {}
            a["parent_id"] = meta.get("parent_id")
            a["rack_id"] = meta.get("rack_id")
            self._assets[id_] = a
        return self._assets[id_]

    def rack_name(self, asset_id: str | None) -> str | None:
        if not asset_id:
            return None
        a = self.asset(asset_id)
        rack = a.get("rack_id")
        if not rack:
            return a["name"] if a.get("kind") == "rack" else None
        if rack not in self._racks:
            self._racks[rack] = self.asset(rack)["name"]
        return self._racks[rack]

    def fault_at(self, asset_id: str | None, faults: list[Fault]) -> Fault | None:
        """The fault whose root is this very asset (a CDU's own alert: a CDU stands in no rack)."""
        if not asset_id:
            return None
        a = self.asset(asset_id)
        for f in faults:
            if (
                f.root_kind in ("cdu", "pdu", "switch")
                and a.get("kind") == f.root_kind
                and a.get("name") == f.root_name
            ):
                return f
        return None

    def root_matches(self, f: Fault, root: dict) -> bool:
        aid = root.get("asset_id")
        if not aid:
            return False
        a = self.asset(aid)
        if f.root_kind == "pdu":
            if a["kind"] == "pdu":
                return a["name"] == f.root_name
            if a["kind"] == "outlet" and a.get("parent_id"):
                return self.asset(a["parent_id"])["name"] == f.root_name
            return False
        if f.root_kind == "gpu":
            if a["kind"] != "gpu" or not a.get("parent_id"):
                return False
            node = self.asset(a["parent_id"])["name"]
            spec = a.get("spec") or {}
            index = spec.get("index", spec.get("minor_number"))
            return node == f.gpu_node and (index is None or int(index) == f.gpu_index)
        if f.root_kind == "node" and a["kind"] != "node":
            # A part of the node (its BMC) names the node.
            parent = self.asset(a["parent_id"]) if a.get("parent_id") else {}
            return parent.get("kind") == "node" and parent.get("name") == f.root_name
        return a["kind"] == f.root_kind and a["name"] == f.root_name

    # ------------------------------------------------------------------ run
    def alerts_since(self, t0: float) -> list[dict]:
        held = self.gf.get("/api/v1/alerts?limit=100000")["alerts"]
        return [a for a in held if (_seconds(a.get("starts_at")) or 0) >= t0]

    def score_now(self, sc: Scenario, t0: float) -> tuple[Score, dict]:
        alerts = self.alerts_since(t0)
        by_rack = truth_by_rack(sc.faults)
        truth: dict[str, str] = {}
        for a in alerts:
            f = self.fault_at(a.get("asset_id"), sc.faults)
            if f is None:
                rack = self.rack_name(a.get("asset_id"))
                f = by_rack.get(rack or "")
            truth[a["fingerprint"]] = f.key if f else f"noise:{a['fingerprint']}"
        got = {a["fingerprint"]: a.get("incident") or f"none:{a['fingerprint']}" for a in alerts}
        incidents: dict[str, set[str]] = {}
        for fp, inc in got.items():
            incidents.setdefault(inc, set()).add(fp)
        exact = root_ok = 0
        misses: list[str] = []
        for f in sc.faults:
            key = f.key
            mine = {fp for fp, t in truth.items() if t == key}
            if not mine:
                misses.append(f"{key}: no alert reached gpufleet")
                continue
            best = max(incidents.items(), key=lambda kv: len(kv[1] & mine))
            if best[1] == mine:
                exact += 1
            else:
                misses.append(
                    f"{key}: its {len(mine)} alerts are in {len({got[fp] for fp in mine})} incident(s); "
                    f"the main one holds {len(best[1] & mine)} of them and {len(best[1] - mine)} others"
                )
            inc = self.gf.get(f"/api/v1/incidents/{best[0]}") if not best[0].startswith("none:") else {}
            root = inc.get("root_cause") or {}
            if self.root_matches(f, root):
                root_ok += 1
            else:
                misses.append(
                    f"{key}: root cause {root.get('kind')} {root.get('asset_name')} ({root.get('fault')}), "
                    f"expected {f.root_kind} {f.root_name or f.gpu_node + ' GPU ' + str(f.gpu_index)}"
                )
        fps = sorted(truth)
        tp = fp_ = fn = 0
        for i, a in enumerate(fps):
            for b in fps[i + 1 :]:
                same_true = truth[a] == truth[b]
                same_got = got[a] == got[b]
                tp += same_true and same_got
                fp_ += same_got and not same_true
                fn += same_true and not same_got
        score = Score(
            scenario=sc.name,
            true_incidents=len(sc.faults),
            exact=exact,
            root_ok=root_ok,
            alerts=len(alerts),
            incidents=len(incidents),
            pair_precision=tp / (tp + fp_) if tp + fp_ else None,
            pair_recall=tp / (tp + fn) if tp + fn else None,
            latency_s=None,
            misses=misses,
        )
        last = max((_seconds(a.get("starts_at")) or 0 for a in alerts), default=None)
        return score, {"last_alert": last, "alerts": len(alerts)}

    def run(self, sc: Scenario) -> Score:
        t0 = time.time() - 1.0
        ids = []
        for f in sc.faults:
            r = self.sim.call("POST", "/faults", {"kind": f.kind, "target": f.target, "params": f.params})
            ids.append(r["id"])
        self.log(f"  injected {', '.join(f'{f.kind} on {f.target}' for f in sc.faults)}")
        start = time.monotonic()
        seen = 0
        last_change = time.monotonic()
        right_since: float | None = None
        score: Score | None = None
        info: dict = {}
        while True:
            time.sleep(0.5)
            score, info = self.score_now(sc, t0)
            now = time.monotonic()
            if info["alerts"] != seen:
                seen, last_change = info["alerts"], now
                right_since = None
            right = score.exact == len(sc.faults) and score.root_ok == len(sc.faults)
            if right and right_since is None:
                right_since = time.time()
            elif not right:
                right_since = None
            elapsed = now - start
            if elapsed >= sc.watch_s or (elapsed >= sc.min_watch_s and now - last_change >= sc.quiet_s and seen > 0):
                break
        assert score is not None
        if right_since is not None and info.get("last_alert"):
            score.latency_s = max(0.0, right_since - info["last_alert"])
        for i in ids:
            self.sim.call("DELETE", f"/faults/{i}")
        self.log(f"  cleared; {score.alerts} alerts in {score.incidents} incident(s)")
        return score

    def recover(self, timeout_s: float = 240) -> None:
        """Waits until every incident is resolved (the faults cleared) so scenarios stay apart."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            open_ = [i for i in self.gf.get("/api/v1/incidents?limit=1000") if i["state"] != "resolved"]
            if not open_:
                return
            time.sleep(2)
        self.log(f"  (incidents still open after {timeout_s:.0f} s; going on)")


def table(scores: list[Score]) -> str:
    def f(x: float | None, fmt: str = "{:.3f}") -> str:
        return "n/a" if x is None else fmt.format(x)

    rows = [
        "| scenario | true incidents | alerts | incidents | exact | root cause | pair precision | pair recall | last alert → right |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        rows.append(
            f"| {s.scenario} | {s.true_incidents} | {s.alerts} | {s.incidents} | {s.exact}/{s.true_incidents} "
            f"| {s.root_ok}/{s.true_incidents} | {f(s.pair_precision)} | {f(s.pair_recall)} | {f(s.latency_s, '{:.1f} s')} |"
        )
    total = sum(s.true_incidents for s in scores)
    exact = sum(s.exact for s in scores)
    root = sum(s.root_ok for s in scores)
    rows.append(
        f"| all | {total} | {sum(s.alerts for s in scores)} | {sum(s.incidents for s in scores)} "
        f"| {exact}/{total} ({exact / total:.2f}) | {root}/{total} ({root / total:.2f}) | | | |"
    )
    return "\n".join(rows)


def prepare(gf: Api, control: Api, inventory: dict, log: Any = print, timeout_s: float = 300) -> None:
    """Imports the simulator's fleet into gpufleet (nodes with their BMC, power feed and
    cabling, switches with their gNMI address and feed, PDUs with the Redfish address the
    simulator bound, CDUs with the racks they cool and theirs), has every node inspected,
    points gpufleet at every node's dcgm-exporter page, and waits until every node is ready,
    every exporter scraped and every switch streaming."""
    fleet = control.get("/fleet")
    bound = {n["id"]: n.get("redfish_https") or n["redfish"] for n in fleet["nodes"]}
    for n in inventory["nodes"]:
        if n["name"] in bound and n.get("bmc"):
            n["bmc"]["address"] = bound[n["name"]]
            n["bmc"]["accept_self_signed"] = bound[n["name"]].startswith("https://")
    pdus = fleet.get("pdus") or {}
    for p in inventory.get("pdus", []):
        if (pdus.get(p["name"]) or {}).get("redfish") and "address" in p:
            p["address"] = pdus[p["name"]]["redfish"]
    cdus = fleet.get("cdus") or {}
    for c in inventory.get("cdus", []):
        if (cdus.get(c["name"]) or {}).get("redfish") and "address" in c:
            c["address"] = cdus[c["name"]]["redfish"]
    import yaml

    req = urllib.request.Request(
        gf.base + "/api/v1/import",
        method="POST",
        data=yaml.safe_dump(inventory).encode(),
        headers={"authorization": f"Bearer {gf.token}", "content-type": "application/yaml"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
    nodes = gf.get("/api/v1/nodes?limit=1000")
    items = nodes["items"] if isinstance(nodes, dict) else nodes
    for n in items:
        # The enricher may have taken the node into inspection already (a node with a BMC left
        # in `discovered` is picked up by itself): that is what this asks for.
        try:
            gf.call("POST", f"/api/v1/nodes/{n['id']}/transition", {"to": "inspecting", "reason": "evaluation"})
        except RuntimeError as e:
            if "HTTP 409" not in str(e):
                raise
    log(f"imported {len(items)} nodes; inspecting them")
    deadline = time.monotonic() + timeout_s
    while True:
        nodes = gf.get("/api/v1/nodes?limit=1000")
        items = nodes["items"] if isinstance(nodes, dict) else nodes
        states = [((n.get("status") or {}).get("state") or n.get("state")) for n in items]
        if all(s == "ready" for s in states):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every node became ready: {states}")
        time.sleep(1)
    targets = {n["id"]: n["metrics"] for n in fleet["nodes"] if n.get("metrics")}
    for name, metrics in targets.items():
        node = gf.get(f"/api/v1/nodes/{name}")
        asset = gf.get(f"/api/v1/assets/{node['id']}")
        gf.call(
            "PUT",
            f"/api/v1/assets/{node['id']}/config",
            {"config": {**asset["spec"], "metrics_url": metrics}, "reason": "scrape its exporter"},
        )
    log(f"{len(items)} nodes ready; scraping {len(targets)} exporters")
    while True:
        st = gf.get("/api/v1/telemetry/status")
        up = sum(1 for t in st["scrape_targets"] if t["up"])
        switches = st.get("switches", [])
        if (
            up == len(targets)
            and sum(st["health"].values()) > 0
            and "unknown" not in st["health"]
            and switches
            and all(s["connected"] for s in switches)
        ):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"telemetry not flowing: {up}/{len(targets)} exporters up, {st['health']}, {switches}")
        time.sleep(1)
    # Incidents of the start-up (the powered-off CPU nodes, …) are settled before the faults.
    log("telemetry flowing; waiting for start-up alerts to settle")
    time.sleep(10)
