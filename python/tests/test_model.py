import time

from gpufleet_sim.model import Fleet, Node, Outlet, Pdu, Switch


def make(delay: float = 0.0) -> tuple[Fleet, Node]:
    f = Fleet(seed=3)
    n = f.add_node(Node("n1", "hgx-h100-8gpu", "r1", seed=3, power_delay_s=delay))
    return f, n


def test_power_transitions_apply_after_delay():
    _, n = make(delay=0.2)
    seen = []
    n.on_power_change.append(lambda node, old, new: seen.append((old, new)))
    n.power_off()
    assert n.power_state == "On" and n.pending_power_state == "Off"
    time.sleep(0.25)
    assert n.power_state == "Off"
    assert seen == [("On", "Off")]
    n.power_cycle()  # from Off: just turns on
    time.sleep(0.25)
    assert n.power_state == "On"


def test_power_cycle_reports_off_before_on():
    # A cycle used to keep reporting "On" (with "On" as its pending state) until the off phase,
    # so a client waiting for "On" after a cycle returned before the node had gone down.
    _, n = make(delay=0.2)
    seen = []
    n.on_power_change.append(lambda node, old, new: seen.append((old, new)))
    n.power_cycle()
    assert n.power_state == "Off" and n.pending_power_state == "On"
    assert n.target_power_state == "On"
    deadline = time.monotonic() + 5
    while n.power_state != "On":
        assert time.monotonic() < deadline, "the node never came back on"
        time.sleep(0.02)
    assert seen == [("On", "Off"), ("Off", "On")]


def test_power_on_while_an_off_is_queued_ends_on():
    # "on" was judged against the current state only: sent while an "off" was still queued
    # (the node reads "On"), it was dropped and the node stayed off.
    _, n = make(delay=0.2)
    n.power_off()
    n.power_on()
    assert n.target_power_state == "On"
    time.sleep(0.5)
    assert n.power_state == "On" and n.pending_power_state is None
    n.power_off(graceful=True)
    n.power_cycle()
    time.sleep(0.5)
    assert n.power_state == "On"
    n.power_on()  # already on, nothing queued: stays on without a transition
    assert n.pending_power_state is None


def test_reset_goes_off_then_on_and_counts_a_boot():
    _, n = make()
    boots = n.boot_count
    n.reset()
    assert n.power_state == "On"
    assert n.boot_count == boots + 1
    assert [e["message"] for e in n.sel[-2:]] == ["System power off", "System power on"]


def test_boot_override_once_is_consumed_by_the_next_boot():
    _, n = make()
    n.set_boot_override("Pxe", "Once")
    n.reset()
    assert n.last_boot_source == "Pxe"
    assert (n.boot_override_target, n.boot_override_enabled) == ("None", "Disabled")
    n.set_boot_override("Cd", "Continuous")
    n.reset()
    n.reset()
    assert n.last_boot_source == "Cd" and n.boot_override_enabled == "Continuous"


def test_bios_settings_wait_for_reset():
    _, n = make()
    n.bios_pending["SysProfile"] = "PerfPerWattOptimizedOs"
    assert n.bios_attributes["SysProfile"] == "PerfOptimized"
    n.reset()
    assert n.bios_attributes["SysProfile"] == "PerfPerWattOptimizedOs" and not n.bios_pending


def test_outlet_power_loss_darkens_node_and_restore_follows_last_state():
    f, n = make()
    f.add_pdu(Pdu("p1", "r1", {"1": Outlet("1", load=["n1"])}))
    f.set_outlet("p1", "1", False)
    assert n.power_state == "Off" and not n.powered and not n.bmc_reachable
    n.power_on()  # no power at the outlet: nothing happens
    assert n.power_state == "Off"
    f.set_outlet("p1", "1", True)
    assert n.bmc_reachable and n.power_state == "On"


def test_switch_down_makes_bmc_unreachable_and_notifies():
    f, n = make()
    sw = f.add_switch(Switch("leaf", "r1", ports=4))
    n.mgmt_switch, n.mgmt_port = "leaf", "Ethernet1"
    changes = []
    sw.subscribe(lambda port, field, value: changes.append((port, field, value)))
    f.set_switch_alive("leaf", False)
    assert not n.bmc_reachable
    assert ("Ethernet1", "oper_status", "DOWN") in changes
    f.set_switch_alive("leaf", True)
    assert n.bmc_reachable
    sw.set_admin("Ethernet2", False)
    assert sw.ports["Ethernet2"].oper_status == "DOWN"


def test_identities_are_deterministic_per_seed():
    a = Node("x", "hgx-h100-8gpu", seed=1)
    b = Node("x", "hgx-h100-8gpu", seed=1)
    c = Node("x", "hgx-h100-8gpu", seed=2)
    assert [g.serial for g in a.gpus] == [g.serial for g in b.gpus]
    assert a.nics[0].mac == b.nics[0].mac and a.uuid == b.uuid
    assert a.uuid != c.uuid and len({g.serial for g in a.gpus}) == 8


def test_volumes_validate_raid_and_drives():
    _, n = make()
    v = n.create_volume("os", "RAID1", ["Disk0", "Disk1"])
    assert v.capacity_bytes == n.drives[0].capacity_bytes
    import pytest

    with pytest.raises(ValueError):
        n.create_volume("again", "RAID0", ["Disk1"])
    with pytest.raises(ValueError):
        n.create_volume("bad", "RAID5", ["Disk2", "Disk3"])
    assert n.delete_volume(v.id) and not n.volumes


def test_sensors_reflect_fan_and_psu_faults():
    _, n = make()
    n.fan_failed.add(1)
    n.psu_failed.add(0)
    by = {s["name"]: s for s in n.sensors()}
    assert by["Fan2"]["reading"] == 0 and by["Fan2"]["status"] == "Critical"
    assert by["PSU1 Input Voltage"]["status"] == "Critical"
    assert n.health == "Critical"


def test_gpu_identities_have_the_formats_nvml_reports():
    """Serial, UUID and PCI bus id look like NVML's (nvidia-smi on an H200:
    serial 1653724058070, UUID GPU-4d44b188-25d2-522f-4f9f-652ae58c9129,
    bus id 00000000:00:06.0)."""
    import re

    from gpufleet_sim.model import Node

    node = Node("n1", "hgx-h100-8gpu")
    assert len(node.gpus) == 8
    for g in node.gpus:
        assert re.fullmatch(r"\d{13}", g.serial), g.serial
        assert re.fullmatch(r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", g.uuid), g.uuid
        assert re.fullmatch(r"[0-9A-F]{8}:[0-9A-F]{2}:[0-9A-F]{2}\.[0-7]", g.pci_bus_id), g.pci_bus_id
