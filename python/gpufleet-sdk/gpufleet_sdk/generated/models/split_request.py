from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="SplitRequest")



@_attrs_define
class SplitRequest:
    """ What to split off the incident of the path.

        Attributes:
            alerts (list[str]): Fingerprints of the alerts to move into a new incident (at least one, not all of them).
            note (None | str | Unset): Written to both timelines and the audit log.
            root_asset (None | str | Unset): The new incident's root cause, an asset id or name; absent: the earliest
                alert's own
                asset.
     """

    alerts: list[str]
    note: None | str | Unset = UNSET
    root_asset: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        alerts = self.alerts



        note: None | str | Unset
        if isinstance(self.note, Unset):
            note = UNSET
        else:
            note = self.note

        root_asset: None | str | Unset
        if isinstance(self.root_asset, Unset):
            root_asset = UNSET
        else:
            root_asset = self.root_asset


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "alerts": alerts,
        })
        if note is not UNSET:
            field_dict["note"] = note
        if root_asset is not UNSET:
            field_dict["root_asset"] = root_asset

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        alerts = cast(list[str], d.pop("alerts"))


        def _parse_note(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        note = _parse_note(d.pop("note", UNSET))


        def _parse_root_asset(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        root_asset = _parse_root_asset(d.pop("root_asset", UNSET))


        split_request = cls(
            alerts=alerts,
            note=note,
            root_asset=root_asset,
        )

        return split_request

