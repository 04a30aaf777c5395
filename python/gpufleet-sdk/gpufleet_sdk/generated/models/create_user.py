from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.role import Role






T = TypeVar("T", bound="CreateUser")



@_attrs_define
class CreateUser:
    """ 
        Attributes:
            password (str):
            role (Role):
            username (str):
     """

    password: str
    role: Role
    username: str





    def to_dict(self) -> dict[str, Any]:
        password = self.password

        role = self.role.value

        username = self.username


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "password": password,
            "role": role,
            "username": username,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        password = d.pop("password")

        role = Role(d.pop("role"))




        username = d.pop("username")

        create_user = cls(
            password=password,
            role=role,
            username=username,
        )

        return create_user

