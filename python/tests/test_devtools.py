"""The developer tools: the documentation's Python examples run against a live gpufleet (so that
they never rot), and ``gpufleet-dev up`` brings up gpufleet with an inspected simulated fleet and
stops cleanly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gpufleet_sim.live import ADMIN_PASSWORD, REPO

#: Documents whose ```python blocks are run; every block must run as written, with the server
#: address the examples use replaced by the test server's, and ``password`` (admin),
#: ``node_id`` (a node with a simulated BMC) and ``fleet`` (a logged-in Client) defined.
DOCUMENTS = ["README.md", "python/gpufleet-sdk/README.md"]
EXAMPLE_URL = "http://127.0.0.1:8080"


def python_blocks(path: Path) -> list[tuple[int, str]]:
    text = path.read_text()
    blocks = []
    for m in re.finditer(r"^([ \t]*)```python\n(.*?)^\1```", text, re.S | re.M):
        blocks.append((text[: m.start()].count("\n") + 1, textwrap.dedent(m.group(2))))
    return blocks


@pytest.mark.parametrize("document", DOCUMENTS)
def test_documented_examples_run(document, sim_fleet, gpufleet_server, capsys):
    from gpufleet_sdk import Client

    blocks = python_blocks(REPO / document)
    assert blocks, f"no python examples in {document}"
    # A power delay: a cycle that completes at once is never seen going off by gpufleet.
    sim = sim_fleet(1, power_delay_s=0.4, register=True)
    node_id = next(iter(sim.node_ids.values()))
    for line, code in blocks:
        code = code.replace(EXAMPLE_URL, gpufleet_server.url)
        with Client(gpufleet_server.url, token=gpufleet_server.tokens["admin"]) as fleet:
            ns = {"password": ADMIN_PASSWORD, "node_id": node_id, "fleet": fleet, "__name__": "example"}
            try:
                exec(compile(code, f"{document}:{line}", "exec"), ns)  # noqa: S102 - the documented example
            except SystemExit as e:
                assert not e.code, f"{document}:{line} exited with {e.code}"
            except Exception as e:
                pytest.fail(f"the example at {document}:{line} fails: {type(e).__name__}: {e}\n{code}")


def test_dev_up_serves_an_inspected_fleet_and_stops_cleanly(tmp_path):
    dev = Path(sys.executable).parent / "gpufleet-dev"
    env = {k: v for k, v in os.environ.items()}
    proc = subprocess.Popen(
        [str(dev), "up", "--nodes", "2", "--data-dir", str(tmp_path / "dev"), "--timeout", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    out = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        text = "".join(out)
        assert "2 nodes: ready=2" in text, text
        url = re.search(r"^gpufleet\s+(http://\S+)", text, re.M).group(1)
        token = re.search(r"^token\s+(\S+)", text, re.M).group(1)
        # The inspected fleet's GPUs are in gpufleet: 2 nodes x 8 GPUs of one model.
        batch = Path(sys.executable).parent / "gpufleet-batch"
        report = tmp_path / "gpus.json"
        r = subprocess.run(
            [str(batch), "report", "gpus", "--server", url, "--token", token, "--report", str(report)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert sum(row["detail"]["count"] for row in json.loads(report.read_text())) == 16
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "==> stopped" in rest, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
