from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..models.store_service_account_token_request_token_type import (
    StoreServiceAccountTokenRequestTokenType,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.b_tree_map import BTreeMap
    from ..models.service_account_token_data import ServiceAccountTokenData


T = TypeVar("T", bound="StoreServiceAccountTokenRequest")


@_attrs_define
class StoreServiceAccountTokenRequest:
    """Body of a `service_account` credential.

    Attributes:
        integration_key (str): Integration identifier, e.g. "google", "slack", "openai". Example: google.
        provider (str): A provider that accepts this token type: one of the catalogue's (`examples`), or one the tenant
            added (`GET /v2/providers` lists both).
        token_data (ServiceAccountTokenData): `token_data` of a `service_account` credential: a private key that mints
            access tokens.
            Either an RFC 7523 JWT-bearer assertion signer (`issuer`, e.g. a Google `client_email`) or a
            GitHub App installation (`app_id` and `installation_id`). The key is never returned.
        token_type (StoreServiceAccountTokenRequestTokenType):
        connection_config (BTreeMap | None | Unset):
        expires_at (datetime.datetime | None | Unset): Expiration time, RFC 3339 (a time without offset is taken as
            UTC). Example: 2025-01-16T10:00:00Z.
        scopes (list[str] | None | Unset): Permission scopes. Example: ['calendar', 'email'].
    """

    integration_key: str
    provider: str
    token_data: ServiceAccountTokenData
    token_type: StoreServiceAccountTokenRequestTokenType
    connection_config: BTreeMap | None | Unset = UNSET
    expires_at: datetime.datetime | None | Unset = UNSET
    scopes: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.b_tree_map import BTreeMap

        integration_key = self.integration_key

        provider = self.provider

        token_data = self.token_data.to_dict()

        token_type = self.token_type.value

        connection_config: dict[str, Any] | None | Unset
        if isinstance(self.connection_config, Unset):
            connection_config = UNSET
        elif isinstance(self.connection_config, BTreeMap):
            connection_config = self.connection_config.to_dict()
        else:
            connection_config = self.connection_config

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

        field_dict.update(
            {
                "integration_key": integration_key,
                "provider": provider,
                "token_data": token_data,
                "token_type": token_type,
            }
        )
        if connection_config is not UNSET:
            field_dict["connection_config"] = connection_config
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if scopes is not UNSET:
            field_dict["scopes"] = scopes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.b_tree_map import BTreeMap
        from ..models.service_account_token_data import ServiceAccountTokenData

        d = dict(src_dict)
        integration_key = d.pop("integration_key")

        provider = d.pop("provider")

        token_data = ServiceAccountTokenData.from_dict(d.pop("token_data"))

        token_type = StoreServiceAccountTokenRequestTokenType(d.pop("token_type"))

        def _parse_connection_config(data: object) -> BTreeMap | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                connection_config_type_0 = BTreeMap.from_dict(data)

                return connection_config_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast("BTreeMap | None | Unset", data)

        connection_config = _parse_connection_config(d.pop("connection_config", UNSET))

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

        store_service_account_token_request = cls(
            integration_key=integration_key,
            provider=provider,
            token_data=token_data,
            token_type=token_type,
            connection_config=connection_config,
            expires_at=expires_at,
            scopes=scopes,
        )

        return store_service_account_token_request
