from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ApiKeyTokenData")


@_attrs_define
class ApiKeyTokenData:
    """`token_data` of an `api_key` credential.

    Attributes:
        api_key (str):  Example: sk-....
        api_secret (None | str | Unset):
        organization_id (None | str | Unset):
        project_id (None | str | Unset):
    """

    api_key: str
    api_secret: None | str | Unset = UNSET
    organization_id: None | str | Unset = UNSET
    project_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        api_key = self.api_key

        api_secret: None | str | Unset
        if isinstance(self.api_secret, Unset):
            api_secret = UNSET
        else:
            api_secret = self.api_secret

        organization_id: None | str | Unset
        if isinstance(self.organization_id, Unset):
            organization_id = UNSET
        else:
            organization_id = self.organization_id

        project_id: None | str | Unset
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        else:
            project_id = self.project_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "api_key": api_key,
            }
        )
        if api_secret is not UNSET:
            field_dict["api_secret"] = api_secret
        if organization_id is not UNSET:
            field_dict["organization_id"] = organization_id
        if project_id is not UNSET:
            field_dict["project_id"] = project_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        api_key = d.pop("api_key")

        def _parse_api_secret(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        api_secret = _parse_api_secret(d.pop("api_secret", UNSET))

        def _parse_organization_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        organization_id = _parse_organization_id(d.pop("organization_id", UNSET))

        def _parse_project_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))

        api_key_token_data = cls(
            api_key=api_key,
            api_secret=api_secret,
            organization_id=organization_id,
            project_id=project_id,
        )

        return api_key_token_data
