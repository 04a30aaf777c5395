"""gpufleet-batch (gpufleet_sdk.batch) as its users run it: the installed console script against a
real gpufleet (the plugin's ``gpufleet_server``) with a simulated fleet registered in it, every job
run against the simulated BMCs.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from datetime import datetime
from pathlib import Path

import pytest


def batch_bin() -> str:
    found = Path(sys.executable).parent / "gpufleet-batch"
    if found.exists():
        return str(found)
    return shutil.which("gpufleet-batch") or pytest.fail(
        "gpufleet-batch is not installed (pip install python/gpufleet-sdk)"
    )


def run_batch(server, *args: str, role: str = "admin", timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "GPUFLEET_SERVER": server.url, "GPUFLEET_TOKEN": server.tokens[role], "COLUMNS": "250"}
    return subprocess.run([batch_bin(), *args], capture_output=True, text=True, timeout=timeout, env=env)


class SilentBmc:
    """A TCP listener that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def jobs_of(client, node_id: str) -> list[dict]:
    return client.get("jobs", target=node_id, limit=100)


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def max_overlap(jobs: list[dict]) -> int:
    """The most jobs that were in flight at once (created_at .. finished_at on the server)."""
    edges = sorted([(_ts(j["created_at"]), 1) for j in jobs] + [(_ts(j["finished_at"]), -1) for j in jobs])
    now = best = 0
    for _, d in edges:
        now += d
        best = max(best, now)
    return best


def test_power_cycle_bounded_with_report_of_every_node(sim_fleet, client, gpufleet_server, tmp_path):
    """Five simulated nodes and one whose BMC never answers: at most two jobs at once, a progress
    bar and a summary, every node in the report, the silent one failed with its reason, exit 1."""
    sim = sim_fleet(5, power_delay_s=0.4, register=True)
    silent = SilentBmc()
    try:
        dead = client.post("assets", {"kind": "node", "name": f"silent-{uuid.uuid4().hex[:6]}"})
        client.post(
            "assets",
            {
                "kind": "bmc",
                "name": f"bmc-{uuid.uuid4().hex[:6]}",
                "parent_id": dead["id"],
                "config": {"address": silent.address, "protocol": "redfish", "username": "u", "password": "p-3c1e"},
            },
        )
        ids = list(sim.node_ids.values())
        report = tmp_path / "power.csv"
        nodes = [a for i in [*ids, dead["id"]] for a in ("--node", i)]
        r = run_batch(
            gpufleet_server, "power", "cycle", *nodes, "--concurrency", "2", "--timeout", "4", "--report", str(report)
        )
    finally:
        silent.close()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "power cycle" in r.stdout and "6/6" in r.stdout, r.stdout  # the progress bar, finished
    assert "5 succeeded" in r.stdout and "1 failed" in r.stdout, r.stdout  # the summary

    rows = {row["node_id"]: row for row in csv.DictReader(report.open())}
    assert set(rows) == {*ids, dead["id"]}
    assert all(rows[i]["status"] == "succeeded" and rows[i]["job_id"] for i in ids), rows
    assert rows[dead["id"]]["status"] == "failed" and rows[dead["id"]]["reason"], rows[dead["id"]]

    jobs = [j for i in ids for j in jobs_of(client, i)]
    assert len(jobs) == 5 and all(j["kind"] == "power.cycle" and j["state"] == "succeeded" for j in jobs), jobs
    assert 1 <= max_overlap(jobs) <= 2, jobs
    assert all(n.power_state == "On" for n in sim.nodes)


def test_dry_run_changes_nothing(sim_fleet, client, gpufleet_server, tmp_path):
    sim = sim_fleet(2, register=True)
    ids = list(sim.node_ids.values())
    nodes = [a for i in ids for a in ("--node", i)]
    for args in (
        ["power", "off"],
        ["pxe", "--reset"],
        ["bios", "--set", "SriovGlobalEnable=Disabled", "--apply"],
        ["firmware", "--url", "http://127.0.0.1:1/gpu-fw.bin"],
    ):
        report = tmp_path / "dry.json"
        r = run_batch(gpufleet_server, *args, *nodes, "--dry-run", "--report", str(report))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "(dry run)" in r.stdout and "2 planned" in r.stdout, r.stdout
        rows = json.loads(report.read_text())
        assert [row["status"] for row in rows] == ["planned", "planned"] and all(
            "POST nodes/" in x["reason"] for x in rows
        )
    assert all(jobs_of(client, i) == [] for i in ids)
    assert all(n.power_state == "On" and n.bios_attributes["SriovGlobalEnable"] == "Enabled" for n in sim.nodes)


def test_pxe_bios_and_firmware_through_jobs(sim_fleet, client, gpufleet_server, tmp_path):
    sim = sim_fleet(2, register=True)
    nodes = [a for i in sim.node_ids.values() for a in ("--node", i)]
    r = run_batch(gpufleet_server, "pxe", *nodes, "--persistent")
    assert r.returncode == 0 and "2 succeeded" in r.stdout, r.stdout + r.stderr
    assert all(n.boot_override_target == "Pxe" for n in sim.nodes), [n.boot_override_target for n in sim.nodes]

    r = run_batch(gpufleet_server, "bios", *nodes, "--set", "SriovGlobalEnable=Disabled")
    assert r.returncode == 0 and "2 succeeded" in r.stdout, r.stdout + r.stderr
    assert all(n.bios_pending.get("SriovGlobalEnable") == "Disabled" for n in sim.nodes)

    # An attribute the BMC does not know: every node fails, with the BMC's reason.
    report = tmp_path / "bios.json"
    r = run_batch(gpufleet_server, "bios", *nodes, "--set", "NoSuchAttribute=1", "--report", str(report))
    assert r.returncode == 1, r.stdout + r.stderr
    rows = json.loads(report.read_text())
    assert len(rows) == 2 and all(x["status"] == "failed" and "NoSuchAttribute" in x["reason"] for x in rows), rows

    r = run_batch(gpufleet_server, "firmware", *nodes, "--url", "http://127.0.0.1:1/bmc-fw.bin")
    assert "firmware update" in r.stdout and "2/2" in r.stdout, r.stdout + r.stderr


