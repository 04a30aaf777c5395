from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.job import Job
from ...models.port_admin_request import PortAdminRequest
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    id: str,
    port: str,
    *,
    body: PortAdminRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/switches/{id}/ports/{port}/admin".format(id=quote(str(id), safe=""),port=quote(str(port), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Job | Problem | None:
    if response.status_code == 202:
        response_202 = Job.from_dict(response.json())



        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Job | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    port: str,
    *,
    client: AuthenticatedClient | Client,
    body: PortAdminRequest,

) -> Response[Job | Problem]:
    """ Set a switch port administratively up or down over gNMI, as an audited job; the port's
    status afterwards becomes a new configuration version of the switch (`config.oob.ports`).

    Args:
        id (str):
        port (str):
        body (PortAdminRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
port=port,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    port: str,
    *,
    client: AuthenticatedClient | Client,
    body: PortAdminRequest,

) -> Job | Problem | None:
    """ Set a switch port administratively up or down over gNMI, as an audited job; the port's
    status afterwards becomes a new configuration version of the switch (`config.oob.ports`).

    Args:
        id (str):
        port (str):
        body (PortAdminRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
     """


    return sync_detailed(
        id=id,
port=port,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    id: str,
    port: str,
    *,
    client: AuthenticatedClient | Client,
    body: PortAdminRequest,

) -> Response[Job | Problem]:
    """ Set a switch port administratively up or down over gNMI, as an audited job; the port's
    status afterwards becomes a new configuration version of the switch (`config.oob.ports`).

    Args:
        id (str):
        port (str):
        body (PortAdminRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Job | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
port=port,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    port: str,
    *,
    client: AuthenticatedClient | Client,
    body: PortAdminRequest,

) -> Job | Problem | None:
    """ Set a switch port administratively up or down over gNMI, as an audited job; the port's
    status afterwards becomes a new configuration version of the switch (`config.oob.ports`).

    Args:
        id (str):
        port (str):
        body (PortAdminRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job | Problem
     """


    return (await asyncio_detailed(
        id=id,
port=port,
client=client,
body=body,

    )).parsed
