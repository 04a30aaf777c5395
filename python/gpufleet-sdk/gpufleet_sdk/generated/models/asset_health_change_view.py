from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="AssetHealthChangeView")



@_attrs_define
class AssetHealthChangeView:
    """ One change of a node's or switch port's derived health.

        Attributes:
            asset_id (str): The node, or the switch of the port.
            at (str):
            id (int):
            new_state (str):
            old_state (str):
            part (str): The port name; empty for the node itself.
            reasons (Any): The reasons of the new state.
     """

    asset_id: str
    at: str
    id: int
    new_state: str
    old_state: str
    part: str
    reasons: Any
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        asset_id = self.asset_id

        at = self.at

        id = self.id

        new_state = self.new_state

        old_state = self.old_state

        part = self.part

        reasons = self.reasons


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "asset_id": asset_id,
            "at": at,
            "id": id,
            "new_state": new_state,
            "old_state": old_state,
            "part": part,
            "reasons": reasons,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        asset_id = d.pop("asset_id")

        at = d.pop("at")

        id = d.pop("id")

        new_state = d.pop("new_state")

        old_state = d.pop("old_state")

        part = d.pop("part")

        reasons = d.pop("reasons")

        asset_health_change_view = cls(
            asset_id=asset_id,
            at=at,
            id=id,
            new_state=new_state,
            old_state=old_state,
            part=part,
            reasons=reasons,
        )


        asset_health_change_view.additional_properties = d
        return asset_health_change_view

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
