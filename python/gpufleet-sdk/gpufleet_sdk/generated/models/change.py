from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.change_op import ChangeOp
from ..types import UNSET, Unset






T = TypeVar("T", bound="Change")



@_attrs_define
class Change:
    """ One difference between two documents.

        Attributes:
            op (ChangeOp):
            path (str): JSON Pointer of the changed value.
            new (Any | Unset): The value after (any JSON value); absent for `remove`.
            old (Any | Unset): The value before (any JSON value); absent for `add`.
     """

    op: ChangeOp
    path: str
    new: Any | Unset = UNSET
    old: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        op = self.op.value

        path = self.path

        new = self.new

        old = self.old


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "op": op,
            "path": path,
        })
        if new is not UNSET:
            field_dict["new"] = new
        if old is not UNSET:
            field_dict["old"] = old

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        op = ChangeOp(d.pop("op"))




        path = d.pop("path")

        new = d.pop("new", UNSET)

        old = d.pop("old", UNSET)

        change = cls(
            op=op,
            path=path,
            new=new,
            old=old,
        )


        change.additional_properties = d
        return change

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
