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

T = TypeVar("T", bound="AccessToken")


@_attrs_define
class AccessToken:
    """The access token resource. `access_token` is only ever shown in the creation reply.

    Attributes:
        account_id (str): The tenant (Crunchy Bridge's account).
        api_key_id (str):
        created_at (datetime.datetime):
        expires_at (datetime.datetime):
        expires_in (int): Seconds until it expires.
        id (str):  Example: at_8Jq2mVx0bLr5TnWc7Yd1.
        tenant (str):
        token_type (str):  Example: bearer.
        access_token (None | str | Unset): The secret, for `Authorization: Bearer`; `null` everywhere but the creation
            reply.
    """

    account_id: str
    api_key_id: str
    created_at: datetime.datetime
    expires_at: datetime.datetime
    expires_in: int
    id: str
    tenant: str
    token_type: str
    access_token: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        api_key_id = self.api_key_id

        created_at = self.created_at.isoformat()

        expires_at = self.expires_at.isoformat()

        expires_in = self.expires_in

        id = self.id

        tenant = self.tenant

        token_type = self.token_type

        access_token: None | str | Unset
        if isinstance(self.access_token, Unset):
            access_token = UNSET
        else:
            access_token = self.access_token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "api_key_id": api_key_id,
                "created_at": created_at,
                "expires_at": expires_at,
                "expires_in": expires_in,
                "id": id,
                "tenant": tenant,
                "token_type": token_type,
            }
        )
        if access_token is not UNSET:
            field_dict["access_token"] = access_token

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        account_id = d.pop("account_id")

        api_key_id = d.pop("api_key_id")

        created_at = isoparse(d.pop("created_at"))

        expires_at = isoparse(d.pop("expires_at"))

        expires_in = d.pop("expires_in")

        id = d.pop("id")

        tenant = d.pop("tenant")

        token_type = d.pop("token_type")

        def _parse_access_token(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        access_token = _parse_access_token(d.pop("access_token", UNSET))

        access_token = cls(
            account_id=account_id,
            api_key_id=api_key_id,
            created_at=created_at,
            expires_at=expires_at,
            expires_in=expires_in,
            id=id,
            tenant=tenant,
            token_type=token_type,
            access_token=access_token,
        )

        access_token.additional_properties = d
        return access_token

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
