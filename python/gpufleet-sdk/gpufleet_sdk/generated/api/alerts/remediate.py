from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.remediate_request import RemediateRequest
from ...models.remediation_plan import RemediationPlan
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    id: str,
    *,
    body: None | RemediateRequest | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/incidents/{id}/remediate".format(id=quote(str(id), safe=""),),
    }

    
    if isinstance(body, RemediateRequest):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RemediationPlan | None:
    if response.status_code == 200:
        response_200 = RemediationPlan.from_dict(response.json())



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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | RemediationPlan]:
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
    body: None | RemediateRequest | Unset = UNSET,

) -> Response[Problem | RemediationPlan]:
    """ Runs an incident's remediation plan with the caller's permissions: the `execute` steps, and
    with `approve` those that need approval. Each executed step is audited
    (`incident.remediate`) and written to the incident's timeline. An empty body runs without
    approval.

    Args:
        id (str):
        body (None | RemediateRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RemediationPlan]
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
    body: None | RemediateRequest | Unset = UNSET,

) -> Problem | RemediationPlan | None:
    """ Runs an incident's remediation plan with the caller's permissions: the `execute` steps, and
    with `approve` those that need approval. Each executed step is audited
    (`incident.remediate`) and written to the incident's timeline. An empty body runs without
    approval.

    Args:
        id (str):
        body (None | RemediateRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RemediationPlan
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
    body: None | RemediateRequest | Unset = UNSET,

) -> Response[Problem | RemediationPlan]:
    """ Runs an incident's remediation plan with the caller's permissions: the `execute` steps, and
    with `approve` those that need approval. Each executed step is audited
    (`incident.remediate`) and written to the incident's timeline. An empty body runs without
    approval.

    Args:
        id (str):
        body (None | RemediateRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RemediationPlan]
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
    body: None | RemediateRequest | Unset = UNSET,

) -> Problem | RemediationPlan | None:
    """ Runs an incident's remediation plan with the caller's permissions: the `execute` steps, and
    with `approve` those that need approval. Each executed step is audited
    (`incident.remediate`) and written to the incident's timeline. An empty body runs without
    approval.

    Args:
        id (str):
        body (None | RemediateRequest | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RemediationPlan
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,

    )).parsed
