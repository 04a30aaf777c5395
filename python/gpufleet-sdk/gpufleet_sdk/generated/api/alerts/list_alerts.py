from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.alert_list import AlertList
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    unresolved: bool | None | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_unresolved: bool | None | Unset
    if isinstance(unresolved, Unset):
        json_unresolved = UNSET
    else:
        json_unresolved = unresolved
    params["unresolved"] = json_unresolved

    json_limit: int | None | Unset
    if isinstance(limit, Unset):
        json_limit = UNSET
    else:
        json_limit = limit
    params["limit"] = json_limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/alerts",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AlertList | Problem | None:
    if response.status_code == 200:
        response_200 = AlertList.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AlertList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    unresolved: bool | None | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> Response[AlertList | Problem]:
    """ The alerts held, with how many are firing and how many matched no asset.

    Args:
        unresolved (bool | None | Unset):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AlertList | Problem]
     """


    kwargs = _get_kwargs(
        unresolved=unresolved,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    unresolved: bool | None | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> AlertList | Problem | None:
    """ The alerts held, with how many are firing and how many matched no asset.

    Args:
        unresolved (bool | None | Unset):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AlertList | Problem
     """


    return sync_detailed(
        client=client,
unresolved=unresolved,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    unresolved: bool | None | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> Response[AlertList | Problem]:
    """ The alerts held, with how many are firing and how many matched no asset.

    Args:
        unresolved (bool | None | Unset):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AlertList | Problem]
     """


    kwargs = _get_kwargs(
        unresolved=unresolved,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    unresolved: bool | None | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> AlertList | Problem | None:
    """ The alerts held, with how many are firing and how many matched no asset.

    Args:
        unresolved (bool | None | Unset):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AlertList | Problem
     """


    return (await asyncio_detailed(
        client=client,
unresolved=unresolved,
limit=limit,

    )).parsed
