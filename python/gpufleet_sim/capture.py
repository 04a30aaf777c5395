"""Vendor personalities: a captured Redfish tree as a node's Redfish face.

The captures in ``reference/redfish/vendor-captures/*.tar.gz`` are complete
trees crawled from real BMCs (Dell iDRAC, NVIDIA GH200 and BlueField, Lenovo
XCC), in the mockup-creator layout ``redfish/v1/.../index.json``.  They are read
with ``tarfile`` where they lie, parsed once per process and shared read-only
by every node that wears them.

On top of the frozen tree ``CaptureService`` layers the live behaviour of the
simulator: PowerState and reset, boot source override, BIOS attributes with a
settings object applied at the next reset, firmware update with a progressing
Task, sessions and event subscriptions.  A GPU that fell off the bus disappears
from the vendor's Processors collection too.  Every other resource is served
exactly as captured, OEM quirks and all.
"""

from __future__ import annotations

import copy
import json
import re
import tarfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from .model import Gpu, Node
from .redfish import ROOT, RedfishError, RedfishService, Reply, not_found
from .telemetry import reference_dir

_lock = threading.Lock()


def capture_path(name: str) -> Path:
    return reference_dir() / "redfish" / "vendor-captures" / f"{name}.tar.gz"


def capture_available(name: str) -> bool:
    return capture_path(name).exists()


@lru_cache(maxsize=8)
def load_tree(name: str) -> dict[str, Any]:
    """Path (no trailing slash) -> parsed document of one capture."""
    path = capture_path(name)
    if not path.exists():
        raise FileNotFoundError(f"vendor capture {path} is missing (set GPUFLEET_REFERENCE_DIR to the reference data)")
    docs: dict[str, Any] = {}
    with _lock, tarfile.open(path, "r:gz") as tar:
        for m in tar:
            if not m.isfile() or not m.name.endswith("index.json"):
                continue
            f = tar.extractfile(m)
            if f is None:
                continue
            try:
                doc = json.load(f)
            except ValueError:
                continue
            p = "/" + m.name[: -len("index.json")].strip("/")
            docs[p] = doc
    return docs


def _id(ref: Any) -> str | None:
    if isinstance(ref, dict):
        v = ref.get("@odata.id")
        return v.rstrip("/") if isinstance(v, str) else None
    return None


