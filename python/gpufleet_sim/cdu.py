"""Redfish face of a simulated coolant distribution unit (DMTF ``ThermalEquipment`` / ``CoolingUnit``).

Each CDU's controller serves this tree on its own address (``cdu.redfish_address``, plain
HTTP; ``server.py`` routes a request to it by the local address it arrived on), shaped after
DMTF's public cooling-unit mockup (CoolingUnit.v1_5_0)::

    /redfish/v1                                            ServiceRoot (public)
    /redfish/v1/ThermalEquipment                           ThermalEquipment
    /redfish/v1/ThermalEquipment/CDUs                      CoolingUnitCollection, one member
    /redfish/v1/ThermalEquipment/CDUs/1                    CoolingUnit (Name: the CDU id)
    /redfish/v1/ThermalEquipment/CDUs/1/PrimaryCoolantConnectors[/1]    facility water side
    /redfish/v1/ThermalEquipment/CDUs/1/SecondaryCoolantConnectors[/1]  rack side
    /redfish/v1/ThermalEquipment/CDUs/1/Pumps[/1, /2]      Pump
    /redfish/v1/ThermalEquipment/CDUs/1/Reservoirs[/1]     Reservoir
    /redfish/v1/Chassis[/CDU[/Sensors[/<id>]]]             the readings the excerpts point at
    /redfish/v1/SessionService[/Sessions]                  disabled, no sessions (basic auth only)

Everything but the ServiceRoot (and ``/redfish``) needs HTTP Basic auth with
``cdu.redfish_user`` / ``cdu.redfish_password``: 401 otherwise.  Unknown paths answer 404,
methods other than GET/HEAD 405, each with a Redfish error body.

While the CDU works, its pumps run, the rack-side supply holds ``CDU_SUPPLY_C`` and the return
is warmer by the heat of the racks it cools (their nodes' draw).  While ``cdu.failed``
(the ``cdu_failure`` fault) both pumps are failed (Health Critical, speed 0), the rack-side
flow stops, the supply temperature climbs (``Cdu.supply_temp``) and the unit's
``Status.Health`` is Critical, with Environmental registry conditions saying why.
"""

from __future__ import annotations

from typing import Any

from .model import CDU_FLOW_LPM, CDU_SUPPLY_C, Cdu, Fleet, now_iso
from .redfish import RedfishError

ROOT = "/redfish/v1"
CDU_URI = f"{ROOT}/ThermalEquipment/CDUs/1"
CHASSIS_URI = f"{ROOT}/Chassis/CDU"
SENSORS_URI = f"{CHASSIS_URI}/Sensors"
REDFISH_VERSION = "1.15.0"
MANUFACTURER = "Contoso Cooling"
MODEL = "LQ-CDU-350"
FIRMWARE_VERSION = "2.4.1"
PUMPS = ("1", "2")
RATED_FLOW_LPM = 120.0
PRIMARY_SUPPLY_C = 25.0  # facility water in
PRIMARY_FLOW_LPM = 90.0
SUPPLY_CAUTION_C = 40.0  # rack-side supply thresholds
SUPPLY_CRITICAL_C = 45.0
LIQUID_SHARE = 0.8  # share of a node's heat its cold plates carry
PUMP_SPEED_PERCENT = 62.0
# J per kg·K and kg per L of the coolant (water with 25 % propylene glycol)
SPECIFIC_HEAT = 3900.0
DENSITY = 1.02

Reply = tuple[int, Any, dict[str, str]]


def _odata(uri: str) -> dict[str, str]:
    return {"@odata.id": uri}


def not_found(path: str) -> RedfishError:
    return RedfishError(404, f"The resource at {path} was not found.", "Base.1.18.ResourceNotFound")


def _delta_t(heat_kw: float, flow_lpm: float) -> float:
    kg_per_s = flow_lpm / 60.0 * DENSITY
    return heat_kw * 1000.0 / (kg_per_s * SPECIFIC_HEAT) if kg_per_s > 0 else 0.0


