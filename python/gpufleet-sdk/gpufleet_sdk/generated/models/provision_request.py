from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="ProvisionRequest")



@_attrs_define
class ProvisionRequest:
    """ 
        Attributes:
            plan (None | str | Unset): Install plan name (default: the plan bound to the node's profile).
            plan_version (int | None | Unset): Plan version (default: the newest).
            reason (None | str | Unset):
     """

    plan: None | str | Unset = UNSET
    plan_version: int | None | Unset = UNSET
    reason: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        plan: None | str | Unset
        if isinstance(self.plan, Unset):
            plan = UNSET
        else:
            plan = self.plan

        plan_version: int | None | Unset
        if isinstance(self.plan_version, Unset):
            plan_version = UNSET
        else:
            plan_version = self.plan_version

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if plan is not UNSET:
            field_dict["plan"] = plan
        if plan_version is not UNSET:
            field_dict["plan_version"] = plan_version
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_plan(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        plan = _parse_plan(d.pop("plan", UNSET))


        def _parse_plan_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        plan_version = _parse_plan_version(d.pop("plan_version", UNSET))


        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        provision_request = cls(
            plan=plan,
            plan_version=plan_version,
            reason=reason,
        )

        return provision_request

