"""Service-wide Redfish conformance: every link resolves, payload annotations agree with $metadata,
and the DMTF Redfish-Service-Validator passes against the DSP8010 schemas (scripts/redfish-schemas.sh
provides them; without them that test is skipped and says what it needs)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

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


def _schema_dir() -> Path | None:
    """DSP8010 CSDL files: GPUFLEET_REDFISH_SCHEMA_DIR (scripts/test-python.sh sets it from
    scripts/redfish-schemas.sh), else the nv-redfish-schema crate in Cargo's registry cache,
    where that script puts it."""
    env = os.environ.get("GPUFLEET_REDFISH_SCHEMA_DIR")
    if env:
        return Path(env)
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(cargo_home.glob("registry/src/*/nv-redfish-schema-*/redfish-csdl/csdl"))
    return found[-1] if found else None


def test_dmtf_service_validator(sim_node, tmp_path):
    """DMTF's Redfish-Service-Validator against the simulator, offline, with the DSP8010 schemas."""
    tool = shutil.which("rf_service_validator") or str(Path(sys.executable).parent / "rf_service_validator")
    if not Path(tool).exists():
        missing("rf_service_validator is not installed: scripts/python-env.sh installs it (python[dev])")
    schemas = _schema_dir()
    if schemas is None or not (schemas / "ServiceRoot_v1.xml").is_file():
        missing(
            "the DMTF DSP8010 CSDL schemas are not available offline (the validator would download them "
            "from dmtf.org): run scripts/redfish-schemas.sh, or set GPUFLEET_REDFISH_SCHEMA_DIR to a directory "
            f"of DSP8010 csdl/*.xml files (looked at {schemas})"
        )
    # the validator may write into its schema directory: give it a copy
    local = tmp_path / "schemas"
    shutil.copytree(schemas, local)
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
            str(local),
            "--skipschema",
            "--logdir",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-6000:]
    # it did validate: every resource of the service, none failing
    m = re.search(r"\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", out)
    assert m, out[-4000:]
    passed, _warned, failed, _untested = map(int, m.groups())
    assert failed == 0 and passed > 1000, out[-4000:]
    assert "Validating /redfish/v1/Systems/1" in out, out[-4000:]
