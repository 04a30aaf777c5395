from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="AuditRow")



@_attrs_define
class AuditRow:
    """ 
        Attributes:
            action (str):
            actor (str):
            at (int):
            hash_ (str):
            kind (str):
            prev_hash (str):
            seq (int):
            after_doc (None | str | Unset):
            before_doc (None | str | Unset):
            request_id (None | str | Unset):
            source (None | str | Unset):
            target (None | str | Unset):
     """

    action: str
    actor: str
    at: int
    hash_: str
    kind: str
    prev_hash: str
    seq: int
    after_doc: None | str | Unset = UNSET
    before_doc: None | str | Unset = UNSET
    request_id: None | str | Unset = UNSET
    source: None | str | Unset = UNSET
    target: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        action = self.action

        actor = self.actor

        at = self.at

        hash_ = self.hash_

        kind = self.kind

        prev_hash = self.prev_hash

        seq = self.seq

        after_doc: None | str | Unset
        if isinstance(self.after_doc, Unset):
            after_doc = UNSET
        else:
            after_doc = self.after_doc

        before_doc: None | str | Unset
        if isinstance(self.before_doc, Unset):
            before_doc = UNSET
        else:
            before_doc = self.before_doc

        request_id: None | str | Unset
        if isinstance(self.request_id, Unset):
            request_id = UNSET
        else:
            request_id = self.request_id

        source: None | str | Unset
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source

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
            "hash": hash_,
            "kind": kind,
            "prev_hash": prev_hash,
            "seq": seq,
        })
        if after_doc is not UNSET:
            field_dict["after_doc"] = after_doc
        if before_doc is not UNSET:
            field_dict["before_doc"] = before_doc
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if source is not UNSET:
            field_dict["source"] = source
        if target is not UNSET:
            field_dict["target"] = target

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        actor = d.pop("actor")

        at = d.pop("at")

        hash_ = d.pop("hash")

        kind = d.pop("kind")

        prev_hash = d.pop("prev_hash")

        seq = d.pop("seq")

        def _parse_after_doc(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        after_doc = _parse_after_doc(d.pop("after_doc", UNSET))


        def _parse_before_doc(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        before_doc = _parse_before_doc(d.pop("before_doc", UNSET))


        def _parse_request_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        request_id = _parse_request_id(d.pop("request_id", UNSET))


        def _parse_source(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        source = _parse_source(d.pop("source", UNSET))


        def _parse_target(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        target = _parse_target(d.pop("target", UNSET))


        audit_row = cls(
            action=action,
            actor=actor,
            at=at,
            hash_=hash_,
            kind=kind,
            prev_hash=prev_hash,
            seq=seq,
            after_doc=after_doc,
            before_doc=before_doc,
            request_id=request_id,
            source=source,
            target=target,
        )


        audit_row.additional_properties = d
        return audit_row

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
