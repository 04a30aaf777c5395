from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="Announcement")



@_attrs_define
class Announcement:
    """ A node announcing itself (its discovery image or an agent on its OS): where its BMC is, and
    what the node knows of itself. The BMC is registered with the configured announcement
    credentials (`enricher.announce_username` / `announce_password`), exactly as `POST
    /api/v1/discovery` would; what the node said is kept on the BMC asset as `announced`.

        Attributes:
            bmc_address (str): Host, host:port or URL of the node's BMC.
            hostname (None | str | Unset): The node's host name; becomes the node's name when it is new.
            macs (list[str] | Unset): MAC addresses of the node's NICs.
            profile (None | str | Unset):
            protocol (None | str | Unset): `redfish` (default) or `ipmi` (then `redfish_address` is needed for the
                inventory).
            rack (None | str | Unset):
            redfish_address (None | str | Unset):
            serial (None | str | Unset): System serial number as the OS reads it (SMBIOS).
     """

    bmc_address: str
    hostname: None | str | Unset = UNSET
    macs: list[str] | Unset = UNSET
    profile: None | str | Unset = UNSET
    protocol: None | str | Unset = UNSET
    rack: None | str | Unset = UNSET
    redfish_address: None | str | Unset = UNSET
    serial: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        bmc_address = self.bmc_address

        hostname: None | str | Unset
        if isinstance(self.hostname, Unset):
            hostname = UNSET
        else:
            hostname = self.hostname

        macs: list[str] | Unset = UNSET
        if not isinstance(self.macs, Unset):
            macs = self.macs



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

        serial: None | str | Unset
        if isinstance(self.serial, Unset):
            serial = UNSET
        else:
            serial = self.serial


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "bmc_address": bmc_address,
        })
        if hostname is not UNSET:
            field_dict["hostname"] = hostname
        if macs is not UNSET:
            field_dict["macs"] = macs
        if profile is not UNSET:
            field_dict["profile"] = profile
        if protocol is not UNSET:
            field_dict["protocol"] = protocol
        if rack is not UNSET:
            field_dict["rack"] = rack
        if redfish_address is not UNSET:
            field_dict["redfish_address"] = redfish_address
        if serial is not UNSET:
            field_dict["serial"] = serial

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bmc_address = d.pop("bmc_address")

        def _parse_hostname(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hostname = _parse_hostname(d.pop("hostname", UNSET))


        macs = cast(list[str], d.pop("macs", UNSET))


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


        def _parse_serial(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        serial = _parse_serial(d.pop("serial", UNSET))


        announcement = cls(
            bmc_address=bmc_address,
            hostname=hostname,
            macs=macs,
            profile=profile,
            protocol=protocol,
            rack=rack,
            redfish_address=redfish_address,
            serial=serial,
        )

        return announcement

