from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..models.connect_device_request_flow import ConnectDeviceRequestFlow
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.b_tree_map import BTreeMap


T = TypeVar("T", bound="ConnectDeviceRequest")


@_attrs_define
class ConnectDeviceRequest:
    """A device connect (RFC 8628): the user enters a code.

    Attributes:
        flow (ConnectDeviceRequestFlow):
        provider (str): A provider with a device authorization endpoint: one of the catalogue's (`examples`), or one the
            tenant added.
        connection_config (BTreeMap | None | Unset):
        integration_key (None | str | Unset): Where to store the credential; default: the provider key. Example: google.
        scopes (list[str] | None | Unset): Scopes to ask for; default: the provider's `default_scopes`.
    """

    flow: ConnectDeviceRequestFlow
    provider: str
    connection_config: BTreeMap | None | Unset = UNSET
    integration_key: None | str | Unset = UNSET
    scopes: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.b_tree_map import BTreeMap

        flow = self.flow.value

        provider = self.provider

        connection_config: dict[str, Any] | None | Unset
        if isinstance(self.connection_config, Unset):
            connection_config = UNSET
        elif isinstance(self.connection_config, BTreeMap):
            connection_config = self.connection_config.to_dict()
        else:
            connection_config = self.connection_config

        integration_key: None | str | Unset
        if isinstance(self.integration_key, Unset):
            integration_key = UNSET
        else:
            integration_key = self.integration_key

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
                "flow": flow,
                "provider": provider,
            }
        )
        if connection_config is not UNSET:
            field_dict["connection_config"] = connection_config
        if integration_key is not UNSET:
            field_dict["integration_key"] = integration_key
        if scopes is not UNSET:
            field_dict["scopes"] = scopes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.b_tree_map import BTreeMap

        d = dict(src_dict)
        flow = ConnectDeviceRequestFlow(d.pop("flow"))

        provider = d.pop("provider")

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

        def _parse_integration_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        integration_key = _parse_integration_key(d.pop("integration_key", UNSET))

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

        connect_device_request = cls(
            flow=flow,
            provider=provider,
            connection_config=connection_config,
            integration_key=integration_key,
            scopes=scopes,
        )

        return connect_device_request
