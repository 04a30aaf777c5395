"""``gpufleet-dev up``: gpufleet and a simulated fleet of any size for local work, in one command.

    gpufleet-dev up --nodes 16 --racks 2          # embedded store (SQLite) in a temporary directory
    gpufleet-dev up --nodes 8 --store postgres    # scripts/services.sh up, a fresh database of its own

It starts the test services when asked (PostgreSQL, NATS), the built gpufleet (``GPUFLEET_BIN``, as
the tests find it) with background inspection on, and a simulated fleet (``--nodes`` per rack,
``--seed`` for its serials, GPUs and faults); it imports the racks, registers every BMC, waits
until the nodes are inspected (their GPUs, firmware and BIOS are in gpufleet), prints the URLs, the
admin password and a token, and serves until interrupted (Ctrl-C or SIGTERM stops everything and
drops a database it created). ``--once`` stops after printing (for scripts and tests).
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

from .live import ADMIN_PASSWORD, REPO, PostgresDatabase, register_fleet, start
from .testing import start_fleet, topology_dict


def _services_env() -> None:
    """Runs scripts/services.sh up and takes the variables it exports."""
    out = subprocess.run(["bash", str(REPO / "scripts/services.sh"), "up"], check=True, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            os.environ[key] = shlex.split(value)[0] if value else ""


def _wait_inspected(url: str, token: str, ids: set[str], timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    states: dict[str, int] = {}
    while time.monotonic() < deadline:
        r = httpx.get(f"{url}/api/v1/nodes", params={"limit": 500}, headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        states = {}
        for n in r.json()["items"]:
            if n["id"] in ids:
                s = (n.get("status") or {}).get("state") or "-"
                states[s] = states.get(s, 0) + 1
        if not {"discovered", "inspecting"} & set(states):
            return states
        time.sleep(0.5)
    return states


def up(args: argparse.Namespace) -> int:
    db = None
    if args.services or args.store == "postgres":
        print("==> starting the test services (scripts/services.sh up)", flush=True)
        _services_env()
    if args.store == "postgres":
        db = PostgresDatabase("gpufleet_dev")
    workdir = Path(args.data_dir or tempfile.mkdtemp(prefix="gpufleet-dev-"))
    print(f"==> starting gpufleet (data in {workdir})", flush=True)
    server = start(workdir, database_url=db.url if db else None, enricher=True, listen=args.listen)
    sim = None
    try:
        print(f"==> starting a simulated fleet: {args.racks} rack(s) of {args.nodes} {args.model} node(s)", flush=True)
        sim = start_fleet(
            topology_dict(args.nodes, args.model, args.racks, seed=args.seed, power_delay_s=args.power_delay)
        )
        headers = {"Authorization": f"Bearer {server.tokens['admin']}", "Content-Type": "application/yaml"}
        racks = {"racks": [{"name": r} for r in sorted(sim.fleet.racks)]}
        httpx.post(
            f"{server.url}/api/v1/import", content=yaml.safe_dump(racks), headers=headers, timeout=60
        ).raise_for_status()
        ids = register_fleet(server.url, server.tokens["admin"], sim.nodes, racks=True)
        states = _wait_inspected(server.url, server.tokens["admin"], set(ids.values()), args.timeout)
        print(f"==> {len(ids)} nodes: " + " ".join(f"{k}={v}" for k, v in sorted(states.items())), flush=True)
        print(
            f"""
gpufleet         {server.url}   (API docs {server.url}/api/v1/docs/, gRPC {server.grpc})
simulator        {sim.control_url()}/fleet
admin            password {ADMIN_PASSWORD}
token            {server.tokens["admin"]}
log              {server.log}

  export GPUFLEET_SERVER={server.url} GPUFLEET_TOKEN={server.tokens["admin"]}
  gpufleet-batch report gpus
""",
            flush=True,
        )
        if args.once:
            return 0 if set(states) <= {"ready"} else 1
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        print("Ctrl-C stops gpufleet and the simulator.", flush=True)
        while not stop.wait(1.0):
            if server.proc.poll() is not None:
                print(f"gpufleet exited:\n{server.log_tail()}", file=sys.stderr)
                return 1
        return 0
    finally:
        if sim:
            sim.runner.stop()
        server.stop()
        if db:
            db.drop()
        print("==> stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gpufleet-dev", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    u = sub.add_parser("up", help="gpufleet and a simulated fleet, until interrupted")
    u.add_argument("--nodes", type=int, default=4, help="nodes per rack (default 4)")
    u.add_argument("--racks", type=int, default=1)
    u.add_argument("--model", default="hgx-h100-8gpu")
    u.add_argument("--seed", type=int, default=0)
    u.add_argument("--power-delay", type=float, default=1.0, help="seconds a simulated power change takes")
    u.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    u.add_argument("--services", action="store_true", help="start the test services (PostgreSQL, NATS) too")
    u.add_argument("--data-dir", help="gpufleet's working directory (default: a new temporary one)")
    u.add_argument("--listen", default="127.0.0.1:0", help="where gpufleet listens (default a free port)")
    u.add_argument("--timeout", type=float, default=300.0, help="how long to wait for the inspection")
    u.add_argument("--once", action="store_true", help="stop after printing (exit 1 unless every node is ready)")
    args = p.parse_args(argv)
    return up(args)


if __name__ == "__main__":
    sys.exit(main())
