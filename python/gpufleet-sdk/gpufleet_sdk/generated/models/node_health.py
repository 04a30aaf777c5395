from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.asset_health_change_view import AssetHealthChangeView
  from ..models.bmc_sensor_view import BmcSensorView
  from ..models.node_gpu_health import NodeGpuHealth





T = TypeVar("T", bound="NodeHealth")



@_attrs_define
class NodeHealth:
    """ A node's roll-up with the state of each of its GPUs and its BMC readings.

        Attributes:
            gpus (list[NodeGpuHealth]):
            history (list[AssetHealthChangeView]): Latest health changes of the node, newest first.
            name (str):
            node (str):
            reasons (list[Any]): The GPUs that are not healthy, then the BMC's reasons (`bmc_sensor`, `bmc_unreachable`).
            sensors (list[BmcSensorView]): The BMC readings of the last status sync (empty before the first).
            state (str): The worst of the GPUs' roll-up (failed if any GPU is failed, missing if all are,
                degraded if any is degraded or missing) and the BMC's readings (a sensor the BMC calls
                critical or over its critical threshold: failed; warning, caution, one power supply or
                fan, or a BMC that cannot be read: degraded); unknown before either reported.
            sensors_at (None | str | Unset):
            since (None | str | Unset):
     """

    gpus: list[NodeGpuHealth]
    history: list[AssetHealthChangeView]
    name: str
    node: str
    reasons: list[Any]
    sensors: list[BmcSensorView]
    state: str
    sensors_at: None | str | Unset = UNSET
    since: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.asset_health_change_view import AssetHealthChangeView # noqa: PLC0415
        from ..models.bmc_sensor_view import BmcSensorView # noqa: PLC0415
        from ..models.node_gpu_health import NodeGpuHealth # noqa: PLC0415
        gpus = []
        for gpus_item_data in self.gpus:
            gpus_item = gpus_item_data.to_dict()
            gpus.append(gpus_item)



        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)



        name = self.name

        node = self.node

        reasons = self.reasons



        sensors = []
        for sensors_item_data in self.sensors:
            sensors_item = sensors_item_data.to_dict()
            sensors.append(sensors_item)



        state = self.state

        sensors_at: None | str | Unset
        if isinstance(self.sensors_at, Unset):
            sensors_at = UNSET
        else:
            sensors_at = self.sensors_at

        since: None | str | Unset
        if isinstance(self.since, Unset):
            since = UNSET
        else:
            since = self.since


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "gpus": gpus,
            "history": history,
            "name": name,
            "node": node,
            "reasons": reasons,
            "sensors": sensors,
            "state": state,
        })
        if sensors_at is not UNSET:
            field_dict["sensors_at"] = sensors_at
        if since is not UNSET:
            field_dict["since"] = since

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.asset_health_change_view import AssetHealthChangeView # noqa: PLC0415
        from ..models.bmc_sensor_view import BmcSensorView # noqa: PLC0415
        from ..models.node_gpu_health import NodeGpuHealth # noqa: PLC0415
        d = dict(src_dict)
        gpus = []
        _gpus = d.pop("gpus")
        for gpus_item_data in (_gpus):
            gpus_item = NodeGpuHealth.from_dict(gpus_item_data)



            gpus.append(gpus_item)


        history = []
        _history = d.pop("history")
        for history_item_data in (_history):
            history_item = AssetHealthChangeView.from_dict(history_item_data)



            history.append(history_item)


        name = d.pop("name")

        node = d.pop("node")

        reasons = cast(list[Any], d.pop("reasons"))


        sensors = []
        _sensors = d.pop("sensors")
        for sensors_item_data in (_sensors):
            sensors_item = BmcSensorView.from_dict(sensors_item_data)



            sensors.append(sensors_item)


        state = d.pop("state")

        def _parse_sensors_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        sensors_at = _parse_sensors_at(d.pop("sensors_at", UNSET))


        def _parse_since(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        since = _parse_since(d.pop("since", UNSET))


        node_health = cls(
            gpus=gpus,
            history=history,
            name=name,
            node=node,
            reasons=reasons,
            sensors=sensors,
            state=state,
            sensors_at=sensors_at,
            since=since,
        )


        node_health.additional_properties = d
        return node_health

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
