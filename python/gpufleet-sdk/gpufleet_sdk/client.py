"""The hand-written layer over the gpufleet REST API: sessions, cursor pages, conditional
configuration writes, waiting for jobs, and problem documents raised as typed exceptions.

Every method speaks plain JSON (dicts and lists) so that it keeps working when the API's types
change. The typed operations generated from the OpenAPI document are reachable through
:attr:`Client.generated` (the generated ``AuthenticatedClient``, sharing this client's connection
and token) and :meth:`Client.call`, which runs one generated operation and raises the same
exceptions.
"""

from __future__ import annotations

import asyncio
import json as json_module
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import ApiError, JobTimeout, PreconditionFailed, error_for

API_PREFIX = "/api/v1"
#: Job states after which a job no longer changes.
TERMINAL_JOB_STATES = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
#: The longest wait the server grants one job read (``wait_s``).
MAX_JOB_WAIT_S = 30
#: Requests sent again, once, when the server closed a kept-alive connection before answering.
_SAFE_TO_RESEND = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _one_connection_per_write(request: httpx.Request) -> None:
    # A refused write (401, 403) can be answered before its body is read, after which the server
    # drops the connection without saying so; a later request sent on it would fail. Writes
    # therefore ask for their connection to be closed after the answer; reads keep theirs.
    if request.method in _WRITES:
        request.headers["Connection"] = "close"


async def _one_connection_per_write_async(request: httpx.Request) -> None:
    _one_connection_per_write(request)


@dataclass(frozen=True)
class VersionedConfig:
    """An asset's configuration document with the version it is at."""

    asset_id: str
    config: dict[str, Any]
    version: int

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def _path(path: str) -> str:
    """``/api/...`` and other absolute paths as given; anything else is under ``/api/v1``."""
    return path if path.startswith("/") else f"{API_PREFIX}/{path}"


def _if_match(version: int | str) -> str:
    if isinstance(version, int):
        return f'"{version}"'
    return version if version.startswith('"') or version.startswith("W/") else f'"{version}"'


def _version_of(response: httpx.Response, body: Any) -> int:
    etag = response.headers.get("etag", "").removeprefix("W/").strip('"')
    if etag.isdigit():
        return int(etag)
    return int(body["metadata"]["version"])


def _config_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """An asset's configuration document from its JSON representation."""
    for key in ("spec", "config"):
        if key in body:
            return dict(body[key] or {})
    raise KeyError(f"no configuration document in the asset representation (members: {sorted(body)})")


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise error_for(response.status_code, response.content, response.headers)
    return response


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    return response.json()


def _page_params(params: Mapping[str, Any] | None, page_size: int | None, cursor: str | None) -> dict[str, Any]:
    out = {k: v for k, v in (params or {}).items() if v is not None}
    if page_size is not None:
        out["limit"] = page_size
    if cursor is not None:
        out["cursor"] = cursor
    return out


class _SseParser:
    """Server-Sent Events lines → ``(event, id, data)`` for each complete event."""

    def __init__(self) -> None:
        self.event, self.id, self.data = "message", None, []

    def feed(self, line: str) -> tuple[str, str | None, str] | None:
        if line == "":
            if not self.data:
                self.event = "message"
                return None
            out = (self.event, self.id, "\n".join(self.data))
            self.event, self.data = "message", []
            return out
        if line.startswith(":"):
            return None  # a comment (the server's heartbeat)
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            self.event = value
        elif field == "data":
            self.data.append(value)
        elif field == "id":
            self.id = value
        return None


def _stream_params(types: str | list[str] | None, asset: str | None, heartbeat: int) -> dict[str, Any]:
    params: dict[str, Any] = {"heartbeat": heartbeat}
    if types:
        params["type"] = types if isinstance(types, str) else ",".join(types)
    if asset:
        params["asset"] = asset
    return params


def _csv(v: str | list[str] | None) -> str | None:
    if not v:
        return None
    return v if isinstance(v, str) else ",".join(v)


def _live_params(
    asset: str | list[str] | None,
    rack: str | list[str] | None,
    kind: str | list[str] | None,
    types: str | list[str] | None,
    values: str | None,
    fields: str | list[str] | None,
    heartbeat: int,
) -> dict[str, Any]:
    named = {"asset": asset, "rack": rack, "kind": kind, "type": types, "fields": fields}
    params: dict[str, Any] = {k: _csv(v) for k, v in named.items() if _csv(v)}
    params["heartbeat"] = heartbeat
    if values:
        params["values"] = values
    return params


