from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.change_view_after_type_0 import ChangeViewAfterType0
  from ..models.change_view_before_type_0 import ChangeViewBeforeType0





T = TypeVar("T", bound="ChangeView")



@_attrs_define
class ChangeView:
    """ 
        Attributes:
            action (str):
            actor (str):
            at (str):
            kind (str):
            seq (int):
            after (ChangeViewAfterType0 | None | Unset):
            before (ChangeViewBeforeType0 | None | Unset):
            request_id (None | str | Unset):
            target (None | str | Unset):
     """

    action: str
    actor: str
    at: str
    kind: str
    seq: int
    after: ChangeViewAfterType0 | None | Unset = UNSET
    before: ChangeViewBeforeType0 | None | Unset = UNSET
    request_id: None | str | Unset = UNSET
    target: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.change_view_after_type_0 import ChangeViewAfterType0 # noqa: PLC0415
        from ..models.change_view_before_type_0 import ChangeViewBeforeType0 # noqa: PLC0415
        action = self.action

        actor = self.actor

        at = self.at

        kind = self.kind

        seq = self.seq

        after: dict[str, Any] | None | Unset
        if isinstance(self.after, Unset):
            after = UNSET
        elif isinstance(self.after, ChangeViewAfterType0):
            after = self.after.to_dict()
        else:
            after = self.after

        before: dict[str, Any] | None | Unset
        if isinstance(self.before, Unset):
            before = UNSET
        elif isinstance(self.before, ChangeViewBeforeType0):
            before = self.before.to_dict()
        else:
            before = self.before

        request_id: None | str | Unset
        if isinstance(self.request_id, Unset):
            request_id = UNSET
        else:
            request_id = self.request_id

        target: None | str | Unset
        if isinstance(self.target, Unset):
            target = UNSET
        else:
            target = self.target


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "action": action,
            "actor": actor,
            "at": at,
            "kind": kind,
            "seq": seq,
        })
        if after is not UNSET:
            field_dict["after"] = after
        if before is not UNSET:
            field_dict["before"] = before
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if target is not UNSET:
            field_dict["target"] = target

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.change_view_after_type_0 import ChangeViewAfterType0 # noqa: PLC0415
        from ..models.change_view_before_type_0 import ChangeViewBeforeType0 # noqa: PLC0415
        d = dict(src_dict)
        action = d.pop("action")

        actor = d.pop("actor")

        at = d.pop("at")

        kind = d.pop("kind")

        seq = d.pop("seq")

        def _parse_after(data: object) -> ChangeViewAfterType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                after_type_0 = ChangeViewAfterType0.from_dict(data)



                return after_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChangeViewAfterType0 | None | Unset, data)

        after = _parse_after(d.pop("after", UNSET))


        def _parse_before(data: object) -> ChangeViewBeforeType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                before_type_0 = ChangeViewBeforeType0.from_dict(data)



                return before_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChangeViewBeforeType0 | None | Unset, data)

        before = _parse_before(d.pop("before", UNSET))


        def _parse_request_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        request_id = _parse_request_id(d.pop("request_id", UNSET))


        def _parse_target(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target = _parse_target(d.pop("target", UNSET))


        change_view = cls(
            action=action,
            actor=actor,
            at=at,
            kind=kind,
            seq=seq,
            after=after,
            before=before,
            request_id=request_id,
            target=target,
        )


        change_view.additional_properties = d
        return change_view

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
