from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.plan_spec import PlanSpec





T = TypeVar("T", bound="NewPlanVersion")



@_attrs_define
class NewPlanVersion:
    """ 
        Attributes:
            name (str):
            spec (PlanSpec): An install plan as stored in the CMDB (one immutable document per version).
            comment (None | str | Unset):
            profile (None | str | Unset): Profile (id or name) whose nodes get this plan when a request names none.
     """

    name: str
    spec: PlanSpec
    comment: None | str | Unset = UNSET
    profile: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.plan_spec import PlanSpec # noqa: PLC0415
        name = self.name

        spec = self.spec.to_dict()

        comment: None | str | Unset
        if isinstance(self.comment, Unset):
            comment = UNSET
        else:
            comment = self.comment

        profile: None | str | Unset
        if isinstance(self.profile, Unset):
            profile = UNSET
        else:
            profile = self.profile


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "name": name,
            "spec": spec,
        })
        if comment is not UNSET:
            field_dict["comment"] = comment
        if profile is not UNSET:
            field_dict["profile"] = profile

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.plan_spec import PlanSpec # noqa: PLC0415
        d = dict(src_dict)
        name = d.pop("name")

        spec = PlanSpec.from_dict(d.pop("spec"))




        def _parse_comment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        comment = _parse_comment(d.pop("comment", UNSET))


        def _parse_profile(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        profile = _parse_profile(d.pop("profile", UNSET))


        new_plan_version = cls(
            name=name,
            spec=spec,
            comment=comment,
            profile=profile,
        )

        return new_plan_version

