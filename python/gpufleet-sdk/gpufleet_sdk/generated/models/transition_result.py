from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.asset_view import AssetView
  from ..models.history_entry import HistoryEntry





T = TypeVar("T", bound="TransitionResult")



@_attrs_define
class TransitionResult:
    """ 
        Attributes:
            history (HistoryEntry): One step of a node through its lifecycle.
            node (AssetView): An asset as the API shows it: `{id, kind, name, metadata, spec, status}`.
     """

    history: HistoryEntry
    node: AssetView
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.asset_view import AssetView # noqa: PLC0415
        from ..models.history_entry import HistoryEntry # noqa: PLC0415
        history = self.history.to_dict()

        node = self.node.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "history": history,
            "node": node,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.asset_view import AssetView # noqa: PLC0415
        from ..models.history_entry import HistoryEntry # noqa: PLC0415
        d = dict(src_dict)
        history = HistoryEntry.from_dict(d.pop("history"))




        node = AssetView.from_dict(d.pop("node"))




        transition_result = cls(
            history=history,
            node=node,
        )


        transition_result.additional_properties = d
        return transition_result

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
