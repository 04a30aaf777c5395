from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.discovery_result import DiscoveryResult





T = TypeVar("T", bound="DiscoveryResponse")



@_attrs_define
class DiscoveryResponse:
    """ 
        Attributes:
            created (int):
            existing (int):
            failed (int):
            found (int): Redfish services the sweep found.
            probed (int): Addresses the sweep probed.
            results (list[DiscoveryResult]):
     """

    created: int
    existing: int
    failed: int
    found: int
    probed: int
    results: list[DiscoveryResult]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.discovery_result import DiscoveryResult # noqa: PLC0415
        created = self.created

        existing = self.existing

        failed = self.failed

        found = self.found

        probed = self.probed

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created": created,
            "existing": existing,
            "failed": failed,
            "found": found,
            "probed": probed,
            "results": results,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.discovery_result import DiscoveryResult # noqa: PLC0415
        d = dict(src_dict)
        created = d.pop("created")

        existing = d.pop("existing")

        failed = d.pop("failed")

        found = d.pop("found")

        probed = d.pop("probed")

        results = []
        _results = d.pop("results")
        for results_item_data in (_results):
            results_item = DiscoveryResult.from_dict(results_item_data)



            results.append(results_item)


        discovery_response = cls(
            created=created,
            existing=existing,
            failed=failed,
            found=found,
            probed=probed,
            results=results,
        )


        discovery_response.additional_properties = d
        return discovery_response

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
