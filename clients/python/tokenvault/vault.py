"""The facade: `Vault` (blocking) and `AsyncVault` over the generated core (`_core`)."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union
from urllib.parse import quote

import httpx

from ._core.api.tokens import delete_token, get_token, list_token_events
from ._core.client import AuthenticatedClient
from ._core.types import UNSET, Response
from .errors import TokenvaultError, error_for

DEFAULT_TIMEOUT = 10.0

Body = Union[bytes, str, None]


@dataclass(frozen=True)
class Credential:
    """A usable credential. `secret` is what to send to the provider: the access token, the
    API key, the JWT, or (basic) the `Authorization` header value."""

    integration_key: str
    provider: str
    token_type: str
    token_data: Dict[str, Any] = field(repr=False)
    status: str
    refreshed: bool
    is_expired: bool
    expires_at: Optional[datetime.datetime] = None
    scopes: Optional[List[str]] = None
    account: Optional[Dict[str, Any]] = None

    @property
    def secret(self) -> str:
        data = self.token_data
        for name in ("access_token", "api_key", "token", "authorization"):
            value = data.get(name)
            if isinstance(value, str) and value:
                return value
        raise TokenvaultError(200, "no_secret", "the credential holds no usable secret")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "Credential":
        expires = body.get("expires_at")
        return cls(
            integration_key=body["integration_key"],
            provider=body["provider"],
            token_type=body["token_type"],
            token_data=dict(body.get("token_data") or {}),
            status=body.get("status", "active"),
            refreshed=bool(body.get("refreshed")),
            is_expired=bool(body.get("is_expired")),
            expires_at=_time(expires) if expires else None,
            scopes=body.get("scopes"),
            account=body.get("account"),
        )


@dataclass(frozen=True)
class Event:
    """One audit event of a credential (never a secret)."""

    id: int
    event: str
    outcome: str
    reason: Optional[str]
    created_at: datetime.datetime


@dataclass(frozen=True)
class ConnectLink:
    """Where to send the user's browser to connect an account (`url`), and the connect's id."""

    url: str
    connect_id: str
    expires_at: Optional[datetime.datetime]


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _client(url: str, api_key: str, timeout: float, transport: Any = None) -> AuthenticatedClient:
    """The core's client: `X-API-Key` for an `agk_…` key, `Authorization: Bearer` for an
    `agat_…` access token."""
    bearer = api_key.startswith("agat_")
    args: Dict[str, Any] = {} if transport is None else {"transport": transport}
    return AuthenticatedClient(
        base_url=url.rstrip("/"),
        token=api_key,
        prefix="Bearer" if bearer else "",
        auth_header_name="Authorization" if bearer else "X-API-Key",
        timeout=httpx.Timeout(timeout),
        httpx_args=args,
    )


def _checked(status: int, content: bytes, headers: Mapping[str, str]) -> Any:
    """The JSON of a 2xx answer; the matching exception otherwise."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if 200 <= status < 300:
        return body
    raise error_for(status, body, headers.get("retry-after"))


def _of(response: Response[Any]) -> Any:
    return _checked(int(response.status_code), response.content, response.headers)


def _store_body(integration_key: str, provider: str, token_type: str,
                token_data: Mapping[str, Any], scopes: Optional[List[str]],
                expires_at: Optional[str]) -> Dict[str, Any]:
    body: Dict[str, Any] = {"integration_key": integration_key, "provider": provider,
                            "token_type": token_type, "token_data": dict(token_data)}
    if scopes is not None:
        body["scopes"] = list(scopes)
    if expires_at is not None:
        body["expires_at"] = expires_at
    return body


def _proxy_path(user: str, integration: str, path: str) -> str:
    return f"/v2/users/{quote(user, safe='')}/proxy/{quote(integration, safe='')}/{path.lstrip('/')}"


def _proxy_headers(headers: Optional[Mapping[str, str]], retries: int) -> Dict[str, str]:
    out = dict(headers or {})
    if retries:
        out["X-Tokenvault-Retries"] = str(retries)
    return out


def _proxied(response: httpx.Response) -> httpx.Response:
    """The provider API's answer as it is; an error tokenvault made itself as an exception."""
    if response.headers.get("x-tokenvault-error") == "true":
        _checked(response.status_code, response.content, response.headers)
    return response


def _events(body: Any) -> List[Event]:
    return [Event(id=e["id"], event=e["event"], outcome=e["outcome"], reason=e.get("reason"),
                  created_at=_time(e["created_at"])) for e in body or []]


def _connect_request(user: str, provider: str, redirect_uri: str, scopes: Optional[List[str]],
                     integration_key: Optional[str]) -> Dict[str, Any]:
    """The connect request (as JSON: a provider may come from the server's PROVIDERS_FILE,
    beyond the catalogue the core's enum knows)."""
    body: Dict[str, Any] = {"provider": provider, "redirect_uri": redirect_uri}
    if scopes is not None:
        body["scopes"] = list(scopes)
    if integration_key is not None:
        body["integration_key"] = integration_key
    return {"url": f"/v2/users/{quote(user, safe='')}/connect", "json": body}


def _link(body: Mapping[str, Any]) -> ConnectLink:
    expires = body.get("expires_at")
    return ConnectLink(url=body["authorization_url"], connect_id=body.get("connect_id", ""),
                       expires_at=_time(expires) if expires else None)


