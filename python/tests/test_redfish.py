"""Redfish resources and actions of the generic node face, over plain HTTP(S)."""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

AUTH = ("admin", "password")
SYS = "/redfish/v1/Systems/1"


@pytest.fixture
def rf(sim_node):
    with httpx.Client(base_url=sim_node.url(0), auth=AUTH, timeout=10) as c:
        yield sim_node, c


def test_auth_is_required_except_for_the_service_root(rf):
    sf, c = rf
    anon = httpx.Client(base_url=sf.url(0))
    assert anon.get("/redfish/v1/").status_code == 200
    assert anon.get("/redfish").json() == {"v1": "/redfish/v1/"}
    r = anon.get(SYS)
    assert r.status_code == 401 and r.json()["error"]["code"].endswith("NoValidSession")
    assert httpx.get(sf.url(0) + SYS, auth=("admin", "wrong")).status_code == 401


def test_sessions_issue_and_revoke_tokens(rf):
    sf, c = rf
    anon = httpx.Client(base_url=sf.url(0))
    bad = anon.post("/redfish/v1/SessionService/Sessions", json={"UserName": "admin", "Password": "x"})
    assert bad.status_code == 401
    r = anon.post("/redfish/v1/SessionService/Sessions", json={"UserName": "admin", "Password": "password"})
    assert r.status_code == 201
    token, loc = r.headers["X-Auth-Token"], r.headers["Location"]
    assert anon.get(SYS, headers={"X-Auth-Token": token}).status_code == 200
    assert anon.delete(loc, headers={"X-Auth-Token": token}).status_code == 204
    assert anon.get(SYS, headers={"X-Auth-Token": token}).status_code == 401


def test_https_serves_a_self_signed_certificate(sim_node):
    r = httpx.get(sim_node.url(0, https=True) + SYS, auth=AUTH, verify=False)
    assert r.status_code == 200 and r.json()["PowerState"] == "On"
    with pytest.raises(httpx.ConnectError):
        httpx.get(sim_node.url(0, https=True) + "/redfish/v1/", verify=True)
    # the certificate the server wrote verifies the connection
    r = httpx.get(sim_node.url(0, https=True) + "/redfish/v1/", verify=sim_node.server.cert_path)
    assert r.status_code == 200


def test_reset_types_and_invalid_values(rf):
    sf, c = rf
    node = sf.node(0)
    act = SYS + "/Actions/ComputerSystem.Reset"
    assert c.post(act, json={"ResetType": "GracefulShutdown"}).status_code == 204
    assert node.power_state == "Off" and c.get(SYS).json()["PowerState"] == "Off"
    assert c.post(act, json={"ResetType": "PushPowerButton"}).status_code == 204
    assert node.power_state == "On"
    r = c.post(act, json={"ResetType": "Reboot"})
    assert r.status_code == 400 and "ResetType" in r.json()["error"]["message"]
    assert c.post(act, content=b"{not json").status_code == 400
    assert c.delete(SYS).status_code == 405
    assert c.get("/redfish/v1/Nope").status_code == 404


def test_power_state_shows_transition_while_pending(sim_fleet):
    sf = sim_fleet(1, power_delay_s=0.5)
    c = httpx.Client(base_url=sf.url(0), auth=AUTH)
    c.post(SYS + "/Actions/ComputerSystem.Reset", json={"ResetType": "ForceOff"})
    assert c.get(SYS).json()["PowerState"] == "PoweringOff"
    time.sleep(0.7)
    assert c.get(SYS).json()["PowerState"] == "Off"


