from __future__ import annotations

from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    user_id: str,
    integration_key: str,
    path: str,
    *,
    body: File | Unset = UNSET,
    x_tokenvault_retries: int | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_tokenvault_retries, Unset):
        headers["X-Tokenvault-Retries"] = str(x_tokenvault_retries)

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v2/users/{user_id}/proxy/{integration_key}/{path}".format(
            user_id=quote(str(user_id), safe=""),
            integration_key=quote(str(integration_key), safe=""),
            path=quote(str(path), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["content"] = body.payload
    headers["Content-Type"] = "application/octet-stream"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorBody:
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

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 502:
        response_502 = ErrorBody.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = ErrorBody.from_dict(response.json())

        return response_504

    response_default = cast(Any, None)
    return response_default


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
    user_id: str,
    integration_key: str,
    path: str,
    *,
    client: AuthenticatedClient,
    body: File | Unset = UNSET,
    x_tokenvault_retries: int | Unset = UNSET,
) -> Response[Any | ErrorBody]:
    """Call the provider's API with a stored credential, without reading it.

     The request goes to the provider's `api_base_url` + `path` (+ the query string) with the
    credential where the provider wants it (`Authorization: Bearer`, a header, a query parameter
    or HTTP Basic); the caller's `X-API-Key`, `Authorization` and `Cookie` never go upstream.
    An expiring token is refreshed first; a 401 from the API renews it once and sends again
    (bodies up to 1 MiB). `X-Tokenvault-Retries: N` (≤ 3) retries 429 and 503 answers, honouring
    `Retry-After` up to 10 s. The API's status, headers (minus hop-by-hop and `Set-Cookie`) and
    body come back as they were, streamed; redirects are returned, never followed. Errors
    tokenvault makes itself carry `X-Tokenvault-Error: true`. Needs `tokens:proxy` (or
    `tokens:read`).

    Args:
        user_id (str):
        integration_key (str):
        path (str):
        x_tokenvault_retries (int | Unset):
        body (File | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
        path=path,
        body=body,
        x_tokenvault_retries=x_tokenvault_retries,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user_id: str,
    integration_key: str,
    path: str,
    *,
    client: AuthenticatedClient,
    body: File | Unset = UNSET,
    x_tokenvault_retries: int | Unset = UNSET,
) -> Any | ErrorBody | None:
    """Call the provider's API with a stored credential, without reading it.

     The request goes to the provider's `api_base_url` + `path` (+ the query string) with the
    credential where the provider wants it (`Authorization: Bearer`, a header, a query parameter
    or HTTP Basic); the caller's `X-API-Key`, `Authorization` and `Cookie` never go upstream.
    An expiring token is refreshed first; a 401 from the API renews it once and sends again
    (bodies up to 1 MiB). `X-Tokenvault-Retries: N` (≤ 3) retries 429 and 503 answers, honouring
    `Retry-After` up to 10 s. The API's status, headers (minus hop-by-hop and `Set-Cookie`) and
    body come back as they were, streamed; redirects are returned, never followed. Errors
    tokenvault makes itself carry `X-Tokenvault-Error: true`. Needs `tokens:proxy` (or
    `tokens:read`).

    Args:
        user_id (str):
        integration_key (str):
        path (str):
        x_tokenvault_retries (int | Unset):
        body (File | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return sync_detailed(
        user_id=user_id,
        integration_key=integration_key,
        path=path,
        client=client,
        body=body,
        x_tokenvault_retries=x_tokenvault_retries,
    ).parsed


async def asyncio_detailed(
    user_id: str,
    integration_key: str,
    path: str,
    *,
    client: AuthenticatedClient,
    body: File | Unset = UNSET,
    x_tokenvault_retries: int | Unset = UNSET,
) -> Response[Any | ErrorBody]:
    """Call the provider's API with a stored credential, without reading it.

     The request goes to the provider's `api_base_url` + `path` (+ the query string) with the
    credential where the provider wants it (`Authorization: Bearer`, a header, a query parameter
    or HTTP Basic); the caller's `X-API-Key`, `Authorization` and `Cookie` never go upstream.
    An expiring token is refreshed first; a 401 from the API renews it once and sends again
    (bodies up to 1 MiB). `X-Tokenvault-Retries: N` (≤ 3) retries 429 and 503 answers, honouring
    `Retry-After` up to 10 s. The API's status, headers (minus hop-by-hop and `Set-Cookie`) and
    body come back as they were, streamed; redirects are returned, never followed. Errors
    tokenvault makes itself carry `X-Tokenvault-Error: true`. Needs `tokens:proxy` (or
    `tokens:read`).

    Args:
        user_id (str):
        integration_key (str):
        path (str):
        x_tokenvault_retries (int | Unset):
        body (File | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody]
    """

    kwargs = _get_kwargs(
        user_id=user_id,
        integration_key=integration_key,
        path=path,
        body=body,
        x_tokenvault_retries=x_tokenvault_retries,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_id: str,
    integration_key: str,
    path: str,
    *,
    client: AuthenticatedClient,
    body: File | Unset = UNSET,
    x_tokenvault_retries: int | Unset = UNSET,
) -> Any | ErrorBody | None:
    """Call the provider's API with a stored credential, without reading it.

     The request goes to the provider's `api_base_url` + `path` (+ the query string) with the
    credential where the provider wants it (`Authorization: Bearer`, a header, a query parameter
    or HTTP Basic); the caller's `X-API-Key`, `Authorization` and `Cookie` never go upstream.
    An expiring token is refreshed first; a 401 from the API renews it once and sends again
    (bodies up to 1 MiB). `X-Tokenvault-Retries: N` (≤ 3) retries 429 and 503 answers, honouring
    `Retry-After` up to 10 s. The API's status, headers (minus hop-by-hop and `Set-Cookie`) and
    body come back as they were, streamed; redirects are returned, never followed. Errors
    tokenvault makes itself carry `X-Tokenvault-Error: true`. Needs `tokens:proxy` (or
    `tokens:read`).

    Args:
        user_id (str):
        integration_key (str):
        path (str):
        x_tokenvault_retries (int | Unset):
        body (File | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody
    """

    return (
        await asyncio_detailed(
            user_id=user_id,
            integration_key=integration_key,
            path=path,
            client=client,
            body=body,
            x_tokenvault_retries=x_tokenvault_retries,
        )
    ).parsed
