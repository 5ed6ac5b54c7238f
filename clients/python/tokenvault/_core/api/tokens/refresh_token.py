from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.refresh_token_response import RefreshTokenResponse
from ...types import Response


def _get_kwargs(
    user_id: str,
    integration_key: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/users/{user_id}/tokens/{integration_key}/refresh".format(
            user_id=quote(str(user_id), safe=""),
            integration_key=quote(str(integration_key), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | RefreshTokenResponse | None:
    if response.status_code == 200:
        response_200 = RefreshTokenResponse.from_dict(response.json())

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

    if response.status_code == 410:
        response_410 = ErrorBody.from_dict(response.json())

        return response_410

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
) -> Response[ErrorBody | RefreshTokenResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | RefreshTokenResponse]:
    """Refresh an OAuth2 credential at its provider now.

     Concurrent refreshes of one credential, on any number of instances, call the provider once.
    A transient provider failure answers 503 `refresh_unavailable` with `Retry-After`.

    Args:
        user_id (str):
        integration_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RefreshTokenResponse]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | RefreshTokenResponse | None:
    """Refresh an OAuth2 credential at its provider now.

     Concurrent refreshes of one credential, on any number of instances, call the provider once.
    A transient provider failure answers 503 `refresh_unavailable` with `Retry-After`.

    Args:
        user_id (str):
        integration_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RefreshTokenResponse
    """

    return sync_detailed(
        user_id=user_id,
        integration_key=integration_key,
        client=client,
    ).parsed


async def asyncio_detailed(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorBody | RefreshTokenResponse]:
    """Refresh an OAuth2 credential at its provider now.

     Concurrent refreshes of one credential, on any number of instances, call the provider once.
    A transient provider failure answers 503 `refresh_unavailable` with `Retry-After`.

    Args:
        user_id (str):
        integration_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | RefreshTokenResponse]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
) -> ErrorBody | RefreshTokenResponse | None:
    """Refresh an OAuth2 credential at its provider now.

     Concurrent refreshes of one credential, on any number of instances, call the provider once.
    A transient provider failure answers 503 `refresh_unavailable` with `Retry-After`.

    Args:
        user_id (str):
        integration_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | RefreshTokenResponse
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            integration_key=integration_key,
            client=client,
        )
    ).parsed
