from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.asset_page import AssetPage
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    kind: str | Unset = UNSET,
    state: str | Unset = UNSET,
    model: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    parent: str | Unset = UNSET,
    profile: str | Unset = UNSET,
    serial: str | Unset = UNSET,
    address: str | Unset = UNSET,
    name: str | Unset = UNSET,
    label: str | Unset = UNSET,
    stuck: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["kind"] = kind

    params["state"] = state

    params["model"] = model

    params["rack"] = rack

    params["parent"] = parent

    params["profile"] = profile

    params["serial"] = serial

    params["address"] = address

    params["name"] = name

    params["label"] = label

    params["stuck"] = stuck

    params["cursor"] = cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/gpus",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AssetPage | Problem | None:
    if response.status_code == 200:
        response_200 = AssetPage.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AssetPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    kind: str | Unset = UNSET,
    state: str | Unset = UNSET,
    model: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    parent: str | Unset = UNSET,
    profile: str | Unset = UNSET,
    serial: str | Unset = UNSET,
    address: str | Unset = UNSET,
    name: str | Unset = UNSET,
    label: str | Unset = UNSET,
    stuck: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[AssetPage | Problem]:
    """ List GPUs (filters: model, serial, parent node, rack, label).

    Args:
        kind (str | Unset):
        state (str | Unset):
        model (str | Unset):
        rack (str | Unset):
        parent (str | Unset):
        profile (str | Unset):
        serial (str | Unset):
        address (str | Unset):
        name (str | Unset):
        label (str | Unset):
        stuck (bool | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AssetPage | Problem]
     """


    kwargs = _get_kwargs(
        kind=kind,
state=state,
model=model,
rack=rack,
parent=parent,
profile=profile,
serial=serial,
address=address,
name=name,
label=label,
stuck=stuck,
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
    kind: str | Unset = UNSET,
    state: str | Unset = UNSET,
    model: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    parent: str | Unset = UNSET,
    profile: str | Unset = UNSET,
    serial: str | Unset = UNSET,
    address: str | Unset = UNSET,
    name: str | Unset = UNSET,
    label: str | Unset = UNSET,
    stuck: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> AssetPage | Problem | None:
    """ List GPUs (filters: model, serial, parent node, rack, label).

    Args:
        kind (str | Unset):
        state (str | Unset):
        model (str | Unset):
        rack (str | Unset):
        parent (str | Unset):
        profile (str | Unset):
        serial (str | Unset):
        address (str | Unset):
        name (str | Unset):
        label (str | Unset):
        stuck (bool | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AssetPage | Problem
     """


    return sync_detailed(
        client=client,
kind=kind,
state=state,
model=model,
rack=rack,
parent=parent,
profile=profile,
serial=serial,
address=address,
name=name,
label=label,
stuck=stuck,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    kind: str | Unset = UNSET,
    state: str | Unset = UNSET,
    model: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    parent: str | Unset = UNSET,
    profile: str | Unset = UNSET,
    serial: str | Unset = UNSET,
    address: str | Unset = UNSET,
    name: str | Unset = UNSET,
    label: str | Unset = UNSET,
    stuck: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> Response[AssetPage | Problem]:
    """ List GPUs (filters: model, serial, parent node, rack, label).

    Args:
        kind (str | Unset):
        state (str | Unset):
        model (str | Unset):
        rack (str | Unset):
        parent (str | Unset):
        profile (str | Unset):
        serial (str | Unset):
        address (str | Unset):
        name (str | Unset):
        label (str | Unset):
        stuck (bool | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AssetPage | Problem]
     """


    kwargs = _get_kwargs(
        kind=kind,
state=state,
model=model,
rack=rack,
parent=parent,
profile=profile,
serial=serial,
address=address,
name=name,
label=label,
stuck=stuck,
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
    kind: str | Unset = UNSET,
    state: str | Unset = UNSET,
    model: str | Unset = UNSET,
    rack: str | Unset = UNSET,
    parent: str | Unset = UNSET,
    profile: str | Unset = UNSET,
    serial: str | Unset = UNSET,
    address: str | Unset = UNSET,
    name: str | Unset = UNSET,
    label: str | Unset = UNSET,
    stuck: bool | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = UNSET,

) -> AssetPage | Problem | None:
    """ List GPUs (filters: model, serial, parent node, rack, label).

    Args:
        kind (str | Unset):
        state (str | Unset):
        model (str | Unset):
        rack (str | Unset):
        parent (str | Unset):
        profile (str | Unset):
        serial (str | Unset):
        address (str | Unset):
        name (str | Unset):
        label (str | Unset):
        stuck (bool | Unset):
        cursor (str | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AssetPage | Problem
     """


    return (await asyncio_detailed(
        client=client,
kind=kind,
state=state,
model=model,
rack=rack,
parent=parent,
profile=profile,
serial=serial,
address=address,
name=name,
label=label,
stuck=stuck,
cursor=cursor,
limit=limit,

    )).parsed
