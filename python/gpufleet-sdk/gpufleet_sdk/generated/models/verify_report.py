from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="VerifyReport")



@_attrs_define
class VerifyReport:
    """ 
        Attributes:
            head_seq (int):
            ok (bool):
            problems (list[str]): Every problem found, each naming the sequence number.
            rows_checked (int):
     """

    head_seq: int
    ok: bool
    problems: list[str]
    rows_checked: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        head_seq = self.head_seq

        ok = self.ok

        problems = self.problems



        rows_checked = self.rows_checked


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "head_seq": head_seq,
            "ok": ok,
            "problems": problems,
            "rows_checked": rows_checked,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        head_seq = d.pop("head_seq")

        ok = d.pop("ok")

        problems = cast(list[str], d.pop("problems"))


        rows_checked = d.pop("rows_checked")

        verify_report = cls(
            head_seq=head_seq,
            ok=ok,
            problems=problems,
            rows_checked=rows_checked,
        )


        verify_report.additional_properties = d
        return verify_report

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
