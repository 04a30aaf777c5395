from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.put_alert_rule_annotations import PutAlertRuleAnnotations
  from ..models.put_alert_rule_labels import PutAlertRuleLabels





T = TypeVar("T", bound="PutAlertRule")



@_attrs_define
class PutAlertRule:
    """ A rule as a Prometheus rule file writes it, plus whether it is evaluated.

        Attributes:
            expr (str): `DCGM_FI_DEV_GPU_TEMP > 85`, `increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[10m]) > 0`,
                `absent_over_time(DCGM_FI_DEV_GPU_TEMP[2m])`, `health == failed`; `{rack="r1"}` after
                the field scopes the rule.
            annotations (PutAlertRuleAnnotations | Unset): `{{ $labels.node }}`, `{{ $value }}` are filled in.
            comment (None | str | Unset): Why it changes; kept with the version.
            enabled (bool | None | Unset): Default true; false keeps the rule (or switches a built-in rule off) without
                evaluating it.
            for_ (None | str | Unset): How long the condition must hold before the alert fires (`30s`, `5m`, `1h`).
            group (None | str | Unset):
            labels (PutAlertRuleLabels | Unset): `severity`: critical, warning (default) or info.
     """

    expr: str
    annotations: PutAlertRuleAnnotations | Unset = UNSET
    comment: None | str | Unset = UNSET
    enabled: bool | None | Unset = UNSET
    for_: None | str | Unset = UNSET
    group: None | str | Unset = UNSET
    labels: PutAlertRuleLabels | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.put_alert_rule_annotations import PutAlertRuleAnnotations # noqa: PLC0415
        from ..models.put_alert_rule_labels import PutAlertRuleLabels # noqa: PLC0415
        expr = self.expr

        annotations: dict[str, Any] | Unset = UNSET
        if not isinstance(self.annotations, Unset):
            annotations = self.annotations.to_dict()

        comment: None | str | Unset
        if isinstance(self.comment, Unset):
            comment = UNSET
        else:
            comment = self.comment

        enabled: bool | None | Unset
        if isinstance(self.enabled, Unset):
            enabled = UNSET
        else:
            enabled = self.enabled

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

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "expr": expr,
        })
        if annotations is not UNSET:
            field_dict["annotations"] = annotations
        if comment is not UNSET:
            field_dict["comment"] = comment
        if enabled is not UNSET:
            field_dict["enabled"] = enabled
        if for_ is not UNSET:
            field_dict["for"] = for_
        if group is not UNSET:
            field_dict["group"] = group
        if labels is not UNSET:
            field_dict["labels"] = labels

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.put_alert_rule_annotations import PutAlertRuleAnnotations # noqa: PLC0415
        from ..models.put_alert_rule_labels import PutAlertRuleLabels # noqa: PLC0415
        d = dict(src_dict)
        expr = d.pop("expr")

        _annotations = d.pop("annotations", UNSET)
        annotations: PutAlertRuleAnnotations | Unset
        if isinstance(_annotations,  Unset):
            annotations = UNSET
        else:
            annotations = PutAlertRuleAnnotations.from_dict(_annotations)




        def _parse_comment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        comment = _parse_comment(d.pop("comment", UNSET))


        def _parse_enabled(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        enabled = _parse_enabled(d.pop("enabled", UNSET))


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


        _labels = d.pop("labels", UNSET)
        labels: PutAlertRuleLabels | Unset
        if isinstance(_labels,  Unset):
            labels = UNSET
        else:
            labels = PutAlertRuleLabels.from_dict(_labels)




        put_alert_rule = cls(
            expr=expr,
            annotations=annotations,
            comment=comment,
            enabled=enabled,
            for_=for_,
            group=group,
            labels=labels,
        )

        return put_alert_rule

