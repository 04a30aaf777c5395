from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.redrive_result import RedriveResult
from typing import cast



def _get_kwargs(
    seq: int,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/events/dead-letters/{seq}/redrive".format(seq=quote(str(seq), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RedriveResult | None:
    if response.status_code == 200:
        response_200 = RedriveResult.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RedriveResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    seq: int,
    *,
    client: AuthenticatedClient | Client,

) -> Response[Problem | RedriveResult]:
    """ Publish a dead letter again on its original subject and remove it from the dead-letter stream
    (admins). Consumers that handled the event before drop it by id.

    Args:
        seq (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RedriveResult]
     """


    kwargs = _get_kwargs(
        seq=seq,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    seq: int,
    *,
    client: AuthenticatedClient | Client,

) -> Problem | RedriveResult | None:
    """ Publish a dead letter again on its original subject and remove it from the dead-letter stream
    (admins). Consumers that handled the event before drop it by id.

    Args:
        seq (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RedriveResult
     """


    return sync_detailed(
        seq=seq,
client=client,

    ).parsed

async def asyncio_detailed(
    seq: int,
    *,
    client: AuthenticatedClient | Client,

) -> Response[Problem | RedriveResult]:
    """ Publish a dead letter again on its original subject and remove it from the dead-letter stream
    (admins). Consumers that handled the event before drop it by id.

    Args:
        seq (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RedriveResult]
     """


    kwargs = _get_kwargs(
        seq=seq,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    seq: int,
    *,
    client: AuthenticatedClient | Client,

) -> Problem | RedriveResult | None:
    """ Publish a dead letter again on its original subject and remove it from the dead-letter stream
    (admins). Consumers that handled the event before drop it by id.

    Args:
        seq (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RedriveResult
     """


    return (await asyncio_detailed(
        seq=seq,
client=client,

    )).parsed
