from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="OpRequest")



@_attrs_define
class OpRequest:
    """ An operation on one node.

        Attributes:
            deadline_s (int | None | Unset): Deadline of the whole job in seconds (default 600).
            driver (None | str | Unset): Driver: `redfish` or `ipmi` (default: the BMC's protocol), or `ipmitool`.
     """

    deadline_s: int | None | Unset = UNSET
    driver: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        deadline_s: int | None | Unset
        if isinstance(self.deadline_s, Unset):
            deadline_s = UNSET
        else:
            deadline_s = self.deadline_s

        driver: None | str | Unset
        if isinstance(self.driver, Unset):
            driver = UNSET
        else:
            driver = self.driver


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if deadline_s is not UNSET:
            field_dict["deadline_s"] = deadline_s
        if driver is not UNSET:
            field_dict["driver"] = driver

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_deadline_s(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        deadline_s = _parse_deadline_s(d.pop("deadline_s", UNSET))


        def _parse_driver(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        driver = _parse_driver(d.pop("driver", UNSET))


        op_request = cls(
            deadline_s=deadline_s,
            driver=driver,
        )


        op_request.additional_properties = d
        return op_request

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
