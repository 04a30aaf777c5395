"""Coolant distribution units: the racks each cools, its Redfish ThermalEquipment tree
(``gpufleet_sim/cdu.py``), the ``cdu_failure`` fault (GPUs of exactly its racks run hot, its
ground truth names the CDU) and its place in the inventory export and the control API."""

import asyncio
import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import EXAMPLES
from test_conformance import _schema_dir

from gpufleet_sim import topology as topo
from gpufleet_sim.faults import FaultError
from gpufleet_sim.inventory import inventory
from gpufleet_sim.model import CDU_SUPPLY_C, GPU_SLOWDOWN_C
from gpufleet_sim.scenario import LocalInjector, Scenario, run, write_ground_truth
from gpufleet_sim.testing import missing, topology_dict

AUTH = ("admin", "password")
ROOT = "/redfish/v1"
CDU = f"{ROOT}/ThermalEquipment/CDUs/1"
SECONDARY = f"{CDU}/SecondaryCoolantConnectors/1"
# What gpufleet's inventory import takes for a CDU (crates/fleet-model/src/import.rs, CduItem).
IMPORT_KEYS = {"name", "racks", "rack", "address", "username", "password", "model", "labels"}
GPU_TEMP_ALERT_C = 85.0  # gpufleet's GpuTemperatureHigh: DCGM_FI_DEV_GPU_TEMP > 85 for 5m
HBM_TEMP_ALERT_C = 95.0  # GpuMemoryTemperatureHigh: DCGM_FI_DEV_MEMORY_TEMP > 95 for 5m
METRIC = re.compile(r'^(DCGM_FI_DEV_\w+)\{gpu="(\d+)",.*Hostname="([^"]+)".*\} (\S+)$')


def cdu_url(cdu) -> str:  # noqa: ANN001
    assert cdu.redfish_address is not None
    return f"http://{cdu.redfish_address[0]}:{cdu.redfish_address[1]}"


def gpu_metrics(sf, name: str) -> dict[tuple[str, int], float]:  # noqa: ANN001
    """``name`` of every GPU of the fleet, as its dcgm-exporter page shows it: (node, gpu) -> value."""
    out = {}
    for n in sf.nodes:
        if not n.gpus:
            continue
        for line in httpx.get(sf.metrics_url(n), timeout=5).text.splitlines():
            m = METRIC.match(line)
            if m and m.group(1) == name:
                out[(m.group(3), int(m.group(2)))] = float(m.group(4))
    return out


def crawl(c: httpx.Client) -> dict[str, dict]:
    seen: dict[str, dict] = {}
    todo = [f"{ROOT}/"]
    while todo:
        uri = todo.pop()
        if uri in seen:
            continue
        r = c.get(uri)
        assert r.status_code == 200, (uri, r.text)
        assert r.headers["OData-Version"] == "4.0"
        doc = seen[uri] = r.json()
        assert doc["@odata.id"] == uri

        def links(x, top=True):  # noqa: ANN001, ANN202
            if isinstance(x, dict):
                for k, v in x.items():
                    if k == "@odata.id" and not top:
                        yield v
                    elif k == "DataSourceUri":
                        yield v
                    else:
                        yield from links(v, False)
            elif isinstance(x, list):
                for v in x:
                    yield from links(v, False)

        todo += [u for u in links(doc) if u not in seen]
    return seen


# ---------------------------------------------------------------------------------------- topology


