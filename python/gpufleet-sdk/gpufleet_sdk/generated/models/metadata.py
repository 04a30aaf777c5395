from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.metadata_labels import MetadataLabels





T = TypeVar("T", bound="Metadata")



@_attrs_define
class Metadata:
    """ 
        Attributes:
            created_at (str):
            labels (MetadataLabels):
            updated_at (str):
            version (int): Configuration version, also the ETag.
            parent_id (None | str | Unset):
            rack_id (None | str | Unset):
     """

    created_at: str
    labels: MetadataLabels
    updated_at: str
    version: int
    parent_id: None | str | Unset = UNSET
    rack_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.metadata_labels import MetadataLabels # noqa: PLC0415
        created_at = self.created_at

        labels = self.labels.to_dict()

        updated_at = self.updated_at

        version = self.version

        parent_id: None | str | Unset
        if isinstance(self.parent_id, Unset):
            parent_id = UNSET
        else:
            parent_id = self.parent_id

        rack_id: None | str | Unset
        if isinstance(self.rack_id, Unset):
            rack_id = UNSET
        else:
            rack_id = self.rack_id


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "labels": labels,
            "updated_at": updated_at,
            "version": version,
        })
        if parent_id is not UNSET:
            field_dict["parent_id"] = parent_id
        if rack_id is not UNSET:
            field_dict["rack_id"] = rack_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.metadata_labels import MetadataLabels # noqa: PLC0415
        d = dict(src_dict)
        created_at = d.pop("created_at")

        labels = MetadataLabels.from_dict(d.pop("labels"))




        updated_at = d.pop("updated_at")

        version = d.pop("version")

        def _parse_parent_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        parent_id = _parse_parent_id(d.pop("parent_id", UNSET))


        def _parse_rack_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rack_id = _parse_rack_id(d.pop("rack_id", UNSET))


        metadata = cls(
            created_at=created_at,
            labels=labels,
            updated_at=updated_at,
            version=version,
            parent_id=parent_id,
            rack_id=rack_id,
        )


        metadata.additional_properties = d
        return metadata

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
