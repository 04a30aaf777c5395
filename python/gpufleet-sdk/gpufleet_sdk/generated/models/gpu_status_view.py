from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.gpu_status_view_fields import GpuStatusViewFields





T = TypeVar("T", bound="GpuStatusView")



@_attrs_define
class GpuStatusView:
    """ The latest known status of one GPU.

        Attributes:
            fields (GpuStatusViewFields): Latest value of every field, by canonical field name.
            gpu (str): The GPU asset.
            reasons (list[Any]): Why it is not healthy (XID with its catalog meaning, ECC, thermal, missing telemetry…).
            state (str): healthy, unknown, degraded, missing or failed.
            last_seen (None | str | Unset): Last sample.
            node (None | str | Unset): The node it reported from.
            since (None | str | Unset): When the current state was entered.
     """

    fields: GpuStatusViewFields
    gpu: str
    reasons: list[Any]
    state: str
    last_seen: None | str | Unset = UNSET
    node: None | str | Unset = UNSET
    since: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.gpu_status_view_fields import GpuStatusViewFields # noqa: PLC0415
        fields = self.fields.to_dict()

        gpu = self.gpu

        reasons = self.reasons



        state = self.state

        last_seen: None | str | Unset
        if isinstance(self.last_seen, Unset):
            last_seen = UNSET
        else:
            last_seen = self.last_seen

        node: None | str | Unset
        if isinstance(self.node, Unset):
            node = UNSET
        else:
            node = self.node

        since: None | str | Unset
        if isinstance(self.since, Unset):
            since = UNSET
        else:
            since = self.since


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "fields": fields,
            "gpu": gpu,
            "reasons": reasons,
            "state": state,
        })
        if last_seen is not UNSET:
            field_dict["last_seen"] = last_seen
        if node is not UNSET:
            field_dict["node"] = node
        if since is not UNSET:
            field_dict["since"] = since

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gpu_status_view_fields import GpuStatusViewFields # noqa: PLC0415
        d = dict(src_dict)
        fields = GpuStatusViewFields.from_dict(d.pop("fields"))




        gpu = d.pop("gpu")

        reasons = cast(list[Any], d.pop("reasons"))


        state = d.pop("state")

        def _parse_last_seen(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_seen = _parse_last_seen(d.pop("last_seen", UNSET))


        def _parse_node(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node = _parse_node(d.pop("node", UNSET))


        def _parse_since(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        since = _parse_since(d.pop("since", UNSET))


        gpu_status_view = cls(
            fields=fields,
            gpu=gpu,
            reasons=reasons,
            state=state,
            last_seen=last_seen,
            node=node,
            since=since,
        )


        gpu_status_view.additional_properties = d
        return gpu_status_view

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