def test_topology_gives_each_two_consecutive_racks_a_cdu_on_its_own_address():
    f = topo.load(EXAMPLES / "fleet-3rack.yaml")
    assert {c.id: c.racks for c in f.cdus.values()} == {"cdu-01": ["rack-a", "rack-b"], "cdu-02": ["rack-c"]}
    assert {r.id: r.cdu for r in f.racks.values()} == {"rack-a": "cdu-01", "rack-b": "cdu-01", "rack-c": "cdu-02"}
    assert f.cdus["cdu-01"].redfish_address == ("127.60.0.1", 8000)
    assert f.cdus["cdu-02"].redfish_address == ("127.60.0.2", 8000)
    assert f.cdus["cdu-01"].location == "row-1" and f.cdus["cdu-02"].location == "row-2"
    taken = {p.redfish_address[0] for p in f.pdus.values()} | {n.redfish_address[0] for n in f.nodes.values()}
    taken |= {s.gnmi_address[0] for s in f.switches.values()}
    assert not taken & {c.redfish_address[0] for c in f.cdus.values()}, "a CDU shares no address"
    assert f.nodes_cooled_by("cdu-01") == sorted(f.racks["rack-a"].nodes + f.racks["rack-b"].nodes)
    # the serial comes from the seed
    assert topo.load(EXAMPLES / "fleet-3rack.yaml").cdus["cdu-01"].serial == f.cdus["cdu-01"].serial

    t = topology_dict(1, racks=3)
    t["defaults"]["racks_per_cdu"] = 3
    assert {c.id: c.racks for c in topo.build(t).cdus.values()} == {"cdu-01": ["rack-a", "rack-b", "rack-c"]}
    t["defaults"]["racks_per_cdu"] = 0
    assert topo.build(t).cdus == {}
    t["cdus"] = [{"id": "loop-x", "racks": ["rack-c", "rack-a"]}]
    f = topo.build(t)
    assert {c.id: c.racks for c in f.cdus.values()} == {"loop-x": ["rack-c", "rack-a"]}
    assert f.racks["rack-b"].cdu is None
    assert topo.build({**t, "cdus": []}).cdus == {}

    # port addressing: the HTTP ports after the nodes' and the PDUs'
    t = topology_dict(3, racks=2)
    t["addressing"].update(redfish_http_port=18000, redfish_https_port=18443)
    f = topo.build(t)
    assert [p.redfish_address for p in f.pdus.values()] == [("127.0.0.1", 18006), ("127.0.0.1", 18007)]
    assert [c.redfish_address for c in f.cdus.values()] == [("127.0.0.1", 18008)]


@pytest.mark.parametrize(
    ("cdus", "message"),
    [
        ([{"id": "c1", "racks": ["rack-z"]}], "no rack rack-z"),
        ([{"id": "c1", "racks": ["rack-a"]}, {"id": "c2", "racks": ["rack-a"]}], "cooled by both c1 and c2"),
        ([{"id": "c1", "racks": ["rack-a"]}, {"id": "c1", "racks": ["rack-b"]}], "duplicate CDU id c1"),
        ([{"id": "c1"}], "needs an id and the racks"),
    ],
)
def test_bad_cdus_are_rejected_with_a_reason(cdus, message):
    with pytest.raises(topo.TopologyError, match=message):
        topo.build({**topology_dict(1, racks=2), "cdus": cdus})


# ---------------------------------------------------------------------------------------- Redfish


