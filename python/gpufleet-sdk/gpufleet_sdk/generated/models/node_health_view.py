from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.node_gpu_health import NodeGpuHealth
  from ..models.node_health_view_reasons_item import NodeHealthViewReasonsItem





T = TypeVar("T", bound="NodeHealthView")



@_attrs_define
class NodeHealthView:
    """ A node's roll-up with the state of each of its GPUs.

        Attributes:
            gpus (list[NodeGpuHealth]):
            name (str):
            node (str):
            reasons (list[NodeHealthViewReasonsItem]): The GPUs that are not healthy.
            state (str): The roll-up: failed if any GPU is failed, missing if all are, degraded if any is
                degraded or missing, unknown before any telemetry, else healthy.
            since_ms (int | None | Unset):
     """

    gpus: list[NodeGpuHealth]
    name: str
    node: str
    reasons: list[NodeHealthViewReasonsItem]
    state: str
    since_ms: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.node_gpu_health import NodeGpuHealth # noqa: PLC0415
        from ..models.node_health_view_reasons_item import NodeHealthViewReasonsItem # noqa: PLC0415
        gpus = []
        for gpus_item_data in self.gpus:
            gpus_item = gpus_item_data.to_dict()
            gpus.append(gpus_item)



        name = self.name

        node = self.node

        reasons = []
        for reasons_item_data in self.reasons:
            reasons_item = reasons_item_data.to_dict()
            reasons.append(reasons_item)



        state = self.state

        since_ms: int | None | Unset
        if isinstance(self.since_ms, Unset):
            since_ms = UNSET
        else:
            since_ms = self.since_ms


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "gpus": gpus,
            "name": name,
            "node": node,
            "reasons": reasons,
            "state": state,
        })
        if since_ms is not UNSET:
            field_dict["since_ms"] = since_ms

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.node_gpu_health import NodeGpuHealth # noqa: PLC0415
        from ..models.node_health_view_reasons_item import NodeHealthViewReasonsItem # noqa: PLC0415
        d = dict(src_dict)
        gpus = []
        _gpus = d.pop("gpus")
        for gpus_item_data in (_gpus):
            gpus_item = NodeGpuHealth.from_dict(gpus_item_data)



            gpus.append(gpus_item)


        name = d.pop("name")

        node = d.pop("node")

        reasons = []
        _reasons = d.pop("reasons")
        for reasons_item_data in (_reasons):
            reasons_item = NodeHealthViewReasonsItem.from_dict(reasons_item_data)



            reasons.append(reasons_item)


        state = d.pop("state")

        def _parse_since_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        since_ms = _parse_since_ms(d.pop("since_ms", UNSET))


        node_health_view = cls(
            gpus=gpus,
            name=name,
            node=node,
            reasons=reasons,
            state=state,
            since_ms=since_ms,
        )


        node_health_view.additional_properties = d
        return node_health_view

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
