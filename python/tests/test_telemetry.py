"""dcgm-exporter compatible /metrics."""

import re

import httpx
import pytest

from gpufleet_sim import telemetry


def parse(text: str) -> dict[str, list[tuple[dict, float]]]:
    out: dict[str, list] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"(\w+)\{(.*)\} (\S+)", line)
        assert m, f"bad exposition line: {line}"
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        out.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return out


def test_metric_names_are_dcgm_exporter_default_counters(sim_node, reference):
    names = set(telemetry.counter_names())
    assert "DCGM_FI_DEV_GPU_TEMP" in names and "DCGM_FI_DEV_XID_ERRORS" in names
    text = httpx.get(sim_node.metrics_url(0)).text
    got = parse(text)
    defaults = {n for n, _, _ in telemetry.FIELDS}
    assert defaults <= names, f"not in default-counters.csv: {defaults - names}"
    assert defaults <= set(got)
    node = sim_node.node(0)
    temps = got["DCGM_FI_DEV_GPU_TEMP"]
    assert len(temps) == 8
    labels = temps[0][0]
    assert labels["Hostname"] == node.id and labels["UUID"] == node.gpus[0].uuid and labels["device"] == "nvidia0"
    assert all(20 < v < 100 for _, v in temps)
    assert "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter" in text


def test_xid_shows_as_last_xid_gauge(sim_node):
    node = sim_node.node(0)
    sim_node.inject("xid", node.id, gpu=5, xid=31)
    got = parse(httpx.get(sim_node.metrics_url(0)).text)
    xid = {lab["gpu"]: v for lab, v in got["DCGM_FI_DEV_XID_ERRORS"]}
    assert xid["5"] == 31 and xid["0"] == 0


def test_powered_off_host_serves_no_telemetry(sim_node):
    node = sim_node.node(0)
    assert "DCGM_FI_DEV_GPU_TEMP" in httpx.get(sim_node.metrics_url(0), timeout=5).text
    node.power_off()
    assert node.power_state == "Off"
    # a host without power has no exporter: the connection is dropped, no answer comes
    with pytest.raises(httpx.TransportError):
        httpx.get(sim_node.metrics_url(0), timeout=5)
    node.power_on()
    assert node.power_state == "On"
    assert "DCGM_FI_DEV_GPU_TEMP" in httpx.get(sim_node.metrics_url(0), timeout=5).text


def test_fleet_metrics_on_the_control_api(sim_fleet):
    sf = sim_fleet(3)
    got = parse(httpx.get(sf.control_url() + "/metrics").text)
    assert {lab["Hostname"] for lab, _ in got["DCGM_FI_DEV_POWER_USAGE"]} == {n.id for n in sf.nodes}


def test_pxe_booted_installer_serves_no_gpu_metrics(sim_node):
    node = sim_node.node(0)
    node.set_boot_override("Pxe", "Once")
    node.reset()
    assert "DCGM_FI_DEV_GPU_TEMP" not in httpx.get(sim_node.metrics_url(0)).text
    node.installed_os = "ubuntu-22.04"
    assert "DCGM_FI_DEV_GPU_TEMP" in httpx.get(sim_node.metrics_url(0)).text
