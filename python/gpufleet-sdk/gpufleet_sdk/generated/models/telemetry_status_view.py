from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.cdu_status_view import CduStatusView
  from ..models.history_status_view import HistoryStatusView
  from ..models.pdu_status_view import PduStatusView
  from ..models.scrape_target_view import ScrapeTargetView
  from ..models.switch_stream_view import SwitchStreamView
  from ..models.telemetry_status_view_health import TelemetryStatusViewHealth
  from ..models.telemetry_status_view_ports import TelemetryStatusViewPorts
  from ..models.telemetry_status_view_unmapped_names import TelemetryStatusViewUnmappedNames
  from ..models.unknown_sender_view import UnknownSenderView





T = TypeVar("T", bound="TelemetryStatusView")



@_attrs_define
class TelemetryStatusView:
    """ What the telemetry pipeline has done since this process started.

        Attributes:
            bmc_failures (int):
            bmc_reads (int): BMC sensor reads of the status sync taken in, and BMC reads that failed.
            cdus (list[CduStatusView]): CDUs with a Redfish `address` that this process polls, as last read.
            event_errors (int): Health changes whose event could not be written (the database failed).
            events_written (int): `gpu.status_changed` events written.
            gpus_indexed (int): GPUs in the CMDB index that resolves senders.
            gpus_tracked (int): GPUs whose health is tracked.
            health (TelemetryStatusViewHealth): Tracked GPUs by health state.
            health_changes (int): Derived health changes seen (GPUs and nodes).
            history (HistoryStatusView): What this process's telemetry history has done.
            pdus (list[PduStatusView]): PDUs with a Redfish `address` that this process polls, as last read.
            points (int): Line-protocol points (or Prometheus samples) accepted.
            port_updates (int): Port updates streamed by switches (gNMI) to this process.
            ports (TelemetryStatusViewPorts): Switch ports this process follows, by health state.
            rejected_lines (int): Lines refused (bad syntax).
            requests (int): Write requests (and scraped pages) taken.
            samples_ingested (int): Field values that resolved to a GPU.
            scrape_targets (list[ScrapeTargetView]): Nodes whose `metrics_url` this process scrapes, with the last outcome
                of each.
            switches (list[SwitchStreamView]): Switches whose gNMI stream this process holds.
            unknown_samples (int): Field values from senders no key resolved.
            unknown_senders (list[UnknownSenderView]): Unknown senders by their strongest key, most samples first.
            unmapped_names (TelemetryStatusViewUnmappedNames): Metric names that map to no GPU field, with their counts.
     """

    bmc_failures: int
    bmc_reads: int
    cdus: list[CduStatusView]
    event_errors: int
    events_written: int
    gpus_indexed: int
    gpus_tracked: int
    health: TelemetryStatusViewHealth
    health_changes: int
    history: HistoryStatusView
    pdus: list[PduStatusView]
    points: int
    port_updates: int
    ports: TelemetryStatusViewPorts
    rejected_lines: int
    requests: int
    samples_ingested: int
    scrape_targets: list[ScrapeTargetView]
    switches: list[SwitchStreamView]
    unknown_samples: int
    unknown_senders: list[UnknownSenderView]
    unmapped_names: TelemetryStatusViewUnmappedNames
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.cdu_status_view import CduStatusView # noqa: PLC0415
        from ..models.history_status_view import HistoryStatusView # noqa: PLC0415
        from ..models.pdu_status_view import PduStatusView # noqa: PLC0415
        from ..models.scrape_target_view import ScrapeTargetView # noqa: PLC0415
        from ..models.switch_stream_view import SwitchStreamView # noqa: PLC0415
        from ..models.telemetry_status_view_health import TelemetryStatusViewHealth # noqa: PLC0415
        from ..models.telemetry_status_view_ports import TelemetryStatusViewPorts # noqa: PLC0415
        from ..models.telemetry_status_view_unmapped_names import TelemetryStatusViewUnmappedNames # noqa: PLC0415
        from ..models.unknown_sender_view import UnknownSenderView # noqa: PLC0415
        bmc_failures = self.bmc_failures

        bmc_reads = self.bmc_reads

        cdus = []
        for cdus_item_data in self.cdus:
            cdus_item = cdus_item_data.to_dict()
            cdus.append(cdus_item)



        event_errors = self.event_errors

        events_written = self.events_written

        gpus_indexed = self.gpus_indexed

        gpus_tracked = self.gpus_tracked

        health = self.health.to_dict()

        health_changes = self.health_changes

        history = self.history.to_dict()

        pdus = []
        for pdus_item_data in self.pdus:
            pdus_item = pdus_item_data.to_dict()
            pdus.append(pdus_item)



        points = self.points

        port_updates = self.port_updates

        ports = self.ports.to_dict()

        rejected_lines = self.rejected_lines

        requests = self.requests

        samples_ingested = self.samples_ingested

        scrape_targets = []
        for scrape_targets_item_data in self.scrape_targets:
            scrape_targets_item = scrape_targets_item_data.to_dict()
            scrape_targets.append(scrape_targets_item)



        switches = []
        for switches_item_data in self.switches:
            switches_item = switches_item_data.to_dict()
            switches.append(switches_item)



        unknown_samples = self.unknown_samples

        unknown_senders = []
        for unknown_senders_item_data in self.unknown_senders:
            unknown_senders_item = unknown_senders_item_data.to_dict()
            unknown_senders.append(unknown_senders_item)



        unmapped_names = self.unmapped_names.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "bmc_failures": bmc_failures,
            "bmc_reads": bmc_reads,
            "cdus": cdus,
            "event_errors": event_errors,
            "events_written": events_written,
            "gpus_indexed": gpus_indexed,
            "gpus_tracked": gpus_tracked,
            "health": health,
            "health_changes": health_changes,
            "history": history,
            "pdus": pdus,
            "points": points,
            "port_updates": port_updates,
            "ports": ports,
            "rejected_lines": rejected_lines,
            "requests": requests,
            "samples_ingested": samples_ingested,
            "scrape_targets": scrape_targets,
            "switches": switches,
            "unknown_samples": unknown_samples,
            "unknown_senders": unknown_senders,
            "unmapped_names": unmapped_names,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cdu_status_view import CduStatusView # noqa: PLC0415
        from ..models.history_status_view import HistoryStatusView # noqa: PLC0415
        from ..models.pdu_status_view import PduStatusView # noqa: PLC0415
        from ..models.scrape_target_view import ScrapeTargetView # noqa: PLC0415
        from ..models.switch_stream_view import SwitchStreamView # noqa: PLC0415
        from ..models.telemetry_status_view_health import TelemetryStatusViewHealth # noqa: PLC0415
        from ..models.telemetry_status_view_ports import TelemetryStatusViewPorts # noqa: PLC0415
        from ..models.telemetry_status_view_unmapped_names import TelemetryStatusViewUnmappedNames # noqa: PLC0415
        from ..models.unknown_sender_view import UnknownSenderView # noqa: PLC0415
        d = dict(src_dict)
        bmc_failures = d.pop("bmc_failures")

        bmc_reads = d.pop("bmc_reads")

        cdus = []
        _cdus = d.pop("cdus")
        for cdus_item_data in (_cdus):
            cdus_item = CduStatusView.from_dict(cdus_item_data)



            cdus.append(cdus_item)


        event_errors = d.pop("event_errors")

        events_written = d.pop("events_written")

        gpus_indexed = d.pop("gpus_indexed")

        gpus_tracked = d.pop("gpus_tracked")

        health = TelemetryStatusViewHealth.from_dict(d.pop("health"))




        health_changes = d.pop("health_changes")

        history = HistoryStatusView.from_dict(d.pop("history"))




        pdus = []
        _pdus = d.pop("pdus")
        for pdus_item_data in (_pdus):
            pdus_item = PduStatusView.from_dict(pdus_item_data)



            pdus.append(pdus_item)


        points = d.pop("points")

        port_updates = d.pop("port_updates")

        ports = TelemetryStatusViewPorts.from_dict(d.pop("ports"))




        rejected_lines = d.pop("rejected_lines")

        requests = d.pop("requests")

        samples_ingested = d.pop("samples_ingested")

        scrape_targets = []
        _scrape_targets = d.pop("scrape_targets")
        for scrape_targets_item_data in (_scrape_targets):
            scrape_targets_item = ScrapeTargetView.from_dict(scrape_targets_item_data)



            scrape_targets.append(scrape_targets_item)


        switches = []
        _switches = d.pop("switches")
        for switches_item_data in (_switches):
            switches_item = SwitchStreamView.from_dict(switches_item_data)



            switches.append(switches_item)


        unknown_samples = d.pop("unknown_samples")

        unknown_senders = []
        _unknown_senders = d.pop("unknown_senders")
        for unknown_senders_item_data in (_unknown_senders):
            unknown_senders_item = UnknownSenderView.from_dict(unknown_senders_item_data)



            unknown_senders.append(unknown_senders_item)


        unmapped_names = TelemetryStatusViewUnmappedNames.from_dict(d.pop("unmapped_names"))




        telemetry_status_view = cls(
            bmc_failures=bmc_failures,
            bmc_reads=bmc_reads,
            cdus=cdus,
            event_errors=event_errors,
            events_written=events_written,
            gpus_indexed=gpus_indexed,
            gpus_tracked=gpus_tracked,
            health=health,
            health_changes=health_changes,
            history=history,
            pdus=pdus,
            points=points,
            port_updates=port_updates,
            ports=ports,
            rejected_lines=rejected_lines,
            requests=requests,
            samples_ingested=samples_ingested,
            scrape_targets=scrape_targets,
            switches=switches,
            unknown_samples=unknown_samples,
            unknown_senders=unknown_senders,
            unmapped_names=unmapped_names,
        )


        telemetry_status_view.additional_properties = d
        return telemetry_status_view

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
