"""Fault injection: live (control API / CLI) and scripted (scenarios).

A ``Fault`` is one physical or BMC failure.  ``FaultManager.inject(kind, target,
**params)`` applies it to the fleet and returns it; ``clear(id)`` undoes it.
Faults that unfold over time (XID bursts, the ECC chain) keep a list of steps
that ``FaultManager.tick()`` applies when due; the server's ticker calls it.

Every fault knows its ground truth: the root-cause asset, every asset it
affects, the alerts a monitoring system should raise and the actions an
operator (or automatic remediation) should take.  Scenarios write these out so
alert correlation can be scored against them.

XID texts and recommended actions come from NVIDIA's XID catalog
(``reference/gpu/nvidia-xid-catalog/xids.csv``) when it is present.
"""

from __future__ import annotations

import csv
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .model import BMC_FAULTS, Fleet, Node, now_iso
from .telemetry import reference_dir

KINDS = {
    "xid": "XID burst on one GPU (params: gpu, xid, count, interval_s)",
    "ecc_chain": "rising SBE -> DBE (Xid 48) -> row-remap pending (Xid 63) -> remap failure (Xid 64) (params: gpu, step_s)",
    "gpu_off_bus": "GPU fallen off the bus: Xid 79, gone from Redfish and telemetry (params: gpu)",
    "thermal_runaway": "node temperatures climb until critical",
    "fan_failure": "one fan stops (params: fan)",
    "psu_failure": "one power supply fails (params: psu)",
    "outlet_power_loss": "one PDU outlet loses power (target: PDU/OUTLET)",
    "pdu_power_loss": "a whole PDU loses power (target: PDU)",
    "rack_power_loss": "every PDU of a rack loses power (target: RACK)",
    "switch_down": "leaf switch down: every node below it unreachable (target: SWITCH)",
    "cdu_failure": "a CDU's pumps fail: coolant supply climbs, every GPU of the racks it cools runs hot (target: CDU)",
    "bmc": "BMC fault (params: mode = unresponsive | slow | 5xx | malformed, delay_s for slow)",
}


class FaultError(ValueError):
    """A fault request that names an unknown kind, target or parameter."""


@dataclass(frozen=True)
class XidInfo:
    code: int
    mnemonic: str
    description: str
    immediate_action: str
    investigatory_action: str


_FALLBACK_XIDS = {
    13: ("ROBUST_CHANNEL_GR_EXCEPTION", "Graphics Engine Exception", "RESTART_APP"),
    31: ("ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT", "GPU memory page fault", "RESTART_APP"),
    48: ("ROBUST_CHANNEL_GPU_ECC_DBE", "Double Bit ECC Error", "WORKFLOW_XID_48"),
    63: ("INFOROM_DRAM_RETIREMENT_EVENT", "GPU memory remapping event", "IGNORE"),
    64: ("INFOROM_DRAM_RETIREMENT_FAILURE", "GPU memory remapping failure", "RESET_GPU"),
    74: ("NVLINK_ERROR", "NVLINK Error", "WORKFLOW_NVLINK_ERR"),
    79: ("ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS", "GPU has fallen off the bus", "RESTART_BM"),
    92: ("EXCESSIVE_SBE_INTERRUPTS", "High single-bit ECC error rate", "IGNORE"),
    94: ("ROBUST_CHANNEL_CONTAINED_ERROR", "Contained memory error", "RESTART_APP"),
    95: ("ROBUST_CHANNEL_UNCONTAINED_ERROR", "Uncontained memory error", "RESET_GPU"),
}


@lru_cache(maxsize=1)
def xid_catalog() -> dict[int, XidInfo]:
    """NVIDIA's XID catalog keyed by code (a small built-in subset when the reference file is absent)."""
    path = reference_dir() / "gpu" / "nvidia-xid-catalog" / "xids.csv"
    out: dict[int, XidInfo] = {}
    if path.exists():
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        for row in rows[1:]:
            if len(row) < 10 or not row[1].strip().isdigit():
                continue
            code = int(row[1])
            out[code] = XidInfo(
                code,
                " ".join(row[2].split()),
                " ".join(row[3].split()),
                " ".join(row[8].split()),
                " ".join(row[9].split()),
            )
    for code, (mn, desc, act) in _FALLBACK_XIDS.items():
        out.setdefault(code, XidInfo(code, mn, desc, act, ""))
    return out


