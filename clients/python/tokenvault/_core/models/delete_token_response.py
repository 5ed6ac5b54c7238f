from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.revocation import Revocation
from ..types import UNSET, Unset

T = TypeVar("T", bound="DeleteTokenResponse")


@_attrs_define
class DeleteTokenResponse:
    """
    Attributes:
        integration_key (str):  Example: google.
        message (str):  Example: Token for google deleted successfully.
        revocation (Revocation):
        revocation_error (None | str | Unset): Why revocation failed, when it did.
    """

    integration_key: str
    message: str
    revocation: Revocation
    revocation_error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        integration_key = self.integration_key

        message = self.message

        revocation = self.revocation.value

        revocation_error: None | str | Unset
        if isinstance(self.revocation_error, Unset):
            revocation_error = UNSET
        else:
            revocation_error = self.revocation_error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "integration_key": integration_key,
                "message": message,
                "revocation": revocation,
            }
        )
        if revocation_error is not UNSET:
            field_dict["revocation_error"] = revocation_error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        integration_key = d.pop("integration_key")

        message = d.pop("message")

        revocation = Revocation(d.pop("revocation"))

        def _parse_revocation_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        revocation_error = _parse_revocation_error(d.pop("revocation_error", UNSET))

        delete_token_response = cls(
            integration_key=integration_key,
            message=message,
            revocation=revocation,
            revocation_error=revocation_error,
        )

        delete_token_response.additional_properties = d
        return delete_token_response

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
