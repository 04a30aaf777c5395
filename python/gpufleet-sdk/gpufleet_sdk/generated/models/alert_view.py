from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.alert_view_annotations import AlertViewAnnotations
  from ..models.alert_view_labels import AlertViewLabels





T = TypeVar("T", bound="AlertView")



@_attrs_define
class AlertView:
    """ An alert as held: the full label set as received.

        Attributes:
            annotations (AlertViewAnnotations):
            fingerprint (str):
            kind (str): The kind the correlation derived (`node_down`, `xid:79`, `other:<alertname>`, ...).
            labels (AlertViewLabels):
            received (int): How many times it was received.
            starts_at (str):
            status (str): `firing` or `resolved`.
            asset_id (None | str | Unset): The CMDB asset the labels resolved to; absent when none matched.
            ends_at (None | str | Unset):
            generator_url (None | str | Unset):
            incident (None | str | Unset): The incident it belongs to.
     """

    annotations: AlertViewAnnotations
    fingerprint: str
    kind: str
    labels: AlertViewLabels
    received: int
    starts_at: str
    status: str
    asset_id: None | str | Unset = UNSET
    ends_at: None | str | Unset = UNSET
    generator_url: None | str | Unset = UNSET
    incident: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.alert_view_annotations import AlertViewAnnotations # noqa: PLC0415
        from ..models.alert_view_labels import AlertViewLabels # noqa: PLC0415
        annotations = self.annotations.to_dict()

        fingerprint = self.fingerprint

        kind = self.kind

        labels = self.labels.to_dict()

        received = self.received

        starts_at = self.starts_at

        status = self.status

        asset_id: None | str | Unset
        if isinstance(self.asset_id, Unset):
            asset_id = UNSET
        else:
            asset_id = self.asset_id

        ends_at: None | str | Unset
        if isinstance(self.ends_at, Unset):
            ends_at = UNSET
        else:
            ends_at = self.ends_at

        generator_url: None | str | Unset
        if isinstance(self.generator_url, Unset):
            generator_url = UNSET
        else:
            generator_url = self.generator_url

        incident: None | str | Unset
        if isinstance(self.incident, Unset):
            incident = UNSET
        else:
            incident = self.incident


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "annotations": annotations,
            "fingerprint": fingerprint,
            "kind": kind,
            "labels": labels,
            "received": received,
            "starts_at": starts_at,
            "status": status,
        })
        if asset_id is not UNSET:
            field_dict["asset_id"] = asset_id
        if ends_at is not UNSET:
            field_dict["ends_at"] = ends_at
        if generator_url is not UNSET:
            field_dict["generator_url"] = generator_url
        if incident is not UNSET:
            field_dict["incident"] = incident

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert_view_annotations import AlertViewAnnotations # noqa: PLC0415
        from ..models.alert_view_labels import AlertViewLabels # noqa: PLC0415
        d = dict(src_dict)
        annotations = AlertViewAnnotations.from_dict(d.pop("annotations"))




        fingerprint = d.pop("fingerprint")

        kind = d.pop("kind")

        labels = AlertViewLabels.from_dict(d.pop("labels"))




        received = d.pop("received")

        starts_at = d.pop("starts_at")

        status = d.pop("status")

        def _parse_asset_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        asset_id = _parse_asset_id(d.pop("asset_id", UNSET))


        def _parse_ends_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        ends_at = _parse_ends_at(d.pop("ends_at", UNSET))


        def _parse_generator_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        generator_url = _parse_generator_url(d.pop("generator_url", UNSET))


        def _parse_incident(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        incident = _parse_incident(d.pop("incident", UNSET))


        alert_view = cls(
            annotations=annotations,
            fingerprint=fingerprint,
            kind=kind,
            labels=labels,
            received=received,
            starts_at=starts_at,
            status=status,
            asset_id=asset_id,
            ends_at=ends_at,
            generator_url=generator_url,
            incident=incident,
        )


        alert_view.additional_properties = d
        return alert_view

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
