from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """`enum.StrEnum` (3.11) for 3.9: members are strings and print as their value."""

    def __str__(self) -> str:
        return str(self.value)


class Outcome(StrEnum):
    CREATED = "created"
    DENIED = "denied"
    FAILED = "failed"
    INVALID = "invalid"
    NOT_SUPPORTED = "not_supported"
    REPLACED = "replaced"
    REVOKED = "revoked"
    SKIPPED = "skipped"
    SUCCESS = "success"
    TRANSIENT = "transient"

    def __str__(self) -> str:
        return str(self.value)
