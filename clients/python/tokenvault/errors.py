"""What can go wrong, as exceptions a caller can catch by meaning rather than by status code."""

from __future__ import annotations

from typing import Optional


class TokenvaultError(Exception):
    """tokenvault refused or failed a request. `status` is the HTTP status, `code` the stable
    machine code of the JSON error (`not_found`, `connection_error`, …), `message` the sentence
    for a person. Never carries a secret."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class InvalidRequest(TokenvaultError):
    """400 or 422: the request itself is wrong (a bad path, an unknown provider, bad data)."""


class Unauthorized(TokenvaultError):
    """401: no, unknown, revoked or expired API key or access token."""


class Forbidden(TokenvaultError):
    """403: the key lacks the scope, or is bound to another user."""


class NotFound(TokenvaultError):
    """404: no such credential (or route)."""


class ReauthorizeRequired(TokenvaultError):
    """410 `connection_error`: the provider rejected the refresh token; the user must connect
    the account again."""


class RetryLater(TokenvaultError):
    """503 or 429 (or 502/504 from the proxy): transient; `retry_after` is the server's advice
    in seconds when it gave one."""

    def __init__(self, status: int, code: str, message: str, retry_after: Optional[int]) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


def error_for(status: int, body: object, retry_after: Optional[str]) -> TokenvaultError:
    """The exception for an error answer of tokenvault."""
    code, message = f"http_{status}", ""
    if isinstance(body, dict):
        code = str(body.get("error") or code)
        message = str(body.get("message") or "")
    if status in (429, 502, 503, 504):
        seconds = int(retry_after) if retry_after and retry_after.strip().isdigit() else None
        return RetryLater(status, code, message, seconds)
    kinds = {400: InvalidRequest, 422: InvalidRequest, 401: Unauthorized, 403: Forbidden,
             404: NotFound, 410: ReauthorizeRequired}
    return kinds.get(status, TokenvaultError)(status, code, message)
