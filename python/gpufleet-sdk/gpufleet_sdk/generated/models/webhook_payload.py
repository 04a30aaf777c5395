from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.webhook_alert import WebhookAlert
  from ..models.webhook_payload_common_annotations import WebhookPayloadCommonAnnotations
  from ..models.webhook_payload_common_labels import WebhookPayloadCommonLabels
  from ..models.webhook_payload_group_labels import WebhookPayloadGroupLabels





T = TypeVar("T", bound="WebhookPayload")



@_attrs_define
class WebhookPayload:
    """ Alertmanager's webhook payload, version 4.

        Attributes:
            alerts (list[WebhookAlert]):
            version (str): Must be "4".
            common_annotations (WebhookPayloadCommonAnnotations | Unset):
            common_labels (WebhookPayloadCommonLabels | Unset):
            external_url (None | str | Unset):
            group_key (None | str | Unset):
            group_labels (WebhookPayloadGroupLabels | Unset):
            receiver (None | str | Unset):
            status (None | str | Unset):
            truncated_alerts (int | Unset):
     """

    alerts: list[WebhookAlert]
    version: str
    common_annotations: WebhookPayloadCommonAnnotations | Unset = UNSET
    common_labels: WebhookPayloadCommonLabels | Unset = UNSET
    external_url: None | str | Unset = UNSET
    group_key: None | str | Unset = UNSET
    group_labels: WebhookPayloadGroupLabels | Unset = UNSET
    receiver: None | str | Unset = UNSET
    status: None | str | Unset = UNSET
    truncated_alerts: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.webhook_alert import WebhookAlert # noqa: PLC0415
        from ..models.webhook_payload_common_annotations import WebhookPayloadCommonAnnotations # noqa: PLC0415
        from ..models.webhook_payload_common_labels import WebhookPayloadCommonLabels # noqa: PLC0415
        from ..models.webhook_payload_group_labels import WebhookPayloadGroupLabels # noqa: PLC0415
        alerts = []
        for alerts_item_data in self.alerts:
            alerts_item = alerts_item_data.to_dict()
            alerts.append(alerts_item)



        version = self.version

        common_annotations: dict[str, Any] | Unset = UNSET
        if not isinstance(self.common_annotations, Unset):
            common_annotations = self.common_annotations.to_dict()

        common_labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.common_labels, Unset):
            common_labels = self.common_labels.to_dict()

        external_url: None | str | Unset
        if isinstance(self.external_url, Unset):
            external_url = UNSET
        else:
            external_url = self.external_url

        group_key: None | str | Unset
        if isinstance(self.group_key, Unset):
            group_key = UNSET
        else:
            group_key = self.group_key

        group_labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.group_labels, Unset):
            group_labels = self.group_labels.to_dict()

        receiver: None | str | Unset
        if isinstance(self.receiver, Unset):
            receiver = UNSET
        else:
            receiver = self.receiver

        status: None | str | Unset
        if isinstance(self.status, Unset):
            status = UNSET
        else:
            status = self.status

        truncated_alerts = self.truncated_alerts


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "alerts": alerts,
            "version": version,
        })
        if common_annotations is not UNSET:
            field_dict["commonAnnotations"] = common_annotations
        if common_labels is not UNSET:
            field_dict["commonLabels"] = common_labels
        if external_url is not UNSET:
            field_dict["externalURL"] = external_url
        if group_key is not UNSET:
            field_dict["groupKey"] = group_key
        if group_labels is not UNSET:
            field_dict["groupLabels"] = group_labels
        if receiver is not UNSET:
            field_dict["receiver"] = receiver
        if status is not UNSET:
            field_dict["status"] = status
        if truncated_alerts is not UNSET:
            field_dict["truncatedAlerts"] = truncated_alerts

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.webhook_alert import WebhookAlert # noqa: PLC0415
        from ..models.webhook_payload_common_annotations import WebhookPayloadCommonAnnotations # noqa: PLC0415
        from ..models.webhook_payload_common_labels import WebhookPayloadCommonLabels # noqa: PLC0415
        from ..models.webhook_payload_group_labels import WebhookPayloadGroupLabels # noqa: PLC0415
        d = dict(src_dict)
        alerts = []
        _alerts = d.pop("alerts")
        for alerts_item_data in (_alerts):
            alerts_item = WebhookAlert.from_dict(alerts_item_data)



            alerts.append(alerts_item)


        version = d.pop("version")

        _common_annotations = d.pop("commonAnnotations", UNSET)
        common_annotations: WebhookPayloadCommonAnnotations | Unset
        if isinstance(_common_annotations,  Unset):
            common_annotations = UNSET
        else:
            common_annotations = WebhookPayloadCommonAnnotations.from_dict(_common_annotations)




        _common_labels = d.pop("commonLabels", UNSET)
        common_labels: WebhookPayloadCommonLabels | Unset
        if isinstance(_common_labels,  Unset):
            common_labels = UNSET
        else:
            common_labels = WebhookPayloadCommonLabels.from_dict(_common_labels)




        def _parse_external_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        external_url = _parse_external_url(d.pop("externalURL", UNSET))


        def _parse_group_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        group_key = _parse_group_key(d.pop("groupKey", UNSET))


        _group_labels = d.pop("groupLabels", UNSET)
        group_labels: WebhookPayloadGroupLabels | Unset
        if isinstance(_group_labels,  Unset):
            group_labels = UNSET
        else:
            group_labels = WebhookPayloadGroupLabels.from_dict(_group_labels)




        def _parse_receiver(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        receiver = _parse_receiver(d.pop("receiver", UNSET))


        def _parse_status(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        status = _parse_status(d.pop("status", UNSET))


        truncated_alerts = d.pop("truncatedAlerts", UNSET)

        webhook_payload = cls(
            alerts=alerts,
            version=version,
            common_annotations=common_annotations,
            common_labels=common_labels,
            external_url=external_url,
            group_key=group_key,
            group_labels=group_labels,
            receiver=receiver,
            status=status,
            truncated_alerts=truncated_alerts,
        )


        webhook_payload.additional_properties = d
        return webhook_payload

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
