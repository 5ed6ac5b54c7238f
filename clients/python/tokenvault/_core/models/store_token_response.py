from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.token_type import TokenType

T = TypeVar("T", bound="StoreTokenResponse")


@_attrs_define
class StoreTokenResponse:
    """
    Attributes:
        created_at (datetime.datetime):  Example: 2025-01-15T10:00:00Z.
        integration_key (str):  Example: google.
        message (str):  Example: Token stored successfully for google.
        provider (str):  Example: google.
        token_type (TokenType):
    """

    created_at: datetime.datetime
    integration_key: str
    message: str
    provider: str
    token_type: TokenType
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        integration_key = self.integration_key

        message = self.message

        provider = self.provider

        token_type = self.token_type.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "integration_key": integration_key,
                "message": message,
                "provider": provider,
                "token_type": token_type,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        created_at = isoparse(d.pop("created_at"))

        integration_key = d.pop("integration_key")

        message = d.pop("message")

        provider = d.pop("provider")

        token_type = TokenType(d.pop("token_type"))

        store_token_response = cls(
            created_at=created_at,
            integration_key=integration_key,
            message=message,
            provider=provider,
            token_type=token_type,
        )

        store_token_response.additional_properties = d
        return store_token_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
