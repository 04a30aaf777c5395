from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.relation_kind import RelationKind
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.create_relation_attrs import CreateRelationAttrs





T = TypeVar("T", bound="CreateRelation")



@_attrs_define
class CreateRelation:
    """ 
        Attributes:
            from_id (str):
            kind (RelationKind):
            to_id (str):
            attrs (CreateRelationAttrs | Unset): E.g. `{"port": "Ethernet1"}` for `connected_to`.
     """

    from_id: str
    kind: RelationKind
    to_id: str
    attrs: CreateRelationAttrs | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.create_relation_attrs import CreateRelationAttrs # noqa: PLC0415
        from_id = self.from_id

        kind = self.kind.value

        to_id = self.to_id

        attrs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.attrs, Unset):
            attrs = self.attrs.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "from_id": from_id,
            "kind": kind,
            "to_id": to_id,
        })
        if attrs is not UNSET:
            field_dict["attrs"] = attrs

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_relation_attrs import CreateRelationAttrs # noqa: PLC0415
        d = dict(src_dict)
        from_id = d.pop("from_id")

        kind = RelationKind(d.pop("kind"))




        to_id = d.pop("to_id")

        _attrs = d.pop("attrs", UNSET)
        attrs: CreateRelationAttrs | Unset
        if isinstance(_attrs,  Unset):
            attrs = UNSET
        else:
            attrs = CreateRelationAttrs.from_dict(_attrs)




        create_relation = cls(
            from_id=from_id,
            kind=kind,
            to_id=to_id,
            attrs=attrs,
        )

        return create_relation

