from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define

T = TypeVar("T", bound="Tool")


@_attrs_define
class Tool:
    """A provider's command-line tool (as CrabGlamp's registry lists it).

    Attributes:
        check_cmd (str):  Example: gh auth status.
        install_cmd (str):  Example: brew install gh.
        name (str):  Example: gh.
    """

    check_cmd: str
    install_cmd: str
    name: str

    def to_dict(self) -> dict[str, Any]:
        check_cmd = self.check_cmd

        install_cmd = self.install_cmd

        name = self.name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "check_cmd": check_cmd,
                "install_cmd": install_cmd,
                "name": name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        check_cmd = d.pop("check_cmd")

        install_cmd = d.pop("install_cmd")

        name = d.pop("name")

        tool = cls(
            check_cmd=check_cmd,
            install_cmd=install_cmd,
            name=name,
        )

        return tool
