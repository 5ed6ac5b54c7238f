from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """`enum.StrEnum` (3.11) for 3.9: members are strings and print as their value."""

    def __str__(self) -> str:
        return str(self.value)


class WebhookEvent(StrEnum):
    CREDENTIAL_CONNECTED = "credential.connected"
    CREDENTIAL_DELETED = "credential.deleted"
    CREDENTIAL_INVALID = "credential.invalid"
    CREDENTIAL_RECOVERED = "credential.recovered"
    CREDENTIAL_REFRESH_FAILED = "credential.refresh_failed"

    def __str__(self) -> str:
        return str(self.value)
