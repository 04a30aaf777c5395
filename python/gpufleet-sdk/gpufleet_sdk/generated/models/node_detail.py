from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.asset_kind import AssetKind
from ..models.node_state import NodeState
from typing import cast

if TYPE_CHECKING:
  from ..models.asset_status import AssetStatus
  from ..models.asset_view_spec import AssetViewSpec
  from ..models.metadata import Metadata
  from ..models.node_detail_components import NodeDetailComponents
  from ..models.relation_view import RelationView





T = TypeVar("T", bound="NodeDetail")



@_attrs_define
class NodeDetail:
    """ 
        Attributes:
            id (str):
            kind (AssetKind):
            metadata (Metadata):
            name (str):
            spec (AssetViewSpec): The versioned configuration document. Secrets are never shown.
            status (AssetStatus):
            allowed_transitions (list[NodeState]): States this node may move to next.
            components (NodeDetailComponents): Contained assets by kind (gpu, nic, disk, bmc).
            relations (list[RelationView]):
     """

    id: str
    kind: AssetKind
    metadata: Metadata
    name: str
    spec: AssetViewSpec
    status: AssetStatus
    allowed_transitions: list[NodeState]
    components: NodeDetailComponents
    relations: list[RelationView]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.asset_status import AssetStatus # noqa: PLC0415
        from ..models.asset_view_spec import AssetViewSpec # noqa: PLC0415
        from ..models.metadata import Metadata # noqa: PLC0415
        from ..models.node_detail_components import NodeDetailComponents # noqa: PLC0415
        from ..models.relation_view import RelationView # noqa: PLC0415
        id = self.id

        kind = self.kind.value

        metadata = self.metadata.to_dict()

        name = self.name

        spec = self.spec.to_dict()

        status = self.status.to_dict()

        allowed_transitions = []
        for allowed_transitions_item_data in self.allowed_transitions:
            allowed_transitions_item = allowed_transitions_item_data.value
            allowed_transitions.append(allowed_transitions_item)



        components = self.components.to_dict()

        relations = []
        for relations_item_data in self.relations:
            relations_item = relations_item_data.to_dict()
            relations.append(relations_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "id": id,
            "kind": kind,
            "metadata": metadata,
            "name": name,
            "spec": spec,
            "status": status,
            "allowed_transitions": allowed_transitions,
            "components": components,
            "relations": relations,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.asset_status import AssetStatus # noqa: PLC0415
        from ..models.asset_view_spec import AssetViewSpec # noqa: PLC0415
        from ..models.metadata import Metadata # noqa: PLC0415
        from ..models.node_detail_components import NodeDetailComponents # noqa: PLC0415
        from ..models.relation_view import RelationView # noqa: PLC0415
        d = dict(src_dict)
        id = d.pop("id")

        kind = AssetKind(d.pop("kind"))




        metadata = Metadata.from_dict(d.pop("metadata"))




        name = d.pop("name")

        spec = AssetViewSpec.from_dict(d.pop("spec"))




        status = AssetStatus.from_dict(d.pop("status"))




        allowed_transitions = []
        _allowed_transitions = d.pop("allowed_transitions")
        for allowed_transitions_item_data in (_allowed_transitions):
            allowed_transitions_item = NodeState(allowed_transitions_item_data)



            allowed_transitions.append(allowed_transitions_item)


        components = NodeDetailComponents.from_dict(d.pop("components"))




        relations = []
        _relations = d.pop("relations")
        for relations_item_data in (_relations):
            relations_item = RelationView.from_dict(relations_item_data)



            relations.append(relations_item)


        node_detail = cls(
            id=id,
            kind=kind,
            metadata=metadata,
            name=name,
            spec=spec,
            status=status,
            allowed_transitions=allowed_transitions,
            components=components,
            relations=relations,
        )


        node_detail.additional_properties = d
        return node_detail

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
