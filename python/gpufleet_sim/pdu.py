"""Redfish face of a simulated rack PDU (DMTF ``PowerDistribution`` / ``Outlet``).

Each PDU's controller serves this tree on its own address (``pdu.redfish_address``,
plain HTTP; ``server.py`` routes a request to it by the local address it arrived on)::

    /redfish/v1                                       ServiceRoot (public)
    /redfish/v1/PowerEquipment                        PowerEquipment
    /redfish/v1/PowerEquipment/RackPDUs               PowerDistributionCollection, one member
    /redfish/v1/PowerEquipment/RackPDUs/1             PowerDistribution (Name: the PDU id)
    /redfish/v1/PowerEquipment/RackPDUs/1/Outlets     OutletCollection
    /redfish/v1/PowerEquipment/RackPDUs/1/Outlets/N   Outlet (N: the model's outlet id)

Everything but the ServiceRoot (and ``/redfish``) needs HTTP Basic auth with
``pdu.redfish_user`` / ``pdu.redfish_password``: 401 otherwise.  Unknown paths answer
404, methods other than GET/HEAD 405, each with a Redfish error body.

An outlet reads ``PowerState`` "On"/"Off" from ``outlet.powered``; while on it draws
what its loads draw (a node's ``power_watts()``, a switch ``SWITCH_WATTS``; a load fed by
several live outlets splits its draw evenly among them) at ``VOLTAGE`` volts.  The PDU's
``Status.Health`` is "Warning" while any outlet that feeds something is off.  The
controller itself runs on the PDU's input feed: while ``pdu.alive`` is False the server
drops its connections (it is on the facility network, so ``switch_down`` leaves it be).
"""

from __future__ import annotations

from typing import Any

from .model import Fleet, Pdu
from .redfish import RedfishError

ROOT = "/redfish/v1"
PDU_URI = f"{ROOT}/PowerEquipment/RackPDUs/1"
REDFISH_VERSION = "1.15.0"
VOLTAGE = 230.0
SWITCH_WATTS = 350.0  # a loaded leaf switch
OTHER_WATTS = 200.0  # a load the model knows nothing about
MANUFACTURER = "Contoso Power"
MODEL = "RPDU-3P-42"
FIRMWARE_VERSION = "3.2.1"

Reply = tuple[int, Any, dict[str, str]]


def _odata(uri: str) -> dict[str, str]:
    return {"@odata.id": uri}


def not_found(path: str) -> RedfishError:
    return RedfishError(404, f"The resource at {path} was not found.", "Base.1.18.ResourceNotFound")


