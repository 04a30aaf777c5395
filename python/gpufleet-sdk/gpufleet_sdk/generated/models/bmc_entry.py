from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="BmcEntry")



@_attrs_define
class BmcEntry:
    """ One BMC to register. The password is sealed in the secret store and never returned.

        Attributes:
            address (str): Host, host:port or URL of the BMC (`https://` is assumed for a bare Redfish host).
            password (str):
            username (str):
            accept_self_signed (bool | Unset): Accept a self-signed TLS certificate from this BMC.
            name (None | str | Unset): Node name (default `node-<host:port>`).
            profile (None | str | Unset): Expected profile (id or name).
            protocol (None | str | Unset): `redfish` (default) or `ipmi`.
            rack (None | str | Unset): Rack (id or name) the node goes into.
            redfish_address (None | str | Unset): Redfish URL of a BMC registered with protocol `ipmi` (the inventory is
                read over Redfish).
     """

    address: str
    password: str
    username: str
    accept_self_signed: bool | Unset = UNSET
    name: None | str | Unset = UNSET
    profile: None | str | Unset = UNSET
    protocol: None | str | Unset = UNSET
    rack: None | str | Unset = UNSET
    redfish_address: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        address = self.address

        password = self.password

        username = self.username

        accept_self_signed = self.accept_self_signed

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        profile: None | str | Unset
        if isinstance(self.profile, Unset):
            profile = UNSET
        else:
            profile = self.profile

        protocol: None | str | Unset
        if isinstance(self.protocol, Unset):
            protocol = UNSET
        else:
            protocol = self.protocol

        rack: None | str | Unset
        if isinstance(self.rack, Unset):
            rack = UNSET
        else:
            rack = self.rack

        redfish_address: None | str | Unset
        if isinstance(self.redfish_address, Unset):
            redfish_address = UNSET
        else:
            redfish_address = self.redfish_address


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "address": address,
            "password": password,
            "username": username,
        })
        if accept_self_signed is not UNSET:
            field_dict["accept_self_signed"] = accept_self_signed
        if name is not UNSET:
            field_dict["name"] = name
        if profile is not UNSET:
            field_dict["profile"] = profile
        if protocol is not UNSET:
            field_dict["protocol"] = protocol
        if rack is not UNSET:
            field_dict["rack"] = rack
        if redfish_address is not UNSET:
            field_dict["redfish_address"] = redfish_address

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        address = d.pop("address")

        password = d.pop("password")

        username = d.pop("username")

        accept_self_signed = d.pop("accept_self_signed", UNSET)

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))


        def _parse_profile(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        profile = _parse_profile(d.pop("profile", UNSET))


        def _parse_protocol(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        protocol = _parse_protocol(d.pop("protocol", UNSET))


        def _parse_rack(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rack = _parse_rack(d.pop("rack", UNSET))


        def _parse_redfish_address(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        redfish_address = _parse_redfish_address(d.pop("redfish_address", UNSET))


        bmc_entry = cls(
            address=address,
            password=password,
            username=username,
            accept_self_signed=accept_self_signed,
            name=name,
            profile=profile,
            protocol=protocol,
            rack=rack,
            redfish_address=redfish_address,
        )

        return bmc_entry

