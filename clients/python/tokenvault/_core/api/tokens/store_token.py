from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.store_api_key_token_request import StoreApiKeyTokenRequest
from ...models.store_basic_token_request import StoreBasicTokenRequest
from ...models.store_client_credentials_token_request import (
    StoreClientCredentialsTokenRequest,
)
from ...models.store_jwt_token_request import StoreJwtTokenRequest
from ...models.store_o_auth_2_token_request import StoreOAuth2TokenRequest
from ...models.store_service_account_token_request import (
    StoreServiceAccountTokenRequest,
)
from ...models.store_token_response import StoreTokenResponse
from ...types import Response


def _get_kwargs(
    user_id: str,
    *,
    body: StoreApiKeyTokenRequest
    | StoreBasicTokenRequest
    | StoreClientCredentialsTokenRequest
    | StoreJwtTokenRequest
    | StoreOAuth2TokenRequest
    | StoreServiceAccountTokenRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/users/{user_id}/tokens".format(
            user_id=quote(str(user_id), safe=""),
        ),
    }

    if (
        isinstance(body, StoreOAuth2TokenRequest)
        or isinstance(body, StoreApiKeyTokenRequest)
        or isinstance(body, StoreJwtTokenRequest)
        or isinstance(body, StoreBasicTokenRequest)
        or isinstance(body, StoreClientCredentialsTokenRequest)
    ):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | StoreTokenResponse | None:
    if response.status_code == 200:
        response_200 = StoreTokenResponse.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = StoreTokenResponse.from_dict(response.json())

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

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())

        return response_422

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
) -> Response[ErrorBody | StoreTokenResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    user_id: str,
    *,
    client: AuthenticatedClient,
    body: StoreApiKeyTokenRequest
    | StoreBasicTokenRequest
    | StoreClientCredentialsTokenRequest
    | StoreJwtTokenRequest
    | StoreOAuth2TokenRequest
    | StoreServiceAccountTokenRequest,
) -> Response[ErrorBody | StoreTokenResponse]:
    """Store a credential (insert, or replace the one with the same integration key).

    Args:
        user_id (str):
        body (StoreApiKeyTokenRequest | StoreBasicTokenRequest |
            StoreClientCredentialsTokenRequest | StoreJwtTokenRequest | StoreOAuth2TokenRequest |
            StoreServiceAccountTokenRequest): Body of `POST /v2/users/{user_id}/tokens`: one shape per
            `token_type`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | StoreTokenResponse]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user_id: str,
    *,
    client: AuthenticatedClient,
    body: StoreApiKeyTokenRequest
    | StoreBasicTokenRequest
    | StoreClientCredentialsTokenRequest
    | StoreJwtTokenRequest
    | StoreOAuth2TokenRequest
    | StoreServiceAccountTokenRequest,
) -> ErrorBody | StoreTokenResponse | None:
    """Store a credential (insert, or replace the one with the same integration key).

    Args:
        user_id (str):
        body (StoreApiKeyTokenRequest | StoreBasicTokenRequest |
            StoreClientCredentialsTokenRequest | StoreJwtTokenRequest | StoreOAuth2TokenRequest |
            StoreServiceAccountTokenRequest): Body of `POST /v2/users/{user_id}/tokens`: one shape per
            `token_type`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | StoreTokenResponse
    """

    return sync_detailed(
        user_id=user_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    user_id: str,
    *,
    client: AuthenticatedClient,
    body: StoreApiKeyTokenRequest
    | StoreBasicTokenRequest
    | StoreClientCredentialsTokenRequest
    | StoreJwtTokenRequest
    | StoreOAuth2TokenRequest
    | StoreServiceAccountTokenRequest,
) -> Response[ErrorBody | StoreTokenResponse]:
    """Store a credential (insert, or replace the one with the same integration key).

    Args:
        user_id (str):
        body (StoreApiKeyTokenRequest | StoreBasicTokenRequest |
            StoreClientCredentialsTokenRequest | StoreJwtTokenRequest | StoreOAuth2TokenRequest |
            StoreServiceAccountTokenRequest): Body of `POST /v2/users/{user_id}/tokens`: one shape per
            `token_type`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | StoreTokenResponse]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_id: str,
    *,
    client: AuthenticatedClient,
    body: StoreApiKeyTokenRequest
    | StoreBasicTokenRequest
    | StoreClientCredentialsTokenRequest
    | StoreJwtTokenRequest
    | StoreOAuth2TokenRequest
    | StoreServiceAccountTokenRequest,
) -> ErrorBody | StoreTokenResponse | None:
    """Store a credential (insert, or replace the one with the same integration key).

    Args:
        user_id (str):
        body (StoreApiKeyTokenRequest | StoreBasicTokenRequest |
            StoreClientCredentialsTokenRequest | StoreJwtTokenRequest | StoreOAuth2TokenRequest |
            StoreServiceAccountTokenRequest): Body of `POST /v2/users/{user_id}/tokens`: one shape per
            `token_type`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | StoreTokenResponse
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            client=client,
            body=body,
        )
    ).parsed
