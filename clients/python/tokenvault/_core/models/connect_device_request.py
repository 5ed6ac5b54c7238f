from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..models.connect_device_request_flow import ConnectDeviceRequestFlow
from ..models.connect_device_request_provider import ConnectDeviceRequestProvider
from ..types import UNSET, Unset

T = TypeVar("T", bound="ConnectDeviceRequest")


@_attrs_define
class ConnectDeviceRequest:
    """A device connect (RFC 8628): the user enters a code.

    Attributes:
        flow (ConnectDeviceRequestFlow):
        provider (ConnectDeviceRequestProvider): A provider that supports connect (`supports_connect` in `GET
            /v2/providers`). Example: google.
        integration_key (None | str | Unset): Where to store the credential; default: the provider key. Example: google.
        scopes (list[str] | None | Unset): Scopes to ask for; default: the provider's `default_scopes`.
    """

    flow: ConnectDeviceRequestFlow
    provider: ConnectDeviceRequestProvider
    integration_key: None | str | Unset = UNSET
    scopes: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        flow = self.flow.value

        provider = self.provider.value

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
        if integration_key is not UNSET:
            field_dict["integration_key"] = integration_key
        if scopes is not UNSET:
            field_dict["scopes"] = scopes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        flow = ConnectDeviceRequestFlow(d.pop("flow"))

        provider = ConnectDeviceRequestProvider(d.pop("provider"))

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
            integration_key=integration_key,
            scopes=scopes,
        )

        return connect_device_request
