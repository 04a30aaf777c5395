"""gpufleet-apitest: schemathesis against the built gpufleet, as viewer, operator and admin, in the
bounded mode; and its verdict on recorded reports that hold failures."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from gpufleet_apitest import cli
from gpufleet_sim.live import gpufleet_bin

SUMMARY = re.compile(r"^gpufleet-apitest: (\d+) requests, (\d+) failures, (\d+) server errors$", re.M)


def apitest_command() -> str:
    found = shutil.which("gpufleet-apitest", path=str(Path(sys.executable).parent)) or shutil.which("gpufleet-apitest")
    assert found, "the gpufleet-apitest entry point is not installed (scripts/python-env.sh installs it)"
    return found


def test_apitest_bounded_run_has_no_failure(tmp_path: Path, capsys) -> None:
    binary = gpufleet_bin()
    proc = subprocess.run(
        [apitest_command(), "--start", "--bin", str(binary), "--report-dir", str(tmp_path), "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = proc.stdout + proc.stderr
    m = SUMMARY.search(out)
    assert m, out[-4000:]
    requests, failures, server_errors = (int(x) for x in m.groups())
    with capsys.disabled():
        print(
            f"\n[gpufleet-apitest] bounded run: {requests} requests, {failures} failures, {server_errors} server errors"
        )
    assert proc.returncode == 0, out[-8000:]
    assert (failures, server_errors) == (0, 0), out[-8000:]
    # Every role ran: each sent requests of its own, and each one's token outlived its run.
    for role in cli.ROLES:
        m = re.search(rf"^\[{role}\] (\d+) requests", out, re.M)
        assert m and int(m.group(1)) > 500, out[-8000:]
    assert "own token no longer works" not in out
    # Provisioning is off here (no Tinkerbell configured): its operations are left out, and the
    # summary says so with the server's own words.
    assert "excluded /api/v1/nodes/{id}/provision" in out and "provisioning is off" in out, out[-8000:]


def _scenario(label: str, method: str, path: str, status: int, checks: list[dict]) -> str:
    recorder = {
        "label": label,
        "cases": {"c1": {"value": {"method": method, "path": path, "path_parameters": {"id": "x"}}}},
        "checks": {"c1": checks},
        "interactions": {
            "c1": {"request": {"method": method, "uri": f"http://h{path}"}, "response": {"status_code": status}}
        },
    }
    return json.dumps({"ScenarioFinished": {"phase": "fuzzing", "recorder": recorder}})


def test_a_failure_or_a_server_error_fails_the_run(tmp_path: Path, capsys) -> None:
    ndjson = tmp_path / "events.ndjson"
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"errors": []}))
    ok = [{"name": c, "status": "success"} for c in cli.CHECKS]
    ndjson.write_text(_scenario("GET /api/v1/nodes/{id}", "GET", "/api/v1/nodes/{id}", 404, ok) + "\n")
    clean = cli.read_reports("viewer", ndjson, report)
    assert (clean.requests, clean.failed) == (1, False)
    assert cli.print_summary([clean], []) == 0

    schema_failure = [
        {
            "name": "response_schema_conformance",
            "status": "failure",
            "failure_info": {"failure": {"operation": "GET /api/v1/jobs/{id}", "title": "Response violates schema"}},
        }
    ]
    ndjson.write_text(
        _scenario("GET /api/v1/jobs/{id}", "GET", "/api/v1/jobs/{id}", 200, schema_failure)
        + "\n"
        + _scenario("POST /api/v1/assets", "POST", "/api/v1/assets", 500, ok)
        + "\n"
    )
    bad = cli.read_reports("admin", ndjson, report)
    assert bad.requests == 2
    assert bad.failures == {("response_schema_conformance", "GET /api/v1/jobs/{id}"): 1}
    assert bad.server_errors == {("POST /api/v1/assets", 500): 1}
    assert cli.print_summary([bad], []) == 1
    out = capsys.readouterr().out
    assert "response_schema_conformance: 1" in out and "server errors (5xx): 1" in out


def test_every_event_stream_of_the_served_document_is_left_out():
    # The committed copy of the served document (the SDK's drift check keeps it current).
    spec = json.loads((Path(__file__).resolve().parents[1] / "gpufleet-sdk" / "openapi.json").read_text())
    assert sorted(cli.sse_paths(spec)) == ["/api/v1/events/stream", "/api/v1/stream"]
