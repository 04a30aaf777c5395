from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.asset_health_change_view import AssetHealthChangeView
  from ..models.port_health_view import PortHealthView





T = TypeVar("T", bound="SwitchHealth")



@_attrs_define
class SwitchHealth:
    """ A switch's ports with their health and latest health changes.

        Attributes:
            history (list[AssetHealthChangeView]): Latest port health changes, newest first.
            name (str):
            ports (list[PortHealthView]):
            state (str): The worst state of its ports (unknown before any port was read).
            switch (str):
     """

    history: list[AssetHealthChangeView]
    name: str
    ports: list[PortHealthView]
    state: str
    switch: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.asset_health_change_view import AssetHealthChangeView # noqa: PLC0415
        from ..models.port_health_view import PortHealthView # noqa: PLC0415
        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)



        name = self.name

        ports = []
        for ports_item_data in self.ports:
            ports_item = ports_item_data.to_dict()
            ports.append(ports_item)



        state = self.state

        switch = self.switch


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "history": history,
            "name": name,
            "ports": ports,
            "state": state,
            "switch": switch,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.asset_health_change_view import AssetHealthChangeView # noqa: PLC0415
        from ..models.port_health_view import PortHealthView # noqa: PLC0415
        d = dict(src_dict)
        history = []
        _history = d.pop("history")
        for history_item_data in (_history):
            history_item = AssetHealthChangeView.from_dict(history_item_data)



            history.append(history_item)


        name = d.pop("name")

        ports = []
        _ports = d.pop("ports")
        for ports_item_data in (_ports):
            ports_item = PortHealthView.from_dict(ports_item_data)



            ports.append(ports_item)


        state = d.pop("state")

        switch = d.pop("switch")

        switch_health = cls(
            history=history,
            name=name,
            ports=ports,
            state=state,
            switch=switch,
        )


        switch_health.additional_properties = d
        return switch_health

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
