from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.job_view import JobView
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    target: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    batch_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_target: None | str | Unset
    if isinstance(target, Unset):
        json_target = UNSET
    else:
        json_target = target
    params["target"] = json_target

    json_state: None | str | Unset
    if isinstance(state, Unset):
        json_state = UNSET
    else:
        json_state = state
    params["state"] = json_state

    json_batch_id: None | str | Unset
    if isinstance(batch_id, Unset):
        json_batch_id = UNSET
    else:
        json_batch_id = batch_id
    params["batch_id"] = json_batch_id

    json_kind: None | str | Unset
    if isinstance(kind, Unset):
        json_kind = UNSET
    else:
        json_kind = kind
    params["kind"] = json_kind

    json_limit: int | None | Unset
    if isinstance(limit, Unset):
        json_limit = UNSET
    else:
        json_limit = limit
    params["limit"] = json_limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/jobs",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | list[JobView] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in (_response_200):
            response_200_item = JobView.from_dict(response_200_item_data)



            response_200.append(response_200_item)

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | list[JobView]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    target: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    batch_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> Response[Problem | list[JobView]]:
    """ List jobs, newest first (filters: target node, state, batch, kind).

    Args:
        target (None | str | Unset):
        state (None | str | Unset):
        batch_id (None | str | Unset):
        kind (None | str | Unset):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[JobView]]
     """


    kwargs = _get_kwargs(
        target=target,
state=state,
batch_id=batch_id,
kind=kind,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    target: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    batch_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> Problem | list[JobView] | None:
    """ List jobs, newest first (filters: target node, state, batch, kind).

    Args:
        target (None | str | Unset):
        state (None | str | Unset):
        batch_id (None | str | Unset):
        kind (None | str | Unset):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[JobView]
     """


    return sync_detailed(
        client=client,
target=target,
state=state,
batch_id=batch_id,
kind=kind,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    target: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    batch_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> Response[Problem | list[JobView]]:
    """ List jobs, newest first (filters: target node, state, batch, kind).

    Args:
        target (None | str | Unset):
        state (None | str | Unset):
        batch_id (None | str | Unset):
        kind (None | str | Unset):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | list[JobView]]
     """


    kwargs = _get_kwargs(
        target=target,
state=state,
batch_id=batch_id,
kind=kind,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    target: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    batch_id: None | str | Unset = UNSET,
    kind: None | str | Unset = UNSET,
    limit: int | None | Unset = UNSET,

) -> Problem | list[JobView] | None:
    """ List jobs, newest first (filters: target node, state, batch, kind).

    Args:
        target (None | str | Unset):
        state (None | str | Unset):
        batch_id (None | str | Unset):
        kind (None | str | Unset):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | list[JobView]
     """


    return (await asyncio_detailed(
        client=client,
target=target,
state=state,
batch_id=batch_id,
kind=kind,
limit=limit,

    )).parsed