def test_tree_is_walkable_and_reads_a_working_loop(sim_fleet):
    sf = sim_fleet(2, racks=3)
    cdu = sf.fleet.cdus["cdu-01"]
    with httpx.Client(base_url=cdu_url(cdu), auth=AUTH, timeout=5) as c:
        seen = crawl(c)
    root = seen[f"{ROOT}/"]
    assert root["@odata.type"].startswith("#ServiceRoot.") and root["UUID"] == cdu.uuid
    assert root["ThermalEquipment"] == {"@odata.id": f"{ROOT}/ThermalEquipment"}
    te = seen[f"{ROOT}/ThermalEquipment"]
    assert te["@odata.type"].startswith("#ThermalEquipment.v1_") and te["Status"]["HealthRollup"] == "OK"
    coll = seen[f"{ROOT}/ThermalEquipment/CDUs"]
    assert coll["@odata.type"] == "#CoolingUnitCollection.CoolingUnitCollection"
    assert coll["Members"] == [{"@odata.id": CDU}] and coll["Members@odata.count"] == 1
    u = seen[CDU]
    assert u["@odata.type"].startswith("#CoolingUnit.v1_") and (u["Id"], u["Name"], u["EquipmentType"]) == (
        "1",
        "cdu-01",
        "CDU",
    )
    assert u["Status"] == {"State": "Enabled", "Health": "OK", "HealthRollup": "OK"}
    assert u["SerialNumber"] == cdu.serial and u["Manufacturer"] and u["Model"] and u["FirmwareVersion"]
    assert "Location" not in u, "no row given: no Location"
    for nav in ("PrimaryCoolantConnectors", "SecondaryCoolantConnectors", "Pumps", "Reservoirs"):
        assert u[nav]["@odata.id"] in seen, nav
    sec = seen[SECONDARY]
    assert sec["@odata.type"].startswith("#CoolantConnector.v1_")
    assert sec["SupplyTemperatureCelsius"]["Reading"] == CDU_SUPPLY_C
    assert sec["FlowLitersPerMinute"]["Reading"] > 0
    # the racks' nodes heat the loop: the return is warmer than the supply, the heat removed > 0
    assert sec["ReturnTemperatureCelsius"]["Reading"] > CDU_SUPPLY_C and sec["HeatRemovedkW"]["Reading"] > 0
    prim = seen[f"{CDU}/PrimaryCoolantConnectors/1"]
    assert prim["ReturnTemperatureCelsius"]["Reading"] > prim["SupplyTemperatureCelsius"]["Reading"]
    pumps = [seen[m["@odata.id"]] for m in seen[f"{CDU}/Pumps"]["Members"]]
    assert len(pumps) == 2
    for p in pumps:
        assert p["@odata.type"].startswith("#Pump.v1_") and p["Status"]["Health"] == "OK"
        assert p["PumpSpeedPercent"]["Reading"] > 0
    assert seen[f"{CDU}/Reservoirs/1"]["FluidLevelStatus"] == "OK"
    # every reading excerpt names the sensor it comes from, and that sensor reads the same
    for doc in (prim, sec):
        for v in doc.values():
            if isinstance(v, dict) and "DataSourceUri" in v:
                s = seen[v["DataSourceUri"]]
                assert s["@odata.type"].startswith("#Sensor.v1_") and s["Reading"] == v["Reading"], s
    # the other CDU is another service, for rack-c
    with httpx.Client(base_url=cdu_url(sf.fleet.cdus["cdu-02"]), auth=AUTH, timeout=5) as c:
        assert c.get(CDU).json()["Name"] == "cdu-02"


