from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConnectSessionCreated")


@_attrs_define
class ConnectSessionCreated:
    """A made link.

    Attributes:
        expires_at (datetime.datetime):
        id (str):  Example: cs_8Hq2Zk1Lw9TfXbVn3RcYp0Ad.
        url (str): Hand this to the user (it is the only copy of the link's token). Example:
            https://vault.example.com/connect/3vQb….
    """

    expires_at: datetime.datetime
    id: str
    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        expires_at = self.expires_at.isoformat()

        id = self.id

        url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "expires_at": expires_at,
                "id": id,
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        expires_at = isoparse(d.pop("expires_at"))

        id = d.pop("id")

        url = d.pop("url")

        connect_session_created = cls(
            expires_at=expires_at,
            id=id,
            url=url,
        )

        connect_session_created.additional_properties = d
        return connect_session_created

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
