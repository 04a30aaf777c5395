from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.rejected_alert import RejectedAlert





T = TypeVar("T", bound="AlertIngestReport")



@_attrs_define
class AlertIngestReport:
    """ What one alert request did.

        Attributes:
            accepted (int): Alerts taken (new and known).
            alerts_held (int): Alerts held in all, and how many of them are unresolved.
            incidents (list[str]): Incidents the request opened or changed.
            new (int): Of those, fingerprints not seen before.
            received (int): Alerts in the request.
            rejected (list[RejectedAlert]): Alerts refused, with why; the others were taken.
            unresolved (int): Of the new ones, alerts no CMDB asset matched (kept and correlated alone).
            unresolved_held (int):
     """

    accepted: int
    alerts_held: int
    incidents: list[str]
    new: int
    received: int
    rejected: list[RejectedAlert]
    unresolved: int
    unresolved_held: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.rejected_alert import RejectedAlert # noqa: PLC0415
        accepted = self.accepted

        alerts_held = self.alerts_held

        incidents = self.incidents



        new = self.new

        received = self.received

        rejected = []
        for rejected_item_data in self.rejected:
            rejected_item = rejected_item_data.to_dict()
            rejected.append(rejected_item)



        unresolved = self.unresolved

        unresolved_held = self.unresolved_held


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "accepted": accepted,
            "alerts_held": alerts_held,
            "incidents": incidents,
            "new": new,
            "received": received,
            "rejected": rejected,
            "unresolved": unresolved,
            "unresolved_held": unresolved_held,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.rejected_alert import RejectedAlert # noqa: PLC0415
        d = dict(src_dict)
        accepted = d.pop("accepted")

        alerts_held = d.pop("alerts_held")

        incidents = cast(list[str], d.pop("incidents"))


        new = d.pop("new")

        received = d.pop("received")

        rejected = []
        _rejected = d.pop("rejected")
        for rejected_item_data in (_rejected):
            rejected_item = RejectedAlert.from_dict(rejected_item_data)



            rejected.append(rejected_item)


        unresolved = d.pop("unresolved")

        unresolved_held = d.pop("unresolved_held")

        alert_ingest_report = cls(
            accepted=accepted,
            alerts_held=alerts_held,
            incidents=incidents,
            new=new,
            received=received,
            rejected=rejected,
            unresolved=unresolved,
            unresolved_held=unresolved_held,
        )


        alert_ingest_report.additional_properties = d
        return alert_ingest_report

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
