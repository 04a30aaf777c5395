"""Vendor personalities: real captured Redfish trees with live behaviour on top."""

import httpx
import pytest

from gpufleet_sim.capture import capture_available

AUTH = ("admin", "password")
PERSONALITIES = {
    "dell-r750": ("dell_poweredge_r750", "/redfish/v1/Systems/System.Embedded.1", "Dell Inc."),
    "lenovo-sr670v2": ("lenovo_thinksystem_sr670", "/redfish/v1/Systems/1", "Lenovo"),
    "nvidia-gh200": ("gh200", "/redfish/v1/Systems/System_0", None),
    "bluefield-dpu": ("nvidia_dpu", "/redfish/v1/Systems/Bluefield", None),
}


@pytest.fixture(params=sorted(PERSONALITIES))
def vendor(request, sim_fleet, reference):
    capture, sys_path, maker = PERSONALITIES[request.param]
    if not capture_available(capture):
        pytest.fail(f"vendor capture {capture}.tar.gz missing under {reference}/redfish/vendor-captures")
    sf = sim_fleet(0, extra_nodes=[{"id": "v1", "model": request.param}])
    return sf, sf.server.services["v1"], sys_path, maker


def test_capture_serves_the_frozen_tree_with_live_power_boot_bios(vendor):
    sf, svc, sys_path, maker = vendor
    assert svc.sys == sys_path
    c = httpx.Client(base_url=sf.url("v1"), auth=AUTH)
    sysdoc = c.get(sys_path).json()
    if maker:
        assert sysdoc["Manufacturer"] == maker
    # untouched resources come back exactly as captured (OEM blocks included)
    mgr = svc.manager
    assert c.get(mgr).json() == svc.tree[mgr]
    assert c.post(svc.reset_target, json={"ResetType": "ForceOff"}).status_code == 204
    assert c.get(sys_path).json()["PowerState"] == "Off"
    allowed = sysdoc["Boot"].get("BootSourceOverrideTarget@Redfish.AllowableValues") or ["Pxe"]
    assert "Pxe" in allowed
    r = c.patch(sys_path, json={"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}})
    assert r.status_code == 200 and c.get(sys_path).json()["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    attrs = c.get(svc.bios).json()["Attributes"]
    key, val = next((k, v) for k, v in attrs.items() if isinstance(v, str))
    assert c.patch(svc.bios_settings, json={"Attributes": {key: val + "X"}}).status_code == 204
    assert c.get(svc.bios).json()["Attributes"][key] == val
    c.post(svc.reset_target, json={"ResetType": "On"})
    assert c.get(svc.bios).json()["Attributes"][key] == val + "X"
    assert sf.node("v1").last_boot_source == "Pxe"


def test_capture_firmware_update_and_frozen_actions(vendor):
    sf, svc, sys_path, _ = vendor
    c = httpx.Client(base_url=sf.url("v1"), auth=AUTH)
    r = c.post(svc.simple_update_target, json={"ImageURI": "http://x/bios-9.9.9.bin"})
    assert r.status_code == 202 and r.headers["Location"].startswith("/redfish/v1/TaskService/TaskMonitors/sim-")
    assert c.get(r.json()["@odata.id"]).json()["TaskState"] in ("Running", "Completed")
    assert c.delete(sys_path + "/Nope").status_code == 404


def test_gpu_off_bus_disappears_from_vendor_processors(sim_fleet, reference):
    if not capture_available("lenovo_thinksystem_sr670"):
        pytest.fail("vendor capture lenovo_thinksystem_sr670.tar.gz missing")
    sf = sim_fleet(0, extra_nodes=[{"id": "len", "model": "lenovo-sr670v2"}])
    svc = sf.server.services["len"]
    node = sf.node("len")
    assert [g.serial for g in node.gpus] == [svc.tree[p]["SerialNumber"] for p in svc.gpu_paths]
    c = httpx.Client(base_url=sf.url("len"), auth=AUTH)
    gone = svc.gpu_paths[1]
    sf.inject("gpu_off_bus", "len", gpu=1)
    assert c.get(gone).status_code == 404
    members = [m["@odata.id"] for m in c.get("/redfish/v1/Systems/1/Processors").json()["Members"]]
    assert gone not in members and svc.gpu_paths[0] in members
