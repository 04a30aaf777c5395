"""The IPMI, gNMI and Tinkerbell-worker faces inside a running simulator, beside Redfish.

The fleet is built from a topology and served the way ``gpufleet-sim up`` serves
it: the faces are installed as fleet starters.  Redfish (httpx), IPMI
(ipmitool) and gNMI (pygnmi) must see and change the same state.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import grpc
import httpx
import pytest
from pygnmi.client import gNMIclient, gNMIException

from gpufleet_sim import gnmi, ipmi, tinkworker
from gpufleet_sim.server import ThreadedFleet
from gpufleet_sim.testing import missing, topology_dict
from gpufleet_sim.topology import build

IPMITOOL = shutil.which("ipmitool")
AUTH = ("admin", "password")


@pytest.fixture()
def sim():
    topo = topology_dict(2, "l40s-4gpu", power_state="Off")
    fleet = build(topo)
    ipmi.install(fleet)
    gnmi.install(fleet)
    tinkworker.install(fleet)  # off: no tink-server configured
    with ThreadedFleet(fleet, control=None, tick_s=0.1) as runner:
        yield fleet, runner


def ipmitool(node, *args: str, check: bool = True) -> str:
    if IPMITOOL is None:
        missing("ipmitool is not installed (scripts/deps-python.sh installs it)")
    host, port = node.ipmi_address
    cmd = [IPMITOOL, "-I", "lanplus", "-H", host, "-p", str(port), "-U", node.ipmi_user, "-P", node.ipmi_password]
    proc = subprocess.run([*cmd, "-N", "1", "-R", "1", *args], capture_output=True, text=True, timeout=30)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout if proc.returncode == 0 else f"rc={proc.returncode}: {proc.stderr}"


def redfish(node) -> httpx.Client:
    host, port = node.redfish_address
    return httpx.Client(base_url=f"http://{host}:{port}", auth=AUTH, timeout=10)


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_redfish_and_ipmi_agree(sim):
    fleet, _ = sim
    node = next(iter(fleet.nodes.values()))
    assert node.ipmi_address[1] > 0  # the starter bound the address the topology asked for
    with redfish(node) as rf:
        assert "Chassis Power is off" in ipmitool(node, "chassis", "power", "status")
        r = rf.post("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", json={"ResetType": "On"})
        assert r.status_code in (200, 202, 204), r.text
        assert wait_for(lambda: "Chassis Power is on" in ipmitool(node, "chassis", "power", "status"))
        ipmitool(node, "chassis", "power", "off")
        assert wait_for(lambda: rf.get("/redfish/v1/Systems/1").json()["PowerState"] == "Off")
        ipmitool(node, "chassis", "bootdev", "pxe", "options=efiboot")
        boot = rf.get("/redfish/v1/Systems/1").json()["Boot"]
        assert (boot["BootSourceOverrideTarget"], boot["BootSourceOverrideEnabled"]) == ("Pxe", "Once")
        r = rf.patch(
            "/redfish/v1/Systems/1",
            json={"Boot": {"BootSourceOverrideTarget": "Hdd", "BootSourceOverrideEnabled": "Continuous"}},
        )
        assert r.status_code in (200, 204), r.text
        out = ipmitool(node, "chassis", "bootparam", "get", "5")
        assert "Force Boot from default Hard-Drive" in out and "all future boots" in out


def test_gnmi_target_and_switch_fault(sim):
    fleet, runner = sim
    sw = next(iter(fleet.switches.values()))
    node = next(iter(fleet.nodes.values()))
    port_name = node.nics[0].switch_port
    assert node.nics[0].switch == sw.id
    host, port = sw.gnmi_address
    path = f"/interfaces/interface[name={port_name}]/state"
    with gNMIclient(target=(host, port), insecure=True, gnmi_timeout=5) as gc:
        state = gc.get(path=[path], encoding="json")["notification"][0]["update"][0]["val"]
        assert state["oper-status"] == "UP" and state["description"] == f"{node.id}/{node.nics[0].name}"
        # the ticker moves counters of connected ports
        first = int(state["counters"]["in-octets"])
        assert wait_for(
            lambda: (
                int(gc.get(path=[path + "/counters/in-octets"], encoding="json")["notification"][0]["update"][0]["val"])
                > first
            )
        )
        runner.call(lambda: runner.server.faults.inject("switch_down", sw.id))
        with pytest.raises(gNMIException) as e:
            gc.get(path=[path])
        assert e.value.orig_exc.code() == grpc.StatusCode.UNAVAILABLE
    # the BMCs managed through that switch are gone as well
    assert node.mgmt_switch == sw.id and not node.bmc_reachable
    assert ipmitool(node, "chassis", "power", "status", check=False).startswith("rc=")
