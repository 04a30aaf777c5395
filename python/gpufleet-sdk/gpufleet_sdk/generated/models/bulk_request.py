from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.bulk_request_labels import BulkRequestLabels
  from ..models.bulk_request_params import BulkRequestParams





T = TypeVar("T", bound="BulkRequest")



@_attrs_define
class BulkRequest:
    """ A bulk operation: one job per selected node, run with a concurrency limit.

        Attributes:
            group (str): `power`, `boot` or `media` (operator); `bios` or `firmware` (admin).
            params (BulkRequestParams):
            concurrency (int | None | Unset): Jobs of this batch running at once, across every gpufleet process (default
                50).
            driver (None | str | Unset):
            ids (list[str] | Unset): Node ids or names.
            labels (BulkRequestLabels | Unset): Nodes with all of these labels.
            node_deadline_s (int | None | Unset): Deadline per node in seconds (default 600).
            rack (None | str | Unset):
            state (None | str | Unset):
     """

    group: str
    params: BulkRequestParams
    concurrency: int | None | Unset = UNSET
    driver: None | str | Unset = UNSET
    ids: list[str] | Unset = UNSET
    labels: BulkRequestLabels | Unset = UNSET
    node_deadline_s: int | None | Unset = UNSET
    rack: None | str | Unset = UNSET
    state: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.bulk_request_labels import BulkRequestLabels # noqa: PLC0415
        from ..models.bulk_request_params import BulkRequestParams # noqa: PLC0415
        group = self.group

        params = self.params.to_dict()

        concurrency: int | None | Unset
        if isinstance(self.concurrency, Unset):
            concurrency = UNSET
        else:
            concurrency = self.concurrency

        driver: None | str | Unset
        if isinstance(self.driver, Unset):
            driver = UNSET
        else:
            driver = self.driver

        ids: list[str] | Unset = UNSET
        if not isinstance(self.ids, Unset):
            ids = self.ids



        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        node_deadline_s: int | None | Unset
        if isinstance(self.node_deadline_s, Unset):
            node_deadline_s = UNSET
        else:
            node_deadline_s = self.node_deadline_s

        rack: None | str | Unset
        if isinstance(self.rack, Unset):
            rack = UNSET
        else:
            rack = self.rack

        state: None | str | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        else:
            state = self.state


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "group": group,
            "params": params,
        })
        if concurrency is not UNSET:
            field_dict["concurrency"] = concurrency
        if driver is not UNSET:
            field_dict["driver"] = driver
        if ids is not UNSET:
            field_dict["ids"] = ids
        if labels is not UNSET:
            field_dict["labels"] = labels
        if node_deadline_s is not UNSET:
            field_dict["node_deadline_s"] = node_deadline_s
        if rack is not UNSET:
            field_dict["rack"] = rack
        if state is not UNSET:
            field_dict["state"] = state

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bulk_request_labels import BulkRequestLabels # noqa: PLC0415
        from ..models.bulk_request_params import BulkRequestParams # noqa: PLC0415
        d = dict(src_dict)
        group = d.pop("group")

        params = BulkRequestParams.from_dict(d.pop("params"))




        def _parse_concurrency(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        concurrency = _parse_concurrency(d.pop("concurrency", UNSET))


        def _parse_driver(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        driver = _parse_driver(d.pop("driver", UNSET))


        ids = cast(list[str], d.pop("ids", UNSET))


        _labels = d.pop("labels", UNSET)
        labels: BulkRequestLabels | Unset
        if isinstance(_labels,  Unset):
            labels = UNSET
        else:
            labels = BulkRequestLabels.from_dict(_labels)




        def _parse_node_deadline_s(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        node_deadline_s = _parse_node_deadline_s(d.pop("node_deadline_s", UNSET))


        def _parse_rack(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rack = _parse_rack(d.pop("rack", UNSET))


        def _parse_state(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        state = _parse_state(d.pop("state", UNSET))


        bulk_request = cls(
            group=group,
            params=params,
            concurrency=concurrency,
            driver=driver,
            ids=ids,
            labels=labels,
            node_deadline_s=node_deadline_s,
            rack=rack,
            state=state,
        )


        bulk_request.additional_properties = d
        return bulk_request

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
