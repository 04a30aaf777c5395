import os
from pathlib import Path

import pytest

pytest_plugins = ["gpufleet_sim.testing"]

from gpufleet_sim.telemetry import reference_dir  # noqa: E402


@pytest.fixture(scope="session")
def reference() -> Path:
    d = reference_dir()
    if not d.exists():
        pytest.fail(
            f"reference data not found at {d}; set GPUFLEET_REFERENCE_DIR (needs gpu/ and redfish/ from shared/reference)"
        )
    return d


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def gpufleet(tmp_path_factory: pytest.TempPathFactory):
    """A real gpufleet on the embedded store (SQLite), shared by the client tests of the session."""
    from gpufleet_server import start

    server = start(tmp_path_factory.mktemp("gpufleet"))
    try:
        yield server
    finally:
        server.stop()