def test_usage_errors_exit_2(gpufleet_server):
    r = run_batch(gpufleet_server, "power", "cycle")
    assert r.returncode == 2 and "select nodes" in r.stdout, r.stdout + r.stderr
    r = run_batch(gpufleet_server, "bios", "--all", "--set", "novalue")
    assert r.returncode == 2 and "KEY=VALUE" in r.stdout, r.stdout + r.stderr
    r = run_batch(gpufleet_server, "power", "on", "--node", "no-such-node-7f3a")
    assert r.returncode == 2 and "HTTP 404" in r.stdout, r.stdout + r.stderr


def test_import_dry_run_then_real_then_rejected(client, gpufleet_server, tmp_path):
    name = f"imp-{uuid.uuid4().hex[:6]}"
    inv = tmp_path / "inventory.yaml"
    inv.write_text(f"racks:\n  - name: {name}\n  - name: {name}-2\n")
    r = run_batch(gpufleet_server, "import", str(inv), "--dry-run")
    assert r.returncode == 0 and "would create 2 rack" in r.stdout, r.stdout + r.stderr
    assert list(client.paginate("assets", {"kind": "rack", "name": name})) == []

    report = tmp_path / "import.json"
    r = run_batch(gpufleet_server, "import", str(inv), "--report", str(report))
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(report.read_text())[0]["detail"]["created"] == {"rack": 2}
    assert {a["name"] for a in client.paginate("assets", {"kind": "rack"})} >= {name, f"{name}-2"}

    bad = tmp_path / "bad.yaml"
    bad.write_text("racks:\n  - nmae: x\n")
    r = run_batch(gpufleet_server, "import", str(bad), "--report", str(report))
    assert r.returncode == 1
    row = json.loads(report.read_text())[0]
    assert row["status"] == "failed" and "line 2" in row["reason"] and "nmae" in row["reason"], row


def test_reports(client, gpufleet_server, tmp_path):
    node = client.post("assets", {"kind": "node", "name": f"rep-{uuid.uuid4().hex[:6]}"})
    model = f"Test-GPU-{uuid.uuid4().hex[:4]}"
    for i, vbios in enumerate(["96.00.01", "96.00.01", "96.00.02"]):
        client.post(
            "assets",
            {
                "kind": "gpu",
                "name": f"{node['name']}-gpu{i}",
                "parent_id": node["id"],
                "config": {"model": model, "vbios": vbios},
            },
        )
    report = tmp_path / "gpus.json"
    r = run_batch(gpufleet_server, "report", "gpus", "--report", str(report))
    assert r.returncode == 0, r.stdout + r.stderr
    mine = {x["detail"]["vbios"]: x["detail"]["count"] for x in json.loads(report.read_text()) if x["name"] == model}
    assert mine == {"96.00.01": 2, "96.00.02": 1}

    # A GPU reporting XID 79 through the telemetry write route: failed, with the XID in words.
    serial = f"XSER{uuid.uuid4().hex[:8]}"
    gpu = client.post(
        "assets",
        {
            "kind": "gpu",
            "name": f"{node['name']}-xid",
            "parent_id": node["id"],
            "config": {"serial": serial, "model": model},
        },
    )
    client.request(
        "POST",
        "telemetry/write",
        params={"format": "prometheus"},
        content=f'DCGM_FI_DEV_XID_ERRORS{{serial="{serial}"}} 79\nDCGM_FI_DEV_GPU_TEMP{{serial="{serial}"}} 40\n',
        headers={"Content-Type": "text/plain"},
    )
    report = tmp_path / "failed.json"
    r = run_batch(gpufleet_server, "report", "failed-gpus", "--report", str(report))
    assert r.returncode == 1 and "report failed-gpus" in r.stdout, r.stdout + r.stderr
    row = next(x for x in json.loads(report.read_text()) if x["name"] == gpu["name"])
    assert row["status"] == "failed" and "XID 79" in row["reason"] and "fallen off the bus" in row["reason"], row
    assert row["node_id"] == node["id"] and row["detail"]["serial"] == serial and row["detail"]["history"], row

    # Drift: the node is assigned a profile that expects 8 GPUs and a BMC firmware version.
    profile = f"prof-{uuid.uuid4().hex[:6]}"
    client.post("profiles", {"name": profile, "spec": {"gpu_count": 8, "gpu_model": model, "firmware": {"BMC": "9.9"}}})
    client.request("PUT", f"nodes/{node['id']}/profile", json={"profile": profile})
    report = tmp_path / "drift.json"
    r = run_batch(gpufleet_server, "report", "drift", "--report", str(report))
    assert r.returncode == 1, r.stdout + r.stderr
    row = next(x for x in json.loads(report.read_text()) if x["node_id"] == node["id"])
    assert row["status"] == "failed" and row["detail"]["profile"] == profile, row
    assert "gpu_count: expected 8, got 4" in row["reason"] and "firmware/BMC: expected 9.9" in row["reason"], row
    assert "gpu_model" not in row["reason"], row

    for kind in ("stuck",):
        r = run_batch(gpufleet_server, "report", kind, "--report", str(tmp_path / f"{kind}.csv"))
        assert r.returncode in (0, 1) and f"report {kind}" in r.stdout, r.stdout + r.stderr
        assert (tmp_path / f"{kind}.csv").read_text().startswith("name,action,status,reason")
