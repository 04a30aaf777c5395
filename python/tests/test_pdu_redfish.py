"""Every rack PDU serves its own Redfish PowerEquipment tree (``gpufleet_sim/pdu.py``)."""

from pathlib import Path

import httpx
import pytest

from gpufleet_sim import topology as topo
from gpufleet_sim.inventory import inventory
from gpufleet_sim.testing import topology_dict

AUTH = ("admin", "password")
PDU = "/redfish/v1/PowerEquipment/RackPDUs/1"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet-3rack.yaml"


def pdu_url(pdu) -> str:  # noqa: ANN001
    assert pdu.redfish_address is not None
    return f"http://{pdu.redfish_address[0]}:{pdu.redfish_address[1]}"


def answers(url: str) -> bool:
    try:
        return httpx.get(url + "/redfish/v1/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def outlets(c: httpx.Client) -> dict[str, dict]:
    coll = c.get(PDU + "/Outlets").json()
    return {m["@odata.id"].rsplit("/", 1)[1]: c.get(m["@odata.id"]).json() for m in coll["Members"]}


def _links(doc: object) -> list[str]:
    out: list[str] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == "@odata.id" and isinstance(v, str):
                out.append(v)
            else:
                out += _links(v)
    elif isinstance(doc, list):
        for v in doc:
            out += _links(v)
    return out


def test_tree_is_walkable_from_the_service_root(sim_fleet):
    sf = sim_fleet(2)
    pdu = sf.fleet.pdus["rack-a-pdu"]
    with httpx.Client(base_url=pdu_url(pdu), auth=AUTH, timeout=5) as c:
        seen: dict[str, dict] = {}
        todo = ["/redfish/v1/"]
        while todo:
            uri = todo.pop()
            if uri in seen:
                continue
            r = c.get(uri)
            assert r.status_code == 200, (uri, r.text)
            assert r.headers["OData-Version"] == "4.0"
            seen[uri] = r.json()
            todo += [u for u in _links(seen[uri]) if u not in seen]
    root = seen["/redfish/v1/"]
    assert root["RedfishVersion"] and root["UUID"] == pdu.uuid
    assert root["PowerEquipment"] == {"@odata.id": "/redfish/v1/PowerEquipment"}
    assert seen["/redfish/v1/PowerEquipment"]["@odata.type"].startswith("#PowerEquipment.")
    coll = seen["/redfish/v1/PowerEquipment/RackPDUs"]
    assert coll["Members"] == [{"@odata.id": PDU}] and coll["Members@odata.count"] == 1
    d = seen[PDU]
    assert d["@odata.type"] == "#PowerDistribution.v1_3_0.PowerDistribution"
    assert (d["Id"], d["Name"], d["EquipmentType"]) == ("1", "rack-a-pdu", "RackPDU")
    assert d["Manufacturer"] and d["Model"] and d["FirmwareVersion"]
    assert d["SerialNumber"] == pdu.serial and d["Status"] == {"State": "Enabled", "Health": "OK"}
    members = [m["@odata.id"] for m in seen[PDU + "/Outlets"]["Members"]]
    assert members == [f"{PDU}/Outlets/{oid}" for oid in pdu.outlets]
    assert all(u in seen for u in members)
    o3 = seen[f"{PDU}/Outlets/3"]
    assert o3["@odata.type"] == "#Outlet.v1_4_0.Outlet" and (o3["Id"], o3["Name"]) == ("3", "Outlet 3")
    # The serial comes from the fleet's seed: the same topology gives the same serial.
    assert topo.build(topology_dict(2)).pdus["rack-a-pdu"].serial == pdu.serial
    assert topo.build(topology_dict(2, seed=7)).pdus["rack-a-pdu"].serial != pdu.serial


def test_auth_errors_and_methods(sim_fleet):
    sf = sim_fleet(1)
    url = pdu_url(sf.fleet.pdus["rack-a-pdu"])
    assert httpx.get(url + "/redfish/v1/").status_code == 200, "the service root is public"
    assert httpx.get(url + "/redfish/v1").status_code == 200
    for path in ("/redfish/v1/PowerEquipment", PDU, PDU + "/Outlets/1"):
        r = httpx.get(url + path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "Base.1.18.NoValidSession"
        assert "Basic" in r.headers["WWW-Authenticate"]
        assert httpx.get(url + path, auth=("admin", "wrong")).status_code == 401
    r = httpx.get(url + PDU + "/Outlets/99", auth=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "Base.1.18.ResourceNotFound"
    assert httpx.get(url + "/redfish/v1/Systems", auth=AUTH).status_code == 404
    r = httpx.post(url + PDU + "/Outlets/1", auth=AUTH, json={})
    assert r.status_code == 405 and "error" in r.json()
    assert httpx.patch(url + PDU, auth=AUTH, json={}).status_code == 405


def test_loaded_outlets_are_on_and_draw_power(sim_fleet):
    sf = sim_fleet(3)
    pdu = sf.fleet.pdus["rack-a-pdu"]
    with httpx.Client(base_url=pdu_url(pdu), auth=AUTH, timeout=5) as c:
        docs = outlets(c)
    loaded = [oid for oid, o in pdu.outlets.items() if o.load]
    assert len(loaded) == 4, "three nodes and the leaf switch"
    for oid in loaded:
        o = docs[oid]
        assert (o["PowerState"], o["PowerEnabled"]) == ("On", True), o
        assert o["PowerWatts"]["Reading"] > 0 and o["CurrentAmps"]["Reading"] > 0
        assert o["Voltage"]["Reading"] == 230.0
        assert o["Status"] == {"State": "Enabled", "Health": "OK"}
    node = sf.node(0)
    assert docs[node.outlet]["PowerWatts"]["Reading"] == pytest.approx(node.power_watts(), rel=0.2)
    idle = next(oid for oid, o in pdu.outlets.items() if not o.load)
    assert docs[idle]["PowerState"] == "On" and docs[idle]["PowerWatts"]["Reading"] == 0


def test_outlet_power_loss_turns_that_outlet_off_and_the_pdu_still_answers(sim_fleet):
    sf = sim_fleet(2)
    node = sf.node(1)
    pdu = sf.fleet.pdus[node.pdu]
    f = sf.inject("outlet_power_loss", f"{node.pdu}/{node.outlet}")
    with httpx.Client(base_url=pdu_url(pdu), auth=AUTH, timeout=5) as c:
        docs = outlets(c)
        o = docs[node.outlet]
        assert (o["PowerState"], o["PowerEnabled"]) == ("Off", False)
        assert o["PowerWatts"]["Reading"] == 0 and o["CurrentAmps"]["Reading"] == 0 and o["Voltage"]["Reading"] == 0
        others = [x for oid, x in docs.items() if oid != node.outlet and pdu.outlets[oid].load]
        assert others and all(x["PowerState"] == "On" and x["PowerWatts"]["Reading"] > 0 for x in others)
        assert c.get(PDU).json()["Status"]["Health"] == "Warning"
        sf.clear(f.id)
        o = c.get(f"{PDU}/Outlets/{node.outlet}").json()
        assert o["PowerState"] == "On" and o["PowerWatts"]["Reading"] > 0
        assert c.get(PDU).json()["Status"]["Health"] == "OK"


@pytest.mark.parametrize("kind", ["pdu_power_loss", "rack_power_loss"])
def test_a_pdu_without_input_power_drops_the_connection(sim_fleet, kind):
    sf = sim_fleet(2, racks=2)
    dark, lit = sf.fleet.pdus["rack-a-pdu"], sf.fleet.pdus["rack-b-pdu"]
    f = sf.inject(kind, "rack-a-pdu" if kind == "pdu_power_loss" else "rack-a")
    with pytest.raises(httpx.HTTPError):
        httpx.get(pdu_url(dark) + PDU, auth=AUTH, timeout=2)
    assert not answers(pdu_url(dark))
    assert answers(pdu_url(lit)), "the other rack's PDU is untouched"
    sf.clear(f.id)
    r = httpx.get(pdu_url(dark) + PDU + "/Outlets/1", auth=AUTH, timeout=2)
    assert r.status_code == 200 and r.json()["PowerState"] == "On"


def test_switch_down_leaves_the_pdu_answering(sim_fleet):
    sf = sim_fleet(2)
    pdu = sf.fleet.pdus["rack-a-pdu"]
    f = sf.inject("switch_down", "rack-a-leaf")
    assert f.affected["unreachable_nodes"], "the nodes behind the leaf are gone"
    with httpx.Client(base_url=pdu_url(pdu), auth=AUTH, timeout=5) as c:
        docs = outlets(c)
        assert all(o["PowerState"] == "On" for o in docs.values())
        assert all(docs[oid]["PowerWatts"]["Reading"] > 0 for oid, o in pdu.outlets.items() if o.load)
        assert c.get(PDU).json()["Status"]["Health"] == "OK"


def test_inventory_carries_each_pdus_address_and_credentials(sim_fleet):
    fleet = topo.load(EXAMPLE)
    inv = {p["name"]: p for p in inventory(fleet)["pdus"]}
    assert {k: v["address"] for k, v in inv.items()} == {
        "pdu-a": "http://127.40.0.1:8000",
        "pdu-b": "http://127.40.0.2:8000",
        "pdu-c": "http://127.40.0.3:8000",
    }
    assert all((p["username"], p["password"]) == AUTH and p["outlets"] == 24 and p["rack"] for p in inv.values())
    # port addressing: the HTTP ports after the nodes', one per PDU
    t = topology_dict(3, racks=2)
    t["addressing"].update(redfish_http_port=18000, redfish_https_port=18443)
    t["defaults"]["bmc"] = {"user": "ops", "password": "s3cret"}
    fleet = topo.build(t)
    pdus = inventory(fleet)["pdus"]
    assert [p["address"] for p in pdus] == ["http://127.0.0.1:18006", "http://127.0.0.1:18007"]
    assert all((p["username"], p["password"]) == ("ops", "s3cret") for p in pdus)
    # a running fleet answers at the address it bound (port 0 asked for a free one)
    sf = sim_fleet(1)
    (p,) = inventory(sf.fleet)["pdus"]
    assert answers(p["address"]) and not p["address"].endswith(":0")
    assert httpx.get(p["address"] + PDU, auth=(p["username"], p["password"])).status_code == 200
