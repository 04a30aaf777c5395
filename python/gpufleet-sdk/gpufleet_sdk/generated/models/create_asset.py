from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.asset_kind import AssetKind
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.create_asset_config import CreateAssetConfig
  from ..models.create_asset_labels import CreateAssetLabels





T = TypeVar("T", bound="CreateAsset")



@_attrs_define
class CreateAsset:
    """ 
        Attributes:
            kind (AssetKind):
            name (str):
            config (CreateAssetConfig | Unset): Configuration document. A `password` field (BMC, switch, PDU) is stored
                encrypted, never versioned.
            labels (CreateAssetLabels | Unset):
            parent_id (None | str | Unset):
            profile (None | str | Unset): Expected profile id or name (nodes).
            reason (None | str | Unset):
     """

    kind: AssetKind
    name: str
    config: CreateAssetConfig | Unset = UNSET
    labels: CreateAssetLabels | Unset = UNSET
    parent_id: None | str | Unset = UNSET
    profile: None | str | Unset = UNSET
    reason: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.create_asset_config import CreateAssetConfig # noqa: PLC0415
        from ..models.create_asset_labels import CreateAssetLabels # noqa: PLC0415
        kind = self.kind.value

        name = self.name

        config: dict[str, Any] | Unset = UNSET
        if not isinstance(self.config, Unset):
            config = self.config.to_dict()

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        parent_id: None | str | Unset
        if isinstance(self.parent_id, Unset):
            parent_id = UNSET
        else:
            parent_id = self.parent_id

        profile: None | str | Unset
        if isinstance(self.profile, Unset):
            profile = UNSET
        else:
            profile = self.profile

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "kind": kind,
            "name": name,
        })
        if config is not UNSET:
            field_dict["config"] = config
        if labels is not UNSET:
            field_dict["labels"] = labels
        if parent_id is not UNSET:
            field_dict["parent_id"] = parent_id
        if profile is not UNSET:
            field_dict["profile"] = profile
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.create_asset_config import CreateAssetConfig # noqa: PLC0415
        from ..models.create_asset_labels import CreateAssetLabels # noqa: PLC0415
        d = dict(src_dict)
        kind = AssetKind(d.pop("kind"))




        name = d.pop("name")

        _config = d.pop("config", UNSET)
        config: CreateAssetConfig | Unset
        if isinstance(_config,  Unset):
            config = UNSET
        else:
            config = CreateAssetConfig.from_dict(_config)




        _labels = d.pop("labels", UNSET)
        labels: CreateAssetLabels | Unset
        if isinstance(_labels,  Unset):
            labels = UNSET
        else:
            labels = CreateAssetLabels.from_dict(_labels)




        def _parse_parent_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        parent_id = _parse_parent_id(d.pop("parent_id", UNSET))


        def _parse_profile(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        profile = _parse_profile(d.pop("profile", UNSET))


        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        create_asset = cls(
            kind=kind,
            name=name,
            config=config,
            labels=labels,
            parent_id=parent_id,
            profile=profile,
            reason=reason,
        )

        return create_asset

