from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.profile_spec import ProfileSpec





T = TypeVar("T", bound="CreateProfile")



@_attrs_define
class CreateProfile:
    """ 
        Attributes:
            name (str):
            spec (ProfileSpec): What a node assigned to this profile is expected to look like.
     """

    name: str
    spec: ProfileSpec





    def to_dict(self) -> dict[str, Any]:
        from ..models.profile_spec import ProfileSpec # noqa: PLC0415
        name = self.name

        spec = self.spec.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "name": name,
            "spec": spec,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.profile_spec import ProfileSpec # noqa: PLC0415
        d = dict(src_dict)
        name = d.pop("name")

        spec = ProfileSpec.from_dict(d.pop("spec"))




        create_profile = cls(
            name=name,
            spec=spec,
        )

        return create_profile