#: SSE event kinds the streams hand to the caller (``lagged`` and heartbeats are not).
_STREAMED = ("cloudevent", "values")

#: Connection problems after which an event stream reconnects (with ``Last-Event-ID``).
_STREAM_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout, httpx.ConnectError)


def _generated_module():
    # Imported on first use: the hand-written layer works even where the generated code is
    # being regenerated.
    from . import generated

    return generated


class _Base:
    def __init__(self, token: str | None) -> None:
        self._token = token
        self._generated: Any = None

    @property
    def token(self) -> str | None:
        """The bearer token requests carry (``None``: none)."""
        return self._token

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}


class Client(_Base):
    """A synchronous client of one gpufleet server.

    ``Client("http://127.0.0.1:8080", token=...)`` uses a token (a session or API token);
    ``Client.connect(url, username, password)`` logs in first. Use it as a context manager or
    call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        verify: bool | str = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(token)
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            verify=verify,
            headers=dict(headers or {}),
            event_hooks={"request": [_one_connection_per_write]},
        )
        if token:
            self._http.headers.update(self._auth_headers())

    @classmethod
    def connect(cls, base_url: str, username: str, password: str, **kwargs: Any) -> Client:
        """A client logged in as ``username``."""
        client = cls(base_url, **kwargs)
        try:
            client.login(username, password)
        except BaseException:
            client.close()
            raise
        return client

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -------------------------------------------------------------------------------- sessions

    def login(self, username: str, password: str) -> str:
        """Logs in; later requests carry the session token, which is returned."""
        body = self.request("POST", "auth/login", json={"username": username, "password": password}).json()
        self.set_token(body["token"])
        return body["token"]

    def logout(self) -> None:
        """Ends the session on the server; later requests carry no token."""
        self.request("POST", "auth/logout")
        self.set_token(None)

    def set_token(self, token: str | None) -> None:
        self._token = token
        self._http.headers.pop("Authorization", None)
        self._http.headers.update(self._auth_headers())
        if self._generated is not None:
            self._generated.token = token or ""

    def whoami(self) -> dict[str, Any]:
        return self.get("auth/whoami")

    # -------------------------------------------------------------------------------- requests

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One request; an error answer is raised as its :class:`~gpufleet_sdk.errors.ApiError`."""
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        for attempt in range(2):
            try:
                r = self._http.request(
                    method,
                    _path(path),
                    params={k: v for k, v in (params or {}).items() if v is not None},
                    json=json,
                    headers=dict(headers or {}),
                    content=content,
                    **kwargs,
                )
                return _check(r)
            except httpx.RemoteProtocolError:
                if attempt or method.upper() not in _SAFE_TO_RESEND:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        return _json(self.request("GET", path, params=params))

    def events(
        self,
        types: str | list[str] | None = None,
        *,
        asset: str | None = None,
        last_event_id: str | None = None,
        heartbeat: int = 15,
        reconnects: int = 5,
    ) -> Iterator[dict[str, Any]]:
        """The live event stream (``GET /api/v1/events/stream``) as an iterator of CloudEvents.

        A dropped connection is opened again (at most ``reconnects`` times in a row) with the
        last event's id as ``Last-Event-ID``, so no event that the server keeps is lost. Without
        an event or heartbeat for three heartbeats the connection counts as dropped.
        """
        params = _stream_params(types, asset, heartbeat)
        for _, ev in self._sse("events/stream", params, last_event_id, heartbeat, reconnects):
            yield ev

    def live(
        self,
        *,
        asset: str | list[str] | None = None,
        rack: str | list[str] | None = None,
        kind: str | list[str] | None = None,
        types: str | list[str] | None = None,
        values: str | None = None,
        fields: str | list[str] | None = None,
        last_event_id: str | None = None,
        heartbeat: int = 15,
        reconnects: int = 5,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """The status stream of a part of the fleet (``GET /api/v1/stream``) as an iterator of
        ``("cloudevent", event)`` and, with ``values="5s"``, ``("values", {"time", "gpus"})``.

        ``asset``, ``rack`` and ``kind`` select what the events are about; reconnects resume
        after the last event like :meth:`events` (values are not retained: the next tick comes).
        """
        params = _live_params(asset, rack, kind, types, values, fields, heartbeat)
        yield from self._sse("stream", params, last_event_id, heartbeat, reconnects)

    def _sse(
        self,
        path: str,
        params: dict[str, Any],
        last_event_id: str | None,
        heartbeat: int,
        reconnects: int,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        failures = 0
        while True:
            headers = {"accept": "text/event-stream"}
            if last_event_id:
                headers["last-event-id"] = last_event_id
            try:
                with self._http.stream(
                    "GET",
                    _path(path),
                    params=params,
                    headers=headers,
                    timeout=httpx.Timeout(self._http.timeout.connect, read=3 * heartbeat),
                ) as r:
                    if r.status_code >= 400:
                        r.read()
                        _check(r)
                    parser = _SseParser()
                    for line in r.iter_lines():
                        ev = parser.feed(line)
                        if ev is None:
                            continue
                        failures = 0
                        kind, ev_id, data = ev
                        if kind == "cloudevent":
                            last_event_id = ev_id or last_event_id
                        if kind in _STREAMED:
                            yield kind, json_module.loads(data)
                # The server ended the stream (it shut down): reconnect like a dropped one.
            except _STREAM_ERRORS:
                pass
            failures += 1
            if failures > reconnects:
                raise ApiError(503, "event stream lost", f"{failures - 1} reconnects failed in a row")
            time.sleep(min(0.2 * 2**failures, 5.0))

    def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return _json(self.request("POST", path, json=json, params=params))

    def delete(self, path: str, **params: Any) -> Any:
        return _json(self.request("DELETE", path, params=params))

    # -------------------------------------------------------------------------------- pages

    def pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None
    ) -> Iterator[list[Any]]:
        """The pages of a cursor-paginated list, one ``items`` list at a time."""
        cursor: str | None = None
        while True:
            body = self.get(path, **_page_params(params, page_size, cursor))
            yield body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None
    ) -> Iterator[Any]:
        """Every item of a cursor-paginated list (``next_cursor`` sent back as ``cursor``)."""
        for page in self.pages(path, params, page_size=page_size):
            yield from page

    # -------------------------------------------------------------------------------- configuration

    def get_config(self, asset_id: str) -> VersionedConfig:
        r = self.request("GET", f"assets/{asset_id}")
        body = r.json()
        return VersionedConfig(asset_id=body["id"], config=_config_of(body), version=_version_of(r, body))

    def put_config(
        self, asset_id: str, config: Mapping[str, Any], *, if_match: int | str | None, reason: str | None = None
    ) -> VersionedConfig:
        """Writes a new configuration version. ``if_match`` is the version (or ETag) the change
        is based on; when it is no longer current, :class:`PreconditionFailed` is raised and
        nothing changes. ``None`` writes unconditionally."""
        headers = {"If-Match": _if_match(if_match)} if if_match is not None else {}
        r = self.request(
            "PUT", f"assets/{asset_id}/config", json={"config": dict(config), "reason": reason}, headers=headers
        )
        body = r.json()
        return VersionedConfig(asset_id=body["id"], config=_config_of(body), version=_version_of(r, body))

    def update_config(
        self,
        asset_id: str,
        change: Callable[[dict[str, Any]], Mapping[str, Any]],
        *,
        reason: str | None = None,
        attempts: int = 5,
    ) -> VersionedConfig:
        """Read, change, write with ``If-Match``: ``change`` gets the current document and returns
        the new one; when someone else wrote in between, it runs again on their version (at most
        ``attempts`` times, then the last :class:`PreconditionFailed` is raised)."""
        for attempt in range(attempts):
            current = self.get_config(asset_id)
            try:
                return self.put_config(asset_id, change(dict(current.config)), if_match=current.version, reason=reason)
            except PreconditionFailed:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    # -------------------------------------------------------------------------------- jobs

    def get_job(self, job_id: str, *, wait_s: int = 0) -> dict[str, Any]:
        return self.get(f"jobs/{job_id}", wait_s=wait_s or None)

    def wait_for_job(self, job_id: str, timeout: float = 600.0) -> dict[str, Any]:
        """Waits until the job ends (succeeded, failed, cancelled, timed_out) and returns it, or
        raises :class:`JobTimeout` (carrying the job as last read) when ``timeout`` seconds pass
        first. The server holds each read until the job changes, so this does not busy-poll."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            wait_s = max(0, min(MAX_JOB_WAIT_S, int(left)))
            job = self.get_job(job_id, wait_s=wait_s)
            if job["state"] in TERMINAL_JOB_STATES:
                return job
            if time.monotonic() >= deadline:
                raise JobTimeout(job, timeout)
            if wait_s == 0:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    # -------------------------------------------------------------------------------- generated

    @property
    def generated(self) -> Any:
        """The generated ``AuthenticatedClient``, on this client's connection and token."""
        if self._generated is None:
            gen = _generated_module()
            self._generated = gen.AuthenticatedClient(base_url=self.base_url, token=self._token or "")
            self._generated.set_httpx_client(self._http)
        return self._generated

    def call(self, operation: Any, **kwargs: Any) -> Any:
        """Runs a generated operation module (``gpufleet_sdk.generated.api.<tag>.<name>``) and
        returns its parsed answer; an error answer is raised as its ApiError."""
        response = operation.sync_detailed(client=self.generated, **kwargs)
        if int(response.status_code) >= 400:
            raise error_for(int(response.status_code), response.content, response.headers)
        return response.parsed


