from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="BiosDifference")



@_attrs_define
class BiosDifference:
    """ One attribute where the node differs from its expected profile.

        Attributes:
            attribute (str):
            expected (Any):
            actual (Any | Unset): The value in effect now; absent when the BMC does not report the attribute.
            pending (Any | Unset): A value written but not yet applied (takes effect at the next reset).
     """

    attribute: str
    expected: Any
    actual: Any | Unset = UNSET
    pending: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        attribute = self.attribute

        expected = self.expected

        actual = self.actual

        pending = self.pending


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attribute": attribute,
            "expected": expected,
        })
        if actual is not UNSET:
            field_dict["actual"] = actual
        if pending is not UNSET:
            field_dict["pending"] = pending

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attribute = d.pop("attribute")

        expected = d.pop("expected")

        actual = d.pop("actual", UNSET)

        pending = d.pop("pending", UNSET)

        bios_difference = cls(
            attribute=attribute,
            expected=expected,
            actual=actual,
            pending=pending,
        )


        bios_difference.additional_properties = d
        return bios_difference

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
