"""Service-wide Redfish conformance: every link resolves, payload annotations agree with $metadata,
and (where the DMTF schemas are available) the DMTF Redfish-Service-Validator passes."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gpufleet_sim.testing import missing

AUTH = ("admin", "password")
TYPE_RE = re.compile(r"^#([A-Za-z]+)(?:\.v(\d+)_(\d+)_(\d+))?\.([A-Za-z]+)$")


def crawl(c: httpx.Client) -> dict[str, dict]:
    seen: dict[str, dict] = {}
    todo = ["/redfish/v1/"]
    while todo:
        path = todo.pop()
        key = path.rstrip("/") or "/"
        if key in seen or "#" in path:
            continue
        r = c.get(path)
        assert r.status_code == 200, f"GET {path} -> {r.status_code}"
        assert r.headers["OData-Version"] == "4.0"
        doc = r.json()
        seen[key] = doc

        def links(x, doc=doc):
            if isinstance(x, dict):
                for k, v in x.items():
                    if k == "@odata.id" and isinstance(v, str) and x is not doc:
                        yield v
                    else:
                        yield from links(v, doc)
            elif isinstance(x, list):
                for v in x:
                    yield from links(v, doc)

        todo.extend(u for u in links(doc) if u.startswith("/redfish/v1"))
    return seen


def test_every_link_resolves_and_payloads_are_annotated(sim_node):
    c = httpx.Client(base_url=sim_node.url(0), auth=AUTH)
    docs = crawl(c)
    assert len(docs) > 60
    metadata = c.get("/redfish/v1/$metadata").text
    namespaces = set(re.findall(r'Namespace="([^"]+)"', metadata))
    for path, doc in docs.items():
        assert doc["@odata.id"].rstrip("/") == path, path
        m = TYPE_RE.match(doc["@odata.type"])
        assert m, f"{path}: bad @odata.type {doc['@odata.type']}"
        ns = m.group(1)
        assert ns in namespaces, f"{path}: {ns} not referenced by $metadata"
        if m.group(2):
            assert f"{ns}.v{m.group(2)}_{m.group(3)}_{m.group(4)}" in namespaces, path
        if "Collection" in m.group(5):
            assert doc["Members@odata.count"] == len(doc["Members"]), path
        else:
            assert "Id" in doc and "Name" in doc, path
        for action in doc.get("Actions", {}).values():
            if isinstance(action, dict) and "target" in action:
                assert action["target"].startswith(path), f"{path}: action target {action['target']}"


def test_dmtf_service_validator(sim_node, tmp_path):
    """Runs DMTF's Redfish-Service-Validator when its schema pack (DSP8010) is available offline."""
    schemas = os.environ.get("GPUFLEET_REDFISH_SCHEMA_DIR")
    tool = shutil.which("rf_service_validator") or str(Path(sys.executable).parent / "rf_service_validator")
    if not Path(tool).exists():
        missing("redfish_service_validator is not installed (scripts/python-env.sh installs it)")
    if not schemas or not Path(schemas).is_dir():
        pytest.skip(
            "DMTF CSDL schemas (DSP8010) not available offline: the validator downloads them from dmtf.org; "
            "set GPUFLEET_REDFISH_SCHEMA_DIR to an unpacked DSP8010 csdl/ directory to run it"
        )
    p = subprocess.run(
        [
            tool,
            "-r",
            sim_node.url(0),
            "-u",
            "admin",
            "-p",
            "password",
            "--schema_directory",
            schemas,
            "--logdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
