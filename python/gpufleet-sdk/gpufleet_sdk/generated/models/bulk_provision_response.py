from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.bulk_refused import BulkRefused
  from ..models.provisioning import Provisioning





T = TypeVar("T", bound="BulkProvisionResponse")



@_attrs_define
class BulkProvisionResponse:
    """ 
        Attributes:
            batch_id (str):
            concurrency (int):
            refused (list[BulkRefused]): Nodes that could not start, each with why (nothing was created for them).
            started (list[Provisioning]):
     """

    batch_id: str
    concurrency: int
    refused: list[BulkRefused]
    started: list[Provisioning]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.bulk_refused import BulkRefused # noqa: PLC0415
        from ..models.provisioning import Provisioning # noqa: PLC0415
        batch_id = self.batch_id

        concurrency = self.concurrency

        refused = []
        for refused_item_data in self.refused:
            refused_item = refused_item_data.to_dict()
            refused.append(refused_item)



        started = []
        for started_item_data in self.started:
            started_item = started_item_data.to_dict()
            started.append(started_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "batch_id": batch_id,
            "concurrency": concurrency,
            "refused": refused,
            "started": started,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bulk_refused import BulkRefused # noqa: PLC0415
        from ..models.provisioning import Provisioning # noqa: PLC0415
        d = dict(src_dict)
        batch_id = d.pop("batch_id")

        concurrency = d.pop("concurrency")

        refused = []
        _refused = d.pop("refused")
        for refused_item_data in (_refused):
            refused_item = BulkRefused.from_dict(refused_item_data)



            refused.append(refused_item)


        started = []
        _started = d.pop("started")
        for started_item_data in (_started):
            started_item = Provisioning.from_dict(started_item_data)



            started.append(started_item)


        bulk_provision_response = cls(
            batch_id=batch_id,
            concurrency=concurrency,
            refused=refused,
            started=started,
        )


        bulk_provision_response.additional_properties = d
        return bulk_provision_response

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
