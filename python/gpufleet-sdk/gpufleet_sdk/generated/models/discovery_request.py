from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.bmc_entry import BmcEntry
  from ..models.sweep import Sweep





T = TypeVar("T", bound="DiscoveryRequest")



@_attrs_define
class DiscoveryRequest:
    """ 
        Attributes:
            bmcs (list[BmcEntry] | Unset):
            sweep (None | Sweep | Unset):
     """

    bmcs: list[BmcEntry] | Unset = UNSET
    sweep: None | Sweep | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.bmc_entry import BmcEntry # noqa: PLC0415
        from ..models.sweep import Sweep # noqa: PLC0415
        bmcs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.bmcs, Unset):
            bmcs = []
            for bmcs_item_data in self.bmcs:
                bmcs_item = bmcs_item_data.to_dict()
                bmcs.append(bmcs_item)



        sweep: dict[str, Any] | None | Unset
        if isinstance(self.sweep, Unset):
            sweep = UNSET
        elif isinstance(self.sweep, Sweep):
            sweep = self.sweep.to_dict()
        else:
            sweep = self.sweep


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if bmcs is not UNSET:
            field_dict["bmcs"] = bmcs
        if sweep is not UNSET:
            field_dict["sweep"] = sweep

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bmc_entry import BmcEntry # noqa: PLC0415
        from ..models.sweep import Sweep # noqa: PLC0415
        d = dict(src_dict)
        _bmcs = d.pop("bmcs", UNSET)
        bmcs: list[BmcEntry] | Unset = UNSET
        if _bmcs is not UNSET:
            bmcs = []
            for bmcs_item_data in _bmcs:
                bmcs_item = BmcEntry.from_dict(bmcs_item_data)



                bmcs.append(bmcs_item)


        def _parse_sweep(data: object) -> None | Sweep | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                sweep_type_1 = Sweep.from_dict(data)



                return sweep_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Sweep | Unset, data)

        sweep = _parse_sweep(d.pop("sweep", UNSET))


        discovery_request = cls(
            bmcs=bmcs,
            sweep=sweep,
        )

        return discovery_request

