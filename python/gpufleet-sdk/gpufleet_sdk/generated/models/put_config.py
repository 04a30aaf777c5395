from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.put_config_config import PutConfigConfig





T = TypeVar("T", bound="PutConfig")



@_attrs_define
class PutConfig:
    """ 
        Attributes:
            config (PutConfigConfig):
            reason (None | str | Unset): Why the configuration changes; kept with the version.
     """

    config: PutConfigConfig
    reason: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.put_config_config import PutConfigConfig # noqa: PLC0415
        config = self.config.to_dict()

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "config": config,
        })
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.put_config_config import PutConfigConfig # noqa: PLC0415
        d = dict(src_dict)
        config = PutConfigConfig.from_dict(d.pop("config"))




        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        put_config = cls(
            config=config,
            reason=reason,
        )

        return put_config

