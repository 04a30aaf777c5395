import os
from pathlib import Path

import pytest

from gpufleet_sim.telemetry import reference_dir

# The fixtures sim_fleet, gpufleet_server and client come from the plugin gpufleet_sim.testing,
# which the installed package registers (entry point pytest11).


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
def gpufleet(gpufleet_server):
    """The session's real gpufleet, shared by the client tests."""
    return gpufleet_server