class Vault:
    """A blocking client of one tokenvault server.

    `api_key` is an `agk_…` API key or an `agat_…` access token. Every call times out after
    `timeout` seconds (10 by default). Nothing here logs or prints a secret.
    """

    def __init__(self, url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT,
                 transport: Optional[httpx.BaseTransport] = None) -> None:
        self._core = _client(url, api_key, timeout, transport)

    def __repr__(self) -> str:
        return f"Vault({self._core._base_url!r})"

    def close(self) -> None:
        self._core.get_httpx_client().close()

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, user: str, integration: str, *, force_refresh: bool = False,
            min_validity: Optional[int] = None) -> Credential:
        """The usable credential, refreshed first when it is about to expire."""
        response = get_token.sync_detailed(
            user, integration, client=self._core,
            force_refresh=True if force_refresh else UNSET,
            min_validity=UNSET if min_validity is None else min_validity)
        return Credential.from_json(_of(response))

    def token(self, user: str, integration: str, **options: Any) -> str:
        """Just the secret to send to the provider (access token, API key, JWT)."""
        return self.get(user, integration, **options).secret

    def store(self, user: str, integration_key: str, *, provider: str, token_type: str,
              token_data: Mapping[str, Any], scopes: Optional[List[str]] = None,
              expires_at: Optional[str] = None) -> Dict[str, Any]:
        """Stores (or replaces) a credential; the server's answer."""
        body = _store_body(integration_key, provider, token_type, token_data, scopes, expires_at)
        response = self._core.get_httpx_client().post(
            f"/v2/users/{quote(user, safe='')}/tokens", json=body)
        return _checked(response.status_code, response.content, response.headers)

    def delete(self, user: str, integration: str, *, revoke: bool = True) -> Dict[str, Any]:
        """Deletes a credential (revoking it at the provider first unless `revoke=False`)."""
        response = delete_token.sync_detailed(user, integration, client=self._core,
                                              revoke=UNSET if revoke else False)
        return _of(response)

    def events(self, user: str, integration: str, *, limit: int = 50) -> List[Event]:
        """The credential's audit events, newest first."""
        response = list_token_events.sync_detailed(user, integration, client=self._core,
                                                   limit=limit)
        return _events(_of(response))

    def proxy(self, user: str, integration: str, method: str, path: str, *,
              params: Optional[Mapping[str, str]] = None,
              headers: Optional[Mapping[str, str]] = None, json: Any = None,
              content: Body = None, retries: int = 0) -> httpx.Response:
        """Calls the provider's API with the credential, which never reaches this process.
        Returns the API's own answer (any status); raises only for errors tokenvault made."""
        response = self._core.get_httpx_client().request(
            method.upper(), _proxy_path(user, integration, path), params=params,
            headers=_proxy_headers(headers, retries), json=json, content=content)
        return _proxied(response)

    def connect_link(self, user: str, provider: str, *, redirect_uri: str,
                     scopes: Optional[List[str]] = None,
                     integration_key: Optional[str] = None) -> ConnectLink:
        """Starts connecting the user's account: send their browser to the link's `url`."""
        request = _connect_request(user, provider, redirect_uri, scopes, integration_key)
        response = self._core.get_httpx_client().post(**request)
        return _link(_checked(response.status_code, response.content, response.headers))


class AsyncVault:
    """`Vault` for asyncio: the same methods, awaited."""

    def __init__(self, url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._core = _client(url, api_key, timeout)

    def __repr__(self) -> str:
        return f"AsyncVault({self._core._base_url!r})"

    async def aclose(self) -> None:
        await self._core.get_async_httpx_client().aclose()

    async def __aenter__(self) -> "AsyncVault":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def get(self, user: str, integration: str, *, force_refresh: bool = False,
                  min_validity: Optional[int] = None) -> Credential:
        response = await get_token.asyncio_detailed(
            user, integration, client=self._core,
            force_refresh=True if force_refresh else UNSET,
            min_validity=UNSET if min_validity is None else min_validity)
        return Credential.from_json(_of(response))

    async def token(self, user: str, integration: str, **options: Any) -> str:
        return (await self.get(user, integration, **options)).secret

    async def store(self, user: str, integration_key: str, *, provider: str, token_type: str,
                    token_data: Mapping[str, Any], scopes: Optional[List[str]] = None,
                    expires_at: Optional[str] = None) -> Dict[str, Any]:
        body = _store_body(integration_key, provider, token_type, token_data, scopes, expires_at)
        response = await self._core.get_async_httpx_client().post(
            f"/v2/users/{quote(user, safe='')}/tokens", json=body)
        return _checked(response.status_code, response.content, response.headers)

    async def delete(self, user: str, integration: str, *, revoke: bool = True) -> Dict[str, Any]:
        response = await delete_token.asyncio_detailed(user, integration, client=self._core,
                                                       revoke=UNSET if revoke else False)
        return _of(response)

    async def events(self, user: str, integration: str, *, limit: int = 50) -> List[Event]:
        response = await list_token_events.asyncio_detailed(user, integration, client=self._core,
                                                            limit=limit)
        return _events(_of(response))

    async def proxy(self, user: str, integration: str, method: str, path: str, *,
                    params: Optional[Mapping[str, str]] = None,
                    headers: Optional[Mapping[str, str]] = None, json: Any = None,
                    content: Body = None, retries: int = 0) -> httpx.Response:
        response = await self._core.get_async_httpx_client().request(
            method.upper(), _proxy_path(user, integration, path), params=params,
            headers=_proxy_headers(headers, retries), json=json, content=content)
        return _proxied(response)

    async def connect_link(self, user: str, provider: str, *, redirect_uri: str,
                           scopes: Optional[List[str]] = None,
                           integration_key: Optional[str] = None) -> ConnectLink:
        request = _connect_request(user, provider, redirect_uri, scopes, integration_key)
        response = await self._core.get_async_httpx_client().post(**request)
        return _link(_checked(response.status_code, response.content, response.headers))
