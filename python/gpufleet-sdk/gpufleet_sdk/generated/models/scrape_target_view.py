from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="ScrapeTargetView")



@_attrs_define
class ScrapeTargetView:
    """ The last scrape of one node's metrics page.

        Attributes:
            duration_ms (int):
            failures (int): Scrapes that failed in a row.
            last_scrape (str):
            node (str): The node asset.
            samples (int): Field values of the last page that resolved to a GPU.
            up (bool): The last scrape got a page.
            url (str):
            error (None | str | Unset): Why the last scrape failed.
     """

    duration_ms: int
    failures: int
    last_scrape: str
    node: str
    samples: int
    up: bool
    url: str
    error: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        duration_ms = self.duration_ms

        failures = self.failures

        last_scrape = self.last_scrape

        node = self.node

        samples = self.samples

        up = self.up

        url = self.url

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "duration_ms": duration_ms,
            "failures": failures,
            "last_scrape": last_scrape,
            "node": node,
            "samples": samples,
            "up": up,
            "url": url,
        })
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        duration_ms = d.pop("duration_ms")

        failures = d.pop("failures")

        last_scrape = d.pop("last_scrape")

        node = d.pop("node")

        samples = d.pop("samples")

        up = d.pop("up")

        url = d.pop("url")

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        scrape_target_view = cls(
            duration_ms=duration_ms,
            failures=failures,
            last_scrape=last_scrape,
            node=node,
            samples=samples,
            up=up,
            url=url,
            error=error,
        )


        scrape_target_view.additional_properties = d
        return scrape_target_view

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
