from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.import_summary_created import ImportSummaryCreated





T = TypeVar("T", bound="ImportSummary")



@_attrs_define
class ImportSummary:
    """ 
        Attributes:
            created (ImportSummaryCreated): Assets created, by kind.
            dry_run (bool): Whether this was a dry run (validated, nothing written).
            relations (int):
            notes (list[str] | Unset): Notes that are not errors (deprecated field names).
     """

    created: ImportSummaryCreated
    dry_run: bool
    relations: int
    notes: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.import_summary_created import ImportSummaryCreated # noqa: PLC0415
        created = self.created.to_dict()

        dry_run = self.dry_run

        relations = self.relations

        notes: list[str] | Unset = UNSET
        if not isinstance(self.notes, Unset):
            notes = self.notes




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created": created,
            "dry_run": dry_run,
            "relations": relations,
        })
        if notes is not UNSET:
            field_dict["notes"] = notes

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.import_summary_created import ImportSummaryCreated # noqa: PLC0415
        d = dict(src_dict)
        created = ImportSummaryCreated.from_dict(d.pop("created"))




        dry_run = d.pop("dry_run")

        relations = d.pop("relations")

        notes = cast(list[str], d.pop("notes", UNSET))


        import_summary = cls(
            created=created,
            dry_run=dry_run,
            relations=relations,
            notes=notes,
        )


        import_summary.additional_properties = d
        return import_summary

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
