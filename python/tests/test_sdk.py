"""The Python SDK (python/gpufleet-sdk) against a real gpufleet, on the embedded store and on
PostgreSQL (a fresh database of its own on the server of GPUFLEET_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

import gpufleet_sdk
from gpufleet_sdk import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    Forbidden,
    JobTimeout,
    NotFound,
    PreconditionFailed,
    Unauthorized,
    ValidationError,
)
from gpufleet_sim.live import ADMIN_PASSWORD, REPO, ROLE_PASSWORDS, PostgresDatabase, start


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    db = PostgresDatabase("gpufleet_sdk") if request.param == "postgres" else None
    try:
        srv = start(tmp_path_factory.mktemp(f"gpufleet-sdk-{request.param}"), database_url=db.url if db else None)
        try:
            yield srv
        finally:
            srv.stop()
    finally:
        if db:
            db.drop()


@pytest.fixture
def admin(server):
    with Client.connect(server.url, "admin", ADMIN_PASSWORD) as c:
        yield c


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class SilentBmc:
    """A TCP listener that accepts connections and never answers: a job against it runs until
    its BMC timeout."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def test_login_token_use_and_typed_errors(server):
    with pytest.raises(Unauthorized) as bad:
        Client.connect(server.url, "viewer", "not-the-password-0f3e")
    assert bad.value.status == 401 and bad.value.title and isinstance(bad.value.title, str)

    with Client.connect(server.url, "viewer", ROLE_PASSWORDS["viewer"]) as viewer:
        assert viewer.token and viewer.token.startswith("gfs_")
        assert viewer.whoami()["user"]["username"] == "viewer"
        # A token given to a new client works the same.
        with Client(server.url, token=viewer.token) as again:
            assert again.whoami()["user"]["role"] == "viewer"
        name = unique("sdk-denied")
        with pytest.raises(Forbidden) as denied:
            viewer.post("assets", {"kind": "rack", "name": name})
        assert denied.value.status == 403
        assert "InventoryWrite" in (denied.value.detail or "") + denied.value.title, denied.value.problem
        with pytest.raises(NotFound) as nf:
            viewer.get("assets/node-does-not-exist")
        assert nf.value.status == 404 and "node-does-not-exist" in nf.value.detail
        assert nf.value.problem["status"] == 404
        viewer.logout()
        assert viewer.token is None
    with pytest.raises(Unauthorized):
        Client(server.url).whoami()

    with Client.connect(server.url, "admin", ADMIN_PASSWORD) as admin:
        assert list(admin.paginate("assets", {"kind": "rack", "name": name})) == []
        with pytest.raises(ValidationError) as invalid:
            admin.post("assets", {"kind": "starship", "name": unique("x")})
        assert invalid.value.status == 422 and "starship" in invalid.value.detail


def test_a_refused_write_does_not_break_the_next_request(server):
    """A write refused before its body is read (403) is followed by reads, typed and generated,
    that all get their answer: the connection it used is not handed to the next request."""
    from gpufleet_sdk.generated.api.auth import whoami

    with Client.connect(server.url, "viewer", ROLE_PASSWORDS["viewer"]) as viewer:
        for i in range(60):
            with pytest.raises(Forbidden):
                viewer.post("assets", {"kind": "rack", "name": f"refused-{i}", "config": {"pad": "x" * 2000}})
            assert viewer.call(whoami).user.username == "viewer"