def xid_info(code: int) -> XidInfo:
    return xid_catalog().get(code) or XidInfo(code, f"XID_{code}", f"Xid {code}", "CONTACT_SUPPORT", "")


# actions an operator / remediation engine is expected to take, by NVIDIA's immediate-action bucket
_BUCKET_ACTIONS = {
    "RESTART_APP": ["restart-application"],
    "RESET_GPU": ["drain-node", "reset-gpu"],
    "RESTART_BM": ["drain-node", "reboot-node"],
    "CONTACT_SUPPORT": ["drain-node", "open-rma"],
    "IGNORE": [],
}


@dataclass
class Fault:
    id: str
    kind: str
    target: str
    params: dict[str, Any]
    injected_at: str
    injected_mono: float
    cleared_at: str | None = None
    root_cause: dict[str, Any] = field(default_factory=dict)
    affected: dict[str, list[str]] = field(default_factory=dict)
    expected_alerts: list[str] = field(default_factory=list)
    expected_actions: list[str] = field(default_factory=list)
    steps: list[tuple[float, Callable[[], None]]] = field(default_factory=list, repr=False)
    undo: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "params": self.params,
            "active": self.active,
            "injected_at": self.injected_at,
            "cleared_at": self.cleared_at,
            "pending_steps": len(self.steps),
            "root_cause": self.root_cause,
            "affected": self.affected,
            "expected_alerts": self.expected_alerts,
            "expected_actions": self.expected_actions,
        }


