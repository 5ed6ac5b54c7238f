from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.token_status import TokenStatus
from ..models.token_type import TokenType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.account import Account
    from ..models.b_tree_map import BTreeMap


T = TypeVar("T", bound="TokenMetadata")


@_attrs_define
class TokenMetadata:
    """Metadata of a stored credential; never its secret.

    Attributes:
        connection_config (BTreeMap):
        created_at (datetime.datetime):
        integration_key (str):
        is_expired (bool):
        provider (str):
        status (TokenStatus):
        token_type (TokenType):
        updated_at (datetime.datetime):
        account (Account | None | Unset):
        expires_at (datetime.datetime | None | Unset):
        scopes (list[str] | None | Unset):
    """

    connection_config: BTreeMap
    created_at: datetime.datetime
    integration_key: str
    is_expired: bool
    provider: str
    status: TokenStatus
    token_type: TokenType
    updated_at: datetime.datetime
    account: Account | None | Unset = UNSET
    expires_at: datetime.datetime | None | Unset = UNSET
    scopes: list[str] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.account import Account

        connection_config = self.connection_config.to_dict()

        created_at = self.created_at.isoformat()

        integration_key = self.integration_key

        is_expired = self.is_expired

        provider = self.provider

        status = self.status.value

        token_type = self.token_type.value

        updated_at = self.updated_at.isoformat()

        account: dict[str, Any] | None | Unset
        if isinstance(self.account, Unset):
            account = UNSET
        elif isinstance(self.account, Account):
            account = self.account.to_dict()
        else:
            account = self.account

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        elif isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        scopes: list[str] | None | Unset
        if isinstance(self.scopes, Unset):
            scopes = UNSET
        elif isinstance(self.scopes, list):
            scopes = self.scopes

        else:
            scopes = self.scopes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "connection_config": connection_config,
                "created_at": created_at,
                "integration_key": integration_key,
                "is_expired": is_expired,
                "provider": provider,
                "status": status,
                "token_type": token_type,
                "updated_at": updated_at,
            }
        )
        if account is not UNSET:
            field_dict["account"] = account
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if scopes is not UNSET:
            field_dict["scopes"] = scopes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.account import Account
        from ..models.b_tree_map import BTreeMap

        d = dict(src_dict)
        connection_config = BTreeMap.from_dict(d.pop("connection_config"))

        created_at = isoparse(d.pop("created_at"))

        integration_key = d.pop("integration_key")

        is_expired = d.pop("is_expired")

        provider = d.pop("provider")

        status = TokenStatus(d.pop("status"))

        token_type = TokenType(d.pop("token_type"))

        updated_at = isoparse(d.pop("updated_at"))

        def _parse_account(data: object) -> Account | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                account_type_0 = Account.from_dict(data)

                return account_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast("Account | None | Unset", data)

        account = _parse_account(d.pop("account", UNSET))

        def _parse_expires_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = isoparse(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast("datetime.datetime | None | Unset", data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        def _parse_scopes(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                scopes_type_0 = cast(list[str], data)

                return scopes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast("list[str] | None | Unset", data)

        scopes = _parse_scopes(d.pop("scopes", UNSET))

        token_metadata = cls(
            connection_config=connection_config,
            created_at=created_at,
            integration_key=integration_key,
            is_expired=is_expired,
            provider=provider,
            status=status,
            token_type=token_type,
            updated_at=updated_at,
            account=account,
            expires_at=expires_at,
            scopes=scopes,
        )

        token_metadata.additional_properties = d
        return token_metadata

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
