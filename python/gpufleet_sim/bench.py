"""Scale benchmark: one process simulating N nodes.

    python -m gpufleet_sim.bench --nodes 1000 [--seconds 15] [--clients 1] [--concurrency 64]

Starts N HGX H100 nodes, each BMC on its own loopback address (HTTP, HTTPS and
telemetry listeners; plus one Redfish listener per rack PDU, in the /16 after the
nodes', and one per CDU (one per two racks), in the /16 after that), reports the
server process's resident memory, then drives Redfish
GETs of ComputerSystem resources across random nodes from separate client
processes (keep-alive, basic auth) and prints requests per second.  It prints
figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import resource
import time


def rss_mib(pid: int | None = None) -> float:
    with open(f"/proc/{pid or os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def topology(nodes: int, base: str) -> dict:
    import ipaddress

    # The PDUs' Redfish controllers (one listener each) go in the /16 after the nodes' addresses.
    b = int(ipaddress.IPv4Address(base))
    pdu_base = str(ipaddress.IPv4Address(((b + nodes * 2) & 0xFFFF0000) + 0x10000 + 1))
    # The CDUs' (one per two racks) in the /16 after the PDUs'.
    cdu_base = str(ipaddress.IPv4Address(int(ipaddress.IPv4Address(pdu_base)) + 0x10000))
    per_rack = 40
    racks = []
    left = nodes
    r = 0
    while left > 0:
        n = min(per_rack, left)
        racks.append(
            {
                "id": f"rack-{r:03d}",
                "pdus": [{"id": f"pdu-{r:03d}", "outlets": per_rack + 2}],
                "switches": [{"id": f"leaf-{r:03d}", "ports": per_rack * 11 + 4}],
                "nodes": [{"count": n, "model": "hgx-h100-8gpu", "prefix": f"r{r:03d}-n"}],
            }
        )
        left -= n
        r += 1
    return {
        "seed": 1,
        "addressing": {
            "mode": "loopback",
            "base": base,
            "redfish_http_port": 8000,
            "redfish_https_port": 8443,
            "telemetry_port": 9400,
            "pdu_base": pdu_base,
            "cdu_base": cdu_base,
        },
        "defaults": {"power_delay_s": 2},
        "racks": racks,
    }


def _client(urls: list[str], seconds: float, concurrency: int, path: str, sticky: int, q: mp.Queue) -> None:
    import aiohttp

    async def main() -> None:
        headers = {"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="}  # admin:password
        conn = aiohttp.TCPConnector(limit=concurrency, limit_per_host=4)
        done = 0
        errors = 0
        lat: list[float] = []
        end = time.monotonic() + seconds
        rng = random.Random(os.getpid())
        async with aiohttp.ClientSession(connector=conn, headers=headers) as s:

            async def worker() -> None:
                nonlocal done, errors
                n = 0
                u = rng.choice(urls) + path
                while time.monotonic() < end:
                    n += 1
                    if n % sticky == 0:
                        u = rng.choice(urls) + path
                    t = time.perf_counter()
                    try:
                        async with s.get(u) as r:
                            await r.read()
                            if r.status == 200:
                                done += 1
                                lat.append(time.perf_counter() - t)
                            else:
                                errors += 1
                    except aiohttp.ClientError:
                        errors += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        lat.sort()
        q.put(
            {
                "done": done,
                "errors": errors,
                "p50": lat[len(lat) // 2] if lat else 0,
                "p99": lat[int(len(lat) * 0.99)] if lat else 0,
            }
        )

    asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--clients", type=int, default=1, help="client processes")
    ap.add_argument("--concurrency", type=int, default=64, help="requests in flight per client")
    ap.add_argument("--base", default="127.50.0.1", help="first node address")
    ap.add_argument("--path", default="/redfish/v1/Systems/1")
    ap.add_argument(
        "--sticky", type=int, default=1, help="requests to one node (on a kept-alive connection) before picking another"
    )
    args = ap.parse_args(argv)

    from .server import FleetServer
    from .topology import build

    before = rss_mib()
    t0 = time.monotonic()
    fleet = build(topology(args.nodes, args.base))
    server = FleetServer(fleet)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server.start())
    started = time.monotonic() - t0
    sockets = len(server.sites)
    idle = rss_mib()
    urls = [f"http://{n.redfish_address[0]}:{n.redfish_address[1]}" for n in fleet.nodes.values()]
    print(
        f"nodes: {len(fleet.nodes)}  GPUs: {sum(len(n.gpus) for n in fleet.nodes.values())}  listening sockets: {sockets}"
    )
    print(f"start-up: {started:.1f} s   open-file soft limit: {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}")
    print(f"server RSS: {idle:.0f} MiB after start ({before:.0f} MiB before building the fleet)")

    q: mp.Queue = mp.get_context("fork").Queue()
    procs = [
        mp.get_context("fork").Process(
            target=_client, args=(urls, args.seconds, args.concurrency, args.path, max(1, args.sticky), q)
        )
        for _ in range(args.clients)
    ]
    for p in procs:
        p.start()

    async def serve() -> None:
        while any(p.is_alive() for p in procs):
            await asyncio.sleep(0.2)

    served0 = server.requests
    t1 = time.monotonic()
    loop.run_until_complete(serve())
    wall = time.monotonic() - t1
    results = [q.get() for _ in procs]
    done = sum(r["done"] for r in results)
    errors = sum(r["errors"] for r in results)
    peak = rss_mib()
    print(
        f"Redfish GET {args.path}: {done / args.seconds:.0f} requests/s over {args.seconds:.0f} s "
        f"({args.clients} client process(es) x {args.concurrency} in flight, a random node every {args.sticky} request(s)), "
        f"errors: {errors}, p50 {max(r['p50'] for r in results) * 1000:.1f} ms, p99 {max(r['p99'] for r in results) * 1000:.1f} ms"
    )
    print(f"server handled {server.requests - served0} requests in {wall:.1f} s; server RSS under load: {peak:.0f} MiB")
    loop.run_until_complete(server.stop())
    loop.close()


if __name__ == "__main__":
    main()
