from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="JobView")



@_attrs_define
class JobView:
    """ An out-of-band operation as a job.

        Attributes:
            actor (str):
            attempts (int): How many times a worker has started the job (more than 1: taken over after a lease
                expired).
            created_at (str):
            deadline_ms (int): How long the whole job may take, in milliseconds (a duration, not a time).
            id (str):
            kind (str): Operation, e.g. `power.cycle`, `boot.set`, `bios.set`, `raid.create`, `firmware.update`.
            params (Any): The operation's parameters; never holds credentials.
            progress (int):
            state (str): `queued`, `running`, `succeeded`, `failed`, `cancelled` or `timed_out`.
            target (str): The asset id of the node (or switch) the job acts on.
            updated_at (str):
            batch_id (None | str | Unset):
            driver (None | str | Unset): `redfish`, `ipmi`, `ipmitool`, `gnmi`.
            error (None | str | Unset):
            finished_at (None | str | Unset):
            lease_owner (None | str | Unset): The worker (process) that runs or last ran the job.
            lease_until (None | str | Unset): Until when the worker's claim holds while the job runs; a job whose lease
                expired is
                taken back by another worker.
            max_parallel (int | None | Unset): A bulk batch's limit of jobs running at once.
            result (Any | Unset): Result document once succeeded.
            started_at (None | str | Unset):
            step (None | str | Unset):
     """

    actor: str
    attempts: int
    created_at: str
    deadline_ms: int
    id: str
    kind: str
    params: Any
    progress: int
    state: str
    target: str
    updated_at: str
    batch_id: None | str | Unset = UNSET
    driver: None | str | Unset = UNSET
    error: None | str | Unset = UNSET
    finished_at: None | str | Unset = UNSET
    lease_owner: None | str | Unset = UNSET
    lease_until: None | str | Unset = UNSET
    max_parallel: int | None | Unset = UNSET
    result: Any | Unset = UNSET
    started_at: None | str | Unset = UNSET
    step: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        actor = self.actor

        attempts = self.attempts

        created_at = self.created_at

        deadline_ms = self.deadline_ms

        id = self.id

        kind = self.kind

        params = self.params

        progress = self.progress

        state = self.state

        target = self.target

        updated_at = self.updated_at

        batch_id: None | str | Unset
        if isinstance(self.batch_id, Unset):
            batch_id = UNSET
        else:
            batch_id = self.batch_id

        driver: None | str | Unset
        if isinstance(self.driver, Unset):
            driver = UNSET
        else:
            driver = self.driver

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        else:
            finished_at = self.finished_at

        lease_owner: None | str | Unset
        if isinstance(self.lease_owner, Unset):
            lease_owner = UNSET
        else:
            lease_owner = self.lease_owner

        lease_until: None | str | Unset
        if isinstance(self.lease_until, Unset):
            lease_until = UNSET
        else:
            lease_until = self.lease_until

        max_parallel: int | None | Unset
        if isinstance(self.max_parallel, Unset):
            max_parallel = UNSET
        else:
            max_parallel = self.max_parallel

        result = self.result

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        else:
            started_at = self.started_at

        step: None | str | Unset
        if isinstance(self.step, Unset):
            step = UNSET
        else:
            step = self.step


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "actor": actor,
            "attempts": attempts,
            "created_at": created_at,
            "deadline_ms": deadline_ms,
            "id": id,
            "kind": kind,
            "params": params,
            "progress": progress,
            "state": state,
            "target": target,
            "updated_at": updated_at,
        })
        if batch_id is not UNSET:
            field_dict["batch_id"] = batch_id
        if driver is not UNSET:
            field_dict["driver"] = driver
        if error is not UNSET:
            field_dict["error"] = error
        if finished_at is not UNSET:
            field_dict["finished_at"] = finished_at
        if lease_owner is not UNSET:
            field_dict["lease_owner"] = lease_owner
        if lease_until is not UNSET:
            field_dict["lease_until"] = lease_until
        if max_parallel is not UNSET:
            field_dict["max_parallel"] = max_parallel
        if result is not UNSET:
            field_dict["result"] = result
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if step is not UNSET:
            field_dict["step"] = step

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        actor = d.pop("actor")

        attempts = d.pop("attempts")

        created_at = d.pop("created_at")

        deadline_ms = d.pop("deadline_ms")

        id = d.pop("id")

        kind = d.pop("kind")

        params = d.pop("params")

        progress = d.pop("progress")

        state = d.pop("state")

        target = d.pop("target")

        updated_at = d.pop("updated_at")

        def _parse_batch_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        batch_id = _parse_batch_id(d.pop("batch_id", UNSET))


        def _parse_driver(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        driver = _parse_driver(d.pop("driver", UNSET))


        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_finished_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        finished_at = _parse_finished_at(d.pop("finished_at", UNSET))


        def _parse_lease_owner(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        lease_owner = _parse_lease_owner(d.pop("lease_owner", UNSET))


        def _parse_lease_until(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        lease_until = _parse_lease_until(d.pop("lease_until", UNSET))


        def _parse_max_parallel(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_parallel = _parse_max_parallel(d.pop("max_parallel", UNSET))


        result = d.pop("result", UNSET)

        def _parse_started_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))


        def _parse_step(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        step = _parse_step(d.pop("step", UNSET))


        job_view = cls(
            actor=actor,
            attempts=attempts,
            created_at=created_at,
            deadline_ms=deadline_ms,
            id=id,
            kind=kind,
            params=params,
            progress=progress,
            state=state,
            target=target,
            updated_at=updated_at,
            batch_id=batch_id,
            driver=driver,
            error=error,
            finished_at=finished_at,
            lease_owner=lease_owner,
            lease_until=lease_until,
            max_parallel=max_parallel,
            result=result,
            started_at=started_at,
            step=step,
        )


        job_view.additional_properties = d
        return job_view

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
