from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.node_state import NodeState
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.transition_info import TransitionInfo





T = TypeVar("T", bound="StateInfo")



@_attrs_define
class StateInfo:
    """ 
        Attributes:
            state (NodeState): Lifecycle state of a node.
            transitions (list[TransitionInfo]):
            deadline_secs (int | None | Unset): Deadline in seconds (absent: none).
     """

    state: NodeState
    transitions: list[TransitionInfo]
    deadline_secs: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.transition_info import TransitionInfo # noqa: PLC0415
        state = self.state.value

        transitions = []
        for transitions_item_data in self.transitions:
            transitions_item = transitions_item_data.to_dict()
            transitions.append(transitions_item)



        deadline_secs: int | None | Unset
        if isinstance(self.deadline_secs, Unset):
            deadline_secs = UNSET
        else:
            deadline_secs = self.deadline_secs


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "state": state,
            "transitions": transitions,
        })
        if deadline_secs is not UNSET:
            field_dict["deadline_secs"] = deadline_secs

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.transition_info import TransitionInfo # noqa: PLC0415
        d = dict(src_dict)
        state = NodeState(d.pop("state"))




        transitions = []
        _transitions = d.pop("transitions")
        for transitions_item_data in (_transitions):
            transitions_item = TransitionInfo.from_dict(transitions_item_data)



            transitions.append(transitions_item)


        def _parse_deadline_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        deadline_secs = _parse_deadline_secs(d.pop("deadline_secs", UNSET))


        state_info = cls(
            state=state,
            transitions=transitions,
            deadline_secs=deadline_secs,
        )


        state_info.additional_properties = d
        return state_info

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
