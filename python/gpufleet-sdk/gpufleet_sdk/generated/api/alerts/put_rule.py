from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.alert_rule_detail import AlertRuleDetail
from ...models.problem import Problem
from ...models.put_alert_rule import PutAlertRule
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    name: str,
    *,
    body: PutAlertRule,
    if_match: None | str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_match, Unset):
        headers["If-Match"] = if_match



    

    

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/v1/alert-rules/{name}".format(name=quote(str(name), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AlertRuleDetail | Problem | None:
    if response.status_code == 200:
        response_200 = AlertRuleDetail.from_dict(response.json())



        return response_200

    if response.status_code == 201:
        response_201 = AlertRuleDetail.from_dict(response.json())



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

    if response.status_code == 412:
        response_412 = Problem.from_dict(response.json())



        return response_412

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AlertRuleDetail | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: PutAlertRule,
    if_match: None | str | Unset = UNSET,

) -> Response[AlertRuleDetail | Problem]:
    """ Store a rule: a new one (201), a change (200), or an override of a built-in rule of the
    same name. The rule is compiled first (422 with the reason when it cannot be evaluated).
    Send `If-Match` with the ETag you read (`"0"`: only if not stored yet): a stale one gets 412.

    Args:
        name (str):
        if_match (None | str | Unset):
        body (PutAlertRule): A rule as a Prometheus rule file writes it, plus whether it is
            evaluated.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AlertRuleDetail | Problem]
     """


    kwargs = _get_kwargs(
        name=name,
body=body,
if_match=if_match,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: PutAlertRule,
    if_match: None | str | Unset = UNSET,

) -> AlertRuleDetail | Problem | None:
    """ Store a rule: a new one (201), a change (200), or an override of a built-in rule of the
    same name. The rule is compiled first (422 with the reason when it cannot be evaluated).
    Send `If-Match` with the ETag you read (`"0"`: only if not stored yet): a stale one gets 412.

    Args:
        name (str):
        if_match (None | str | Unset):
        body (PutAlertRule): A rule as a Prometheus rule file writes it, plus whether it is
            evaluated.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AlertRuleDetail | Problem
     """


    return sync_detailed(
        name=name,
client=client,
body=body,
if_match=if_match,

    ).parsed

async def asyncio_detailed(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: PutAlertRule,
    if_match: None | str | Unset = UNSET,

) -> Response[AlertRuleDetail | Problem]:
    """ Store a rule: a new one (201), a change (200), or an override of a built-in rule of the
    same name. The rule is compiled first (422 with the reason when it cannot be evaluated).
    Send `If-Match` with the ETag you read (`"0"`: only if not stored yet): a stale one gets 412.

    Args:
        name (str):
        if_match (None | str | Unset):
        body (PutAlertRule): A rule as a Prometheus rule file writes it, plus whether it is
            evaluated.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AlertRuleDetail | Problem]
     """


    kwargs = _get_kwargs(
        name=name,
body=body,
if_match=if_match,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    name: str,
    *,
    client: AuthenticatedClient | Client,
    body: PutAlertRule,
    if_match: None | str | Unset = UNSET,

) -> AlertRuleDetail | Problem | None:
    """ Store a rule: a new one (201), a change (200), or an override of a built-in rule of the
    same name. The rule is compiled first (422 with the reason when it cannot be evaluated).
    Send `If-Match` with the ETag you read (`"0"`: only if not stored yet): a stale one gets 412.

    Args:
        name (str):
        if_match (None | str | Unset):
        body (PutAlertRule): A rule as a Prometheus rule file writes it, plus whether it is
            evaluated.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AlertRuleDetail | Problem
     """


    return (await asyncio_detailed(
        name=name,
client=client,
body=body,
if_match=if_match,

    )).parsed
