from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.nvidia_stack import NvidiaStack
  from ..models.os_image import OsImage
  from ..models.partition import Partition
  from ..models.plan_spec_images import PlanSpecImages
  from ..models.plan_spec_timeouts import PlanSpecTimeouts
  from ..models.raid_volume import RaidVolume
  from ..models.validation import Validation





T = TypeVar("T", bound="PlanSpec")



@_attrs_define
class PlanSpec:
    """ An install plan as stored in the CMDB (one immutable document per version).

        Attributes:
            os (OsImage):
            disk (None | str | Unset): Disk the image is written to (default `/dev/nvme0n1`).
            global_timeout_s (int | None | Unset): Deadline of the whole workflow in seconds (default 7200).
            images (PlanSpecImages | Unset): Action images by kind (`image2disk`, `oci2disk`, `writefile`, `cexec`).
            nvidia (NvidiaStack | Unset):
            partitions (list[Partition] | Unset): Extra partitions and filesystems (data disks, scratch), created in the
                installed OS.
            raid (None | RaidVolume | Unset):
            root_fs (None | str | Unset): Filesystem of the root partition (default `ext4`).
            root_partition (None | str | Unset): The root partition inside the image, where files are written and commands
                run
                (default: partition 2 of `disk`, e.g. `/dev/nvme0n1p2`).
            timeouts (PlanSpecTimeouts | Unset): Timeouts in seconds by action name (defaults: 1800 for the image, 1200 for
                NVIDIA
                packages, 900 for validation, 120 otherwise).
            validation (Validation | Unset):
     """

    os: OsImage
    disk: None | str | Unset = UNSET
    global_timeout_s: int | None | Unset = UNSET
    images: PlanSpecImages | Unset = UNSET
    nvidia: NvidiaStack | Unset = UNSET
    partitions: list[Partition] | Unset = UNSET
    raid: None | RaidVolume | Unset = UNSET
    root_fs: None | str | Unset = UNSET
    root_partition: None | str | Unset = UNSET
    timeouts: PlanSpecTimeouts | Unset = UNSET
    validation: Validation | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.nvidia_stack import NvidiaStack # noqa: PLC0415
        from ..models.os_image import OsImage # noqa: PLC0415
        from ..models.partition import Partition # noqa: PLC0415
        from ..models.plan_spec_images import PlanSpecImages # noqa: PLC0415
        from ..models.plan_spec_timeouts import PlanSpecTimeouts # noqa: PLC0415
        from ..models.raid_volume import RaidVolume # noqa: PLC0415
        from ..models.validation import Validation # noqa: PLC0415
        os = self.os.to_dict()

        disk: None | str | Unset
        if isinstance(self.disk, Unset):
            disk = UNSET
        else:
            disk = self.disk

        global_timeout_s: int | None | Unset
        if isinstance(self.global_timeout_s, Unset):
            global_timeout_s = UNSET
        else:
            global_timeout_s = self.global_timeout_s

        images: dict[str, Any] | Unset = UNSET
        if not isinstance(self.images, Unset):
            images = self.images.to_dict()

        nvidia: dict[str, Any] | Unset = UNSET
        if not isinstance(self.nvidia, Unset):
            nvidia = self.nvidia.to_dict()

        partitions: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.partitions, Unset):
            partitions = []
            for partitions_item_data in self.partitions:
                partitions_item = partitions_item_data.to_dict()
                partitions.append(partitions_item)



        raid: dict[str, Any] | None | Unset
        if isinstance(self.raid, Unset):
            raid = UNSET
        elif isinstance(self.raid, RaidVolume):
            raid = self.raid.to_dict()
        else:
            raid = self.raid

        root_fs: None | str | Unset
        if isinstance(self.root_fs, Unset):
            root_fs = UNSET
        else:
            root_fs = self.root_fs

        root_partition: None | str | Unset
        if isinstance(self.root_partition, Unset):
            root_partition = UNSET
        else:
            root_partition = self.root_partition

        timeouts: dict[str, Any] | Unset = UNSET
        if not isinstance(self.timeouts, Unset):
            timeouts = self.timeouts.to_dict()

        validation: dict[str, Any] | Unset = UNSET
        if not isinstance(self.validation, Unset):
            validation = self.validation.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "os": os,
        })
        if disk is not UNSET:
            field_dict["disk"] = disk
        if global_timeout_s is not UNSET:
            field_dict["global_timeout_s"] = global_timeout_s
        if images is not UNSET:
            field_dict["images"] = images
        if nvidia is not UNSET:
            field_dict["nvidia"] = nvidia
        if partitions is not UNSET:
            field_dict["partitions"] = partitions
        if raid is not UNSET:
            field_dict["raid"] = raid
        if root_fs is not UNSET:
            field_dict["root_fs"] = root_fs
        if root_partition is not UNSET:
            field_dict["root_partition"] = root_partition
        if timeouts is not UNSET:
            field_dict["timeouts"] = timeouts
        if validation is not UNSET:
            field_dict["validation"] = validation

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.nvidia_stack import NvidiaStack # noqa: PLC0415
        from ..models.os_image import OsImage # noqa: PLC0415
        from ..models.partition import Partition # noqa: PLC0415
        from ..models.plan_spec_images import PlanSpecImages # noqa: PLC0415
        from ..models.plan_spec_timeouts import PlanSpecTimeouts # noqa: PLC0415
        from ..models.raid_volume import RaidVolume # noqa: PLC0415
        from ..models.validation import Validation # noqa: PLC0415
        d = dict(src_dict)
        os = OsImage.from_dict(d.pop("os"))




        def _parse_disk(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        disk = _parse_disk(d.pop("disk", UNSET))


        def _parse_global_timeout_s(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        global_timeout_s = _parse_global_timeout_s(d.pop("global_timeout_s", UNSET))


        _images = d.pop("images", UNSET)
        images: PlanSpecImages | Unset
        if isinstance(_images,  Unset):
            images = UNSET
        else:
            images = PlanSpecImages.from_dict(_images)




        _nvidia = d.pop("nvidia", UNSET)
        nvidia: NvidiaStack | Unset
        if isinstance(_nvidia,  Unset):
            nvidia = UNSET
        else:
            nvidia = NvidiaStack.from_dict(_nvidia)




        _partitions = d.pop("partitions", UNSET)
        partitions: list[Partition] | Unset = UNSET
        if _partitions is not UNSET:
            partitions = []
            for partitions_item_data in _partitions:
                partitions_item = Partition.from_dict(partitions_item_data)



                partitions.append(partitions_item)


        def _parse_raid(data: object) -> None | RaidVolume | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                raid_type_1 = RaidVolume.from_dict(data)



                return raid_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RaidVolume | Unset, data)

        raid = _parse_raid(d.pop("raid", UNSET))


        def _parse_root_fs(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        root_fs = _parse_root_fs(d.pop("root_fs", UNSET))


        def _parse_root_partition(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        root_partition = _parse_root_partition(d.pop("root_partition", UNSET))


        _timeouts = d.pop("timeouts", UNSET)
        timeouts: PlanSpecTimeouts | Unset
        if isinstance(_timeouts,  Unset):
            timeouts = UNSET
        else:
            timeouts = PlanSpecTimeouts.from_dict(_timeouts)




        _validation = d.pop("validation", UNSET)
        validation: Validation | Unset
        if isinstance(_validation,  Unset):
            validation = UNSET
        else:
            validation = Validation.from_dict(_validation)




        plan_spec = cls(
            os=os,
            disk=disk,
            global_timeout_s=global_timeout_s,
            images=images,
            nvidia=nvidia,
            partitions=partitions,
            raid=raid,
            root_fs=root_fs,
            root_partition=root_partition,
            timeouts=timeouts,
            validation=validation,
        )

        return plan_spec

