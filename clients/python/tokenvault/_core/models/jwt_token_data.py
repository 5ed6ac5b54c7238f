from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="JwtTokenData")


@_attrs_define
class JwtTokenData:
    """`token_data` of a `jwt` credential.

    Attributes:
        token (str):
        algorithm (None | str | Unset):
        audience (None | str | Unset):
        issuer (None | str | Unset):
        public_key (None | str | Unset):
    """

    token: str
    algorithm: None | str | Unset = UNSET
    audience: None | str | Unset = UNSET
    issuer: None | str | Unset = UNSET
    public_key: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        token = self.token

        algorithm: None | str | Unset
        if isinstance(self.algorithm, Unset):
            algorithm = UNSET
        else:
            algorithm = self.algorithm

        audience: None | str | Unset
        if isinstance(self.audience, Unset):
            audience = UNSET
        else:
            audience = self.audience

        issuer: None | str | Unset
        if isinstance(self.issuer, Unset):
            issuer = UNSET
        else:
            issuer = self.issuer

        public_key: None | str | Unset
        if isinstance(self.public_key, Unset):
            public_key = UNSET
        else:
            public_key = self.public_key

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "token": token,
            }
        )
        if algorithm is not UNSET:
            field_dict["algorithm"] = algorithm
        if audience is not UNSET:
            field_dict["audience"] = audience
        if issuer is not UNSET:
            field_dict["issuer"] = issuer
        if public_key is not UNSET:
            field_dict["public_key"] = public_key

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        token = d.pop("token")

        def _parse_algorithm(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        algorithm = _parse_algorithm(d.pop("algorithm", UNSET))

        def _parse_audience(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        audience = _parse_audience(d.pop("audience", UNSET))

        def _parse_issuer(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        issuer = _parse_issuer(d.pop("issuer", UNSET))

        def _parse_public_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        public_key = _parse_public_key(d.pop("public_key", UNSET))

        jwt_token_data = cls(
            token=token,
            algorithm=algorithm,
            audience=audience,
            issuer=issuer,
            public_key=public_key,
        )

        return jwt_token_data
