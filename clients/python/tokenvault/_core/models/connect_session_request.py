from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ConnectSessionRequest")


@_attrs_define
class ConnectSessionRequest:
    """Body of `POST /v2/connect-sessions`.

    Attributes:
        user_id (str): The user whose accounts the page connects. Example: user-42.
        expires_in (int | None | Unset): Seconds the link works: 60 to 86400, default 1800. Example: 1800.
        popup (bool | Unset): The page is opened by `tokenvault.connect(url)` (`/connect.js`): it ends by posting
            `{type: "tokenvault:connected" | "tokenvault:error", integration_key, provider}` to its
            opener (only to origins of `TOKENVAULT_REDIRECT_ALLOWLIST`) and closing.
        providers (list[str] | None | Unset): The providers the page offers (default: every provider this tenant can
            connect: OAuth
            ones with a client, API-key and basic ones). Example: ['github', 'openai'].
        redirect_uri (None | str | Unset): Where the browser goes afterwards, with `status=connected&integration_key=…`
            or
            `status=error&error=…`; must start with a prefix of `TOKENVAULT_REDIRECT_ALLOWLIST`.
            Without it (and without `popup`) the page ends on tokenvault's own "done" page. Example:
            https://app.example.com/connected.
    """

    user_id: str
    expires_in: int | None | Unset = UNSET
    popup: bool | Unset = UNSET
    providers: list[str] | None | Unset = UNSET
    redirect_uri: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        expires_in: int | None | Unset
        if isinstance(self.expires_in, Unset):
            expires_in = UNSET
        else:
            expires_in = self.expires_in

        popup = self.popup

        providers: list[str] | None | Unset
        if isinstance(self.providers, Unset):
            providers = UNSET
        elif isinstance(self.providers, list):
            providers = self.providers

        else:
            providers = self.providers

        redirect_uri: None | str | Unset
        if isinstance(self.redirect_uri, Unset):
            redirect_uri = UNSET
        else:
            redirect_uri = self.redirect_uri

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user_id": user_id,
            }
        )
        if expires_in is not UNSET:
            field_dict["expires_in"] = expires_in
        if popup is not UNSET:
            field_dict["popup"] = popup
        if providers is not UNSET:
            field_dict["providers"] = providers
        if redirect_uri is not UNSET:
            field_dict["redirect_uri"] = redirect_uri

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        user_id = d.pop("user_id")

        def _parse_expires_in(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("int | None | Unset", data)

        expires_in = _parse_expires_in(d.pop("expires_in", UNSET))

        popup = d.pop("popup", UNSET)

        def _parse_providers(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                providers_type_0 = cast(list[str], data)

                return providers_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast("list[str] | None | Unset", data)

        providers = _parse_providers(d.pop("providers", UNSET))

        def _parse_redirect_uri(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        redirect_uri = _parse_redirect_uri(d.pop("redirect_uri", UNSET))

        connect_session_request = cls(
            user_id=user_id,
            expires_in=expires_in,
            popup=popup,
            providers=providers,
            redirect_uri=redirect_uri,
        )

        return connect_session_request
