from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="GuardRailsView")



@_attrs_define
class GuardRailsView:
    """ Guard rails in force.

        Attributes:
            approval_above_nodes (int): A plan acting on more nodes needs approval.
            automatic (list[str]): Actions taken without a person when automatic remediation is on.
            max_nodes_per_window (int):
            max_rack_fraction (float): Share of a rack that may be out of service after an action.
            window_s (int): The budget's window, seconds.
     """

    approval_above_nodes: int
    automatic: list[str]
    max_nodes_per_window: int
    max_rack_fraction: float
    window_s: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        approval_above_nodes = self.approval_above_nodes

        automatic = self.automatic



        max_nodes_per_window = self.max_nodes_per_window

        max_rack_fraction = self.max_rack_fraction

        window_s = self.window_s


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "approval_above_nodes": approval_above_nodes,
            "automatic": automatic,
            "max_nodes_per_window": max_nodes_per_window,
            "max_rack_fraction": max_rack_fraction,
            "window_s": window_s,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        approval_above_nodes = d.pop("approval_above_nodes")

        automatic = cast(list[str], d.pop("automatic"))


        max_nodes_per_window = d.pop("max_nodes_per_window")

        max_rack_fraction = d.pop("max_rack_fraction")

        window_s = d.pop("window_s")

        guard_rails_view = cls(
            approval_above_nodes=approval_above_nodes,
            automatic=automatic,
            max_nodes_per_window=max_nodes_per_window,
            max_rack_fraction=max_rack_fraction,
            window_s=window_s,
        )


        guard_rails_view.additional_properties = d
        return guard_rails_view

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
