"""HTTP plumbing of the simulator: one aiohttp application, many listeners.

Every node's BMC listens on its own address (``node.redfish_address`` for plain
HTTP, ``node.redfish_https_address`` for HTTPS) and its host serves
dcgm-exporter telemetry on ``node.telemetry_address``.  Every rack PDU's
controller serves its Redfish ``PowerEquipment`` tree (``pdu.py``) over plain HTTP
on ``pdu.redfish_address`` (one listener per PDU), and every CDU's its
``ThermalEquipment`` tree (``cdu.py``) on ``cdu.redfish_address``.  All listeners
share one application; the local address a request arrived on picks the node (or
PDU, or CDU).
That keeps 1,000 nodes (3,000 sockets) cheap in one process.

BMC faults are applied here, before routing: a BMC without power or behind a
dead switch drops the connection, "unresponsive" hangs it, "slow" delays the
answer, "5xx" answers 503 and "malformed" answers truncated JSON.  A PDU
without input power (``pdu.alive`` False) drops the connection the same way;
its management port is on the facility network, so a dead leaf switch does not
touch it.  A CDU's controller keeps answering when its pumps fail (``cdu_failure``):
it reports the failure.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import resource
import shutil
import socket
import tempfile
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from . import telemetry
from .cdu import CduService
from .model import Fleet, Node
from .pdu import PduService
from .redfish import RedfishError, RedfishService
from .tls import server_context

log = logging.getLogger("gpufleet_sim.server")

PUBLIC_PATHS = {"/redfish", "/redfish/", "/redfish/v1", "/redfish/v1/", "/redfish/v1/odata", "/redfish/v1/$metadata"}


def raise_nofile_limit(wanted: int) -> int:
    """Raise the soft open-file limit towards ``wanted`` (up to the hard limit); return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    except (ValueError, OSError):
        return soft
    return new


def make_service(node: Node, update_duration_s: float = 5.0) -> RedfishService:
    if node.spec.personality:
        from .capture import CaptureService, capture_available
        from .personas import persona_service

        persona = persona_service(node, node.spec.personality, update_duration_s)
        if persona is not None:
            return persona

        if capture_available(node.spec.personality):
            return CaptureService(node, node.spec.personality, update_duration_s=update_duration_s)
        log.warning("vendor capture %s not found; %s gets the generic Redfish face", node.spec.personality, node.id)
    return RedfishService(node, update_duration_s=update_duration_s)


