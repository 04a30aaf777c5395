from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="AssignProfile")



@_attrs_define
class AssignProfile:
    """ 
        Attributes:
            profile (None | str | Unset): Profile id or name; `null` clears.
     """

    profile: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        profile: None | str | Unset
        if isinstance(self.profile, Unset):
            profile = UNSET
        else:
            profile = self.profile


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if profile is not UNSET:
            field_dict["profile"] = profile

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_profile(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        profile = _parse_profile(d.pop("profile", UNSET))


        assign_profile = cls(
            profile=profile,
        )

        return assign_profile

