from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="HistoryStatusView")



@_attrs_define
class HistoryStatusView:
    """ What this process's telemetry history has done.

        Attributes:
            backend (str): `sqlite` (embedded, in the data directory) or `influxdb`.
            dropped_points (int): Intervals dropped because the store stayed unreachable and too many waited.
            late_samples (int): Samples for an interval already written (stored as an interval of their own).
            non_finite (int): NaN or infinite values not kept.
            open_intervals (int): Intervals still collecting samples.
            pending_points (int): Intervals waiting for the store.
            points_written (int): Intervals (GPU × field) written to the store.
            resolution_secs (float): Length of one stored interval, seconds.
            write_errors (int): Writes the store refused or did not answer; their intervals wait and are sent again.
            last_deleted (int | None | Unset): Rows the last retention pass deleted (embedded store).
            last_error (None | str | Unset):
            last_rolled_up (int | None | Unset): Rollup rows written by the last retention pass (embedded store).
     """

    backend: str
    dropped_points: int
    late_samples: int
    non_finite: int
    open_intervals: int
    pending_points: int
    points_written: int
    resolution_secs: float
    write_errors: int
    last_deleted: int | None | Unset = UNSET
    last_error: None | str | Unset = UNSET
    last_rolled_up: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        backend = self.backend

        dropped_points = self.dropped_points

        late_samples = self.late_samples

        non_finite = self.non_finite

        open_intervals = self.open_intervals

        pending_points = self.pending_points

        points_written = self.points_written

        resolution_secs = self.resolution_secs

        write_errors = self.write_errors

        last_deleted: int | None | Unset
        if isinstance(self.last_deleted, Unset):
            last_deleted = UNSET
        else:
            last_deleted = self.last_deleted

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error

        last_rolled_up: int | None | Unset
        if isinstance(self.last_rolled_up, Unset):
            last_rolled_up = UNSET
        else:
            last_rolled_up = self.last_rolled_up


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "backend": backend,
            "dropped_points": dropped_points,
            "late_samples": late_samples,
            "non_finite": non_finite,
            "open_intervals": open_intervals,
            "pending_points": pending_points,
            "points_written": points_written,
            "resolution_secs": resolution_secs,
            "write_errors": write_errors,
        })
        if last_deleted is not UNSET:
            field_dict["last_deleted"] = last_deleted
        if last_error is not UNSET:
            field_dict["last_error"] = last_error
        if last_rolled_up is not UNSET:
            field_dict["last_rolled_up"] = last_rolled_up

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        backend = d.pop("backend")

        dropped_points = d.pop("dropped_points")

        late_samples = d.pop("late_samples")

        non_finite = d.pop("non_finite")

        open_intervals = d.pop("open_intervals")

        pending_points = d.pop("pending_points")

        points_written = d.pop("points_written")

        resolution_secs = d.pop("resolution_secs")

        write_errors = d.pop("write_errors")

        def _parse_last_deleted(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        last_deleted = _parse_last_deleted(d.pop("last_deleted", UNSET))


        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("last_error", UNSET))


        def _parse_last_rolled_up(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        last_rolled_up = _parse_last_rolled_up(d.pop("last_rolled_up", UNSET))


        history_status_view = cls(
            backend=backend,
            dropped_points=dropped_points,
            late_samples=late_samples,
            non_finite=non_finite,
            open_intervals=open_intervals,
            pending_points=pending_points,
            points_written=points_written,
            resolution_secs=resolution_secs,
            write_errors=write_errors,
            last_deleted=last_deleted,
            last_error=last_error,
            last_rolled_up=last_rolled_up,
        )


        history_status_view.additional_properties = d
        return history_status_view

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