# Sensors under /redfish/v1/Chassis/CDU/Sensors: id -> (Name, ReadingType, ReadingUnits,
# PhysicalContext, the readings() key).
SENSORS: dict[str, tuple[str, str, str, str, str]] = {
    "PrimarySupplyTemp": ("Primary Supply Temperature", "Temperature", "Cel", "LiquidInlet", "primary_supply"),
    "PrimaryReturnTemp": ("Primary Return Temperature", "Temperature", "Cel", "LiquidOutlet", "primary_return"),
    "PrimaryFlow": ("Primary Flow", "LiquidFlowLPM", "L/min", "Chassis", "primary_flow"),
    "PrimaryHeatLoad": ("Primary Heat Removed", "Heat", "kW", "Chassis", "primary_heat"),
    "SecondarySupplyTemp": ("Secondary Supply Temperature", "Temperature", "Cel", "LiquidOutlet", "supply"),
    "SecondaryReturnTemp": ("Secondary Return Temperature", "Temperature", "Cel", "LiquidInlet", "return"),
    "SecondaryFlow": ("Secondary Flow", "LiquidFlowLPM", "L/min", "Chassis", "flow"),
    "SecondaryHeatLoad": ("Secondary Heat Removed", "Heat", "kW", "Chassis", "heat"),
}


