from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.change_op import ChangeOp
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.change_new_type_0 import ChangeNewType0
  from ..models.change_old_type_0 import ChangeOldType0





T = TypeVar("T", bound="Change")



@_attrs_define
class Change:
    """ One difference between two documents.

        Attributes:
            op (ChangeOp):
            path (str): JSON Pointer of the changed value.
            new (ChangeNewType0 | None | Unset):
            old (ChangeOldType0 | None | Unset):
     """

    op: ChangeOp
    path: str
    new: ChangeNewType0 | None | Unset = UNSET
    old: ChangeOldType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.change_new_type_0 import ChangeNewType0 # noqa: PLC0415
        from ..models.change_old_type_0 import ChangeOldType0 # noqa: PLC0415
        op = self.op.value

        path = self.path

        new: dict[str, Any] | None | Unset
        if isinstance(self.new, Unset):
            new = UNSET
        elif isinstance(self.new, ChangeNewType0):
            new = self.new.to_dict()
        else:
            new = self.new

        old: dict[str, Any] | None | Unset
        if isinstance(self.old, Unset):
            old = UNSET
        elif isinstance(self.old, ChangeOldType0):
            old = self.old.to_dict()
        else:
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
        from ..models.change_new_type_0 import ChangeNewType0 # noqa: PLC0415
        from ..models.change_old_type_0 import ChangeOldType0 # noqa: PLC0415
        d = dict(src_dict)
        op = ChangeOp(d.pop("op"))




        path = d.pop("path")

        def _parse_new(data: object) -> ChangeNewType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                new_type_0 = ChangeNewType0.from_dict(data)



                return new_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChangeNewType0 | None | Unset, data)

        new = _parse_new(d.pop("new", UNSET))


        def _parse_old(data: object) -> ChangeOldType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                old_type_0 = ChangeOldType0.from_dict(data)



                return old_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChangeOldType0 | None | Unset, data)

        old = _parse_old(d.pop("old", UNSET))


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
