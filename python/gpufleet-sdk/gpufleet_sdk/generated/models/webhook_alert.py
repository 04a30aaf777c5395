from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.webhook_alert_annotations import WebhookAlertAnnotations
  from ..models.webhook_alert_labels import WebhookAlertLabels





T = TypeVar("T", bound="WebhookAlert")



@_attrs_define
class WebhookAlert:
    """ One alert of an Alertmanager webhook notification.

        Attributes:
            annotations (WebhookAlertAnnotations | Unset):
            ends_at (None | str | Unset):
            fingerprint (None | str | Unset): Alertmanager's fingerprint; gpufleet computes the same from the labels.
            generator_url (None | str | Unset):
            labels (WebhookAlertLabels | Unset):
            starts_at (None | str | Unset):
            status (None | str | Unset): `firing` or `resolved`.
     """

    annotations: WebhookAlertAnnotations | Unset = UNSET
    ends_at: None | str | Unset = UNSET
    fingerprint: None | str | Unset = UNSET
    generator_url: None | str | Unset = UNSET
    labels: WebhookAlertLabels | Unset = UNSET
    starts_at: None | str | Unset = UNSET
    status: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.webhook_alert_annotations import WebhookAlertAnnotations # noqa: PLC0415
        from ..models.webhook_alert_labels import WebhookAlertLabels # noqa: PLC0415
        annotations: dict[str, Any] | Unset = UNSET
        if not isinstance(self.annotations, Unset):
            annotations = self.annotations.to_dict()

        ends_at: None | str | Unset
        if isinstance(self.ends_at, Unset):
            ends_at = UNSET
        else:
            ends_at = self.ends_at

        fingerprint: None | str | Unset
        if isinstance(self.fingerprint, Unset):
            fingerprint = UNSET
        else:
            fingerprint = self.fingerprint

        generator_url: None | str | Unset
        if isinstance(self.generator_url, Unset):
            generator_url = UNSET
        else:
            generator_url = self.generator_url

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        starts_at: None | str | Unset
        if isinstance(self.starts_at, Unset):
            starts_at = UNSET
        else:
            starts_at = self.starts_at

        status: None | str | Unset
        if isinstance(self.status, Unset):
            status = UNSET
        else:
            status = self.status


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if annotations is not UNSET:
            field_dict["annotations"] = annotations
        if ends_at is not UNSET:
            field_dict["endsAt"] = ends_at
        if fingerprint is not UNSET:
            field_dict["fingerprint"] = fingerprint
        if generator_url is not UNSET:
            field_dict["generatorURL"] = generator_url
        if labels is not UNSET:
            field_dict["labels"] = labels
        if starts_at is not UNSET:
            field_dict["startsAt"] = starts_at
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.webhook_alert_annotations import WebhookAlertAnnotations # noqa: PLC0415
        from ..models.webhook_alert_labels import WebhookAlertLabels # noqa: PLC0415
        d = dict(src_dict)
        _annotations = d.pop("annotations", UNSET)
        annotations: WebhookAlertAnnotations | Unset
        if isinstance(_annotations,  Unset):
            annotations = UNSET
        else:
            annotations = WebhookAlertAnnotations.from_dict(_annotations)




        def _parse_ends_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        ends_at = _parse_ends_at(d.pop("endsAt", UNSET))


        def _parse_fingerprint(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        fingerprint = _parse_fingerprint(d.pop("fingerprint", UNSET))


        def _parse_generator_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        generator_url = _parse_generator_url(d.pop("generatorURL", UNSET))


        _labels = d.pop("labels", UNSET)
        labels: WebhookAlertLabels | Unset
        if isinstance(_labels,  Unset):
            labels = UNSET
        else:
            labels = WebhookAlertLabels.from_dict(_labels)




        def _parse_starts_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        starts_at = _parse_starts_at(d.pop("startsAt", UNSET))


        def _parse_status(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        status = _parse_status(d.pop("status", UNSET))


        webhook_alert = cls(
            annotations=annotations,
            ends_at=ends_at,
            fingerprint=fingerprint,
            generator_url=generator_url,
            labels=labels,
            starts_at=starts_at,
            status=status,
        )


        webhook_alert.additional_properties = d
        return webhook_alert

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