def test_boot_override_patch_validates(rf):
    sf, c = rf
    r = c.patch(SYS, json={"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Continuous"}})
    assert r.status_code == 200 and r.json()["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    assert sf.node(0).boot_override_enabled == "Continuous"
    assert c.patch(SYS, json={"Boot": {"BootSourceOverrideTarget": "Floppy"}}).status_code == 400
    assert c.patch(SYS, json={"PowerState": "Off"}).status_code == 400


def test_storage_volume_create_and_delete(rf):
    sf, c = rf
    st = c.get(SYS + "/Storage/1").json()
    drives = st["Drives"]
    r = c.post(SYS + "/Storage/1/Volumes", json={"Name": "os", "RAIDType": "RAID1", "Links": {"Drives": drives[:2]}})
    assert r.status_code == 201
    loc = r.headers["Location"]
    vol = c.get(loc).json()
    assert vol["RAIDType"] == "RAID1" and len(vol["Links"]["Drives"]) == 2
    assert c.get(drives[0]["@odata.id"]).json()["Links"]["Volumes"] == [{"@odata.id": loc}]
    assert (
        c.post(SYS + "/Storage/1/Volumes", json={"RAIDType": "RAID0", "Links": {"Drives": drives[:1]}}).status_code
        == 400
    )
    assert c.delete(loc).status_code == 204
    assert c.get(SYS + "/Storage/1/Volumes").json()["Members"] == []


def test_virtual_media_insert_and_eject(rf):
    sf, c = rf
    vm = "/redfish/v1/Managers/BMC/VirtualMedia/CD1"
    r = c.post(vm + "/Actions/VirtualMedia.InsertMedia", json={"Image": "http://images.example/ubuntu.iso"})
    assert r.status_code == 204
    doc = c.get(vm).json()
    assert doc["Inserted"] is True and doc["ImageName"] == "ubuntu.iso"
    assert c.post(vm + "/Actions/VirtualMedia.InsertMedia", json={"Image": "ftp://x"}).status_code == 400
    assert c.post(vm + "/Actions/VirtualMedia.EjectMedia", json={}).status_code == 204
    assert c.get(vm).json()["Inserted"] is False


def test_multipart_firmware_push_runs_a_task(rf):
    sf, c = rf
    files = {
        "UpdateParameters": (
            None,
            json.dumps({"Targets": ["/redfish/v1/UpdateService/FirmwareInventory/BMC"]}),
            "application/json",
        ),
        "UpdateFile": ("bmc-1.14.2.bin", b"\x00" * 4096, "application/octet-stream"),
    }
    push = c.get("/redfish/v1/UpdateService").json()["MultipartHttpPushUri"]
    r = c.post(push, files=files)
    assert r.status_code == 202
    monitor = r.headers["Location"]
    assert c.get(monitor).status_code == 202
    deadline = time.monotonic() + 5
    while c.get(monitor).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.1)
    task = c.get(r.json()["@odata.id"]).json()
    assert task["TaskState"] == "Completed" and task["PercentComplete"] == 100
    assert c.get("/redfish/v1/UpdateService/FirmwareInventory/BMC").json()["Version"] == "1.14.2"


def _wait_task(c: httpx.Client, r: httpx.Response) -> dict:
    assert r.status_code == 202, r.text
    monitor = r.headers["Location"]
    deadline = time.monotonic() + 20
    while c.get(monitor).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.1)
    return c.get(r.json()["@odata.id"]).json()


def test_installed_version_comes_from_the_image_table_not_from_the_request(rf):
    sf, c = rf
    ctl = sf.control_url()
    pushed = bytes(range(256)) * 8
    digest = hashlib.sha256(pushed).hexdigest()
    assert httpx.post(ctl + "/firmware-images", json={"image": "http://images.example/bios.bin", "version": "B-41"})
    r = httpx.post(ctl + "/firmware-images", json={"sha256": digest, "version": "M-17"})
    assert r.status_code == 201 and r.json() == {"http://images.example/bios.bin": "B-41", f"sha256:{digest}": "M-17"}
    for bad in (
        {"image": "x"},
        {"version": "1"},
        {"image": "x", "sha256": digest, "version": "1"},
        {"sha256": "ab", "version": "1"},
    ):
        assert httpx.post(ctl + "/firmware-images", json=bad).status_code == 400, bad

    # SimpleUpdate: the version the table gives for the URI
    r = c.post(
        "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
        json={
            "ImageURI": "http://images.example/bios.bin",
            "Targets": ["/redfish/v1/UpdateService/FirmwareInventory/BIOS"],
        },
    )
    assert _wait_task(c, r)["TaskState"] == "Completed"
    assert c.get("/redfish/v1/UpdateService/FirmwareInventory/BIOS").json()["Version"] == "B-41"

    # a pushed image: the version the table gives for its bytes, whatever its file name says
    push = c.get("/redfish/v1/UpdateService").json()["MultipartHttpPushUri"]
    params = json.dumps({"Targets": ["/redfish/v1/UpdateService/FirmwareInventory/BMC"]})
    files = {
        "UpdateParameters": (None, params, "application/json"),
        "UpdateFile": ("bmc-9.9.9.bin", pushed, "application/octet-stream"),
    }
    assert _wait_task(c, c.post(push, files=files))["TaskState"] == "Completed"
    assert c.get("/redfish/v1/UpdateService/FirmwareInventory/BMC").json()["Version"] == "M-17"
    # other bytes under the same name are not that image
    files["UpdateFile"] = ("bmc-9.9.9.bin", pushed + b"x", "application/octet-stream")
    assert _wait_task(c, c.post(push, files=files))["TaskState"] == "Completed"
    assert c.get("/redfish/v1/UpdateService/FirmwareInventory/BMC").json()["Version"] == "9.9.9"


