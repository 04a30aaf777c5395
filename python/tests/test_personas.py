"""The Redfish personas laid out like other makers' BMC firmware (personas.py), over HTTP."""

import time

import httpx
import pytest

AUTH = ("admin", "password")
R = "/redfish/v1"


@pytest.fixture
def persona(sim_fleet):
    def start(model: str):
        sf = sim_fleet(1, model)
        return sf, httpx.Client(base_url=sf.url(0), auth=AUTH, timeout=10)

    return start


def members(c: httpx.Client, path: str) -> list[str]:
    r = c.get(path)
    assert r.status_code == 200, r.text
    return [m["@odata.id"] for m in r.json()["Members"]]


def test_dgx_serves_its_gpus_only_as_chassis(persona):
    sf, c = persona("dgx-h100")
    root = c.get(R).json()
    assert root["Vendor"] == "AMI"
    sys = c.get(f"{R}/Systems/DGX").json()
    assert sys["Manufacturer"] == "NVIDIA" and sys["Model"] == "DGX H100"
    assert "PCIeDevices" not in sys
    procs = [c.get(p).json() for p in members(c, f"{R}/Systems/DGX/Processors")]
    assert [p["ProcessorType"] for p in procs] == ["CPU", "CPU"]
    chassis = members(c, f"{R}/Chassis")
    gpus = [p for p in chassis if "/HGX_GPU_SXM_" in p]
    assert gpus == [f"{R}/Chassis/HGX_GPU_SXM_{n}" for n in range(1, 9)]
    docs = [c.get(p).json() for p in gpus]
    assert [d["SerialNumber"] for d in docs] == [g.serial for g in sf.node(0).gpus]
    assert {d["Model"] for d in docs} == {"NVIDIA H100 80GB HBM3"}
    dev = members(c, f"{gpus[0]}/PCIeDevices")
    fn = c.get(members(c, f"{dev[0]}/PCIeFunctions")[0]).json()
    assert fn["VendorId"] == "0x10de" and fn["ClassCode"].startswith("0x03")
    # A GPU that falls off the bus leaves the chassis collection and answers 404.
    sf.inject("gpu_off_bus", sf.node(0).id, gpu=2)
    assert f"{R}/Chassis/HGX_GPU_SXM_3" not in members(c, f"{R}/Chassis")
    assert c.get(f"{R}/Chassis/HGX_GPU_SXM_3").status_code == 404


def test_trays_pair_serials_and_one_links_a_dead_chassis(persona):
    sf, c = persona("gb200-tray")
    assert c.get(R).json()["Vendor"] == "WIWYNN"
    docs = [c.get(f"{R}/Chassis/HGX_GPU_{n}").json() for n in range(4)]
    serials = [d["SerialNumber"] for d in docs]
    assert serials[0] == serials[1] and serials[2] == serials[3] and serials[0] != serials[2]
    link = c.get(f"{R}/Systems/System_0").json()["Links"]["Chassis"][0]["@odata.id"]
    assert c.get(link).status_code == 404
    assert link not in members(c, f"{R}/Chassis")
    host = c.get(f"{R}/Chassis/Chassis_0").json()
    assert {"@odata.id": f"{R}/Systems/System_0"} in host["Links"]["ComputerSystems"]


def test_settings_objects_that_take_patch_but_not_get(persona):
    sf, c = persona("dgx-h100")
    bios = c.get(f"{R}/Systems/DGX/Bios").json()
    assert "@Redfish.Settings" not in bios
    assert c.get(f"{R}/Systems/DGX/Bios/SD").status_code == 405
    assert c.get(f"{R}/Systems/DGX/Bios/Settings").status_code == 404
    r = c.patch(f"{R}/Systems/DGX/Bios/SD", json={"Attributes": {"SysProfile": "PerfPerWattOptimizedOs"}})
    assert r.status_code == 204
    assert sf.node(0).bios_pending == {"SysProfile": "PerfPerWattOptimizedOs"}
    # The tray advertises its settings object, which cannot be read either.
    sf2, c2 = persona("gb200-tray")
    s = c2.get(f"{R}/Systems/System_0/Bios").json()["@Redfish.Settings"]["SettingsObject"]["@odata.id"]
    assert c2.get(s).status_code == 405


def test_bios_firmware_named_hostbios_and_on_refused_while_on(persona):
    sf, c = persona("gb300-tray")
    ids = [p.rsplit("/", 1)[1] for p in members(c, f"{R}/UpdateService/FirmwareInventory")]
    assert "HostBIOS_0" in ids and "BIOS" not in ids
    v = c.get(f"{R}/UpdateService/FirmwareInventory/HostBIOS_0").json()["Version"]
    assert v == sf.node(0).bios_version
    act = f"{R}/Systems/System_0/Actions/ComputerSystem.Reset"
    r = c.post(act, json={"ResetType": "On"})
    assert r.status_code == 400 and "powered on" in r.json()["error"]["message"]
    assert c.post(act, json={"ResetType": "ForceOff"}).status_code == 204


def test_an_update_whose_image_cannot_be_fetched_completes_unchanged(sim_node):
    c = httpx.Client(base_url=sim_node.url(0), auth=AUTH, timeout=10)
    before = sim_node.node(0).bios_version
    r = c.post(
        f"{R}/UpdateService/Actions/UpdateService.SimpleUpdate",
        json={
            "ImageURI": "http://unreachable.invalid/bios-9.9.9.bin",
            "Targets": [f"{R}/UpdateService/FirmwareInventory/BIOS"],
        },
    )
    assert r.status_code == 202
    mon = r.headers["Location"]
    for _ in range(200):
        t = c.get(mon)
        if t.status_code == 200 and t.json().get("TaskState") == "Completed":
            break
        time.sleep(0.05)
    assert c.get(mon).json()["TaskState"] == "Completed"
    assert sim_node.node(0).bios_version == before
