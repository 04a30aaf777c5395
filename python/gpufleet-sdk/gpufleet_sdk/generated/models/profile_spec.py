from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.profile_spec_bios import ProfileSpecBios
  from ..models.profile_spec_firmware import ProfileSpecFirmware





T = TypeVar("T", bound="ProfileSpec")



@_attrs_define
class ProfileSpec:
    """ What a node assigned to this profile is expected to look like.

        Attributes:
            bios (ProfileSpecBios | Unset): Expected BIOS attributes (name → value).
            cuda (None | str | Unset):
            description (None | str | Unset):
            driver (None | str | Unset):
            firmware (ProfileSpecFirmware | Unset): Expected firmware versions (component → version).
            gpu_count (int | None | Unset):
            gpu_model (None | str | Unset):
     """

    bios: ProfileSpecBios | Unset = UNSET
    cuda: None | str | Unset = UNSET
    description: None | str | Unset = UNSET
    driver: None | str | Unset = UNSET
    firmware: ProfileSpecFirmware | Unset = UNSET
    gpu_count: int | None | Unset = UNSET
    gpu_model: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.profile_spec_bios import ProfileSpecBios # noqa: PLC0415
        from ..models.profile_spec_firmware import ProfileSpecFirmware # noqa: PLC0415
        bios: dict[str, Any] | Unset = UNSET
        if not isinstance(self.bios, Unset):
            bios = self.bios.to_dict()

        cuda: None | str | Unset
        if isinstance(self.cuda, Unset):
            cuda = UNSET
        else:
            cuda = self.cuda

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        driver: None | str | Unset
        if isinstance(self.driver, Unset):
            driver = UNSET
        else:
            driver = self.driver

        firmware: dict[str, Any] | Unset = UNSET
        if not isinstance(self.firmware, Unset):
            firmware = self.firmware.to_dict()

        gpu_count: int | None | Unset
        if isinstance(self.gpu_count, Unset):
            gpu_count = UNSET
        else:
            gpu_count = self.gpu_count

        gpu_model: None | str | Unset
        if isinstance(self.gpu_model, Unset):
            gpu_model = UNSET
        else:
            gpu_model = self.gpu_model


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if bios is not UNSET:
            field_dict["bios"] = bios
        if cuda is not UNSET:
            field_dict["cuda"] = cuda
        if description is not UNSET:
            field_dict["description"] = description
        if driver is not UNSET:
            field_dict["driver"] = driver
        if firmware is not UNSET:
            field_dict["firmware"] = firmware
        if gpu_count is not UNSET:
            field_dict["gpu_count"] = gpu_count
        if gpu_model is not UNSET:
            field_dict["gpu_model"] = gpu_model

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.profile_spec_bios import ProfileSpecBios # noqa: PLC0415
        from ..models.profile_spec_firmware import ProfileSpecFirmware # noqa: PLC0415
        d = dict(src_dict)
        _bios = d.pop("bios", UNSET)
        bios: ProfileSpecBios | Unset
        if isinstance(_bios,  Unset):
            bios = UNSET
        else:
            bios = ProfileSpecBios.from_dict(_bios)




        def _parse_cuda(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cuda = _parse_cuda(d.pop("cuda", UNSET))


        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))


        def _parse_driver(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        driver = _parse_driver(d.pop("driver", UNSET))


        _firmware = d.pop("firmware", UNSET)
        firmware: ProfileSpecFirmware | Unset
        if isinstance(_firmware,  Unset):
            firmware = UNSET
        else:
            firmware = ProfileSpecFirmware.from_dict(_firmware)




        def _parse_gpu_count(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        gpu_count = _parse_gpu_count(d.pop("gpu_count", UNSET))


        def _parse_gpu_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        gpu_model = _parse_gpu_model(d.pop("gpu_model", UNSET))


        profile_spec = cls(
            bios=bios,
            cuda=cuda,
            description=description,
            driver=driver,
            firmware=firmware,
            gpu_count=gpu_count,
            gpu_model=gpu_model,
        )

        return profile_spec

