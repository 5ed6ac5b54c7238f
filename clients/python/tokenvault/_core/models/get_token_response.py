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
    from ..models.api_key_token_data import ApiKeyTokenData
    from ..models.b_tree_map import BTreeMap
    from ..models.basic_secret import BasicSecret
    from ..models.jwt_token_data import JwtTokenData
    from ..models.minted_secret import MintedSecret
    from ..models.o_auth_2_secret import OAuth2Secret


T = TypeVar("T", bound="GetTokenResponse")


@_attrs_define
class GetTokenResponse:
    """A usable credential.

    Attributes:
        connection_config (BTreeMap):
        integration_key (str):
        is_expired (bool):
        provider (str):
        refreshed (bool): Whether this request refreshed the token at the provider.
        status (TokenStatus):
        token_data (ApiKeyTokenData | BasicSecret | JwtTokenData | MintedSecret | OAuth2Secret): What a GET returns of a
            credential: the usable secret, never client credentials.
        token_type (TokenType):
        account (Account | None | Unset):
        expires_at (datetime.datetime | None | Unset):
        scopes (list[str] | None | Unset):
    """

    connection_config: BTreeMap
    integration_key: str
    is_expired: bool
    provider: str
    refreshed: bool
    status: TokenStatus
    token_data: (
        ApiKeyTokenData | BasicSecret | JwtTokenData | MintedSecret | OAuth2Secret
    )
    token_type: TokenType
    account: Account | None | Unset = UNSET
    expires_at: datetime.datetime | None | Unset = UNSET
    scopes: list[str] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.account import Account
        from ..models.api_key_token_data import ApiKeyTokenData
        from ..models.basic_secret import BasicSecret
        from ..models.jwt_token_data import JwtTokenData
        from ..models.o_auth_2_secret import OAuth2Secret

        connection_config = self.connection_config.to_dict()

        integration_key = self.integration_key

        is_expired = self.is_expired

        provider = self.provider

        refreshed = self.refreshed

        status = self.status.value

        token_data: dict[str, Any]
        if (
            isinstance(self.token_data, OAuth2Secret)
            or isinstance(self.token_data, ApiKeyTokenData)
            or isinstance(self.token_data, JwtTokenData)
            or isinstance(self.token_data, BasicSecret)
        ):
            token_data = self.token_data.to_dict()
        else:
            token_data = self.token_data.to_dict()

        token_type = self.token_type.value

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
                "integration_key": integration_key,
                "is_expired": is_expired,
                "provider": provider,
                "refreshed": refreshed,
                "status": status,
                "token_data": token_data,
                "token_type": token_type,
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
        from ..models.api_key_token_data import ApiKeyTokenData
        from ..models.b_tree_map import BTreeMap
        from ..models.basic_secret import BasicSecret
        from ..models.jwt_token_data import JwtTokenData
        from ..models.minted_secret import MintedSecret
        from ..models.o_auth_2_secret import OAuth2Secret

        d = dict(src_dict)
        connection_config = BTreeMap.from_dict(d.pop("connection_config"))

        integration_key = d.pop("integration_key")

        is_expired = d.pop("is_expired")

        provider = d.pop("provider")

        refreshed = d.pop("refreshed")

        status = TokenStatus(d.pop("status"))

        def _parse_token_data(
            data: object,
        ) -> ApiKeyTokenData | BasicSecret | JwtTokenData | MintedSecret | OAuth2Secret:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_usable_secret_type_0 = OAuth2Secret.from_dict(data)

                return componentsschemas_usable_secret_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_usable_secret_type_1 = ApiKeyTokenData.from_dict(data)

                return componentsschemas_usable_secret_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_usable_secret_type_2 = JwtTokenData.from_dict(data)

                return componentsschemas_usable_secret_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_usable_secret_type_3 = BasicSecret.from_dict(data)

                return componentsschemas_usable_secret_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_usable_secret_type_4 = MintedSecret.from_dict(data)

            return componentsschemas_usable_secret_type_4

        token_data = _parse_token_data(d.pop("token_data"))

        token_type = TokenType(d.pop("token_type"))

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

        get_token_response = cls(
            connection_config=connection_config,
            integration_key=integration_key,
            is_expired=is_expired,
            provider=provider,
            refreshed=refreshed,
            status=status,
            token_data=token_data,
            token_type=token_type,
            account=account,
            expires_at=expires_at,
            scopes=scopes,
        )

        get_token_response.additional_properties = d
        return get_token_response

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
