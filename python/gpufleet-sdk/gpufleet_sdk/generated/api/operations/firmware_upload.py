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
    id: str,
    *,
    body: list[int],
    filename: str,
    targets: None | str | Unset = UNSET,
    expect_version: None | str | Unset = UNSET,
    deadline_s: int | None | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    params: dict[str, Any] = {}

    params["filename"] = filename

    json_targets: None | str | Unset
    if isinstance(targets, Unset):
        json_targets = UNSET
    else:
        json_targets = targets
    params["targets"] = json_targets

    json_expect_version: None | str | Unset
    if isinstance(expect_version, Unset):
        json_expect_version = UNSET
    else:
        json_expect_version = expect_version
    params["expect_version"] = json_expect_version

    json_deadline_s: int | None | Unset
    if isinstance(deadline_s, Unset):
        json_deadline_s = UNSET
    else:
        json_deadline_s = deadline_s
    params["deadline_s"] = json_deadline_s


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/nodes/{id}/firmware/upload".format(id=quote(str(id), safe=""),),
        "params": params,
    }

    _kwargs["content"] = body.payload
    headers["Content-Type"] = "application/octet-stream"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> JobView | Problem | None:
    if response.status_code == 202:
        response_202 = JobView.from_dict(response.json())



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

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[JobView | Problem]:
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
    body: list[int],
    filename: str,
    targets: None | str | Unset = UNSET,
    expect_version: None | str | Unset = UNSET,
    deadline_s: int | None | Unset = UNSET,

) -> Response[JobView | Problem]:
    """ Update firmware from an uploaded image: the body is the image (`application/octet-stream`).
    The image is kept in a file owned by the job (removed when the job ends), pushed to the BMC
    (Redfish multipart push) and the versions are read back into the CMDB.

    Args:
        id (str):
        filename (str):
        targets (None | str | Unset):
        expect_version (None | str | Unset):
        deadline_s (int | None | Unset):
        body (list[int]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobView | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,
filename=filename,
targets=targets,
expect_version=expect_version,
deadline_s=deadline_s,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: list[int],
    filename: str,
    targets: None | str | Unset = UNSET,
    expect_version: None | str | Unset = UNSET,
    deadline_s: int | None | Unset = UNSET,

) -> JobView | Problem | None:
    """ Update firmware from an uploaded image: the body is the image (`application/octet-stream`).
    The image is kept in a file owned by the job (removed when the job ends), pushed to the BMC
    (Redfish multipart push) and the versions are read back into the CMDB.

    Args:
        id (str):
        filename (str):
        targets (None | str | Unset):
        expect_version (None | str | Unset):
        deadline_s (int | None | Unset):
        body (list[int]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobView | Problem
     """


    return sync_detailed(
        id=id,
client=client,
body=body,
filename=filename,
targets=targets,
expect_version=expect_version,
deadline_s=deadline_s,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: list[int],
    filename: str,
    targets: None | str | Unset = UNSET,
    expect_version: None | str | Unset = UNSET,
    deadline_s: int | None | Unset = UNSET,

) -> Response[JobView | Problem]:
    """ Update firmware from an uploaded image: the body is the image (`application/octet-stream`).
    The image is kept in a file owned by the job (removed when the job ends), pushed to the BMC
    (Redfish multipart push) and the versions are read back into the CMDB.

    Args:
        id (str):
        filename (str):
        targets (None | str | Unset):
        expect_version (None | str | Unset):
        deadline_s (int | None | Unset):
        body (list[int]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobView | Problem]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,
filename=filename,
targets=targets,
expect_version=expect_version,
deadline_s=deadline_s,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: list[int],
    filename: str,
    targets: None | str | Unset = UNSET,
    expect_version: None | str | Unset = UNSET,
    deadline_s: int | None | Unset = UNSET,

) -> JobView | Problem | None:
    """ Update firmware from an uploaded image: the body is the image (`application/octet-stream`).
    The image is kept in a file owned by the job (removed when the job ends), pushed to the BMC
    (Redfish multipart push) and the versions are read back into the CMDB.

    Args:
        id (str):
        filename (str):
        targets (None | str | Unset):
        expect_version (None | str | Unset):
        deadline_s (int | None | Unset):
        body (list[int]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobView | Problem
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,
filename=filename,
targets=targets,
expect_version=expect_version,
deadline_s=deadline_s,

    )).parsed
