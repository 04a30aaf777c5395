from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="GpuHealthChange")



@_attrs_define
class GpuHealthChange:
    """ One change of a GPU's derived health.

        Attributes:
            at (str):
            gpu_id (str): The GPU asset at the time.
            gpu_key (str): The GPU's serial (or `asset:<id>`).
            id (int):
            new_state (str):
            old_state (str):
            reasons (Any): The reasons of the new state.
            node_id (None | str | Unset): The node it was in at the time.
     """

    at: str
    gpu_id: str
    gpu_key: str
    id: int
    new_state: str
    old_state: str
    reasons: Any
    node_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        at = self.at

        gpu_id = self.gpu_id

        gpu_key = self.gpu_key

        id = self.id

        new_state = self.new_state

        old_state = self.old_state

        reasons = self.reasons

        node_id: None | str | Unset
        if isinstance(self.node_id, Unset):
            node_id = UNSET
        else:
            node_id = self.node_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "gpu_id": gpu_id,
            "gpu_key": gpu_key,
            "id": id,
            "new_state": new_state,
            "old_state": old_state,
            "reasons": reasons,
        })
        if node_id is not UNSET:
            field_dict["node_id"] = node_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        gpu_id = d.pop("gpu_id")

        gpu_key = d.pop("gpu_key")

        id = d.pop("id")

        new_state = d.pop("new_state")

        old_state = d.pop("old_state")

        reasons = d.pop("reasons")

        def _parse_node_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node_id = _parse_node_id(d.pop("node_id", UNSET))


        gpu_health_change = cls(
            at=at,
            gpu_id=gpu_id,
            gpu_key=gpu_key,
            id=id,
            new_state=new_state,
            old_state=old_state,
            reasons=reasons,
            node_id=node_id,
        )


        gpu_health_change.additional_properties = d
        return gpu_health_change

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
