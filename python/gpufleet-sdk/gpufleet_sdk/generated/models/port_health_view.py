from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="PortHealthView")



@_attrs_define
class PortHealthView:
    """ One switch port as its gNMI stream reports it.

        Attributes:
            port (str):
            reasons (list[Any]):
            state (str): failed (up but no link), degraded (dormant/testing/unknown link, or errors over the
                threshold within the window), missing (the switch's stream is gone), healthy, unknown.
            admin_up (bool | None | Unset):
            in_errors (float | None | Unset):
            last_seen (None | str | Unset):
            oper_status (None | str | Unset): OpenConfig `oper-status`: `UP`, `DOWN`, `LOWER_LAYER_DOWN`, `DORMANT`, …
            out_errors (float | None | Unset):
     """

    port: str
    reasons: list[Any]
    state: str
    admin_up: bool | None | Unset = UNSET
    in_errors: float | None | Unset = UNSET
    last_seen: None | str | Unset = UNSET
    oper_status: None | str | Unset = UNSET
    out_errors: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        port = self.port

        reasons = self.reasons



        state = self.state

        admin_up: bool | None | Unset
        if isinstance(self.admin_up, Unset):
            admin_up = UNSET
        else:
            admin_up = self.admin_up

        in_errors: float | None | Unset
        if isinstance(self.in_errors, Unset):
            in_errors = UNSET
        else:
            in_errors = self.in_errors

        last_seen: None | str | Unset
        if isinstance(self.last_seen, Unset):
            last_seen = UNSET
        else:
            last_seen = self.last_seen

        oper_status: None | str | Unset
        if isinstance(self.oper_status, Unset):
            oper_status = UNSET
        else:
            oper_status = self.oper_status

        out_errors: float | None | Unset
        if isinstance(self.out_errors, Unset):
            out_errors = UNSET
        else:
            out_errors = self.out_errors


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "port": port,
            "reasons": reasons,
            "state": state,
        })
        if admin_up is not UNSET:
            field_dict["admin_up"] = admin_up
        if in_errors is not UNSET:
            field_dict["in_errors"] = in_errors
        if last_seen is not UNSET:
            field_dict["last_seen"] = last_seen
        if oper_status is not UNSET:
            field_dict["oper_status"] = oper_status
        if out_errors is not UNSET:
            field_dict["out_errors"] = out_errors

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        port = d.pop("port")

        reasons = cast(list[Any], d.pop("reasons"))


        state = d.pop("state")

        def _parse_admin_up(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        admin_up = _parse_admin_up(d.pop("admin_up", UNSET))


        def _parse_in_errors(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        in_errors = _parse_in_errors(d.pop("in_errors", UNSET))


        def _parse_last_seen(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_seen = _parse_last_seen(d.pop("last_seen", UNSET))


        def _parse_oper_status(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        oper_status = _parse_oper_status(d.pop("oper_status", UNSET))


        def _parse_out_errors(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        out_errors = _parse_out_errors(d.pop("out_errors", UNSET))


        port_health_view = cls(
            port=port,
            reasons=reasons,
            state=state,
            admin_up=admin_up,
            in_errors=in_errors,
            last_seen=last_seen,
            oper_status=oper_status,
            out_errors=out_errors,
        )


        port_health_view.additional_properties = d
        return port_health_view

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
