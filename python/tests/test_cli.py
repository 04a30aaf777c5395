"""The gpufleet-sim command line: scenario run with ground truth, fault commands, batch scripts."""

import json

import yaml
from typer.testing import CliRunner

from gpufleet_sim.cli import app
from gpufleet_sim.testing import topology_dict

runner = CliRunner()


def test_scenario_run_writes_ground_truth(tmp_path):
    topo = tmp_path / "topo.yaml"
    topo.write_text(yaml.safe_dump(topology_dict(2, racks=2)))
    sc = tmp_path / "sc.yaml"
    sc.write_text(
        yaml.safe_dump(
            {
                "name": "pdu-a",
                "duration_s": 0.5,
                "faults": [{"at": 0.1, "kind": "pdu_power_loss", "target": "rack-a-pdu"}],
            }
        )
    )
    out = tmp_path / "gt.json"
    r = runner.invoke(app, ["scenario", "run", str(sc), "--topology", str(topo), "--out", str(out)])
    assert r.exit_code == 0, r.output
    gt = json.loads(out.read_text())
    assert gt["faults"][0]["affected"]["nodes"] == ["rack-a-n-1", "rack-a-n-2"]
    assert gt["incidents"][0]["root_cause"]["asset"] == "rack-a-pdu"


def test_fault_commands_and_batch_against_a_running_simulator(sim_fleet, tmp_path):
    sf = sim_fleet(3)
    ctl = ["--control", sf.control_url()]
    r = runner.invoke(app, ["fault", "inject", "bmc", "rack-a-n-2", "-p", "mode=5xx", *ctl])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["fault", "list", "--json", *ctl])
    faults = json.loads(r.output)
    assert faults[0]["kind"] == "bmc" and faults[0]["active"]
    out = tmp_path / "inv.json"
    r = runner.invoke(app, ["batch", "inventory", "-o", str(out), *ctl])
    assert r.exit_code == 1  # one BMC answers 503
    rows = {x["id"]: x for x in json.loads(out.read_text())}
    assert not rows["rack-a-n-2"]["ok"]
    inv = rows["rack-a-n-1"]
    node = sf.node("rack-a-n-1")
    assert inv["ok"] and sorted(g["serial"] for g in inv["gpus"]) == sorted(g.serial for g in node.gpus)
    assert {n["mac"] for n in inv["nics"]} == {n.mac for n in node.nics}
    r = runner.invoke(app, ["fault", "clear", "--all", *ctl])
    assert r.exit_code == 0 and "cleared" in r.output
    r = runner.invoke(app, ["batch", "power", "off", "--match", "rack-a-n-[12]", *ctl])
    assert r.exit_code == 0, r.output
    assert [n.power_state for n in sf.nodes] == ["Off", "Off", "On"]
    r = runner.invoke(app, ["batch", "bios-set", "SysProfile=Custom", *ctl])
    assert r.exit_code == 0 and all(n.bios_pending == {"SysProfile": "Custom"} for n in sf.nodes)
    r = runner.invoke(app, ["batch", "pxe-boot", "--match", "rack-a-n-3", *ctl])
    assert r.exit_code == 0 and sf.node("rack-a-n-3").last_boot_source == "Pxe"
    r = runner.invoke(app, ["batch", "firmware", "http://x/bios-3.0.0.bin", "--target", "BIOS", *ctl])
    assert r.exit_code == 0 and "TaskMonitors" in r.output
