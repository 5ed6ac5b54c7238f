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

T = TypeVar("T", bound="SessionConnect")


@_attrs_define
class SessionConnect:
    """One connect started through a session.

    Attributes:
        connect_id (str):
        created_at (datetime.datetime):
        flow (str): `authorization_code`, `device` or `form` (an API key or password typed on the page).
        integration_key (str):
        provider (str):
        status (str): `pending`, `connected`, `denied`, `expired` or `failed`.
        error (None | str | Unset):
    """

    connect_id: str
    created_at: datetime.datetime
    flow: str
    integration_key: str
    provider: str
    status: str
    error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        connect_id = self.connect_id

        created_at = self.created_at.isoformat()

        flow = self.flow

        integration_key = self.integration_key

        provider = self.provider

        status = self.status

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "connect_id": connect_id,
                "created_at": created_at,
                "flow": flow,
                "integration_key": integration_key,
                "provider": provider,
                "status": status,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        connect_id = d.pop("connect_id")

        created_at = isoparse(d.pop("created_at"))

        flow = d.pop("flow")

        integration_key = d.pop("integration_key")

        provider = d.pop("provider")

        status = d.pop("status")

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        error = _parse_error(d.pop("error", UNSET))

        session_connect = cls(
            connect_id=connect_id,
            created_at=created_at,
            flow=flow,
            integration_key=integration_key,
            provider=provider,
            status=status,
            error=error,
        )

        session_connect.additional_properties = d
        return session_connect

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
