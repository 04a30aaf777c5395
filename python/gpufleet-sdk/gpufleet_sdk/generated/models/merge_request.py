from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="MergeRequest")



@_attrs_define
class MergeRequest:
    """ What to merge into the incident of the path.

        Attributes:
            incidents (list[str]): The incidents whose alerts join this one (at least one).
            note (None | str | Unset): Written to the timeline and the audit log.
     """

    incidents: list[str]
    note: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        incidents = self.incidents



        note: None | str | Unset
        if isinstance(self.note, Unset):
            note = UNSET
        else:
            note = self.note


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "incidents": incidents,
        })
        if note is not UNSET:
            field_dict["note"] = note

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        incidents = cast(list[str], d.pop("incidents"))


        def _parse_note(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        note = _parse_note(d.pop("note", UNSET))


        merge_request = cls(
            incidents=incidents,
            note=note,
        )

        return merge_request

