from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.gpu_status_fields import GpuStatusFields
  from ..models.gpu_status_reasons_item import GpuStatusReasonsItem





T = TypeVar("T", bound="GpuStatus")



@_attrs_define
class GpuStatus:
    """ The latest known status of one GPU.

        Attributes:
            fields (GpuStatusFields): Latest value of every field, by canonical field name.
            gpu (str): The GPU asset.
            reasons (list[GpuStatusReasonsItem]): Why it is not healthy (XID with its catalog meaning, ECC, thermal, missing
                telemetry…).
            state (str): healthy, unknown, degraded, missing or failed.
            last_seen_ms (int | None | Unset): Last sample, Unix milliseconds.
            node (None | str | Unset): The node it reported from.
            since_ms (int | None | Unset): When the current state was entered, Unix milliseconds.
     """

    fields: GpuStatusFields
    gpu: str
    reasons: list[GpuStatusReasonsItem]
    state: str
    last_seen_ms: int | None | Unset = UNSET
    node: None | str | Unset = UNSET
    since_ms: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.gpu_status_fields import GpuStatusFields # noqa: PLC0415
        from ..models.gpu_status_reasons_item import GpuStatusReasonsItem # noqa: PLC0415
        fields = self.fields.to_dict()

        gpu = self.gpu

        reasons = []
        for reasons_item_data in self.reasons:
            reasons_item = reasons_item_data.to_dict()
            reasons.append(reasons_item)



        state = self.state

        last_seen_ms: int | None | Unset
        if isinstance(self.last_seen_ms, Unset):
            last_seen_ms = UNSET
        else:
            last_seen_ms = self.last_seen_ms

        node: None | str | Unset
        if isinstance(self.node, Unset):
            node = UNSET
        else:
            node = self.node

        since_ms: int | None | Unset
        if isinstance(self.since_ms, Unset):
            since_ms = UNSET
        else:
            since_ms = self.since_ms


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "fields": fields,
            "gpu": gpu,
            "reasons": reasons,
            "state": state,
        })
        if last_seen_ms is not UNSET:
            field_dict["last_seen_ms"] = last_seen_ms
        if node is not UNSET:
            field_dict["node"] = node
        if since_ms is not UNSET:
            field_dict["since_ms"] = since_ms

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gpu_status_fields import GpuStatusFields # noqa: PLC0415
        from ..models.gpu_status_reasons_item import GpuStatusReasonsItem # noqa: PLC0415
        d = dict(src_dict)
        fields = GpuStatusFields.from_dict(d.pop("fields"))




        gpu = d.pop("gpu")

        reasons = []
        _reasons = d.pop("reasons")
        for reasons_item_data in (_reasons):
            reasons_item = GpuStatusReasonsItem.from_dict(reasons_item_data)



            reasons.append(reasons_item)


        state = d.pop("state")

        def _parse_last_seen_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        last_seen_ms = _parse_last_seen_ms(d.pop("last_seen_ms", UNSET))


        def _parse_node(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node = _parse_node(d.pop("node", UNSET))


        def _parse_since_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        since_ms = _parse_since_ms(d.pop("since_ms", UNSET))


        gpu_status = cls(
            fields=fields,
            gpu=gpu,
            reasons=reasons,
            state=state,
            last_seen_ms=last_seen_ms,
            node=node,
            since_ms=since_ms,
        )


        gpu_status.additional_properties = d
        return gpu_status

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
