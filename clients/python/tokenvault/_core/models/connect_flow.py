from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """`enum.StrEnum` (3.11) for 3.9: members are strings and print as their value."""

    def __str__(self) -> str:
        return str(self.value)


class ConnectFlow(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    DEVICE = "device"
    FORM = "form"

    def __str__(self) -> str:
        return str(self.value)
