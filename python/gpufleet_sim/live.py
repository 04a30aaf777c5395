"""A real gpufleet server for tests (the ``gpufleet_server`` fixture of the pytest plugin in
:mod:`gpufleet_sim.testing`) and for local work (``gpufleet-dev``): the built binary, started on
ports it picks itself, with its own data directory (embedded SQLite) or its own fresh PostgreSQL
database.

The binary is ``GPUFLEET_BIN`` (scripts/test.sh passes the test build), else the debug build in
``$CARGO_TARGET_DIR`` (default ``~/.cache/gpufleet/target``). Without one the tests report a skip
with the reason, or fail under the test command (``GPUFLEET_TEST_COMMAND=1``).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .testing import missing

REPO = Path(__file__).resolve().parents[2]
# Passwords that occur nowhere else, so that finding one in an output is a leak.
ADMIN_PASSWORD = "admin-pw-41c7d0e9b2"
ROLE_PASSWORDS = {"viewer": "viewer-pw-8a3f61c5", "operator": "operator-pw-2d94be07"}
START_DEADLINE_S = 180.0


def gpufleet_bin() -> Path:
    explicit = os.environ.get("GPUFLEET_BIN")
    if explicit:
        path = Path(explicit)
        if not os.access(path, os.X_OK):
            missing(f"GPUFLEET_BIN={explicit} is not an executable gpufleet binary")
        return path
    target = Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache/gpufleet/target")
    path = target / "debug" / "gpufleet"
    if not os.access(path, os.X_OK):
        missing(
            f"no gpufleet binary at {path}: build it (cargo build -p fleet-server --bin gpufleet) or set GPUFLEET_BIN"
        )
    return path


@dataclass
class Gpufleet:
    """A running gpufleet: REST base URL, gRPC address, tokens per role."""

    url: str
    grpc: str
    proc: subprocess.Popen
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def login(self, username: str, password: str) -> str:
        r = httpx.post(f"{self.url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30)
        r.raise_for_status()
        return r.json()["token"]

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def start(
    workdir: Path, database_url: str | None = None, *, enricher: bool = False, listen: str = "127.0.0.1:0"
) -> Gpufleet:
    """Starts gpufleet on ``listen`` (default 127.0.0.1 port 0; gRPC on a free port), waits until
    it is ready (or fails at a deadline with its log), logs in as admin and creates a viewer and an
    operator. ``enricher``: inspect registered nodes in the background (off for tests, which move
    nodes themselves)."""
    binary = gpufleet_bin()
    workdir.mkdir(parents=True, exist_ok=True)
    # Only what this test sets: no GPUFLEET_* setting of the caller's shell reaches the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUFLEET_")}
    env["GPUFLEET_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    env["NO_PROXY"] = "127.0.0.1,localhost"
    # No background inspection: lifecycle moves are the tests' own (the enricher would move a
    # node with a BMC on by itself, at a moment of its choosing).
    env["GPUFLEET_ENRICHER__ENABLED"] = "true" if enricher else "false"
    if database_url:
        env["GPUFLEET_DATABASE_URL"] = database_url
    log = workdir / "gpufleet.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--data-dir",
                str(workdir / "data"),
                "--listen",
                listen,
                "--grpc-listen",
                "127.0.0.1:0",
            ],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Gpufleet(url="", grpc="", proc=proc, log=log)
    try:
        _wait_ready(server)
        server.tokens["admin"] = server.login("admin", ADMIN_PASSWORD)
        for role, password in ROLE_PASSWORDS.items():
            r = httpx.post(
                f"{server.url}/api/v1/users",
                json={"username": role, "password": password, "role": role},
                headers=server.headers(),
                timeout=30,
            )
            assert r.status_code == 201, r.text
            server.tokens[role] = server.login(role, password)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: Gpufleet) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"gpufleet exited with {server.proc.returncode}:\n{server.log_tail()}")
        text = server.log.read_text(errors="replace")
        if not server.url:
            m = re.search(r"listening on (http://[0-9.:]+)", text)
            server.url = m.group(1) if m else ""
        if not server.grpc:
            m = re.search(r"gRPC API at ([0-9.:]+)", text)
            server.grpc = m.group(1) if m else ""
        if server.url and server.grpc:
            try:
                if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"gpufleet not ready within {START_DEADLINE_S:.0f} s:\n{server.log_tail()}")


# ------------------------------------------------------------------------------------- PostgreSQL


def _psql() -> str:
    found = shutil.which("psql") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), reverse=True)), None)
    if not found:
        missing("psql not found: run `bash scripts/services.sh up` (it installs PostgreSQL)")
    return found


class PostgresDatabase:
    """A database of its own on the server of ``GPUFLEET_TEST_POSTGRES_URL`` (scripts/services.sh
    up), created with a fresh name and dropped by ``drop()``."""

    def __init__(self, prefix: str) -> None:
        admin_url = os.environ.get("GPUFLEET_TEST_POSTGRES_URL")
        if not admin_url:
            missing(
                "GPUFLEET_TEST_POSTGRES_URL is not set: run `bash scripts/services.sh up` and source "
                "~/.cache/gpufleet/services/env (scripts/test.sh does both)"
            )
        self.psql = _psql()
        self.admin_url = admin_url
        self.name = f"{prefix}_{uuid.uuid4().hex}"
        base, _, _ = admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"
        self._sql(f"CREATE DATABASE {self.name}")

    def _sql(self, statement: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.admin_url, "-c", statement],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def drop(self) -> None:
        # An autovacuum worker connected to it makes the drop fail even WITH (FORCE): retry.
        for _ in range(20):
            try:
                self._sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
                return
            except subprocess.CalledProcessError:
                time.sleep(0.25)
        raise RuntimeError(f"could not drop the test database {self.name}")


# ------------------------------------------------------------------------------------- a fleet in it


def register_fleet(
    url: str, token: str, nodes, *, prefix: str = "", racks: bool = False, timeout: float = 120.0
) -> dict[str, str]:
    """Registers simulated nodes in gpufleet through ``POST /api/v1/discovery`` (each BMC by its
    Redfish HTTP address and credentials, the node named ``prefix`` + the simulated node's id) and
    returns simulated node id -> gpufleet node id. ``racks``: put each node into the gpufleet rack
    named like its simulated rack. Raises when any BMC was not registered."""
    bmcs = []
    for n in nodes:
        host, port = n.redfish_address
        entry = {
            "name": prefix + n.id,
            "address": f"http://{host}:{port}",
            "username": n.bmc_user,
            "password": n.bmc_password,
        }
        if racks and n.rack:
            entry["rack"] = n.rack  # the rack must exist in gpufleet
        bmcs.append(entry)
    r = httpx.post(
        f"{url}/api/v1/discovery",
        json={"bmcs": bmcs},
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )
    r.raise_for_status()
    out: dict[str, str] = {}
    for res in r.json()["results"]:
        if res.get("error") or not res.get("node_id"):
            raise RuntimeError(f"BMC {res['address']} not registered: {res.get('error')}")
        out[res["node_name"].removeprefix(prefix)] = res["node_id"]
    return out
