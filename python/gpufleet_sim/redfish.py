"""Redfish BMC for a simulated node.

One ``RedfishService`` per node renders the node's state (``model.Node``) as
Redfish resources and applies actions to it.  Resource shapes follow the DMTF
public mockups (rackmount / tower with GPUs as Processors / localstorage).
``capture.CaptureService`` subclasses it to serve a vendor's frozen tree with
the same live behaviour layered on top.

Each handler returns ``(status, body, headers)``; errors are raised as
``RedfishError`` which carries the HTTP status and renders the Redfish error
body.  The HTTP plumbing (listeners, auth, BMC faults) lives in ``server.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from .model import BOOT_ENABLED, Node, now_iso

REDFISH_VERSION = "1.17.0"
ROOT = "/redfish/v1"

RESET_TYPES = [
    "On",
    "ForceOff",
    "GracefulShutdown",
    "GracefulRestart",
    "ForceRestart",
    "Nmi",
    "PowerCycle",
    "PushPowerButton",
]
BOOT_TARGETS_ALLOWED = ["None", "Pxe", "Hdd", "Cd", "BiosSetup", "Usb"]


class RedfishError(Exception):
    """An error answered to the client with ``status`` and a Redfish error body."""

    def __init__(self, status: int, message: str, message_id: str = "Base.1.18.GeneralError") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.message_id = message_id

    def body(self) -> dict:
        return {
            "error": {
                "code": self.message_id,
                "message": self.message,
                "@Message.ExtendedInfo": [
                    {
                        "@odata.type": "#Message.v1_1_1.Message",
                        "MessageId": self.message_id,
                        "Message": self.message,
                        "Severity": "Critical" if self.status >= 500 else "Warning",
                        "Resolution": "Correct the request and resubmit it.",
                    }
                ],
            }
        }


def not_found(path: str) -> RedfishError:
    return RedfishError(404, f"The resource at {path} was not found.", "Base.1.18.ResourceNotFound")


def odata(path: str) -> dict:
    return {"@odata.id": path}


def collection(path: str, odata_type: str, name: str, members: list[str]) -> dict:
    return {
        "@odata.type": f"#{odata_type}",
        "@odata.id": path,
        "Name": name,
        "Members@odata.count": len(members),
        "Members": [odata(m) for m in members],
    }


Reply = tuple[int, Any, dict[str, str]]

_task_ids = itertools.count(1)


class Task:
    """A Redfish Task that progresses over ``duration_s`` and then runs ``on_done``."""

    def __init__(self, name: str, duration_s: float, on_done: Callable[[], str | None] | None = None) -> None:
        self.id = str(next(_task_ids))
        self.name = name
        self.start = time.monotonic()
        self.start_iso = now_iso()
        self.end_iso: str | None = None
        self.duration_s = duration_s
        self.on_done = on_done
        self.state = "Running"
        self.status = "OK"
        self.messages: list[str] = [f"{name} started"]
        self.fail_reason: str | None = None

    @property
    def percent(self) -> int:
        self.advance()
        if self.state in ("Completed", "Exception"):
            return 100
        if self.duration_s <= 0:
            return 100
        return min(99, int(100 * (time.monotonic() - self.start) / self.duration_s))

    def advance(self) -> None:
        if self.state != "Running":
            return
        if time.monotonic() - self.start >= self.duration_s:
            err = None
            if self.on_done is not None:
                try:
                    err = self.on_done()
                except Exception as e:  # the task fails, the service does not
                    err = str(e)
            if err:
                self.state, self.status = "Exception", "Critical"
                self.messages.append(err)
            else:
                self.state = "Completed"
                self.messages.append(f"{self.name} completed")
            self.end_iso = now_iso()


class RedfishService:
    """Redfish resources of one node, generated from its live state."""

    vendor = "Gpufleet"

    def __init__(self, node: Node, *, update_duration_s: float = 5.0) -> None:
        self.node = node
        self.sessions: dict[str, dict] = {}  # token -> session
        self.subscriptions: dict[str, dict] = {}
        self._sub_seq = itertools.count(1)
        self._session_seq = itertools.count(1)
        self.tasks: dict[str, Task] = {}
        self.update_duration_s = update_duration_s
        self.service_uuid = node._uuid("service-root")
        self.sys = f"{ROOT}/Systems/1"
        self.chassis = f"{ROOT}/Chassis/1"
        self.manager = f"{ROOT}/Managers/BMC"
        self.bios = f"{self.sys}/Bios"
        self.bios_settings = f"{self.bios}/Settings"
        self.storage = f"{self.sys}/Storage/1"
        self.reset_target = f"{self.sys}/Actions/ComputerSystem.Reset"
        self.simple_update_target = f"{ROOT}/UpdateService/Actions/UpdateService.SimpleUpdate"
        self.push_uri = f"{ROOT}/UpdateService/upload"
        self.outbox: list[tuple[str, dict]] = []  # events waiting to be pushed (dest, payload)
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ routing
    def _build_routes(self) -> list[tuple[str, re.Pattern, Callable[..., Reply]]]:
        R = ROOT
        s = re.escape(self.sys)
        table: list[tuple[str, str, Callable[..., Reply]]] = [
            ("GET", rf"{R}/?", self.get_root),
            ("GET", rf"{R}/odata", self.get_odata),
            ("GET", rf"{R}/\$metadata", self.get_metadata),
            ("GET", rf"{R}/Systems", self.get_systems),
            ("GET", s, self.get_system),
            ("PATCH", s, self.patch_system),
            ("POST", re.escape(self.reset_target), self.post_reset),
            ("GET", rf"{s}/Processors", self.get_processors),
            ("GET", rf"{s}/Processors/(?P<pid>[^/]+)", self.get_processor),
            ("GET", rf"{s}/Memory", self.get_memory_collection),
            ("GET", rf"{s}/Memory/(?P<mid>[^/]+)", self.get_memory),
            ("GET", rf"{s}/EthernetInterfaces", self.get_nics),
            ("GET", rf"{s}/EthernetInterfaces/(?P<nid>[^/]+)", self.get_nic),
            ("GET", rf"{s}/Storage", self.get_storage_collection),
            ("GET", re.escape(self.storage), self.get_storage),
            ("GET", rf"{re.escape(self.storage)}/Drives/(?P<did>[^/]+)", self.get_drive),
            ("GET", rf"{re.escape(self.storage)}/Volumes", self.get_volumes),
            ("POST", rf"{re.escape(self.storage)}/Volumes", self.post_volume),
            ("GET", rf"{re.escape(self.storage)}/Volumes/(?P<vid>[^/]+)", self.get_volume),
            ("DELETE", rf"{re.escape(self.storage)}/Volumes/(?P<vid>[^/]+)", self.delete_volume),
            ("GET", re.escape(self.bios), self.get_bios),
            ("GET", re.escape(self.bios_settings), self.get_bios_settings),
            ("PATCH", re.escape(self.bios_settings), self.patch_bios_settings),
            ("POST", rf"{re.escape(self.bios)}/Actions/Bios.ResetBios", self.post_reset_bios),
            ("GET", rf"{s}/LogServices", self.get_logservices),
            ("GET", rf"{s}/LogServices/(?P<log>SEL|XID)", self.get_logservice),
            ("GET", rf"{s}/LogServices/(?P<log>SEL|XID)/Entries", self.get_log_entries),
            ("GET", rf"{s}/LogServices/(?P<log>SEL|XID)/Entries/(?P<eid>[^/]+)", self.get_log_entry),
            ("POST", rf"{s}/LogServices/(?P<log>SEL|XID)/Actions/LogService.ClearLog", self.post_clear_log),
            ("GET", rf"{s}/VirtualMedia", self.get_vmedia_collection_sys),
            ("GET", rf"{s}/VirtualMedia/(?P<vm>[^/]+)", self.get_vmedia_sys),
            ("GET", rf"{R}/Chassis", self.get_chassis_collection),
            ("GET", re.escape(self.chassis), self.get_chassis),
            ("GET", rf"{re.escape(self.chassis)}/Thermal", self.get_thermal),
            ("GET", rf"{re.escape(self.chassis)}/Power", self.get_power),
            ("GET", rf"{re.escape(self.chassis)}/Sensors", self.get_sensors),
            ("GET", rf"{re.escape(self.chassis)}/Sensors/(?P<sid>[^/]+)", self.get_sensor),
            ("GET", rf"{R}/Managers", self.get_managers),
            ("GET", re.escape(self.manager), self.get_manager),
            ("POST", rf"{re.escape(self.manager)}/Actions/Manager.Reset", self.post_manager_reset),
            ("GET", rf"{re.escape(self.manager)}/EthernetInterfaces", self.get_mgr_nics),
            ("GET", rf"{re.escape(self.manager)}/EthernetInterfaces/eth0", self.get_mgr_nic),
            ("GET", rf"{re.escape(self.manager)}/VirtualMedia", self.get_vmedia_collection),
            ("GET", rf"{re.escape(self.manager)}/VirtualMedia/(?P<vm>[^/]+)", self.get_vmedia),
            ("PATCH", rf"(?:{re.escape(self.manager)}|{s})/VirtualMedia/(?P<vm>[^/]+)", self.patch_vmedia),
            (
                "POST",
                rf"(?:{re.escape(self.manager)}|{s})/VirtualMedia/(?P<vm>[^/]+)/Actions/VirtualMedia.InsertMedia",
                self.post_insert_media,
            ),
            (
                "POST",
                rf"(?:{re.escape(self.manager)}|{s})/VirtualMedia/(?P<vm>[^/]+)/Actions/VirtualMedia.EjectMedia",
                self.post_eject_media,
            ),
            ("GET", rf"{R}/SessionService", self.get_session_service),
            ("GET", rf"{R}/SessionService/Sessions", self.get_sessions),
            ("POST", rf"{R}/SessionService/Sessions", self.post_session),
            ("GET", rf"{R}/SessionService/Sessions/(?P<sid>[^/]+)", self.get_session),
            ("DELETE", rf"{R}/SessionService/Sessions/(?P<sid>[^/]+)", self.delete_session),
            ("GET", rf"{R}/AccountService", self.get_account_service),
            ("GET", rf"{R}/AccountService/Accounts", self.get_accounts),
            ("GET", rf"{R}/AccountService/Accounts/1", self.get_account),
            ("GET", rf"{R}/UpdateService", self.get_update_service),
            ("GET", rf"{R}/UpdateService/FirmwareInventory", self.get_firmware_inventory),
            ("GET", rf"{R}/UpdateService/FirmwareInventory/(?P<fid>[^/]+)", self.get_firmware),
            ("POST", re.escape(self.simple_update_target), self.post_simple_update),
            ("POST", re.escape(self.push_uri), self.post_multipart_update),
            ("GET", rf"{R}/TaskService", self.get_task_service),
            ("GET", rf"{R}/TaskService/Tasks", self.get_tasks),
            ("GET", rf"{R}/TaskService/Tasks/(?P<tid>[^/]+)", self.get_task),
            ("GET", rf"{R}/TaskService/TaskMonitors/(?P<tid>[^/]+)", self.get_task_monitor),
            ("GET", rf"{R}/EventService", self.get_event_service),
            ("GET", rf"{R}/EventService/Subscriptions", self.get_subscriptions),
            ("POST", rf"{R}/EventService/Subscriptions", self.post_subscription),
            ("GET", rf"{R}/EventService/Subscriptions/(?P<sid>[^/]+)", self.get_subscription),
            ("DELETE", rf"{R}/EventService/Subscriptions/(?P<sid>[^/]+)", self.delete_subscription),
            ("POST", rf"{R}/EventService/Actions/EventService.SubmitTestEvent", self.post_test_event),
        ]
        return [(m, re.compile(p + "/?$"), f) for m, p, f in table]

    def dispatch(self, method: str, path: str, body: Any, raw: bytes = b"", content_type: str = "") -> Reply:
        """Route one request.  ``body`` is the parsed JSON body (or None)."""
        if method == "HEAD":
            method = "GET"
        allowed = False
        for m, pat, fn in self._routes:
            mt = pat.match(path)
            if not mt:
                continue
            allowed = True
            if m != method:
                continue
            kwargs = mt.groupdict()
            if method in ("POST", "PATCH"):
                if fn in (self.post_multipart_update,):
                    return fn(raw=raw, content_type=content_type, **kwargs)
                return fn(body if body is not None else {}, **kwargs)
            return fn(**kwargs)
        if allowed:
            raise RedfishError(405, f"{method} is not allowed on {path}.", "Base.1.18.ActionNotSupported")
        raise not_found(path)

    @staticmethod
    def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return status, body, headers or {}

    # ------------------------------------------------------------------ root
    def get_root(self) -> Reply:
        return self.ok(
            {
                "@odata.type": "#ServiceRoot.v1_16_0.ServiceRoot",
                "@odata.id": f"{ROOT}/",
                "Id": "RootService",
                "Name": "Root Service",
                "RedfishVersion": REDFISH_VERSION,
                "UUID": self.service_uuid,
                "Vendor": self.vendor,
                "Product": self.node.spec.product,
                "ProtocolFeaturesSupported": {
                    "ExpandQuery": {"ExpandAll": False, "Levels": False, "Links": False, "NoLinks": False},
                    "FilterQuery": False,
                    "SelectQuery": False,
                    "OnlyMemberQuery": False,
                    "ExcerptQuery": False,
                },
                "Systems": odata(f"{ROOT}/Systems"),
                "Chassis": odata(f"{ROOT}/Chassis"),
                "Managers": odata(f"{ROOT}/Managers"),
                "SessionService": odata(f"{ROOT}/SessionService"),
                "AccountService": odata(f"{ROOT}/AccountService"),
                "UpdateService": odata(f"{ROOT}/UpdateService"),
                "Tasks": odata(f"{ROOT}/TaskService"),
                "EventService": odata(f"{ROOT}/EventService"),
                "Links": {"Sessions": odata(f"{ROOT}/SessionService/Sessions")},
            }
        )

    def get_odata(self) -> Reply:
        # the service root's property names, and where each leads
        names = {
            "Systems": "Systems",
            "Chassis": "Chassis",
            "Managers": "Managers",
            "SessionService": "SessionService",
            "AccountService": "AccountService",
            "UpdateService": "UpdateService",
            "Tasks": "TaskService",
            "EventService": "EventService",
        }
        return self.ok(
            {
                "@odata.context": f"{ROOT}/$metadata",
                "value": [{"name": n, "kind": "Singleton", "url": f"{ROOT}/{p}"} for n, p in names.items()],
            }
        )

    def get_metadata(self) -> Reply:
        from .schemas import metadata_xml

        return 200, metadata_xml(), {"Content-Type": "application/xml"}

    # ------------------------------------------------------------------ systems
    def get_systems(self) -> Reply:
        return self.ok(
            collection(
                f"{ROOT}/Systems",
                "ComputerSystemCollection.ComputerSystemCollection",
                "Computer System Collection",
                [self.sys],
            )
        )

    def _power_state_str(self) -> str:
        n = self.node
        pending = n.pending_power_state
        state = n.power_state
        if pending and pending != state:
            return "PoweringOn" if pending == "On" else "PoweringOff"
        return state

    def system_doc(self) -> dict:
        n = self.node
        s = n.spec
        mem_gib = s.memory_gib_per_dimm * s.dimm_count
        gpus = n.present_gpus()
        on = n.power_state == "On"
        health = n.health
        return {
            "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
            "@odata.id": self.sys,
            "Id": self.sys.rsplit("/", 1)[1],
            "Name": n.id,
            "SystemType": "Physical",
            "AssetTag": n.asset_tag,
            "HostName": n.id if on else "",
            "Manufacturer": s.manufacturer,
            "Model": s.product,
            "SKU": s.key,
            "SerialNumber": n.serial,
            "PartNumber": f"{s.key.upper()}-01",
            "UUID": n.uuid,
            "IndicatorLED": "Off",
            "PowerState": self._power_state_str(),
            "PowerRestorePolicy": "LastState" if n.power_restore_policy == "LastState" else n.power_restore_policy,
            "Status": {"State": "Enabled" if on else "StandbyOffline", "Health": health, "HealthRollup": health},
            "BiosVersion": n.bios_version,
            "Boot": {
                "BootSourceOverrideEnabled": n.boot_override_enabled,
                "BootSourceOverrideTarget": n.boot_override_target,
                "BootSourceOverrideTarget@Redfish.AllowableValues": BOOT_TARGETS_ALLOWED,
                "BootSourceOverrideEnabled@Redfish.AllowableValues": list(BOOT_ENABLED),
                "BootSourceOverrideMode": n.boot_override_mode,
                "BootSourceOverrideMode@Redfish.AllowableValues": ["Legacy", "UEFI"],
            },
            "ProcessorSummary": {
                "Count": s.cpu_count,
                "CoreCount": s.cpu_count * s.cores_per_cpu,
                "LogicalProcessorCount": s.cpu_count * s.cores_per_cpu * 2,
                "Model": s.cpu_model,
                "Status": {"State": "Enabled", "Health": "OK"},
            },
            "MemorySummary": {
                "TotalSystemMemoryGiB": mem_gib,
                "Status": {"State": "Enabled", "Health": "OK"},
            },
            "Processors": odata(f"{self.sys}/Processors"),
            "Memory": odata(f"{self.sys}/Memory"),
            "Storage": odata(f"{self.sys}/Storage"),
            "EthernetInterfaces": odata(f"{self.sys}/EthernetInterfaces"),
            "LogServices": odata(f"{self.sys}/LogServices"),
            "VirtualMedia": odata(f"{self.sys}/VirtualMedia"),
            "Bios": odata(self.bios),
            "Links": {
                "Chassis": [odata(self.chassis)],
                "ManagedBy": [odata(self.manager)],
            },
            "Actions": {
                "#ComputerSystem.Reset": {
                    "target": self.reset_target,
                    "ResetType@Redfish.AllowableValues": RESET_TYPES,
                }
            },
            "Oem": {
                "Gpufleet": {
                    "Rack": n.rack,
                    "GpuCount": len(gpus),
                    "LastBootSource": n.last_boot_source,
                    "BootCount": n.boot_count,
                    "InstalledOS": n.installed_os,
                }
            },
        }

    def get_system(self) -> Reply:
        return self.ok(self.system_doc())

    def patch_system(self, body: dict) -> Reply:
        n = self.node
        boot = body.get("Boot")
        unknown = set(body) - {"Boot", "AssetTag", "IndicatorLED", "PowerRestorePolicy", "@odata.etag"}
        if unknown:
            raise RedfishError(400, f"Properties {sorted(unknown)} are not writable.", "Base.1.18.PropertyNotWritable")
        if boot is not None:
            if not isinstance(boot, dict):
                raise RedfishError(400, "Boot must be an object.", "Base.1.18.PropertyValueTypeError")
            target = boot.get("BootSourceOverrideTarget", n.boot_override_target)
            enabled = boot.get("BootSourceOverrideEnabled", n.boot_override_enabled)
            mode = boot.get("BootSourceOverrideMode")
            if target not in BOOT_TARGETS_ALLOWED:
                raise RedfishError(
                    400,
                    f"The value {target!r} for BootSourceOverrideTarget is not in the list of acceptable values.",
                    "Base.1.18.PropertyValueNotInList",
                )
            if enabled not in BOOT_ENABLED:
                raise RedfishError(
                    400,
                    f"The value {enabled!r} for BootSourceOverrideEnabled is not in the list of acceptable values.",
                    "Base.1.18.PropertyValueNotInList",
                )
            if mode is not None and mode not in ("Legacy", "UEFI"):
                raise RedfishError(
                    400, f"BootSourceOverrideMode {mode!r} not supported.", "Base.1.18.PropertyValueNotInList"
                )
            if "BootSourceOverrideTarget" in boot and "BootSourceOverrideEnabled" not in boot and enabled == "Disabled":
                enabled = "Once"
            n.set_boot_override(target, enabled, mode)
        if "AssetTag" in body:
            n.asset_tag = str(body["AssetTag"])
        if "PowerRestorePolicy" in body:
            if body["PowerRestorePolicy"] not in ("AlwaysOn", "AlwaysOff", "LastState"):
                raise RedfishError(
                    400, "PowerRestorePolicy not in AlwaysOn/AlwaysOff/LastState.", "Base.1.18.PropertyValueNotInList"
                )
            n.power_restore_policy = body["PowerRestorePolicy"]
        return self.ok(self.system_doc())

    def post_reset(self, body: dict) -> Reply:
        rt = body.get("ResetType", "On")
        n = self.node
        if rt not in RESET_TYPES:
            raise RedfishError(
                400,
                f"The value {rt!r} for the parameter ResetType is not in the list of acceptable values.",
                "Base.1.18.ActionParameterValueNotInList",
            )
        state = n.power_state
        if rt == "On":
            n.power_on()
        elif rt == "ForceOff":
            n.power_off(graceful=False)
        elif rt == "GracefulShutdown":
            n.power_off(graceful=True)
        elif rt in ("GracefulRestart", "ForceRestart"):
            if state == "On":
                n.reset()
            else:
                n.power_on()
        elif rt == "PowerCycle":
            n.power_cycle()
        elif rt == "PushPowerButton":
            if state == "On":
                n.power_off(graceful=True)
            else:
                n.power_on()
        elif rt == "Nmi":
            n.add_sel("NMI diagnostic interrupt", "Warning", "Critical Interrupt")
        n.emit("ResetRequested", f"ComputerSystem.Reset {rt}", "OK", ResetType=rt)
        return 204, None, {}

    # ------------------------------------------------------------------ processors
    def processors(self) -> dict[str, dict]:
        n = self.node
        s = n.spec
        out: dict[str, dict] = {}
        base = f"{self.sys}/Processors"
        for c in range(s.cpu_count):
            pid = f"CPU{c + 1}"
            out[pid] = {
                "@odata.type": "#Processor.v1_18_0.Processor",
                "@odata.id": f"{base}/{pid}",
                "Id": pid,
                "Name": f"Processor {c + 1}",
                "Socket": f"CPU {c + 1}",
                "ProcessorType": "CPU",
                "ProcessorArchitecture": "x86" if "ARM" not in s.cpu_model and "Grace" not in s.cpu_model else "ARM",
                "InstructionSet": "x86-64" if "ARM" not in s.cpu_model and "Grace" not in s.cpu_model else "ARM-A64",
                "Manufacturer": s.cpu_model.split("(")[0].split()[0],
                "Model": s.cpu_model,
                "TotalCores": s.cores_per_cpu,
                "TotalThreads": s.cores_per_cpu * 2,
                "MaxSpeedMHz": 3800,
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        for g in n.present_gpus():
            pid = g.name
            out[pid] = {
                "@odata.type": "#Processor.v1_18_0.Processor",
                "@odata.id": f"{base}/{pid}",
                "Id": pid,
                "Name": f"GPU {g.index}",
                "ProcessorType": "GPU",
                "ProcessorArchitecture": "OEM",
                "InstructionSet": "OEM",
                "Manufacturer": "NVIDIA",
                "Model": g.model.name,
                "SerialNumber": g.serial,
                "UUID": g.uuid.removeprefix("GPU-"),
                "FirmwareVersion": g.firmware,
                "MaxSpeedMHz": g.model.max_sm_clock,
                "MemorySummary": {"TotalMemorySizeMiB": g.model.memory_mib, "ECCModeEnabled": True},
                "Location": {
                    "PartLocation": {
                        "ServiceLabel": f"SXM{g.index + 1}",
                        "LocationType": "Slot",
                        "LocationOrdinalValue": g.index,
                    }
                },
                "Status": {"State": "Enabled", "Health": g.health},
                "Oem": {
                    "Gpufleet": {
                        "PciBusId": g.pci_bus_id,
                        "GpuUuid": g.uuid,
                        "LastXid": g.last_xid,
                        "EccSingleBitErrors": g.ecc_sbe,
                        "EccDoubleBitErrors": g.ecc_dbe,
                        "RowRemapPending": g.row_remap_pending,
                        "RowRemapFailure": g.row_remap_failure,
                        "TemperatureCelsius": n.gpu_temperature(g),
                    }
                },
            }
        return out

    def get_processors(self) -> Reply:
        procs = self.processors()
        return self.ok(
            collection(
                f"{self.sys}/Processors",
                "ProcessorCollection.ProcessorCollection",
                "Processors Collection",
                [p["@odata.id"] for p in procs.values()],
            )
        )

    def get_processor(self, pid: str) -> Reply:
        procs = self.processors()
        if pid not in procs:
            raise not_found(f"{self.sys}/Processors/{pid}")
        return self.ok(procs[pid])

    # ------------------------------------------------------------------ memory
    def get_memory_collection(self) -> Reply:
        s = self.node.spec
        return self.ok(
            collection(
                f"{self.sys}/Memory",
                "MemoryCollection.MemoryCollection",
                "Memory Module Collection",
                [f"{self.sys}/Memory/DIMM{i}" for i in range(s.dimm_count)],
            )
        )

    def get_memory(self, mid: str) -> Reply:
        s = self.node.spec
        m = re.fullmatch(r"DIMM(\d+)", mid)
        if not m or int(m.group(1)) >= s.dimm_count:
            raise not_found(f"{self.sys}/Memory/{mid}")
        i = int(m.group(1))
        return self.ok(
            {
                "@odata.type": "#Memory.v1_17_0.Memory",
                "@odata.id": f"{self.sys}/Memory/{mid}",
                "Id": mid,
                "Name": f"DIMM {i}",
                "MemoryDeviceType": "DDR5",
                "MemoryType": "DRAM",
                "CapacityMiB": s.memory_gib_per_dimm * 1024,
                "OperatingSpeedMhz": 4800,
                "Manufacturer": "Samsung",
                "SerialNumber": f"{self.node.serial[-6:]}{i:04d}",
                "PartNumber": "M321R8GA0BB0-CQKZJ",
                "DeviceLocator": f"DIMM {i}",
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        )

    # ------------------------------------------------------------------ NICs
    def get_nics(self) -> Reply:
        return self.ok(
            collection(
                f"{self.sys}/EthernetInterfaces",
                "EthernetInterfaceCollection.EthernetInterfaceCollection",
                "Ethernet Interface Collection",
                [f"{self.sys}/EthernetInterfaces/{nic.name}" for nic in self.node.nics],
            )
        )

    def get_nic(self, nid: str) -> Reply:
        for nic in self.node.nics:
            if nic.name == nid:
                sw = self.node.fleet.switches.get(nic.switch) if (self.node.fleet and nic.switch) else None
                up = nic.link_up and self.node.power_state == "On" and (sw is None or sw.alive)
                return self.ok(
                    {
                        "@odata.type": "#EthernetInterface.v1_9_0.EthernetInterface",
                        "@odata.id": f"{self.sys}/EthernetInterfaces/{nid}",
                        "Id": nid,
                        "Name": f"Ethernet Interface {nid}",
                        "MACAddress": nic.mac,
                        "PermanentMACAddress": nic.mac,
                        "SpeedMbps": nic.speed_mbps,
                        "LinkStatus": "LinkUp" if up else "LinkDown",
                        "InterfaceEnabled": True,
                        "Status": {"State": "Enabled", "Health": "OK"},
                        "Oem": {"Gpufleet": {"Switch": nic.switch, "SwitchPort": nic.switch_port}},
                    }
                )
        raise not_found(f"{self.sys}/EthernetInterfaces/{nid}")

    # ------------------------------------------------------------------ storage
    def get_storage_collection(self) -> Reply:
        return self.ok(
            collection(
                f"{self.sys}/Storage", "StorageCollection.StorageCollection", "Storage Collection", [self.storage]
            )
        )

    def get_storage(self) -> Reply:
        n = self.node
        return self.ok(
            {
                "@odata.type": "#Storage.v1_15_0.Storage",
                "@odata.id": self.storage,
                "Id": "1",
                "Name": "NVMe RAID Controller",
                "Status": {"State": "Enabled", "Health": "OK"},
                "StorageControllers": [
                    {
                        "@odata.id": f"{self.storage}#/StorageControllers/0",
                        "MemberId": "0",
                        "Name": "NVMe RAID Controller",
                        "Manufacturer": "Gpufleet",
                        "Model": "SimRAID 9600",
                        "FirmwareVersion": "52.26.0",
                        "SupportedRAIDTypes": ["RAID0", "RAID1", "RAID5", "RAID10"],
                        "SupportedDeviceProtocols": ["NVMe"],
                        "Status": {"State": "Enabled", "Health": "OK"},
                    }
                ],
                "Drives@odata.count": len(n.drives),
                "Drives": [odata(f"{self.storage}/Drives/{d.id}") for d in n.drives],
                "Volumes": odata(f"{self.storage}/Volumes"),
            }
        )

    def get_drive(self, did: str) -> Reply:
        for d in self.node.drives:
            if d.id == did:
                vols = [v for v in self.node.volumes if d.id in v.drives]
                return self.ok(
                    {
                        "@odata.type": "#Drive.v1_17_0.Drive",
                        "@odata.id": f"{self.storage}/Drives/{did}",
                        "Id": did,
                        "Name": f"Drive {did}",
                        "Model": d.model,
                        "SerialNumber": d.serial,
                        "Manufacturer": "Samsung",
                        "CapacityBytes": d.capacity_bytes,
                        "MediaType": d.media_type,
                        "Protocol": d.protocol,
                        "BlockSizeBytes": 512,
                        "Status": {"State": "Enabled", "Health": d.health},
                        "Links": {"Volumes": [odata(f"{self.storage}/Volumes/{v.id}") for v in vols]},
                    }
                )
        raise not_found(f"{self.storage}/Drives/{did}")

    def get_volumes(self) -> Reply:
        return self.ok(
            collection(
                f"{self.storage}/Volumes",
                "VolumeCollection.VolumeCollection",
                "Volume Collection",
                [f"{self.storage}/Volumes/{v.id}" for v in self.node.volumes],
            )
        )

    def _volume_doc(self, v: Any) -> dict:
        return {
            "@odata.type": "#Volume.v1_9_0.Volume",
            "@odata.id": f"{self.storage}/Volumes/{v.id}",
            "Id": v.id,
            "Name": v.name,
            "RAIDType": v.raid_type,
            "CapacityBytes": v.capacity_bytes,
            "Status": {"State": "Enabled", "Health": "OK"},
            "Links": {"Drives": [odata(f"{self.storage}/Drives/{d}") for d in v.drives]},
        }

    def get_volume(self, vid: str) -> Reply:
        for v in self.node.volumes:
            if v.id == vid:
                return self.ok(self._volume_doc(v))
        raise not_found(f"{self.storage}/Volumes/{vid}")

    def post_volume(self, body: dict) -> Reply:
        drives = body.get("Links", {}).get("Drives") or body.get("Drives") or []
        ids = [
            str(d.get("@odata.id", "")).rstrip("/").rsplit("/", 1)[-1] if isinstance(d, dict) else str(d)
            for d in drives
        ]
        raid = body.get("RAIDType") or body.get("VolumeType") or "RAID1"
        raid = {
            "Mirrored": "RAID1",
            "NonRedundant": "RAID0",
            "StripedWithParity": "RAID5",
            "SpannedMirrors": "RAID10",
        }.get(raid, raid)
        if not ids:
            raise RedfishError(400, "Links.Drives must name at least one drive.", "Base.1.18.PropertyMissing")
        try:
            v = self.node.create_volume(body.get("Name", ""), raid, ids)
        except ValueError as e:
            raise RedfishError(400, str(e), "Base.1.18.PropertyValueIncorrect") from e
        self.node.add_sel(f"Volume {v.id} ({v.raid_type}) created", "OK", "Drive Slot/Bay")
        return 201, self._volume_doc(v), {"Location": f"{self.storage}/Volumes/{v.id}"}

    def delete_volume(self, vid: str) -> Reply:
        if not self.node.delete_volume(vid):
            raise not_found(f"{self.storage}/Volumes/{vid}")
        self.node.add_sel(f"Volume {vid} deleted", "OK", "Drive Slot/Bay")
        return 204, None, {}

    # ------------------------------------------------------------------ BIOS
    def bios_doc(self) -> dict:
        n = self.node
        return {
            "@odata.type": "#Bios.v1_2_0.Bios",
            "@odata.id": self.bios,
            "Id": "Bios",
            "Name": "BIOS Configuration Current Settings",
            "AttributeRegistry": "BiosAttributeRegistry.v1_0_0",
            "Attributes": dict(n.bios_attributes),
            "@Redfish.Settings": {
                "@odata.type": "#Settings.v1_3_5.Settings",
                "SettingsObject": odata(self.bios_settings),
                "SupportedApplyTimes": ["OnReset"],
                "Time": now_iso(),
            },
            "Actions": {
                "#Bios.ResetBios": {"target": f"{self.bios}/Actions/Bios.ResetBios"},
            },
        }

    def get_bios(self) -> Reply:
        return self.ok(self.bios_doc())

    def get_bios_settings(self) -> Reply:
        n = self.node
        attrs = dict(n.bios_attributes)
        attrs.update(n.bios_pending)
        return self.ok(
            {
                "@odata.type": "#Bios.v1_2_0.Bios",
                "@odata.id": self.bios_settings,
                "Id": "Settings",
                "Name": "BIOS Configuration Pending Settings",
                "AttributeRegistry": "BiosAttributeRegistry.v1_0_0",
                "Attributes": attrs,
            }
        )

    def patch_bios_settings(self, body: dict) -> Reply:
        attrs = body.get("Attributes")
        if not isinstance(attrs, dict) or not attrs:
            raise RedfishError(400, "The request body must contain an Attributes object.", "Base.1.18.PropertyMissing")
        n = self.node
        unknown = [k for k in attrs if k not in n.bios_attributes]
        if unknown:
            raise RedfishError(400, f"Unknown BIOS attributes {unknown}.", "Base.1.18.PropertyUnknown")
        for k, v in attrs.items():
            cur = n.bios_attributes[k]
            if isinstance(cur, int) and not isinstance(v, int):
                raise RedfishError(400, f"BIOS attribute {k} takes an integer.", "Base.1.18.PropertyValueTypeError")
        n.bios_pending.update(attrs)
        return 204, None, {}

    def post_reset_bios(self, body: dict) -> Reply:
        self.node.bios_pending.update({"SysProfile": "PerfOptimized", "LogicalProc": "Enabled"})
        return 204, None, {}

    # ------------------------------------------------------------------ logs
    def get_logservices(self) -> Reply:
        logs = [f"{self.sys}/LogServices/SEL"] + ([f"{self.sys}/LogServices/XID"] if self.node.gpus else [])
        return self.ok(
            collection(
                f"{self.sys}/LogServices", "LogServiceCollection.LogServiceCollection", "Log Service Collection", logs
            )
        )

    def get_logservice(self, log: str) -> Reply:
        base = f"{self.sys}/LogServices/{log}"
        return self.ok(
            {
                "@odata.type": "#LogService.v1_4_0.LogService",
                "@odata.id": base,
                "Id": log,
                "Name": "System Event Log" if log == "SEL" else "GPU Xid Log",
                "LogEntryType": "SEL" if log == "SEL" else "Event",
                "OverWritePolicy": "WrapsWhenFull",
                "MaxNumberOfRecords": 1000,
                "ServiceEnabled": True,
                "DateTime": now_iso(),
                "Entries": odata(f"{base}/Entries"),
                "Actions": {"#LogService.ClearLog": {"target": f"{base}/Actions/LogService.ClearLog"}},
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        )

    def _entries(self, log: str) -> list[dict]:
        if log == "SEL":
            return list(self.node.sel)
        return [e for e in self.node.sel if " Xid " in e["message"]]

    def _entry_doc(self, log: str, e: dict) -> dict:
        base = f"{self.sys}/LogServices/{log}/Entries"
        sev = e["severity"] if e["severity"] in ("OK", "Warning", "Critical") else "Warning"
        doc = {
            "@odata.type": "#LogEntry.v1_15_0.LogEntry",
            "@odata.id": f"{base}/{e['id']}",
            "Id": e["id"],
            "Name": f"Log Entry {e['id']}",
            "EntryType": "SEL" if log == "SEL" else "Event",
            "Severity": sev,
            "Created": e["created"],
            "Message": e["message"],
        }
        if log == "SEL":
            doc["SensorType"] = e["sensor_type"] if e["sensor_type"] in _SEL_SENSOR_TYPES else "OEM"
            doc["EntryCode"] = "Assert"
        if " Xid " in e["message"]:
            doc["MessageId"] = "Platform.1.0.GpuXid"
            m = re.search(r"Xid (\d+)", e["message"])
            if m:
                doc["Oem"] = {"Gpufleet": {"Xid": int(m.group(1))}}
        return doc

    def get_log_entries(self, log: str) -> Reply:
        entries = self._entries(log)
        doc = collection(
            f"{self.sys}/LogServices/{log}/Entries", "LogEntryCollection.LogEntryCollection", "Log Entries", []
        )
        doc["Members"] = [self._entry_doc(log, e) for e in entries]
        doc["Members@odata.count"] = len(entries)
        return self.ok(doc)

    def get_log_entry(self, log: str, eid: str) -> Reply:
        for e in self._entries(log):
            if e["id"] == eid:
                return self.ok(self._entry_doc(log, e))
        raise not_found(f"{self.sys}/LogServices/{log}/Entries/{eid}")

    def post_clear_log(self, body: dict, log: str) -> Reply:
        self.node.clear_sel()
        return 204, None, {}

    # ------------------------------------------------------------------ chassis
    def get_chassis_collection(self) -> Reply:
        return self.ok(
            collection(f"{ROOT}/Chassis", "ChassisCollection.ChassisCollection", "Chassis Collection", [self.chassis])
        )

    def get_chassis(self) -> Reply:
        n = self.node
        return self.ok(
            {
                "@odata.type": "#Chassis.v1_23_0.Chassis",
                "@odata.id": self.chassis,
                "Id": "1",
                "Name": f"{n.id} chassis",
                "ChassisType": "RackMount",
                "Manufacturer": n.spec.manufacturer,
                "Model": n.spec.product,
                "SerialNumber": n.serial,
                "PowerState": n.power_state,
                "Status": {"State": "Enabled", "Health": n.health},
                "Location": {"Placement": {"Rack": n.rack}},
                "Thermal": odata(f"{self.chassis}/Thermal"),
                "Power": odata(f"{self.chassis}/Power"),
                "Sensors": odata(f"{self.chassis}/Sensors"),
                "Links": {"ComputerSystems": [odata(self.sys)], "ManagedBy": [odata(self.manager)]},
            }
        )

    def get_thermal(self) -> Reply:
        sensors = self.node.sensors()
        temps = [s for s in sensors if s["kind"] == "temperature"]
        fans = [s for s in sensors if s["kind"] == "fan"]
        base = f"{self.chassis}/Thermal"
        return self.ok(
            {
                "@odata.type": "#Thermal.v1_7_1.Thermal",
                "@odata.id": base,
                "Id": "Thermal",
                "Name": "Thermal",
                "Temperatures": [
                    {
                        "@odata.id": f"{base}#/Temperatures/{i}",
                        "MemberId": str(i),
                        "Name": t["name"],
                        "ReadingCelsius": t["reading"],
                        "UpperThresholdNonCritical": t["warning"],
                        "UpperThresholdCritical": t["critical"],
                        "Status": {"State": "Enabled", "Health": t["status"]},
                    }
                    for i, t in enumerate(temps)
                ],
                "Fans": [
                    {
                        "@odata.id": f"{base}#/Fans/{i}",
                        "MemberId": str(i),
                        "Name": f["name"],
                        "Reading": int(f["reading"]),
                        "ReadingUnits": "RPM",
                        "Status": {"State": "Enabled", "Health": f["status"]},
                    }
                    for i, f in enumerate(fans)
                ],
            }
        )

    def get_power(self) -> Reply:
        n = self.node
        sensors = n.sensors()
        base = f"{self.chassis}/Power"
        psus = []
        for p in range(n.spec.psu_count):
            failed = p in n.psu_failed
            out_w = next((s["reading"] for s in sensors if s["name"] == f"PSU{p + 1} Output Power"), 0.0)
            psus.append(
                {
                    "@odata.id": f"{base}#/PowerSupplies/{p}",
                    "MemberId": str(p),
                    "Name": f"PSU{p + 1}",
                    "PowerCapacityWatts": n.spec.psu_watts,
                    "PowerOutputWatts": out_w,
                    "LineInputVoltage": 0.0 if (failed or not n.powered) else 230.0,
                    "PowerSupplyType": "AC",
                    "Status": {
                        "State": "Enabled" if not failed else "UnavailableOffline",
                        "Health": "Critical" if failed else "OK",
                    },
                }
            )
        volts = [s for s in sensors if s["kind"] == "voltage"]
        return self.ok(
            {
                "@odata.type": "#Power.v1_7_1.Power",
                "@odata.id": base,
                "Id": "Power",
                "Name": "Power",
                "PowerControl": [
                    {
                        "@odata.id": f"{base}#/PowerControl/0",
                        "MemberId": "0",
                        "Name": "System Power Control",
                        "PowerConsumedWatts": n.power_watts(),
                        "PowerCapacityWatts": n.spec.psu_watts * n.spec.psu_count,
                        "Status": {"State": "Enabled", "Health": "OK"},
                    }
                ],
                "PowerSupplies": psus,
                "Voltages": [
                    {
                        "@odata.id": f"{base}#/Voltages/{i}",
                        "MemberId": str(i),
                        "Name": v["name"],
                        "ReadingVolts": v["reading"],
                        "Status": {"State": "Enabled", "Health": v["status"]},
                    }
                    for i, v in enumerate(volts)
                ],
            }
        )

    @staticmethod
    def _sensor_id(name: str) -> str:
        return re.sub(r"[^A-Za-z0-9_]", "", name.replace(" ", "_"))

    def get_sensors(self) -> Reply:
        return self.ok(
            collection(
                f"{self.chassis}/Sensors",
                "SensorCollection.SensorCollection",
                "Sensors",
                [f"{self.chassis}/Sensors/{self._sensor_id(s['name'])}" for s in self.node.sensors()],
            )
        )

    def get_sensor(self, sid: str) -> Reply:
        kinds = {"temperature": "Temperature", "fan": "Rotational", "voltage": "Voltage", "power": "Power"}
        for s in self.node.sensors():
            if self._sensor_id(s["name"]) == sid:
                doc = {
                    "@odata.type": "#Sensor.v1_9_0.Sensor",
                    "@odata.id": f"{self.chassis}/Sensors/{sid}",
                    "Id": sid,
                    "Name": s["name"],
                    "Reading": s["reading"],
                    "ReadingUnits": s["unit"],
                    "ReadingType": kinds[s["kind"]],
                    "Status": {"State": "Enabled", "Health": s["status"]},
                }
                if s["warning"] is not None:
                    doc["Thresholds"] = {
                        "UpperCaution": {"Reading": s["warning"]},
                        "UpperCritical": {"Reading": s["critical"]},
                    }
                return self.ok(doc)
        raise not_found(f"{self.chassis}/Sensors/{sid}")

    # ------------------------------------------------------------------ managers
    def get_managers(self) -> Reply:
        return self.ok(
            collection(f"{ROOT}/Managers", "ManagerCollection.ManagerCollection", "Manager Collection", [self.manager])
        )

    def get_manager(self) -> Reply:
        n = self.node
        fw = next((f.version for f in n.firmware if f.id == "BMC"), "1.0")
        return self.ok(
            {
                "@odata.type": "#Manager.v1_19_0.Manager",
                "@odata.id": self.manager,
                "Id": self.manager.rsplit("/", 1)[1],
                "Name": "Baseboard Management Controller",
                "ManagerType": "BMC",
                "Model": "SimBMC",
                "FirmwareVersion": fw,
                "UUID": n._uuid("bmc"),
                "DateTime": now_iso(),
                "PowerState": "On",
                "Status": {"State": "Enabled", "Health": "OK"},
                "EthernetInterfaces": odata(f"{self.manager}/EthernetInterfaces"),
                "VirtualMedia": odata(f"{self.manager}/VirtualMedia"),
                "Links": {"ManagerForServers": [odata(self.sys)], "ManagerForChassis": [odata(self.chassis)]},
                "Actions": {
                    "#Manager.Reset": {
                        "target": f"{self.manager}/Actions/Manager.Reset",
                        "ResetType@Redfish.AllowableValues": ["ForceRestart", "GracefulRestart"],
                    }
                },
            }
        )

    def post_manager_reset(self, body: dict) -> Reply:
        rt = (body or {}).get("ResetType", "GracefulRestart")
        if rt not in ("ForceRestart", "GracefulRestart"):
            raise RedfishError(
                400,
                f"The value {rt!r} for the parameter ResetType is not in the list of acceptable values.",
                "Base.1.18.ActionParameterValueNotInList",
            )
        self.sessions.clear()
        self.node.reset_bmc()
        return 204, None, {}

    def get_mgr_nics(self) -> Reply:
        return self.ok(
            collection(
                f"{self.manager}/EthernetInterfaces",
                "EthernetInterfaceCollection.EthernetInterfaceCollection",
                "Manager NICs",
                [f"{self.manager}/EthernetInterfaces/eth0"],
            )
        )

    def get_mgr_nic(self) -> Reply:
        n = self.node
        addr = n.redfish_address[0] if n.redfish_address else "127.0.0.1"
        return self.ok(
            {
                "@odata.type": "#EthernetInterface.v1_9_0.EthernetInterface",
                "@odata.id": f"{self.manager}/EthernetInterfaces/eth0",
                "Id": "eth0",
                "Name": "Manager Ethernet Interface",
                "MACAddress": n.bmc_mac,
                "PermanentMACAddress": n.bmc_mac,
                "SpeedMbps": 1000,
                "InterfaceEnabled": True,
                "IPv4Addresses": [{"Address": addr, "SubnetMask": "255.0.0.0", "AddressOrigin": "Static"}],
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        )

    # ------------------------------------------------------------------ virtual media
    def _vm_base(self) -> str:
        return f"{self.manager}/VirtualMedia"

    def get_vmedia_collection(self) -> Reply:
        return self.ok(
            collection(
                self._vm_base(),
                "VirtualMediaCollection.VirtualMediaCollection",
                "Virtual Media Services",
                [f"{self._vm_base()}/{k}" for k in self.node.virtual_media],
            )
        )

    def get_vmedia_collection_sys(self) -> Reply:
        base = f"{self.sys}/VirtualMedia"
        return self.ok(
            collection(
                base,
                "VirtualMediaCollection.VirtualMediaCollection",
                "Virtual Media Services",
                [f"{base}/{k}" for k in self.node.virtual_media],
            )
        )

    def get_vmedia_sys(self, vm: str) -> Reply:
        return self.get_vmedia(vm, f"{self.sys}/VirtualMedia")

    def get_vmedia(self, vm: str, collection_path: str | None = None) -> Reply:
        v = self.node.virtual_media.get(vm)
        base = f"{collection_path or self._vm_base()}/{vm}"
        if v is None:
            raise not_found(base)
        return self.ok(
            {
                "@odata.type": "#VirtualMedia.v1_6_0.VirtualMedia",
                "@odata.id": base,
                "Id": vm,
                "Name": "Virtual CD",
                "MediaTypes": list(v.media_types),
                "Image": v.image,
                "ImageName": v.image.rsplit("/", 1)[-1] if v.image else None,
                "Inserted": v.inserted,
                "WriteProtected": v.write_protected,
                "ConnectedVia": "URI" if v.inserted else "NotConnected",
                "TransferProtocolType": "HTTP" if v.inserted else None,
                "Actions": {
                    "#VirtualMedia.InsertMedia": {"target": f"{base}/Actions/VirtualMedia.InsertMedia"},
                    "#VirtualMedia.EjectMedia": {"target": f"{base}/Actions/VirtualMedia.EjectMedia"},
                },
            }
        )

    def _insert(self, vm: str, image: str | None, inserted: bool = True, write_protected: bool = True) -> None:
        v = self.node.virtual_media.get(vm)
        if v is None:
            raise not_found(f"{self._vm_base()}/{vm}")
        if inserted:
            if not image or not re.match(r"^(https?|nfs|cifs)://", str(image)):
                raise RedfishError(
                    400, "Image must be an http(s), nfs or cifs URI.", "Base.1.18.ActionParameterValueFormatError"
                )
            v.image, v.inserted, v.write_protected = str(image), True, write_protected
            self.node.add_sel(f"Virtual media {vm} inserted: {image}", "OK", "OEM")
        else:
            v.image, v.inserted = None, False
            self.node.add_sel(f"Virtual media {vm} ejected", "OK", "OEM")

    def post_insert_media(self, body: dict, vm: str) -> Reply:
        self._insert(vm, body.get("Image"), True, bool(body.get("WriteProtected", True)))
        return 204, None, {}

    def post_eject_media(self, body: dict, vm: str) -> Reply:
        self._insert(vm, None, False)
        return 204, None, {}

    def patch_vmedia(self, body: dict, vm: str) -> Reply:
        if "Image" in body and body["Image"]:
            self._insert(vm, body["Image"], bool(body.get("Inserted", True)), bool(body.get("WriteProtected", True)))
        elif body.get("Inserted") is False or ("Image" in body and not body["Image"]):
            self._insert(vm, None, False)
        return self.get_vmedia(vm)

    # ------------------------------------------------------------------ sessions / accounts
    def get_session_service(self) -> Reply:
        return self.ok(
            {
                "@odata.type": "#SessionService.v1_1_9.SessionService",
                "@odata.id": f"{ROOT}/SessionService",
                "Id": "SessionService",
                "Name": "Session Service",
                "ServiceEnabled": True,
                "SessionTimeout": 1800,
                "Sessions": odata(f"{ROOT}/SessionService/Sessions"),
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        )

    def get_sessions(self) -> Reply:
        return self.ok(
            collection(
                f"{ROOT}/SessionService/Sessions",
                "SessionCollection.SessionCollection",
                "Session Collection",
                [f"{ROOT}/SessionService/Sessions/{s['id']}" for s in self.sessions.values()],
            )
        )

    def _session_doc(self, s: dict) -> dict:
        return {
            "@odata.type": "#Session.v1_7_0.Session",
            "@odata.id": f"{ROOT}/SessionService/Sessions/{s['id']}",
            "Id": s["id"],
            "Name": "User Session",
            "UserName": s["user"],
            "CreatedTime": s["created"],
        }

    def post_session(self, body: dict) -> Reply:
        user, pw = body.get("UserName"), body.get("Password")
        if user != self.node.bmc_user or pw != self.node.bmc_password:
            raise RedfishError(401, "Invalid user name or password.", "Base.1.18.NoValidSession")
        token = secrets.token_hex(16)
        sid = str(next(self._session_seq))
        s = {"id": sid, "user": user, "token": token, "created": now_iso(), "last": time.monotonic()}
        self.sessions[token] = s
        doc = self._session_doc(s)
        return 201, doc, {"X-Auth-Token": token, "Location": doc["@odata.id"]}

    def _find_session(self, sid: str) -> dict:
        for s in self.sessions.values():
            if s["id"] == sid:
                return s
        raise not_found(f"{ROOT}/SessionService/Sessions/{sid}")

    def get_session(self, sid: str) -> Reply:
        return self.ok(self._session_doc(self._find_session(sid)))

    def delete_session(self, sid: str) -> Reply:
        s = self._find_session(sid)
        del self.sessions[s["token"]]
        return 204, None, {}

    def check_token(self, token: str) -> bool:
        s = self.sessions.get(token)
        if s is None:
            return False
        if time.monotonic() - s["last"] > 1800:
            del self.sessions[token]
            return False
        s["last"] = time.monotonic()
        return True

    def get_account_service(self) -> Reply:
        return self.ok(
            {
                "@odata.type": "#AccountService.v1_13_0.AccountService",
                "@odata.id": f"{ROOT}/AccountService",
                "Id": "AccountService",
                "Name": "Account Service",
                "ServiceEnabled": True,
                "MinPasswordLength": 8,
                "Accounts": odata(f"{ROOT}/AccountService/Accounts"),
            }
        )

    def get_accounts(self) -> Reply:
        return self.ok(
            collection(
                f"{ROOT}/AccountService/Accounts",
                "ManagerAccountCollection.ManagerAccountCollection",
                "Accounts",
                [f"{ROOT}/AccountService/Accounts/1"],
            )
        )

    def get_account(self) -> Reply:
        return self.ok(
            {
                "@odata.type": "#ManagerAccount.v1_10_0.ManagerAccount",
                "@odata.id": f"{ROOT}/AccountService/Accounts/1",
                "Id": "1",
                "Name": "User Account",
                "UserName": self.node.bmc_user,
                "RoleId": "Administrator",
                "AccountTypes": ["Redfish"],
                "Enabled": True,
                "Locked": False,
                "Password": None,
            }
        )

    # ------------------------------------------------------------------ update service
    def get_update_service(self) -> Reply:
        return self.ok(
            {
                "@odata.type": "#UpdateService.v1_11_0.UpdateService",
                "@odata.id": f"{ROOT}/UpdateService",
                "Id": "UpdateService",
                "Name": "Update Service",
                "ServiceEnabled": True,
                "HttpPushUri": self.push_uri,
                "MultipartHttpPushUri": self.push_uri,
                "FirmwareInventory": odata(f"{ROOT}/UpdateService/FirmwareInventory"),
                "Actions": {
                    "#UpdateService.SimpleUpdate": {
                        "target": self.simple_update_target,
                        "TransferProtocol@Redfish.AllowableValues": ["HTTP", "HTTPS", "NFS", "CIFS", "TFTP"],
                    }
                },
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        )

    def get_firmware_inventory(self) -> Reply:
        return self.ok(
            collection(
                f"{ROOT}/UpdateService/FirmwareInventory",
                "SoftwareInventoryCollection.SoftwareInventoryCollection",
                "Firmware Inventory",
                [f"{ROOT}/UpdateService/FirmwareInventory/{f.id}" for f in self.node.firmware],
            )
        )

    def get_firmware(self, fid: str) -> Reply:
        for f in self.node.firmware:
            if f.id == fid:
                return self.ok(
                    {
                        "@odata.type": "#SoftwareInventory.v1_10_0.SoftwareInventory",
                        "@odata.id": f"{ROOT}/UpdateService/FirmwareInventory/{fid}",
                        "Id": fid,
                        "Name": f.name,
                        "Version": f.version,
                        "Updateable": f.updateable,
                        "Status": {"State": "Enabled", "Health": "OK"},
                    }
                )
        raise not_found(f"{ROOT}/UpdateService/FirmwareInventory/{fid}")

    def _image_version(self, image: str, content: bytes | None) -> str:
        """The version an image installs: from the fleet's image table (``Fleet.firmware_images``,
        set through the control API) by the SHA-256 of a pushed image's bytes or by the image's
        URI; an image the table does not know falls back to a version in its file name."""
        table = self.node.fleet.firmware_images if self.node.fleet is not None else {}
        if content is not None:
            v = table.get("sha256:" + hashlib.sha256(content).hexdigest())
            if v is not None:
                return v
        if image in table:
            return table[image]
        m = re.search(r"(\d+\.\d+(?:\.\d+)*)", image.rsplit("/", 1)[-1])
        return m.group(1) if m else f"sim-{int(time.time())}"

    def _start_update(self, image: str, targets: list[str], content: bytes | None = None) -> Reply:
        n = self.node
        ids = [t.rstrip("/").rsplit("/", 1)[-1] for t in targets] or ["BIOS"]
        known = {f.id: f for f in n.firmware}
        bad = [i for i in ids if i not in known]
        if bad:
            raise RedfishError(
                400, f"Targets {bad} are not in the firmware inventory.", "Base.1.18.ActionParameterValueError"
            )
        version = self._image_version(image, content)

        def done() -> str | None:
            if "fail" in image.lower():
                n.add_sel(
                    f"Firmware update from {image} failed: image verification error", "Critical", "Version Change"
                )
                return "Image verification failed."
            if "unreachable" in image.lower():
                # As some BMCs do: the task completes although the image could not be fetched,
                # and nothing changes.
                n.add_sel(f"Firmware image {image} could not be fetched", "Warning", "Version Change")
                return None
            for i in ids:
                known[i].version = version
                if i == "BIOS":
                    n.bios_version = version
            n.add_sel(f"Firmware updated to {version}: {', '.join(ids)}", "OK", "Version Change")
            n.emit("FirmwareUpdated", f"Firmware {', '.join(ids)} updated to {version}", "OK")
            return None

        task = Task(f"Firmware update {', '.join(ids)}", self.update_duration_s, done)
        self.tasks[task.id] = task
        doc = self._task_doc(task)
        return 202, doc, {"Location": f"{ROOT}/TaskService/TaskMonitors/{task.id}", "Retry-After": "1"}

    def post_simple_update(self, body: dict) -> Reply:
        image = body.get("ImageURI")
        if not image:
            raise RedfishError(400, "ImageURI is required.", "Base.1.18.ActionParameterMissing")
        proto = body.get("TransferProtocol")
        if proto is not None and proto not in ("HTTP", "HTTPS", "NFS", "CIFS", "TFTP"):
            raise RedfishError(
                400, f"TransferProtocol {proto!r} not supported.", "Base.1.18.ActionParameterNotSupported"
            )
        return self._start_update(str(image), list(body.get("Targets") or []))

    def post_multipart_update(self, raw: bytes, content_type: str) -> Reply:
        if "multipart/form-data" not in content_type:
            # HttpPushUri: the body is the image itself
            if not raw:
                raise RedfishError(400, "The request carries no image.", "Base.1.18.ActionParameterMissing")
            return self._start_update(f"push://image-{len(raw)}", [], raw)
        m = re.search(r"boundary=\"?([^\";]+)", content_type)
        if not m:
            raise RedfishError(400, "multipart body without boundary", "Base.1.18.MalformedJSON")
        parts = raw.split(b"--" + m.group(1).encode())
        params: dict = {}
        filename = None
        image = b""
        for part in parts:
            head, _, content = part.partition(b"\r\n\r\n")
            if b'name="UpdateParameters"' in head:
                try:
                    params = json.loads(content.strip().decode() or "{}")
                except ValueError as e:
                    raise RedfishError(400, "UpdateParameters is not JSON.", "Base.1.18.MalformedJSON") from e
            elif b'name="UpdateFile"' in head:
                fm = re.search(rb'filename="([^"]*)"', head)
                filename = fm.group(1).decode() if fm else "image.bin"
                # the part ends with the CRLF that precedes the next boundary
                image = content[:-2] if content.endswith(b"\r\n") else content
        if filename is None:
            raise RedfishError(400, "The multipart body has no UpdateFile part.", "Base.1.18.ActionParameterMissing")
        return self._start_update(filename, list(params.get("Targets") or []), image)

    # ------------------------------------------------------------------ tasks
    def _task_doc(self, t: Task) -> dict:
        pct = t.percent
        doc = {
            "@odata.type": "#Task.v1_7_3.Task",
            "@odata.id": f"{ROOT}/TaskService/Tasks/{t.id}",
            "Id": t.id,
            "Name": t.name,
            "TaskState": t.state,
            "TaskStatus": t.status,
            "PercentComplete": pct,
            "StartTime": t.start_iso,
            "TaskMonitor": f"{ROOT}/TaskService/TaskMonitors/{t.id}",
            "Messages": [
                {"MessageId": "TaskEvent.1.0.TaskProgressChanged", "Message": m, "Severity": "OK"} for m in t.messages
            ],
        }
        if t.end_iso:
            doc["EndTime"] = t.end_iso
        return doc

    def get_task_service(self) -> Reply:
        return self.ok(
            {
                "@odata.type": "#TaskService.v1_2_1.TaskService",
                "@odata.id": f"{ROOT}/TaskService",
                "Id": "TaskService",
                "Name": "Task Service",
                "ServiceEnabled": True,
                "CompletedTaskOverWritePolicy": "Oldest",
                "Tasks": odata(f"{ROOT}/TaskService/Tasks"),
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        )

    def get_tasks(self) -> Reply:
        return self.ok(
            collection(
                f"{ROOT}/TaskService/Tasks",
                "TaskCollection.TaskCollection",
                "Task Collection",
                [f"{ROOT}/TaskService/Tasks/{t}" for t in self.tasks],
            )
        )

    def get_task(self, tid: str) -> Reply:
        t = self.tasks.get(tid)
        if t is None:
            raise not_found(f"{ROOT}/TaskService/Tasks/{tid}")
        return self.ok(self._task_doc(t))

    def get_task_monitor(self, tid: str) -> Reply:
        t = self.tasks.get(tid)
        if t is None:
            raise not_found(f"{ROOT}/TaskService/TaskMonitors/{tid}")
        doc = self._task_doc(t)
        if t.state == "Running":
            return 202, doc, {"Location": f"{ROOT}/TaskService/TaskMonitors/{tid}", "Retry-After": "1"}
        return 200, doc, {}

    # ------------------------------------------------------------------ events
    def get_event_service(self) -> Reply:
        return self.ok(
            {
                "@odata.type": "#EventService.v1_10_0.EventService",
                "@odata.id": f"{ROOT}/EventService",
                "Id": "EventService",
                "Name": "Event Service",
                "ServiceEnabled": True,
                "DeliveryRetryAttempts": 3,
                "DeliveryRetryIntervalSeconds": 5,
                "EventFormatTypes": ["Event"],
                "RegistryPrefixes": ["Base", "ResourceEvent", "Platform", "Power", "TaskEvent"],
                "ResourceTypes": ["ComputerSystem", "Chassis", "Processor", "LogService", "Task"],
                "SSEFilterPropertiesSupported": {"MessageId": False, "ResourceType": False},
                "Subscriptions": odata(f"{ROOT}/EventService/Subscriptions"),
                "Actions": {
                    "#EventService.SubmitTestEvent": {
                        "target": f"{ROOT}/EventService/Actions/EventService.SubmitTestEvent"
                    }
                },
                "Status": {"State": "Enabled", "Health": "OK"},
            }
        )

    def get_subscriptions(self) -> Reply:
        return self.ok(
            collection(
                f"{ROOT}/EventService/Subscriptions",
                "EventDestinationCollection.EventDestinationCollection",
                "Event Subscriptions",
                [f"{ROOT}/EventService/Subscriptions/{s}" for s in self.subscriptions],
            )
        )

    def _sub_doc(self, sid: str) -> dict:
        s = self.subscriptions[sid]
        return {
            "@odata.type": "#EventDestination.v1_13_0.EventDestination",
            "@odata.id": f"{ROOT}/EventService/Subscriptions/{sid}",
            "Id": sid,
            "Name": f"Subscription {sid}",
            "Destination": s["Destination"],
            "Context": s.get("Context"),
            "Protocol": "Redfish",
            "SubscriptionType": "RedfishEvent",
            "EventFormatType": "Event",
            "RegistryPrefixes": s.get("RegistryPrefixes", []),
            "Status": {"State": "Enabled", "Health": "OK"},
        }

    def post_subscription(self, body: dict) -> Reply:
        dest = body.get("Destination")
        if not dest or not re.match(r"^https?://", str(dest)):
            raise RedfishError(400, "Destination must be an http(s) URI.", "Base.1.18.PropertyValueFormatError")
        if body.get("Protocol", "Redfish") != "Redfish":
            raise RedfishError(400, "Only the Redfish protocol is supported.", "Base.1.18.PropertyValueNotInList")
        sid = str(next(self._sub_seq))
        self.subscriptions[sid] = {
            "Destination": str(dest),
            "Context": body.get("Context"),
            "RegistryPrefixes": list(body.get("RegistryPrefixes") or []),
        }
        return 201, self._sub_doc(sid), {"Location": f"{ROOT}/EventService/Subscriptions/{sid}"}

    def get_subscription(self, sid: str) -> Reply:
        if sid not in self.subscriptions:
            raise not_found(f"{ROOT}/EventService/Subscriptions/{sid}")
        return self.ok(self._sub_doc(sid))

    def delete_subscription(self, sid: str) -> Reply:
        if self.subscriptions.pop(sid, None) is None:
            raise not_found(f"{ROOT}/EventService/Subscriptions/{sid}")
        return 204, None, {}

    def post_test_event(self, body: dict) -> Reply:
        self.queue_event(
            {
                "type": "TestEvent",
                "message": body.get("Message", "Test event"),
                "severity": body.get("Severity", "OK"),
                "message_id": body.get("MessageId", "Base.1.18.Success"),
            }
        )
        return 204, None, {}

    _MESSAGE_IDS = {
        "PowerStateChanged": "ResourceEvent.1.4.ResourceChanged",
        "PowerLost": "Power.1.2.PowerSupplyInputLost",
        "GpuXid": "Platform.1.3.OperatingSystemCrash",
        "FirmwareUpdated": "Update.1.3.UpdateSuccessful",
        "ResetRequested": "ResourceEvent.1.4.ResourceChanged",
        "SensorThreshold": "SensorEvent.1.1.ReadingAboveUpperCriticalThreshold",
    }

    def queue_event(self, ev: dict) -> None:
        """Queue a fleet event for every subscription of this BMC."""
        if not self.subscriptions:
            return
        mid = ev.get("message_id") or self._MESSAGE_IDS.get(ev.get("type", ""), "ResourceEvent.1.4.ResourceChanged")
        origin = self.sys if ev.get("gpu") is None else f"{self.sys}/Processors/GPU{ev['gpu']}"
        record = {
            "EventType": "Alert",
            "EventId": str(uuid.uuid4()),
            "EventTimestamp": ev.get("time") or now_iso(),
            "Severity": ev.get("severity", "OK"),
            "MessageSeverity": ev.get("severity", "OK"),
            "Message": ev.get("message", ""),
            "MessageId": mid,
            "OriginOfCondition": odata(origin),
            "Oem": {"Gpufleet": {k: v for k, v in ev.items() if k in ("node", "type", "gpu", "xid")}},
        }
        for sid, s in list(self.subscriptions.items()):
            prefixes = s.get("RegistryPrefixes") or []
            if prefixes and mid.split(".")[0] not in prefixes:
                continue
            payload = {
                "@odata.type": "#Event.v1_7_0.Event",
                "Id": record["EventId"],
                "Name": "Event Array",
                "Context": s.get("Context"),
                "Events": [record],
            }
            self.outbox.append((s["Destination"], payload))
            del sid


_SEL_SENSOR_TYPES = {
    "Platform Security Violation Attempt",
    "Temperature",
    "Voltage",
    "Current",
    "Fan",
    "Physical Chassis Security",
    "Processor",
    "Power Supply / Converter",
    "PowerUnit",
    "CoolingDevice",
    "Other Units-based Sensor",
    "Memory",
    "Drive Slot/Bay",
    "POST Memory Resize",
    "System Firmware Progress",
    "Event Logging Disabled",
    "System Event",
    "Critical Interrupt",
    "Button/Switch",
    "Module/Board",
    "Microcontroller/Coprocessor",
    "Add-in Card",
    "Chassis",
    "Chip Set",
    "Other FRU",
    "Cable/Interconnect",
    "Terminator",
    "SystemBoot/Restart",
    "Boot Error",
    "BaseOSBoot/InstallationStatus",
    "OS Stop/Shutdown",
    "Slot/Connector",
    "System ACPI PowerState",
    "Watchdog",
    "Platform Alert",
    "Entity Presence",
    "Monitor ASIC/IC",
    "LAN",
    "Management Subsystem Health",
    "Battery",
    "Session Audit",
    "Version Change",
    "FRUState",
    "OEM",
}
