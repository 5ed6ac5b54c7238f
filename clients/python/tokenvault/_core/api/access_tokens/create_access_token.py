from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.access_token import AccessToken
from ...models.create_access_token_request import CreateAccessTokenRequest
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CreateAccessTokenRequest | None | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/access-tokens",
    }

    if isinstance(body, CreateAccessTokenRequest):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AccessToken | ErrorBody | None:
    if response.status_code == 201:
        response_201 = AccessToken.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

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
) -> Response[AccessToken | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateAccessTokenRequest | None | Unset = UNSET,
) -> Response[AccessToken | ErrorBody]:
    """Mint a short-lived access token from the calling API key.

     The token carries the key's tenant, scopes and user binding, and works as
    `Authorization: Bearer agat_…` on every `/v2` route until it expires, is destroyed, or its
    API key is revoked. An access token cannot mint another.

    Args:
        body (CreateAccessTokenRequest | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccessToken | ErrorBody]
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
    client: AuthenticatedClient,
    body: CreateAccessTokenRequest | None | Unset = UNSET,
) -> AccessToken | ErrorBody | None:
    """Mint a short-lived access token from the calling API key.

     The token carries the key's tenant, scopes and user binding, and works as
    `Authorization: Bearer agat_…` on every `/v2` route until it expires, is destroyed, or its
    API key is revoked. An access token cannot mint another.

    Args:
        body (CreateAccessTokenRequest | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccessToken | ErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateAccessTokenRequest | None | Unset = UNSET,
) -> Response[AccessToken | ErrorBody]:
    """Mint a short-lived access token from the calling API key.

     The token carries the key's tenant, scopes and user binding, and works as
    `Authorization: Bearer agat_…` on every `/v2` route until it expires, is destroyed, or its
    API key is revoked. An access token cannot mint another.

    Args:
        body (CreateAccessTokenRequest | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccessToken | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CreateAccessTokenRequest | None | Unset = UNSET,
) -> AccessToken | ErrorBody | None:
    """Mint a short-lived access token from the calling API key.

     The token carries the key's tenant, scopes and user binding, and works as
    `Authorization: Bearer agat_…` on every `/v2` route until it expires, is destroyed, or its
    API key is revoked. An access token cannot mint another.

    Args:
        body (CreateAccessTokenRequest | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccessToken | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
