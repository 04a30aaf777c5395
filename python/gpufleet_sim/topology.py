"""Build a ``Fleet`` from a topology file (YAML).

Example (see ``examples/fleet-3rack.yaml``)::

    seed: 42
    addressing:
      mode: loopback          # loopback: one 127.x.y.z per node, fixed ports
      base: 127.20.0.1        # first node address (then +1 per node, skipping .0 and .255)
      redfish_http_port: 8000
      redfish_https_port: 8443
      telemetry_port: 9400
      ipmi_port: 623          # for the IPMI face (other listeners pick their own)
      switch_base: 127.30.0.1 # gNMI targets, one address per switch
      gnmi_port: 9339
      pdu_base: 127.40.0.1    # PDU Redfish (plain HTTP on redfish_http_port), one address per PDU
      cdu_base: 127.60.0.1    # CDU Redfish (plain HTTP on redfish_http_port), one address per CDU
    defaults:
      power_delay_s: 2
      bmc: {user: admin, password: password}
      racks_per_cdu: 2        # without a cdus list: one CDU per 2 consecutive racks (0: none)
    options:
      ingest_url: null        # gpufleet ingest URL for pushed telemetry
    racks:
      - id: rack-a
        pdus: [{id: pdu-a, outlets: 24}]
        switches: [{id: leaf-a, ports: 48}]
        nodes:
          - {count: 4, model: hgx-h100-8gpu, prefix: a-gpu}
          - {id: a-cpu-1, model: cpu-1u, outlet: pdu-a/20, power_state: Off}
    cdus:                     # optional: the coolant distribution units and the racks each cools
      - {id: cdu-01, racks: [rack-a]}

``mode: port`` puts every listener on ``host`` (default 127.0.0.1) with
consecutive ports from the configured ones instead; port 0 everywhere asks
the OS for free ports (what the test fixtures use).  There the PDUs' Redfish
takes the HTTP ports after the nodes' (``redfish_http_port`` + node count + i), and the
CDUs' the ports after those (+ node count + PDU count + i).

Each PDU's Redfish controller (``gpufleet_sim/pdu.py``) and each CDU's
(``gpufleet_sim/cdu.py``) answers to the ``defaults.bmc`` credentials, like the BMCs.

Cooling: every rack is cooled by at most one CDU.  Without a ``cdus`` list, racks are
grouped in the order listed, ``defaults.racks_per_cdu`` (2) to a CDU, named ``cdu-01``,
``cdu-02``, ...; ``cdus: []`` (or ``racks_per_cdu: 0``) gives none.

Wiring: each node (and switch) takes the next free outlet of every PDU of its
rack unless it names one with ``outlet: PDU/N`` (or a list for dual cords);
each NIC and the BMC take the next free ports of the rack's switches in turn.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .model import MODELS, Cdu, Fleet, Node, Outlet, Pdu, Rack, Switch


class TopologyError(ValueError):
    pass


def _addresses(base: str) -> Iterator[str]:
    ip = int(ipaddress.IPv4Address(base))
    while True:
        a = ipaddress.IPv4Address(ip)
        if a not in ipaddress.IPv4Network("127.0.0.0/8"):
            raise TopologyError("ran out of 127.0.0.0/8 addresses")
        if ip & 0xFF not in (0, 255):
            yield str(a)
        ip += 1


def load(path: str | Path, **overrides: Any) -> Fleet:
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict):
        raise TopologyError(f"{path}: a topology is a YAML mapping")
    data.update({k: v for k, v in overrides.items() if v is not None})
    return build(data)


def build(data: dict) -> Fleet:
    fleet = Fleet(seed=int(data.get("seed", 0)))
    fleet.options = dict(data.get("options") or {})
    addr = {
        "mode": "loopback",
        "base": "127.20.0.1",
        "host": "127.0.0.1",
        "redfish_http_port": 8000,
        "redfish_https_port": 8443,
        "telemetry_port": 9400,
        "ipmi_port": 623,
        "switch_base": "127.30.0.1",
        "gnmi_port": 9339,
        "pdu_base": "127.40.0.1",
        "cdu_base": "127.60.0.1",
    }
    addr.update(data.get("addressing") or {})
    defaults = data.get("defaults") or {}
    bmc = defaults.get("bmc") or {}
    delay = float(defaults.get("power_delay_s", 2.0))
    mode = addr["mode"]
    if mode not in ("loopback", "port"):
        raise TopologyError("addressing.mode must be loopback or port")
    node_ips = _addresses(str(addr["base"]))
    sw_ips = _addresses(str(addr["switch_base"]))
    pdu_ips = _addresses(str(addr["pdu_base"]))
    cdu_ips = _addresses(str(addr["cdu_base"]))
    counter = {"node": 0, "switch": 0, "pdu": 0, "cdu": 0}

    def port(kind: str, key: str) -> int:
        p = int(addr[key])
        if mode == "port" and p:
            return p + counter[kind]
        return p

    racks = data.get("racks") or []
    if not racks:
        raise TopologyError("a topology needs at least one rack")
    for r in racks:
        rid = str(r["id"])
        fleet.racks.setdefault(rid, Rack(rid, location=str(r.get("location", ""))))
        pdus: list[Pdu] = []
        for p in r.get("pdus") or [{"id": f"{rid}-pdu", "outlets": 24}]:
            pdu = Pdu(str(p["id"]), rid, {str(i): Outlet(str(i)) for i in range(1, int(p.get("outlets", 24)) + 1)})
            pdu.redfish_user = str(bmc.get("user", "admin"))
            pdu.redfish_password = str(bmc.get("password", "password"))
            if mode == "loopback":
                pdu.redfish_address = (next(pdu_ips), int(addr["redfish_http_port"]))
            fleet.add_pdu(pdu)
            pdus.append(pdu)
        next_outlet = {p.id: 1 for p in pdus}

        def take_outlets(spec: Any, load_id: str) -> list[tuple[str, str]]:
            if spec:
                specs = spec if isinstance(spec, list) else [spec]
                out = []
                for s in specs:
                    pid, _, oid = str(s).partition("/")
                    if pid not in fleet.pdus or oid not in fleet.pdus[pid].outlets:
                        raise TopologyError(f"{load_id}: no outlet {s}")
                    out.append((pid, oid))
            else:
                out = []
                for p in pdus:
                    oid = str(next_outlet[p.id])
                    if oid not in p.outlets:
                        raise TopologyError(f"{load_id}: PDU {p.id} has no free outlet left")
                    next_outlet[p.id] += 1
                    out.append((p.id, oid))
            for pid, oid in out:
                fleet.pdus[pid].outlets[oid].load.append(load_id)
            return out

        switches: list[Switch] = []
        for s in r.get("switches") or []:
            sw = Switch(str(s["id"]), rid, int(s.get("ports", 48)))
            if mode == "loopback":
                sw.gnmi_address = (next(sw_ips), int(addr["gnmi_port"]))
            else:
                sw.gnmi_address = (str(addr["host"]), port("switch", "gnmi_port"))
            sw.address = sw.gnmi_address[0]
            counter["switch"] += 1
            fleet.add_switch(sw)
            outs = take_outlets(s.get("outlet"), sw.id)
            if outs:
                sw.pdu, sw.outlet = outs[0]
            switches.append(sw)
        next_port = {sw.id: 1 for sw in switches}
        sw_turn = 0

        def take_port(peer: str) -> tuple[str, str] | None:
            nonlocal sw_turn
            if not switches:
                return None
            for _ in range(len(switches)):
                sw = switches[sw_turn % len(switches)]
                sw_turn += 1
                pname = f"Ethernet{next_port[sw.id]}"
                if pname in sw.ports:
                    next_port[sw.id] += 1
                    sw.ports[pname].peer = peer
                    sw.ports[pname].description = peer
                    return sw.id, pname
            raise TopologyError(f"rack {rid}: switches have no free port for {peer}")

        for group in r.get("nodes") or []:
            model = str(group.get("model", "hgx-h100-8gpu"))
            if model not in MODELS:
                raise TopologyError(f"unknown node model {model!r}; known: {sorted(MODELS)}")
            if "id" in group:
                ids = [str(group["id"])]
            else:
                prefix = str(group.get("prefix", f"{rid}-node"))
                ids = [f"{prefix}-{i}" for i in range(1, int(group.get("count", 1)) + 1)]
            for nid in ids:
                if nid in fleet.nodes:
                    raise TopologyError(f"duplicate node id {nid}")
                node = Node(
                    nid,
                    model,
                    rid,
                    seed=fleet.seed,
                    power_state=str(group.get("power_state", defaults.get("power_state", "On"))),
                    power_delay_s=float(group.get("power_delay_s", delay)),
                )
                node.bmc_user = str(group.get("bmc_user", bmc.get("user", "admin")))
                node.bmc_password = str(group.get("bmc_password", bmc.get("password", "password")))
                node.ipmi_user, node.ipmi_password = node.bmc_user, node.bmc_password
                if group.get("installed_os"):
                    node.installed_os = str(group["installed_os"])
                if mode == "loopback":
                    ip = next(node_ips)
                else:
                    ip = str(addr["host"])
                node.redfish_address = (ip, port("node", "redfish_http_port"))
                node.redfish_https_address = (ip, port("node", "redfish_https_port"))
                node.telemetry_address = (ip, port("node", "telemetry_port"))
                node.ipmi_address = (ip, port("node", "ipmi_port"))
                counter["node"] += 1
                fleet.add_node(node)
                outs = take_outlets(group.get("outlet"), nid)
                node.pdu, node.outlet = outs[0]
                mp = take_port(f"{nid}/BMC")
                if mp:
                    node.mgmt_switch, node.mgmt_port = mp
                for nic in node.nics:
                    tp = take_port(f"{nid}/{nic.name}")
                    if tp:
                        nic.switch, nic.switch_port = tp
    for cdu in _cdus(data, fleet, defaults):
        cdu.redfish_user = str(bmc.get("user", "admin"))
        cdu.redfish_password = str(bmc.get("password", "password"))
        if mode == "loopback":
            cdu.redfish_address = (next(cdu_ips), int(addr["redfish_http_port"]))
        fleet.add_cdu(cdu)
    if mode == "port":
        # One address per PDU: the HTTP ports after the nodes' (as switches follow gnmi_port);
        # then one per CDU.
        counter["pdu"] = counter["node"]
        for pdu in fleet.pdus.values():
            pdu.redfish_address = (str(addr["host"]), port("pdu", "redfish_http_port"))
            counter["pdu"] += 1
        counter["cdu"] = counter["pdu"]
        for cdu in fleet.cdus.values():
            cdu.redfish_address = (str(addr["host"]), port("cdu", "redfish_http_port"))
            counter["cdu"] += 1
    return fleet


def _cdus(data: dict, fleet: Fleet, defaults: dict) -> list[Cdu]:
    """The fleet's CDUs: the ``cdus`` list, or one per ``racks_per_cdu`` consecutive racks."""
    racks = list(fleet.racks)
    spec = data.get("cdus")
    if spec is None:
        per = int(defaults.get("racks_per_cdu", 2))
        if per < 0:
            raise TopologyError("defaults.racks_per_cdu must be 0 (no CDUs) or more")
        spec = (
            [{"id": f"cdu-{i // per + 1:02d}", "racks": racks[i : i + per]} for i in range(0, len(racks), per)]
            if per
            else []
        )
    if not isinstance(spec, list):
        raise TopologyError("cdus must be a list of {id, racks}")
    out: list[Cdu] = []
    cooled: dict[str, str] = {}
    for c in spec:
        if not isinstance(c, dict) or "id" not in c or not c.get("racks"):
            raise TopologyError(f"a CDU needs an id and the racks it cools: {c!r}")
        cid = str(c["id"])
        if cid in {x.id for x in out}:
            raise TopologyError(f"duplicate CDU id {cid}")
        served = [str(r) for r in (c["racks"] if isinstance(c["racks"], list) else [c["racks"]])]
        for r in served:
            if r not in fleet.racks:
                raise TopologyError(f"CDU {cid}: no rack {r}")
            if r in cooled:
                raise TopologyError(f"rack {r} is cooled by both {cooled[r]} and {cid}")
            cooled[r] = cid
        location = str(c.get("location") or fleet.racks[served[0]].location)
        out.append(Cdu(cid, served, location=location))
    return out


def describe(fleet: Fleet) -> list[dict]:
    """One row per node: where it is and how to reach it."""
    rows = []
    for n in fleet.nodes.values():
        rows.append(
            {
                "id": n.id,
                "model": n.model,
                "rack": n.rack,
                "pdu": f"{n.pdu}/{n.outlet}",
                "switch": f"{n.mgmt_switch}/{n.mgmt_port}",
                "redfish": f"http://{n.redfish_address[0]}:{n.redfish_address[1]}" if n.redfish_address else None,
                "redfish_https": f"https://{n.redfish_https_address[0]}:{n.redfish_https_address[1]}"
                if n.redfish_https_address
                else None,
                "metrics": f"http://{n.telemetry_address[0]}:{n.telemetry_address[1]}/metrics"
                if (n.telemetry_address and n.gpus)
                else None,
                "ipmi": f"{n.ipmi_address[0]}:{n.ipmi_address[1]}" if n.ipmi_address else None,
                "power": n.power_state,
            }
        )
    return rows
