from conftest import EXAMPLES

from gpufleet_sim import topology


def test_example_topology_wires_every_node():
    f = topology.load(EXAMPLES / "fleet-3rack.yaml")
    assert len(f.racks) == 3 and len(f.switches) == 3 and len(f.pdus) == 3
    assert {n.model for n in f.nodes.values()} >= {"hgx-h100-8gpu", "l40s-4gpu", "dell-r750"}
    addrs = [n.redfish_address for n in f.nodes.values()]
    assert len(set(addrs)) == len(addrs), "every BMC needs its own address"
    for n in f.nodes.values():
        assert n.pdu and n.outlet and n.id in f.pdus[n.pdu].outlets[n.outlet].load
        assert n.mgmt_switch == f"leaf-{n.rack[-1]}"
        assert all(nic.switch and nic.switch_port for nic in n.nics)
        assert f.switches[n.mgmt_switch].ports[n.mgmt_port].peer == f"{n.id}/BMC"
    assert f.nodes_on_pdu("pdu-b") == sorted(f.racks["rack-b"].nodes)


def test_bad_topologies_are_rejected_with_a_reason():
    import pytest

    with pytest.raises(topology.TopologyError, match="unknown node model"):
        topology.build({"racks": [{"id": "r", "nodes": [{"model": "nope"}]}]})
    with pytest.raises(topology.TopologyError, match="no free outlet"):
        topology.build(
            {"racks": [{"id": "r", "pdus": [{"id": "p", "outlets": 1}], "nodes": [{"count": 2, "model": "cpu-1u"}]}]}
        )
