from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="RemediationAction")



@_attrs_define
class RemediationAction:
    """ One action remediation carried out.

        Attributes:
            action (str):
            approved (bool):
            at (str):
            by (str): A person, or `system:remediation`.
            incident (str):
            node (str):
            node_name (str):
            outcome (str): `done` or `failed: …`.
     """

    action: str
    approved: bool
    at: str
    by: str
    incident: str
    node: str
    node_name: str
    outcome: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        action = self.action

        approved = self.approved

        at = self.at

        by = self.by

        incident = self.incident

        node = self.node

        node_name = self.node_name

        outcome = self.outcome


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "approved": approved,
            "at": at,
            "by": by,
            "incident": incident,
            "node": node,
            "node_name": node_name,
            "outcome": outcome,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        approved = d.pop("approved")

        at = d.pop("at")

        by = d.pop("by")

        incident = d.pop("incident")

        node = d.pop("node")

        node_name = d.pop("node_name")

        outcome = d.pop("outcome")

        remediation_action = cls(
            action=action,
            approved=approved,
            at=at,
            by=by,
            incident=incident,
            node=node,
            node_name=node_name,
            outcome=outcome,
        )


        remediation_action.additional_properties = d
        return remediation_action

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
