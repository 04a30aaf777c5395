from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.gpu_series_view import GpuSeriesView





T = TypeVar("T", bound="SeriesResponse")



@_attrs_define
class SeriesResponse:
    """ A field's history for a GPU, node or rack.

        Attributes:
            agg (str): mean, min, max or last.
            asset (str): The asset asked for.
            asset_kind (str): gpu, node or rack.
            asset_name (str):
            backend (str): `sqlite` or `influxdb`.
            field (str): The field's gpufleet name.
            from_ (str):
            resolution_secs (float): Length of one stored interval, seconds: no step shows finer detail.
            series (list[GpuSeriesView]): Every GPU of the asset, by name.
            step_secs (float): Seconds; steps start at multiples of it since the Unix epoch.
            to (str):
     """

    agg: str
    asset: str
    asset_kind: str
    asset_name: str
    backend: str
    field: str
    from_: str
    resolution_secs: float
    series: list[GpuSeriesView]
    step_secs: float
    to: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.gpu_series_view import GpuSeriesView # noqa: PLC0415
        agg = self.agg

        asset = self.asset

        asset_kind = self.asset_kind

        asset_name = self.asset_name

        backend = self.backend

        field = self.field

        from_ = self.from_

        resolution_secs = self.resolution_secs

        series = []
        for series_item_data in self.series:
            series_item = series_item_data.to_dict()
            series.append(series_item)



        step_secs = self.step_secs

        to = self.to


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "agg": agg,
            "asset": asset,
            "asset_kind": asset_kind,
            "asset_name": asset_name,
            "backend": backend,
            "field": field,
            "from": from_,
            "resolution_secs": resolution_secs,
            "series": series,
            "step_secs": step_secs,
            "to": to,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gpu_series_view import GpuSeriesView # noqa: PLC0415
        d = dict(src_dict)
        agg = d.pop("agg")

        asset = d.pop("asset")

        asset_kind = d.pop("asset_kind")

        asset_name = d.pop("asset_name")

        backend = d.pop("backend")

        field = d.pop("field")

        from_ = d.pop("from")

        resolution_secs = d.pop("resolution_secs")

        series = []
        _series = d.pop("series")
        for series_item_data in (_series):
            series_item = GpuSeriesView.from_dict(series_item_data)



            series.append(series_item)


        step_secs = d.pop("step_secs")

        to = d.pop("to")

        series_response = cls(
            agg=agg,
            asset=asset,
            asset_kind=asset_kind,
            asset_name=asset_name,
            backend=backend,
            field=field,
            from_=from_,
            resolution_secs=resolution_secs,
            series=series,
            step_secs=step_secs,
            to=to,
        )


        series_response.additional_properties = d
        return series_response

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
