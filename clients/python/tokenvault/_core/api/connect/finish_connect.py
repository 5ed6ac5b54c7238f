from __future__ import annotations

from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    code: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    error: None | str | Unset = UNSET,
    iss: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_code: None | str | Unset
    if isinstance(code, Unset):
        json_code = UNSET
    else:
        json_code = code
    params["code"] = json_code

    json_state: None | str | Unset
    if isinstance(state, Unset):
        json_state = UNSET
    else:
        json_state = state
    params["state"] = json_state

    json_error: None | str | Unset
    if isinstance(error, Unset):
        json_error = UNSET
    else:
        json_error = error
    params["error"] = json_error

    json_iss: None | str | Unset
    if isinstance(iss, Unset):
        json_iss = UNSET
    else:
        json_iss = iss
    params["iss"] = json_iss

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/oauth/callback",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorBody | None:
    if response.status_code == 302:
        response_302 = cast(Any, None)
        return response_302

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    code: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    error: None | str | Unset = UNSET,
    iss: None | str | Unset = UNSET,
) -> Response[Any | ErrorBody]:
    """Where the provider sends the user's browser back (no API key: the state is the credential).

     Exchanges the code, stores the credential and answers 302 to the app's `redirect_uri` with
    `status=connected&integration_key=…`, or `status=error&error=<code>` when the user denied
    or the exchange failed. Never echoes a token or the code.

    Args:
        code (None | str | Unset):
        state (None | str | Unset):
        error (None | str | Unset):
        iss (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        code=code,
        state=state,
        error=error,
        iss=iss,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    code: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    error: None | str | Unset = UNSET,
    iss: None | str | Unset = UNSET,
) -> Any | ErrorBody | None:
    """Where the provider sends the user's browser back (no API key: the state is the credential).

     Exchanges the code, stores the credential and answers 302 to the app's `redirect_uri` with
    `status=connected&integration_key=…`, or `status=error&error=<code>` when the user denied
    or the exchange failed. Never echoes a token or the code.

    Args:
        code (None | str | Unset):
        state (None | str | Unset):
        error (None | str | Unset):
        iss (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return sync_detailed(
        client=client,
        code=code,
        state=state,
        error=error,
        iss=iss,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    code: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    error: None | str | Unset = UNSET,
    iss: None | str | Unset = UNSET,
) -> Response[Any | ErrorBody]:
    """Where the provider sends the user's browser back (no API key: the state is the credential).

     Exchanges the code, stores the credential and answers 302 to the app's `redirect_uri` with
    `status=connected&integration_key=…`, or `status=error&error=<code>` when the user denied
    or the exchange failed. Never echoes a token or the code.

    Args:
        code (None | str | Unset):
        state (None | str | Unset):
        error (None | str | Unset):
        iss (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        code=code,
        state=state,
        error=error,
        iss=iss,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    code: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    error: None | str | Unset = UNSET,
    iss: None | str | Unset = UNSET,
) -> Any | ErrorBody | None:
    """Where the provider sends the user's browser back (no API key: the state is the credential).

     Exchanges the code, stores the credential and answers 302 to the app's `redirect_uri` with
    `status=connected&integration_key=…`, or `status=error&error=<code>` when the user denied
    or the exchange failed. Never echoes a token or the code.

    Args:
        code (None | str | Unset):
        state (None | str | Unset):
        error (None | str | Unset):
        iss (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return (
        await asyncio_detailed(
            client=client,
            code=code,
            state=state,
            error=error,
            iss=iss,
        )
    ).parsed
