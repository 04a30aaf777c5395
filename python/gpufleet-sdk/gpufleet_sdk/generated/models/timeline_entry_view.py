from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="TimelineEntryView")



@_attrs_define
class TimelineEntryView:
    """ One line of an incident's timeline.

        Attributes:
            at (str):
            by (str): Who did it (a user, or `system:correlation`).
            detail (str):
            event (str): `opened`, `alerts_added`, `root_cause_changed`, `merged`, `split`, `note`,
                `acknowledged`, `resolved`, `reopened`, `escalated`, `remediation`,
                `remediation_waits`.
     """

    at: str
    by: str
    detail: str
    event: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        at = self.at

        by = self.by

        detail = self.detail

        event = self.event


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "by": by,
            "detail": detail,
            "event": event,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        by = d.pop("by")

        detail = d.pop("detail")

        event = d.pop("event")

        timeline_entry_view = cls(
            at=at,
            by=by,
            detail=detail,
            event=event,
        )


        timeline_entry_view.additional_properties = d
        return timeline_entry_view

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
