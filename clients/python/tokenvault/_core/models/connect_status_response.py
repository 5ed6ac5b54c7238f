from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.connect_flow import ConnectFlow
from ..models.connect_status import ConnectStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="ConnectStatusResponse")


@_attrs_define
class ConnectStatusResponse:
    """Where a connect stands.

    Attributes:
        connect_id (str):
        expires_at (datetime.datetime):
        flow (ConnectFlow):
        integration_key (str): Where the credential is (or will be) stored.
        provider (str):  Example: github.
        status (ConnectStatus):
        error (None | str | Unset): Why it did not connect: an OAuth error code (`access_denied`, `expired_token`, …) or
            tokenvault's (`exchange_failed`, `issuer_mismatch`, …).
    """

    connect_id: str
    expires_at: datetime.datetime
    flow: ConnectFlow
    integration_key: str
    provider: str
    status: ConnectStatus
    error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        connect_id = self.connect_id

        expires_at = self.expires_at.isoformat()

        flow = self.flow.value

        integration_key = self.integration_key

        provider = self.provider

        status = self.status.value

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
                "expires_at": expires_at,
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

        expires_at = isoparse(d.pop("expires_at"))

        flow = ConnectFlow(d.pop("flow"))

        integration_key = d.pop("integration_key")

        provider = d.pop("provider")

        status = ConnectStatus(d.pop("status"))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        error = _parse_error(d.pop("error", UNSET))

        connect_status_response = cls(
            connect_id=connect_id,
            expires_at=expires_at,
            flow=flow,
            integration_key=integration_key,
            provider=provider,
            status=status,
            error=error,
        )

        connect_status_response.additional_properties = d
        return connect_status_response

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
