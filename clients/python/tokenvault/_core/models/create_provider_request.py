from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.client_body import ClientBody


T = TypeVar("T", bound="CreateProviderRequest")


@_attrs_define
class CreateProviderRequest:
    """Body of `POST /v2/providers`: a key, the OAuth app, and the entry's fields in the catalogue's
    format (`token_url`, `authorize_url`, `token_types`, `display_name`, `env_var`, `scopes`, …).
    `issuer` alone fills the endpoints from the server's metadata (RFC 8414, else OpenID
    discovery); `mcp_server` alone finds the authorization server from the MCP server (RFC
    9728) and sends its URL as `resource` (RFC 8707). For a catalogue key, the fields given
    change that entry for this tenant only, and `client` is the tenant's own app for it.

        Attributes:
            key (str): Lowercase letters, digits, `-` and `_`. Example: acme.
            client (ClientBody | None | Unset):
    """

    key: str
    client: ClientBody | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.client_body import ClientBody

        key = self.key

        client: dict[str, Any] | None | Unset
        if isinstance(self.client, Unset):
            client = UNSET
        elif isinstance(self.client, ClientBody):
            client = self.client.to_dict()
        else:
            client = self.client

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "key": key,
            }
        )
        if client is not UNSET:
            field_dict["client"] = client

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.client_body import ClientBody

        d = dict(src_dict)
        key = d.pop("key")

        def _parse_client(data: object) -> ClientBody | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                client_type_0 = ClientBody.from_dict(data)

                return client_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast("ClientBody | None | Unset", data)

        client = _parse_client(d.pop("client", UNSET))

        create_provider_request = cls(
            key=key,
            client=client,
        )

        create_provider_request.additional_properties = d
        return create_provider_request

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
