from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.telemetry_status_health import TelemetryStatusHealth
  from ..models.telemetry_status_unmapped_names import TelemetryStatusUnmappedNames
  from ..models.unknown_sender import UnknownSender





T = TypeVar("T", bound="TelemetryStatus")



@_attrs_define
class TelemetryStatus:
    """ What the telemetry pipeline has done since this process started.

        Attributes:
            event_errors (int): Health changes whose event could not be written (the database failed).
            events_written (int): `gpu.status_changed` events written.
            gpus_indexed (int): GPUs known to the CMDB index.
            gpus_tracked (int): GPUs whose health is tracked.
            health (TelemetryStatusHealth): Tracked GPUs by health state.
            health_changes (int): Derived health changes seen (GPUs and nodes).
            points (int): Line-protocol points (or Prometheus samples) accepted.
            rejected_lines (int): Lines refused (bad syntax).
            requests (int): Write requests (and scraped pages) taken.
            samples_ingested (int): Field values that resolved to a GPU.
            unknown_samples (int): Field values from senders no key resolved.
            unknown_senders (list[UnknownSender]): Unknown senders by their strongest key, most samples first.
            unmapped_names (TelemetryStatusUnmappedNames): Metric names that map to no GPU field, with their counts.
     """

    event_errors: int
    events_written: int
    gpus_indexed: int
    gpus_tracked: int
    health: TelemetryStatusHealth
    health_changes: int
    points: int
    rejected_lines: int
    requests: int
    samples_ingested: int
    unknown_samples: int
    unknown_senders: list[UnknownSender]
    unmapped_names: TelemetryStatusUnmappedNames
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.telemetry_status_health import TelemetryStatusHealth # noqa: PLC0415
        from ..models.telemetry_status_unmapped_names import TelemetryStatusUnmappedNames # noqa: PLC0415
        from ..models.unknown_sender import UnknownSender # noqa: PLC0415
        event_errors = self.event_errors

        events_written = self.events_written

        gpus_indexed = self.gpus_indexed

        gpus_tracked = self.gpus_tracked

        health = self.health.to_dict()

        health_changes = self.health_changes

        points = self.points

        rejected_lines = self.rejected_lines

        requests = self.requests

        samples_ingested = self.samples_ingested

        unknown_samples = self.unknown_samples

        unknown_senders = []
        for unknown_senders_item_data in self.unknown_senders:
            unknown_senders_item = unknown_senders_item_data.to_dict()
            unknown_senders.append(unknown_senders_item)



        unmapped_names = self.unmapped_names.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "event_errors": event_errors,
            "events_written": events_written,
            "gpus_indexed": gpus_indexed,
            "gpus_tracked": gpus_tracked,
            "health": health,
            "health_changes": health_changes,
            "points": points,
            "rejected_lines": rejected_lines,
            "requests": requests,
            "samples_ingested": samples_ingested,
            "unknown_samples": unknown_samples,
            "unknown_senders": unknown_senders,
            "unmapped_names": unmapped_names,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.telemetry_status_health import TelemetryStatusHealth # noqa: PLC0415
        from ..models.telemetry_status_unmapped_names import TelemetryStatusUnmappedNames # noqa: PLC0415
        from ..models.unknown_sender import UnknownSender # noqa: PLC0415
        d = dict(src_dict)
        event_errors = d.pop("event_errors")

        events_written = d.pop("events_written")

        gpus_indexed = d.pop("gpus_indexed")

        gpus_tracked = d.pop("gpus_tracked")

        health = TelemetryStatusHealth.from_dict(d.pop("health"))




        health_changes = d.pop("health_changes")

        points = d.pop("points")

        rejected_lines = d.pop("rejected_lines")

        requests = d.pop("requests")

        samples_ingested = d.pop("samples_ingested")

        unknown_samples = d.pop("unknown_samples")

        unknown_senders = []
        _unknown_senders = d.pop("unknown_senders")
        for unknown_senders_item_data in (_unknown_senders):
            unknown_senders_item = UnknownSender.from_dict(unknown_senders_item_data)



            unknown_senders.append(unknown_senders_item)


        unmapped_names = TelemetryStatusUnmappedNames.from_dict(d.pop("unmapped_names"))




        telemetry_status = cls(
            event_errors=event_errors,
            events_written=events_written,
            gpus_indexed=gpus_indexed,
            gpus_tracked=gpus_tracked,
            health=health,
            health_changes=health_changes,
            points=points,
            rejected_lines=rejected_lines,
            requests=requests,
            samples_ingested=samples_ingested,
            unknown_samples=unknown_samples,
            unknown_senders=unknown_senders,
            unmapped_names=unmapped_names,
        )


        telemetry_status.additional_properties = d
        return telemetry_status

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