class CduService:
    """Answers Redfish requests for one CDU (auth is the server's job)."""

    PUBLIC_PATHS = frozenset({"/redfish", f"{ROOT}", f"{ROOT}/"})

    def __init__(self, cdu: Cdu, fleet: Fleet) -> None:
        self.cdu = cdu
        self.fleet = fleet

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, method: str, path: str) -> Reply:
        if path != f"{ROOT}/" and path.endswith("/"):
            path = path.rstrip("/")
        doc = self._resource(path)
        if doc is None:
            raise not_found(path)
        if method not in ("GET", "HEAD"):
            raise RedfishError(405, f"{method} is not allowed on {path}.", "Base.1.18.ActionNotSupported")
        return 200, doc(), {}

    def _resource(self, path: str) -> Any:
        fixed = {
            "/redfish": lambda: {"v1": f"{ROOT}/"},
            ROOT: self.root,
            f"{ROOT}/": self.root,
            f"{ROOT}/ThermalEquipment": self.thermal_equipment,
            f"{ROOT}/ThermalEquipment/CDUs": self.cdus,
            CDU_URI: self.cooling_unit,
            f"{CDU_URI}/PrimaryCoolantConnectors": lambda: self._collection(
                "PrimaryCoolantConnectors", "#CoolantConnectorCollection.CoolantConnectorCollection", ["1"]
            ),
            f"{CDU_URI}/PrimaryCoolantConnectors/1": self.primary_connector,
            f"{CDU_URI}/SecondaryCoolantConnectors": lambda: self._collection(
                "SecondaryCoolantConnectors", "#CoolantConnectorCollection.CoolantConnectorCollection", ["1"]
            ),
            f"{CDU_URI}/SecondaryCoolantConnectors/1": self.secondary_connector,
            f"{CDU_URI}/Pumps": lambda: self._collection("Pumps", "#PumpCollection.PumpCollection", list(PUMPS)),
            f"{CDU_URI}/Reservoirs": lambda: self._collection(
                "Reservoirs", "#ReservoirCollection.ReservoirCollection", ["1"]
            ),
            f"{CDU_URI}/Reservoirs/1": self.reservoir,
            f"{ROOT}/Chassis": self.chassis_collection,
            CHASSIS_URI: self.chassis,
            SENSORS_URI: self.sensors,
            f"{ROOT}/SessionService": self.session_service,
            f"{ROOT}/SessionService/Sessions": self.sessions,
        }
        if path in fixed:
            return fixed[path]
        prefix = f"{CDU_URI}/Pumps/"
        if path.startswith(prefix) and path[len(prefix) :] in PUMPS:
            pid = path[len(prefix) :]
            return lambda: self.pump(pid)
        prefix = f"{SENSORS_URI}/"
        if path.startswith(prefix) and path[len(prefix) :] in SENSORS:
            sid = path[len(prefix) :]
            return lambda: self.sensor(sid)
        return None

    # ------------------------------------------------------------------ readings
    def heat_kw(self) -> float:
        """The heat the cooled racks put into the loop (their nodes' draw, the liquid share)."""
        racks = set(self.cdu.racks)
        watts = sum(n.power_watts() for n in self.fleet.nodes.values() if n.rack in racks)
        return watts * LIQUID_SHARE / 1000.0

    def readings(self) -> dict[str, float]:
        heat = self.heat_kw()
        running = not self.cdu.failed
        flow = CDU_FLOW_LPM if running else 0.0
        supply = self.cdu.supply_temp()
        removed = heat if running else 0.0
        ret = supply + (_delta_t(heat, flow) if running else 2.0)
        primary_return = PRIMARY_SUPPLY_C + _delta_t(removed, PRIMARY_FLOW_LPM)
        return {
            "supply": round(supply, 1),
            "return": round(ret, 1),
            "flow": round(flow, 1),
            "heat": round(removed, 2),
            "primary_supply": PRIMARY_SUPPLY_C,
            "primary_return": round(primary_return, 1),
            "primary_flow": PRIMARY_FLOW_LPM,
            "primary_heat": round(removed, 2),
        }

    def health(self) -> str:
        return "Critical" if self.cdu.failed else "OK"

    def _excerpt(self, sensor: str, value: float) -> dict:
        return {"Reading": value, "DataSourceUri": f"{SENSORS_URI}/{sensor}"}

    # ------------------------------------------------------------------ resources
    def root(self) -> dict:
        return {
            "@odata.type": "#ServiceRoot.v1_16_0.ServiceRoot",
            "@odata.id": f"{ROOT}/",
            "Id": "RootService",
            "Name": "Root Service",
            "RedfishVersion": REDFISH_VERSION,
            "UUID": self.cdu.uuid,
            "Vendor": MANUFACTURER,
            "Product": MODEL,
            "ThermalEquipment": _odata(f"{ROOT}/ThermalEquipment"),
            "Chassis": _odata(f"{ROOT}/Chassis"),
            "SessionService": _odata(f"{ROOT}/SessionService"),
            "Links": {"Sessions": _odata(f"{ROOT}/SessionService/Sessions")},
        }

    def session_service(self) -> dict:
        return {
            "@odata.type": "#SessionService.v1_1_8.SessionService",
            "@odata.id": f"{ROOT}/SessionService",
            "Id": "SessionService",
            "Name": "Session Service",
            "ServiceEnabled": False,
            "SessionTimeout": 600,
            "Status": {"State": "Disabled", "Health": "OK"},
            "Sessions": _odata(f"{ROOT}/SessionService/Sessions"),
        }

    def sessions(self) -> dict:
        return {
            "@odata.type": "#SessionCollection.SessionCollection",
            "@odata.id": f"{ROOT}/SessionService/Sessions",
            "Name": "Session Collection",
            "Members@odata.count": 0,
            "Members": [],
        }

    def thermal_equipment(self) -> dict:
        return {
            "@odata.type": "#ThermalEquipment.v1_2_0.ThermalEquipment",
            "@odata.id": f"{ROOT}/ThermalEquipment",
            "Id": "ThermalEquipment",
            "Name": "Cooling Equipment",
            "Status": {"State": "Enabled", "HealthRollup": self.health()},
            "CDUs": _odata(f"{ROOT}/ThermalEquipment/CDUs"),
        }

    def cdus(self) -> dict:
        return {
            "@odata.type": "#CoolingUnitCollection.CoolingUnitCollection",
            "@odata.id": f"{ROOT}/ThermalEquipment/CDUs",
            "Name": "CDU Collection",
            "Members@odata.count": 1,
            "Members": [_odata(CDU_URI)],
        }

    def _collection(self, name: str, odata_type: str, ids: list[str]) -> dict:
        uri = f"{CDU_URI}/{name}"
        return {
            "@odata.type": odata_type,
            "@odata.id": uri,
            "Name": f"{name} Collection",
            "Members@odata.count": len(ids),
            "Members": [_odata(f"{uri}/{i}") for i in ids],
        }

    def _conditions(self, r: dict[str, float]) -> list[dict]:
        if not self.cdu.failed:
            return []
        stamp = now_iso()
        out = [
            {
                "MessageId": "Environmental.1.4.PumpFailed",
                "Timestamp": stamp,
                "Message": f"Pump '{p}' has failed.",
                "Severity": "Critical",
                "ConditionType": "Alert",
                "MessageArgs": [p],
                "OriginOfCondition": _odata(f"{CDU_URI}/Pumps/{p}"),
            }
            for p in PUMPS
        ]
        if r["supply"] > SUPPLY_CRITICAL_C:
            out.append(
                {
                    "MessageId": "Environmental.1.4.TemperatureAboveUpperCriticalThreshold",
                    "Timestamp": stamp,
                    "Message": f"Temperature 'SecondarySupplyTemp' reading of {r['supply']} degrees (C) is above "
                    f"the {SUPPLY_CRITICAL_C} upper critical threshold.",
                    "Severity": "Critical",
                    "ConditionType": "Alert",
                    "MessageArgs": ["SecondarySupplyTemp", str(r["supply"]), str(SUPPLY_CRITICAL_C)],
                    "OriginOfCondition": _odata(f"{SENSORS_URI}/SecondarySupplyTemp"),
                }
            )
        return out

    def cooling_unit(self) -> dict:
        r = self.readings()
        status: dict[str, Any] = {"State": "Enabled", "Health": self.health(), "HealthRollup": self.health()}
        conditions = self._conditions(r)
        if conditions:
            status["Conditions"] = conditions
        doc = {
            "@odata.type": "#CoolingUnit.v1_5_0.CoolingUnit",
            "@odata.id": CDU_URI,
            "Id": "1",
            "Name": self.cdu.id,
            "Description": f"Coolant distribution unit of {', '.join(self.cdu.racks)}",
            "EquipmentType": "CDU",
            "Manufacturer": MANUFACTURER,
            "Model": MODEL,
            "SerialNumber": self.cdu.serial,
            "FirmwareVersion": FIRMWARE_VERSION,
            "AssetTag": self.cdu.id,
            "Status": status,
            "Coolant": {
                "CoolantType": "Water",
                "AdditiveName": "Propylene glycol",
                "AdditivePercent": 25,
                "SpecificHeatkJoulesPerKgK": SPECIFIC_HEAT / 1000.0,
                "DensityKgPerCubicMeter": DENSITY * 1000.0,
            },
            "PrimaryCoolantConnectors": _odata(f"{CDU_URI}/PrimaryCoolantConnectors"),
            "SecondaryCoolantConnectors": _odata(f"{CDU_URI}/SecondaryCoolantConnectors"),
            "Pumps": _odata(f"{CDU_URI}/Pumps"),
            "Reservoirs": _odata(f"{CDU_URI}/Reservoirs"),
            "Links": {"Chassis": [_odata(CHASSIS_URI)]},
        }
        if self.cdu.location:
            doc["Location"] = {"Placement": {"Row": self.cdu.location}}
        return doc

    def primary_connector(self) -> dict:
        r = self.readings()
        return {
            "@odata.type": "#CoolantConnector.v1_3_0.CoolantConnector",
            "@odata.id": f"{CDU_URI}/PrimaryCoolantConnectors/1",
            "Id": "1",
            "Name": "Main supply from facility",
            "Status": {"State": "Enabled", "Health": "OK"},
            "CoolantConnectorType": "Pair",
            "RatedFlowLitersPerMinute": RATED_FLOW_LPM,
            "FlowLitersPerMinute": self._excerpt("PrimaryFlow", r["primary_flow"]),
            "SupplyTemperatureCelsius": self._excerpt("PrimarySupplyTemp", r["primary_supply"]),
            "ReturnTemperatureCelsius": self._excerpt("PrimaryReturnTemp", r["primary_return"]),
            "DeltaTemperatureCelsius": {"Reading": round(r["primary_return"] - r["primary_supply"], 1)},
            "HeatRemovedkW": self._excerpt("PrimaryHeatLoad", r["primary_heat"]),
        }

    def secondary_connector(self) -> dict:
        r = self.readings()
        return {
            "@odata.type": "#CoolantConnector.v1_3_0.CoolantConnector",
            "@odata.id": f"{CDU_URI}/SecondaryCoolantConnectors/1",
            "Id": "1",
            "Name": "Cooling connection to rack equipment",
            "Status": {"State": "Enabled", "Health": self.health()},
            "CoolantConnectorType": "Pair",
            "RatedFlowLitersPerMinute": RATED_FLOW_LPM,
            "FlowLitersPerMinute": self._excerpt("SecondaryFlow", r["flow"]),
            "SupplyTemperatureCelsius": self._excerpt("SecondarySupplyTemp", r["supply"]),
            "SupplyTemperatureControlCelsius": {
                "SetPoint": CDU_SUPPLY_C,
                "AllowableMax": SUPPLY_CAUTION_C,
                "AllowableMin": 18.0,
                "ControlMode": "Automatic",
            },
            "ReturnTemperatureCelsius": self._excerpt("SecondaryReturnTemp", r["return"]),
            "DeltaTemperatureCelsius": {"Reading": round(r["return"] - r["supply"], 1)},
            "HeatRemovedkW": self._excerpt("SecondaryHeatLoad", r["heat"]),
        }

    def pump(self, pid: str) -> dict:
        failed = self.cdu.failed
        return {
            "@odata.type": "#Pump.v1_2_0.Pump",
            "@odata.id": f"{CDU_URI}/Pumps/{pid}",
            "Id": pid,
            "Name": f"CDU Pump {pid}",
            "PumpType": "Liquid",
            "Status": {"State": "Enabled", "Health": "Critical" if failed else "OK"},
            "PumpSpeedPercent": {"Reading": 0.0 if failed else PUMP_SPEED_PERCENT},
        }

    def reservoir(self) -> dict:
        return {
            "@odata.type": "#Reservoir.v1_0_2.Reservoir",
            "@odata.id": f"{CDU_URI}/Reservoirs/1",
            "Id": "1",
            "Name": "CDU Reservoir",
            "ReservoirType": "Inline",
            "CapacityLiters": 20,
            "Status": {"State": "Enabled", "Health": "OK"},
            "FluidLevelStatus": "OK",
        }

    def chassis_collection(self) -> dict:
        return {
            "@odata.type": "#ChassisCollection.ChassisCollection",
            "@odata.id": f"{ROOT}/Chassis",
            "Name": "Chassis Collection",
            "Members@odata.count": 1,
            "Members": [_odata(CHASSIS_URI)],
        }

    def chassis(self) -> dict:
        return {
            "@odata.type": "#Chassis.v1_25_0.Chassis",
            "@odata.id": CHASSIS_URI,
            "Id": "CDU",
            "Name": f"{self.cdu.id} chassis",
            "ChassisType": "StandAlone",
            "Manufacturer": MANUFACTURER,
            "Model": MODEL,
            "SerialNumber": self.cdu.serial,
            "UUID": self.cdu.uuid,
            "AssetTag": self.cdu.id,
            "Status": {"State": "Enabled", "Health": self.health()},
            "Sensors": _odata(SENSORS_URI),
        }

    def sensors(self) -> dict:
        return {
            "@odata.type": "#SensorCollection.SensorCollection",
            "@odata.id": SENSORS_URI,
            "Name": "CDU Sensor Collection",
            "Members@odata.count": len(SENSORS),
            "Members": [_odata(f"{SENSORS_URI}/{s}") for s in SENSORS],
        }

    def sensor(self, sid: str) -> dict:
        name, reading_type, units, context, key = SENSORS[sid]
        value = self.readings()[key]
        health = "OK"
        doc: dict[str, Any] = {
            "@odata.type": "#Sensor.v1_7_0.Sensor",
            "@odata.id": f"{SENSORS_URI}/{sid}",
            "Id": sid,
            "Name": name,
            "ReadingType": reading_type,
            "Reading": value,
            "ReadingUnits": units,
            "PhysicalContext": context,
        }
        if sid == "SecondarySupplyTemp":
            doc["Thresholds"] = {
                "UpperCaution": {"Reading": SUPPLY_CAUTION_C},
                "UpperCritical": {"Reading": SUPPLY_CRITICAL_C},
            }
            health = "Critical" if value > SUPPLY_CRITICAL_C else "Warning" if value > SUPPLY_CAUTION_C else "OK"
        elif sid == "SecondaryFlow" and self.cdu.failed:
            health = "Critical"
        doc["Status"] = {"State": "Enabled", "Health": health}
        return doc