class AsyncClient(_Base):
    """The asyncio twin of :class:`Client`: the same methods, awaited; ``paginate`` and ``pages``
    are async iterators."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        verify: bool | str = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(token)
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            verify=verify,
            headers=dict(headers or {}),
            event_hooks={"request": [_one_connection_per_write_async]},
        )
        if token:
            self._http.headers.update(self._auth_headers())

    @classmethod
    async def connect(cls, base_url: str, username: str, password: str, **kwargs: Any) -> AsyncClient:
        client = cls(base_url, **kwargs)
        try:
            await client.login(username, password)
        except BaseException:
            await client.aclose()
            raise
        return client

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def login(self, username: str, password: str) -> str:
        r = await self.request("POST", "auth/login", json={"username": username, "password": password})
        token = r.json()["token"]
        self.set_token(token)
        return token

    async def logout(self) -> None:
        await self.request("POST", "auth/logout")
        self.set_token(None)

    def set_token(self, token: str | None) -> None:
        self._token = token
        self._http.headers.pop("Authorization", None)
        self._http.headers.update(self._auth_headers())
        if self._generated is not None:
            self._generated.token = token or ""

    async def whoami(self) -> dict[str, Any]:
        return await self.get("auth/whoami")

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        for attempt in range(2):
            try:
                r = await self._http.request(
                    method,
                    _path(path),
                    params={k: v for k, v in (params or {}).items() if v is not None},
                    json=json,
                    headers=dict(headers or {}),
                    content=content,
                    **kwargs,
                )
                return _check(r)
            except httpx.RemoteProtocolError:
                if attempt or method.upper() not in _SAFE_TO_RESEND:
                    raise
        raise AssertionError("unreachable")

    async def get(self, path: str, **params: Any) -> Any:
        return _json(await self.request("GET", path, params=params))

    async def events(
        self,
        types: str | list[str] | None = None,
        *,
        asset: str | None = None,
        last_event_id: str | None = None,
        heartbeat: int = 15,
        reconnects: int = 5,
    ) -> AsyncIterator[dict[str, Any]]:
        """The asyncio twin of :meth:`Client.events`."""
        params = _stream_params(types, asset, heartbeat)
        async for _, ev in self._sse("events/stream", params, last_event_id, heartbeat, reconnects):
            yield ev

    async def live(
        self,
        *,
        asset: str | list[str] | None = None,
        rack: str | list[str] | None = None,
        kind: str | list[str] | None = None,
        types: str | list[str] | None = None,
        values: str | None = None,
        fields: str | list[str] | None = None,
        last_event_id: str | None = None,
        heartbeat: int = 15,
        reconnects: int = 5,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The asyncio twin of :meth:`Client.live`."""
        params = _live_params(asset, rack, kind, types, values, fields, heartbeat)
        async for item in self._sse("stream", params, last_event_id, heartbeat, reconnects):
            yield item

    async def _sse(
        self,
        path: str,
        params: dict[str, Any],
        last_event_id: str | None,
        heartbeat: int,
        reconnects: int,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        failures = 0
        while True:
            headers = {"accept": "text/event-stream"}
            if last_event_id:
                headers["last-event-id"] = last_event_id
            try:
                async with self._http.stream(
                    "GET",
                    _path(path),
                    params=params,
                    headers=headers,
                    timeout=httpx.Timeout(self._http.timeout.connect, read=3 * heartbeat),
                ) as r:
                    if r.status_code >= 400:
                        await r.aread()
                        _check(r)
                    parser = _SseParser()
                    async for line in r.aiter_lines():
                        ev = parser.feed(line)
                        if ev is None:
                            continue
                        failures = 0
                        kind, ev_id, data = ev
                        if kind == "cloudevent":
                            last_event_id = ev_id or last_event_id
                        if kind in _STREAMED:
                            yield kind, json_module.loads(data)
            except _STREAM_ERRORS:
                pass
            failures += 1
            if failures > reconnects:
                raise ApiError(503, "event stream lost", f"{failures - 1} reconnects failed in a row")
            await asyncio.sleep(min(0.2 * 2**failures, 5.0))

    async def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return _json(await self.request("POST", path, json=json, params=params))

    async def delete(self, path: str, **params: Any) -> Any:
        return _json(await self.request("DELETE", path, params=params))

    async def pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[list[Any]]:
        cursor: str | None = None
        while True:
            body = await self.get(path, **_page_params(params, page_size, cursor))
            yield body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return

    async def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[Any]:
        async for page in self.pages(path, params, page_size=page_size):
            for item in page:
                yield item

    async def get_config(self, asset_id: str) -> VersionedConfig:
        r = await self.request("GET", f"assets/{asset_id}")
        body = r.json()
        return VersionedConfig(asset_id=body["id"], config=_config_of(body), version=_version_of(r, body))

    async def put_config(
        self, asset_id: str, config: Mapping[str, Any], *, if_match: int | str | None, reason: str | None = None
    ) -> VersionedConfig:
        headers = {"If-Match": _if_match(if_match)} if if_match is not None else {}
        r = await self.request(
            "PUT", f"assets/{asset_id}/config", json={"config": dict(config), "reason": reason}, headers=headers
        )
        body = r.json()
        return VersionedConfig(asset_id=body["id"], config=_config_of(body), version=_version_of(r, body))

    async def update_config(
        self,
        asset_id: str,
        change: Callable[[dict[str, Any]], Mapping[str, Any]],
        *,
        reason: str | None = None,
        attempts: int = 5,
    ) -> VersionedConfig:
        for attempt in range(attempts):
            current = await self.get_config(asset_id)
            try:
                return await self.put_config(
                    asset_id, change(dict(current.config)), if_match=current.version, reason=reason
                )
            except PreconditionFailed:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    async def get_job(self, job_id: str, *, wait_s: int = 0) -> dict[str, Any]:
        return await self.get(f"jobs/{job_id}", wait_s=wait_s or None)

    async def wait_for_job(self, job_id: str, timeout: float = 600.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            wait_s = max(0, min(MAX_JOB_WAIT_S, int(left)))
            job = await self.get_job(job_id, wait_s=wait_s)
            if job["state"] in TERMINAL_JOB_STATES:
                return job
            if loop.time() >= deadline:
                raise JobTimeout(job, timeout)
            if wait_s == 0:
                await asyncio.sleep(min(0.2, max(0.0, deadline - loop.time())))

    @property
    def generated(self) -> Any:
        if self._generated is None:
            gen = _generated_module()
            self._generated = gen.AuthenticatedClient(base_url=self.base_url, token=self._token or "")
            self._generated.set_async_httpx_client(self._http)
        return self._generated

    async def call(self, operation: Any, **kwargs: Any) -> Any:
        response = await operation.asyncio_detailed(client=self.generated, **kwargs)
        if int(response.status_code) >= 400:
            raise error_for(int(response.status_code), response.content, response.headers)
        return response.parsed


__all__ = ["ApiError", "AsyncClient", "Client", "VersionedConfig", "TERMINAL_JOB_STATES"]
