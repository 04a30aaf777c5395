from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.role import Role






T = TypeVar("T", bound="User")



@_attrs_define
class User:
    """ 
        Attributes:
            created_at (int):
            disabled (bool):
            id (str):
            role (Role):
            updated_at (int):
            username (str):
     """

    created_at: int
    disabled: bool
    id: str
    role: Role
    updated_at: int
    username: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        disabled = self.disabled

        id = self.id

        role = self.role.value

        updated_at = self.updated_at

        username = self.username


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "disabled": disabled,
            "id": id,
            "role": role,
            "updated_at": updated_at,
            "username": username,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = d.pop("created_at")

        disabled = d.pop("disabled")

        id = d.pop("id")

        role = Role(d.pop("role"))




        updated_at = d.pop("updated_at")

        username = d.pop("username")

        user = cls(
            created_at=created_at,
            disabled=disabled,
            id=id,
            role=role,
            updated_at=updated_at,
            username=username,
        )


        user.additional_properties = d
        return user

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
