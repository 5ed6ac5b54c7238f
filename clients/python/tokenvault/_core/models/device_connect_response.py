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

T = TypeVar("T", bound="DeviceConnectResponse")


@_attrs_define
class DeviceConnectResponse:
    """A started device connect: show the user `user_code` and `verification_uri`.

    Attributes:
        connect_id (str):  Example: con_8Hq2Zk1Lw9TfXbVn3RcYp0Ad.
        expires_at (datetime.datetime): The user must approve before this.
        flow (str):  Example: device.
        interval (int): Seconds between tokenvault's polls of the provider (it grows on `slow_down`). Example: 5.
        user_code (str): What the user enters at `verification_uri`. Example: WDJB-MJHT.
        verification_uri (str): Where the user enters the code, on any device. Example: https://github.com/login/device.
        verification_uri_complete (None | str | Unset): The URL with the code in it, when the provider gives one (none
            of the built-in ones do).
    """

    connect_id: str
    expires_at: datetime.datetime
    flow: str
    interval: int
    user_code: str
    verification_uri: str
    verification_uri_complete: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        connect_id = self.connect_id

        expires_at = self.expires_at.isoformat()

        flow = self.flow

        interval = self.interval

        user_code = self.user_code

        verification_uri = self.verification_uri

        verification_uri_complete: None | str | Unset
        if isinstance(self.verification_uri_complete, Unset):
            verification_uri_complete = UNSET
        else:
            verification_uri_complete = self.verification_uri_complete

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "connect_id": connect_id,
                "expires_at": expires_at,
                "flow": flow,
                "interval": interval,
                "user_code": user_code,
                "verification_uri": verification_uri,
            }
        )
        if verification_uri_complete is not UNSET:
            field_dict["verification_uri_complete"] = verification_uri_complete

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        connect_id = d.pop("connect_id")

        expires_at = isoparse(d.pop("expires_at"))

        flow = d.pop("flow")

        interval = d.pop("interval")

        user_code = d.pop("user_code")

        verification_uri = d.pop("verification_uri")

        def _parse_verification_uri_complete(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        verification_uri_complete = _parse_verification_uri_complete(
            d.pop("verification_uri_complete", UNSET)
        )

        device_connect_response = cls(
            connect_id=connect_id,
            expires_at=expires_at,
            flow=flow,
            interval=interval,
            user_code=user_code,
            verification_uri=verification_uri,
            verification_uri_complete=verification_uri_complete,
        )

        device_connect_response.additional_properties = d
        return device_connect_response

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
