"""DMTF redfishtool (an independent client) reads the simulated BMC."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpufleet_sim.testing import missing

TOOL = shutil.which("redfishtool") or str(Path(sys.executable).parent / "redfishtool")


@pytest.fixture
def rft(sim_node):
    if not Path(TOOL).exists():
        missing("redfishtool is not installed (scripts/python-env.sh installs it)")
    addr = sim_node.node(0).redfish_https_address

    def run(*args, auth="Basic"):
        cmd = [TOOL, "-r", f"{addr[0]}:{addr[1]}", "-u", "admin", "-p", "password", "-S", "Always", "-A", auth, *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"{' '.join(cmd)} failed: {p.stdout}\n{p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip().startswith("{") else p.stdout

    return sim_node, run


def test_redfishtool_reads_service_root_and_system(rft):
    sf, run = rft
    root = run("root")
    assert root["RedfishVersion"] == "1.17.0"
    system = run("-F", "Systems", "get")
    assert system["SerialNumber"] == sf.node(0).serial
    assert system["PowerState"] == "On"


def test_redfishtool_reads_processors_and_chassis_with_a_session(rft):
    sf, run = rft
    procs = run("-F", "Systems", "Processors", auth="Session")
    assert len(procs["Members"]) == 2 + 8
    power = run("-F", "Chassis", "Power")
    assert power["PowerControl"][0]["PowerConsumedWatts"] > 0
    thermal = run("-F", "Chassis", "Thermal")
    assert any(t["Name"] == "GPU0 Temp" for t in thermal["Temperatures"])
    mgr = run("-F", "Managers", "get")
    assert mgr["ManagerType"] == "BMC"


def test_redfishtool_reset_and_logs(rft):
    sf, run = rft
    run("-F", "Systems", "reset", "ForceOff")
    assert sf.node(0).power_state == "Off"
    logs = run("-F", "-E", "-i", "SEL", "Systems", "Logs")
    assert "System power off" in json.dumps(logs)
