from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.session_connect import SessionConnect


T = TypeVar("T", bound="ConnectSession")


@_attrs_define
class ConnectSession:
    """A connect session and what was connected through it.

    Attributes:
        connects (list[SessionConnect]): The connects started on the page, oldest first.
        created_at (datetime.datetime):
        expires_at (datetime.datetime):
        id (str):
        popup (bool):
        user_id (str):
        providers (list[str] | None | Unset): The allow-list, when the session has one.
        redirect_uri (None | str | Unset):
    """

    connects: list[SessionConnect]
    created_at: datetime.datetime
    expires_at: datetime.datetime
    id: str
    popup: bool
    user_id: str
    providers: list[str] | None | Unset = UNSET
    redirect_uri: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        connects = []
        for connects_item_data in self.connects:
            connects_item = connects_item_data.to_dict()
            connects.append(connects_item)

        created_at = self.created_at.isoformat()

        expires_at = self.expires_at.isoformat()

        id = self.id

        popup = self.popup

        user_id = self.user_id

        providers: list[str] | None | Unset
        if isinstance(self.providers, Unset):
            providers = UNSET
        elif isinstance(self.providers, list):
            providers = self.providers

        else:
            providers = self.providers

        redirect_uri: None | str | Unset
        if isinstance(self.redirect_uri, Unset):
            redirect_uri = UNSET
        else:
            redirect_uri = self.redirect_uri

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "connects": connects,
                "created_at": created_at,
                "expires_at": expires_at,
                "id": id,
                "popup": popup,
                "user_id": user_id,
            }
        )
        if providers is not UNSET:
            field_dict["providers"] = providers
        if redirect_uri is not UNSET:
            field_dict["redirect_uri"] = redirect_uri

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.session_connect import SessionConnect

        d = dict(src_dict)
        connects = []
        _connects = d.pop("connects")
        for connects_item_data in _connects:
            connects_item = SessionConnect.from_dict(connects_item_data)

            connects.append(connects_item)

        created_at = isoparse(d.pop("created_at"))

        expires_at = isoparse(d.pop("expires_at"))

        id = d.pop("id")

        popup = d.pop("popup")

        user_id = d.pop("user_id")

        def _parse_providers(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                providers_type_0 = cast(list[str], data)

                return providers_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast("list[str] | None | Unset", data)

        providers = _parse_providers(d.pop("providers", UNSET))

        def _parse_redirect_uri(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        redirect_uri = _parse_redirect_uri(d.pop("redirect_uri", UNSET))

        connect_session = cls(
            connects=connects,
            created_at=created_at,
            expires_at=expires_at,
            id=id,
            popup=popup,
            user_id=user_id,
            providers=providers,
            redirect_uri=redirect_uri,
        )

        connect_session.additional_properties = d
        return connect_session

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
