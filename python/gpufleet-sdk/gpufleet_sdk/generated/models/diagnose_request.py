from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="DiagnoseRequest")



@_attrs_define
class DiagnoseRequest:
    """ What a diagnosis is about.

        Attributes:
            incident (None | str | Unset): The incident it diagnoses: its GPU (which must be in this node) gets the RMA
                record
                when the GPU validation fails.
     """

    incident: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        incident: None | str | Unset
        if isinstance(self.incident, Unset):
            incident = UNSET
        else:
            incident = self.incident


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if incident is not UNSET:
            field_dict["incident"] = incident

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_incident(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        incident = _parse_incident(d.pop("incident", UNSET))


        diagnose_request = cls(
            incident=incident,
        )

        return diagnose_request

