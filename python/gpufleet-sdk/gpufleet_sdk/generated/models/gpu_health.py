from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.gpu_health_change import GpuHealthChange
  from ..models.gpu_status_view import GpuStatusView





T = TypeVar("T", bound="GpuHealth")



@_attrs_define
class GpuHealth:
    """ A GPU's health: its latest status and its latest health changes.

        Attributes:
            gpu (str):
            history (list[GpuHealthChange]): Latest health changes, newest first (follows the GPU by serial).
            name (str):
            status (GpuStatusView): The latest known status of one GPU.
            node (None | str | Unset): The node the CMDB puts it in.
            serial (None | str | Unset):
     """

    gpu: str
    history: list[GpuHealthChange]
    name: str
    status: GpuStatusView
    node: None | str | Unset = UNSET
    serial: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.gpu_health_change import GpuHealthChange # noqa: PLC0415
        from ..models.gpu_status_view import GpuStatusView # noqa: PLC0415
        gpu = self.gpu

        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)



        name = self.name

        status = self.status.to_dict()

        node: None | str | Unset
        if isinstance(self.node, Unset):
            node = UNSET
        else:
            node = self.node

        serial: None | str | Unset
        if isinstance(self.serial, Unset):
            serial = UNSET
        else:
            serial = self.serial


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "gpu": gpu,
            "history": history,
            "name": name,
            "status": status,
        })
        if node is not UNSET:
            field_dict["node"] = node
        if serial is not UNSET:
            field_dict["serial"] = serial

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gpu_health_change import GpuHealthChange # noqa: PLC0415
        from ..models.gpu_status_view import GpuStatusView # noqa: PLC0415
        d = dict(src_dict)
        gpu = d.pop("gpu")

        history = []
        _history = d.pop("history")
        for history_item_data in (_history):
            history_item = GpuHealthChange.from_dict(history_item_data)



            history.append(history_item)


        name = d.pop("name")

        status = GpuStatusView.from_dict(d.pop("status"))




        def _parse_node(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node = _parse_node(d.pop("node", UNSET))


        def _parse_serial(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        serial = _parse_serial(d.pop("serial", UNSET))


        gpu_health = cls(
            gpu=gpu,
            history=history,
            name=name,
            status=status,
            node=node,
            serial=serial,
        )


        gpu_health.additional_properties = d
        return gpu_health

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