def test_failed_image_ends_the_task_in_exception(rf):
    sf, c = rf
    r = c.post(
        "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate", json={"ImageURI": "http://x/fail-1.0.bin"}
    )
    task_uri = r.json()["@odata.id"]
    time.sleep(0.8)
    assert c.get(task_uri).json()["TaskState"] == "Exception"


def test_bios_settings_object_applied_at_next_reset(rf):
    sf, c = rf
    bios = c.get(SYS + "/Bios").json()
    settings = bios["@Redfish.Settings"]["SettingsObject"]["@odata.id"]
    assert c.patch(settings, json={"Attributes": {"NoSuchThing": 1}}).status_code == 400
    assert c.patch(settings, json={"Attributes": {"LogicalProc": "Disabled"}}).status_code == 204
    assert c.get(SYS + "/Bios").json()["Attributes"]["LogicalProc"] == "Enabled"
    c.post(SYS + "/Actions/ComputerSystem.Reset", json={"ResetType": "ForceRestart"})
    assert c.get(SYS + "/Bios").json()["Attributes"]["LogicalProc"] == "Disabled"


def test_sel_and_clear_log(rf):
    sf, c = rf
    c.post(SYS + "/Actions/ComputerSystem.Reset", json={"ResetType": "ForceOff"})
    entries = c.get(SYS + "/LogServices/SEL/Entries").json()["Members"]
    assert any(e["Message"] == "System power off" and e["SensorType"] == "System ACPI PowerState" for e in entries)
    assert c.post(SYS + "/LogServices/SEL/Actions/LogService.ClearLog", json={}).status_code == 204
    assert [e["Message"] for e in c.get(SYS + "/LogServices/SEL/Entries").json()["Members"]] == [
        "Log area reset/cleared"
    ]


def test_sensors_thermal_power(rf):
    sf, c = rf
    sensors = c.get("/redfish/v1/Chassis/1/Sensors").json()["Members"]
    assert len(sensors) == len(sf.node(0).sensors())
    one = c.get(sensors[0]["@odata.id"]).json()
    assert one["ReadingUnits"] and "Reading" in one
    fans = c.get("/redfish/v1/Chassis/1/Thermal").json()["Fans"]
    assert len(fans) == sf.node(0).spec.fan_count
    assert c.get("/redfish/v1/Chassis/1/Power").json()["PowerSupplies"][0]["PowerCapacityWatts"] == 3300


class _Sink(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Sink.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_event_subscription_receives_pushed_events(rf):
    sf, c = rf
    _Sink.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        dest = f"http://127.0.0.1:{httpd.server_address[1]}/events"
        r = c.post(
            "/redfish/v1/EventService/Subscriptions",
            json={"Destination": dest, "Context": "ctx-1", "Protocol": "Redfish"},
        )
        assert r.status_code == 201
        c.post(SYS + "/Actions/ComputerSystem.Reset", json={"ResetType": "ForceOff"})
        sf.inject("xid", sf.node(0).id, gpu=2, xid=79)
        deadline = time.monotonic() + 5

        def got_all():
            evs = [e for p in _Sink.received for e in p["Events"]]
            return any(e["Oem"]["Gpufleet"].get("xid") == 79 for e in evs) and any(
                e["Message"] == "Power state changed to Off" for e in evs
            )

        while not got_all() and time.monotonic() < deadline:
            time.sleep(0.05)
        events = [e for p in _Sink.received for e in p["Events"]]
        assert all(p["Context"] == "ctx-1" for p in _Sink.received)
        assert any(e["Message"] == "Power state changed to Off" for e in events)
        xid = [e for e in events if e["Oem"]["Gpufleet"].get("xid") == 79]
        assert xid and xid[0]["OriginOfCondition"]["@odata.id"] == SYS + "/Processors/GPU2"
        assert c.delete(r.headers["Location"]).status_code == 204
    finally:
        httpd.shutdown()
