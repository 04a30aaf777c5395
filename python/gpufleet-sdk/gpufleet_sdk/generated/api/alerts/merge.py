from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.incident import Incident
from ...models.merge_request import MergeRequest
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    id: str,
    *,
    body: MergeRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/incidents/{id}/merge".format(id=quote(str(id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Incident | Problem | None:
    if response.status_code == 200:
        response_200 = Incident.from_dict(response.json())



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
    body: MergeRequest,

) -> Response[Incident | Problem]:
    """ Merge incidents into this one by hand: their alerts join it, and so do alerts that would
    have opened them later; each merged incident closes with `merged_into` (its id then names
    this one) and an acknowledgement carries over. The root cause stays this incident's.
    Audited (`incident.merge`); kept across restarts.

    Args:
        id (str):
        body (MergeRequest): What to merge into the incident of the path.

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
    body: MergeRequest,

) -> Incident | Problem | None:
    """ Merge incidents into this one by hand: their alerts join it, and so do alerts that would
    have opened them later; each merged incident closes with `merged_into` (its id then names
    this one) and an acknowledgement carries over. The root cause stays this incident's.
    Audited (`incident.merge`); kept across restarts.

    Args:
        id (str):
        body (MergeRequest): What to merge into the incident of the path.

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
    body: MergeRequest,

) -> Response[Incident | Problem]:
    """ Merge incidents into this one by hand: their alerts join it, and so do alerts that would
    have opened them later; each merged incident closes with `merged_into` (its id then names
    this one) and an acknowledgement carries over. The root cause stays this incident's.
    Audited (`incident.merge`); kept across restarts.

    Args:
        id (str):
        body (MergeRequest): What to merge into the incident of the path.

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
    body: MergeRequest,

) -> Incident | Problem | None:
    """ Merge incidents into this one by hand: their alerts join it, and so do alerts that would
    have opened them later; each merged incident closes with `merged_into` (its id then names
    this one) and an acknowledgement carries over. The root cause stays this incident's.
    Audited (`incident.merge`); kept across restarts.

    Args:
        id (str):
        body (MergeRequest): What to merge into the incident of the path.

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
