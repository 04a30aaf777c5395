from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.remediation_step import RemediationStep





T = TypeVar("T", bound="RemediationPlan")



@_attrs_define
class RemediationPlan:
    """ A remediation plan for one incident, with what each guard rail decided.

        Attributes:
            approval_required (bool): Some step still waits for approval.
            approved (bool):
            dry_run (bool): Nothing was executed.
            incident (str):
            kill_switch (bool):
            steps (list[RemediationStep]):
            target_node (None | str | Unset): The node holding the root cause, which node actions act on.
     """

    approval_required: bool
    approved: bool
    dry_run: bool
    incident: str
    kill_switch: bool
    steps: list[RemediationStep]
    target_node: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.remediation_step import RemediationStep # noqa: PLC0415
        approval_required = self.approval_required

        approved = self.approved

        dry_run = self.dry_run

        incident = self.incident

        kill_switch = self.kill_switch

        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)



        target_node: None | str | Unset
        if isinstance(self.target_node, Unset):
            target_node = UNSET
        else:
            target_node = self.target_node


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "approval_required": approval_required,
            "approved": approved,
            "dry_run": dry_run,
            "incident": incident,
            "kill_switch": kill_switch,
            "steps": steps,
        })
        if target_node is not UNSET:
            field_dict["target_node"] = target_node

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.remediation_step import RemediationStep # noqa: PLC0415
        d = dict(src_dict)
        approval_required = d.pop("approval_required")

        approved = d.pop("approved")

        dry_run = d.pop("dry_run")

        incident = d.pop("incident")

        kill_switch = d.pop("kill_switch")

        steps = []
        _steps = d.pop("steps")
        for steps_item_data in (_steps):
            steps_item = RemediationStep.from_dict(steps_item_data)



            steps.append(steps_item)


        def _parse_target_node(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target_node = _parse_target_node(d.pop("target_node", UNSET))


        remediation_plan = cls(
            approval_required=approval_required,
            approved=approved,
            dry_run=dry_run,
            incident=incident,
            kill_switch=kill_switch,
            steps=steps,
            target_node=target_node,
        )


        remediation_plan.additional_properties = d
        return remediation_plan

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
