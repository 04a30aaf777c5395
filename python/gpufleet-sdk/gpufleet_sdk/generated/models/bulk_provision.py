from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.node_state import NodeState
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.bulk_provision_labels import BulkProvisionLabels





T = TypeVar("T", bound="BulkProvision")



@_attrs_define
class BulkProvision:
    """ 
        Attributes:
            concurrency (int | None | Unset): Nodes installed at once (default and maximum: `tinkerbell.concurrency`).
            ids (list[str] | Unset): Node ids or names.
            labels (BulkProvisionLabels | Unset): Nodes with all of these labels.
            plan (None | str | Unset):
            plan_version (int | None | Unset):
            rack (None | str | Unset):
            reason (None | str | Unset):
            state (NodeState | None | Unset):
     """

    concurrency: int | None | Unset = UNSET
    ids: list[str] | Unset = UNSET
    labels: BulkProvisionLabels | Unset = UNSET
    plan: None | str | Unset = UNSET
    plan_version: int | None | Unset = UNSET
    rack: None | str | Unset = UNSET
    reason: None | str | Unset = UNSET
    state: NodeState | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.bulk_provision_labels import BulkProvisionLabels # noqa: PLC0415
        concurrency: int | None | Unset
        if isinstance(self.concurrency, Unset):
            concurrency = UNSET
        else:
            concurrency = self.concurrency

        ids: list[str] | Unset = UNSET
        if not isinstance(self.ids, Unset):
            ids = self.ids



        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        plan: None | str | Unset
        if isinstance(self.plan, Unset):
            plan = UNSET
        else:
            plan = self.plan

        plan_version: int | None | Unset
        if isinstance(self.plan_version, Unset):
            plan_version = UNSET
        else:
            plan_version = self.plan_version

        rack: None | str | Unset
        if isinstance(self.rack, Unset):
            rack = UNSET
        else:
            rack = self.rack

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        state: None | str | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        elif isinstance(self.state, NodeState):
            state = self.state.value
        else:
            state = self.state


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if concurrency is not UNSET:
            field_dict["concurrency"] = concurrency
        if ids is not UNSET:
            field_dict["ids"] = ids
        if labels is not UNSET:
            field_dict["labels"] = labels
        if plan is not UNSET:
            field_dict["plan"] = plan
        if plan_version is not UNSET:
            field_dict["plan_version"] = plan_version
        if rack is not UNSET:
            field_dict["rack"] = rack
        if reason is not UNSET:
            field_dict["reason"] = reason
        if state is not UNSET:
            field_dict["state"] = state

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bulk_provision_labels import BulkProvisionLabels # noqa: PLC0415
        d = dict(src_dict)
        def _parse_concurrency(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        concurrency = _parse_concurrency(d.pop("concurrency", UNSET))


        ids = cast(list[str], d.pop("ids", UNSET))


        _labels = d.pop("labels", UNSET)
        labels: BulkProvisionLabels | Unset
        if isinstance(_labels,  Unset):
            labels = UNSET
        else:
            labels = BulkProvisionLabels.from_dict(_labels)




        def _parse_plan(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        plan = _parse_plan(d.pop("plan", UNSET))


        def _parse_plan_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        plan_version = _parse_plan_version(d.pop("plan_version", UNSET))


        def _parse_rack(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rack = _parse_rack(d.pop("rack", UNSET))


        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        def _parse_state(data: object) -> NodeState | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                state_type_1 = NodeState(data)



                return state_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NodeState | None | Unset, data)

        state = _parse_state(d.pop("state", UNSET))


        bulk_provision = cls(
            concurrency=concurrency,
            ids=ids,
            labels=labels,
            plan=plan,
            plan_version=plan_version,
            rack=rack,
            reason=reason,
            state=state,
        )

        return bulk_provision

