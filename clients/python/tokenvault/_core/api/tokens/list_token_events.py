from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.token_event import TokenEvent
from ...types import UNSET, Response, Unset


def _get_kwargs(
    user_id: str,
    integration_key: str,
    *,
    limit: int | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_limit: int | None | Unset
    if isinstance(limit, Unset):
        json_limit = UNSET
    else:
        json_limit = limit
    params["limit"] = json_limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/users/{user_id}/tokens/{integration_key}/events".format(
            user_id=quote(str(user_id), safe=""),
            integration_key=quote(str(integration_key), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | list[TokenEvent] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = TokenEvent.from_dict(response_200_item_data)

            response_200.append(response_200_item)

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
) -> Response[ErrorBody | list[TokenEvent]]:
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
    limit: int | None | Unset = UNSET,
) -> Response[ErrorBody | list[TokenEvent]]:
    """List a credential's audit events, newest first.

     Stores, refresh attempts (with their outcome and reason), revocations and deletes. The events
    of a deleted credential stay readable. Never contains secrets.

    Args:
        user_id (str):
        integration_key (str):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[TokenEvent]]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
        limit=limit,
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
    limit: int | None | Unset = UNSET,
) -> ErrorBody | list[TokenEvent] | None:
    """List a credential's audit events, newest first.

     Stores, refresh attempts (with their outcome and reason), revocations and deletes. The events
    of a deleted credential stay readable. Never contains secrets.

    Args:
        user_id (str):
        integration_key (str):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[TokenEvent]
    """

    return sync_detailed(
        user_id=user_id,
        integration_key=integration_key,
        client=client,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
    limit: int | None | Unset = UNSET,
) -> Response[ErrorBody | list[TokenEvent]]:
    """List a credential's audit events, newest first.

     Stores, refresh attempts (with their outcome and reason), revocations and deletes. The events
    of a deleted credential stay readable. Never contains secrets.

    Args:
        user_id (str):
        integration_key (str):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[TokenEvent]]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
    limit: int | None | Unset = UNSET,
) -> ErrorBody | list[TokenEvent] | None:
    """List a credential's audit events, newest first.

     Stores, refresh attempts (with their outcome and reason), revocations and deletes. The events
    of a deleted credential stay readable. Never contains secrets.

    Args:
        user_id (str):
        integration_key (str):
        limit (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[TokenEvent]
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            integration_key=integration_key,
            client=client,
            limit=limit,
        )
    ).parsed