def test_auth_errors_and_methods(sim_fleet):
    sf = sim_fleet(1)
    url = cdu_url(sf.fleet.cdus["cdu-01"])
    assert httpx.get(url + f"{ROOT}/").status_code == 200, "the service root is public"
    for path in (f"{ROOT}/ThermalEquipment", CDU, f"{CDU}/Pumps/1", SECONDARY):
        r = httpx.get(url + path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "Base.1.18.NoValidSession"
        assert "Basic" in r.headers["WWW-Authenticate"]
        assert httpx.get(url + path, auth=("admin", "wrong")).status_code == 401
    r = httpx.get(url + f"{CDU}/Pumps/3", auth=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "Base.1.18.ResourceNotFound"
    assert httpx.get(url + f"{ROOT}/Systems", auth=AUTH).status_code == 404
    assert httpx.patch(url + CDU, auth=AUTH, json={}).status_code == 405
    assert httpx.post(url + f"{CDU}/Pumps/1", auth=AUTH, json={}).status_code == 405


@pytest.mark.parametrize("failed", [False, True])
def test_dmtf_service_validator_passes(sim_fleet, tmp_path, failed):
    """DMTF's Redfish-Service-Validator against a CDU's service, offline, with the DSP8010 schemas,
    working and failed."""
    tool = shutil.which("rf_service_validator") or str(Path(sys.executable).parent / "rf_service_validator")
    if not Path(tool).exists():
        missing("rf_service_validator is not installed: scripts/python-env.sh installs it (python[dev])")
    schemas = _schema_dir()
    if schemas is None or not (schemas / "CoolingUnit_v1.xml").is_file():
        missing(f"the DMTF DSP8010 CSDL schemas are not available offline: run scripts/redfish-schemas.sh ({schemas})")
    local = tmp_path / "schemas"
    shutil.copytree(schemas, local)
    sf = sim_fleet(1)
    if failed:
        sf.inject("cdu_failure", "cdu-01")
    p = subprocess.run(
        [
            tool,
            "-r",
            cdu_url(sf.fleet.cdus["cdu-01"]),
            "-u",
            "admin",
            "-p",
            "password",
            "--authtype",
            "Basic",
            "--schema_directory",
            str(local),
            "--skipschema",
            "--logdir",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-6000:]
    m = re.search(r"\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", out)
    assert m, out[-4000:]
    passed, _warned, failed_n, _untested = map(int, m.groups())
    assert failed_n == 0 and passed > 200, out[-4000:]
    for uri in (CDU, SECONDARY, f"{CDU}/Pumps/2", f"{CDU}/Reservoirs/1"):
        assert f"Validating {uri}..." in out, uri


# ---------------------------------------------------------------------------------------- the fault


def test_cdu_failure_heats_exactly_the_gpus_of_its_racks_and_clears(sim_fleet):
    sf = sim_fleet(2, racks=3)
    fleet = sf.fleet
    cdu = fleet.cdus["cdu-01"]
    before = gpu_metrics(sf, "DCGM_FI_DEV_GPU_TEMP")
    clocks_before = gpu_metrics(sf, "DCGM_FI_DEV_SM_CLOCK")
    assert len(before) == 3 * 2 * 8 and max(before.values()) < GPU_TEMP_ALERT_C
    f = sf.inject("cdu_failure", "cdu-01")
    cooled = {(n, g.index) for n in fleet.nodes_cooled_by("cdu-01") for g in fleet.nodes[n].gpus}
    assert len(cooled) == 2 * 2 * 8
    # at once: every GPU of racks a and b gained at least the first step, rack c none of it
    now = gpu_metrics(sf, "DCGM_FI_DEV_GPU_TEMP")
    for key, t in now.items():
        if key in cooled:
            assert t >= min(before[key] + 15, GPU_SLOWDOWN_C), (key, before[key], t)
        else:
            assert abs(t - before[key]) < 5, (key, before[key], t)
    # 10 s later (moved back in time rather than waited for)
    sf.runner.call(lambda: setattr(cdu, "failed_since", cdu.failed_since - 10))
    hot = gpu_metrics(sf, "DCGM_FI_DEV_GPU_TEMP")
    mem = gpu_metrics(sf, "DCGM_FI_DEV_MEMORY_TEMP")
    clocks = gpu_metrics(sf, "DCGM_FI_DEV_SM_CLOCK")
    over = {k for k, t in hot.items() if t > GPU_TEMP_ALERT_C}
    assert over == cooled, "exactly the GPUs of the CDU's racks are over gpufleet's threshold"
    for k in cooled:
        # held at the slowdown point: over the GPU alert's threshold, the HBM under its own, clocks down
        assert hot[k] == GPU_SLOWDOWN_C and mem[k] <= HBM_TEMP_ALERT_C, (k, hot[k], mem[k])
        assert clocks[k] < clocks_before[k] * 0.7, (k, clocks_before[k], clocks[k])
    for k in set(hot) - cooled:
        assert hot[k] < GPU_TEMP_ALERT_C - 5 and clocks[k] >= clocks_before[k] * 0.7, k
    # the CDU says so over Redfish; the other CDU does not
    with httpx.Client(base_url=cdu_url(cdu), auth=AUTH, timeout=5) as c:
        u = c.get(CDU).json()
        assert u["Status"]["Health"] == "Critical" and u["Status"]["HealthRollup"] == "Critical"
        ids = [x["MessageId"] for x in u["Status"]["Conditions"]]
        assert ids.count("Environmental.1.4.PumpFailed") == 2, ids
        assert "Environmental.1.4.TemperatureAboveUpperCriticalThreshold" in ids, ids
        assert c.get(f"{ROOT}/ThermalEquipment").json()["Status"]["HealthRollup"] == "Critical"
        sec = c.get(SECONDARY).json()
        assert sec["SupplyTemperatureCelsius"]["Reading"] > CDU_SUPPLY_C + 20
        assert sec["FlowLitersPerMinute"]["Reading"] == 0 and sec["Status"]["Health"] == "Critical"
        assert all(c.get(f"{CDU}/Pumps/{p}").json()["Status"]["Health"] == "Critical" for p in ("1", "2"))
        assert all(c.get(f"{CDU}/Pumps/{p}").json()["PumpSpeedPercent"]["Reading"] == 0 for p in ("1", "2"))
        supply = c.get(f"{ROOT}/Chassis/CDU/Sensors/SecondarySupplyTemp").json()
        assert supply["Status"]["Health"] == "Critical"
    with httpx.Client(base_url=cdu_url(fleet.cdus["cdu-02"]), auth=AUTH, timeout=5) as c:
        assert c.get(CDU).json()["Status"]["Health"] == "OK"
    # the GPUs' BMC sensors see it too (a warning, under their critical threshold)
    bmc = {s["name"]: s for s in fleet.nodes["rack-b-n-2"].sensors()}
    assert bmc["GPU3 Temp"]["reading"] == GPU_SLOWDOWN_C and bmc["GPU3 Temp"]["status"] == "Warning"

    sf.clear(f.id)
    back = gpu_metrics(sf, "DCGM_FI_DEV_GPU_TEMP")
    assert max(back.values()) < GPU_TEMP_ALERT_C
    with httpx.Client(base_url=cdu_url(cdu), auth=AUTH, timeout=5) as c:
        u = c.get(CDU).json()
        assert u["Status"] == {"State": "Enabled", "Health": "OK", "HealthRollup": "OK"}
        assert c.get(SECONDARY).json()["SupplyTemperatureCelsius"]["Reading"] == CDU_SUPPLY_C
        assert c.get(f"{CDU}/Pumps/1").json()["Status"]["Health"] == "OK"


def test_ground_truth_names_the_cdu_with_the_gpus_it_cools(sim_fleet, tmp_path):
    sf = sim_fleet(2, racks=3, extra_nodes=[{"id": "rack-a-off", "model": "hgx-h100-8gpu", "power_state": "Off"}])
    sc = Scenario.from_dict(
        {"name": "cooling", "duration_s": 0.4, "faults": [{"at": 0.1, "kind": "cdu_failure", "target": "cdu-01"}]}
    )
    truth = asyncio.run_coroutine_threadsafe(run(sc, LocalInjector(sf.server.faults)), sf.runner.loop).result(10)
    gt = json.loads(write_ground_truth(truth, tmp_path / "gt.json").read_text())
    (f,) = gt["faults"]
    assert f["root_cause"] == {"asset_type": "cdu", "asset": "cdu-01", "cause": "cdu-failure"}
    on = ["rack-a-n-1", "rack-a-n-2", "rack-b-n-1", "rack-b-n-2"]
    assert f["affected"]["cdus"] == ["cdu-01"] and f["affected"]["racks"] == ["rack-a", "rack-b"]
    # a node that is off makes no heat: not among the loads
    assert f["affected"]["nodes"] == on
    assert f["affected"]["gpus"] == [f"{n}/GPU{i}" for n in on for i in range(8)]
    assert "GpuTemperatureHigh" in f["expected_alerts"] and "repair-cdu" in f["expected_actions"]
    (inc,) = truth["incidents"]
    assert inc["root_cause"]["asset"] == "cdu-01"
    with pytest.raises(FaultError, match="no CDU 'cdu-09'"):
        sf.inject("cdu_failure", "cdu-09")


def test_control_api_lists_cdus_and_injects_the_fault(sim_fleet):
    sf = sim_fleet(1, racks=3)
    c = httpx.Client(base_url=sf.control_url(), timeout=5)
    fl = c.get("/fleet").json()
    assert set(fl["cdus"]) == {"cdu-01", "cdu-02"}
    assert fl["cdus"]["cdu-01"]["racks"] == ["rack-a", "rack-b"] and fl["cdus"]["cdu-01"]["failed"] is False
    assert fl["cdus"]["cdu-01"]["redfish"] == cdu_url(sf.fleet.cdus["cdu-01"])
    assert fl["racks"]["rack-b"]["cdu"] == "cdu-01" and fl["racks"]["rack-c"]["cdu"] == "cdu-02"
    assert "cdu_failure" in c.get("/kinds").json()
    r = c.post("/faults", json={"kind": "cdu_failure", "target": "cdu-02"})
    assert r.status_code == 201 and r.json()["root_cause"]["asset"] == "cdu-02"
    assert r.json()["affected"]["nodes"] == ["rack-c-n-1"]
    assert c.get("/fleet").json()["cdus"]["cdu-02"]["failed"] is True
    assert c.post("/faults", json={"kind": "cdu_failure", "target": "nope"}).status_code == 400
    assert c.delete(f"/faults/{r.json()['id']}").json()["active"] is False
    assert c.get("/fleet").json()["cdus"]["cdu-02"]["failed"] is False


# ---------------------------------------------------------------------------------------- inventory


def test_inventory_lists_each_cdu_with_its_racks_as_gpufleet_imports_them():
    fleet = topo.load(EXAMPLES / "fleet-3rack.yaml")
    inv = inventory(fleet)
    assert inv["cdus"] == [
        {
            "name": "cdu-01",
            "racks": ["rack-a", "rack-b"],
            "model": inv["cdus"][0]["model"],
            "address": "http://127.60.0.1:8000",
            "username": "admin",
            "password": "password",
        },
        {
            "name": "cdu-02",
            "racks": ["rack-c"],
            "model": inv["cdus"][1]["model"],
            "address": "http://127.60.0.2:8000",
            "username": "admin",
            "password": "password",
        },
    ]
    racks = {r["name"] for r in inv["racks"]}
    cooled = [r for c in inv["cdus"] for r in c["racks"]]
    assert sorted(cooled) == sorted(racks), "every rack cooled, by one CDU"
    assert all(set(c) <= IMPORT_KEYS and c["model"] for c in inv["cdus"])
    # a fleet without CDUs exports an empty list
    t = topology_dict(1)
    t["cdus"] = []
    assert inventory(topo.build(t))["cdus"] == []


def test_gpufleet_imports_the_exported_cdus_with_the_racks_they_cool(sim_fleet, gpufleet_server):
    """The export as the session's real gpufleet reads it: the whole document passes a dry run,
    and racks with their CDUs import into CDU assets with one cooled_by relation per rack."""
    p = f"c{uuid.uuid4().hex[:6]}-"  # the session's gpufleet is shared: names of this test's own
    t = topology_dict(1, racks=3)
    for r in t["racks"]:
        r["id"] = p + r["id"]
        for k in ("pdus", "switches"):
            r[k] = [{**x, "id": p + x["id"]} for x in r[k]]
        r["nodes"] = [{**g, "prefix": p + g["prefix"]} for g in r["nodes"]]
    sf = sim_fleet(topology=t)
    inv = inventory(sf.fleet)
    assert [c["name"] for c in inv["cdus"]] == ["cdu-01", "cdu-02"]
    for c in inv["cdus"]:
        c["name"] = p + c["name"]
    headers = {"authorization": f"Bearer {gpufleet_server.tokens['admin']}", "content-type": "application/yaml"}
    with httpx.Client(base_url=gpufleet_server.url, headers=headers, timeout=30) as c:
        r = c.post("/api/v1/import", params={"dry_run": "true"}, content=yaml.safe_dump(inv))
        assert r.status_code == 200, r.text
        site = {k: inv[k] for k in ("racks", "cdus")}
        r = c.post("/api/v1/import", content=yaml.safe_dump(site))
        assert r.status_code == 201, r.text
        cdus = c.get("/api/v1/assets", params={"kind": "cdu", "name": p}).json()["items"]
        assert sorted(a["name"] for a in cdus) == [p + "cdu-01", p + "cdu-02"]
        racks = {
            a["id"]: a["name"] for a in c.get("/api/v1/assets", params={"kind": "rack", "name": p}).json()["items"]
        }
        for a in cdus:
            rels = c.get(f"/api/v1/assets/{a['id']}/relations").json()["items"]
            cooled = sorted(racks[x["from_id"]] for x in rels if x["kind"] == "cooled_by" and x["to_id"] == a["id"])
            want = [p + "rack-a", p + "rack-b"] if a["name"].endswith("cdu-01") else [p + "rack-c"]
            assert cooled == want, (a["name"], rels)
