from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.change_page import ChangePage
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    asset: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["asset"] = asset

    params["actor"] = actor

    params["kind"] = kind

    params["since"] = since

    params["until"] = until

    params["cursor"] = cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/changes",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ChangePage | Problem | None:
    if response.status_code == 200:
        response_200 = ChangePage.from_dict(response.json())



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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ChangePage | Problem]:
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
    actor: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[ChangePage | Problem]:
    """ Change history, per asset or fleet-wide, filtered by asset, actor, kind and time. Logins,
    users, tokens and secrets are not part of it (see `/api/v1/audit`).

    Args:
        asset (str | Unset):
        actor (str | Unset):
        kind (str | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ChangePage | Problem]
     """


    kwargs = _get_kwargs(
        asset=asset,
actor=actor,
kind=kind,
since=since,
until=until,
cursor=cursor,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    asset: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> ChangePage | Problem | None:
    """ Change history, per asset or fleet-wide, filtered by asset, actor, kind and time. Logins,
    users, tokens and secrets are not part of it (see `/api/v1/audit`).

    Args:
        asset (str | Unset):
        actor (str | Unset):
        kind (str | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ChangePage | Problem
     """


    return sync_detailed(
        client=client,
asset=asset,
actor=actor,
kind=kind,
since=since,
until=until,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    asset: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[ChangePage | Problem]:
    """ Change history, per asset or fleet-wide, filtered by asset, actor, kind and time. Logins,
    users, tokens and secrets are not part of it (see `/api/v1/audit`).

    Args:
        asset (str | Unset):
        actor (str | Unset):
        kind (str | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ChangePage | Problem]
     """


    kwargs = _get_kwargs(
        asset=asset,
actor=actor,
kind=kind,
since=since,
until=until,
cursor=cursor,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    asset: str | Unset = UNSET,
    actor: str | Unset = UNSET,
    kind: str | Unset = UNSET,
    since: str | Unset = UNSET,
    until: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> ChangePage | Problem | None:
    """ Change history, per asset or fleet-wide, filtered by asset, actor, kind and time. Logins,
    users, tokens and secrets are not part of it (see `/api/v1/audit`).

    Args:
        asset (str | Unset):
        actor (str | Unset):
        kind (str | Unset):
        since (str | Unset):
        until (str | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ChangePage | Problem
     """


    return (await asyncio_detailed(
        client=client,
asset=asset,
actor=actor,
kind=kind,
since=since,
until=until,
cursor=cursor,
limit=limit,

    )).parsed
