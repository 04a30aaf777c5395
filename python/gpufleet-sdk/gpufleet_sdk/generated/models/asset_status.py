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
  from ..models.inspection_failure import InspectionFailure





T = TypeVar("T", bound="AssetStatus")



@_attrs_define
class AssetStatus:
    """ 
        Attributes:
            address (None | str | Unset):
            deadline_at (None | str | Unset): When the node must have left its state (absent: no deadline).
            last_inspection_failure (InspectionFailure | None | Unset):
            model (None | str | Unset):
            profile_id (None | str | Unset):
            serial (None | str | Unset):
            state (NodeState | None | Unset):
            state_entered_at (None | str | Unset):
            stuck (bool | None | Unset): Past its state's deadline.
     """

    address: None | str | Unset = UNSET
    deadline_at: None | str | Unset = UNSET
    last_inspection_failure: InspectionFailure | None | Unset = UNSET
    model: None | str | Unset = UNSET
    profile_id: None | str | Unset = UNSET
    serial: None | str | Unset = UNSET
    state: NodeState | None | Unset = UNSET
    state_entered_at: None | str | Unset = UNSET
    stuck: bool | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.inspection_failure import InspectionFailure # noqa: PLC0415
        address: None | str | Unset
        if isinstance(self.address, Unset):
            address = UNSET
        else:
            address = self.address

        deadline_at: None | str | Unset
        if isinstance(self.deadline_at, Unset):
            deadline_at = UNSET
        else:
            deadline_at = self.deadline_at

        last_inspection_failure: dict[str, Any] | None | Unset
        if isinstance(self.last_inspection_failure, Unset):
            last_inspection_failure = UNSET
        elif isinstance(self.last_inspection_failure, InspectionFailure):
            last_inspection_failure = self.last_inspection_failure.to_dict()
        else:
            last_inspection_failure = self.last_inspection_failure

        model: None | str | Unset
        if isinstance(self.model, Unset):
            model = UNSET
        else:
            model = self.model

        profile_id: None | str | Unset
        if isinstance(self.profile_id, Unset):
            profile_id = UNSET
        else:
            profile_id = self.profile_id

        serial: None | str | Unset
        if isinstance(self.serial, Unset):
            serial = UNSET
        else:
            serial = self.serial

        state: None | str | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        elif isinstance(self.state, NodeState):
            state = self.state.value
        else:
            state = self.state

        state_entered_at: None | str | Unset
        if isinstance(self.state_entered_at, Unset):
            state_entered_at = UNSET
        else:
            state_entered_at = self.state_entered_at

        stuck: bool | None | Unset
        if isinstance(self.stuck, Unset):
            stuck = UNSET
        else:
            stuck = self.stuck


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
        })
        if address is not UNSET:
            field_dict["address"] = address
        if deadline_at is not UNSET:
            field_dict["deadline_at"] = deadline_at
        if last_inspection_failure is not UNSET:
            field_dict["last_inspection_failure"] = last_inspection_failure
        if model is not UNSET:
            field_dict["model"] = model
        if profile_id is not UNSET:
            field_dict["profile_id"] = profile_id
        if serial is not UNSET:
            field_dict["serial"] = serial
        if state is not UNSET:
            field_dict["state"] = state
        if state_entered_at is not UNSET:
            field_dict["state_entered_at"] = state_entered_at
        if stuck is not UNSET:
            field_dict["stuck"] = stuck

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.inspection_failure import InspectionFailure # noqa: PLC0415
        d = dict(src_dict)
        def _parse_address(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        address = _parse_address(d.pop("address", UNSET))


        def _parse_deadline_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        deadline_at = _parse_deadline_at(d.pop("deadline_at", UNSET))


        def _parse_last_inspection_failure(data: object) -> InspectionFailure | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                last_inspection_failure_type_1 = InspectionFailure.from_dict(data)



                return last_inspection_failure_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(InspectionFailure | None | Unset, data)

        last_inspection_failure = _parse_last_inspection_failure(d.pop("last_inspection_failure", UNSET))


        def _parse_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model = _parse_model(d.pop("model", UNSET))


        def _parse_profile_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        profile_id = _parse_profile_id(d.pop("profile_id", UNSET))


        def _parse_serial(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        serial = _parse_serial(d.pop("serial", UNSET))


        def _parse_state(data: object) -> NodeState | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                state_type_1 = NodeState(data)



                return state_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NodeState | None | Unset, data)

        state = _parse_state(d.pop("state", UNSET))


        def _parse_state_entered_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        state_entered_at = _parse_state_entered_at(d.pop("state_entered_at", UNSET))


        def _parse_stuck(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        stuck = _parse_stuck(d.pop("stuck", UNSET))


        asset_status = cls(
            address=address,
            deadline_at=deadline_at,
            last_inspection_failure=last_inspection_failure,
            model=model,
            profile_id=profile_id,
            serial=serial,
            state=state,
            state_entered_at=state_entered_at,
            stuck=stuck,
        )


        asset_status.additional_properties = d
        return asset_status

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
