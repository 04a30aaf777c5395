from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.series_response import SeriesResponse
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    asset: str,
    field: str,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    step: str | Unset = UNSET,
    agg: str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["asset"] = asset

    params["field"] = field

    params["from"] = from_

    params["to"] = to

    params["step"] = step

    params["agg"] = agg


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/telemetry/series",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SeriesResponse | None:
    if response.status_code == 200:
        response_200 = SeriesResponse.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | SeriesResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    asset: str,
    field: str,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    step: str | Unset = UNSET,
    agg: str | Unset = UNSET,

) -> Response[Problem | SeriesResponse]:
    """ A GPU field's history over a time range in steps, for a GPU or every GPU of a node or
    rack. The history is kept at the configured write resolution (`history.resolution_secs`)
    as mean, min, max and last per interval, so `max` sees every spike.

    Args:
        asset (str):
        field (str):
        from_ (str | Unset):
        to (str | Unset):
        step (str | Unset):
        agg (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SeriesResponse]
     """


    kwargs = _get_kwargs(
        asset=asset,
field=field,
from_=from_,
to=to,
step=step,
agg=agg,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    asset: str,
    field: str,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    step: str | Unset = UNSET,
    agg: str | Unset = UNSET,

) -> Problem | SeriesResponse | None:
    """ A GPU field's history over a time range in steps, for a GPU or every GPU of a node or
    rack. The history is kept at the configured write resolution (`history.resolution_secs`)
    as mean, min, max and last per interval, so `max` sees every spike.

    Args:
        asset (str):
        field (str):
        from_ (str | Unset):
        to (str | Unset):
        step (str | Unset):
        agg (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SeriesResponse
     """


    return sync_detailed(
        client=client,
asset=asset,
field=field,
from_=from_,
to=to,
step=step,
agg=agg,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    asset: str,
    field: str,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    step: str | Unset = UNSET,
    agg: str | Unset = UNSET,

) -> Response[Problem | SeriesResponse]:
    """ A GPU field's history over a time range in steps, for a GPU or every GPU of a node or
    rack. The history is kept at the configured write resolution (`history.resolution_secs`)
    as mean, min, max and last per interval, so `max` sees every spike.

    Args:
        asset (str):
        field (str):
        from_ (str | Unset):
        to (str | Unset):
        step (str | Unset):
        agg (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SeriesResponse]
     """


    kwargs = _get_kwargs(
        asset=asset,
field=field,
from_=from_,
to=to,
step=step,
agg=agg,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    asset: str,
    field: str,
    from_: str | Unset = UNSET,
    to: str | Unset = UNSET,
    step: str | Unset = UNSET,
    agg: str | Unset = UNSET,

) -> Problem | SeriesResponse | None:
    """ A GPU field's history over a time range in steps, for a GPU or every GPU of a node or
    rack. The history is kept at the configured write resolution (`history.resolution_secs`)
    as mean, min, max and last per interval, so `max` sees every spike.

    Args:
        asset (str):
        field (str):
        from_ (str | Unset):
        to (str | Unset):
        step (str | Unset):
        agg (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SeriesResponse
     """


    return (await asyncio_detailed(
        client=client,
asset=asset,
field=field,
from_=from_,
to=to,
step=step,
agg=agg,

    )).parsed
