"""The simulator exports its fleet as a gpufleet inventory file."""

from pathlib import Path

import yaml
from typer.testing import CliRunner

from gpufleet_sim import topology as topo
from gpufleet_sim.cli import app
from gpufleet_sim.inventory import inventory

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet-3rack.yaml"


def test_inventory_names_every_node_with_bmc_power_and_cabling():
    fleet = topo.load(EXAMPLE)
    inv = inventory(fleet)
    assert {r["name"] for r in inv["racks"]} == set(fleet.racks)
    assert len(inv["nodes"]) == len(fleet.nodes)
    pdus = {p["name"]: p for p in inv["pdus"]}
    switches = {s["name"]: s for s in inv["switches"]}
    outlets_seen = set()
    for n in inv["nodes"]:
        node = fleet.nodes[n["name"]]
        assert n["rack"] == node.rack
        assert n["bmc"]["address"].startswith(("http://", "https://"))
        assert n["bmc"]["password"] == node.bmc_password
        p = n["power"]
        assert p["pdu"] in pdus and 1 <= p["outlet"] <= pdus[p["pdu"]]["outlets"]
        assert (p["pdu"], p["outlet"]) not in outlets_seen, "an outlet powers one node"
        outlets_seen.add((p["pdu"], p["outlet"]))
        for nic in n["nics"]:
            assert len(nic["mac"].split(":")) == 6
            if "switch" in nic:
                assert nic["switch"] in switches
    # Each leaf names its feed too (a dark PDU takes the switch with it), on an outlet of its own.
    for s in inv["switches"]:
        p = s["power"]
        assert p["pdu"] in pdus and (p["pdu"], p["outlet"]) not in outlets_seen, s
        outlets_seen.add((p["pdu"], p["outlet"]))


def test_cli_writes_yaml_that_round_trips():
    r = CliRunner().invoke(app, ["inventory", str(EXAMPLE)])
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(r.output)
    assert set(doc) == {"racks", "pdus", "cdus", "switches", "nodes"}
    assert [c["racks"] for c in doc["cdus"]] == [["rack-a", "rack-b"], ["rack-c"]]
    assert any(n["name"] == "c-dell-1" for n in doc["nodes"])
