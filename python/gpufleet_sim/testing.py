"""The pytest plugin of gpufleet-sim (entry point ``pytest11``: installing the package loads it).

Fixtures:

* ``sim_fleet`` -- a factory: ``sim_fleet(nodes=2, model="hgx-h100-8gpu", racks=1, ...)``
  starts a fleet in a background thread on free ports of 127.0.0.1 and returns a ``SimFleet``
  with the fleet, the server (its fault manager) and helpers that build URLs;
  ``sim_fleet(4, register=True)`` also registers every node's BMC in the session's
  ``gpufleet_server`` (``SimFleet.node_ids``: simulated node id -> gpufleet node id). Everything stops
  when the test ends.
* ``gpufleet_server`` -- a real gpufleet (the built binary, ``GPUFLEET_BIN``) for the whole
  session, on the embedded store, or on a fresh PostgreSQL database of its own when
  ``GPUFLEET_TEST_STORE=postgres`` (with ``GPUFLEET_TEST_POSTGRES_URL``). Its ``tokens`` hold an
  admin, an operator and a viewer session.
* ``client`` -- a ``gpufleet_sdk.Client`` on ``gpufleet_server`` with the admin's token.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from .model import Fleet, Node
from .server import FleetServer, ThreadedFleet
from .topology import build


def missing(prerequisite: str, *, allow_module_level: bool = False) -> NoReturn:
    """A test cannot run because ``prerequisite`` is missing: a skip, with the reason.

    Under the project's test command (``GPUFLEET_TEST_COMMAND=1``, set by scripts/test.sh, which
    installs every prerequisite) it is a failure instead: there it should have been installed.
    """
    if os.environ.get("GPUFLEET_TEST_COMMAND") == "1":
        pytest.fail(f"{prerequisite} (scripts/test.sh should have installed it)", pytrace=False)
    pytest.skip(prerequisite, allow_module_level=allow_module_level)


def topology_dict(
    nodes: int = 2,
    model: str = "hgx-h100-8gpu",
    racks: int = 1,
    *,
    seed: int = 0,
    power_delay_s: float = 0.0,
    power_state: str = "On",
    extra_nodes: list[dict] | None = None,
) -> dict:
    """A topology with ``nodes`` nodes per rack, every listener on a free port of 127.0.0.1."""
    rack_list = []
    for r in range(racks):
        rid = f"rack-{chr(ord('a') + r)}"
        groups: list[dict] = (
            [{"count": nodes, "model": model, "prefix": f"{rid}-n", "power_state": power_state}] if nodes else []
        )
        if r == 0 and extra_nodes:
            groups += extra_nodes
        rack_list.append(
            {
                "id": rid,
                "pdus": [{"id": f"{rid}-pdu", "outlets": max(24, nodes + 4)}],
                "switches": [{"id": f"{rid}-leaf", "ports": max(48, nodes * 12 + 4)}],
                "nodes": groups,
            }
        )
    return {
        "seed": seed,
        "addressing": {
            "mode": "port",
            "host": "127.0.0.1",
            "redfish_http_port": 0,
            "redfish_https_port": 0,
            "telemetry_port": 0,
            "ipmi_port": 0,
            "gnmi_port": 0,
        },
        "defaults": {"power_delay_s": power_delay_s},
        "racks": rack_list,
    }


@dataclass
class SimFleet:
    fleet: Fleet
    runner: ThreadedFleet
    #: simulated node id -> gpufleet node id, for a fleet registered in gpufleet (``register=True``)
    node_ids: dict[str, str] = field(default_factory=dict)

    @property
    def server(self) -> FleetServer:
        assert self.runner.server is not None
        return self.runner.server

    @property
    def nodes(self) -> list[Node]:
        return list(self.fleet.nodes.values())

    def node(self, i: int | str = 0) -> Node:
        return self.fleet.nodes[i] if isinstance(i, str) else self.nodes[i]

    def url(self, node: Node | int | str = 0, https: bool = False) -> str:
        n = node if isinstance(node, Node) else self.node(node)
        a = n.redfish_https_address if https else n.redfish_address
        assert a is not None
        return f"{'https' if https else 'http'}://{a[0]}:{a[1]}"

    def metrics_url(self, node: Node | int | str = 0) -> str:
        n = node if isinstance(node, Node) else self.node(node)
        assert n.telemetry_address is not None
        return f"http://{n.telemetry_address[0]}:{n.telemetry_address[1]}/metrics"

    def control_url(self) -> str:
        a = self.server.control_address
        assert a is not None
        return f"http://{a[0]}:{a[1]}"

    def inject(self, kind: str, target: str, **params: Any):  # noqa: ANN201
        return self.runner.call(lambda: self.server.faults.inject(kind, target, **params))

    def clear(self, fault_id: str):  # noqa: ANN201
        return self.runner.call(lambda: self.server.faults.clear(fault_id))


def start_fleet(topology: dict, **server_kwargs: Any) -> SimFleet:
    fleet = build(topology)
    server_kwargs.setdefault("update_duration_s", 0.5)
    server_kwargs.setdefault("control", ("127.0.0.1", 0))
    server_kwargs.setdefault("tick_s", 0.1)
    runner = ThreadedFleet(fleet, **server_kwargs)
    runner.start()
    return SimFleet(fleet, runner)


@pytest.fixture
def sim_fleet(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Factory: ``sim_fleet(nodes=2, model=..., racks=1, register=False, **server_kwargs)`` -> SimFleet."""
    started: list[SimFleet] = []

    def make(
        nodes: int = 2,
        model: str = "hgx-h100-8gpu",
        racks: int = 1,
        *,
        topology: dict | None = None,
        register: bool = False,
        **kwargs: Any,
    ) -> SimFleet:
        topo_keys = {"seed", "power_delay_s", "power_state", "extra_nodes"}
        tkw = {k: kwargs.pop(k) for k in list(kwargs) if k in topo_keys}
        sf = start_fleet(topology or topology_dict(nodes, model, racks, **tkw), **kwargs)
        started.append(sf)
        if register:
            from .live import register_fleet

            server = request.getfixturevalue("gpufleet_server")
            # A prefix of its own: fleets of several tests share the session's gpufleet.
            prefix = f"sim{uuid.uuid4().hex[:6]}-"
            sf.node_ids = register_fleet(server.url, server.tokens["admin"], sf.nodes, prefix=prefix)
        return sf

    yield make
    for sf in started:
        sf.runner.stop()


@pytest.fixture
def sim_node(sim_fleet: Any) -> SimFleet:
    """One HGX H100 node, power changes immediate."""
    return sim_fleet(1)


@pytest.fixture(scope="session")
def gpufleet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real gpufleet for the session: embedded store, or PostgreSQL with ``GPUFLEET_TEST_STORE=postgres``."""
    from .live import PostgresDatabase, start

    db = PostgresDatabase("gpufleet_plugin") if os.environ.get("GPUFLEET_TEST_STORE") == "postgres" else None
    try:
        server = start(Path(tmp_path_factory.mktemp("gpufleet")), database_url=db.url if db else None)
        try:
            yield server
        finally:
            server.stop()
    finally:
        if db:
            db.drop()


@pytest.fixture
def client(gpufleet_server: Any) -> Iterator[Any]:
    """A ``gpufleet_sdk.Client`` on ``gpufleet_server``, authenticated as admin."""
    try:
        from gpufleet_sdk import Client
    except ImportError:
        missing("gpufleet_sdk is not installed (pip install python/gpufleet-sdk)")
    with Client(gpufleet_server.url, token=gpufleet_server.tokens["admin"]) as c:
        yield c
