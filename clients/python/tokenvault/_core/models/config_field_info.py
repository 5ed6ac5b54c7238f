from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConfigFieldInfo")


@_attrs_define
class ConfigFieldInfo:
    """One per-account field of a provider.

    Attributes:
        from_provider (bool): Whether the provider's reply (or callback) fills it at connect.
        name (str):  Example: subdomain.
        pattern (str): An anchored regex the value must match. Example: ^[a-z0-9][a-z0-9-]{0,62}$.
        required (bool): Whether store and connect need it from the caller.
    """

    from_provider: bool
    name: str
    pattern: str
    required: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from_provider = self.from_provider

        name = self.name

        pattern = self.pattern

        required = self.required

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "from_provider": from_provider,
                "name": name,
                "pattern": pattern,
                "required": required,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        from_provider = d.pop("from_provider")

        name = d.pop("name")

        pattern = d.pop("pattern")

        required = d.pop("required")

        config_field_info = cls(
            from_provider=from_provider,
            name=name,
            pattern=pattern,
            required=required,
        )

        config_field_info.additional_properties = d
        return config_field_info

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
