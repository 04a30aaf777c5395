from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.relation_kind import RelationKind






T = TypeVar("T", bound="RelationView")



@_attrs_define
class RelationView:
    """ A relation between two assets.

        Attributes:
            attrs (Any): E.g. `{"port": "Ethernet1"}` for `connected_to`.
            created_at (str):
            from_id (str):
            id (str):
            kind (RelationKind):
            to_id (str):
     """

    attrs: Any
    created_at: str
    from_id: str
    id: str
    kind: RelationKind
    to_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        attrs = self.attrs

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
        d = dict(src_dict)
        attrs = d.pop("attrs")

        created_at = d.pop("created_at")

        from_id = d.pop("from_id")

        id = d.pop("id")

        kind = RelationKind(d.pop("kind"))




        to_id = d.pop("to_id")

        relation_view = cls(
            attrs=attrs,
            created_at=created_at,
            from_id=from_id,
            id=id,
            kind=kind,
            to_id=to_id,
        )


        relation_view.additional_properties = d
        return relation_view

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
