from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.series_point_view import SeriesPointView





T = TypeVar("T", bound="GpuSeriesView")



@_attrs_define
class GpuSeriesView:
    """ One GPU's series.

        Attributes:
            gpu (str): The GPU asset.
            name (str):
            points (list[SeriesPointView]): Oldest first; steps without samples have no point (a GPU without any has none).
            node (None | str | Unset): The node the CMDB puts it in now.
     """

    gpu: str
    name: str
    points: list[SeriesPointView]
    node: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.series_point_view import SeriesPointView # noqa: PLC0415
        gpu = self.gpu

        name = self.name

        points = []
        for points_item_data in self.points:
            points_item = points_item_data.to_dict()
            points.append(points_item)



        node: None | str | Unset
        if isinstance(self.node, Unset):
            node = UNSET
        else:
            node = self.node


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "gpu": gpu,
            "name": name,
            "points": points,
        })
        if node is not UNSET:
            field_dict["node"] = node

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.series_point_view import SeriesPointView # noqa: PLC0415
        d = dict(src_dict)
        gpu = d.pop("gpu")

        name = d.pop("name")

        points = []
        _points = d.pop("points")
        for points_item_data in (_points):
            points_item = SeriesPointView.from_dict(points_item_data)



            points.append(points_item)


        def _parse_node(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node = _parse_node(d.pop("node", UNSET))


        gpu_series_view = cls(
            gpu=gpu,
            name=name,
            points=points,
            node=node,
        )


        gpu_series_view.additional_properties = d
        return gpu_series_view

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
