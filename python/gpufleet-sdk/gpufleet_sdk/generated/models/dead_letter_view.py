from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.dead_letter_view_event import DeadLetterViewEvent





T = TypeVar("T", bound="DeadLetterView")



@_attrs_define
class DeadLetterView:
    """ 
        Attributes:
            attempts (int):
            consumer (str):
            error (str): The handler's last error.
            event (DeadLetterViewEvent): The event (CloudEvent).
            event_id (str):
            failed_at (str):
            seq (int): Sequence in the dead-letter stream: the id to re-drive.
            stream (str):
            stream_seq (int):
            subject (str): Subject the event was published on.
     """

    attempts: int
    consumer: str
    error: str
    event: DeadLetterViewEvent
    event_id: str
    failed_at: str
    seq: int
    stream: str
    stream_seq: int
    subject: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.dead_letter_view_event import DeadLetterViewEvent # noqa: PLC0415
        attempts = self.attempts

        consumer = self.consumer

        error = self.error

        event = self.event.to_dict()

        event_id = self.event_id

        failed_at = self.failed_at

        seq = self.seq

        stream = self.stream

        stream_seq = self.stream_seq

        subject = self.subject


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempts": attempts,
            "consumer": consumer,
            "error": error,
            "event": event,
            "event_id": event_id,
            "failed_at": failed_at,
            "seq": seq,
            "stream": stream,
            "stream_seq": stream_seq,
            "subject": subject,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.dead_letter_view_event import DeadLetterViewEvent # noqa: PLC0415
        d = dict(src_dict)
        attempts = d.pop("attempts")

        consumer = d.pop("consumer")

        error = d.pop("error")

        event = DeadLetterViewEvent.from_dict(d.pop("event"))




        event_id = d.pop("event_id")

        failed_at = d.pop("failed_at")

        seq = d.pop("seq")

        stream = d.pop("stream")

        stream_seq = d.pop("stream_seq")

        subject = d.pop("subject")

        dead_letter_view = cls(
            attempts=attempts,
            consumer=consumer,
            error=error,
            event=event,
            event_id=event_id,
            failed_at=failed_at,
            seq=seq,
            stream=stream,
            stream_seq=stream_seq,
            subject=subject,
        )


        dead_letter_view.additional_properties = d
        return dead_letter_view

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
