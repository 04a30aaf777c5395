from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.check_actual import CheckActual
  from ..models.check_expected import CheckExpected





T = TypeVar("T", bound="Check")



@_attrs_define
class Check:
    """ 
        Attributes:
            actual (CheckActual):
            expected (CheckExpected):
            field (str): What was checked, e.g. `gpu_count`, `bios/SriovEnable`, `firmware/BMC`.
            ok (bool):
     """

    actual: CheckActual
    expected: CheckExpected
    field: str
    ok: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.check_actual import CheckActual # noqa: PLC0415
        from ..models.check_expected import CheckExpected # noqa: PLC0415
        actual = self.actual.to_dict()

        expected = self.expected.to_dict()

        field = self.field

        ok = self.ok


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "actual": actual,
            "expected": expected,
            "field": field,
            "ok": ok,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.check_actual import CheckActual # noqa: PLC0415
        from ..models.check_expected import CheckExpected # noqa: PLC0415
        d = dict(src_dict)
        actual = CheckActual.from_dict(d.pop("actual"))




        expected = CheckExpected.from_dict(d.pop("expected"))




        field = d.pop("field")

        ok = d.pop("ok")

        check = cls(
            actual=actual,
            expected=expected,
            field=field,
            ok=ok,
        )


        check.additional_properties = d
        return check

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
