from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.nvidia_stack_fabric_manager import NvidiaStackFabricManager





T = TypeVar("T", bound="NvidiaStack")



@_attrs_define
class NvidiaStack:
    """ 
        Attributes:
            cuda (None | str | Unset): CUDA toolkit version (default: the profile's `cuda`).
            driver (None | str | Unset): Driver version (default: the profile's `driver`).
            fabric_manager (NvidiaStackFabricManager | Unset): Fabric manager: `true` installs the driver's version, a
                string names one, `false` or
                absent leaves it out (default: installed when the profile expects 8 or more GPUs).
     """

    cuda: None | str | Unset = UNSET
    driver: None | str | Unset = UNSET
    fabric_manager: NvidiaStackFabricManager | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.nvidia_stack_fabric_manager import NvidiaStackFabricManager # noqa: PLC0415
        cuda: None | str | Unset
        if isinstance(self.cuda, Unset):
            cuda = UNSET
        else:
            cuda = self.cuda

        driver: None | str | Unset
        if isinstance(self.driver, Unset):
            driver = UNSET
        else:
            driver = self.driver

        fabric_manager: dict[str, Any] | Unset = UNSET
        if not isinstance(self.fabric_manager, Unset):
            fabric_manager = self.fabric_manager.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if cuda is not UNSET:
            field_dict["cuda"] = cuda
        if driver is not UNSET:
            field_dict["driver"] = driver
        if fabric_manager is not UNSET:
            field_dict["fabric_manager"] = fabric_manager

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.nvidia_stack_fabric_manager import NvidiaStackFabricManager # noqa: PLC0415
        d = dict(src_dict)
        def _parse_cuda(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cuda = _parse_cuda(d.pop("cuda", UNSET))


        def _parse_driver(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        driver = _parse_driver(d.pop("driver", UNSET))


        _fabric_manager = d.pop("fabric_manager", UNSET)
        fabric_manager: NvidiaStackFabricManager | Unset
        if isinstance(_fabric_manager,  Unset):
            fabric_manager = UNSET
        else:
            fabric_manager = NvidiaStackFabricManager.from_dict(_fabric_manager)




        nvidia_stack = cls(
            cuda=cuda,
            driver=driver,
            fabric_manager=fabric_manager,
        )

        return nvidia_stack

