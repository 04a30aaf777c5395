from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.patch_asset_labels_type_0 import PatchAssetLabelsType0





T = TypeVar("T", bound="PatchAsset")



@_attrs_define
class PatchAsset:
    """ 
        Attributes:
            labels (None | PatchAssetLabelsType0 | Unset): Replaces all labels.
            name (None | str | Unset):
            parent_id (None | str | Unset): New parent id; `null` detaches.
     """

    labels: None | PatchAssetLabelsType0 | Unset = UNSET
    name: None | str | Unset = UNSET
    parent_id: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.patch_asset_labels_type_0 import PatchAssetLabelsType0 # noqa: PLC0415
        labels: dict[str, Any] | None | Unset
        if isinstance(self.labels, Unset):
            labels = UNSET
        elif isinstance(self.labels, PatchAssetLabelsType0):
            labels = self.labels.to_dict()
        else:
            labels = self.labels

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        parent_id: None | str | Unset
        if isinstance(self.parent_id, Unset):
            parent_id = UNSET
        else:
            parent_id = self.parent_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if labels is not UNSET:
            field_dict["labels"] = labels
        if name is not UNSET:
            field_dict["name"] = name
        if parent_id is not UNSET:
            field_dict["parent_id"] = parent_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.patch_asset_labels_type_0 import PatchAssetLabelsType0 # noqa: PLC0415
        d = dict(src_dict)
        def _parse_labels(data: object) -> None | PatchAssetLabelsType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                labels_type_0 = PatchAssetLabelsType0.from_dict(data)



                return labels_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PatchAssetLabelsType0 | Unset, data)

        labels = _parse_labels(d.pop("labels", UNSET))


        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))


        def _parse_parent_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        parent_id = _parse_parent_id(d.pop("parent_id", UNSET))


        patch_asset = cls(
            labels=labels,
            name=name,
            parent_id=parent_id,
        )

        return patch_asset

