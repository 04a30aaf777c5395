from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.alert_view import AlertView





T = TypeVar("T", bound="AlertList")



@_attrs_define
class AlertList:
    """ The alerts held.

        Attributes:
            alerts (list[AlertView]):
            firing (int):
            total (int):
            unresolved (int):
     """

    alerts: list[AlertView]
    firing: int
    total: int
    unresolved: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.alert_view import AlertView # noqa: PLC0415
        alerts = []
        for alerts_item_data in self.alerts:
            alerts_item = alerts_item_data.to_dict()
            alerts.append(alerts_item)



        firing = self.firing

        total = self.total

        unresolved = self.unresolved


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "alerts": alerts,
            "firing": firing,
            "total": total,
            "unresolved": unresolved,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert_view import AlertView # noqa: PLC0415
        d = dict(src_dict)
        alerts = []
        _alerts = d.pop("alerts")
        for alerts_item_data in (_alerts):
            alerts_item = AlertView.from_dict(alerts_item_data)



            alerts.append(alerts_item)


        firing = d.pop("firing")

        total = d.pop("total")

        unresolved = d.pop("unresolved")

        alert_list = cls(
            alerts=alerts,
            firing=firing,
            total=total,
            unresolved=unresolved,
        )


        alert_list.additional_properties = d
        return alert_list

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