class PduService:
    """Answers Redfish requests for one PDU (auth and reachability are the server's job)."""

    PUBLIC_PATHS = frozenset({"/redfish", f"{ROOT}", f"{ROOT}/"})

    def __init__(self, pdu: Pdu, fleet: Fleet) -> None:
        self.pdu = pdu
        self.fleet = fleet

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, method: str, path: str) -> Reply:
        if path != f"{ROOT}/" and path.endswith("/"):
            path = path.rstrip("/")
        if method not in ("GET", "HEAD"):
            if self._resource(path) is None:
                raise not_found(path)
            raise RedfishError(405, f"{method} is not allowed on {path}.", "Base.1.18.ActionNotSupported")
        doc = self._resource(path)
        if doc is None:
            raise not_found(path)
        return 200, doc(), {}

    def _resource(self, path: str) -> Any:
        if path == "/redfish":
            return lambda: {"v1": f"{ROOT}/"}
        if path in (ROOT, f"{ROOT}/"):
            return self.root
        if path == f"{ROOT}/PowerEquipment":
            return self.power_equipment
        if path == f"{ROOT}/PowerEquipment/RackPDUs":
            return self.rack_pdus
        if path == PDU_URI:
            return self.distribution
        if path == f"{PDU_URI}/Outlets":
            return self.outlets
        prefix = f"{PDU_URI}/Outlets/"
        if path.startswith(prefix) and path[len(prefix) :] in self.pdu.outlets:
            oid = path[len(prefix) :]
            return lambda: self.outlet(oid)
        return None

    # ------------------------------------------------------------------ readings
    def _feeds(self) -> dict[str, int]:
        """How many live outlets feed each load (a dual-corded load splits its draw)."""
        live: dict[str, int] = {}
        for p in self.fleet.pdus.values():
            for o in p.outlets.values():
                if p.alive and o.powered:
                    for load in o.load:
                        live[load] = live.get(load, 0) + 1
        return live

    def _load_watts(self, load: str) -> float:
        node = self.fleet.nodes.get(load)
        if node is not None:
            return node.power_watts()
        if load in self.fleet.switches:
            return SWITCH_WATTS
        return OTHER_WATTS

    def outlet_watts(self, outlet_id: str, feeds: dict[str, int] | None = None) -> float:
        o = self.pdu.outlets[outlet_id]
        if not (self.pdu.alive and o.powered):
            return 0.0
        feeds = self._feeds() if feeds is None else feeds
        return round(sum(self._load_watts(x) / max(1, feeds.get(x, 1)) for x in o.load), 1)

    def health(self) -> str:
        return "Warning" if any(o.load and not o.powered for o in self.pdu.outlets.values()) else "OK"

    # ------------------------------------------------------------------ resources
    def root(self) -> dict:
        return {
            "@odata.type": "#ServiceRoot.v1_16_0.ServiceRoot",
            "@odata.id": f"{ROOT}/",
            "Id": "RootService",
            "Name": "Root Service",
            "RedfishVersion": REDFISH_VERSION,
            "UUID": self.pdu.uuid,
            "Vendor": MANUFACTURER,
            "Product": MODEL,
            "PowerEquipment": _odata(f"{ROOT}/PowerEquipment"),
        }

    def power_equipment(self) -> dict:
        return {
            "@odata.type": "#PowerEquipment.v1_2_0.PowerEquipment",
            "@odata.id": f"{ROOT}/PowerEquipment",
            "Id": "PowerEquipment",
            "Name": "Power Equipment",
            "Status": {"State": "Enabled", "HealthRollup": self.health()},
            "RackPDUs": _odata(f"{ROOT}/PowerEquipment/RackPDUs"),
        }

    def rack_pdus(self) -> dict:
        return {
            "@odata.type": "#PowerDistributionCollection.PowerDistributionCollection",
            "@odata.id": f"{ROOT}/PowerEquipment/RackPDUs",
            "Name": "RackPDU Collection",
            "Members@odata.count": 1,
            "Members": [_odata(PDU_URI)],
        }

    def distribution(self) -> dict:
        feeds = self._feeds()
        watts = round(sum(self.outlet_watts(oid, feeds) for oid in self.pdu.outlets), 1)
        return {
            "@odata.type": "#PowerDistribution.v1_3_0.PowerDistribution",
            "@odata.id": PDU_URI,
            "Id": "1",
            "Name": self.pdu.id,
            "EquipmentType": "RackPDU",
            "Manufacturer": MANUFACTURER,
            "Model": MODEL,
            "SerialNumber": self.pdu.serial,
            "FirmwareVersion": FIRMWARE_VERSION,
            "UUID": self.pdu.uuid,
            "AssetTag": self.pdu.id,
            "Location": {"Placement": {"Rack": self.pdu.rack}},
            "Status": {"State": "Enabled", "Health": self.health()},
            "PowerWatts": {"Reading": watts},
            "Outlets": _odata(f"{PDU_URI}/Outlets"),
        }

    def outlets(self) -> dict:
        return {
            "@odata.type": "#OutletCollection.OutletCollection",
            "@odata.id": f"{PDU_URI}/Outlets",
            "Name": "Outlet Collection",
            "Members@odata.count": len(self.pdu.outlets),
            "Members": [_odata(f"{PDU_URI}/Outlets/{oid}") for oid in self.pdu.outlets],
        }

    def outlet(self, oid: str) -> dict:
        o = self.pdu.outlets[oid]
        on = o.powered
        watts = self.outlet_watts(oid)
        volts = VOLTAGE if (on and self.pdu.alive) else 0.0
        return {
            "@odata.type": "#Outlet.v1_4_0.Outlet",
            "@odata.id": f"{PDU_URI}/Outlets/{oid}",
            "Id": oid,
            "Name": f"Outlet {oid}",
            "PowerState": "On" if on else "Off",
            "PowerEnabled": on,
            "Status": {"State": "Enabled", "Health": "OK"},
            "VoltageType": "AC",
            "NominalVoltage": "AC230V",
            "PowerWatts": {"Reading": watts},
            "CurrentAmps": {"Reading": round(watts / VOLTAGE, 2) if volts else 0.0},
            "Voltage": {"Reading": volts},
        }
