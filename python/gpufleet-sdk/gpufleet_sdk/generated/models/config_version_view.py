from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.change import Change





T = TypeVar("T", bound="ConfigVersionView")



@_attrs_define
class ConfigVersionView:
    """ One configuration version of an asset.

        Attributes:
            actor (str):
            asset_id (str):
            config (Any): The configuration document of this version.
            created_at (str):
            diff (list[Change]): What changed from the previous version.
            version (int):
            reason (None | str | Unset):
     """

    actor: str
    asset_id: str
    config: Any
    created_at: str
    diff: list[Change]
    version: int
    reason: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.change import Change # noqa: PLC0415
        actor = self.actor

        asset_id = self.asset_id

        config = self.config

        created_at = self.created_at

        diff = []
        for diff_item_data in self.diff:
            diff_item = diff_item_data.to_dict()
            diff.append(diff_item)



        version = self.version

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "actor": actor,
            "asset_id": asset_id,
            "config": config,
            "created_at": created_at,
            "diff": diff,
            "version": version,
        })
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.change import Change # noqa: PLC0415
        d = dict(src_dict)
        actor = d.pop("actor")

        asset_id = d.pop("asset_id")

        config = d.pop("config")

        created_at = d.pop("created_at")

        diff = []
        _diff = d.pop("diff")
        for diff_item_data in (_diff):
            diff_item = Change.from_dict(diff_item_data)



            diff.append(diff_item)


        version = d.pop("version")

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        config_version_view = cls(
            actor=actor,
            asset_id=asset_id,
            config=config,
            created_at=created_at,
            diff=diff,
            version=version,
            reason=reason,
        )


        config_version_view.additional_properties = d
        return config_version_view

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
