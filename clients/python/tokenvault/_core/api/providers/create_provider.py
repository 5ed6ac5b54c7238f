from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_provider_request import CreateProviderRequest
from ...models.error_body import ErrorBody
from ...models.tenant_provider_response import TenantProviderResponse
from ...types import Response


def _get_kwargs(
    *,
    body: CreateProviderRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/providers",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | TenantProviderResponse | None:
    if response.status_code == 201:
        response_201 = TenantProviderResponse.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

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
) -> Response[ErrorBody | TenantProviderResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateProviderRequest,
) -> Response[ErrorBody | TenantProviderResponse]:
    """Add a provider for this tenant, or this tenant's own OAuth app for a catalogue provider.

    Args:
        body (CreateProviderRequest): Body of `POST /v2/providers`: a key, the OAuth app, and the
            entry's fields in the catalogue's
            format (`token_url`, `authorize_url`, `token_types`, `display_name`, `env_var`, `scopes`,
            …).
            `issuer` alone fills the endpoints from the server's metadata (RFC 8414, else OpenID
            discovery); `mcp_server` alone finds the authorization server from the MCP server (RFC
            9728) and sends its URL as `resource` (RFC 8707). For a catalogue key, the fields given
            change that entry for this tenant only, and `client` is the tenant's own app for it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TenantProviderResponse]
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
    body: CreateProviderRequest,
) -> ErrorBody | TenantProviderResponse | None:
    """Add a provider for this tenant, or this tenant's own OAuth app for a catalogue provider.

    Args:
        body (CreateProviderRequest): Body of `POST /v2/providers`: a key, the OAuth app, and the
            entry's fields in the catalogue's
            format (`token_url`, `authorize_url`, `token_types`, `display_name`, `env_var`, `scopes`,
            …).
            `issuer` alone fills the endpoints from the server's metadata (RFC 8414, else OpenID
            discovery); `mcp_server` alone finds the authorization server from the MCP server (RFC
            9728) and sends its URL as `resource` (RFC 8707). For a catalogue key, the fields given
            change that entry for this tenant only, and `client` is the tenant's own app for it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TenantProviderResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateProviderRequest,
) -> Response[ErrorBody | TenantProviderResponse]:
    """Add a provider for this tenant, or this tenant's own OAuth app for a catalogue provider.

    Args:
        body (CreateProviderRequest): Body of `POST /v2/providers`: a key, the OAuth app, and the
            entry's fields in the catalogue's
            format (`token_url`, `authorize_url`, `token_types`, `display_name`, `env_var`, `scopes`,
            …).
            `issuer` alone fills the endpoints from the server's metadata (RFC 8414, else OpenID
            discovery); `mcp_server` alone finds the authorization server from the MCP server (RFC
            9728) and sends its URL as `resource` (RFC 8707). For a catalogue key, the fields given
            change that entry for this tenant only, and `client` is the tenant's own app for it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TenantProviderResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CreateProviderRequest,
) -> ErrorBody | TenantProviderResponse | None:
    """Add a provider for this tenant, or this tenant's own OAuth app for a catalogue provider.

    Args:
        body (CreateProviderRequest): Body of `POST /v2/providers`: a key, the OAuth app, and the
            entry's fields in the catalogue's
            format (`token_url`, `authorize_url`, `token_types`, `display_name`, `env_var`, `scopes`,
            …).
            `issuer` alone fills the endpoints from the server's metadata (RFC 8414, else OpenID
            discovery); `mcp_server` alone finds the authorization server from the MCP server (RFC
            9728) and sends its URL as `resource` (RFC 8707). For a catalogue key, the fields given
            change that entry for this tenant only, and `client` is the tenant's own app for it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TenantProviderResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