class FleetServer:
    """Serves every node of a fleet; ``start()`` binds, ``stop()`` releases."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        https: bool = True,
        http: bool = True,
        telemetry_enabled: bool = True,
        update_duration_s: float = 5.0,
        hang_s: float = 60.0,
        tick_s: float = 0.5,
        control: tuple[str, int] | None = None,
        pdus: bool = True,
        cdus: bool = True,
    ) -> None:
        self.fleet = fleet
        self.https = https
        self.http = http
        self.pdus_enabled = pdus
        self.cdus_enabled = cdus
        self.telemetry_enabled = telemetry_enabled
        self.hang_s = hang_s
        self.tick_s = tick_s
        self.services: dict[str, RedfishService] = {
            n.id: make_service(n, update_duration_s) for n in fleet.nodes.values()
        }
        self.by_addr: dict[tuple[str, int], tuple[Node, str]] = {}
        self.pdu_services: dict[str, PduService] = {p.id: PduService(p, fleet) for p in fleet.pdus.values()}
        self.pdu_by_addr: dict[tuple[str, int], PduService] = {}
        self.cdu_services: dict[str, CduService] = {c.id: CduService(c, fleet) for c in fleet.cdus.values()}
        self.cdu_by_addr: dict[tuple[str, int], CduService] = {}
        self.runner: web.AppRunner | None = None
        self.sites: list[web.BaseSite] = []
        self.cert_path: str | None = None
        self._tls_dir: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()
        self._client: ClientSession | None = None
        self._unsub: Callable[[], None] | None = None
        self._stoppers: list[Callable[[], Awaitable[None]]] = []
        self.control_address = control
        self.control_runner: web.AppRunner | None = None
        self.requests = 0
        from .faults import FaultManager

        self.faults = FaultManager(fleet)
        self.pushed_events = 0
        self.failed_pushes = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self, *, run_starters: bool = True) -> None:
        self.loop = asyncio.get_running_loop()
        nodes = list(self.fleet.nodes.values())
        raise_nofile_limit(3 * len(nodes) + len(self.pdu_services) + len(self.cdu_services) + 1024)
        app = web.Application(client_max_size=512 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self.runner.setup()
        ssl_ctx = None
        if self.https:
            hosts = sorted({n.redfish_https_address[0] for n in nodes if n.redfish_https_address})[:1024]
            # The certificate lives in a directory of this server's own, removed by stop().
            self._tls_dir = tempfile.mkdtemp(prefix="gpufleet-sim-tls-")
            ssl_ctx, self.cert_path = server_context(self._tls_dir, hosts)
        for n in nodes:
            if self.http and n.redfish_address:
                n.redfish_address = await self._bind(n.redfish_address, n, "redfish", None)
            if self.https and n.redfish_https_address:
                n.redfish_https_address = await self._bind(n.redfish_https_address, n, "redfish", ssl_ctx)
            if self.telemetry_enabled and n.gpus and n.telemetry_address:
                n.telemetry_address = await self._bind(n.telemetry_address, n, "metrics", None)
        if self.pdus_enabled:
            for psvc in self.pdu_services.values():
                if psvc.pdu.redfish_address:
                    bound = await self._listen(psvc.pdu.redfish_address, None)
                    psvc.pdu.redfish_address = bound
                    self.pdu_by_addr[bound] = psvc
        if self.cdus_enabled:
            for csvc in self.cdu_services.values():
                if csvc.cdu.redfish_address:
                    bound = await self._listen(csvc.cdu.redfish_address, None)
                    csvc.cdu.redfish_address = bound
                    self.cdu_by_addr[bound] = csvc
        self._unsub = self.fleet.subscribe(self._on_fleet_event)
        self._spawn(self._ticker())
        if self.fleet.options.get("ingest_url"):
            self._spawn(
                self._push_telemetry(
                    str(self.fleet.options["ingest_url"]), float(self.fleet.options.get("ingest_interval_s", 10))
                )
            )
        if self.control_address is not None:
            from .control import control_app

            self.control_runner = web.AppRunner(
                control_app(self), access_log=None, handle_signals=False, shutdown_timeout=0.5
            )
            await self.control_runner.setup()
            site = web.TCPSite(
                self.control_runner, self.control_address[0], self.control_address[1], reuse_address=True
            )
            await site.start()
            self.control_address = _site_address(site)
        if run_starters:
            for starter in self.fleet.starters:
                stopper = await starter(self.fleet)
                if stopper is not None:
                    self._stoppers.append(stopper)

    async def _bind(self, addr: tuple[str, int], node: Node, role: str, ssl_ctx: Any) -> tuple[str, int]:
        bound = await self._listen(addr, ssl_ctx)
        self.by_addr[bound] = (node, role)
        return bound

    async def _listen(self, addr: tuple[str, int], ssl_ctx: Any) -> tuple[str, int]:
        assert self.runner is not None
        site = web.TCPSite(self.runner, addr[0], addr[1], ssl_context=ssl_ctx, reuse_address=True, backlog=256)
        await site.start()
        bound = _site_address(site)
        self.sites.append(site)
        return bound

    async def stop(self) -> None:
        for stopper in reversed(self._stoppers):
            try:
                await stopper()
            except Exception:
                log.exception("stopping an extra server failed")
        self._stoppers.clear()
        if self._unsub:
            self._unsub()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        if self._client is not None:
            await self._client.close()
        if self.control_runner is not None:
            await self.control_runner.cleanup()
        if self.runner is not None:
            await self.runner.cleanup()
        self.sites.clear()
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self.fleet.tick()
                self.faults.tick()
                for svc in self.services.values():
                    for t in svc.tasks.values():
                        t.advance()
            except Exception:
                log.exception("fleet tick failed")

    # ------------------------------------------------------------------ requests
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        if sock and self.pdu_by_addr:
            psvc = self.pdu_by_addr.get((sock[0], sock[1]))
            if psvc is not None:
                return self._handle_pdu(request, psvc)
        if sock and self.cdu_by_addr:
            csvc = self.cdu_by_addr.get((sock[0], sock[1]))
            if csvc is not None:
                return self._handle_equipment(
                    request, csvc, csvc.cdu.redfish_user, csvc.cdu.redfish_password, f"CDU {csvc.cdu.id}"
                )
        entry = self.by_addr.get((sock[0], sock[1])) if sock else None
        if entry is None:
            return web.json_response({"error": "no node on this address"}, status=404)
        node, role = entry
        if role == "metrics":
            if not node.host_reachable:
                return _drop(request)
            if request.path != "/metrics":
                return web.Response(status=404, text="404 page not found\n")
            return web.Response(
                text=telemetry.render([node]),
                content_type="text/plain",
                charset="utf-8",
                headers={"X-Content-Type-Options": "nosniff"},
            )
        # BMC faults
        if not node.bmc_reachable:
            if node.powered and node.bmc_fault == "unresponsive":
                await asyncio.sleep(self.hang_s)
            return _drop(request)
        if node.bmc_fault == "slow":
            await asyncio.sleep(node.bmc_slow_s)
        if node.bmc_fault == "5xx":
            err = RedfishError(
                503, "The service is temporarily unavailable.", "Base.1.18.ServiceTemporarilyUnavailable"
            )
            return _json(err.status, err.body(), {"Retry-After": "5"})
        svc = self.services[node.id]
        path = request.path
        if path == "/redfish" or path == "/redfish/":
            return _json(200, {"v1": "/redfish/v1/"})
        if path != "/redfish/v1/" and path.endswith("/"):
            path = path.rstrip("/")
        method = request.method
        if not (path in PUBLIC_PATHS or (method == "POST" and path == "/redfish/v1/SessionService/Sessions")):
            if not self._authorized(request, svc):
                err = RedfishError(401, "The request requires authentication.", "Base.1.18.NoValidSession")
                return _json(401, err.body(), {"WWW-Authenticate": 'Basic realm="gpufleet-sim"'})
        raw = b""
        body: Any = None
        ctype = request.headers.get("Content-Type", "")
        if method in ("POST", "PATCH", "PUT"):
            raw = await request.read()
            if raw and "multipart" not in ctype and path != svc.push_uri:
                try:
                    body = json.loads(raw)
                except ValueError:
                    err = RedfishError(400, "The request body is not valid JSON.", "Base.1.18.MalformedJSON")
                    return _json(400, err.body())
                if not isinstance(body, dict):
                    err = RedfishError(400, "The request body must be a JSON object.", "Base.1.18.MalformedJSON")
                    return _json(400, err.body())
        try:
            status, doc, headers = svc.dispatch(method, path, body, raw, ctype)
        except RedfishError as e:
            return _json(e.status, e.body())
        except Exception as e:  # a bug answers 500, it does not kill the listener
            log.exception("internal error on %s %s", method, path)
            err = RedfishError(500, f"Internal error: {e}", "Base.1.18.InternalError")
            return _json(500, err.body())
        if svc.outbox:
            self._spawn(self._drain(svc))
        if node.bmc_fault == "malformed" and doc is not None:
            text = json.dumps(doc)
            return web.Response(
                status=status, text=text[: max(1, len(text) * 2 // 3)], content_type="application/json", headers=headers
            )
        if isinstance(doc, str):
            ct = headers.pop("Content-Type", "application/xml")
            return web.Response(status=status, text=doc, content_type=ct.split(";")[0], headers=headers)
        if request.method == "HEAD":
            return web.Response(status=status, headers={**headers, "OData-Version": "4.0"})
        return _json(status, doc, headers)

    def _handle_pdu(self, request: web.Request, svc: PduService) -> web.StreamResponse:
        pdu = svc.pdu
        if not pdu.alive:  # the controller runs on the PDU's own input feed
            return _drop(request)
        return self._handle_equipment(request, svc, pdu.redfish_user, pdu.redfish_password, f"PDU {pdu.id}")

    def _handle_equipment(
        self, request: web.Request, svc: PduService | CduService, user: str, password: str, what: str
    ) -> web.StreamResponse:
        """A facility controller's Redfish (a PDU's or a CDU's): basic auth, GET and HEAD only."""
        path = request.path
        if path != "/redfish/v1/" and path.endswith("/"):
            path = path.rstrip("/")
        if path not in svc.PUBLIC_PATHS and not _basic_auth_ok(request, user, password):
            err = RedfishError(401, "The request requires authentication.", "Base.1.18.NoValidSession")
            realm = "gpufleet-sim-pdu" if isinstance(svc, PduService) else "gpufleet-sim-cdu"
            return _json(401, err.body(), {"WWW-Authenticate": f'Basic realm="{realm}"'})
        try:
            status, doc, headers = svc.dispatch(request.method, path)
        except RedfishError as e:
            return _json(e.status, e.body(), {"Allow": "GET, HEAD"} if e.status == 405 else None)
        except Exception as e:  # a bug answers 500, it does not kill the listener
            log.exception("internal error on %s: %s %s", what, request.method, path)
            err = RedfishError(500, f"Internal error: {e}", "Base.1.18.InternalError")
            return _json(500, err.body())
        if request.method == "HEAD":
            return web.Response(status=status, headers={**headers, "OData-Version": "4.0"})
        return _json(status, doc, headers)

    def _authorized(self, request: web.Request, svc: RedfishService) -> bool:
        token = request.headers.get("X-Auth-Token")
        if token:
            return svc.check_token(token)
        return _basic_auth_ok(request, svc.node.bmc_user, svc.node.bmc_password)

    # ------------------------------------------------------------------ events
    def _on_fleet_event(self, ev: dict) -> None:
        node_id = ev.get("node")
        svc = self.services.get(node_id) if node_id else None
        if svc is None or not svc.subscriptions:
            return
        if self.loop is None:
            return
        if _in_loop(self.loop):
            svc.queue_event(ev)
            self._spawn(self._drain(svc))
        else:
            self.loop.call_soon_threadsafe(lambda: (svc.queue_event(ev), self._spawn(self._drain(svc))))

    async def _session(self) -> ClientSession:
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=5))
        return self._client

    async def _drain(self, svc: RedfishService) -> None:
        batch, svc.outbox = svc.outbox, []
        if not batch:
            return
        client = await self._session()
        for dest, payload in batch:
            for attempt in range(3):
                try:
                    async with client.post(dest, json=payload, ssl=False) as r:
                        if r.status < 500:
                            self.pushed_events += 1
                            break
                except Exception:
                    pass
                await asyncio.sleep(0.5 * (attempt + 1))
            else:
                self.failed_pushes += 1

    async def _push_telemetry(self, url: str, interval: float) -> None:
        client = await self._session()
        while True:
            records = [telemetry.snapshot(n) for n in self.fleet.nodes.values() if n.gpus]
            try:
                async with client.post(url, json={"source": "gpufleet-sim", "records": records}) as r:
                    await r.read()
            except Exception as e:
                log.debug("telemetry push to %s failed: %s", url, e)
            await asyncio.sleep(interval)


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _site_address(site: web.BaseSite) -> tuple[str, int]:
    server = site._server  # aiohttp keeps the asyncio.Server here
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    for s in sockets:
        if s.family == socket.AF_INET:
            a = s.getsockname()
            return (a[0], a[1])
    a = sockets[0].getsockname()
    return (a[0], a[1])


def _json(status: int, doc: Any, headers: dict[str, str] | None = None) -> web.Response:
    h = {"OData-Version": "4.0", "Cache-Control": "no-cache"}
    if headers:
        h.update(headers)
    if doc is None:
        return web.Response(status=status, headers=h)
    return web.Response(
        status=status, text=json.dumps(doc), content_type="application/json", charset="utf-8", headers=h
    )


def _basic_auth_ok(request: web.Request, user: str, password: str) -> bool:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return False
    try:
        got_user, _, got_pw = base64.b64decode(auth[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return got_user == user and got_pw == password


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer, like a host that is not there."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError()


class ThreadedFleet:
    """Runs a ``FleetServer`` on its own event loop in a background thread (for sync tests and scripts)."""

    def __init__(self, fleet: Fleet, **kwargs: Any) -> None:
        self.fleet = fleet
        self.kwargs = kwargs
        self.server: FleetServer | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="gpufleet-sim", daemon=True)

    def __enter__(self) -> ThreadedFleet:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FleetServer:
        self._thread.start()
        self.server = FleetServer(self.fleet, **self.kwargs)
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout=120)
        return self.server

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop and return its result."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
