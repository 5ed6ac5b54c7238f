from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.source import Source
from ..models.token_type import TokenType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.config_field_info import ConfigFieldInfo
    from ..models.provider_info_scope_labels import ProviderInfoScopeLabels
    from ..models.tool import Tool


T = TypeVar("T", bound="ProviderInfo")


@_attrs_define
class ProviderInfo:
    """What `GET /v2/providers` shows of a provider: no URLs, no client ids, no secrets.

    Attributes:
        connection_config (list[ConfigFieldInfo]): Per-account fields a credential carries in `connection_config`.
        default_scopes (list[str]): The scopes connect asks for when the app names none.
        description (str):
        display_name (str):  Example: Google Workspace.
        env_var (str): The environment variable a client would export the access token as. Example: GOG_ACCESS_TOKEN.
        provider (str):  Example: google.
        scope_labels (ProviderInfoScopeLabels): Scope → label.
        scopes_strict (bool): Connect refuses scopes outside `scope_labels`.
        source (Source): Where an entry a tenant sees comes from.
        supports_connect (bool): Whether `POST /v2/users/{user_id}/connect` can start for it: the provider has an
            authorization endpoint and this server has its platform OAuth client.
        supports_proxy (bool): Whether the proxy can reach this provider's API.
        supports_refresh (bool): Whether tokenvault can refresh this provider's OAuth2 tokens (or mint its
            `client_credentials` / `service_account` tokens).
        supports_revocation (bool): Whether deleting a credential revokes it at the provider.
        token_lifetime (str):  Example: ~1 hour.
        token_types (list[TokenType]):
        account_env_var (None | str | Unset): The environment variable naming the account, as `export` writes it.
            Example: GOG_ACCOUNT.
        docs_url (None | str | Unset): The provider's documentation this entry follows. Example:
            https://developers.google.com/identity/protocols/oauth2/web-server.
        example_command (None | str | Unset): A command that uses `env_var`.
        key_hint (None | str | Unset): API keys: what a key looks like, for people.
        key_pattern (None | str | Unset): API keys: the documented prefix a key must have (a regex). Example: ^sk-.
        tool (None | Tool | Unset):
    """

    connection_config: list[ConfigFieldInfo]
    default_scopes: list[str]
    description: str
    display_name: str
    env_var: str
    provider: str
    scope_labels: ProviderInfoScopeLabels
    scopes_strict: bool
    source: Source
    supports_connect: bool
    supports_proxy: bool
    supports_refresh: bool
    supports_revocation: bool
    token_lifetime: str
    token_types: list[TokenType]
    account_env_var: None | str | Unset = UNSET
    docs_url: None | str | Unset = UNSET
    example_command: None | str | Unset = UNSET
    key_hint: None | str | Unset = UNSET
    key_pattern: None | str | Unset = UNSET
    tool: None | Tool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.tool import Tool

        connection_config = []
        for connection_config_item_data in self.connection_config:
            connection_config_item = connection_config_item_data.to_dict()
            connection_config.append(connection_config_item)

        default_scopes = self.default_scopes

        description = self.description

        display_name = self.display_name

        env_var = self.env_var

        provider = self.provider

        scope_labels = self.scope_labels.to_dict()

        scopes_strict = self.scopes_strict

        source = self.source.value

        supports_connect = self.supports_connect

        supports_proxy = self.supports_proxy

        supports_refresh = self.supports_refresh

        supports_revocation = self.supports_revocation

        token_lifetime = self.token_lifetime

        token_types = []
        for token_types_item_data in self.token_types:
            token_types_item = token_types_item_data.value
            token_types.append(token_types_item)

        account_env_var: None | str | Unset
        if isinstance(self.account_env_var, Unset):
            account_env_var = UNSET
        else:
            account_env_var = self.account_env_var

        docs_url: None | str | Unset
        if isinstance(self.docs_url, Unset):
            docs_url = UNSET
        else:
            docs_url = self.docs_url

        example_command: None | str | Unset
        if isinstance(self.example_command, Unset):
            example_command = UNSET
        else:
            example_command = self.example_command

        key_hint: None | str | Unset
        if isinstance(self.key_hint, Unset):
            key_hint = UNSET
        else:
            key_hint = self.key_hint

        key_pattern: None | str | Unset
        if isinstance(self.key_pattern, Unset):
            key_pattern = UNSET
        else:
            key_pattern = self.key_pattern

        tool: dict[str, Any] | None | Unset
        if isinstance(self.tool, Unset):
            tool = UNSET
        elif isinstance(self.tool, Tool):
            tool = self.tool.to_dict()
        else:
            tool = self.tool

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "connection_config": connection_config,
                "default_scopes": default_scopes,
                "description": description,
                "display_name": display_name,
                "env_var": env_var,
                "provider": provider,
                "scope_labels": scope_labels,
                "scopes_strict": scopes_strict,
                "source": source,
                "supports_connect": supports_connect,
                "supports_proxy": supports_proxy,
                "supports_refresh": supports_refresh,
                "supports_revocation": supports_revocation,
                "token_lifetime": token_lifetime,
                "token_types": token_types,
            }
        )
        if account_env_var is not UNSET:
            field_dict["account_env_var"] = account_env_var
        if docs_url is not UNSET:
            field_dict["docs_url"] = docs_url
        if example_command is not UNSET:
            field_dict["example_command"] = example_command
        if key_hint is not UNSET:
            field_dict["key_hint"] = key_hint
        if key_pattern is not UNSET:
            field_dict["key_pattern"] = key_pattern
        if tool is not UNSET:
            field_dict["tool"] = tool

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.config_field_info import ConfigFieldInfo
        from ..models.provider_info_scope_labels import ProviderInfoScopeLabels
        from ..models.tool import Tool

        d = dict(src_dict)
        connection_config = []
        _connection_config = d.pop("connection_config")
        for connection_config_item_data in _connection_config:
            connection_config_item = ConfigFieldInfo.from_dict(
                connection_config_item_data
            )

            connection_config.append(connection_config_item)

        default_scopes = cast(list[str], d.pop("default_scopes"))

        description = d.pop("description")

        display_name = d.pop("display_name")

        env_var = d.pop("env_var")

        provider = d.pop("provider")

        scope_labels = ProviderInfoScopeLabels.from_dict(d.pop("scope_labels"))

        scopes_strict = d.pop("scopes_strict")

        source = Source(d.pop("source"))

        supports_connect = d.pop("supports_connect")

        supports_proxy = d.pop("supports_proxy")

        supports_refresh = d.pop("supports_refresh")

        supports_revocation = d.pop("supports_revocation")

        token_lifetime = d.pop("token_lifetime")

        token_types = []
        _token_types = d.pop("token_types")
        for token_types_item_data in _token_types:
            token_types_item = TokenType(token_types_item_data)

            token_types.append(token_types_item)

        def _parse_account_env_var(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        account_env_var = _parse_account_env_var(d.pop("account_env_var", UNSET))

        def _parse_docs_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        docs_url = _parse_docs_url(d.pop("docs_url", UNSET))

        def _parse_example_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        example_command = _parse_example_command(d.pop("example_command", UNSET))

        def _parse_key_hint(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        key_hint = _parse_key_hint(d.pop("key_hint", UNSET))

        def _parse_key_pattern(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        key_pattern = _parse_key_pattern(d.pop("key_pattern", UNSET))

        def _parse_tool(data: object) -> None | Tool | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                tool_type_0 = Tool.from_dict(data)

                return tool_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast("None | Tool | Unset", data)

        tool = _parse_tool(d.pop("tool", UNSET))

        provider_info = cls(
            connection_config=connection_config,
            default_scopes=default_scopes,
            description=description,
            display_name=display_name,
            env_var=env_var,
            provider=provider,
            scope_labels=scope_labels,
            scopes_strict=scopes_strict,
            source=source,
            supports_connect=supports_connect,
            supports_proxy=supports_proxy,
            supports_refresh=supports_refresh,
            supports_revocation=supports_revocation,
            token_lifetime=token_lifetime,
            token_types=token_types,
            account_env_var=account_env_var,
            docs_url=docs_url,
            example_command=example_command,
            key_hint=key_hint,
            key_pattern=key_pattern,
            tool=tool,
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
