from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConnectResponse")


@_attrs_define
class ConnectResponse:
    """A started connect: send the user's browser to `authorization_url`.

    Attributes:
        authorization_url (str): Send the user's browser here.
        connect_id (str): Ask `GET /v2/users/{user_id}/connect/{connect_id}` how it stands. Example:
            con_8Hq2Zk1Lw9TfXbVn3RcYp0Ad.
        expires_at (datetime.datetime): The connect must come back before this.
        flow (str):  Example: authorization_code.
        state (str): The single-use state of this connect (it is in the URL too).
    """

    authorization_url: str
    connect_id: str
    expires_at: datetime.datetime
    flow: str
    state: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        authorization_url = self.authorization_url

        connect_id = self.connect_id

        expires_at = self.expires_at.isoformat()

        flow = self.flow

        state = self.state

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "authorization_url": authorization_url,
                "connect_id": connect_id,
                "expires_at": expires_at,
                "flow": flow,
                "state": state,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        authorization_url = d.pop("authorization_url")

        connect_id = d.pop("connect_id")

        expires_at = isoparse(d.pop("expires_at"))

        flow = d.pop("flow")

        state = d.pop("state")

        connect_response = cls(
            authorization_url=authorization_url,
            connect_id=connect_id,
            expires_at=expires_at,
            flow=flow,
            state=state,
        )

        connect_response.additional_properties = d
        return connect_response

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
