from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.asset_kind import AssetKind
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.asset_status import AssetStatus
  from ..models.asset_view import AssetView
  from ..models.asset_view_spec import AssetViewSpec
  from ..models.metadata import Metadata





T = TypeVar("T", bound="NodeListItem")



@_attrs_define
class NodeListItem:
    """ A node of a list, with the parts asked for by `include`.

        Attributes:
            id (str):
            kind (AssetKind):
            metadata (Metadata):
            name (str):
            spec (AssetViewSpec): The versioned configuration document. Secrets are never shown.
            status (AssetStatus):
            gpus (list[AssetView] | None | Unset): The node's GPUs (with `include=gpus`).
     """

    id: str
    kind: AssetKind
    metadata: Metadata
    name: str
    spec: AssetViewSpec
    status: AssetStatus
    gpus: list[AssetView] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.asset_status import AssetStatus # noqa: PLC0415
        from ..models.asset_view import AssetView # noqa: PLC0415
        from ..models.asset_view_spec import AssetViewSpec # noqa: PLC0415
        from ..models.metadata import Metadata # noqa: PLC0415
        id = self.id

        kind = self.kind.value

        metadata = self.metadata.to_dict()

        name = self.name

        spec = self.spec.to_dict()

        status = self.status.to_dict()

        gpus: list[dict[str, Any]] | None | Unset
        if isinstance(self.gpus, Unset):
            gpus = UNSET
        elif isinstance(self.gpus, list):
            gpus = []
            for gpus_type_0_item_data in self.gpus:
                gpus_type_0_item = gpus_type_0_item_data.to_dict()
                gpus.append(gpus_type_0_item)


        else:
            gpus = self.gpus


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
        if gpus is not UNSET:
            field_dict["gpus"] = gpus

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.asset_status import AssetStatus # noqa: PLC0415
        from ..models.asset_view import AssetView # noqa: PLC0415
        from ..models.asset_view_spec import AssetViewSpec # noqa: PLC0415
        from ..models.metadata import Metadata # noqa: PLC0415
        d = dict(src_dict)
        id = d.pop("id")

        kind = AssetKind(d.pop("kind"))




        metadata = Metadata.from_dict(d.pop("metadata"))




        name = d.pop("name")

        spec = AssetViewSpec.from_dict(d.pop("spec"))




        status = AssetStatus.from_dict(d.pop("status"))




        def _parse_gpus(data: object) -> list[AssetView] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                gpus_type_0 = []
                _gpus_type_0 = data
                for gpus_type_0_item_data in (_gpus_type_0):
                    gpus_type_0_item = AssetView.from_dict(gpus_type_0_item_data)



                    gpus_type_0.append(gpus_type_0_item)

                return gpus_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[AssetView] | None | Unset, data)

        gpus = _parse_gpus(d.pop("gpus", UNSET))


        node_list_item = cls(
            id=id,
            kind=kind,
            metadata=metadata,
            name=name,
            spec=spec,
            status=status,
            gpus=gpus,
        )


        node_list_item.additional_properties = d
        return node_list_item

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
