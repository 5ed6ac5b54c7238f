from __future__ import annotations

import datetime

from dateutil.parser import isoparse
from collections.abc import Mapping
from typing import Any, TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from typing_extensions import Self

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_kind import EventKind
from ..models.outcome import Outcome
from ..types import UNSET, Unset

T = TypeVar("T", bound="TokenEvent")


@_attrs_define
class TokenEvent:
    """One audit event of a credential.

    Attributes:
        created_at (datetime.datetime):
        event (EventKind):
        id (int):
        outcome (Outcome):
        reason (None | str | Unset): Why, for a person; never contains a secret.
    """

    created_at: datetime.datetime
    event: EventKind
    id: int
    outcome: Outcome
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        event = self.event.value

        id = self.id

        outcome = self.outcome.value

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "event": event,
                "id": id,
                "outcome": outcome,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        created_at = isoparse(d.pop("created_at"))

        event = EventKind(d.pop("event"))

        id = d.pop("id")

        outcome = Outcome(d.pop("outcome"))

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast("None | str | Unset", data)

        reason = _parse_reason(d.pop("reason", UNSET))

        token_event = cls(
            created_at=created_at,
            event=event,
            id=id,
            outcome=outcome,
            reason=reason,
        )

        token_event.additional_properties = d
        return token_event

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
