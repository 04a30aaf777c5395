from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.profile_spec import ProfileSpec





T = TypeVar("T", bound="ProfileView")



@_attrs_define
class ProfileView:
    """ An expected hardware profile.

        Attributes:
            created_at (str):
            id (str):
            name (str):
            spec (ProfileSpec): What a node assigned to this profile is expected to look like.
            updated_at (str):
            version (int): Also the ETag.
     """

    created_at: str
    id: str
    name: str
    spec: ProfileSpec
    updated_at: str
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.profile_spec import ProfileSpec # noqa: PLC0415
        created_at = self.created_at

        id = self.id

        name = self.name

        spec = self.spec.to_dict()

        updated_at = self.updated_at

        version = self.version


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "id": id,
            "name": name,
            "spec": spec,
            "updated_at": updated_at,
            "version": version,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.profile_spec import ProfileSpec # noqa: PLC0415
        d = dict(src_dict)
        created_at = d.pop("created_at")

        id = d.pop("id")

        name = d.pop("name")

        spec = ProfileSpec.from_dict(d.pop("spec"))




        updated_at = d.pop("updated_at")

        version = d.pop("version")

        profile_view = cls(
            created_at=created_at,
            id=id,
            name=name,
            spec=spec,
            updated_at=updated_at,
            version=version,
        )


        profile_view.additional_properties = d
        return profile_view

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
