from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="NodeGpuHealth")



@_attrs_define
class NodeGpuHealth:
    """ One GPU of a node's roll-up.

        Attributes:
            gpu (str):
            name (str):
            state (str): healthy, unknown, degraded, missing or failed.
            last_seen (None | str | Unset):
            serial (None | str | Unset):
     """

    gpu: str
    name: str
    state: str
    last_seen: None | str | Unset = UNSET
    serial: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        gpu = self.gpu

        name = self.name

        state = self.state

        last_seen: None | str | Unset
        if isinstance(self.last_seen, Unset):
            last_seen = UNSET
        else:
            last_seen = self.last_seen

        serial: None | str | Unset
        if isinstance(self.serial, Unset):
            serial = UNSET
        else:
            serial = self.serial


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "gpu": gpu,
            "name": name,
            "state": state,
        })
        if last_seen is not UNSET:
            field_dict["last_seen"] = last_seen
        if serial is not UNSET:
            field_dict["serial"] = serial

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        gpu = d.pop("gpu")

        name = d.pop("name")

        state = d.pop("state")

        def _parse_last_seen(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_seen = _parse_last_seen(d.pop("last_seen", UNSET))


        def _parse_serial(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        serial = _parse_serial(d.pop("serial", UNSET))


        node_gpu_health = cls(
            gpu=gpu,
            name=name,
            state=state,
            last_seen=last_seen,
            serial=serial,
        )


        node_gpu_health.additional_properties = d
        return node_gpu_health

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
