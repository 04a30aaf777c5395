from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.alert_rule_version_view import AlertRuleVersionView
  from ..models.alert_rule_view import AlertRuleView





T = TypeVar("T", bound="AlertRuleDetail")



@_attrs_define
class AlertRuleDetail:
    """ A rule with its stored versions (oldest first).

        Attributes:
            rule (AlertRuleView): One rule of the effective set.
            versions (list[AlertRuleVersionView]):
     """

    rule: AlertRuleView
    versions: list[AlertRuleVersionView]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.alert_rule_version_view import AlertRuleVersionView # noqa: PLC0415
        from ..models.alert_rule_view import AlertRuleView # noqa: PLC0415
        rule = self.rule.to_dict()

        versions = []
        for versions_item_data in self.versions:
            versions_item = versions_item_data.to_dict()
            versions.append(versions_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "rule": rule,
            "versions": versions,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert_rule_version_view import AlertRuleVersionView # noqa: PLC0415
        from ..models.alert_rule_view import AlertRuleView # noqa: PLC0415
        d = dict(src_dict)
        rule = AlertRuleView.from_dict(d.pop("rule"))




        versions = []
        _versions = d.pop("versions")
        for versions_item_data in (_versions):
            versions_item = AlertRuleVersionView.from_dict(versions_item_data)



            versions.append(versions_item)


        alert_rule_detail = cls(
            rule=rule,
            versions=versions,
        )


        alert_rule_detail.additional_properties = d
        return alert_rule_detail

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
