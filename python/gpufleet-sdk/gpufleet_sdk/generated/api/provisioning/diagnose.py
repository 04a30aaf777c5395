from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.diagnose_request import DiagnoseRequest
from ...models.problem import Problem
from ...models.provision_view import ProvisionView
from typing import cast



def _get_kwargs(
    id: str,
    *,
    body: DiagnoseRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/nodes/{id}/diagnose".format(id=quote(str(id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | ProvisionView | None:
    if response.status_code == 202:
        response_202 = ProvisionView.from_dict(response.json())



        return response_202

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | ProvisionView]:
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
    body: DiagnoseRequest,

) -> Response[Problem | ProvisionView]:
    """ Diagnose a drained node (`draining` moves to `maintenance` first): it is re-provisioned with
    the install plan bound to its profile, whose last action validates the GPUs (`nvidia-smi`,
    `dcgmi diag`). When the attempt ends: passed, the node is in service; the GPU validation
    failed, the node goes to `maintenance` with an RMA record on the incident's GPU; the install
    failed elsewhere or was cancelled, `maintenance` without one. Each outcome is audited
    (`node.diagnose`) and written to the incident's timeline.

    Args:
        id (str):
        body (DiagnoseRequest): What a diagnosis is about.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ProvisionView]
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
    body: DiagnoseRequest,

) -> Problem | ProvisionView | None:
    """ Diagnose a drained node (`draining` moves to `maintenance` first): it is re-provisioned with
    the install plan bound to its profile, whose last action validates the GPUs (`nvidia-smi`,
    `dcgmi diag`). When the attempt ends: passed, the node is in service; the GPU validation
    failed, the node goes to `maintenance` with an RMA record on the incident's GPU; the install
    failed elsewhere or was cancelled, `maintenance` without one. Each outcome is audited
    (`node.diagnose`) and written to the incident's timeline.

    Args:
        id (str):
        body (DiagnoseRequest): What a diagnosis is about.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ProvisionView
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
    body: DiagnoseRequest,

) -> Response[Problem | ProvisionView]:
    """ Diagnose a drained node (`draining` moves to `maintenance` first): it is re-provisioned with
    the install plan bound to its profile, whose last action validates the GPUs (`nvidia-smi`,
    `dcgmi diag`). When the attempt ends: passed, the node is in service; the GPU validation
    failed, the node goes to `maintenance` with an RMA record on the incident's GPU; the install
    failed elsewhere or was cancelled, `maintenance` without one. Each outcome is audited
    (`node.diagnose`) and written to the incident's timeline.

    Args:
        id (str):
        body (DiagnoseRequest): What a diagnosis is about.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ProvisionView]
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
    body: DiagnoseRequest,

) -> Problem | ProvisionView | None:
    """ Diagnose a drained node (`draining` moves to `maintenance` first): it is re-provisioned with
    the install plan bound to its profile, whose last action validates the GPUs (`nvidia-smi`,
    `dcgmi diag`). When the attempt ends: passed, the node is in service; the GPU validation
    failed, the node goes to `maintenance` with an RMA record on the incident's GPU; the install
    failed elsewhere or was cancelled, `maintenance` without one. Each outcome is audited
    (`node.diagnose`) and written to the incident's timeline.

    Args:
        id (str):
        body (DiagnoseRequest): What a diagnosis is about.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ProvisionView
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,

    )).parsed
