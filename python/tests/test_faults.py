"""Fault injection: what each fault does to Redfish / telemetry, and its ground truth."""

import asyncio
import json
import time

import httpx
import pytest

from gpufleet_sim.faults import FaultError, xid_catalog
from gpufleet_sim.scenario import LocalInjector, Scenario, resolve_for_fleet, run, write_ground_truth

AUTH = ("admin", "password")
SYS = "/redfish/v1/Systems/1"


def reachable(url: str) -> bool:
    try:
        return httpx.get(url + "/redfish/v1/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_rack_power_loss_scenario_darkens_exactly_that_pdu_and_writes_ground_truth(sim_fleet, tmp_path):
    sf = sim_fleet(3, racks=3)
    fleet = sf.fleet
    on_pdu = fleet.nodes_on_pdu("rack-b-pdu")
    assert len(on_pdu) == 3
    sc = Scenario.from_dict(
        {
            "name": "rack-b-dark",
            "seed": 1,
            "duration_s": 0.6,
            "faults": [{"at": 0.1, "kind": "rack_power_loss", "target": "rack-b"}],
        }
    )
    resolve_for_fleet(sc, fleet)
    truth = asyncio.run_coroutine_threadsafe(run(sc, LocalInjector(sf.server.faults)), sf.runner.loop).result(10)
    dark = sorted(n.id for n in sf.nodes if not reachable(sf.url(n)))
    assert dark == on_pdu
    assert all(fleet.nodes[n].power_state == "Off" for n in on_pdu)
    assert all(n.power_state == "On" for n in sf.nodes if n.id not in on_pdu)
    path = write_ground_truth(truth, tmp_path / "gt.json")
    gt = json.loads(path.read_text())
    (f,) = gt["faults"]
    assert f["root_cause"] == {"asset_type": "rack", "asset": "rack-b", "cause": "rack-power-loss"}
    assert f["affected"]["nodes"] == on_pdu
    assert f["affected"]["switches"] == ["rack-b-leaf"]
    assert len(f["affected"]["gpus"]) == 3 * 8
    assert "restore-power" in f["expected_actions"] and "PowerLost" in f["expected_alerts"]
    # clearing restores power; nodes come back as they were (LastState)
    sf.clear(f["id"])
    assert all(reachable(sf.url(fleet.nodes[n])) for n in on_pdu)
    assert all(fleet.nodes[n].power_state == "On" for n in on_pdu)


def test_outlet_loss_hits_one_node(sim_fleet):
    sf = sim_fleet(3)
    n = sf.node(1)
    f = sf.inject("outlet_power_loss", f"{n.pdu}/{n.outlet}")
    assert f.affected["nodes"] == [n.id]
    assert [x.id for x in sf.nodes if not reachable(sf.url(x))] == [n.id]


def test_switch_down_makes_every_node_below_it_unreachable(sim_fleet):
    sf = sim_fleet(2, racks=2)
    f = sf.inject("switch_down", "rack-a-leaf")
    below = sorted(f.affected["unreachable_nodes"])
    assert below == ["rack-a-n-1", "rack-a-n-2"]
    assert [n.id for n in sf.nodes if not reachable(sf.url(n))] == below
    assert all(n.power_state == "On" for n in sf.nodes), "a switch fault does not power anything off"
    sf.clear(f.id)
    assert all(reachable(sf.url(n)) for n in sf.nodes)


def test_gpu_off_the_bus_disappears_from_redfish_and_telemetry(sim_node):
    sf = sim_node
    node = sf.node(0)
    c = httpx.Client(base_url=sf.url(0), auth=AUTH)
    assert c.get(SYS + "/Processors/GPU3").status_code == 200
    f = sf.inject("gpu_off_bus", node.id, gpu=3)
    assert c.get(SYS + "/Processors/GPU3").status_code == 404
    members = [m["@odata.id"] for m in c.get(SYS + "/Processors").json()["Members"]]
    assert SYS + "/Processors/GPU3" not in members and len(members) == 2 + 7
    metrics = httpx.get(sf.metrics_url(0)).text
    assert 'gpu="3"' not in metrics and 'gpu="2"' in metrics
    xids = c.get(SYS + "/LogServices/XID/Entries").json()["Members"]
    assert xids[-1]["Oem"]["Gpufleet"]["Xid"] == 79
    assert f.root_cause["asset"] == f"{node.id}/GPU3" and f.root_cause["serial"] == node.gpus[3].serial
    assert c.get(SYS).json()["Status"]["Health"] == "Critical"
    sf.clear(f.id)
    assert c.get(SYS + "/Processors/GPU3").status_code == 200


def test_xid_burst_uses_the_catalog_and_fires_over_time(sim_node, reference):
    sf = sim_node
    node = sf.node(0)
    cat = xid_catalog()
    assert cat[79].description == "GPU has fallen off the bus" and cat[48].mnemonic == "ROBUST_CHANNEL_GPU_ECC_DBE"
    f = sf.inject("xid", node.id, gpu=1, xid=13, count=3, interval_s=0.2)
    assert len(node.gpus[1].xids) == 1
    time.sleep(0.7)
    sf.runner.call(sf.server.faults.tick)
    assert len(node.gpus[1].xids) == 3
    assert "Graphics Engine Exception" in node.sel[-1]["message"]
    assert f.expected_actions == ["restart-application"]
    assert node.gpus[1].last_xid == 13


def test_ecc_chain_runs_sbe_dbe_remap_pending_failure(sim_node):
    sf = sim_node
    node = sf.node(0)
    g = node.gpus[4]
    f = sf.inject("ecc_chain", node.id, gpu=4, step_s=0.1)
    deadline = time.monotonic() + 5
    while f.steps and time.monotonic() < deadline:
        time.sleep(0.05)
    assert g.ecc_sbe >= 120 and g.ecc_dbe == 1 and g.row_remap_pending and g.row_remap_failure
    assert [x["xid"] for x in g.xids] == [92, 48, 63, 64]
    m = httpx.get(sf.metrics_url(0)).text
    line = next(x for x in m.splitlines() if x.startswith("DCGM_FI_DEV_ROW_REMAP_FAILURE") and 'gpu="4"' in x)
    assert line.endswith(" 1")
    sf.clear(f.id)
    assert not g.row_remap_failure and g.ecc_dbe == 0


def test_thermal_fan_psu_faults_show_in_redfish(sim_node):
    sf = sim_node
    node = sf.node(0)
    c = httpx.Client(base_url=sf.url(0), auth=AUTH)
    sf.inject("fan_failure", node.id, fan=2)
    fans = c.get("/redfish/v1/Chassis/1/Thermal").json()["Fans"]
    assert fans[2]["Reading"] == 0 and fans[2]["Status"]["Health"] == "Critical"
    sf.inject("psu_failure", node.id, psu=1)
    psu = c.get("/redfish/v1/Chassis/1/Power").json()["PowerSupplies"][1]
    assert psu["Status"]["Health"] == "Critical"
    before = max(t["ReadingCelsius"] for t in c.get("/redfish/v1/Chassis/1/Thermal").json()["Temperatures"])
    sf.inject("thermal_runaway", node.id)
    temps = c.get("/redfish/v1/Chassis/1/Thermal").json()["Temperatures"]
    assert max(t["ReadingCelsius"] for t in temps) > before + 10
    assert any(t["Status"]["Health"] != "OK" for t in temps)


@pytest.mark.parametrize("mode", ["5xx", "malformed", "slow", "unresponsive"])
def test_bmc_faults(sim_fleet, mode):
    sf = sim_fleet(1, hang_s=1.0)
    node = sf.node(0)
    url = sf.url(0) + SYS
    f = sf.inject("bmc", node.id, mode=mode, delay_s=0.5)
    if mode == "5xx":
        r = httpx.get(url, auth=AUTH)
        assert r.status_code == 503 and r.headers["Retry-After"]
    elif mode == "malformed":
        r = httpx.get(url, auth=AUTH)
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.text)
    elif mode == "slow":
        t = time.monotonic()
        assert httpx.get(url, auth=AUTH).status_code == 200
        assert time.monotonic() - t >= 0.5
    else:
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, auth=AUTH, timeout=0.5)
    sf.clear(f.id)
    assert httpx.get(url, auth=AUTH).json()["Id"] == "1"


