from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="RemediationStep")



@_attrs_define
class RemediationStep:
    """ One step of a remediation plan.

        Attributes:
            action (str): `drain_and_diagnose`, `reboot_node`, `facilities_power`, `check_cabling`, …
            decision (str): `execute`, `needs_approval`, `refused` or `manual`.
            gpu (None | str | Unset): The GPU an `rma` step marks for return (a record in its configuration, kept with the
                GPU wherever it moves); its node is `node`.
            node (None | str | Unset): The node acted on (absent for a manual step about the root asset).
            node_name (None | str | Unset):
            outcome (None | str | Unset): After a run: `done` or `failed: …`; absent in a dry run and for steps not
                executed.
            reason (None | str | Unset): Why it needs approval or was refused, or what a person does for a manual step.
     """

    action: str
    decision: str
    gpu: None | str | Unset = UNSET
    node: None | str | Unset = UNSET
    node_name: None | str | Unset = UNSET
    outcome: None | str | Unset = UNSET
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        action = self.action

        decision = self.decision

        gpu: None | str | Unset
        if isinstance(self.gpu, Unset):
            gpu = UNSET
        else:
            gpu = self.gpu

        node: None | str | Unset
        if isinstance(self.node, Unset):
            node = UNSET
        else:
            node = self.node

        node_name: None | str | Unset
        if isinstance(self.node_name, Unset):
            node_name = UNSET
        else:
            node_name = self.node_name

        outcome: None | str | Unset
        if isinstance(self.outcome, Unset):
            outcome = UNSET
        else:
            outcome = self.outcome

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "decision": decision,
        })
        if gpu is not UNSET:
            field_dict["gpu"] = gpu
        if node is not UNSET:
            field_dict["node"] = node
        if node_name is not UNSET:
            field_dict["node_name"] = node_name
        if outcome is not UNSET:
            field_dict["outcome"] = outcome
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        decision = d.pop("decision")

        def _parse_gpu(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        gpu = _parse_gpu(d.pop("gpu", UNSET))


        def _parse_node(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node = _parse_node(d.pop("node", UNSET))


        def _parse_node_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node_name = _parse_node_name(d.pop("node_name", UNSET))


        def _parse_outcome(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        outcome = _parse_outcome(d.pop("outcome", UNSET))


        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        remediation_step = cls(
            action=action,
            decision=decision,
            gpu=gpu,
            node=node,
            node_name=node_name,
            outcome=outcome,
            reason=reason,
        )


        remediation_step.additional_properties = d
        return remediation_step

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
