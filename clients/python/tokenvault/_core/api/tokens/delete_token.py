from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.delete_token_response import DeleteTokenResponse
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    user_id: str,
    integration_key: str,
    *,
    revoke: bool | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_revoke: bool | None | Unset
    if isinstance(revoke, Unset):
        json_revoke = UNSET
    else:
        json_revoke = revoke
    params["revoke"] = json_revoke

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/v2/users/{user_id}/tokens/{integration_key}".format(
            user_id=quote(str(user_id), safe=""),
            integration_key=quote(str(integration_key), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DeleteTokenResponse | ErrorBody | None:
    if response.status_code == 200:
        response_200 = DeleteTokenResponse.from_dict(response.json())

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
) -> Response[DeleteTokenResponse | ErrorBody]:
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
    revoke: bool | None | Unset = UNSET,
) -> Response[DeleteTokenResponse | ErrorBody]:
    """Delete a credential, revoking it at the provider first (best effort).

     A failing revocation still deletes the credential; `revocation` says what happened.

    Args:
        user_id (str):
        integration_key (str):
        revoke (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeleteTokenResponse | ErrorBody]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
        revoke=revoke,
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
    revoke: bool | None | Unset = UNSET,
) -> DeleteTokenResponse | ErrorBody | None:
    """Delete a credential, revoking it at the provider first (best effort).

     A failing revocation still deletes the credential; `revocation` says what happened.

    Args:
        user_id (str):
        integration_key (str):
        revoke (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeleteTokenResponse | ErrorBody
    """

    return sync_detailed(
        user_id=user_id,
        integration_key=integration_key,
        client=client,
        revoke=revoke,
    ).parsed


async def asyncio_detailed(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
    revoke: bool | None | Unset = UNSET,
) -> Response[DeleteTokenResponse | ErrorBody]:
    """Delete a credential, revoking it at the provider first (best effort).

     A failing revocation still deletes the credential; `revocation` says what happened.

    Args:
        user_id (str):
        integration_key (str):
        revoke (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeleteTokenResponse | ErrorBody]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
        revoke=revoke,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_id: str,
    integration_key: str,
    *,
    client: AuthenticatedClient,
    revoke: bool | None | Unset = UNSET,
) -> DeleteTokenResponse | ErrorBody | None:
    """Delete a credential, revoking it at the provider first (best effort).

     A failing revocation still deletes the credential; `revocation` says what happened.

    Args:
        user_id (str):
        integration_key (str):
        revoke (bool | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeleteTokenResponse | ErrorBody
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            integration_key=integration_key,
            client=client,
            revoke=revoke,
        )
    ).parsed
