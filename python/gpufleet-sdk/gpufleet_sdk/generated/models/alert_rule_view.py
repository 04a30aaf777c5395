from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.alert_rule_view_annotations import AlertRuleViewAnnotations
  from ..models.alert_rule_view_labels import AlertRuleViewLabels
  from ..models.rule_alert_view import RuleAlertView





T = TypeVar("T", bound="AlertRuleView")



@_attrs_define
class AlertRuleView:
    """ One rule of the effective set.

        Attributes:
            active (list[RuleAlertView]):
            annotations (AlertRuleViewAnnotations):
            builtin (bool): A built-in rule of this name exists (a stored one overrides it).
            enabled (bool):
            expr (str):
            labels (AlertRuleViewLabels):
            name (str):
            severity (str): `critical`, `warning` or `info`.
            source (str): `builtin` (shipped, unchanged) or `stored` (through this API).
            version (int): The stored version (the `ETag`); 0 for a built-in rule never changed.
            for_ (None | str | Unset):
            group (None | str | Unset):
            updated_at (None | str | Unset):
            updated_by (None | str | Unset):
     """

    active: list[RuleAlertView]
    annotations: AlertRuleViewAnnotations
    builtin: bool
    enabled: bool
    expr: str
    labels: AlertRuleViewLabels
    name: str
    severity: str
    source: str
    version: int
    for_: None | str | Unset = UNSET
    group: None | str | Unset = UNSET
    updated_at: None | str | Unset = UNSET
    updated_by: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.alert_rule_view_annotations import AlertRuleViewAnnotations # noqa: PLC0415
        from ..models.alert_rule_view_labels import AlertRuleViewLabels # noqa: PLC0415
        from ..models.rule_alert_view import RuleAlertView # noqa: PLC0415
        active = []
        for active_item_data in self.active:
            active_item = active_item_data.to_dict()
            active.append(active_item)



        annotations = self.annotations.to_dict()

        builtin = self.builtin

        enabled = self.enabled

        expr = self.expr

        labels = self.labels.to_dict()

        name = self.name

        severity = self.severity

        source = self.source

        version = self.version

        for_: None | str | Unset
        if isinstance(self.for_, Unset):
            for_ = UNSET
        else:
            for_ = self.for_

        group: None | str | Unset
        if isinstance(self.group, Unset):
            group = UNSET
        else:
            group = self.group

        updated_at: None | str | Unset
        if isinstance(self.updated_at, Unset):
            updated_at = UNSET
        else:
            updated_at = self.updated_at

        updated_by: None | str | Unset
        if isinstance(self.updated_by, Unset):
            updated_by = UNSET
        else:
            updated_by = self.updated_by


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "active": active,
            "annotations": annotations,
            "builtin": builtin,
            "enabled": enabled,
            "expr": expr,
            "labels": labels,
            "name": name,
            "severity": severity,
            "source": source,
            "version": version,
        })
        if for_ is not UNSET:
            field_dict["for"] = for_
        if group is not UNSET:
            field_dict["group"] = group
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at
        if updated_by is not UNSET:
            field_dict["updated_by"] = updated_by

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert_rule_view_annotations import AlertRuleViewAnnotations # noqa: PLC0415
        from ..models.alert_rule_view_labels import AlertRuleViewLabels # noqa: PLC0415
        from ..models.rule_alert_view import RuleAlertView # noqa: PLC0415
        d = dict(src_dict)
        active = []
        _active = d.pop("active")
        for active_item_data in (_active):
            active_item = RuleAlertView.from_dict(active_item_data)



            active.append(active_item)


        annotations = AlertRuleViewAnnotations.from_dict(d.pop("annotations"))




        builtin = d.pop("builtin")

        enabled = d.pop("enabled")

        expr = d.pop("expr")

        labels = AlertRuleViewLabels.from_dict(d.pop("labels"))




        name = d.pop("name")

        severity = d.pop("severity")

        source = d.pop("source")

        version = d.pop("version")

        def _parse_for_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        for_ = _parse_for_(d.pop("for", UNSET))


        def _parse_group(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        group = _parse_group(d.pop("group", UNSET))


        def _parse_updated_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        updated_at = _parse_updated_at(d.pop("updated_at", UNSET))


        def _parse_updated_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        updated_by = _parse_updated_by(d.pop("updated_by", UNSET))


        alert_rule_view = cls(
            active=active,
            annotations=annotations,
            builtin=builtin,
            enabled=enabled,
            expr=expr,
            labels=labels,
            name=name,
            severity=severity,
            source=source,
            version=version,
            for_=for_,
            group=group,
            updated_at=updated_at,
            updated_by=updated_by,
        )


        alert_rule_view.additional_properties = d
        return alert_rule_view

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
