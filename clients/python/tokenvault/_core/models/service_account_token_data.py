from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ServiceAccountTokenData")


@_attrs_define
class ServiceAccountTokenData:
    """`token_data` of a `service_account` credential: a private key that mints access tokens.
    Either an RFC 7523 JWT-bearer assertion signer (`issuer`, e.g. a Google `client_email`) or a
    GitHub App installation (`app_id` and `installation_id`). The key is never returned.

        Attributes:
            private_key (str): PEM: RSA (PKCS#8 or PKCS#1) signs RS256, EC P-256 (PKCS#8) signs ES256. Example: -----BEGIN
                PRIVATE KEY-----
                ....
            app_id (int | None | str | Unset): GitHub App: the app's ID or client ID (the app JWT's `iss`). Example: 123456.
            audience (None | str | Unset): The assertion's `aud`; the provider's token URL when absent.
            installation_id (int | None | str | Unset): GitHub App: the installation to mint tokens for. Example: 7890123.
            issuer (None | str | Unset): The assertion's `iss` (Google: the key file's `client_email`).
            key_id (None | str | Unset): The assertion header's `kid` (Google: the key file's `private_key_id`).
            scope (None | str | Unset):
            subject (None | str | Unset): The user to act as (`sub`; Google domain-wide delegation).
    """

    private_key: str
    app_id: int | None | str | Unset = UNSET
    audience: None | str | Unset = UNSET
    installation_id: int | None | str | Unset = UNSET
    issuer: None | str | Unset = UNSET
    key_id: None | str | Unset = UNSET
    scope: None | str | Unset = UNSET
    subject: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        private_key = self.private_key

        app_id: int | None | str | Unset
        if isinstance(self.app_id, Unset):
            app_id = UNSET
        else:
            app_id = self.app_id

        audience: None | str | Unset
        if isinstance(self.audience, Unset):
            audience = UNSET
        else:
            audience = self.audience

        installation_id: int | None | str | Unset
        if isinstance(self.installation_id, Unset):
            installation_id = UNSET
        else:
            installation_id = self.installation_id

        issuer: None | str | Unset
        if isinstance(self.issuer, Unset):
            issuer = UNSET
        else:
            issuer = self.issuer

        key_id: None | str | Unset
        if isinstance(self.key_id, Unset):
            key_id = UNSET
        else:
            key_id = self.key_id

        scope: None | str | Unset
        if isinstance(self.scope, Unset):
            scope = UNSET
        else:
            scope = self.scope

        subject: None | str | Unset
        if isinstance(self.subject, Unset):
            subject = UNSET
        else:
            subject = self.subject

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "private_key": private_key,
            }
        )
        if app_id is not UNSET:
            field_dict["app_id"] = app_id
        if audience is not UNSET:
            field_dict["audience"] = audience
        if installation_id is not UNSET:
            field_dict["installation_id"] = installation_id
        if issuer is not UNSET:
            field_dict["issuer"] = issuer
        if key_id is not UNSET:
            field_dict["key_id"] = key_id
        if scope is not UNSET:
            field_dict["scope"] = scope
        if subject is not UNSET:
            field_dict["subject"] = subject

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        private_key = d.pop("private_key")

        def _parse_app_id(data: object) -> int | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("int | None | str | Unset", data)

        app_id = _parse_app_id(d.pop("app_id", UNSET))

        def _parse_audience(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        audience = _parse_audience(d.pop("audience", UNSET))

        def _parse_installation_id(data: object) -> int | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("int | None | str | Unset", data)

        installation_id = _parse_installation_id(d.pop("installation_id", UNSET))

        def _parse_issuer(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        issuer = _parse_issuer(d.pop("issuer", UNSET))

        def _parse_key_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        key_id = _parse_key_id(d.pop("key_id", UNSET))

        def _parse_scope(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        scope = _parse_scope(d.pop("scope", UNSET))

        def _parse_subject(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        subject = _parse_subject(d.pop("subject", UNSET))

        service_account_token_data = cls(
            private_key=private_key,
            app_id=app_id,
            audience=audience,
            installation_id=installation_id,
            issuer=issuer,
            key_id=key_id,
            scope=scope,
            subject=subject,
        )

        return service_account_token_data
