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





T = TypeVar("T", bound="NodeHealth")



@_attrs_define
class NodeHealth:
    """ A node's roll-up with the state of each of its GPUs.

        Attributes:
            gpus (list[NodeGpuHealth]):
            name (str):
            node (str):
            reasons (list[Any]): The GPUs that are not healthy.
            state (str): The roll-up: failed if any GPU is failed, missing if all are, degraded if any is
                degraded or missing, unknown before any telemetry, else healthy.
            since (None | str | Unset):
     """

    gpus: list[NodeGpuHealth]
    name: str
    node: str
    reasons: list[Any]
    state: str
    since: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.node_gpu_health import NodeGpuHealth # noqa: PLC0415
        gpus = []
        for gpus_item_data in self.gpus:
            gpus_item = gpus_item_data.to_dict()
            gpus.append(gpus_item)



        name = self.name

        node = self.node

        reasons = self.reasons



        state = self.state

        since: None | str | Unset
        if isinstance(self.since, Unset):
            since = UNSET
        else:
            since = self.since


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "gpus": gpus,
            "name": name,
            "node": node,
            "reasons": reasons,
            "state": state,
        })
        if since is not UNSET:
            field_dict["since"] = since

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.node_gpu_health import NodeGpuHealth # noqa: PLC0415
        d = dict(src_dict)
        gpus = []
        _gpus = d.pop("gpus")
        for gpus_item_data in (_gpus):
            gpus_item = NodeGpuHealth.from_dict(gpus_item_data)



            gpus.append(gpus_item)


        name = d.pop("name")

        node = d.pop("node")

        reasons = cast(list[Any], d.pop("reasons"))


        state = d.pop("state")

        def _parse_since(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        since = _parse_since(d.pop("since", UNSET))


        node_health = cls(
            gpus=gpus,
            name=name,
            node=node,
            reasons=reasons,
            state=state,
            since=since,
        )


        node_health.additional_properties = d
        return node_health

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