def test_unknown_faults_are_refused(sim_node):
    with pytest.raises(FaultError, match="unknown fault kind"):
        sim_node.inject("meteor", "x")
    with pytest.raises(FaultError, match="no node"):
        sim_node.inject("fan_failure", "nope")
    with pytest.raises(FaultError, match="GPUs 0..7"):
        sim_node.inject("xid", sim_node.node(0).id, gpu=9)


def test_control_api_injects_lists_and_clears(sim_fleet):
    sf = sim_fleet(2)
    c = httpx.Client(base_url=sf.control_url())
    r = c.post("/faults", json={"kind": "pdu_power_loss", "target": "rack-a-pdu"})
    assert r.status_code == 201
    fid = r.json()["id"]
    assert sorted(r.json()["affected"]["nodes"]) == ["rack-a-n-1", "rack-a-n-2"]
    assert [f["id"] for f in c.get("/faults", params={"active": "1"}).json()] == [fid]
    assert c.get("/nodes/rack-a-n-1").json()["powered"] is False
    assert (
        c.post("/faults", json={"kind": "bmc", "target": "rack-a-n-1", "params": {"mode": "bogus"}}).status_code == 400
    )
    assert c.delete(f"/faults/{fid}").json()["active"] is False
    assert c.get("/nodes/rack-a-n-1").json()["powered"] is True
    ev = c.get("/events").json()["events"]
    assert any(e["type"] == "FaultInjected" for e in ev) and any(e["type"] == "PowerLost" for e in ev)


def test_scenarios_are_deterministic_with_a_seed(sim_fleet):
    sf = sim_fleet(6)
    picks = []
    for _ in range(2):
        sc = Scenario.from_dict(
            {
                "seed": 5,
                "faults": [
                    {"at": 0, "kind": "xid", "target": "random-gpu-node", "params": {"gpu": "random", "xid": 31}}
                ],
            }
        )
        resolve_for_fleet(sc, sf.fleet)
        picks.append((sc.steps[0].target, sc.steps[0].params["gpu"]))
    assert picks[0] == picks[1]
