from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.incident import Incident
from ...models.problem import Problem
from ...models.split_request import SplitRequest
from typing import cast



def _get_kwargs(
    id: str,
    *,
    body: SplitRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/incidents/{id}/split".format(id=quote(str(id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Incident | Problem | None:
    if response.status_code == 201:
        response_201 = Incident.from_dict(response.json())



        return response_201

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

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())



        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Incident | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SplitRequest,

) -> Response[Incident | Problem]:
    """ Split alerts off this incident into a new one (`split:<fingerprint of the earliest>`),
    whose root cause is `root_asset` when given (belief `manual`, confidence 1), else the
    earliest alert's own asset. The alerts stay there whatever the rules conclude later, until
    they are forgotten. Audited (`incident.split`); kept across restarts.

    Args:
        id (str):
        body (SplitRequest): What to split off the incident of the path.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Incident | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SplitRequest,

) -> Incident | Problem | None:
    """ Split alerts off this incident into a new one (`split:<fingerprint of the earliest>`),
    whose root cause is `root_asset` when given (belief `manual`, confidence 1), else the
    earliest alert's own asset. The alerts stay there whatever the rules conclude later, until
    they are forgotten. Audited (`incident.split`); kept across restarts.

    Args:
        id (str):
        body (SplitRequest): What to split off the incident of the path.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Incident | Problem
     """


    return sync_detailed(
        id=id,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SplitRequest,

) -> Response[Incident | Problem]:
    """ Split alerts off this incident into a new one (`split:<fingerprint of the earliest>`),
    whose root cause is `root_asset` when given (belief `manual`, confidence 1), else the
    earliest alert's own asset. The alerts stay there whatever the rules conclude later, until
    they are forgotten. Audited (`incident.split`); kept across restarts.

    Args:
        id (str):
        body (SplitRequest): What to split off the incident of the path.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Incident | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SplitRequest,

) -> Incident | Problem | None:
    """ Split alerts off this incident into a new one (`split:<fingerprint of the earliest>`),
    whose root cause is `root_asset` when given (belief `manual`, confidence 1), else the
    earliest alert's own asset. The alerts stay there whatever the rules conclude later, until
    they are forgotten. Audited (`incident.split`); kept across restarts.

    Args:
        id (str):
        body (SplitRequest): What to split off the incident of the path.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Incident | Problem
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,

    )).parsed
