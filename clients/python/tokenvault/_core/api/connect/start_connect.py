from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.connect_authorization_code_request import ConnectAuthorizationCodeRequest
from ...models.connect_device_request import ConnectDeviceRequest
from ...models.connect_response import ConnectResponse
from ...models.device_connect_response import DeviceConnectResponse
from ...models.error_body import ErrorBody
from ...types import Response


def _get_kwargs(
    user_id: str,
    *,
    body: ConnectAuthorizationCodeRequest | ConnectDeviceRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/users/{user_id}/connect".format(
            user_id=quote(str(user_id), safe=""),
        ),
    }

    if isinstance(body, ConnectAuthorizationCodeRequest):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ConnectResponse | DeviceConnectResponse | ErrorBody | None:
    if response.status_code == 201:

        def _parse_response_201(
            data: object,
        ) -> ConnectResponse | DeviceConnectResponse:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_started_connect_type_0 = ConnectResponse.from_dict(
                    data
                )

                return componentsschemas_started_connect_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_started_connect_type_1 = DeviceConnectResponse.from_dict(
                data
            )

            return componentsschemas_started_connect_type_1

        response_201 = _parse_response_201(response.json())

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
) -> Response[ConnectResponse | DeviceConnectResponse | ErrorBody]:
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
    body: ConnectAuthorizationCodeRequest | ConnectDeviceRequest,
) -> Response[ConnectResponse | DeviceConnectResponse | ErrorBody]:
    """Start connecting a user's account at a provider.

     Flow `authorization_code` (OAuth authorization code with PKCE) answers the provider's
    authorization URL: send the user's browser there. After consent the provider sends the
    browser to `/v2/oauth/callback`, which stores the credential and sends it on to
    `redirect_uri`. Flow `device` (RFC 8628) answers a user code and where to enter it;
    tokenvault polls the provider until the user approves and then stores the credential. Either
    way, `GET …/connect/{connect_id}` tells how it stands.

    Args:
        user_id (str):
        body (ConnectAuthorizationCodeRequest | ConnectDeviceRequest): Body of `POST
            /v2/users/{user_id}/connect`: one shape per `flow`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConnectResponse | DeviceConnectResponse | ErrorBody]
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
    body: ConnectAuthorizationCodeRequest | ConnectDeviceRequest,
) -> ConnectResponse | DeviceConnectResponse | ErrorBody | None:
    """Start connecting a user's account at a provider.

     Flow `authorization_code` (OAuth authorization code with PKCE) answers the provider's
    authorization URL: send the user's browser there. After consent the provider sends the
    browser to `/v2/oauth/callback`, which stores the credential and sends it on to
    `redirect_uri`. Flow `device` (RFC 8628) answers a user code and where to enter it;
    tokenvault polls the provider until the user approves and then stores the credential. Either
    way, `GET …/connect/{connect_id}` tells how it stands.

    Args:
        user_id (str):
        body (ConnectAuthorizationCodeRequest | ConnectDeviceRequest): Body of `POST
            /v2/users/{user_id}/connect`: one shape per `flow`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConnectResponse | DeviceConnectResponse | ErrorBody
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
    body: ConnectAuthorizationCodeRequest | ConnectDeviceRequest,
) -> Response[ConnectResponse | DeviceConnectResponse | ErrorBody]:
    """Start connecting a user's account at a provider.

     Flow `authorization_code` (OAuth authorization code with PKCE) answers the provider's
    authorization URL: send the user's browser there. After consent the provider sends the
    browser to `/v2/oauth/callback`, which stores the credential and sends it on to
    `redirect_uri`. Flow `device` (RFC 8628) answers a user code and where to enter it;
    tokenvault polls the provider until the user approves and then stores the credential. Either
    way, `GET …/connect/{connect_id}` tells how it stands.

    Args:
        user_id (str):
        body (ConnectAuthorizationCodeRequest | ConnectDeviceRequest): Body of `POST
            /v2/users/{user_id}/connect`: one shape per `flow`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ConnectResponse | DeviceConnectResponse | ErrorBody]
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
    body: ConnectAuthorizationCodeRequest | ConnectDeviceRequest,
) -> ConnectResponse | DeviceConnectResponse | ErrorBody | None:
    """Start connecting a user's account at a provider.

     Flow `authorization_code` (OAuth authorization code with PKCE) answers the provider's
    authorization URL: send the user's browser there. After consent the provider sends the
    browser to `/v2/oauth/callback`, which stores the credential and sends it on to
    `redirect_uri`. Flow `device` (RFC 8628) answers a user code and where to enter it;
    tokenvault polls the provider until the user approves and then stores the credential. Either
    way, `GET …/connect/{connect_id}` tells how it stands.

    Args:
        user_id (str):
        body (ConnectAuthorizationCodeRequest | ConnectDeviceRequest): Body of `POST
            /v2/users/{user_id}/connect`: one shape per `flow`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ConnectResponse | DeviceConnectResponse | ErrorBody
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            client=client,
            body=body,
        )
    ).parsed
