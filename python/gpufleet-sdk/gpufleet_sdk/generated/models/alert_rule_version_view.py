from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="AlertRuleVersionView")



@_attrs_define
class AlertRuleVersionView:
    """ One stored version of a rule.

        Attributes:
            actor (str):
            created_at (str):
            deleted (bool): This version deleted the rule.
            enabled (bool):
            spec (Any): The rule as stored (`expr`, `for`, `labels`, `annotations`, `group`).
            version (int):
            comment (None | str | Unset):
     """

    actor: str
    created_at: str
    deleted: bool
    enabled: bool
    spec: Any
    version: int
    comment: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        actor = self.actor

        created_at = self.created_at

        deleted = self.deleted

        enabled = self.enabled

        spec = self.spec

        version = self.version

        comment: None | str | Unset
        if isinstance(self.comment, Unset):
            comment = UNSET
        else:
            comment = self.comment


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "actor": actor,
            "created_at": created_at,
            "deleted": deleted,
            "enabled": enabled,
            "spec": spec,
            "version": version,
        })
        if comment is not UNSET:
            field_dict["comment"] = comment

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        actor = d.pop("actor")

        created_at = d.pop("created_at")

        deleted = d.pop("deleted")

        enabled = d.pop("enabled")

        spec = d.pop("spec")

        version = d.pop("version")

        def _parse_comment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        comment = _parse_comment(d.pop("comment", UNSET))


        alert_rule_version_view = cls(
            actor=actor,
            created_at=created_at,
            deleted=deleted,
            enabled=enabled,
            spec=spec,
            version=version,
            comment=comment,
        )


        alert_rule_version_view.additional_properties = d
        return alert_rule_version_view

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
