from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.bios_difference_actual import BiosDifferenceActual
  from ..models.bios_difference_expected import BiosDifferenceExpected
  from ..models.bios_difference_pending import BiosDifferencePending





T = TypeVar("T", bound="BiosDifference")



@_attrs_define
class BiosDifference:
    """ One attribute where the node differs from its expected profile.

        Attributes:
            actual (BiosDifferenceActual): The value in effect now; absent when the BMC does not report the attribute.
            attribute (str):
            expected (BiosDifferenceExpected):
            pending (BiosDifferencePending): A value written but not yet applied (takes effect at the next reset).
     """

    actual: BiosDifferenceActual
    attribute: str
    expected: BiosDifferenceExpected
    pending: BiosDifferencePending
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.bios_difference_actual import BiosDifferenceActual # noqa: PLC0415
        from ..models.bios_difference_expected import BiosDifferenceExpected # noqa: PLC0415
        from ..models.bios_difference_pending import BiosDifferencePending # noqa: PLC0415
        actual = self.actual.to_dict()

        attribute = self.attribute

        expected = self.expected.to_dict()

        pending = self.pending.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "actual": actual,
            "attribute": attribute,
            "expected": expected,
            "pending": pending,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bios_difference_actual import BiosDifferenceActual # noqa: PLC0415
        from ..models.bios_difference_expected import BiosDifferenceExpected # noqa: PLC0415
        from ..models.bios_difference_pending import BiosDifferencePending # noqa: PLC0415
        d = dict(src_dict)
        actual = BiosDifferenceActual.from_dict(d.pop("actual"))




        attribute = d.pop("attribute")

        expected = BiosDifferenceExpected.from_dict(d.pop("expected"))




        pending = BiosDifferencePending.from_dict(d.pop("pending"))




        bios_difference = cls(
            actual=actual,
            attribute=attribute,
            expected=expected,
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
