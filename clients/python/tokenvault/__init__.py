"""tokenvault: a client for the credential vault.

    from tokenvault import Vault
    vault = Vault("http://127.0.0.1:8000", api_key="agk_…")
    token = vault.token("user-42", "google")

`Vault` is synchronous, `AsyncVault` the same for asyncio. Errors are exceptions:
`ReauthorizeRequired` (410), `RetryLater` (503/429, with `retry_after`), `NotFound`,
`Unauthorized`, `Forbidden`, `InvalidRequest`, all `TokenvaultError`.
"""

from .errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    ReauthorizeRequired,
    RetryLater,
    TokenvaultError,
    Unauthorized,
)
from .vault import AsyncVault, ConnectLink, Credential, Event, Vault

__all__ = [
    "AsyncVault",
    "ConnectLink",
    "Credential",
    "Event",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "ReauthorizeRequired",
    "RetryLater",
    "TokenvaultError",
    "Unauthorized",
    "Vault",
]
