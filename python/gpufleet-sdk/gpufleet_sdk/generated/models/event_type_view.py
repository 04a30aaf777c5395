from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="EventTypeView")



@_attrs_define
class EventTypeView:
    """ 
        Attributes:
            description (str):
            domain (str): Bus domain (stream).
            name (str):
            subject (str): Bus subject pattern.
            type_ (str): CloudEvents `type`.
            version (int):
     """

    description: str
    domain: str
    name: str
    subject: str
    type_: str
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        description = self.description

        domain = self.domain

        name = self.name

        subject = self.subject

        type_ = self.type_

        version = self.version


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "description": description,
            "domain": domain,
            "name": name,
            "subject": subject,
            "type": type_,
            "version": version,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        description = d.pop("description")

        domain = d.pop("domain")

        name = d.pop("name")

        subject = d.pop("subject")

        type_ = d.pop("type")

        version = d.pop("version")

        event_type_view = cls(
            description=description,
            domain=domain,
            name=name,
            subject=subject,
            type_=type_,
            version=version,
        )


        event_type_view.additional_properties = d
        return event_type_view

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