class CaptureService(RedfishService):
    def __init__(self, node: Node, personality: str, *, update_duration_s: float = 5.0) -> None:
        self.tree = load_tree(personality)
        self.personality = personality
        super().__init__(node, update_duration_s=update_duration_s)
        t = self.tree
        root = t.get(ROOT, {})
        self.vendor = root.get("Vendor", "Unknown")
        systems = [_id(m) for m in t.get(f"{ROOT}/Systems", {}).get("Members", [])]
        self.sys = next((s for s in systems if s and "Actions" in t.get(s, {})), systems[0] if systems else self.sys)
        sysdoc = t.get(self.sys, {})
        chassis = [_id(m) for m in t.get(f"{ROOT}/Chassis", {}).get("Members", [])]
        linked = [_id(c) for c in sysdoc.get("Links", {}).get("Chassis", [])]
        self.chassis = next((c for c in linked if c), chassis[0] if chassis else self.chassis)
        managers = [_id(m) for m in t.get(f"{ROOT}/Managers", {}).get("Members", [])]
        self.manager = managers[0] if managers and managers[0] else self.manager
        self.bios = _id(sysdoc.get("Bios")) or f"{self.sys}/Bios"
        biosdoc = t.get(self.bios, {})
        self.bios_settings = (
            _id((biosdoc.get("@Redfish.Settings") or {}).get("SettingsObject")) or f"{self.bios}/Settings"
        )
        self.reset_target = (
            (sysdoc.get("Actions", {}).get("#ComputerSystem.Reset") or {}).get("target", self.reset_target).rstrip("/")
        )
        upd = t.get(f"{ROOT}/UpdateService", {})
        self.simple_update_target = (upd.get("Actions", {}).get("#UpdateService.SimpleUpdate") or {}).get(
            "target", self.simple_update_target
        )
        self.push_uri = upd.get("MultipartHttpPushUri") or upd.get("HttpPushUri") or self.push_uri
        # the node takes the captured machine's inventory where the capture has it
        if biosdoc.get("Attributes"):
            node.bios_attributes = copy.deepcopy(biosdoc["Attributes"])
        if sysdoc.get("BiosVersion"):
            node.bios_version = str(sysdoc["BiosVersion"])
        self.gpu_paths = self._find_gpus(systems)
        self._adopt_gpus(node)
        self._routes = self._build_capture_routes()

    # ------------------------------------------------------------------ inventory
    def _find_gpus(self, systems: list[str | None]) -> list[str]:
        out = []
        for s in systems:
            if not s:
                continue
            coll = _id(self.tree.get(s, {}).get("Processors"))
            for m in self.tree.get(coll or "", {}).get("Members", []):
                p = _id(m)
                if p and self.tree.get(p, {}).get("ProcessorType") == "GPU":
                    out.append(p)
        return out

    def _adopt_gpus(self, node: Node) -> None:
        if not self.gpu_paths:
            node.gpus = []
            return
        template = node.gpus[0] if node.gpus else None
        if template is None:
            return
        gpus = []
        for i, p in enumerate(self.gpu_paths):
            doc = self.tree[p]
            g = Gpu(
                index=i,
                model=template.model,
                serial=str(doc.get("SerialNumber") or f"{template.serial[:-2]}{i:02d}"),
                uuid="GPU-" + str(doc.get("UUID") or node._uuid("gpu", i)),
                pci_bus_id=f"00000000:{0x18 + 0x10 * i:02X}:00.0",
                firmware=str(doc.get("FirmwareVersion") or template.firmware),
            )
            gpus.append(g)
        node.gpus = gpus

    # ------------------------------------------------------------------ routing
    def _build_capture_routes(self) -> list:
        e = re.escape
        table = [
            ("GET", e(self.sys), self.get_system),
            ("PATCH", e(self.sys), self.patch_system),
            ("POST", e(self.reset_target), self.post_reset),
            ("GET", e(self.bios), self.get_bios),
            ("GET", e(self.bios_settings), self.get_bios_settings),
            ("PATCH", e(self.bios_settings), self.patch_bios_settings),
            ("GET", rf"{ROOT}/SessionService/Sessions", self.get_sessions),
            ("POST", rf"{ROOT}/SessionService/Sessions", self.post_session),
            ("GET", rf"{ROOT}/SessionService/Sessions/(?P<sid>[^/]+)", self.get_session),
            ("DELETE", rf"{ROOT}/SessionService/Sessions/(?P<sid>[^/]+)", self.delete_session),
            ("POST", e(self.simple_update_target), self.post_simple_update),
            ("POST", e(self.push_uri), self.post_multipart_update),
            ("GET", rf"{ROOT}/TaskService/Tasks/(?P<tid>sim-\d+)", self.get_task),
            ("GET", rf"{ROOT}/TaskService/TaskMonitors/(?P<tid>sim-\d+)", self.get_task_monitor),
            ("GET", rf"{ROOT}/EventService/Subscriptions", self.get_subscriptions),
            ("POST", rf"{ROOT}/EventService/Subscriptions", self.post_subscription),
            ("GET", rf"{ROOT}/EventService/Subscriptions/(?P<sid>sim-\d+)", self.get_subscription),
            ("DELETE", rf"{ROOT}/EventService/Subscriptions/(?P<sid>sim-\d+)", self.delete_subscription),
        ]
        return [(m, re.compile(p + "/?$"), f) for m, p, f in table]

    def dispatch(self, method: str, path: str, body: Any, raw: bytes = b"", content_type: str = "") -> Reply:
        if method == "HEAD":
            method = "GET"
        for m, pat, fn in self._routes:
            mt = pat.match(path)
            if mt and m == method:
                kwargs = mt.groupdict()
                if method in ("POST", "PATCH"):
                    if fn == self.post_multipart_update:
                        return fn(raw=raw, content_type=content_type, **kwargs)
                    return fn(body if body is not None else {}, **kwargs)
                return fn(**kwargs)
        key = path.rstrip("/") or "/"
        if key == "/redfish/v1/$metadata" and key not in self.tree:
            return super().get_metadata()
        doc = self.tree.get(key)
        if doc is None:
            raise not_found(path)
        if method != "GET":
            if "/Actions/" in path:
                raise RedfishError(
                    400, f"The action {path} is not supported by the simulator.", "Base.1.18.ActionNotSupported"
                )
            raise RedfishError(405, f"{method} is not allowed on {path}.", "Base.1.18.OperationNotAllowed")
        return self.ok(self._live(key, doc))

    def _live(self, key: str, doc: Any) -> Any:
        """Frozen document, with GPUs that fell off the bus removed."""
        absent = {self.gpu_paths[g.index] for g in self.node.gpus if not g.present and g.index < len(self.gpu_paths)}
        if not absent:
            return doc
        if key in absent:
            raise not_found(key)
        if isinstance(doc, dict) and isinstance(doc.get("Members"), list):
            members = [m for m in doc["Members"] if _id(m) not in absent]
            if len(members) != len(doc["Members"]):
                doc = dict(doc, Members=members)
                doc["Members@odata.count"] = len(members)
        return doc

    # ------------------------------------------------------------------ overlays
    def system_doc(self) -> dict:
        n = self.node
        doc = copy.deepcopy(self.tree.get(self.sys, {}))
        doc["PowerState"] = self._power_state_str()
        boot = doc.setdefault("Boot", {})
        boot["BootSourceOverrideTarget"] = n.boot_override_target
        boot["BootSourceOverrideEnabled"] = n.boot_override_enabled
        if "BootSourceOverrideMode" in boot or n.boot_override_mode:
            boot["BootSourceOverrideMode"] = n.boot_override_mode
        doc["BiosVersion"] = n.bios_version
        status = doc.setdefault("Status", {})
        status["State"] = "Enabled" if n.power_state == "On" else "StandbyOffline"
        if n.health != "OK":
            status["Health"] = n.health
            status["HealthRollup"] = n.health
        return doc

    def patch_system(self, body: dict) -> Reply:
        allowed = set(
            self.tree.get(self.sys, {}).get("Boot", {}).get("BootSourceOverrideTarget@Redfish.AllowableValues") or []
        )
        target = (body.get("Boot") or {}).get("BootSourceOverrideTarget")
        if allowed and target is not None and target not in allowed:
            raise RedfishError(
                400,
                f"BootSourceOverrideTarget {target!r} not in {sorted(allowed)}.",
                "Base.1.18.PropertyValueNotInList",
            )
        body = {k: v for k, v in body.items() if k in ("Boot", "AssetTag", "PowerRestorePolicy")}
        super().patch_system(body)
        return self.ok(self.system_doc())

    def bios_doc(self) -> dict:
        doc = copy.deepcopy(self.tree.get(self.bios, {}))
        doc["Attributes"] = dict(self.node.bios_attributes)
        doc.setdefault("@Redfish.Settings", {"SettingsObject": {"@odata.id": self.bios_settings}})
        return doc

    def get_bios_settings(self) -> Reply:
        base = copy.deepcopy(
            self.tree.get(
                self.bios_settings, {"@odata.id": self.bios_settings, "Id": "Settings", "Name": "BIOS pending settings"}
            )
        )
        attrs = dict(self.node.bios_attributes)
        attrs.update(self.node.bios_pending)
        base["Attributes"] = attrs
        return self.ok(base)

    def _start_update(self, image: str, targets: list[str], content: bytes | None = None) -> Reply:
        inventory = {f.id for f in self.node.firmware}
        # vendor targets name their own inventory ids; map them onto the simulated components
        mapped = [t if t.rstrip("/").rsplit("/", 1)[-1] in inventory else "BIOS" for t in targets]
        status, doc, headers = super()._start_update(image, mapped, content)
        # give the task an id that cannot clash with the captured tasks
        tid = doc["Id"]
        task = self.tasks.pop(tid)
        task.id = f"sim-{tid}"
        self.tasks[task.id] = task
        doc = self._task_doc(task)
        return status, doc, {"Location": f"{ROOT}/TaskService/TaskMonitors/{task.id}", "Retry-After": "1"}

    def post_subscription(self, body: dict) -> Reply:
        status, doc, headers = super().post_subscription(body)
        sid = doc["Id"]
        self.subscriptions[f"sim-{sid}"] = self.subscriptions.pop(sid)
        doc = self._sub_doc(f"sim-{sid}")
        return status, doc, {"Location": doc["@odata.id"]}
