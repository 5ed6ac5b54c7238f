from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.token_type import TokenType

if TYPE_CHECKING:
    from ..models.provider_info_scope_labels import ProviderInfoScopeLabels


T = TypeVar("T", bound="ProviderInfo")


@_attrs_define
class ProviderInfo:
    """What `GET /v2/providers` shows of a provider: no URLs, no client ids, no secrets.

    Attributes:
        default_scopes (list[str]): The scopes connect asks for when the app names none.
        description (str):
        display_name (str):  Example: Google Workspace.
        env_var (str): The environment variable a client would export the access token as. Example: GOG_ACCESS_TOKEN.
        provider (str):  Example: google.
        scope_labels (ProviderInfoScopeLabels): Scope → label.
        supports_connect (bool): Whether `POST /v2/users/{user_id}/connect` can start for it: the provider has an
            authorization endpoint and this server has its platform OAuth client.
        supports_refresh (bool): Whether tokenvault can refresh this provider's OAuth2 tokens (or mint its
            `client_credentials` / `service_account` tokens).
        supports_revocation (bool): Whether deleting a credential revokes it at the provider.
        token_lifetime (str):  Example: ~1 hour.
        token_types (list[TokenType]):
    """

    default_scopes: list[str]
    description: str
    display_name: str
    env_var: str
    provider: str
    scope_labels: ProviderInfoScopeLabels
    supports_connect: bool
    supports_refresh: bool
    supports_revocation: bool
    token_lifetime: str
    token_types: list[TokenType]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        default_scopes = self.default_scopes

        description = self.description

        display_name = self.display_name

        env_var = self.env_var

        provider = self.provider

        scope_labels = self.scope_labels.to_dict()

        supports_connect = self.supports_connect

        supports_refresh = self.supports_refresh

        supports_revocation = self.supports_revocation

        token_lifetime = self.token_lifetime

        token_types = []
        for token_types_item_data in self.token_types:
            token_types_item = token_types_item_data.value
            token_types.append(token_types_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "default_scopes": default_scopes,
                "description": description,
                "display_name": display_name,
                "env_var": env_var,
                "provider": provider,
                "scope_labels": scope_labels,
                "supports_connect": supports_connect,
                "supports_refresh": supports_refresh,
                "supports_revocation": supports_revocation,
                "token_lifetime": token_lifetime,
                "token_types": token_types,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.provider_info_scope_labels import ProviderInfoScopeLabels

        d = dict(src_dict)
        default_scopes = cast(list[str], d.pop("default_scopes"))

        description = d.pop("description")

        display_name = d.pop("display_name")

        env_var = d.pop("env_var")

        provider = d.pop("provider")

        scope_labels = ProviderInfoScopeLabels.from_dict(d.pop("scope_labels"))

        supports_connect = d.pop("supports_connect")

        supports_refresh = d.pop("supports_refresh")

        supports_revocation = d.pop("supports_revocation")

        token_lifetime = d.pop("token_lifetime")

        token_types = []
        _token_types = d.pop("token_types")
        for token_types_item_data in _token_types:
            token_types_item = TokenType(token_types_item_data)

            token_types.append(token_types_item)

        provider_info = cls(
            default_scopes=default_scopes,
            description=description,
            display_name=display_name,
            env_var=env_var,
            provider=provider,
            scope_labels=scope_labels,
            supports_connect=supports_connect,
            supports_refresh=supports_refresh,
            supports_revocation=supports_revocation,
            token_lifetime=token_lifetime,
            token_types=token_types,
        )

        provider_info.additional_properties = d
        return provider_info

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
