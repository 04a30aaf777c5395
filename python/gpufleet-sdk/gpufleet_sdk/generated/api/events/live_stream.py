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
    asset: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    values: str | Unset = UNSET,
    fields: str | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id



    

    params: dict[str, Any] = {}

    params["asset"] = asset

    params["rack"] = rack

    params["kind"] = kind

    params["type"] = type_

    params["values"] = values

    params["fields"] = fields

    params["heartbeat"] = heartbeat


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/stream",
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
    asset: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    values: str | Unset = UNSET,
    fields: str | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> Response[Any | Problem]:
    """ Status changes of a part of the fleet as Server-Sent Events (`event: cloudevent`, `id` =
    event id, data = the CloudEvent). `asset`, `rack` and `kind` select what the events are
    about (the scope is fixed when the stream opens); a reconnecting client's `Last-Event-ID`
    replays the retained events after it first (404 when that event is no longer kept). With
    `values`, `event: values` carries `{time, gpus: [{gpu, node, state, last_seen, fields}]}`
    for the GPUs in scope on each tick (latest values, not retained). A client too slow to keep
    up gets `event: lagged` with the number of events it missed; a comment line is sent every
    `heartbeat` seconds.

    Args:
        asset (str | Unset):
        rack (str | Unset):
        kind (str | Unset):
        type_ (str | Unset):
        values (str | Unset):
        fields (str | Unset):
        heartbeat (int | Unset):
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
     """


    kwargs = _get_kwargs(
        asset=asset,
rack=rack,
kind=kind,
type_=type_,
values=values,
fields=fields,
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
    asset: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    values: str | Unset = UNSET,
    fields: str | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> Any | Problem | None:
    """ Status changes of a part of the fleet as Server-Sent Events (`event: cloudevent`, `id` =
    event id, data = the CloudEvent). `asset`, `rack` and `kind` select what the events are
    about (the scope is fixed when the stream opens); a reconnecting client's `Last-Event-ID`
    replays the retained events after it first (404 when that event is no longer kept). With
    `values`, `event: values` carries `{time, gpus: [{gpu, node, state, last_seen, fields}]}`
    for the GPUs in scope on each tick (latest values, not retained). A client too slow to keep
    up gets `event: lagged` with the number of events it missed; a comment line is sent every
    `heartbeat` seconds.

    Args:
        asset (str | Unset):
        rack (str | Unset):
        kind (str | Unset):
        type_ (str | Unset):
        values (str | Unset):
        fields (str | Unset):
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
asset=asset,
rack=rack,
kind=kind,
type_=type_,
values=values,
fields=fields,
heartbeat=heartbeat,
last_event_id=last_event_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    asset: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    values: str | Unset = UNSET,
    fields: str | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> Response[Any | Problem]:
    """ Status changes of a part of the fleet as Server-Sent Events (`event: cloudevent`, `id` =
    event id, data = the CloudEvent). `asset`, `rack` and `kind` select what the events are
    about (the scope is fixed when the stream opens); a reconnecting client's `Last-Event-ID`
    replays the retained events after it first (404 when that event is no longer kept). With
    `values`, `event: values` carries `{time, gpus: [{gpu, node, state, last_seen, fields}]}`
    for the GPUs in scope on each tick (latest values, not retained). A client too slow to keep
    up gets `event: lagged` with the number of events it missed; a comment line is sent every
    `heartbeat` seconds.

    Args:
        asset (str | Unset):
        rack (str | Unset):
        kind (str | Unset):
        type_ (str | Unset):
        values (str | Unset):
        fields (str | Unset):
        heartbeat (int | Unset):
        last_event_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
     """


    kwargs = _get_kwargs(
        asset=asset,
rack=rack,
kind=kind,
type_=type_,
values=values,
fields=fields,
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
    asset: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    type_: str | Unset = UNSET,
    values: str | Unset = UNSET,
    fields: str | Unset = UNSET,
    heartbeat: int | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,

) -> Any | Problem | None:
    """ Status changes of a part of the fleet as Server-Sent Events (`event: cloudevent`, `id` =
    event id, data = the CloudEvent). `asset`, `rack` and `kind` select what the events are
    about (the scope is fixed when the stream opens); a reconnecting client's `Last-Event-ID`
    replays the retained events after it first (404 when that event is no longer kept). With
    `values`, `event: values` carries `{time, gpus: [{gpu, node, state, last_seen, fields}]}`
    for the GPUs in scope on each tick (latest values, not retained). A client too slow to keep
    up gets `event: lagged` with the number of events it missed; a comment line is sent every
    `heartbeat` seconds.

    Args:
        asset (str | Unset):
        rack (str | Unset):
        kind (str | Unset):
        type_ (str | Unset):
        values (str | Unset):
        fields (str | Unset):
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
asset=asset,
rack=rack,
kind=kind,
type_=type_,
values=values,
fields=fields,
heartbeat=heartbeat,
last_event_id=last_event_id,

    )).parsed
