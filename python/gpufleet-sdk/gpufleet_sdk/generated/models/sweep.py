from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="Sweep")



@_attrs_define
class Sweep:
    """ A subnet to probe for Redfish services (`GET /redfish/v1/` without credentials).

        Attributes:
            cidr (str): IPv4 network, e.g. `10.0.8.0/24` (at most 4096 addresses × ports).
            password (str):
            username (str): Credentials every BMC found is registered with.
            accept_self_signed (bool | Unset):
            concurrency (int | None | Unset): Probes in flight at once (default 64, at most 256).
            ports (list[int] | Unset): Ports to probe (default 443).
            profile (None | str | Unset):
            rack (None | str | Unset):
            scheme (None | str | Unset): `https` (default) or `http`.
            timeout_ms (int | None | Unset): Deadline of one probe in milliseconds (default 1500).
     """

    cidr: str
    password: str
    username: str
    accept_self_signed: bool | Unset = UNSET
    concurrency: int | None | Unset = UNSET
    ports: list[int] | Unset = UNSET
    profile: None | str | Unset = UNSET
    rack: None | str | Unset = UNSET
    scheme: None | str | Unset = UNSET
    timeout_ms: int | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        cidr = self.cidr

        password = self.password

        username = self.username

        accept_self_signed = self.accept_self_signed

        concurrency: int | None | Unset
        if isinstance(self.concurrency, Unset):
            concurrency = UNSET
        else:
            concurrency = self.concurrency

        ports: list[int] | Unset = UNSET
        if not isinstance(self.ports, Unset):
            ports = self.ports



        profile: None | str | Unset
        if isinstance(self.profile, Unset):
            profile = UNSET
        else:
            profile = self.profile

        rack: None | str | Unset
        if isinstance(self.rack, Unset):
            rack = UNSET
        else:
            rack = self.rack

        scheme: None | str | Unset
        if isinstance(self.scheme, Unset):
            scheme = UNSET
        else:
            scheme = self.scheme

        timeout_ms: int | None | Unset
        if isinstance(self.timeout_ms, Unset):
            timeout_ms = UNSET
        else:
            timeout_ms = self.timeout_ms


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "cidr": cidr,
            "password": password,
            "username": username,
        })
        if accept_self_signed is not UNSET:
            field_dict["accept_self_signed"] = accept_self_signed
        if concurrency is not UNSET:
            field_dict["concurrency"] = concurrency
        if ports is not UNSET:
            field_dict["ports"] = ports
        if profile is not UNSET:
            field_dict["profile"] = profile
        if rack is not UNSET:
            field_dict["rack"] = rack
        if scheme is not UNSET:
            field_dict["scheme"] = scheme
        if timeout_ms is not UNSET:
            field_dict["timeout_ms"] = timeout_ms

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        cidr = d.pop("cidr")

        password = d.pop("password")

        username = d.pop("username")

        accept_self_signed = d.pop("accept_self_signed", UNSET)

        def _parse_concurrency(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        concurrency = _parse_concurrency(d.pop("concurrency", UNSET))


        ports = cast(list[int], d.pop("ports", UNSET))


        def _parse_profile(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        profile = _parse_profile(d.pop("profile", UNSET))


        def _parse_rack(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        rack = _parse_rack(d.pop("rack", UNSET))


        def _parse_scheme(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        scheme = _parse_scheme(d.pop("scheme", UNSET))


        def _parse_timeout_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        timeout_ms = _parse_timeout_ms(d.pop("timeout_ms", UNSET))


        sweep = cls(
            cidr=cidr,
            password=password,
            username=username,
            accept_self_signed=accept_self_signed,
            concurrency=concurrency,
            ports=ports,
            profile=profile,
            rack=rack,
            scheme=scheme,
            timeout_ms=timeout_ms,
        )

        return sweep

