from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.asset_kind import AssetKind
from typing import cast

if TYPE_CHECKING:
  from ..models.asset_status import AssetStatus
  from ..models.asset_view_spec import AssetViewSpec
  from ..models.metadata import Metadata





T = TypeVar("T", bound="AssetView")



@_attrs_define
class AssetView:
    """ An asset as the API shows it: `{id, kind, name, metadata, spec, status}`.

        Attributes:
            id (str):
            kind (AssetKind):
            metadata (Metadata):
            name (str):
            spec (AssetViewSpec): The versioned configuration document. Secrets are never shown.
            status (AssetStatus):
     """

    id: str
    kind: AssetKind
    metadata: Metadata
    name: str
    spec: AssetViewSpec
    status: AssetStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.asset_status import AssetStatus # noqa: PLC0415
        from ..models.asset_view_spec import AssetViewSpec # noqa: PLC0415
        from ..models.metadata import Metadata # noqa: PLC0415
        id = self.id

        kind = self.kind.value

        metadata = self.metadata.to_dict()

        name = self.name

        spec = self.spec.to_dict()

        status = self.status.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "kind": kind,
            "metadata": metadata,
            "name": name,
            "spec": spec,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.asset_status import AssetStatus # noqa: PLC0415
        from ..models.asset_view_spec import AssetViewSpec # noqa: PLC0415
        from ..models.metadata import Metadata # noqa: PLC0415
        d = dict(src_dict)
        id = d.pop("id")

        kind = AssetKind(d.pop("kind"))




        metadata = Metadata.from_dict(d.pop("metadata"))




        name = d.pop("name")

        spec = AssetViewSpec.from_dict(d.pop("spec"))




        status = AssetStatus.from_dict(d.pop("status"))




        asset_view = cls(
            id=id,
            kind=kind,
            metadata=metadata,
            name=name,
            spec=spec,
            status=status,
        )


        asset_view.additional_properties = d
        return asset_view

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
