from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="Provisioning")



@_attrs_define
class Provisioning:
    """ 
        Attributes:
            actor (str):
            attempt (int):
            created_at (int):
            id (str):
            node_id (str):
            plan_id (str):
            plan_name (str):
            plan_version (int):
            power_via (str): `gpufleet` or `rufio`.
            stage (str): `created`, `submitted`, `booted` (live); `succeeded`, `failed`, `cancelled` (final).
            updated_at (int):
            workflow (str): Name of the Workflow (and Template) in the Tinkerbell namespace.
            batch_id (None | str | Unset):
            failure (None | str | Unset):
            finished_at (int | None | Unset):
            power_jobs (None | str | Unset): Ids of the power and boot jobs (JSON list).
            progress (None | str | Unset): Last observed Workflow progress (JSON).
            timings (None | str | Unset): Milliseconds spent in gpufleet's own steps (JSON object).
     """

    actor: str
    attempt: int
    created_at: int
    id: str
    node_id: str
    plan_id: str
    plan_name: str
    plan_version: int
    power_via: str
    stage: str
    updated_at: int
    workflow: str
    batch_id: None | str | Unset = UNSET
    failure: None | str | Unset = UNSET
    finished_at: int | None | Unset = UNSET
    power_jobs: None | str | Unset = UNSET
    progress: None | str | Unset = UNSET
    timings: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        actor = self.actor

        attempt = self.attempt

        created_at = self.created_at

        id = self.id

        node_id = self.node_id

        plan_id = self.plan_id

        plan_name = self.plan_name

        plan_version = self.plan_version

        power_via = self.power_via

        stage = self.stage

        updated_at = self.updated_at

        workflow = self.workflow

        batch_id: None | str | Unset
        if isinstance(self.batch_id, Unset):
            batch_id = UNSET
        else:
            batch_id = self.batch_id

        failure: None | str | Unset
        if isinstance(self.failure, Unset):
            failure = UNSET
        else:
            failure = self.failure

        finished_at: int | None | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        else:
            finished_at = self.finished_at

        power_jobs: None | str | Unset
        if isinstance(self.power_jobs, Unset):
            power_jobs = UNSET
        else:
            power_jobs = self.power_jobs

        progress: None | str | Unset
        if isinstance(self.progress, Unset):
            progress = UNSET
        else:
            progress = self.progress

        timings: None | str | Unset
        if isinstance(self.timings, Unset):
            timings = UNSET
        else:
            timings = self.timings


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "actor": actor,
            "attempt": attempt,
            "created_at": created_at,
            "id": id,
            "node_id": node_id,
            "plan_id": plan_id,
            "plan_name": plan_name,
            "plan_version": plan_version,
            "power_via": power_via,
            "stage": stage,
            "updated_at": updated_at,
            "workflow": workflow,
        })
        if batch_id is not UNSET:
            field_dict["batch_id"] = batch_id
        if failure is not UNSET:
            field_dict["failure"] = failure
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if power_jobs is not UNSET:
            field_dict["power_jobs"] = power_jobs
        if progress is not UNSET:
            field_dict["progress"] = progress
        if timings is not UNSET:
            field_dict["timings"] = timings

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        actor = d.pop("actor")

        attempt = d.pop("attempt")

        created_at = d.pop("created_at")

        id = d.pop("id")

        node_id = d.pop("node_id")

        plan_id = d.pop("plan_id")

        plan_name = d.pop("plan_name")

        plan_version = d.pop("plan_version")

        power_via = d.pop("power_via")

        stage = d.pop("stage")

        updated_at = d.pop("updated_at")

        workflow = d.pop("workflow")

        def _parse_batch_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        batch_id = _parse_batch_id(d.pop("batch_id", UNSET))


        def _parse_failure(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        failure = _parse_failure(d.pop("failure", UNSET))


        def _parse_finished_at(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))


        def _parse_power_jobs(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        power_jobs = _parse_power_jobs(d.pop("power_jobs", UNSET))


        def _parse_progress(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        progress = _parse_progress(d.pop("progress", UNSET))


        def _parse_timings(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        timings = _parse_timings(d.pop("timings", UNSET))


        provisioning = cls(
            actor=actor,
            attempt=attempt,
            created_at=created_at,
            id=id,
            node_id=node_id,
            plan_id=plan_id,
            plan_name=plan_name,
            plan_version=plan_version,
            power_via=power_via,
            stage=stage,
            updated_at=updated_at,
            workflow=workflow,
            batch_id=batch_id,
            failure=failure,
            finished_at=finished_at,
            power_jobs=power_jobs,
            progress=progress,
            timings=timings,
        )


        provisioning.additional_properties = d
        return provisioning

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
