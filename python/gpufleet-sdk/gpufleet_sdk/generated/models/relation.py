from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.relation_kind import RelationKind
from typing import cast

if TYPE_CHECKING:
  from ..models.relation_attrs import RelationAttrs





T = TypeVar("T", bound="Relation")



@_attrs_define
class Relation:
    """ 
        Attributes:
            attrs (RelationAttrs):
            created_at (int):
            from_id (str):
            id (str):
            kind (RelationKind):
            to_id (str):
     """

    attrs: RelationAttrs
    created_at: int
    from_id: str
    id: str
    kind: RelationKind
    to_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.relation_attrs import RelationAttrs # noqa: PLC0415
        attrs = self.attrs.to_dict()

        created_at = self.created_at

        from_id = self.from_id

        id = self.id

        kind = self.kind.value

        to_id = self.to_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attrs": attrs,
            "created_at": created_at,
            "from_id": from_id,
            "id": id,
            "kind": kind,
            "to_id": to_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.relation_attrs import RelationAttrs # noqa: PLC0415
        d = dict(src_dict)
        attrs = RelationAttrs.from_dict(d.pop("attrs"))




        created_at = d.pop("created_at")

        from_id = d.pop("from_id")

        id = d.pop("id")

        kind = RelationKind(d.pop("kind"))




        to_id = d.pop("to_id")

        relation = cls(
            attrs=attrs,
            created_at=created_at,
            from_id=from_id,
            id=id,
            kind=kind,
            to_id=to_id,
        )


        relation.additional_properties = d
        return relation

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
