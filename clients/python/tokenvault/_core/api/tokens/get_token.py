from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.get_token_response import GetTokenResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    user_id: str,
    integration_key: str,
    *,
    force_refresh: bool | None | Unset = UNSET,
    min_validity: int | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_force_refresh: bool | None | Unset
    if isinstance(force_refresh, Unset):
        json_force_refresh = UNSET
    else:
        json_force_refresh = force_refresh
    params["force_refresh"] = json_force_refresh

    json_min_validity: int | None | Unset
    if isinstance(min_validity, Unset):
        json_min_validity = UNSET
    else:
        json_min_validity = min_validity
    params["min_validity"] = json_min_validity

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/users/{user_id}/tokens/{integration_key}".format(
            user_id=quote(str(user_id), safe=""),
            integration_key=quote(str(integration_key), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | GetTokenResponse | None:
    if response.status_code == 200:
        response_200 = GetTokenResponse.from_dict(response.json())

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
) -> Response[ErrorBody | GetTokenResponse]:
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
    force_refresh: bool | None | Unset = UNSET,
    min_validity: int | None | Unset = UNSET,
) -> Response[ErrorBody | GetTokenResponse]:
    """Get a usable credential, decrypted, refreshing an OAuth2 token first when needed.

     An OAuth2 token with less than `REFRESH_WINDOW_SECS` left (or less than `min_validity`, or
    any, with `force_refresh=true`) is refreshed at the provider first; `refreshed` says whether
    that happened. When the provider fails transiently and the current token is still valid, it
    is returned (`refreshed: false`).

    Args:
        user_id (str):
        integration_key (str):
        force_refresh (bool | None | Unset):
        min_validity (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | GetTokenResponse]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
        force_refresh=force_refresh,
        min_validity=min_validity,
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
    force_refresh: bool | None | Unset = UNSET,
    min_validity: int | None | Unset = UNSET,
) -> ErrorBody | GetTokenResponse | None:
    """Get a usable credential, decrypted, refreshing an OAuth2 token first when needed.

     An OAuth2 token with less than `REFRESH_WINDOW_SECS` left (or less than `min_validity`, or
    any, with `force_refresh=true`) is refreshed at the provider first; `refreshed` says whether
    that happened. When the provider fails transiently and the current token is still valid, it
    is returned (`refreshed: false`).

    Args:
        user_id (str):
        integration_key (str):
        force_refresh (bool | None | Unset):
        min_validity (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | GetTokenResponse
    """

    return sync_detailed(
        user_id=user_id,
        integration_key=integration_key,
        client=client,
        force_refresh=force_refresh,
        min_validity=min_validity,
    ).parsed


async def asyncio_detailed(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
    force_refresh: bool | None | Unset = UNSET,
    min_validity: int | None | Unset = UNSET,
) -> Response[ErrorBody | GetTokenResponse]:
    """Get a usable credential, decrypted, refreshing an OAuth2 token first when needed.

     An OAuth2 token with less than `REFRESH_WINDOW_SECS` left (or less than `min_validity`, or
    any, with `force_refresh=true`) is refreshed at the provider first; `refreshed` says whether
    that happened. When the provider fails transiently and the current token is still valid, it
    is returned (`refreshed: false`).

    Args:
        user_id (str):
        integration_key (str):
        force_refresh (bool | None | Unset):
        min_validity (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | GetTokenResponse]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
        force_refresh=force_refresh,
        min_validity=min_validity,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
    force_refresh: bool | None | Unset = UNSET,
    min_validity: int | None | Unset = UNSET,
) -> ErrorBody | GetTokenResponse | None:
    """Get a usable credential, decrypted, refreshing an OAuth2 token first when needed.

     An OAuth2 token with less than `REFRESH_WINDOW_SECS` left (or less than `min_validity`, or
    any, with `force_refresh=true`) is refreshed at the provider first; `refreshed` says whether
    that happened. When the provider fails transiently and the current token is still valid, it
    is returned (`refreshed: false`).

    Args:
        user_id (str):
        integration_key (str):
        force_refresh (bool | None | Unset):
        min_validity (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | GetTokenResponse
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            integration_key=integration_key,
            client=client,
            force_refresh=force_refresh,
            min_validity=min_validity,
        )
    ).parsed
