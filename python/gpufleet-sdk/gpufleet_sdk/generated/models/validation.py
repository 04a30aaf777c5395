from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="Validation")



@_attrs_define
class Validation:
    """ 
        Attributes:
            dcgm_level (int | Unset): `dcgmi diag -r <level>` (0: skip DCGM). Default: 1.
            enabled (bool | Unset): Run the validation action at all. Default: True.
     """

    dcgm_level: int | Unset = 1
    enabled: bool | Unset = True





    def to_dict(self) -> dict[str, Any]:
        dcgm_level = self.dcgm_level

        enabled = self.enabled


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if dcgm_level is not UNSET:
            field_dict["dcgm_level"] = dcgm_level
        if enabled is not UNSET:
            field_dict["enabled"] = enabled

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        dcgm_level = d.pop("dcgm_level", UNSET)

        enabled = d.pop("enabled", UNSET)

        validation = cls(
            dcgm_level=dcgm_level,
            enabled=enabled,
        )

        return validation

