from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="CduStatusView")



@_attrs_define
class CduStatusView:
    """ One CDU polled over Redfish by this process.

        Attributes:
            cdu (str):
            conditions (list[str]): What its conditions say is wrong, worst first.
            failures (int): Reads that failed since this process started.
            name (str):
            reachable (bool): The last read answered.
            error (None | str | Unset): Why the last read failed.
            health (None | str | Unset): `Status.Health` and `Status.HealthRollup` as last read (`CduFault` fires while
                either
                is `Critical`).
            health_rollup (None | str | Unset):
            last_read (None | str | Unset):
     """

    cdu: str
    conditions: list[str]
    failures: int
    name: str
    reachable: bool
    error: None | str | Unset = UNSET
    health: None | str | Unset = UNSET
    health_rollup: None | str | Unset = UNSET
    last_read: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        cdu = self.cdu

        conditions = self.conditions



        failures = self.failures

        name = self.name

        reachable = self.reachable

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        health: None | str | Unset
        if isinstance(self.health, Unset):
            health = UNSET
        else:
            health = self.health

        health_rollup: None | str | Unset
        if isinstance(self.health_rollup, Unset):
            health_rollup = UNSET
        else:
            health_rollup = self.health_rollup

        last_read: None | str | Unset
        if isinstance(self.last_read, Unset):
            last_read = UNSET
        else:
            last_read = self.last_read


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "cdu": cdu,
            "conditions": conditions,
            "failures": failures,
            "name": name,
            "reachable": reachable,
        })
        if error is not UNSET:
            field_dict["error"] = error
        if health is not UNSET:
            field_dict["health"] = health
        if health_rollup is not UNSET:
            field_dict["health_rollup"] = health_rollup
        if last_read is not UNSET:
            field_dict["last_read"] = last_read

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        cdu = d.pop("cdu")

        conditions = cast(list[str], d.pop("conditions"))


        failures = d.pop("failures")

        name = d.pop("name")

        reachable = d.pop("reachable")

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_health(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        health = _parse_health(d.pop("health", UNSET))


        def _parse_health_rollup(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        health_rollup = _parse_health_rollup(d.pop("health_rollup", UNSET))


        def _parse_last_read(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_read = _parse_last_read(d.pop("last_read", UNSET))


        cdu_status_view = cls(
            cdu=cdu,
            conditions=conditions,
            failures=failures,
            name=name,
            reachable=reachable,
            error=error,
            health=health,
            health_rollup=health_rollup,
            last_read=last_read,
        )


        cdu_status_view.additional_properties = d
        return cdu_status_view

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
