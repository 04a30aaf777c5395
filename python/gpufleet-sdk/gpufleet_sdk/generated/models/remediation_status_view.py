from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.diagnosis_view import DiagnosisView
  from ..models.guard_rails_view import GuardRailsView
  from ..models.remediation_action import RemediationAction





T = TypeVar("T", bound="RemediationStatusView")



@_attrs_define
class RemediationStatusView:
    """ What remediation may do and has done (in the process that holds the incidents).

        Attributes:
            automatic (bool): New incidents' automatic actions run without a person.
            diagnoses (list[DiagnosisView]): Diagnoses under way (`POST /api/v1/nodes/{id}/diagnose`).
            guard_rails (GuardRailsView): Guard rails in force.
            kill_switch (bool):
            recent (list[RemediationAction]): The latest actions, newest first (at most 50).
            window_used (int): Nodes acted on within the budget's window.
            kill_switch_by (None | str | Unset):
            kill_switch_reason (None | str | Unset):
     """

    automatic: bool
    diagnoses: list[DiagnosisView]
    guard_rails: GuardRailsView
    kill_switch: bool
    recent: list[RemediationAction]
    window_used: int
    kill_switch_by: None | str | Unset = UNSET
    kill_switch_reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.diagnosis_view import DiagnosisView # noqa: PLC0415
        from ..models.guard_rails_view import GuardRailsView # noqa: PLC0415
        from ..models.remediation_action import RemediationAction # noqa: PLC0415
        automatic = self.automatic

        diagnoses = []
        for diagnoses_item_data in self.diagnoses:
            diagnoses_item = diagnoses_item_data.to_dict()
            diagnoses.append(diagnoses_item)



        guard_rails = self.guard_rails.to_dict()

        kill_switch = self.kill_switch

        recent = []
        for recent_item_data in self.recent:
            recent_item = recent_item_data.to_dict()
            recent.append(recent_item)



        window_used = self.window_used

        kill_switch_by: None | str | Unset
        if isinstance(self.kill_switch_by, Unset):
            kill_switch_by = UNSET
        else:
            kill_switch_by = self.kill_switch_by

        kill_switch_reason: None | str | Unset
        if isinstance(self.kill_switch_reason, Unset):
            kill_switch_reason = UNSET
        else:
            kill_switch_reason = self.kill_switch_reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "automatic": automatic,
            "diagnoses": diagnoses,
            "guard_rails": guard_rails,
            "kill_switch": kill_switch,
            "recent": recent,
            "window_used": window_used,
        })
        if kill_switch_by is not UNSET:
            field_dict["kill_switch_by"] = kill_switch_by
        if kill_switch_reason is not UNSET:
            field_dict["kill_switch_reason"] = kill_switch_reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.diagnosis_view import DiagnosisView # noqa: PLC0415
        from ..models.guard_rails_view import GuardRailsView # noqa: PLC0415
        from ..models.remediation_action import RemediationAction # noqa: PLC0415
        d = dict(src_dict)
        automatic = d.pop("automatic")

        diagnoses = []
        _diagnoses = d.pop("diagnoses")
        for diagnoses_item_data in (_diagnoses):
            diagnoses_item = DiagnosisView.from_dict(diagnoses_item_data)



            diagnoses.append(diagnoses_item)


        guard_rails = GuardRailsView.from_dict(d.pop("guard_rails"))




        kill_switch = d.pop("kill_switch")

        recent = []
        _recent = d.pop("recent")
        for recent_item_data in (_recent):
            recent_item = RemediationAction.from_dict(recent_item_data)



            recent.append(recent_item)


        window_used = d.pop("window_used")

        def _parse_kill_switch_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        kill_switch_by = _parse_kill_switch_by(d.pop("kill_switch_by", UNSET))


        def _parse_kill_switch_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        kill_switch_reason = _parse_kill_switch_reason(d.pop("kill_switch_reason", UNSET))


        remediation_status_view = cls(
            automatic=automatic,
            diagnoses=diagnoses,
            guard_rails=guard_rails,
            kill_switch=kill_switch,
            recent=recent,
            window_used=window_used,
            kill_switch_by=kill_switch_by,
            kill_switch_reason=kill_switch_reason,
        )


        remediation_status_view.additional_properties = d
        return remediation_status_view

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
