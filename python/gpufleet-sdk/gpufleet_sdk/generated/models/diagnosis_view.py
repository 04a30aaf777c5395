from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="DiagnosisView")



@_attrs_define
class DiagnosisView:
    """ A diagnosis under way: its provisioning attempt decides what becomes of the node.

        Attributes:
            by (str):
            node (str):
            node_name (str):
            provisioning (str): The provisioning attempt.
            started_at (str): RFC 3339.
            gpu (None | str | Unset): The GPU an RMA record goes on if the GPU validation fails.
            incident (None | str | Unset):
     """

    by: str
    node: str
    node_name: str
    provisioning: str
    started_at: str
    gpu: None | str | Unset = UNSET
    incident: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        by = self.by

        node = self.node

        node_name = self.node_name

        provisioning = self.provisioning

        started_at = self.started_at

        gpu: None | str | Unset
        if isinstance(self.gpu, Unset):
            gpu = UNSET
        else:
            gpu = self.gpu

        incident: None | str | Unset
        if isinstance(self.incident, Unset):
            incident = UNSET
        else:
            incident = self.incident


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "by": by,
            "node": node,
            "node_name": node_name,
            "provisioning": provisioning,
            "started_at": started_at,
        })
        if gpu is not UNSET:
            field_dict["gpu"] = gpu
        if incident is not UNSET:
            field_dict["incident"] = incident

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        by = d.pop("by")

        node = d.pop("node")

        node_name = d.pop("node_name")

        provisioning = d.pop("provisioning")

        started_at = d.pop("started_at")

        def _parse_gpu(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        gpu = _parse_gpu(d.pop("gpu", UNSET))


        def _parse_incident(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        incident = _parse_incident(d.pop("incident", UNSET))


        diagnosis_view = cls(
            by=by,
            node=node,
            node_name=node_name,
            provisioning=provisioning,
            started_at=started_at,
            gpu=gpu,
            incident=incident,
        )


        diagnosis_view.additional_properties = d
        return diagnosis_view

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
