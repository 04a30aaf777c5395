"""The simulated IPMI BMC, driven by the real ``ipmitool -I lanplus``."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import time

import pytest

from gpufleet_sim import ipmi
from gpufleet_sim.model import Fleet, Node
from gpufleet_sim.testing import missing

IPMITOOL = shutil.which("ipmitool")

if IPMITOOL is None:
    missing("ipmitool is not installed (scripts/deps-python.sh installs it)", allow_module_level=True)


def run_ipmitool(bmc: ipmi.NodeBmc, *args: str, password: str | None = None, retries: int = 2) -> tuple[int, str]:
    cmd = [
        IPMITOOL,
        "-I",
        "lanplus",
        "-H",
        bmc.host,
        "-p",
        str(bmc.port),
        "-U",
        bmc.node.ipmi_user,
        "-P",
        bmc.node.ipmi_password if password is None else password,
        "-N",
        "1",
        "-R",
        str(retries),
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout + proc.stderr


def ok(bmc: ipmi.NodeBmc, *args: str) -> str:
    rc, out = run_ipmitool(bmc, *args)
    assert rc == 0, f"ipmitool {' '.join(args)} failed ({rc}): {out}"
    return out


@pytest.fixture()
def fleet():
    f = Fleet(seed=7)
    f.add_node(Node("gpu-001", "hgx-h100-8gpu", "rack-1", power_delay_s=0))
    f.add_node(Node("gpu-002", "l40s-4gpu", "rack-1", power_delay_s=0, power_state="Off"))
    return f


@pytest.fixture()
def bmcs(fleet):
    with ipmi.FleetBmcs(fleet) as b:
        yield b.bmcs


@pytest.fixture()
def bmc(bmcs):
    return bmcs["gpu-001"]


# --------------------------------------------------------------------------- chassis power


def test_bmc_binds_loopback_and_records_address(fleet, bmcs):
    for node_id, b in bmcs.items():
        node = fleet.nodes[node_id]
        assert node.ipmi_address == (b.host, b.port)
        assert b.host == "127.0.0.1" and b.port > 0
    assert len({b.port for b in bmcs.values()}) == len(bmcs)


def test_refuses_non_loopback_address(fleet):
    with pytest.raises(ValueError, match="loopback"):
        ipmi.NodeBmc(fleet.nodes["gpu-001"], host="0.0.0.0")


def test_power_status_follows_model(bmcs, fleet):
    assert "Chassis Power is on" in ok(bmcs["gpu-001"], "chassis", "power", "status")
    assert "Chassis Power is off" in ok(bmcs["gpu-002"], "chassis", "power", "status")
    # a change made elsewhere (e.g. through Redfish) is what IPMI reports
    fleet.nodes["gpu-001"].power_off()
    assert "Chassis Power is off" in ok(bmcs["gpu-001"], "chassis", "power", "status")


def test_power_off_and_on(bmc):
    node = bmc.node
    assert "Down/Off" in ok(bmc, "chassis", "power", "off")
    assert node.power_state == "Off"
    assert "Chassis Power is off" in ok(bmc, "chassis", "power", "status")
    assert "Up/On" in ok(bmc, "chassis", "power", "on")
    assert node.power_state == "On"
    assert "Chassis Power is on" in ok(bmc, "chassis", "power", "status")


def test_power_cycle_reboots_the_host(bmc):
    node = bmc.node
    boots = node.boot_count
    seen: list[tuple[str, str]] = []
    node.on_power_change.append(lambda n, old, new: seen.append((old, new)))
    assert "Cycle" in ok(bmc, "chassis", "power", "cycle")
    assert seen == [("On", "Off"), ("Off", "On")]
    assert node.boot_count == boots + 1
    assert node.power_state == "On"


def test_power_reset_and_soft_off(bmc):
    node = bmc.node
    boots = node.boot_count
    assert "Reset" in ok(bmc, "chassis", "power", "reset")
    assert node.boot_count == boots + 1
    assert "Soft" in ok(bmc, "chassis", "power", "soft")
    assert node.power_state == "Off"


def test_power_change_respects_model_delay(bmc):
    node = bmc.node
    node.power_delay_s = 0.3
    ok(bmc, "chassis", "power", "off")
    assert node.pending_power_state == "Off"
    deadline = time.monotonic() + 5
    while "Chassis Power is off" not in ok(bmc, "chassis", "power", "status"):
        assert time.monotonic() < deadline, "power never went off"
        time.sleep(0.1)
    assert node.power_state == "Off"


def test_chassis_status_reports_restore_policy(bmc):
    out = ok(bmc, "chassis", "status")
    assert re.search(r"System Power\s+: on", out)
    assert re.search(r"Power Restore Policy\s+: previous", out)
    bmc.node.power_restore_policy = "AlwaysOff"
    assert re.search(r"Power Restore Policy\s+: always-off", ok(bmc, "chassis", "status"))


# --------------------------------------------------------------------------- boot device


def test_bootdev_pxe_once(bmc):
    node = bmc.node
    assert "Set Boot Device to pxe" in ok(bmc, "chassis", "bootdev", "pxe")
    assert (node.boot_override_target, node.boot_override_enabled) == ("Pxe", "Once")
    out = ok(bmc, "chassis", "bootparam", "get", "5")
    assert "Boot Flag Valid" in out
    assert "Force PXE" in out
    assert "Options apply to only next boot" in out
    # the next boot consumes a one-time override
    ok(bmc, "chassis", "power", "cycle")
    assert node.last_boot_source == "Pxe"
    assert (node.boot_override_target, node.boot_override_enabled) == ("None", "Disabled")


def test_bootdev_persistent_efi(bmc):
    node = bmc.node
    ok(bmc, "chassis", "bootdev", "disk", "options=persistent,efiboot")
    assert (node.boot_override_target, node.boot_override_enabled, node.boot_override_mode) == (
        "Hdd",
        "Continuous",
        "UEFI",
    )
    out = ok(bmc, "chassis", "bootparam", "get", "5")
    assert "Options apply to all future boots" in out
    assert "BIOS EFI boot" in out
    assert "Force Boot from default Hard-Drive" in out
    ok(bmc, "chassis", "bootdev", "cdrom")
    assert (node.boot_override_target, node.boot_override_enabled, node.boot_override_mode) == ("Cd", "Once", "Legacy")


def test_bootdev_none_clears_override(bmc):
    node = bmc.node
    node.set_boot_override("Pxe", "Continuous")
    ok(bmc, "chassis", "bootdev", "none")
    assert (node.boot_override_target, node.boot_override_enabled) == ("None", "Disabled")
    assert "No override" in ok(bmc, "chassis", "bootparam", "get", "5")


def test_boot_override_set_elsewhere_is_reported(bmc):
    bmc.node.set_boot_override("Pxe", "Continuous")
    out = ok(bmc, "chassis", "bootparam", "get", "5")
    assert "Force PXE" in out and "all future boots" in out


# --------------------------------------------------------------------------- SEL


def _sel_rows(out: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("|")] for line in out.splitlines() if line.count("|") >= 4]


def test_sel_list_shows_model_entries(bmc):
    node = bmc.node
    ok(bmc, "chassis", "power", "off")
    ok(bmc, "chassis", "power", "on")
    node.record_xid(3, 79, "GPU has fallen off the bus", "Critical")
    rows = _sel_rows(ok(bmc, "sel", "list"))
    assert [int(r[0], 16) for r in rows] == [int(e["id"]) for e in node.sel]
    assert rows[0][3].startswith("System ACPI Power State") and rows[0][4] == "S5/G2: soft-off"
    assert rows[1][4] == "S0/G0: working"
    assert rows[2][3].startswith("Processor") and "Uncorrectable machine check" in rows[2][4]
    assert all(r[-1] == "Asserted" for r in rows)


def test_sel_elist_names_threshold_sensor(bmc):
    ok(bmc, "sdr", "list")  # numbers the sensors
    bmc.node.add_sel("GPU2 Temp above upper critical threshold", "Critical", "Temperature")
    rows = _sel_rows(ok(bmc, "sel", "elist"))
    assert rows[-1][3] == "Temperature GPU2 Temp"
    assert rows[-1][4] == "Upper Critical going high"


def test_sel_info_and_clear(bmc):
    node = bmc.node
    for i in range(5):
        node.add_sel(f"test event {i}", "Warning", "System Event")
    out = ok(bmc, "sel", "info")
    assert re.search(rf"Entries\s+: {len(node.sel)}\b", out)
    assert "Clearing SEL" in ok(bmc, "sel", "clear")
    assert [e["message"] for e in node.sel] == ["Log area reset/cleared"]
    rows = _sel_rows(ok(bmc, "sel", "list"))
    assert len(rows) == 1 and rows[0][4] == "Log area reset/cleared"
    assert re.search(r"Entries\s+: 1\b", ok(bmc, "sel", "info"))


def test_platform_event_lands_in_sel(bmc):
    node = bmc.node
    before = len(node.sel)
    assert "Upper Critical - Going High" in ok(bmc, "event", "1")
    assert len(node.sel) == before + 1
    entry = node.sel[-1]
    assert (entry["sensor_type"], entry["severity"]) == ("Temperature", "Critical")
    rows = _sel_rows(ok(bmc, "sel", "list"))
    assert rows[-1][4] == "Upper Critical going high"


# --------------------------------------------------------------------------- sensors


def _sensor_rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cols = [c.strip() for c in line.split("|")]
        if len(cols) >= 3:
            rows[cols[0]] = cols
    return rows


def test_sensor_list_matches_model(bmc):
    node = bmc.node
    rows = _sensor_rows(ok(bmc, "sensor", "list"))
    sensors = node.sensors()
    assert len(rows) == len(sensors)
    units = {"Cel": "degrees C", "RPM": "RPM", "V": "Volts", "W": "Watts"}
    for s in sensors:
        row = rows[s["name"][:16]]
        assert row[2] == units[s["unit"]]
        scale = bmc._scalings[s["name"]]
        jitter = 3.0 if s["unit"] == "V" else 0.0  # the model's mains voltage wanders per read
        assert abs(float(row[1]) - s["reading"]) <= scale.m * 10.0**scale.k2 + jitter, (s, row)
        assert row[3] == "ok"
        if s["critical"] is not None:
            assert abs(float(row[8]) - s["critical"]) <= scale.m * 10.0**scale.k2
            assert abs(float(row[7]) - s["warning"]) <= scale.m * 10.0**scale.k2
        else:
            assert row[8] == "na"
    assert float(rows["GPU0 Temp"][1]) > 30


def test_sensor_status_follows_faults(bmc):
    node = bmc.node
    node.fan_failed.add(2)
    node.gpus[1].temp_offset = 60.0  # well past the critical threshold
    rows = _sensor_rows(ok(bmc, "sensor", "list"))
    assert rows["Fan3"][3] == "cr" and float(rows["Fan3"][1]) == 0.0
    assert rows["GPU1 Temp"][3] == "cr"
    assert rows["GPU0 Temp"][3] == "ok"
    sdr = _sensor_rows(ok(bmc, "sdr", "list"))
    assert sdr["GPU1 Temp"][2] == "cr" and "degrees C" in sdr["GPU1 Temp"][1]


def test_sensor_readings_drop_when_powered_off(bmc):
    ok(bmc, "chassis", "power", "off")
    rows = _sensor_rows(ok(bmc, "sdr", "list"))
    assert rows["Fan1"][1].startswith("0 ")
    assert rows["12V Rail"][1].startswith("0 ")
    assert rows["Inlet Temp"][1].split()[0] != "0"


def test_mc_info(bmc):
    out = ok(bmc, "mc", "info")
    assert re.search(r"IPMI Version\s+: 2.0", out)
    assert "SEL Device" in out and "SDR Repository Device" in out and "Chassis Device" in out


# --------------------------------------------------------------------------- failures


def test_wrong_password_is_refused(bmc):
    rc, out = run_ipmitool(bmc, "chassis", "power", "status", password="not-the-password", retries=1)
    assert rc != 0
    assert "Unable to establish" in out


def test_unreachable_bmc_does_not_answer(bmc):
    node = bmc.node
    node.bmc_fault = "unresponsive"
    rc, _ = run_ipmitool(bmc, "chassis", "power", "status", retries=1)
    assert rc != 0
    node.bmc_fault = None
    assert "Chassis Power is on" in ok(bmc, "chassis", "power", "status")


def test_closed_bmc_stops_answering(fleet):
    b = ipmi.start_bmc(fleet.nodes["gpu-002"])
    assert "Chassis Power is off" in ok(b, "chassis", "power", "status")
    b.close()
    rc, _ = run_ipmitool(b, "chassis", "power", "status", retries=1)
    assert rc != 0


# --------------------------------------------------------------------------- encoding


def test_scaling_covers_range_with_finest_step():
    s = ipmi.choose_scaling(125)
    assert (s.m, s.k2) == (5, -1)  # 0.5 degree steps up to 127.5
    s = ipmi.choose_scaling(20000)
    assert s.m * 255 * 10**s.k2 >= 20000 and s.m * 10**s.k2 <= 100
    s = ipmi.choose_scaling(18)
    assert s.to_raw(12.0) == 120 and s.to_value(120) == pytest.approx(12.0)
    assert s.to_raw(1e9) == 255 and s.to_raw(-5) == 0


def test_full_sensor_record_layout():
    sensor = {"name": "GPU0 Temp", "reading": 40.0, "unit": "Cel", "kind": "temperature", "warning": 83, "critical": 90}
    rec = ipmi.full_sensor_record(7, 12, sensor, ipmi.Scaling(1, 0))
    record_id, version, rtype, length = struct.unpack("<HBBB", rec[:5])
    assert (record_id, version, rtype) == (7, 0x51, 0x01)
    assert length == len(rec) - 5
    assert rec[7] == 12  # sensor number
    assert rec[12] == 0x01  # temperature
    assert rec[21] == 1  # degrees C
    assert rec[37] == 90 and rec[38] == 83  # UCR, UNC
    assert rec[47] == 0xC0 | len("GPU0 Temp") and rec[48:] == b"GPU0 Temp"


def test_sel_record_encoding():
    entry = {"id": "42", "created": "2026-01-02T03:04:05+00:00", "severity": "OK", "message": "System power off"}
    entry["sensor_type"] = "System ACPI Power State"
    rec = ipmi.encode_sel_entry(entry, 0xA2)
    assert len(rec) == 16
    rid, rtype, ts = struct.unpack("<HBI", rec[:7])
    assert (rid, rtype) == (42, 0x02)
    assert ts == 1767323045
    assert rec[10] == 0x22 and rec[11] == 0xA2 and rec[12] == 0x6F and rec[13] == 0x05


def test_fleet_bmcs_respect_the_process_limit():
    f = Fleet(seed=1)
    for i in range(3):
        f.add_node(Node(f"n{i}", "cpu-1u", "r", power_delay_s=0))
    with ipmi.FleetBmcs(f, limit=2) as b:
        assert sorted(b.bmcs) == ["n0", "n1"]
        assert f.nodes["n2"].ipmi_address is None
        assert "Chassis Power is on" in ok(b.bmcs["n1"], "chassis", "power", "status")
