from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.bios_diff_view_pending import BiosDiffViewPending
  from ..models.bios_difference import BiosDifference





T = TypeVar("T", bound="BiosDiffView")



@_attrs_define
class BiosDiffView:
    """ 
        Attributes:
            differences (list[BiosDifference]):
            matches (bool): True when every attribute of the profile's `bios` map is in effect.
            node (str):
            pending (BiosDiffViewPending): Every attribute pending on the BMC.
            profile (str):
            profile_version (int):
     """

    differences: list[BiosDifference]
    matches: bool
    node: str
    pending: BiosDiffViewPending
    profile: str
    profile_version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.bios_diff_view_pending import BiosDiffViewPending # noqa: PLC0415
        from ..models.bios_difference import BiosDifference # noqa: PLC0415
        differences = []
        for differences_item_data in self.differences:
            differences_item = differences_item_data.to_dict()
            differences.append(differences_item)



        matches = self.matches

        node = self.node

        pending = self.pending.to_dict()

        profile = self.profile

        profile_version = self.profile_version


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "differences": differences,
            "matches": matches,
            "node": node,
            "pending": pending,
            "profile": profile,
            "profile_version": profile_version,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bios_diff_view_pending import BiosDiffViewPending # noqa: PLC0415
        from ..models.bios_difference import BiosDifference # noqa: PLC0415
        d = dict(src_dict)
        differences = []
        _differences = d.pop("differences")
        for differences_item_data in (_differences):
            differences_item = BiosDifference.from_dict(differences_item_data)



            differences.append(differences_item)


        matches = d.pop("matches")

        node = d.pop("node")

        pending = BiosDiffViewPending.from_dict(d.pop("pending"))




        profile = d.pop("profile")

        profile_version = d.pop("profile_version")

        bios_diff_view = cls(
            differences=differences,
            matches=matches,
            node=node,
            pending=pending,
            profile=profile,
            profile_version=profile_version,
        )


        bios_diff_view.additional_properties = d
        return bios_diff_view

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
