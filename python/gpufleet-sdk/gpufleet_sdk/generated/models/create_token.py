from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="CreateToken")



@_attrs_define
class CreateToken:
    """ 
        Attributes:
            name (str):
            ttl_secs (int | None | Unset): Lifetime in seconds (default from configuration, at most 2 years).
     """

    name: str
    ttl_secs: int | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        name = self.name

        ttl_secs: int | None | Unset
        if isinstance(self.ttl_secs, Unset):
            ttl_secs = UNSET
        else:
            ttl_secs = self.ttl_secs


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "name": name,
        })
        if ttl_secs is not UNSET:
            field_dict["ttl_secs"] = ttl_secs

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        def _parse_ttl_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        ttl_secs = _parse_ttl_secs(d.pop("ttl_secs", UNSET))


        create_token = cls(
            name=name,
            ttl_secs=ttl_secs,
        )

        return create_token

