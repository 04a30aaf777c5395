from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="PortAdminRequest")



@_attrs_define
class PortAdminRequest:
    """ 
        Attributes:
            enabled (bool): true: administratively up; false: down.
            deadline_s (int | None | Unset): Deadline of the job in seconds (default 600).
     """

    enabled: bool
    deadline_s: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        enabled = self.enabled

        deadline_s: int | None | Unset
        if isinstance(self.deadline_s, Unset):
            deadline_s = UNSET
        else:
            deadline_s = self.deadline_s


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "enabled": enabled,
        })
        if deadline_s is not UNSET:
            field_dict["deadline_s"] = deadline_s

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        enabled = d.pop("enabled")

        def _parse_deadline_s(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        deadline_s = _parse_deadline_s(d.pop("deadline_s", UNSET))


        port_admin_request = cls(
            enabled=enabled,
            deadline_s=deadline_s,
        )


        port_admin_request.additional_properties = d
        return port_admin_request

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
