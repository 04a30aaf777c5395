from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.node_state import NodeState
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="DiscoveryResult")



@_attrs_define
class DiscoveryResult:
    """ 
        Attributes:
            address (str): The BMC address as given (or as found by the sweep).
            created (bool): A new node was created.
            credentials_updated (bool): The stored credentials were replaced.
            bmc_id (None | str | Unset):
            error (None | str | Unset): Why this BMC was not registered.
            node_id (None | str | Unset):
            node_name (None | str | Unset):
            state (NodeState | None | Unset):
     """

    address: str
    created: bool
    credentials_updated: bool
    bmc_id: None | str | Unset = UNSET
    error: None | str | Unset = UNSET
    node_id: None | str | Unset = UNSET
    node_name: None | str | Unset = UNSET
    state: NodeState | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        address = self.address

        created = self.created

        credentials_updated = self.credentials_updated

        bmc_id: None | str | Unset
        if isinstance(self.bmc_id, Unset):
            bmc_id = UNSET
        else:
            bmc_id = self.bmc_id

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        node_id: None | str | Unset
        if isinstance(self.node_id, Unset):
            node_id = UNSET
        else:
            node_id = self.node_id

        node_name: None | str | Unset
        if isinstance(self.node_name, Unset):
            node_name = UNSET
        else:
            node_name = self.node_name

        state: None | str | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        elif isinstance(self.state, NodeState):
            state = self.state.value
        else:
            state = self.state


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "address": address,
            "created": created,
            "credentials_updated": credentials_updated,
        })
        if bmc_id is not UNSET:
            field_dict["bmc_id"] = bmc_id
        if error is not UNSET:
            field_dict["error"] = error
        if node_id is not UNSET:
            field_dict["node_id"] = node_id
        if node_name is not UNSET:
            field_dict["node_name"] = node_name
        if state is not UNSET:
            field_dict["state"] = state

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        address = d.pop("address")

        created = d.pop("created")

        credentials_updated = d.pop("credentials_updated")

        def _parse_bmc_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        bmc_id = _parse_bmc_id(d.pop("bmc_id", UNSET))


        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_node_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node_id = _parse_node_id(d.pop("node_id", UNSET))


        def _parse_node_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        node_name = _parse_node_name(d.pop("node_name", UNSET))


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


        discovery_result = cls(
            address=address,
            created=created,
            credentials_updated=credentials_updated,
            bmc_id=bmc_id,
            error=error,
            node_id=node_id,
            node_name=node_name,
            state=state,
        )


        discovery_result.additional_properties = d
        return discovery_result

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
