"""Redfish personas laid out like BMCs the project was not written against.

The vendor captures (``capture.py``) replay trees crawled from real BMCs.  The
personas here are generated from a node's live state like the default face
(``redfish.RedfishService``), but arranged the way other BMC firmware arranges
its resources, as described by the DMTF Redfish schema (Chassis, PCIeDevice,
PCIeFunction, Bios with ``@Redfish.Settings``) and by vendors' public
documentation of their Redfish services:

- GPUs only as chassis (``HGX_GPU_SXM_1..8`` on a DGX-style system,
  ``HGX_GPU_0..3`` on a Grace Blackwell compute tray), each with a PCIe device
  and function (vendor id 0x10de, class 0x0302); the host's Processors lists
  its CPUs only and the system has no PCIeDevices;
- GPUs of one module reporting one serial in pairs (``HGX_GPU_0`` and
  ``HGX_GPU_1``);
- the system's ``Links.Chassis`` naming a chassis that answers 404 while the
  Chassis collection lists the real ones;
- a BIOS settings object that takes PATCH but answers GET with 405, at an
  unadvertised URI (``Bios/SD``);
- the BIOS firmware component named ``HostBIOS_0``;
- ``ResetType: On`` refused with 400 while the system is already on.

Nothing here is copied from a vendor's service; the shapes follow the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Node
from .redfish import ROOT, RedfishError, RedfishService, Reply, collection, not_found, odata


@dataclass(frozen=True)
class Persona:
    name: str
    vendor: str  # ServiceRoot Vendor
    system_id: str
    host_chassis_id: str
    gpu_chassis: str  # format with {n}: the GPU's number
    gpu_first: int  # 0 or 1: how GPU chassis are numbered
    paired_serials: bool = False  # GPUs 2k and 2k+1 report one serial
    dead_chassis_link: str | None = None  # Links.Chassis of the system names this (404)
    settings_suffix: str = "Settings"  # the BIOS settings object under Bios/
    advertise_settings: bool = True  # @Redfish.Settings on the Bios resource
    settings_readable: bool = True  # False: GET on the settings object answers 405
    bios_firmware_id: str = "BIOS"  # the BIOS component's id in FirmwareInventory
    refuse_on_when_on: bool = False  # ResetType On while on: 400


PERSONAS: dict[str, Persona] = {
    "dgx_h100": Persona(
        name="dgx_h100",
        vendor="AMI",
        system_id="DGX",
        host_chassis_id="DGX",
        gpu_chassis="HGX_GPU_SXM_{n}",
        gpu_first=1,
        settings_suffix="SD",
        advertise_settings=False,
        settings_readable=False,
        bios_firmware_id="HostBIOS_0",
        refuse_on_when_on=True,
    ),
    "gb200_nvl_tray": Persona(
        name="gb200_nvl_tray",
        vendor="WIWYNN",
        system_id="System_0",
        host_chassis_id="Chassis_0",
        gpu_chassis="HGX_GPU_{n}",
        gpu_first=0,
        paired_serials=True,
        dead_chassis_link="BaseBoard_0",
        settings_readable=False,
        bios_firmware_id="UEFI",
        refuse_on_when_on=True,
    ),
    "gb300_tray": Persona(
        name="gb300_tray",
        vendor="AMI",
        system_id="System_0",
        host_chassis_id="BMC_0",
        gpu_chassis="HGX_GPU_{n}",
        gpu_first=0,
        paired_serials=True,
        settings_suffix="SD",
        advertise_settings=False,
        bios_firmware_id="HostBIOS_0",
        refuse_on_when_on=True,
    ),
}


class PersonaService(RedfishService):
    """The node's Redfish face laid out as ``persona``."""

    def __init__(self, node: Node, persona: str, *, update_duration_s: float = 5.0) -> None:
        self.persona = PERSONAS[persona]
        super().__init__(node, update_duration_s=update_duration_s)
        p = self.persona
        self.vendor = p.vendor
        self.sys = f"{ROOT}/Systems/{p.system_id}"
        self.chassis = f"{ROOT}/Chassis/{p.host_chassis_id}"
        self.bios = f"{self.sys}/Bios"
        self.bios_settings = f"{self.bios}/{p.settings_suffix}"
        self.storage = f"{self.sys}/Storage/1"
        self.reset_target = f"{self.sys}/Actions/ComputerSystem.Reset"
        if p.paired_serials:
            # Both GPUs of a module report the module's serial.
            for g in node.gpus:
                if g.index % 2 == 1:
                    g.serial = node.gpus[g.index - 1].serial
        self._routes = self._build_persona_routes()

    # ------------------------------------------------------------------ routing
    def _build_persona_routes(self) -> list:
        import re

        c = rf"{ROOT}/Chassis/(?P<cid>HGX_GPU_[^/]+)"
        extra = [
            ("GET", c, self.get_gpu_chassis),
            ("GET", rf"{c}/PCIeDevices", self.get_gpu_pcie_devices),
            ("GET", rf"{c}/PCIeDevices/(?P<did>[^/]+)", self.get_gpu_pcie_device),
            ("GET", rf"{c}/PCIeDevices/(?P<did>[^/]+)/PCIeFunctions", self.get_gpu_pcie_functions),
            ("GET", rf"{c}/PCIeDevices/(?P<did>[^/]+)/PCIeFunctions/0", self.get_gpu_pcie_function),
            ("GET", rf"{ROOT}/Chassis/(?P<cid>HGX_ERoT_GPU_[^/]+)", self.get_erot_chassis),
        ]
        return [(m, re.compile(pat + "/?$"), f) for m, pat, f in extra] + self._build_routes()

    # ------------------------------------------------------------------ GPUs as chassis
    def _gpu_ids(self) -> dict[str, Any]:
        """Chassis id -> GPU, for GPUs on the bus."""
        p = self.persona
        return {p.gpu_chassis.format(n=g.index + p.gpu_first): g for g in self.node.present_gpus()}

    def _all_gpu_ids(self) -> list[str]:
        p = self.persona
        return [p.gpu_chassis.format(n=g.index + p.gpu_first) for g in self.node.gpus]

    def _gpu(self, cid: str) -> Any:
        g = self._gpu_ids().get(cid)
        if g is None:
            raise not_found(f"{ROOT}/Chassis/{cid}")
        return g

    def get_chassis_collection(self) -> Reply:
        members = [self.chassis]
        members += [f"{ROOT}/Chassis/{c}" for c in self._gpu_ids()]
        members += [f"{ROOT}/Chassis/HGX_ERoT_{c.removeprefix('HGX_')}" for c in self._all_gpu_ids()]
        return self.ok(
            collection(f"{ROOT}/Chassis", "ChassisCollection.ChassisCollection", "Chassis Collection", members)
        )

    def get_chassis(self) -> Reply:
        _, doc, _ = super().get_chassis()
        doc = dict(doc, Id=self.persona.host_chassis_id, ChassisType="RackMount")
        doc["Links"] = dict(doc["Links"], Contains=[odata(f"{ROOT}/Chassis/{c}") for c in self._gpu_ids()])
        return self.ok(doc)

    def get_gpu_chassis(self, cid: str) -> Reply:
        g = self._gpu(cid)
        path = f"{ROOT}/Chassis/{cid}"
        return self.ok(
            {
                "@odata.type": "#Chassis.v1_23_0.Chassis",
                "@odata.id": path,
                "Id": cid,
                "Name": cid.removeprefix("HGX_"),
                "ChassisType": "Module",
                "Manufacturer": "NVIDIA",
                "Model": g.model.name,
                "PartNumber": "2330-885-A1",
                "SerialNumber": g.serial,
                "UUID": g.uuid.removeprefix("GPU-"),
                "Location": {"PartLocation": {"ServiceLabel": cid.removeprefix("HGX_"), "LocationType": "Slot"}},
                "Status": {"State": "Enabled", "Health": g.health},
                "PCIeDevices": odata(f"{path}/PCIeDevices"),
                "Links": {"ContainedBy": odata(self.chassis)},
            }
        )

    def get_erot_chassis(self, cid: str) -> Reply:
        if f"HGX_{cid.removeprefix('HGX_ERoT_')}" not in self._all_gpu_ids():
            raise not_found(f"{ROOT}/Chassis/{cid}")
        return self.ok(
            {
                "@odata.type": "#Chassis.v1_23_0.Chassis",
                "@odata.id": f"{ROOT}/Chassis/{cid}",
                "Id": cid,
                "Name": cid,
                "ChassisType": "Component",
                "Manufacturer": "NVIDIA",
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        )

    def _device_id(self, cid: str) -> str:
        return cid.removeprefix("HGX_")

    def get_gpu_pcie_devices(self, cid: str) -> Reply:
        self._gpu(cid)
        path = f"{ROOT}/Chassis/{cid}/PCIeDevices"
        return self.ok(
            collection(
                path, "PCIeDeviceCollection.PCIeDeviceCollection", "PCIe Devices", [f"{path}/{self._device_id(cid)}"]
            )
        )

    def get_gpu_pcie_device(self, cid: str, did: str) -> Reply:
        g = self._gpu(cid)
        if did != self._device_id(cid):
            raise not_found(f"{ROOT}/Chassis/{cid}/PCIeDevices/{did}")
        path = f"{ROOT}/Chassis/{cid}/PCIeDevices/{did}"
        return self.ok(
            {
                "@odata.type": "#PCIeDevice.v1_11_0.PCIeDevice",
                "@odata.id": path,
                "Id": did,
                "Name": "PCIe Device",
                "DeviceType": "SingleFunction",
                "SerialNumber": g.serial,
                "FirmwareVersion": g.firmware,
                "Status": {"State": "Enabled", "Health": g.health},
                "PCIeFunctions": odata(f"{path}/PCIeFunctions"),
            }
        )

    def get_gpu_pcie_functions(self, cid: str, did: str) -> Reply:
        self._gpu(cid)
        path = f"{ROOT}/Chassis/{cid}/PCIeDevices/{did}/PCIeFunctions"
        return self.ok(
            collection(path, "PCIeFunctionCollection.PCIeFunctionCollection", "PCIe Functions", [f"{path}/0"])
        )

    def get_gpu_pcie_function(self, cid: str, did: str) -> Reply:
        self._gpu(cid)
        return self.ok(
            {
                "@odata.type": "#PCIeFunction.v1_5_0.PCIeFunction",
                "@odata.id": f"{ROOT}/Chassis/{cid}/PCIeDevices/{did}/PCIeFunctions/0",
                "Id": "0",
                "Name": "PCIe Function 0",
                "FunctionId": 0,
                "DeviceClass": "DisplayController",
                "ClassCode": "0x030200",
                "VendorId": "0x10de",
                "DeviceId": "0x2330",
            }
        )

    # ------------------------------------------------------------------ the system
    def processors(self) -> dict[str, dict]:
        return {k: v for k, v in super().processors().items() if v.get("ProcessorType") == "CPU"}

    def system_doc(self) -> dict:
        doc = super().system_doc()
        doc["Id"] = self.persona.system_id
        doc["Manufacturer"] = "NVIDIA" if self.persona.vendor == "AMI" else self.persona.vendor
        doc.pop("Oem", None)
        chassis = f"{ROOT}/Chassis/{self.persona.dead_chassis_link}" if self.persona.dead_chassis_link else self.chassis
        doc["Links"] = dict(doc["Links"], Chassis=[odata(chassis)])
        return doc

    def post_reset(self, body: dict) -> Reply:
        if self.persona.refuse_on_when_on and body.get("ResetType") == "On" and self.node.power_state == "On":
            raise RedfishError(
                400,
                "The requested reset type On is not allowed while the system is powered on.",
                "Base.1.18.ActionParameterValueConflict",
            )
        return super().post_reset(body)

    # ------------------------------------------------------------------ BIOS
    def bios_doc(self) -> dict:
        doc = super().bios_doc()
        if not self.persona.advertise_settings:
            doc.pop("@Redfish.Settings", None)
        return doc

    def get_bios_settings(self) -> Reply:
        if not self.persona.settings_readable:
            raise RedfishError(405, f"GET is not allowed on {self.bios_settings}.", "Base.1.18.OperationNotAllowed")
        return super().get_bios_settings()

    # ------------------------------------------------------------------ firmware
    def _fw_id(self, fid: str) -> str:
        return self.persona.bios_firmware_id if fid == "BIOS" else fid

    def _sim_id(self, fid: str) -> str:
        return "BIOS" if fid == self.persona.bios_firmware_id else fid

    def get_firmware_inventory(self) -> Reply:
        path = f"{ROOT}/UpdateService/FirmwareInventory"
        members = [f"{path}/{self._fw_id(f.id)}" for f in self.node.firmware]
        return self.ok(
            collection(path, "SoftwareInventoryCollection.SoftwareInventoryCollection", "Firmware Inventory", members)
        )

    def get_firmware(self, fid: str) -> Reply:
        if fid == "BIOS" and self.persona.bios_firmware_id != "BIOS":
            raise not_found(f"{ROOT}/UpdateService/FirmwareInventory/{fid}")
        status, doc, headers = super().get_firmware(self._sim_id(fid))
        doc = dict(doc, Id=fid)
        doc["@odata.id"] = f"{ROOT}/UpdateService/FirmwareInventory/{fid}"
        return status, doc, headers

    def _start_update(self, image: str, targets: list[str]) -> Reply:
        mapped = [t.rsplit("/", 1)[0] + "/" + self._sim_id(t.rstrip("/").rsplit("/", 1)[-1]) for t in targets]
        return super()._start_update(image, mapped)


def persona_service(node: Node, persona: str, update_duration_s: float = 5.0) -> RedfishService | None:
    if persona not in PERSONAS:
        return None
    return PersonaService(node, persona, update_duration_s=update_duration_s)
