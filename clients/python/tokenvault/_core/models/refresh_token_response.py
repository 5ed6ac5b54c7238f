from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RefreshTokenResponse")


@_attrs_define
class RefreshTokenResponse:
    """
    Attributes:
        integration_key (str):
        message (str):  Example: Token refreshed successfully.
        refreshed_at (datetime.datetime):
        success (bool):
    """

    integration_key: str
    message: str
    refreshed_at: datetime.datetime
    success: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        integration_key = self.integration_key

        message = self.message

        refreshed_at = self.refreshed_at.isoformat()

        success = self.success

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "integration_key": integration_key,
                "message": message,
                "refreshed_at": refreshed_at,
                "success": success,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        integration_key = d.pop("integration_key")

        message = d.pop("message")

        refreshed_at = isoparse(d.pop("refreshed_at"))

        success = d.pop("success")

        refresh_token_response = cls(
            integration_key=integration_key,
            message=message,
            refreshed_at=refreshed_at,
            success=success,
        )

        refresh_token_response.additional_properties = d
        return refresh_token_response

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
