from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.alert_ingest_report import AlertIngestReport
from ...models.postable_alert import PostableAlert
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    *,
    body: list[PostableAlert],

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v2/alerts",
    }

    _kwargs["json"] = []
    for body_item_data in body:
        body_item = body_item_data.to_dict()
        _kwargs["json"].append(body_item)



    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AlertIngestReport | Problem | None:
    if response.status_code == 200:
        response_200 = AlertIngestReport.from_dict(response.json())



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

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())



        return response_415

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AlertIngestReport | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: list[PostableAlert],

) -> Response[AlertIngestReport | Problem]:
    """ Take alerts in Alertmanager's API v2 format (`POST /api/v2/alerts` of an Alertmanager), the
    body Prometheus sends to its Alertmanagers.
    Alertmanager's own path for the same body, so that Prometheus can send to gpufleet as to an
    Alertmanager (`alerting.alertmanagers[].path_prefix: /`, bearer token in `authorization`).
    Answers exactly as `POST /api/v1/alerts`.

    Args:
        body (list[PostableAlert]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AlertIngestReport | Problem]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    body: list[PostableAlert],

) -> AlertIngestReport | Problem | None:
    """ Take alerts in Alertmanager's API v2 format (`POST /api/v2/alerts` of an Alertmanager), the
    body Prometheus sends to its Alertmanagers.
    Alertmanager's own path for the same body, so that Prometheus can send to gpufleet as to an
    Alertmanager (`alerting.alertmanagers[].path_prefix: /`, bearer token in `authorization`).
    Answers exactly as `POST /api/v1/alerts`.

    Args:
        body (list[PostableAlert]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AlertIngestReport | Problem
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: list[PostableAlert],

) -> Response[AlertIngestReport | Problem]:
    """ Take alerts in Alertmanager's API v2 format (`POST /api/v2/alerts` of an Alertmanager), the
    body Prometheus sends to its Alertmanagers.
    Alertmanager's own path for the same body, so that Prometheus can send to gpufleet as to an
    Alertmanager (`alerting.alertmanagers[].path_prefix: /`, bearer token in `authorization`).
    Answers exactly as `POST /api/v1/alerts`.

    Args:
        body (list[PostableAlert]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AlertIngestReport | Problem]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: list[PostableAlert],

) -> AlertIngestReport | Problem | None:
    """ Take alerts in Alertmanager's API v2 format (`POST /api/v2/alerts` of an Alertmanager), the
    body Prometheus sends to its Alertmanagers.
    Alertmanager's own path for the same body, so that Prometheus can send to gpufleet as to an
    Alertmanager (`alerting.alertmanagers[].path_prefix: /`, bearer token in `authorization`).
    Answers exactly as `POST /api/v1/alerts`.

    Args:
        body (list[PostableAlert]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AlertIngestReport | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
