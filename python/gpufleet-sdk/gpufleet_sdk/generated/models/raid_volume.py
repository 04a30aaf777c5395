from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="RaidVolume")



@_attrs_define
class RaidVolume:
    """ 
        Attributes:
            controller (str): Storage controller id as the BMC names it.
            drives (list[str]): Drive ids as the BMC names them.
            name (str):
            raid_type (None | str | Unset): e.g. `RAID1` (default).
     """

    controller: str
    drives: list[str]
    name: str
    raid_type: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        controller = self.controller

        drives = self.drives



        name = self.name

        raid_type: None | str | Unset
        if isinstance(self.raid_type, Unset):
            raid_type = UNSET
        else:
            raid_type = self.raid_type


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "controller": controller,
            "drives": drives,
            "name": name,
        })
        if raid_type is not UNSET:
            field_dict["raid_type"] = raid_type

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        controller = d.pop("controller")

        drives = cast(list[str], d.pop("drives"))


        name = d.pop("name")

        def _parse_raid_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        raid_type = _parse_raid_type(d.pop("raid_type", UNSET))


        raid_volume = cls(
            controller=controller,
            drives=drives,
            name=name,
            raid_type=raid_type,
        )

        return raid_volume

