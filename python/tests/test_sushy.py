"""OpenStack sushy (an independent Redfish client) drives the simulated BMC."""

import time

import pytest

from gpufleet_sim.testing import missing

try:
    import sushy
except ImportError:
    missing("sushy is not installed (scripts/python-env.sh installs it)", allow_module_level=True)


def wait_for(pred, timeout=10.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


@pytest.fixture(params=["http-basic", "https-session"])
def client(request, sim_fleet):
    sf = sim_fleet(1, power_delay_s=0.3)
    https = request.param.startswith("https")
    auth = (
        sushy.auth.SessionAuth("admin", "password")
        if "session" in request.param
        else sushy.auth.BasicAuth("admin", "password")
    )
    root = sushy.Sushy(sf.url(0, https=https) + "/redfish/v1", auth=auth, verify=False)
    yield sf, root
    # log out while the BMC still runs (sushy would retry for a minute at garbage collection)
    root._auth.close()
    root._auth = None


def test_sushy_walks_the_service(client):
    sf, root = client
    assert root.redfish_version == "1.17.0"
    systems = root.get_system_collection()
    assert systems.members_identities == ("/redfish/v1/Systems/1",)
    system = root.get_system("/redfish/v1/Systems/1")
    node = sf.node(0)
    assert system.uuid == node.uuid and system.serial_number == node.serial
    assert system.memory_summary.size_gib == 64 * 32
    procs = system.processors
    gpus = [p for p in procs.get_members() if p.processor_type == sushy.ProcessorType.GPU]
    assert len(gpus) == 8 and {p.model for p in gpus} == {"NVIDIA H100 80GB HBM3"}
    assert sorted(p.json["SerialNumber"] for p in gpus) == sorted(g.serial for g in node.gpus)
    macs = {i.mac_address for i in system.ethernet_interfaces.get_members()}
    assert macs == {n.mac for n in node.nics}
    chassis = root.get_chassis("/redfish/v1/Chassis/1")
    assert chassis.thermal.temperatures and chassis.power.power_supplies
    manager = root.get_manager("/redfish/v1/Managers/BMC")
    assert manager.manager_type == sushy.ManagerType.BMC
    storage = system.storage.get_members()[0]
    assert len(storage.drives) == len(node.drives)


def test_sushy_reset_changes_power_after_a_delay(client):
    sf, root = client
    system = root.get_system("/redfish/v1/Systems/1")
    assert system.power_state == sushy.PowerState.ON
    system.reset_system(sushy.ResetType.FORCE_OFF)

    def off():
        system.refresh()
        return system.power_state == sushy.PowerState.OFF

    assert wait_for(off)
    system.reset_system(sushy.ResetType.ON)

    def on():
        system.refresh()
        return system.power_state == sushy.PowerState.ON

    assert wait_for(on)
    with pytest.raises(sushy.exceptions.InvalidParameterValueError):
        system.reset_system("Explode")


def test_sushy_boot_override(client):
    sf, root = client
    system = root.get_system("/redfish/v1/Systems/1")
    system.set_system_boot_options(sushy.BootSource.PXE, enabled=sushy.BootSourceOverrideEnabled.ONCE)
    system.refresh()
    assert system.boot.target == sushy.BootSource.PXE
    assert system.boot.enabled == sushy.BootSourceOverrideEnabled.ONCE
    system.reset_system(sushy.ResetType.FORCE_RESTART)
    assert wait_for(lambda: sf.node(0).last_boot_source == "Pxe" and sf.node(0).power_state == "On")
    system.refresh()
    assert system.boot.enabled == sushy.BootSourceOverrideEnabled.DISABLED
    system.set_system_boot_options(sushy.BootSource.CD, enabled=sushy.BootSourceOverrideEnabled.CONTINUOUS)
    system.refresh()
    assert system.boot.target == sushy.BootSource.CD


def test_sushy_bios_change_applies_at_reset(client):
    sf, root = client
    system = root.get_system("/redfish/v1/Systems/1")
    bios = system.bios
    assert bios.attributes["SysProfile"] == "PerfOptimized"
    bios.set_attributes({"SysProfile": "PerfPerWattOptimizedOs"})
    bios.refresh()
    assert bios.pending_attributes["SysProfile"] == "PerfPerWattOptimizedOs"
    assert bios.attributes["SysProfile"] == "PerfOptimized"
    system.reset_system(sushy.ResetType.FORCE_RESTART)
    assert wait_for(lambda: sf.node(0).bios_attributes["SysProfile"] == "PerfPerWattOptimizedOs")
    bios.refresh()
    assert bios.attributes["SysProfile"] == "PerfPerWattOptimizedOs"


def test_sushy_firmware_update_task_completes(client):
    sf, root = client
    us = root.get_update_service()
    inv = {fw.identity: fw.version for fw in us.firmware_inventory.get_members()}
    assert inv["BIOS"] == sf.node(0).bios_version
    monitor = us.simple_update(
        "http://images.example/bios-2.9.1.bin",
        targets=["/redfish/v1/UpdateService/FirmwareInventory/BIOS"],
        transfer_protocol=sushy.UpdateTransferProtocolType.HTTP,
    )
    task = monitor.get_task()
    first = task.percent_complete
    assert task.task_state in (sushy.TaskState.RUNNING, sushy.TaskState.COMPLETED)

    def done():
        task.refresh()
        return task.task_state == sushy.TaskState.COMPLETED

    assert wait_for(done, timeout=10)
    assert task.percent_complete == 100 >= first
    fw = us.firmware_inventory.get_member("/redfish/v1/UpdateService/FirmwareInventory/BIOS")
    assert fw.version == "2.9.1"
    assert sf.node(0).bios_version == "2.9.1"
