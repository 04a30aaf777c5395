from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.postable_alert_annotations import PostableAlertAnnotations
  from ..models.postable_alert_labels import PostableAlertLabels





T = TypeVar("T", bound="PostableAlert")



@_attrs_define
class PostableAlert:
    """ One alert of Alertmanager's API v2 `POST /api/v2/alerts` body.

        Attributes:
            annotations (PostableAlertAnnotations | Unset):
            ends_at (None | str | Unset): RFC 3339; in the past: the alert is resolved.
            generator_url (None | str | Unset):
            labels (PostableAlertLabels | Unset): The label set; it identifies the alert (its fingerprint).
            starts_at (None | str | Unset): RFC 3339; absent: now. Correlation windows use it, not the arrival time.
     """

    annotations: PostableAlertAnnotations | Unset = UNSET
    ends_at: None | str | Unset = UNSET
    generator_url: None | str | Unset = UNSET
    labels: PostableAlertLabels | Unset = UNSET
    starts_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.postable_alert_annotations import PostableAlertAnnotations # noqa: PLC0415
        from ..models.postable_alert_labels import PostableAlertLabels # noqa: PLC0415
        annotations: dict[str, Any] | Unset = UNSET
        if not isinstance(self.annotations, Unset):
            annotations = self.annotations.to_dict()

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

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        starts_at: None | str | Unset
        if isinstance(self.starts_at, Unset):
            starts_at = UNSET
        else:
            starts_at = self.starts_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if annotations is not UNSET:
            field_dict["annotations"] = annotations
        if ends_at is not UNSET:
            field_dict["endsAt"] = ends_at
        if generator_url is not UNSET:
            field_dict["generatorURL"] = generator_url
        if labels is not UNSET:
            field_dict["labels"] = labels
        if starts_at is not UNSET:
            field_dict["startsAt"] = starts_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.postable_alert_annotations import PostableAlertAnnotations # noqa: PLC0415
        from ..models.postable_alert_labels import PostableAlertLabels # noqa: PLC0415
        d = dict(src_dict)
        _annotations = d.pop("annotations", UNSET)
        annotations: PostableAlertAnnotations | Unset
        if isinstance(_annotations,  Unset):
            annotations = UNSET
        else:
            annotations = PostableAlertAnnotations.from_dict(_annotations)




        def _parse_ends_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        ends_at = _parse_ends_at(d.pop("endsAt", UNSET))


        def _parse_generator_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        generator_url = _parse_generator_url(d.pop("generatorURL", UNSET))


        _labels = d.pop("labels", UNSET)
        labels: PostableAlertLabels | Unset
        if isinstance(_labels,  Unset):
            labels = UNSET
        else:
            labels = PostableAlertLabels.from_dict(_labels)




        def _parse_starts_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        starts_at = _parse_starts_at(d.pop("startsAt", UNSET))


        postable_alert = cls(
            annotations=annotations,
            ends_at=ends_at,
            generator_url=generator_url,
            labels=labels,
            starts_at=starts_at,
        )


        postable_alert.additional_properties = d
        return postable_alert

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
