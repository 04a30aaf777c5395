from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.job_detail import JobDetail
from ...models.problem import Problem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    id: str,
    *,
    after: int | None | Unset = UNSET,
    wait_s: int | None | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_after: int | None | Unset
    if isinstance(after, Unset):
        json_after = UNSET
    else:
        json_after = after
    params["after"] = json_after

    json_wait_s: int | None | Unset
    if isinstance(wait_s, Unset):
        json_wait_s = UNSET
    else:
        json_wait_s = wait_s
    params["wait_s"] = json_wait_s


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/jobs/{id}".format(id=quote(str(id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> JobDetail | Problem | None:
    if response.status_code == 200:
        response_200 = JobDetail.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[JobDetail | Problem]:
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
    after: int | None | Unset = UNSET,
    wait_s: int | None | Unset = UNSET,

) -> Response[JobDetail | Problem]:
    """ A job with its log lines; `wait_s` long-polls until the job changes.

    Args:
        id (str):
        after (int | None | Unset):
        wait_s (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobDetail | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
after=after,
wait_s=wait_s,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | None | Unset = UNSET,
    wait_s: int | None | Unset = UNSET,

) -> JobDetail | Problem | None:
    """ A job with its log lines; `wait_s` long-polls until the job changes.

    Args:
        id (str):
        after (int | None | Unset):
        wait_s (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobDetail | Problem
     """


    return sync_detailed(
        id=id,
client=client,
after=after,
wait_s=wait_s,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | None | Unset = UNSET,
    wait_s: int | None | Unset = UNSET,

) -> Response[JobDetail | Problem]:
    """ A job with its log lines; `wait_s` long-polls until the job changes.

    Args:
        id (str):
        after (int | None | Unset):
        wait_s (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobDetail | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
after=after,
wait_s=wait_s,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | None | Unset = UNSET,
    wait_s: int | None | Unset = UNSET,

) -> JobDetail | Problem | None:
    """ A job with its log lines; `wait_s` long-polls until the job changes.

    Args:
        id (str):
        after (int | None | Unset):
        wait_s (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobDetail | Problem
     """


    return (await asyncio_detailed(
        id=id,
client=client,
after=after,
wait_s=wait_s,

    )).parsed
