from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="OsImage")



@_attrs_define
class OsImage:
    """ 
        Attributes:
            method (str): `image2disk` (a raw disk image over HTTP) or `oci2disk` (a disk image in an OCI registry).
            url (str): Image URL (`image2disk`) or reference (`oci2disk`).
            compressed (bool | Unset): The image is gzip-compressed (`image2disk`).
            distro (None | str | Unset):
            version (None | str | Unset):
     """

    method: str
    url: str
    compressed: bool | Unset = UNSET
    distro: None | str | Unset = UNSET
    version: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        method = self.method

        url = self.url

        compressed = self.compressed

        distro: None | str | Unset
        if isinstance(self.distro, Unset):
            distro = UNSET
        else:
            distro = self.distro

        version: None | str | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "method": method,
            "url": url,
        })
        if compressed is not UNSET:
            field_dict["compressed"] = compressed
        if distro is not UNSET:
            field_dict["distro"] = distro
        if version is not UNSET:
            field_dict["version"] = version

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        method = d.pop("method")

        url = d.pop("url")

        compressed = d.pop("compressed", UNSET)

        def _parse_distro(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        distro = _parse_distro(d.pop("distro", UNSET))


        def _parse_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        version = _parse_version(d.pop("version", UNSET))


        os_image = cls(
            method=method,
            url=url,
            compressed=compressed,
            distro=distro,
            version=version,
        )

        return os_image

