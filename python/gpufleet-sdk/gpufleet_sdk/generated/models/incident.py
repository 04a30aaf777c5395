from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.incident_state_view import IncidentStateView
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.affected import Affected
  from ..models.alert_view import AlertView
  from ..models.root_cause import RootCause
  from ..models.timeline_entry_view import TimelineEntryView





T = TypeVar("T", bound="Incident")



@_attrs_define
class Incident:
    """ An incident. `alerts` and `timeline` only in the detail.

        Attributes:
            actions (list[str]): Suggested actions (`facilities_power`, `check_cabling`, `drain_and_diagnose`, ...).
            affected (Affected): What an incident affects.
            alert_count (int):
            alerts_firing (int):
            blast_radius (int): Affected GPUs plus affected in-service nodes.
            id (str):
            last_alert_at (str):
            opened_at (str): When this server opened it, and last changed it.
            priority (float): Severity weight × (1 + blast radius) × age factor; the list is sorted by it.
            root_cause (RootCause): The asset that failed, and why.
            severity (str): `info`, `warning` or `critical`: the highest member severity.
            started_at (str): Earliest and latest member `startsAt`.
            state (IncidentStateView): The state of an incident.
            updated_at (str):
            acknowledged_by (None | str | Unset):
            alerts (list[AlertView] | None | Unset):
            resolved_by (None | str | Unset):
            rule (None | str | Unset): The causal rule that grouped the alerts (absent for a lone alert).
            timeline (list[TimelineEntryView] | None | Unset):
     """

    actions: list[str]
    affected: Affected
    alert_count: int
    alerts_firing: int
    blast_radius: int
    id: str
    last_alert_at: str
    opened_at: str
    priority: float
    root_cause: RootCause
    severity: str
    started_at: str
    state: IncidentStateView
    updated_at: str
    acknowledged_by: None | str | Unset = UNSET
    alerts: list[AlertView] | None | Unset = UNSET
    resolved_by: None | str | Unset = UNSET
    rule: None | str | Unset = UNSET
    timeline: list[TimelineEntryView] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.affected import Affected # noqa: PLC0415
        from ..models.alert_view import AlertView # noqa: PLC0415
        from ..models.root_cause import RootCause # noqa: PLC0415
        from ..models.timeline_entry_view import TimelineEntryView # noqa: PLC0415
        actions = self.actions



        affected = self.affected.to_dict()

        alert_count = self.alert_count

        alerts_firing = self.alerts_firing

        blast_radius = self.blast_radius

        id = self.id

        last_alert_at = self.last_alert_at

        opened_at = self.opened_at

        priority = self.priority

        root_cause = self.root_cause.to_dict()

        severity = self.severity

        started_at = self.started_at

        state = self.state.value

        updated_at = self.updated_at

        acknowledged_by: None | str | Unset
        if isinstance(self.acknowledged_by, Unset):
            acknowledged_by = UNSET
        else:
            acknowledged_by = self.acknowledged_by

        alerts: list[dict[str, Any]] | None | Unset
        if isinstance(self.alerts, Unset):
            alerts = UNSET
        elif isinstance(self.alerts, list):
            alerts = []
            for alerts_type_0_item_data in self.alerts:
                alerts_type_0_item = alerts_type_0_item_data.to_dict()
                alerts.append(alerts_type_0_item)


        else:
            alerts = self.alerts

        resolved_by: None | str | Unset
        if isinstance(self.resolved_by, Unset):
            resolved_by = UNSET
        else:
            resolved_by = self.resolved_by

        rule: None | str | Unset
        if isinstance(self.rule, Unset):
            rule = UNSET
        else:
            rule = self.rule

        timeline: list[dict[str, Any]] | None | Unset
        if isinstance(self.timeline, Unset):
            timeline = UNSET
        elif isinstance(self.timeline, list):
            timeline = []
            for timeline_type_0_item_data in self.timeline:
                timeline_type_0_item = timeline_type_0_item_data.to_dict()
                timeline.append(timeline_type_0_item)


        else:
            timeline = self.timeline


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "actions": actions,
            "affected": affected,
            "alert_count": alert_count,
            "alerts_firing": alerts_firing,
            "blast_radius": blast_radius,
            "id": id,
            "last_alert_at": last_alert_at,
            "opened_at": opened_at,
            "priority": priority,
            "root_cause": root_cause,
            "severity": severity,
            "started_at": started_at,
            "state": state,
            "updated_at": updated_at,
        })
        if acknowledged_by is not UNSET:
            field_dict["acknowledged_by"] = acknowledged_by
        if alerts is not UNSET:
            field_dict["alerts"] = alerts
        if resolved_by is not UNSET:
            field_dict["resolved_by"] = resolved_by
        if rule is not UNSET:
            field_dict["rule"] = rule
        if timeline is not UNSET:
            field_dict["timeline"] = timeline

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.affected import Affected # noqa: PLC0415
        from ..models.alert_view import AlertView # noqa: PLC0415
        from ..models.root_cause import RootCause # noqa: PLC0415
        from ..models.timeline_entry_view import TimelineEntryView # noqa: PLC0415
        d = dict(src_dict)
        actions = cast(list[str], d.pop("actions"))


        affected = Affected.from_dict(d.pop("affected"))




        alert_count = d.pop("alert_count")

        alerts_firing = d.pop("alerts_firing")

        blast_radius = d.pop("blast_radius")

        id = d.pop("id")

        last_alert_at = d.pop("last_alert_at")

        opened_at = d.pop("opened_at")

        priority = d.pop("priority")

        root_cause = RootCause.from_dict(d.pop("root_cause"))




        severity = d.pop("severity")

        started_at = d.pop("started_at")

        state = IncidentStateView(d.pop("state"))




        updated_at = d.pop("updated_at")

        def _parse_acknowledged_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        acknowledged_by = _parse_acknowledged_by(d.pop("acknowledged_by", UNSET))


        def _parse_alerts(data: object) -> list[AlertView] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                alerts_type_0 = []
                _alerts_type_0 = data
                for alerts_type_0_item_data in (_alerts_type_0):
                    alerts_type_0_item = AlertView.from_dict(alerts_type_0_item_data)



                    alerts_type_0.append(alerts_type_0_item)

                return alerts_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[AlertView] | None | Unset, data)

        alerts = _parse_alerts(d.pop("alerts", UNSET))


        def _parse_resolved_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        resolved_by = _parse_resolved_by(d.pop("resolved_by", UNSET))


        def _parse_rule(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rule = _parse_rule(d.pop("rule", UNSET))


        def _parse_timeline(data: object) -> list[TimelineEntryView] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                timeline_type_0 = []
                _timeline_type_0 = data
                for timeline_type_0_item_data in (_timeline_type_0):
                    timeline_type_0_item = TimelineEntryView.from_dict(timeline_type_0_item_data)



                    timeline_type_0.append(timeline_type_0_item)

                return timeline_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[TimelineEntryView] | None | Unset, data)

        timeline = _parse_timeline(d.pop("timeline", UNSET))


        incident = cls(
            actions=actions,
            affected=affected,
            alert_count=alert_count,
            alerts_firing=alerts_firing,
            blast_radius=blast_radius,
            id=id,
            last_alert_at=last_alert_at,
            opened_at=opened_at,
            priority=priority,
            root_cause=root_cause,
            severity=severity,
            started_at=started_at,
            state=state,
            updated_at=updated_at,
            acknowledged_by=acknowledged_by,
            alerts=alerts,
            resolved_by=resolved_by,
            rule=rule,
            timeline=timeline,
        )


        incident.additional_properties = d
        return incident

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
