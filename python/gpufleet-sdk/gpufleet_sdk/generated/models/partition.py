from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="Partition")



@_attrs_define
class Partition:
    """ 
        Attributes:
            device (str): Whole device to partition, e.g. `/dev/nvme1n1`.
            filesystem (str): `ext4` or `xfs`.
            mount (str): Mount point in the installed OS (an fstab line is written).
            label (None | str | Unset):
            size (None | str | Unset): Size, e.g. `500G`; absent: the rest of the device.
     """

    device: str
    filesystem: str
    mount: str
    label: None | str | Unset = UNSET
    size: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        device = self.device

        filesystem = self.filesystem

        mount = self.mount

        label: None | str | Unset
        if isinstance(self.label, Unset):
            label = UNSET
        else:
            label = self.label

        size: None | str | Unset
        if isinstance(self.size, Unset):
            size = UNSET
        else:
            size = self.size


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "device": device,
            "filesystem": filesystem,
            "mount": mount,
        })
        if label is not UNSET:
            field_dict["label"] = label
        if size is not UNSET:
            field_dict["size"] = size

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        device = d.pop("device")

        filesystem = d.pop("filesystem")

        mount = d.pop("mount")

        def _parse_label(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        label = _parse_label(d.pop("label", UNSET))


        def _parse_size(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        size = _parse_size(d.pop("size", UNSET))


        partition = cls(
            device=device,
            filesystem=filesystem,
            mount=mount,
            label=label,
            size=size,
        )

        return partition

