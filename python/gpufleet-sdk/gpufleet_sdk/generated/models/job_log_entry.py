from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="JobLogEntry")



@_attrs_define
class JobLogEntry:
    """ One line of a job's log.

        Attributes:
            at (str):
            id (int): Pass the last id seen as `after` to follow a job.
            job_id (str):
            line (str):
     """

    at: str
    id: int
    job_id: str
    line: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        at = self.at

        id = self.id

        job_id = self.job_id

        line = self.line


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "id": id,
            "job_id": job_id,
            "line": line,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        id = d.pop("id")

        job_id = d.pop("job_id")

        line = d.pop("line")

        job_log_entry = cls(
            at=at,
            id=id,
            job_id=job_id,
            line=line,
        )


        job_log_entry.additional_properties = d
        return job_log_entry

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
