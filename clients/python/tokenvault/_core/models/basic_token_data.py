from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

T = TypeVar("T", bound="BasicTokenData")


@_attrs_define
class BasicTokenData:
    """`token_data` of a `basic` credential.

    Attributes:
        password (str):
        username (str):  Example: api-user.
    """

    password: str
    username: str

    def to_dict(self) -> dict[str, Any]:
        password = self.password

        username = self.username

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "password": password,
                "username": username,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        password = d.pop("password")

        username = d.pop("username")

        basic_token_data = cls(
            password=password,
            username=username,
        )

        return basic_token_data
