from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateAccessTokenRequest")


@_attrs_define
class CreateAccessTokenRequest:
    """Body of `POST /v2/access-tokens`; every field is optional and the body may be empty.

    Attributes:
        client_id (None | str | Unset): Accepted and ignored (older clients send it).
        client_secret (None | str | Unset): The API key (`agk_…`), when not sent as `X-API-Key` or `Authorization:
            Bearer`.
        expires_at (datetime.datetime | None | Unset): Expiry time, RFC 3339, between one minute and one month from now.
            Not with `expires_in`.
        expires_in (None | str | Unset): Lifetime: a number and a unit s, m, h, d, w or M (30 days), e.g. "15m", "1w".
            Between one minute and one month; default one hour. Not with `expires_at`. Example: 1h.
        grant_type (None | str | Unset): Only `client_credentials` (or empty).
    """

    client_id: None | str | Unset = UNSET
    client_secret: None | str | Unset = UNSET
    expires_at: datetime.datetime | None | Unset = UNSET
    expires_in: None | str | Unset = UNSET
    grant_type: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        client_id: None | str | Unset
        if isinstance(self.client_id, Unset):
            client_id = UNSET
        else:
            client_id = self.client_id

        client_secret: None | str | Unset
        if isinstance(self.client_secret, Unset):
            client_secret = UNSET
        else:
            client_secret = self.client_secret

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        elif isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        expires_in: None | str | Unset
        if isinstance(self.expires_in, Unset):
            expires_in = UNSET
        else:
            expires_in = self.expires_in

        grant_type: None | str | Unset
        if isinstance(self.grant_type, Unset):
            grant_type = UNSET
        else:
            grant_type = self.grant_type

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if client_secret is not UNSET:
            field_dict["client_secret"] = client_secret
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if expires_in is not UNSET:
            field_dict["expires_in"] = expires_in
        if grant_type is not UNSET:
            field_dict["grant_type"] = grant_type

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_client_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        client_id = _parse_client_id(d.pop("client_id", UNSET))

        def _parse_client_secret(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        client_secret = _parse_client_secret(d.pop("client_secret", UNSET))

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

        def _parse_expires_in(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        expires_in = _parse_expires_in(d.pop("expires_in", UNSET))

        def _parse_grant_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        grant_type = _parse_grant_type(d.pop("grant_type", UNSET))

        create_access_token_request = cls(
            client_id=client_id,
            client_secret=client_secret,
            expires_at=expires_at,
            expires_in=expires_in,
            grant_type=grant_type,
        )

        return create_access_token_request
