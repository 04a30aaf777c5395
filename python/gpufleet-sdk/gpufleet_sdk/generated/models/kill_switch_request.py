from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="KillSwitchRequest")



@_attrs_define
class KillSwitchRequest:
    """ The kill switch.

        Attributes:
            on (bool): true: every remediation step is refused until it is switched off again.
            reason (None | str | Unset): Why (audited, shown in the status).
     """

    on: bool
    reason: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        on = self.on

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "on": on,
        })
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        on = d.pop("on")

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))


        kill_switch_request = cls(
            on=on,
            reason=reason,
        )

        return kill_switch_request

