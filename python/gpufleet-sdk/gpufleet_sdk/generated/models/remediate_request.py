from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="RemediateRequest")



@_attrs_define
class RemediateRequest:
    """ How to run a plan.

        Attributes:
            approve (bool | Unset): Execute the steps that need approval too (refused steps stay refused).
            dry_run (bool | Unset): Only show what would be done.
     """

    approve: bool | Unset = UNSET
    dry_run: bool | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        approve = self.approve

        dry_run = self.dry_run


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if approve is not UNSET:
            field_dict["approve"] = approve
        if dry_run is not UNSET:
            field_dict["dry_run"] = dry_run

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        approve = d.pop("approve", UNSET)

        dry_run = d.pop("dry_run", UNSET)

        remediate_request = cls(
            approve=approve,
            dry_run=dry_run,
        )

        return remediate_request

