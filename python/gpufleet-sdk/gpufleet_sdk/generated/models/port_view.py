from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="PortView")



@_attrs_define
class PortView:
    """ A switch port as its gNMI target reports it (OpenConfig interfaces).

        Attributes:
            admin_up (bool):
            name (str):
            oper_status (str): `UP`, `DOWN`, ... as the target reports it.
            description (None | str | Unset):
            mtu (int | None | Unset):
     """

    admin_up: bool
    name: str
    oper_status: str
    description: None | str | Unset = UNSET
    mtu: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        admin_up = self.admin_up

        name = self.name

        oper_status = self.oper_status

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        mtu: int | None | Unset
        if isinstance(self.mtu, Unset):
            mtu = UNSET
        else:
            mtu = self.mtu


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "admin_up": admin_up,
            "name": name,
            "oper_status": oper_status,
        })
        if description is not UNSET:
            field_dict["description"] = description
        if mtu is not UNSET:
            field_dict["mtu"] = mtu

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        admin_up = d.pop("admin_up")

        name = d.pop("name")

        oper_status = d.pop("oper_status")

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))


        def _parse_mtu(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        mtu = _parse_mtu(d.pop("mtu", UNSET))


        port_view = cls(
            admin_up=admin_up,
            name=name,
            oper_status=oper_status,
            description=description,
            mtu=mtu,
        )


        port_view.additional_properties = d
        return port_view

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