class FaultManager:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ API
    def list(self, active_only: bool = False) -> list[Fault]:
        return [f for f in self.faults.values() if f.active or not active_only]

    def inject(self, kind: str, target: str, **params: Any) -> Fault:
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(KINDS))}")
        fn = getattr(self, f"_inject_{kind}")
        with self._lock:
            f = Fault(f"f{next(self._ids)}", kind, target, dict(params), now_iso(), time.monotonic())
            fn(f, **params)
            self.faults[f.id] = f
        self.fleet.emit(
            {
                "type": "FaultInjected",
                "fault": f.id,
                "kind": kind,
                "target": target,
                "message": f"fault {kind} on {target}",
                "severity": "Warning",
            }
        )
        self.tick()
        return f

    def clear(self, fault_id: str) -> Fault:
        with self._lock:
            f = self.faults.get(fault_id)
            if f is None:
                raise FaultError(f"no fault {fault_id!r}")
            if f.active:
                f.steps.clear()
                if f.undo is not None:
                    f.undo()
                f.cleared_at = now_iso()
        self.fleet.emit(
            {
                "type": "FaultCleared",
                "fault": f.id,
                "kind": f.kind,
                "target": f.target,
                "message": f"fault {f.kind} on {f.target} cleared",
                "severity": "OK",
            }
        )
        return f

    def clear_all(self) -> list[Fault]:
        return [self.clear(f.id) for f in list(self.faults.values()) if f.active]

    def tick(self, now: float | None = None) -> None:
        """Apply every due step of every active fault."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for f in self.faults.values():
                while f.active and f.steps and f.steps[0][0] <= now:
                    _, step = f.steps.pop(0)
                    step()

    # ------------------------------------------------------------------ helpers
    def _node(self, target: str) -> Node:
        n = self.fleet.nodes.get(target)
        if n is None:
            raise FaultError(f"no node {target!r}")
        return n

    def _gpu(self, node: Node, gpu: Any) -> int:
        if not node.gpus:
            raise FaultError(f"node {node.id} has no GPUs")
        i = int(gpu) if gpu is not None else 0
        if not 0 <= i < len(node.gpus):
            raise FaultError(f"node {node.id} has GPUs 0..{len(node.gpus) - 1}, not {i}")
        return i

    @staticmethod
    def _gpu_id(node: Node, i: int) -> str:
        return f"{node.id}/GPU{i}"

    # ------------------------------------------------------------------ GPU faults
    def _inject_xid(
        self, f: Fault, gpu: Any = 0, xid: Any = 13, count: Any = 1, interval_s: Any = 1.0, **_: Any
    ) -> None:
        node = self._node(f.target)
        i = self._gpu(node, gpu)
        code = int(xid)
        info = xid_info(code)
        g = node.gpus[i]
        sev = "Critical" if info.immediate_action in ("RESET_GPU", "RESTART_BM", "CONTACT_SUPPORT") else "Warning"
        start = f.injected_mono

        def fire() -> None:
            if not g.present:
                return
            node.record_xid(i, code, f"{info.description} ({info.mnemonic})", sev)
            if code == 79:
                g.present = False
                g.health = "Critical"
            elif code == 48:
                g.ecc_dbe += 1
                g.health = "Critical"
            elif code in (63, 94):
                g.row_remap_pending = True
                g.health = "Warning"
            elif code in (64, 95):
                g.row_remap_failure = code == 64
                g.health = "Critical"
            elif sev == "Critical" and g.health == "OK":
                g.health = "Warning"

        n = max(1, int(count))
        f.steps = [(start + k * float(interval_s), fire) for k in range(n)]
        saved = (g.health, g.present, g.last_xid)

        def undo() -> None:
            g.health, g.present, g.last_xid = saved[0], True, 0

        f.undo = undo
        f.root_cause = {"asset_type": "gpu", "asset": self._gpu_id(node, i), "serial": g.serial, "cause": f"xid-{code}"}
        f.affected = {"gpus": [self._gpu_id(node, i)], "nodes": [node.id]}
        f.expected_alerts = [f"GpuXid{code}"]
        f.expected_actions = list(_BUCKET_ACTIONS.get(info.immediate_action, ["investigate"]))
        f.params.update({"xid": code, "gpu": i, "mnemonic": info.mnemonic, "immediate_action": info.immediate_action})

    def _inject_gpu_off_bus(self, f: Fault, gpu: Any = 0, **_: Any) -> None:
        self._inject_xid(f, gpu=gpu, xid=79, count=1)
        f.expected_alerts = ["GpuXid79", "GpuMissing"]
        f.expected_actions = ["drain-node", "reboot-node", "open-rma"]

    def _inject_ecc_chain(self, f: Fault, gpu: Any = 0, step_s: Any = 2.0, sbe_per_step: Any = 40, **_: Any) -> None:
        node = self._node(f.target)
        i = self._gpu(node, gpu)
        g = node.gpus[i]
        step = float(step_s)
        t0 = f.injected_mono
        saved = (
            g.ecc_sbe,
            g.ecc_dbe,
            g.row_remap_pending,
            g.row_remap_failure,
            g.remapped_rows_correctable,
            g.remapped_rows_uncorrectable,
            g.health,
        )

        def sbe() -> None:
            g.ecc_sbe += int(sbe_per_step)
            g.remapped_rows_correctable += 1

        def sbe_rate() -> None:
            sbe()
            info = xid_info(92)
            node.record_xid(i, 92, f"{info.description} ({info.mnemonic})", "Warning")
            g.health = "Warning"

        def dbe() -> None:
            g.ecc_dbe += 1
            info = xid_info(48)
            node.record_xid(i, 48, f"{info.description} ({info.mnemonic})", "Critical")
            g.health = "Critical"

        def remap_pending() -> None:
            g.row_remap_pending = True
            g.remapped_rows_uncorrectable += 1
            info = xid_info(63)
            node.record_xid(i, 63, f"{info.description} ({info.mnemonic})", "Warning")

        def remap_failure() -> None:
            g.row_remap_failure = True
            info = xid_info(64)
            node.record_xid(i, 64, f"{info.description} ({info.mnemonic})", "Critical")

        f.steps = [
            (t0, sbe),
            (t0 + step, sbe),
            (t0 + 2 * step, sbe_rate),
            (t0 + 3 * step, dbe),
            (t0 + 4 * step, remap_pending),
            (t0 + 5 * step, remap_failure),
        ]

        def undo() -> None:
            (
                g.ecc_sbe,
                g.ecc_dbe,
                g.row_remap_pending,
                g.row_remap_failure,
                g.remapped_rows_correctable,
                g.remapped_rows_uncorrectable,
                g.health,
            ) = saved

        f.undo = undo
        f.root_cause = {
            "asset_type": "gpu",
            "asset": self._gpu_id(node, i),
            "serial": g.serial,
            "cause": "hbm-ecc-degradation",
        }
        f.affected = {"gpus": [self._gpu_id(node, i)], "nodes": [node.id]}
        f.expected_alerts = [
            "GpuEccSbeRising",
            "GpuXid92",
            "GpuXid48",
            "GpuXid63",
            "GpuRowRemapPending",
            "GpuXid64",
            "GpuRowRemapFailure",
        ]
        f.expected_actions = ["drain-node", "reset-gpu", "open-rma"]
        f.params.update({"gpu": i})

    # ------------------------------------------------------------------ node hardware
    def _inject_thermal_runaway(self, f: Fault, **_: Any) -> None:
        node = self._node(f.target)
        node.thermal_runaway = True
        node.thermal_runaway_since = time.monotonic()
        node.add_sel("Temperature above upper critical threshold", "Critical", "Temperature")
        node.emit("SensorThreshold", "Temperature above upper critical threshold", "Critical")

        def undo() -> None:
            node.thermal_runaway = False
            node.add_sel("Temperature back to normal", "OK", "Temperature")

        f.undo = undo
        f.root_cause = {"asset_type": "node", "asset": node.id, "cause": "thermal-runaway"}
        f.affected = {"nodes": [node.id], "gpus": [self._gpu_id(node, g.index) for g in node.gpus]}
        f.expected_alerts = ["NodeTemperatureCritical", "GpuTemperatureHigh"]
        f.expected_actions = ["drain-node", "power-off-node", "inspect-cooling"]

    def _inject_fan_failure(self, f: Fault, fan: Any = 0, **_: Any) -> None:
        node = self._node(f.target)
        i = int(fan)
        if not 0 <= i < node.spec.fan_count:
            raise FaultError(f"node {node.id} has fans 0..{node.spec.fan_count - 1}")
        node.fan_failed.add(i)
        node.add_sel(f"Fan{i + 1} failed: reading below lower critical threshold", "Critical", "Fan")
        node.emit("SensorThreshold", f"Fan{i + 1} failed", "Critical")

        def undo() -> None:
            node.fan_failed.discard(i)
            node.add_sel(f"Fan{i + 1} replaced", "OK", "Fan")

        f.undo = undo
        f.root_cause = {"asset_type": "fan", "asset": f"{node.id}/Fan{i + 1}", "cause": "fan-failure"}
        f.affected = {"nodes": [node.id]}
        f.expected_alerts = ["FanFailed"]
        f.expected_actions = ["replace-fan"]

    def _inject_psu_failure(self, f: Fault, psu: Any = 0, **_: Any) -> None:
        node = self._node(f.target)
        i = int(psu)
        if not 0 <= i < node.spec.psu_count:
            raise FaultError(f"node {node.id} has PSUs 0..{node.spec.psu_count - 1}")
        node.psu_failed.add(i)
        node.add_sel(f"PSU{i + 1} failure detected", "Critical", "Power Supply / Converter")
        node.emit("PowerSupplyFailed", f"PSU{i + 1} failed", "Critical")
        lost_all = len(node.psu_failed) >= node.spec.psu_count
        if lost_all:
            node.set_outlet_power(False)

        def undo() -> None:
            node.psu_failed.discard(i)
            node.add_sel(f"PSU{i + 1} restored", "OK", "Power Supply / Converter")
            if lost_all:
                self.fleet._apply_power()
                node.set_outlet_power(True)

        f.undo = undo
        f.root_cause = {"asset_type": "psu", "asset": f"{node.id}/PSU{i + 1}", "cause": "psu-failure"}
        f.affected = {"nodes": [node.id]}
        f.expected_alerts = ["PowerSupplyFailed"]
        f.expected_actions = ["replace-psu"]

    # ------------------------------------------------------------------ power topology
    def _power_truth(self, f: Fault, asset_type: str, asset: str, cause: str, loads: list[str]) -> None:
        nodes = sorted(x for x in set(loads) if x in self.fleet.nodes and not self.fleet._feeds().get(x, True))
        switches = sorted(x for x in set(loads) if x in self.fleet.switches and not self.fleet.switches[x].alive)
        # nodes whose BMC/uplinks hang off a switch that lost power are unreachable too
        below = sorted({n for s in switches for n in self.fleet.nodes_below_switch(s)} - set(nodes))
        f.root_cause = {"asset_type": asset_type, "asset": asset, "cause": cause}
        f.affected = {
            "nodes": nodes,
            "switches": switches,
            "unreachable_nodes": below,
            "gpus": [f"{n}/GPU{g.index}" for n in nodes for g in self.fleet.nodes[n].gpus],
        }
        f.expected_alerts = ["PowerLost", "NodeUnreachable"] + (["SwitchDown"] if switches else [])
        f.expected_actions = ["restore-power", "verify-nodes-after-power-restore"]

    def _inject_outlet_power_loss(self, f: Fault, **_: Any) -> None:
        pdu, _, outlet = f.target.partition("/")
        if pdu not in self.fleet.pdus or outlet not in self.fleet.pdus[pdu].outlets:
            raise FaultError(f"no outlet {f.target!r} (use PDU/OUTLET)")
        loads = self.fleet.set_outlet(pdu, outlet, False)
        f.undo = lambda: self.fleet.set_outlet(pdu, outlet, True) and None
        self._power_truth(f, "pdu-outlet", f.target, "outlet-power-loss", loads)

    def _inject_pdu_power_loss(self, f: Fault, **_: Any) -> None:
        if f.target not in self.fleet.pdus:
            raise FaultError(f"no PDU {f.target!r}")
        loads = self.fleet.set_pdu(f.target, False)
        f.undo = lambda: self.fleet.set_pdu(f.target, True) and None
        self._power_truth(f, "pdu", f.target, "pdu-power-loss", loads)

    def _inject_rack_power_loss(self, f: Fault, **_: Any) -> None:
        rack = self.fleet.racks.get(f.target)
        if rack is None:
            raise FaultError(f"no rack {f.target!r}")
        loads: list[str] = []
        for p in rack.pdus:
            loads += self.fleet.set_pdu(p, False)

        def undo() -> None:
            for p in rack.pdus:
                self.fleet.set_pdu(p, True)

        f.undo = undo
        self._power_truth(f, "rack", f.target, "rack-power-loss", loads)

    def _inject_switch_down(self, f: Fault, **_: Any) -> None:
        if f.target not in self.fleet.switches:
            raise FaultError(f"no switch {f.target!r}")
        self.fleet.set_switch_alive(f.target, False)
        f.undo = lambda: self.fleet.set_switch_alive(f.target, True)
        nodes = self.fleet.nodes_below_switch(f.target)
        f.root_cause = {"asset_type": "switch", "asset": f.target, "cause": "switch-down"}
        f.affected = {"switches": [f.target], "unreachable_nodes": nodes, "nodes": []}
        f.expected_alerts = ["SwitchDown", "NodeUnreachable"]
        f.expected_actions = ["repair-switch", "verify-nodes-after-switch-restore"]

    # ------------------------------------------------------------------ cooling
    def _inject_cdu_failure(self, f: Fault, **_: Any) -> None:
        cdu = self.fleet.cdus.get(f.target)
        if cdu is None:
            raise FaultError(f"no CDU {f.target!r}")
        self.fleet.set_cdu_failed(cdu.id, True)
        f.undo = lambda: self.fleet.set_cdu_failed(cdu.id, False)
        cooled = self.fleet.nodes_cooled_by(cdu.id)
        # The GPUs that heat up: the present GPUs of the nodes that are on (a node that is off
        # makes no heat; a node powered on later heats up too, but is not in the truth).
        hot = [n for n in cooled if self.fleet.nodes[n].power_state == "On" and self.fleet.nodes[n].present_gpus()]
        f.root_cause = {"asset_type": "cdu", "asset": cdu.id, "cause": "cdu-failure"}
        f.affected = {
            "cdus": [cdu.id],
            "racks": list(cdu.racks),
            "nodes": hot,
            "gpus": [
                self._gpu_id(self.fleet.nodes[n], g.index) for n in hot for g in self.fleet.nodes[n].present_gpus()
            ],
        }
        f.expected_alerts = ["CduFault", "GpuTemperatureHigh"]
        f.expected_actions = ["repair-cdu", "verify-gpu-temperatures-after-cooling-restore"]

    # ------------------------------------------------------------------ BMC
    def _inject_bmc(self, f: Fault, mode: Any = "unresponsive", delay_s: Any = 3.0, **_: Any) -> None:
        node = self._node(f.target)
        if mode not in BMC_FAULTS:
            raise FaultError(f"BMC fault mode must be one of {BMC_FAULTS}")
        saved = (node.bmc_fault, node.bmc_slow_s)
        node.bmc_fault = str(mode)
        node.bmc_slow_s = float(delay_s)

        def undo() -> None:
            node.bmc_fault, node.bmc_slow_s = saved

        f.undo = undo
        f.root_cause = {"asset_type": "bmc", "asset": f"{node.id}/BMC", "cause": f"bmc-{mode}"}
        f.affected = {"nodes": [node.id]}
        f.expected_alerts = ["BmcUnreachable" if mode == "unresponsive" else "BmcDegraded"]
        f.expected_actions = ["reset-bmc"]
