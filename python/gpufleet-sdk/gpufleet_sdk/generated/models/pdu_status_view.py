from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="PduStatusView")



@_attrs_define
class PduStatusView:
    """ One PDU polled over Redfish by this process.

        Attributes:
            failures (int): Reads that failed since this process started.
            name (str):
            outlets_off (list[int]): Outlets that power something in the CMDB and report off (`PduFeedLost` fires for each).
            outlets_on (int): Outlets reporting on.
            pdu (str):
            reachable (bool): The last read answered.
            error (None | str | Unset): Why the last read failed.
            last_read (None | str | Unset):
            watts (float | None | Unset): Sum of the outlets' reported draw, watts.
     """

    failures: int
    name: str
    outlets_off: list[int]
    outlets_on: int
    pdu: str
    reachable: bool
    error: None | str | Unset = UNSET
    last_read: None | str | Unset = UNSET
    watts: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        failures = self.failures

        name = self.name

        outlets_off = self.outlets_off



        outlets_on = self.outlets_on

        pdu = self.pdu

        reachable = self.reachable

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        last_read: None | str | Unset
        if isinstance(self.last_read, Unset):
            last_read = UNSET
        else:
            last_read = self.last_read

        watts: float | None | Unset
        if isinstance(self.watts, Unset):
            watts = UNSET
        else:
            watts = self.watts


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "failures": failures,
            "name": name,
            "outlets_off": outlets_off,
            "outlets_on": outlets_on,
            "pdu": pdu,
            "reachable": reachable,
        })
        if error is not UNSET:
            field_dict["error"] = error
        if last_read is not UNSET:
            field_dict["last_read"] = last_read
        if watts is not UNSET:
            field_dict["watts"] = watts

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        failures = d.pop("failures")

        name = d.pop("name")

        outlets_off = cast(list[int], d.pop("outlets_off"))


        outlets_on = d.pop("outlets_on")

        pdu = d.pop("pdu")

        reachable = d.pop("reachable")

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_last_read(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_read = _parse_last_read(d.pop("last_read", UNSET))


        def _parse_watts(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        watts = _parse_watts(d.pop("watts", UNSET))


        pdu_status_view = cls(
            failures=failures,
            name=name,
            outlets_off=outlets_off,
            outlets_on=outlets_on,
            pdu=pdu,
            reachable=reachable,
            error=error,
            last_read=last_read,
            watts=watts,
        )


        pdu_status_view.additional_properties = d
        return pdu_status_view

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
