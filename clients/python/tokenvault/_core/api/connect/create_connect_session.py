from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.connect_session_created import ConnectSessionCreated
from ...models.connect_session_request import ConnectSessionRequest
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    *,
    body: ConnectSessionRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/connect-sessions",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ConnectSessionCreated | ErrorBody | None:
    if response.status_code == 201:
        response_201 = ConnectSessionCreated.from_dict(response.json())

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
) -> Response[ConnectSessionCreated | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ConnectSessionRequest,
) -> Response[ConnectSessionCreated | ErrorBody]:
    """Make a link to the hosted connect page for a user.

     The page lists the allowed providers, runs the OAuth (or device) flow for OAuth providers
    and offers a form for API-key and basic providers. The link works until `expires_at`, on
    any instance, as often as the user needs it.

    Args:
        body (ConnectSessionRequest): Body of `POST /v2/connect-sessions`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConnectSessionCreated | ErrorBody]
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
    body: ConnectSessionRequest,
) -> ConnectSessionCreated | ErrorBody | None:
    """Make a link to the hosted connect page for a user.

     The page lists the allowed providers, runs the OAuth (or device) flow for OAuth providers
    and offers a form for API-key and basic providers. The link works until `expires_at`, on
    any instance, as often as the user needs it.

    Args:
        body (ConnectSessionRequest): Body of `POST /v2/connect-sessions`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConnectSessionCreated | ErrorBody
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ConnectSessionRequest,
) -> Response[ConnectSessionCreated | ErrorBody]:
    """Make a link to the hosted connect page for a user.

     The page lists the allowed providers, runs the OAuth (or device) flow for OAuth providers
    and offers a form for API-key and basic providers. The link works until `expires_at`, on
    any instance, as often as the user needs it.

    Args:
        body (ConnectSessionRequest): Body of `POST /v2/connect-sessions`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConnectSessionCreated | ErrorBody]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: ConnectSessionRequest,
) -> ConnectSessionCreated | ErrorBody | None:
    """Make a link to the hosted connect page for a user.

     The page lists the allowed providers, runs the OAuth (or device) flow for OAuth providers
    and offers a form for API-key and basic providers. The link works until `expires_at`, on
    any instance, as often as the user needs it.

    Args:
        body (ConnectSessionRequest): Body of `POST /v2/connect-sessions`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConnectSessionCreated | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
