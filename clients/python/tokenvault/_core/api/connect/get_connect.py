from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.connect_status_response import ConnectStatusResponse
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    user_id: str,
    connect_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/users/{user_id}/connect/{connect_id}".format(
            user_id=quote(str(user_id), safe=""),
            connect_id=quote(str(connect_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ConnectStatusResponse | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ConnectStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ConnectStatusResponse | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    user_id: str,
    connect_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ConnectStatusResponse | ErrorBody]:
    """How a connect stands (either flow).

    Args:
        user_id (str):
        connect_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConnectStatusResponse | ErrorBody]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        connect_id=connect_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user_id: str,
    connect_id: str,
    *,
    client: AuthenticatedClient,
) -> ConnectStatusResponse | ErrorBody | None:
    """How a connect stands (either flow).

    Args:
        user_id (str):
        connect_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConnectStatusResponse | ErrorBody
    """

    return sync_detailed(
        user_id=user_id,
        connect_id=connect_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    user_id: str,
    connect_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ConnectStatusResponse | ErrorBody]:
    """How a connect stands (either flow).

    Args:
        user_id (str):
        connect_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConnectStatusResponse | ErrorBody]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        connect_id=connect_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_id: str,
    connect_id: str,
    *,
    client: AuthenticatedClient,
) -> ConnectStatusResponse | ErrorBody | None:
    """How a connect stands (either flow).

    Args:
        user_id (str):
        connect_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConnectStatusResponse | ErrorBody
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            connect_id=connect_id,
            client=client,
        )
    ).parsed
