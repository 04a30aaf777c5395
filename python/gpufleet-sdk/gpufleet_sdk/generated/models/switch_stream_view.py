from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="SwitchStreamView")



@_attrs_define
class SwitchStreamView:
    """ One switch's gNMI stream in this process.

        Attributes:
            connected (bool): The subscription is open and has sent its first full state.
            name (str):
            reconnects (int): Streams opened again after a failure.
            switch (str):
            error (None | str | Unset): Why the last stream ended or could not open.
            last_update (None | str | Unset):
     """

    connected: bool
    name: str
    reconnects: int
    switch: str
    error: None | str | Unset = UNSET
    last_update: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        connected = self.connected

        name = self.name

        reconnects = self.reconnects

        switch = self.switch

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        last_update: None | str | Unset
        if isinstance(self.last_update, Unset):
            last_update = UNSET
        else:
            last_update = self.last_update


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "connected": connected,
            "name": name,
            "reconnects": reconnects,
            "switch": switch,
        })
        if error is not UNSET:
            field_dict["error"] = error
        if last_update is not UNSET:
            field_dict["last_update"] = last_update

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        connected = d.pop("connected")

        name = d.pop("name")

        reconnects = d.pop("reconnects")

        switch = d.pop("switch")

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_last_update(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_update = _parse_last_update(d.pop("last_update", UNSET))


        switch_stream_view = cls(
            connected=connected,
            name=name,
            reconnects=reconnects,
            switch=switch,
            error=error,
            last_update=last_update,
        )


        switch_stream_view.additional_properties = d
        return switch_stream_view

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
