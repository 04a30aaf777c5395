from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    type_: str | Unset = UNSET,
    asset: str | Unset = UNSET,
    subject: str | Unset = UNSET,
    correlation_id: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id



    

    params: dict[str, Any] = {}

    params["type"] = type_

    params["asset"] = asset

    params["subject"] = subject

    params["correlation_id"] = correlation_id

    params["since"] = since

    params["until"] = until

    params["cursor"] = cursor

    params["limit"] = limit

    params["heartbeat"] = heartbeat


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/events/stream",
        "params": params,
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Problem | None:
    if response.status_code == 200:
        response_200 = cast(Any, None)
        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    type_: str | Unset = UNSET,
    asset: str | Unset = UNSET,
    subject: str | Unset = UNSET,
    correlation_id: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> Response[Any | Problem]:
    """ Live events as Server-Sent Events (`event: cloudevent`, `id` = event id,
    data = the CloudEvent), with the filters of `GET /api/v1/events`. With
    `cursor`, published events after it are sent first; a reconnecting client's
    `Last-Event-ID` (the id of the last event it got) does the same from that event
    (404 when that event is no longer kept). A comment line is sent
    every `heartbeat` seconds; a client too slow to keep up gets `event: lagged`
    with the number of events it missed (re-read them with the query API). The
    stream ends when the server shuts down.

    Args:
        type_ (str | Unset):
        asset (str | Unset):
        subject (str | Unset):
        correlation_id (str | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        heartbeat (int | Unset):
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
     """


    kwargs = _get_kwargs(
        type_=type_,
asset=asset,
subject=subject,
correlation_id=correlation_id,
since=since,
until=until,
cursor=cursor,
limit=limit,
heartbeat=heartbeat,
last_event_id=last_event_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    type_: str | Unset = UNSET,
    asset: str | Unset = UNSET,
    subject: str | Unset = UNSET,
    correlation_id: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> Any | Problem | None:
    """ Live events as Server-Sent Events (`event: cloudevent`, `id` = event id,
    data = the CloudEvent), with the filters of `GET /api/v1/events`. With
    `cursor`, published events after it are sent first; a reconnecting client's
    `Last-Event-ID` (the id of the last event it got) does the same from that event
    (404 when that event is no longer kept). A comment line is sent
    every `heartbeat` seconds; a client too slow to keep up gets `event: lagged`
    with the number of events it missed (re-read them with the query API). The
    stream ends when the server shuts down.

    Args:
        type_ (str | Unset):
        asset (str | Unset):
        subject (str | Unset):
        correlation_id (str | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        heartbeat (int | Unset):
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
     """


    return sync_detailed(
        client=client,
type_=type_,
asset=asset,
subject=subject,
correlation_id=correlation_id,
since=since,
until=until,
cursor=cursor,
limit=limit,
heartbeat=heartbeat,
last_event_id=last_event_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    type_: str | Unset = UNSET,
    asset: str | Unset = UNSET,
    subject: str | Unset = UNSET,
    correlation_id: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> Response[Any | Problem]:
    """ Live events as Server-Sent Events (`event: cloudevent`, `id` = event id,
    data = the CloudEvent), with the filters of `GET /api/v1/events`. With
    `cursor`, published events after it are sent first; a reconnecting client's
    `Last-Event-ID` (the id of the last event it got) does the same from that event
    (404 when that event is no longer kept). A comment line is sent
    every `heartbeat` seconds; a client too slow to keep up gets `event: lagged`
    with the number of events it missed (re-read them with the query API). The
    stream ends when the server shuts down.

    Args:
        type_ (str | Unset):
        asset (str | Unset):
        subject (str | Unset):
        correlation_id (str | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        heartbeat (int | Unset):
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
     """


    kwargs = _get_kwargs(
        type_=type_,
asset=asset,
subject=subject,
correlation_id=correlation_id,
since=since,
until=until,
cursor=cursor,
limit=limit,
heartbeat=heartbeat,
last_event_id=last_event_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    type_: str | Unset = UNSET,
    asset: str | Unset = UNSET,
    subject: str | Unset = UNSET,
    correlation_id: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> Any | Problem | None:
    """ Live events as Server-Sent Events (`event: cloudevent`, `id` = event id,
    data = the CloudEvent), with the filters of `GET /api/v1/events`. With
    `cursor`, published events after it are sent first; a reconnecting client's
    `Last-Event-ID` (the id of the last event it got) does the same from that event
    (404 when that event is no longer kept). A comment line is sent
    every `heartbeat` seconds; a client too slow to keep up gets `event: lagged`
    with the number of events it missed (re-read them with the query API). The
    stream ends when the server shuts down.

    Args:
        type_ (str | Unset):
        asset (str | Unset):
        subject (str | Unset):
        correlation_id (str | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):
        heartbeat (int | Unset):
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
     """


    return (await asyncio_detailed(
        client=client,
type_=type_,
asset=asset,
subject=subject,
correlation_id=correlation_id,
since=since,
until=until,
cursor=cursor,
limit=limit,
heartbeat=heartbeat,
last_event_id=last_event_id,

    )).parsed
