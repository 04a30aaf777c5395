from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="BmcSensorView")



@_attrs_define
class BmcSensorView:
    """ One BMC reading of the last status sync.

        Attributes:
            kind (str): `temperature`, `fan`, `voltage`, `power_supply`, `power`, …
            name (str):
            health (None | str | Unset): The BMC's verdict (Redfish `Status.Health`, ipmitool's status column).
            reading (float | None | Unset):
            state (None | str | Unset): Redfish `Status.State` (`Enabled`, `Absent`, `UnavailableOffline`, …).
            units (None | str | Unset):
            upper_caution (float | None | Unset):
            upper_critical (float | None | Unset):
     """

    kind: str
    name: str
    health: None | str | Unset = UNSET
    reading: float | None | Unset = UNSET
    state: None | str | Unset = UNSET
    units: None | str | Unset = UNSET
    upper_caution: float | None | Unset = UNSET
    upper_critical: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        name = self.name

        health: None | str | Unset
        if isinstance(self.health, Unset):
            health = UNSET
        else:
            health = self.health

        reading: float | None | Unset
        if isinstance(self.reading, Unset):
            reading = UNSET
        else:
            reading = self.reading

        state: None | str | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        else:
            state = self.state

        units: None | str | Unset
        if isinstance(self.units, Unset):
            units = UNSET
        else:
            units = self.units

        upper_caution: float | None | Unset
        if isinstance(self.upper_caution, Unset):
            upper_caution = UNSET
        else:
            upper_caution = self.upper_caution

        upper_critical: float | None | Unset
        if isinstance(self.upper_critical, Unset):
            upper_critical = UNSET
        else:
            upper_critical = self.upper_critical


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "kind": kind,
            "name": name,
        })
        if health is not UNSET:
            field_dict["health"] = health
        if reading is not UNSET:
            field_dict["reading"] = reading
        if state is not UNSET:
            field_dict["state"] = state
        if units is not UNSET:
            field_dict["units"] = units
        if upper_caution is not UNSET:
            field_dict["upper_caution"] = upper_caution
        if upper_critical is not UNSET:
            field_dict["upper_critical"] = upper_critical

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = d.pop("kind")

        name = d.pop("name")

        def _parse_health(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        health = _parse_health(d.pop("health", UNSET))


        def _parse_reading(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        reading = _parse_reading(d.pop("reading", UNSET))


        def _parse_state(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        state = _parse_state(d.pop("state", UNSET))


        def _parse_units(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        units = _parse_units(d.pop("units", UNSET))


        def _parse_upper_caution(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        upper_caution = _parse_upper_caution(d.pop("upper_caution", UNSET))


        def _parse_upper_critical(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        upper_critical = _parse_upper_critical(d.pop("upper_critical", UNSET))


        bmc_sensor_view = cls(
            kind=kind,
            name=name,
            health=health,
            reading=reading,
            state=state,
            units=units,
            upper_caution=upper_caution,
            upper_critical=upper_critical,
        )


        bmc_sensor_view.additional_properties = d
        return bmc_sensor_view

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