def test_paginate_follows_cursors(server, admin):
    prefix = unique("sdk-page")
    made = {admin.post("assets", {"kind": "rack", "name": f"{prefix}-{i}"})["id"] for i in range(7)}
    pages = list(admin.pages("assets", {"kind": "rack", "name": prefix}, page_size=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    ids = [a["id"] for a in admin.paginate("assets", {"kind": "rack", "name": prefix}, page_size=3)]
    assert len(ids) == len(set(ids)) == 7 and set(ids) == made


def test_the_event_stream_is_an_iterator_that_resumes_after_an_event(server, admin):
    prefix = unique("sdk-ev")
    anchor = admin.post("assets", {"kind": "node", "name": f"{prefix}-0"})
    anchor_event = admin.get("events", asset=anchor["id"], type="HardwareDiscovered")["items"][0]
    later = [admin.post("assets", {"kind": "node", "name": f"{prefix}-{i}"})["id"] for i in (1, 2)]
    time.sleep(0.5)  # published by the relay
    # Resuming after the anchor gives what came after it first, then live events.
    stream = admin.events("HardwareDiscovered", last_event_id=anchor_event["id"], heartbeat=1)
    got = [next(stream) for _ in range(2)]
    assert [e["subject"] for e in got] == later
    assert all(e["type"] == "io.gpufleet.hardware.discovered.v1" for e in got)
    live = admin.post("assets", {"kind": "node", "name": f"{prefix}-3"})
    assert next(e for e in stream if e["subject"] == live["id"])
    stream.close()
    with pytest.raises(NotFound):
        next(admin.events(last_event_id="no-such-event", reconnects=0))


async def test_the_async_event_stream(server):
    async with await AsyncClient.connect(server.url, "viewer", ROLE_PASSWORDS["viewer"]) as viewer:
        with Client.connect(server.url, "operator", ROLE_PASSWORDS["operator"]) as op:
            anchor = op.post("assets", {"kind": "node", "name": unique("sdk-aev")})
            anchor_event = op.get("events", asset=anchor["id"])["items"][0]
            node = op.post("assets", {"kind": "node", "name": unique("sdk-aev")})
            await asyncio.sleep(0.5)  # published by the relay
            stream = viewer.events(["HardwareDiscovered"], last_event_id=anchor_event["id"], heartbeat=1)
            first = await asyncio.wait_for(anext(stream), timeout=30)
            await stream.aclose()
            assert first["subject"] == node["id"]


def test_conditional_config_writes(server, admin):
    node = admin.post("assets", {"kind": "node", "name": unique("sdk-cfg"), "config": {"site": "a"}})
    cfg = admin.get_config(node["id"])
    assert (cfg.config, cfg.version, cfg.etag) == ({"site": "a"}, 1, '"1"')
    v2 = admin.put_config(node["id"], {"site": "b"}, if_match=cfg.version, reason="sdk")
    assert (v2.config, v2.version) == ({"site": "b"}, 2)
    with pytest.raises(PreconditionFailed) as stale:
        admin.put_config(node["id"], {"site": "c"}, if_match=cfg.etag)
    assert stale.value.status == 412 and isinstance(stale.value, Conflict)
    assert admin.get_config(node["id"]).config == {"site": "b"}

    # Someone else writes between this client's read and write: the change runs again on theirs.
    calls = []

    def change(current):
        calls.append(dict(current))
        if len(calls) == 1:
            with Client.connect(server.url, "operator", ROLE_PASSWORDS["operator"]) as other:
                other.put_config(node["id"], {**current, "rack": "r7"}, if_match=None)
        return {**current, "owner": "team-a"}

    v4 = admin.update_config(node["id"], change, reason="sdk")
    assert calls == [{"site": "b"}, {"site": "b", "rack": "r7"}]
    assert v4.version == 4 and v4.config == {"site": "b", "rack": "r7", "owner": "team-a"}
    versions = admin.get(f"assets/{node['id']}/versions")["items"]
    assert [(v["version"], v["actor"]) for v in versions] == [(1, "admin"), (2, "admin"), (3, "operator"), (4, "admin")]


def test_illegal_transition_is_a_conflict_with_the_allowed_targets(server, admin):
    node = admin.post("assets", {"kind": "node", "name": unique("sdk-life")})
    with pytest.raises(Conflict) as c:
        admin.post(f"nodes/{node['id']}/transition", {"to": "in_service"})
    assert c.value.status == 409 and not isinstance(c.value, PreconditionFailed)
    assert c.value.allowed is not None and "inspecting" in c.value.allowed, c.value.problem


def test_wait_for_job_returns_the_end_or_times_out(server, admin):
    # A BMC nobody listens at: the job fails.
    node = admin.post("assets", {"kind": "node", "name": unique("sdk-job")})
    admin.post(
        "assets",
        {
            "kind": "bmc",
            "name": unique("bmc"),
            "parent_id": node["id"],
            "config": {"address": "127.0.0.1:9", "protocol": "redfish"},
        },
    )
    job = admin.post(f"nodes/{node['id']}/read", {"what": "power"})
    done = admin.wait_for_job(job["id"], timeout=120)
    assert done["id"] == job["id"] and done["state"] == "failed" and done["error"], done

    # A BMC that accepts and never answers: the job waits for its BMC timeout, longer than the
    # client is told to wait.
    silent = SilentBmc()
    try:
        hung = admin.post("assets", {"kind": "node", "name": unique("sdk-hung")})
        admin.post(
            "assets",
            {
                "kind": "bmc",
                "name": unique("bmc"),
                "parent_id": hung["id"],
                "config": {
                    "address": silent.address,
                    "protocol": "redfish",
                    "username": "u",
                    "password": "bmc-pw-5a0c7e13",
                },
            },
        )
        job = admin.post(f"nodes/{hung['id']}/read", {"what": "power"})
        with pytest.raises(JobTimeout) as t:
            admin.wait_for_job(job["id"], timeout=1.0)
        assert t.value.timeout == 1.0 and t.value.job["id"] == job["id"]
        assert t.value.job["state"] in ("queued", "running"), t.value.job
        assert "still" in str(t.value)
        ended = admin.wait_for_job(job["id"], timeout=120)
        assert ended["state"] == "failed" and "no answer within" in ended["error"], ended
        assert silent.conns, "the job never reached the BMC"
    finally:
        silent.close()


def test_generated_operations_share_the_session(server, admin):
    from gpufleet_sdk.generated.api.assets import get as get_asset
    from gpufleet_sdk.generated.api.auth import whoami

    me = admin.call(whoami)
    assert me.user.username == "admin"
    node = admin.post("assets", {"kind": "node", "name": unique("sdk-gen")})
    got = admin.call(get_asset, id=node["id"])
    assert got.id == node["id"] and got.name == node["name"]
    with pytest.raises(NotFound):
        admin.call(get_asset, id="node-missing-77")


async def test_async_client(server):
    async with await AsyncClient.connect(server.url, "operator", ROLE_PASSWORDS["operator"]) as op:
        assert (await op.whoami())["user"]["username"] == "operator"
        prefix = unique("sdk-async")
        made = {(await op.post("assets", {"kind": "rack", "name": f"{prefix}-{i}"}))["id"] for i in range(5)}
        seen = [a["id"] async for a in op.paginate("assets", {"kind": "rack", "name": prefix}, page_size=2)]
        assert len(seen) == 5 and set(seen) == made
        node = await op.post("assets", {"kind": "node", "name": f"{prefix}-n", "config": {"k": 1}})
        cfg = await op.update_config(node["id"], lambda c: {**c, "k": 2})
        assert (cfg.version, cfg.config) == (2, {"k": 2})
        with pytest.raises(PreconditionFailed):
            await op.put_config(node["id"], {"k": 3}, if_match=1)
        with pytest.raises(Forbidden):
            await op.post("users", {"username": unique("u"), "password": "user-pw-9d2c6b11", "role": "viewer"})
        from gpufleet_sdk.generated.api.auth import whoami

        assert (await op.call(whoami)).user.username == "operator"
        await op.post(
            "assets",
            {"kind": "bmc", "name": f"{prefix}-bmc", "parent_id": node["id"], "config": {"address": "127.0.0.1:9"}},
        )
        job = await op.post(f"nodes/{node['id']}/read", {"what": "power"})
        assert (await op.wait_for_job(job["id"], timeout=120))["state"] == "failed"


def test_the_committed_sdk_is_what_the_served_openapi_document_generates(tmp_path):
    """scripts/sdk-generate.sh --check: regenerates from the served document into a temporary
    directory and compares; drift fails with the differences."""
    from gpufleet_sim.live import gpufleet_bin

    env = dict(os.environ, GPUFLEET_BIN=str(gpufleet_bin()), SDK_PYTHON=sys.executable, TMPDIR=str(tmp_path))
    r = subprocess.run(
        ["bash", str(REPO / "scripts/sdk-generate.sh"), "--check"], env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, (r.stdout[-5000:], r.stderr[-5000:])
    assert "matches the served OpenAPI document" in r.stdout


def test_the_package_exports_its_errors():
    for name in ("ApiError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "ValidationError"):
        assert issubclass(getattr(gpufleet_sdk, name), Exception)
    assert issubclass(gpufleet_sdk.NotFound, gpufleet_sdk.ApiError)


def test_the_live_stream_of_a_rack_with_values(server, admin):
    prefix = unique("sdk-live")
    rack = admin.post("assets", {"kind": "rack", "name": f"{prefix}-r"})
    node = admin.post("assets", {"kind": "node", "name": f"{prefix}-n", "parent_id": rack["id"]})
    gpu = admin.post(
        "assets",
        {"kind": "gpu", "name": f"{prefix}-g0", "parent_id": node["id"], "config": {"uuid": f"GPU-{prefix}-0"}},
    )
    stream = admin.live(rack=rack["name"], values="1s", fields=["gpu_temp"], heartbeat=1)
    admin.request("POST", "telemetry/write", content=f"gpu,uuid=GPU-{prefix}-0 gpu_temp=44,power_usage=250".encode())
    seen = {"cloudevent": None, "values": None}
    for kind, body in stream:
        if kind == "values" and body["gpus"]:
            seen["values"] = body
        # The node's roll-up (system.status_changed) comes along; the GPU's change is the one.
        if kind == "cloudevent" and body["type"] == "io.gpufleet.gpu.status_changed.v1":
            seen["cloudevent"] = body
        if all(seen.values()):
            break
    stream.close()
    assert seen["cloudevent"]["subject"] == gpu["id"]
    assert seen["cloudevent"]["type"] == "io.gpufleet.gpu.status_changed.v1"
    assert seen["values"]["gpus"][0]["fields"] == {"gpu_temp": 44.0}
    with pytest.raises(BadRequest):
        next(admin.live(values="1s", reconnects=0))
