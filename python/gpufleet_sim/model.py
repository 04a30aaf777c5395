"""In-memory state of the simulated fleet: racks, PDUs, switches, nodes, GPUs.

Contracts (other modules of this package code against these names; keep them stable):

* ``Node`` -- one bare-metal server.  ``power_state`` is ``"On"`` or ``"Off"``;
  ``powered`` is False while its PDU outlet (or the whole rack) has no power.
  ``power_on()`` and ``power_off(graceful)`` take effect after ``power_delay_s``
  seconds (graceful: twice that; 0 applies at once; tests set 0).  ``power_cycle()``
  and ``reset()`` cut the power at once and bring it back ``power_delay_s`` later,
  so a reader never sees "On" between the request and the off phase.  A request
  is judged against the state the node is heading to (``target_power_state``),
  not only the current one: "on" while an "off" is queued turns the node back on.
  ``pending_power_state`` is the next queued transition.
  Pending transitions are resolved lazily whenever state is read and by
  ``Fleet.tick()``, so no thread or event loop is needed to drive them and the
  methods may be called from any thread (IPMI servers run in their own threads).
  ``on_power_change`` holds callables ``cb(node, old_state, new_state)``.
  ``sel`` is the System Event Log (list of dicts: id, created, severity,
  message, sensor_type); ``add_sel``/``clear_sel`` change it.  ``sensors()``
  returns the current readings (dicts: name, reading, unit, status, kind).
  ``bmc_reachable`` is False when the BMC has no power, its management switch
  is down or a BMC fault makes it unresponsive; ``bmc_fault`` names the fault
  ("unresponsive", "slow", "5xx", "malformed") or is None.
  ``ipmi_address`` / ``ipmi_user`` / ``ipmi_password`` are set by topology
  loading for the IPMI server; ``redfish_address`` likewise for Redfish.
* ``Switch`` -- a leaf switch with ``ports: dict[str, Port]``; ``set_admin``
  changes a port and notifies ``subscribe``d callbacks ``cb(port, field, value)``;
  ``alive`` is False while the switch is faulted down.
* ``Pdu`` -- a rack PDU with ``outlets: dict[str, Outlet]`` (ids "1", "2", ...; an
  ``Outlet`` has ``powered`` and ``load``, the ids of the nodes/switches it feeds);
  ``alive`` is False while the PDU itself has no input power; ``redfish_address`` /
  ``redfish_user`` / ``redfish_password`` are its management service (``pdu.py``).
* ``Cdu`` -- a coolant distribution unit cooling the racks in ``racks`` (``Rack.cdu`` names
  it back); ``failed`` while its pumps are down (``cdu_failure``): its secondary supply
  temperature climbs (``supply_temp()``) and every GPU of those racks heats up
  (``Node.cooling_loss()``) until it holds at ``GPU_SLOWDOWN_C`` by throttling its clocks;
  ``redfish_address`` / ``redfish_user`` / ``redfish_password`` are its management service
  (``cdu.py``).
* ``Fleet`` -- ``nodes``, ``switches``, ``pdus``, ``cdus``, ``racks``, ``rng`` (seeded),
  ``add_starter(fn)`` registers an async callable ``fn(fleet) -> stopper`` that
  ``gpufleet-sim up`` awaits after the Redfish servers start (a stopper is an
  optional async callable awaited at shutdown).  ``subscribe(cb)`` receives every
  fleet event dict (Redfish EventService, telemetry push and scenarios use it).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

POWER_STATES = ("On", "Off")
BOOT_TARGETS = ("None", "Pxe", "Hdd", "Cd", "BiosSetup", "Usb")
BOOT_ENABLED = ("Disabled", "Once", "Continuous")
BMC_FAULTS = ("unresponsive", "slow", "5xx", "malformed")

# Liquid cooling (``Cdu``).  While a CDU's pumps are down its secondary (rack-side) supply
# temperature rises by min(CDU_FAIL_RISE_MAX_C, CDU_FAIL_RISE_START_C + CDU_FAIL_RISE_PER_S * t)
# above CDU_SUPPLY_C, t seconds after the failure, and each GPU it cools gains CDU_GPU_GAIN
# times that rise (19.2 °C at once, +4.8 °C/s, at most 60 °C) until it reaches GPU_SLOWDOWN_C,
# where it holds by throttling its clocks (HW thermal slowdown): a loaded GPU (45 to 95 %)
# crosses 85 °C (gpufleet's GpuTemperatureHigh threshold) within 2.4 s and holds at 88 °C
# within 3 s, an idle one within 5.7 s and 6.3 s; its HBM (+4 °C) stays under 95 °C (the
# threshold of GpuMemoryTemperatureHigh, which the cdu_fault rule does not explain).
CDU_SUPPLY_C = 30.0
CDU_FLOW_LPM = 80.0
CDU_FAIL_RISE_START_C = 8.0
CDU_FAIL_RISE_PER_S = 2.0
CDU_FAIL_RISE_MAX_C = 25.0
CDU_GPU_GAIN = 2.4
GPU_SLOWDOWN_C = 88.0


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def _stable_int(*parts: object) -> int:
    """A deterministic integer from strings (Python's hash() is salted per process)."""
    h = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big")


def _mac(*parts: object) -> str:
    n = _stable_int("mac", *parts)
    b = [0x02, 0x00] + [(n >> (8 * i)) & 0xFF for i in range(4)]
    return ":".join(f"{x:02x}" for x in b)


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class GpuModel:
    name: str
    memory_mib: int
    tdp_w: int
    idle_w: int
    max_sm_clock: int
    mem_clock: int


@dataclass(frozen=True)
class NodeModel:
    """A server model: what a node of this kind contains."""

    key: str
    manufacturer: str
    product: str
    cpu_model: str
    cpu_count: int
    cores_per_cpu: int
    memory_gib_per_dimm: int
    dimm_count: int
    gpu: GpuModel | None
    gpu_count: int
    drive_count: int
    drive_capacity_bytes: int
    nic_count: int
    psu_count: int
    fan_count: int
    psu_watts: int
    personality: str | None = None  # vendor capture (capture.py) or persona (personas.py) used as Redfish face


H100_SXM = GpuModel("NVIDIA H100 80GB HBM3", 81559, 700, 70, 1980, 2619)
L40S = GpuModel("NVIDIA L40S", 46068, 350, 35, 2520, 9001)
A100_SXM = GpuModel("NVIDIA A100-SXM4-80GB", 81920, 400, 55, 1410, 1593)
GH200_GPU = GpuModel("NVIDIA GH200 480GB", 97871, 900, 90, 1980, 2619)
GB200_GPU = GpuModel("NVIDIA GB200", 189471, 1200, 120, 2062, 3996)
GB300_GPU = GpuModel("NVIDIA GB300", 284208, 1400, 140, 2062, 3996)

MODELS: dict[str, NodeModel] = {
    "hgx-h100-8gpu": NodeModel(
        key="hgx-h100-8gpu",
        manufacturer="Gpufleet Simulated",
        product="HGX H100 8-GPU",
        cpu_model="Intel(R) Xeon(R) Platinum 8480+",
        cpu_count=2,
        cores_per_cpu=56,
        memory_gib_per_dimm=64,
        dimm_count=32,
        gpu=H100_SXM,
        gpu_count=8,
        drive_count=8,
        drive_capacity_bytes=3_840_000_000_000,
        nic_count=10,
        psu_count=6,
        fan_count=12,
        psu_watts=3300,
    ),
    "l40s-4gpu": NodeModel(
        key="l40s-4gpu",
        manufacturer="Gpufleet Simulated",
        product="2U L40S 4-GPU",
        cpu_model="AMD EPYC 9354 32-Core Processor",
        cpu_count=2,
        cores_per_cpu=32,
        memory_gib_per_dimm=32,
        dimm_count=16,
        gpu=L40S,
        gpu_count=4,
        drive_count=4,
        drive_capacity_bytes=1_920_000_000_000,
        nic_count=4,
        psu_count=2,
        fan_count=6,
        psu_watts=2000,
    ),
    "cpu-1u": NodeModel(
        key="cpu-1u",
        manufacturer="Gpufleet Simulated",
        product="1U CPU node",
        cpu_model="Intel(R) Xeon(R) Gold 6338",
        cpu_count=2,
        cores_per_cpu=32,
        memory_gib_per_dimm=32,
        dimm_count=8,
        gpu=None,
        gpu_count=0,
        drive_count=2,
        drive_capacity_bytes=960_000_000_000,
        nic_count=2,
        psu_count=2,
        fan_count=6,
        psu_watts=800,
    ),
    # Vendor personalities: the Redfish face comes from a captured tree.
    "dell-r750": NodeModel(
        key="dell-r750",
        manufacturer="Dell Inc.",
        product="PowerEdge R750",
        cpu_model="Intel(R) Xeon(R) Gold 6330",
        cpu_count=2,
        cores_per_cpu=28,
        memory_gib_per_dimm=32,
        dimm_count=16,
        gpu=A100_SXM,
        gpu_count=2,
        drive_count=4,
        drive_capacity_bytes=960_000_000_000,
        nic_count=4,
        psu_count=2,
        fan_count=6,
        psu_watts=1400,
        personality="dell_poweredge_r750",
    ),
    "nvidia-gh200": NodeModel(
        key="nvidia-gh200",
        manufacturer="NVIDIA",
        product="P3809",
        cpu_model="NVIDIA Grace",
        cpu_count=1,
        cores_per_cpu=72,
        memory_gib_per_dimm=480,
        dimm_count=1,
        gpu=GH200_GPU,
        gpu_count=1,
        drive_count=2,
        drive_capacity_bytes=1_920_000_000_000,
        nic_count=2,
        psu_count=2,
        fan_count=6,
        psu_watts=2000,
        personality="gh200",
    ),
    "lenovo-sr670v2": NodeModel(
        key="lenovo-sr670v2",
        manufacturer="Lenovo",
        product="ThinkSystem SR670 V2",
        cpu_model="Intel(R) Xeon(R) Platinum 8358",
        cpu_count=2,
        cores_per_cpu=32,
        memory_gib_per_dimm=64,
        dimm_count=16,
        gpu=A100_SXM,
        gpu_count=4,
        drive_count=4,
        drive_capacity_bytes=1_920_000_000_000,
        nic_count=4,
        psu_count=4,
        fan_count=8,
        psu_watts=2400,
        personality="lenovo_thinksystem_sr670",
    ),
    # Personas (personas.py): generated faces laid out like BMC firmware of other makers.
    "dgx-h100": NodeModel(
        key="dgx-h100",
        manufacturer="NVIDIA",
        product="DGX H100",
        cpu_model="Intel(R) Xeon(R) Platinum 8480C",
        cpu_count=2,
        cores_per_cpu=56,
        memory_gib_per_dimm=64,
        dimm_count=32,
        gpu=H100_SXM,
        gpu_count=8,
        drive_count=2,
        drive_capacity_bytes=1_920_000_000_000,
        nic_count=4,
        psu_count=6,
        fan_count=12,
        psu_watts=3300,
        personality="dgx_h100",
    ),
    "gb200-tray": NodeModel(
        key="gb200-tray",
        manufacturer="WIWYNN",
        product="GB200 NVL Compute Tray",
        cpu_model="NVIDIA Grace",
        cpu_count=2,
        cores_per_cpu=72,
        memory_gib_per_dimm=480,
        dimm_count=2,
        gpu=GB200_GPU,
        gpu_count=4,
        drive_count=2,
        drive_capacity_bytes=3_840_000_000_000,
        nic_count=4,
        psu_count=2,
        fan_count=6,
        psu_watts=5500,
        personality="gb200_nvl_tray",
    ),
    "gb300-tray": NodeModel(
        key="gb300-tray",
        manufacturer="NVIDIA",
        product="GB300 NVL Compute Tray",
        cpu_model="NVIDIA Grace",
        cpu_count=2,
        cores_per_cpu=72,
        memory_gib_per_dimm=480,
        dimm_count=2,
        gpu=GB300_GPU,
        gpu_count=4,
        drive_count=2,
        drive_capacity_bytes=3_840_000_000_000,
        nic_count=4,
        psu_count=2,
        fan_count=6,
        psu_watts=6000,
        personality="gb300_tray",
    ),
    "bluefield-dpu": NodeModel(
        key="bluefield-dpu",
        manufacturer="NVIDIA",
        product="BlueField-3 DPU",
        cpu_model="ARM Cortex-A78AE",
        cpu_count=1,
        cores_per_cpu=16,
        memory_gib_per_dimm=32,
        dimm_count=1,
        gpu=None,
        gpu_count=0,
        drive_count=1,
        drive_capacity_bytes=128_000_000_000,
        nic_count=2,
        psu_count=1,
        fan_count=1,
        psu_watts=150,
        personality="nvidia_dpu",
    ),
}


# --------------------------------------------------------------------------- parts


@dataclass
class Gpu:
    index: int
    model: GpuModel
    serial: str
    uuid: str
    pci_bus_id: str
    firmware: str = "96.00.74.00.01"
    present: bool = True  # False: fallen off the bus (gone from Redfish and telemetry)
    utilization: float = 0.0  # 0..100
    temp_offset: float = 0.0  # thermal faults raise this
    ecc_sbe: int = 0  # volatile single-bit (correctable) errors
    ecc_dbe: int = 0  # volatile double-bit (uncorrectable) errors
    remapped_rows_correctable: int = 0
    remapped_rows_uncorrectable: int = 0
    row_remap_pending: bool = False
    row_remap_failure: bool = False
    last_xid: int = 0
    xids: list[dict] = field(default_factory=list)
    pcie_replays: int = 0
    energy_mj: float = 0.0
    health: str = "OK"  # Redfish Status.Health: OK / Warning / Critical
    utilization_pinned: bool = False  # True: telemetry leaves utilization as set
    last_sample: float = 0.0

    @property
    def name(self) -> str:
        return f"GPU{self.index}"


@dataclass
class Nic:
    name: str
    mac: str
    speed_mbps: int
    switch: str | None = None
    switch_port: str | None = None
    link_up: bool = True


@dataclass
class Drive:
    id: str
    serial: str
    model: str
    capacity_bytes: int
    media_type: str = "SSD"
    protocol: str = "NVMe"
    health: str = "OK"


@dataclass
class Volume:
    id: str
    name: str
    raid_type: str
    drives: list[str]
    capacity_bytes: int


@dataclass
class Firmware:
    id: str
    name: str
    version: str
    updateable: bool = True


@dataclass
class VirtualMedia:
    id: str = "CD1"
    image: str | None = None
    inserted: bool = False
    write_protected: bool = True
    media_types: tuple[str, ...] = ("CD", "DVD")


# --------------------------------------------------------------------------- node


class Node:
    """One simulated server.  See the module docstring for the contract."""

    def __init__(
        self,
        node_id: str,
        model: str | NodeModel,
        rack: str = "",
        *,
        seed: int = 0,
        fleet: Fleet | None = None,
        power_state: str = "On",
        power_delay_s: float = 2.0,
    ) -> None:
        self.spec: NodeModel = MODELS[model] if isinstance(model, str) else model
        self.id = node_id
        self.model = self.spec.key
        self.rack = rack
        self.fleet = fleet
        self.rng = random.Random(f"{seed}:{node_id}")
        self.seed_key = _stable_int(seed, node_id)
        self._lock = threading.RLock()
        self._power_state = power_state
        self._pending: list[tuple[float, str]] = []  # (due monotonic time, "On"/"Off")
        self.power_delay_s = power_delay_s
        self.powered = True
        self.pdu: str | None = None
        self.outlet: str | None = None
        self.mgmt_switch: str | None = None
        self.mgmt_port: str | None = None
        self.bmc_fault: str | None = None
        self.bmc_slow_s: float = 3.0
        # A BMC restart (Manager.Reset, IPMI cold reset): away until this monotonic time.
        self.bmc_restart_s: float = 2.0
        self.bmc_back_at: float = 0.0
        self.bmc_resets: int = 0
        self.power_restore_policy = "LastState"
        self._state_before_loss = power_state
        self.boot_override_target = "None"
        self.boot_override_enabled = "Disabled"
        self.boot_override_mode = "UEFI"
        self.last_boot_source: str | None = None
        self.boot_count = 0
        self.installed_os: str | None = None
        self.on_power_change: list[Callable[[Node, str, str], None]] = []
        self.sel: list[dict] = []
        self._sel_seq = 0
        self.redfish_address: tuple[str, int] | None = None
        self.redfish_https_address: tuple[str, int] | None = None
        self.telemetry_address: tuple[str, int] | None = None
        self.ipmi_address: tuple[str, int] | None = None
        self.ipmi_user = "admin"
        self.ipmi_password = "password"
        self.bmc_user = "admin"
        self.bmc_password = "password"
        self.uuid = self._uuid("system")
        self.serial = f"SN{_stable_int('serial', seed, node_id) % 10**10:010d}"
        self.asset_tag = node_id
        # faults that shape the sensors
        self.fan_failed: set[int] = set()
        self.psu_failed: set[int] = set()
        self.thermal_runaway = False
        self.thermal_runaway_since = 0.0
        self.inlet_temp = 22.0 + self.rng.random() * 3
        # BIOS
        self.bios_version = "2.3.5"
        self.bios_attributes: dict[str, Any] = {
            "BootMode": "Uefi",
            "SriovGlobalEnable": "Enabled",
            "ProcVirtualization": "Enabled",
            "LogicalProc": "Enabled",
            "SysProfile": "PerfOptimized",
            "PcieAspmL1": "Disabled",
            "AcPwrRcvry": "Last",
            "NumaNodesPerSocket": 1,
            "IommuSupport": "Enabled",
            "PxeDev1EnDis": "Enabled",
        }
        self.bios_pending: dict[str, Any] = {}
        # parts
        s = self.spec
        self.gpus: list[Gpu] = []
        for i in range(s.gpu_count):
            assert s.gpu is not None
            self.gpus.append(
                Gpu(
                    index=i,
                    model=s.gpu,
                    serial=f"{_stable_int('gpu', seed, node_id, i) % 10**13:013d}",
                    uuid="GPU-" + self._uuid("gpu", i),
                    pci_bus_id=f"00000000:{0x18 + 0x10 * i:02X}:00.0",
                )
            )
        self.nics: list[Nic] = [
            Nic(
                name=f"NIC{i + 1}",
                mac=_mac(seed, node_id, i),
                speed_mbps=400_000 if (s.gpu_count >= 8 and i >= 2) else 100_000,
            )
            for i in range(s.nic_count)
        ]
        self.bmc_mac = _mac(seed, node_id, "bmc")
        self.drives: list[Drive] = [
            Drive(
                id=f"Disk{i}",
                serial=f"S{_stable_int('drive', seed, node_id, i) % 10**12:012d}",
                model="SAMSUNG MZQL23T8HCLS" if s.drive_capacity_bytes > 2e12 else "MZ7L3960HCJR",
                capacity_bytes=s.drive_capacity_bytes,
            )
            for i in range(s.drive_count)
        ]
        self.volumes: list[Volume] = []
        self._volume_seq = 0
        self.firmware: list[Firmware] = [
            Firmware("BMC", "BMC Firmware", "1.12.0"),
            Firmware("BIOS", "System BIOS", self.bios_version),
        ] + [Firmware(f"GPU{g.index}", f"GPU{g.index} VBIOS", g.firmware) for g in self.gpus]
        self.virtual_media: dict[str, VirtualMedia] = {"CD1": VirtualMedia()}

    # ------------------------------------------------------------------ helpers
    def _uuid(self, *parts: object) -> str:
        h = hashlib.sha256(":".join(str(p) for p in ("uuid", self.seed_key, self.id, *parts)).encode()).hexdigest()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def __repr__(self) -> str:
        return f"Node({self.id!r}, {self.model!r}, rack={self.rack!r}, {self.power_state})"

    # ------------------------------------------------------------------ power
    @property
    def power_state(self) -> str:
        self.advance()
        return self._power_state

    @property
    def pending_power_state(self) -> str | None:
        """The state the next queued transition will reach, or None."""
        self.advance()
        with self._lock:
            return self._pending[0][1] if self._pending else None

    @property
    def target_power_state(self) -> str:
        """The state the node is heading to: the last queued transition's, else the current."""
        self.advance()
        with self._lock:
            return self._pending[-1][1] if self._pending else self._power_state

    def advance(self, now: float | None = None) -> None:
        """Apply every queued power transition that is due."""
        if not self._pending:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._pending and self._pending[0][0] <= now:
                _, target = self._pending.pop(0)
                self._set_power(target)

    def _set_power(self, target: str) -> None:
        old = self._power_state
        if not self.powered and target == "On":
            return  # no power at the outlet: nothing turns on
        if old == target:
            return
        self._power_state = target
        if target == "On":
            self._on_boot()
        else:
            for g in self.gpus:
                g.utilization = 0.0
        self.add_sel(
            f"System power {'on' if target == 'On' else 'off'}",
            "OK",
            "System ACPI PowerState",
        )
        for cb in list(self.on_power_change):
            try:
                cb(self, old, target)
            except Exception:  # a faulty listener must not break the model
                pass
        self.emit("PowerStateChanged", f"Power state changed to {target}", "OK", PowerState=target)

    def _on_boot(self) -> None:
        self.boot_count += 1
        if self.bios_pending:
            self.bios_attributes.update(self.bios_pending)
            self.bios_pending = {}
            self.add_sel("BIOS settings applied", "OK", "System Firmware Progress")
        src = self.boot_override_target if self.boot_override_enabled != "Disabled" else "Hdd"
        if src == "None":
            src = "Hdd"
        self.last_boot_source = src
        if self.boot_override_enabled == "Once":
            self.boot_override_enabled = "Disabled"
            self.boot_override_target = "None"

    def _schedule(self, *targets: str, delay: float | None = None) -> None:
        d = self.power_delay_s if delay is None else delay
        with self._lock:
            self.advance()
            self._pending.clear()
            now = time.monotonic()
            for i, t in enumerate(targets):
                self._pending.append((now + d * (i + 1) if d > 0 else now, t))
            if d <= 0:
                self.advance(now)

    def power_on(self) -> None:
        with self._lock:
            if not self.powered:
                return
            if self.target_power_state != "On":
                self._schedule("On")

    def power_off(self, graceful: bool = False) -> None:
        with self._lock:
            if self.target_power_state != "Off":
                self._schedule("Off", delay=self.power_delay_s * (2 if graceful else 1))

    def power_cycle(self) -> None:
        """Hard cycle: the power drops now and returns after ``power_delay_s``."""
        with self._lock:
            self.advance()
            self._pending.clear()
            if self._power_state == "On":
                self._set_power("Off")
            self._schedule("On")

    def reset(self) -> None:
        """Warm reset: the host reboots (Off then On) but stays powered."""
        self.power_cycle()

    def set_outlet_power(self, powered: bool) -> None:
        """Called by PDU/rack faults: the whole node (BMC included) loses power."""
        with self._lock:
            if powered == self.powered:
                return
            if not powered:
                self.advance()
                self._state_before_loss = self._power_state
                self._pending.clear()
                old = self._power_state
                self._power_state = "Off"
                self.powered = False
                if old != "Off":
                    for g in self.gpus:
                        g.utilization = 0.0
                    for cb in list(self.on_power_change):
                        try:
                            cb(self, old, "Off")
                        except Exception:
                            pass
                self.emit("PowerLost", "AC power lost at the outlet", "Critical")
            else:
                self.powered = True
                self.add_sel("AC power restored", "OK", "Power Supply / Converter")
                if self.power_restore_policy == "AlwaysOn" or (
                    self.power_restore_policy == "LastState" and self._state_before_loss == "On"
                ):
                    self._schedule("On")

    # ------------------------------------------------------------------ boot
    def set_boot_override(self, target: str, enabled: str, mode: str | None = None) -> None:
        if target not in BOOT_TARGETS:
            raise ValueError(f"boot target {target!r} not one of {BOOT_TARGETS}")
        if enabled not in BOOT_ENABLED:
            raise ValueError(f"boot override enabled {enabled!r} not one of {BOOT_ENABLED}")
        with self._lock:
            self.boot_override_target = target
            self.boot_override_enabled = enabled
            if mode:
                self.boot_override_mode = mode

    def reset_bmc(self) -> None:
        """Restart the BMC: it answers nothing for ``bmc_restart_s`` seconds; the host keeps
        running."""
        with self._lock:
            self.bmc_resets += 1
            self.bmc_back_at = time.monotonic() + self.bmc_restart_s
        self.add_sel("BMC reset", "OK", "Management Subsystem Health")

    # ------------------------------------------------------------------ reachability
    @property
    def bmc_reachable(self) -> bool:
        if not self.powered or self.bmc_fault == "unresponsive":
            return False
        if self.bmc_back_at and time.monotonic() < self.bmc_back_at:
            return False
        if self.fleet and self.mgmt_switch:
            sw = self.fleet.switches.get(self.mgmt_switch)
            if sw is not None and not sw.alive:
                return False
        return True

    @property
    def host_reachable(self) -> bool:
        """Data-plane reachability: host on and at least one uplink switch alive."""
        if self.power_state != "On":
            return False
        if not self.fleet:
            return True
        sws = {n.switch for n in self.nics if n.switch}
        return not sws or any(self.fleet.switches[s].alive for s in sws if s in self.fleet.switches)

    # ------------------------------------------------------------------ SEL / events
    def add_sel(self, message: str, severity: str = "OK", sensor_type: str = "System Event") -> dict:
        with self._lock:
            self._sel_seq += 1
            entry = {
                "id": str(self._sel_seq),
                "created": now_iso(),
                "severity": severity,
                "message": message,
                "sensor_type": sensor_type,
            }
            self.sel.append(entry)
            if len(self.sel) > 1000:
                del self.sel[: len(self.sel) - 1000]
        return entry

    def clear_sel(self) -> None:
        with self._lock:
            self.sel.clear()
        self.add_sel("Log area reset/cleared", "OK", "Event Logging Disabled")

    def emit(self, event_type: str, message: str, severity: str = "OK", **extra: Any) -> None:
        if self.fleet is not None:
            self.fleet.emit({"node": self.id, "type": event_type, "message": message, "severity": severity, **extra})

    # ------------------------------------------------------------------ GPUs
    def present_gpus(self) -> list[Gpu]:
        return [g for g in self.gpus if g.present]

    def gpu_temperature(self, g: Gpu) -> float:
        if self.power_state != "On":
            return self.inlet_temp
        base = 32.0 + 0.35 * g.utilization + self.inlet_temp * 0.3
        t = base + g.temp_offset + self._runaway_extra()
        loss = self.cooling_loss()
        if loss and t < GPU_SLOWDOWN_C:
            # the liquid loop stopped: heats up to the slowdown point and holds there
            t = min(GPU_SLOWDOWN_C, t + loss)
        return round(t, 1)

    def gpu_thermal_slowdown(self, g: Gpu) -> bool:
        """True while the GPU throttles its clocks to hold at GPU_SLOWDOWN_C (its rack's CDU failed)."""
        return self.power_state == "On" and self.cooling_loss() > 0 and self.gpu_temperature(g) >= GPU_SLOWDOWN_C

    def cooling_loss(self) -> float:
        """°C the rack's failed CDU adds to each GPU (0 while it works or the rack has none)."""
        fleet = self.fleet
        if fleet is None or not fleet.cdus:
            return 0.0
        rack = fleet.racks.get(self.rack)
        cdu = fleet.cdus.get(rack.cdu) if rack is not None and rack.cdu else None
        return cdu.gpu_heating() if cdu is not None else 0.0

    def gpu_power(self, g: Gpu) -> float:
        if self.power_state != "On":
            return 0.0
        m = g.model
        return round(m.idle_w + (m.tdp_w - m.idle_w) * g.utilization / 100.0, 1)

    def _runaway_extra(self) -> float:
        if not self.thermal_runaway:
            return 0.0
        return min(70.0, 3.0 * (time.monotonic() - self.thermal_runaway_since) + 45.0)

    def record_xid(self, gpu_index: int, xid: int, message: str, severity: str = "Warning") -> None:
        g = self.gpus[gpu_index]
        entry = {"created": now_iso(), "xid": xid, "message": message, "gpu": gpu_index}
        g.xids.append(entry)
        g.last_xid = xid
        self.add_sel(
            f"GPU{gpu_index} ({g.pci_bus_id}) Xid {xid}: {message}",
            severity,
            "Processor",
        )
        self.emit("GpuXid", f"Xid {xid} on GPU{gpu_index}: {message}", severity, gpu=gpu_index, xid=xid)

    # ------------------------------------------------------------------ sensors
    def sensors(self) -> list[dict]:
        on = self.power_state == "On"
        s = self.spec
        out: list[dict] = []

        def add(
            name: str,
            reading: float,
            unit: str,
            kind: str,
            warn: float | None = None,
            crit: float | None = None,
            status: str | None = None,
        ) -> None:
            st = status or "OK"
            if status is None and crit is not None and reading >= crit:
                st = "Critical"
            elif status is None and warn is not None and reading >= warn:
                st = "Warning"
            out.append(
                {
                    "name": name,
                    "reading": round(reading, 2),
                    "unit": unit,
                    "status": st,
                    "kind": kind,
                    "warning": warn,
                    "critical": crit,
                }
            )

        extra = self._runaway_extra()
        fan_pen = 4.0 * len(self.fan_failed)
        add("Inlet Temp", self.inlet_temp + (extra * 0.2 if on else 0), "Cel", "temperature", 35, 42)
        for c in range(s.cpu_count):
            t = (self.inlet_temp + 25 + fan_pen + extra) if on else self.inlet_temp
            add(f"CPU{c + 1} Temp", t, "Cel", "temperature", 85, 95)
        for g in self.present_gpus():
            add(f"GPU{g.index} Temp", self.gpu_temperature(g) + (fan_pen if on else 0), "Cel", "temperature", 83, 90)
        for f in range(s.fan_count):
            if f in self.fan_failed:
                add(f"Fan{f + 1}", 0.0, "RPM", "fan", status="Critical")
            else:
                rpm = (6000 + 1500 * (len(self.fan_failed) > 0) + 80 * extra) if on else 0.0
                add(f"Fan{f + 1}", min(rpm, 16000), "RPM", "fan")
        total = self.power_watts()
        working = max(1, s.psu_count - len(self.psu_failed))
        for p in range(s.psu_count):
            if p in self.psu_failed or not self.powered:
                add(f"PSU{p + 1} Input Voltage", 0.0, "V", "voltage", status="Critical" if self.powered else "OK")
                add(f"PSU{p + 1} Output Power", 0.0, "W", "power", status="Critical" if self.powered else "OK")
            else:
                add(f"PSU{p + 1} Input Voltage", 230.0 + self.rng.uniform(-1.5, 1.5), "V", "voltage")
                add(f"PSU{p + 1} Output Power", total / working, "W", "power", s.psu_watts * 0.9, s.psu_watts)
        add("12V Rail", 12.0 if on else 0.0, "V", "voltage")
        add("Total Power", total, "W", "power")
        return out

    def power_watts(self) -> float:
        if not self.powered:
            return 0.0
        if self.power_state != "On":
            return 25.0  # BMC standby
        cpu = 150.0 * self.spec.cpu_count
        gpus = sum(self.gpu_power(g) for g in self.present_gpus())
        return round(cpu + gpus + 12.0 * self.spec.fan_count + 6.0 * self.spec.drive_count, 1)

    @property
    def health(self) -> str:
        worst = "OK"
        for s in self.sensors():
            if s["status"] == "Critical":
                return "Critical"
            if s["status"] == "Warning":
                worst = "Warning"
        for g in self.gpus:
            if not g.present or g.health == "Critical":
                return "Critical"
            if g.health == "Warning":
                worst = "Warning"
        return worst

    # ------------------------------------------------------------------ storage
    def create_volume(self, name: str, raid_type: str, drive_ids: list[str]) -> Volume:
        known = {d.id: d for d in self.drives}
        missing = [d for d in drive_ids if d not in known]
        if missing:
            raise ValueError(f"unknown drives {missing}")
        used = {d for v in self.volumes for d in v.drives}
        if used & set(drive_ids):
            raise ValueError(f"drives already in a volume: {sorted(used & set(drive_ids))}")
        need = {"RAID0": 1, "RAID1": 2, "RAID5": 3, "RAID10": 4, "None": 1}
        if raid_type not in need:
            raise ValueError(f"RAIDType {raid_type!r} not supported; use one of {sorted(need)}")
        if len(drive_ids) < need[raid_type]:
            raise ValueError(f"{raid_type} needs at least {need[raid_type]} drives")
        size = min(known[d].capacity_bytes for d in drive_ids)
        n = len(drive_ids)
        cap = {"RAID0": size * n, "None": size * n, "RAID1": size, "RAID5": size * (n - 1), "RAID10": size * n // 2}[
            raid_type
        ]
        with self._lock:
            self._volume_seq += 1
            v = Volume(str(self._volume_seq), name or f"Volume{self._volume_seq}", raid_type, list(drive_ids), cap)
            self.volumes.append(v)
        return v

    def delete_volume(self, volume_id: str) -> bool:
        with self._lock:
            for i, v in enumerate(self.volumes):
                if v.id == volume_id:
                    del self.volumes[i]
                    return True
        return False


# --------------------------------------------------------------------------- network


@dataclass
class Port:
    name: str
    admin_status: str = "UP"
    oper_status: str = "UP"
    in_octets: int = 0
    out_octets: int = 0
    in_errors: int = 0
    out_errors: int = 0
    speed_gbps: int = 100
    peer: str | None = None  # "node-id/NIC1" or another switch
    description: str = ""


class Switch:
    def __init__(self, switch_id: str, rack: str = "", ports: int = 48, *, address: str | None = None) -> None:
        self.id = switch_id
        self.rack = rack
        self.address = address  # gNMI target address, set by the topology loader
        self.gnmi_address: tuple[str, int] | None = None
        self.ports: dict[str, Port] = {f"Ethernet{i}": Port(f"Ethernet{i}") for i in range(1, ports + 1)}
        self._subs: list[Callable[[str, str, Any], None]] = []
        self._alive = True
        self.pdu: str | None = None
        self.outlet: str | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Switch({self.id!r}, rack={self.rack!r}, alive={self.alive})"

    @property
    def alive(self) -> bool:
        return self._alive

    @alive.setter
    def alive(self, value: bool) -> None:
        if value == self._alive:
            return
        self._alive = value
        for name, p in self.ports.items():
            new = "UP" if (value and p.admin_status == "UP") else "DOWN"
            if p.oper_status != new:
                p.oper_status = new
                self._notify(name, "oper_status", new)

    def subscribe(self, callback: Callable[[str, str, Any], None]) -> Callable[[], None]:
        self._subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    def _notify(self, port: str, fld: str, value: Any) -> None:
        for cb in list(self._subs):
            try:
                cb(port, fld, value)
            except Exception:
                pass

    def set_admin(self, port: str, up: bool) -> None:
        p = self.ports[port]
        with self._lock:
            admin = "UP" if up else "DOWN"
            if p.admin_status != admin:
                p.admin_status = admin
                self._notify(port, "admin_status", admin)
            oper = "UP" if (up and self._alive) else "DOWN"
            if p.oper_status != oper:
                p.oper_status = oper
                self._notify(port, "oper_status", oper)

    def add_traffic(self, rng: random.Random) -> None:
        """Advance counters of ports that are up (called by the fleet ticker)."""
        if not self._alive:
            return
        for p in self.ports.values():
            if p.oper_status == "UP" and p.peer:
                p.in_octets += rng.randint(10_000, 5_000_000)
                p.out_octets += rng.randint(10_000, 5_000_000)


# --------------------------------------------------------------------------- power


@dataclass
class Outlet:
    id: str
    powered: bool = True
    load: list[str] = field(default_factory=list)  # node / switch ids


@dataclass
class Pdu:
    """A rack PDU.  ``alive`` is False while its input feed is lost (``pdu_power_loss``,
    ``rack_power_loss``): every outlet goes dark and so does its own Redfish controller.
    ``redfish_address`` is where that controller serves (set by topology loading; None: no
    management service), answering to ``redfish_user`` / ``redfish_password`` (the fleet's
    default BMC credentials).  ``serial`` and ``uuid`` are derived from the fleet's seed by
    ``Fleet.add_pdu`` when left empty."""

    id: str
    rack: str
    outlets: dict[str, Outlet] = field(default_factory=dict)
    alive: bool = True
    redfish_address: tuple[str, int] | None = None
    redfish_user: str = "admin"
    redfish_password: str = "password"
    serial: str = ""
    uuid: str = ""


@dataclass
class Cdu:
    """A coolant distribution unit: the liquid loop of the racks in ``racks``.  ``failed`` (since
    ``failed_since``, monotonic seconds) while its pumps are down (``cdu_failure``); see the
    CDU_* constants for what follows.  ``redfish_address`` is where its controller serves
    (``cdu.py``; set by topology loading, None: no management service), answering to
    ``redfish_user`` / ``redfish_password`` (the fleet's default BMC credentials).  ``serial``
    and ``uuid`` are derived from the fleet's seed by ``Fleet.add_cdu`` when left empty."""

    id: str
    racks: list[str] = field(default_factory=list)
    failed: bool = False
    failed_since: float = 0.0
    location: str = ""  # the row it stands in
    redfish_address: tuple[str, int] | None = None
    redfish_user: str = "admin"
    redfish_password: str = "password"
    serial: str = ""
    uuid: str = ""

    def coolant_rise(self, now: float | None = None) -> float:
        """°C the secondary supply is above its set point (0 while the pumps run)."""
        if not self.failed:
            return 0.0
        t = max(0.0, (time.monotonic() if now is None else now) - self.failed_since)
        return min(CDU_FAIL_RISE_MAX_C, CDU_FAIL_RISE_START_C + CDU_FAIL_RISE_PER_S * t)

    def supply_temp(self, now: float | None = None) -> float:
        """The secondary (rack-side) coolant supply temperature, °C."""
        return round(CDU_SUPPLY_C + self.coolant_rise(now), 1)

    def gpu_heating(self, now: float | None = None) -> float:
        """°C each GPU it cools gains from the rise (before it throttles at GPU_SLOWDOWN_C)."""
        return CDU_GPU_GAIN * self.coolant_rise(now)


@dataclass
class Rack:
    id: str
    pdus: list[str] = field(default_factory=list)
    switches: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    location: str = ""
    cdu: str | None = None  # the CDU whose loop cools it


# --------------------------------------------------------------------------- fleet

Starter = Callable[["Fleet"], Awaitable[Callable[[], Awaitable[None]] | None]]


class Fleet:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.nodes: dict[str, Node] = {}
        self.switches: dict[str, Switch] = {}
        self.pdus: dict[str, Pdu] = {}
        self.cdus: dict[str, Cdu] = {}
        self.racks: dict[str, Rack] = {}
        self.starters: list[Starter] = []
        self._subs: list[Callable[[dict], None]] = []
        self.events: list[dict] = []  # recent fleet events (bounded)
        self.options: dict[str, Any] = {}  # topology "options" block (ingest_url, ...)
        # firmware images the BMCs know: image URI, or "sha256:<hex>" of a pushed image's
        # bytes -> the version an update with it installs (control API: /firmware-images)
        self.firmware_images: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Fleet({len(self.racks)} racks, {len(self.nodes)} nodes, {len(self.switches)} switches)"

    # registration of extra servers (IPMI, gNMI, Tinkerbell worker)
    def add_starter(self, starter: Starter) -> None:
        self.starters.append(starter)

    # events
    def subscribe(self, callback: Callable[[dict], None]) -> Callable[[], None]:
        self._subs.append(callback)

        def unsubscribe() -> None:
            if callback in self._subs:
                self._subs.remove(callback)

        return unsubscribe

    def emit(self, event: dict) -> None:
        event.setdefault("time", now_iso())
        self.events.append(event)
        if len(self.events) > 10_000:
            del self.events[:1000]
        for cb in list(self._subs):
            try:
                cb(event)
            except Exception:
                pass

    # construction helpers
    def add_node(self, node: Node) -> Node:
        node.fleet = self
        self.nodes[node.id] = node
        if node.rack:
            self.racks.setdefault(node.rack, Rack(node.rack)).nodes.append(node.id)
        return node

    def add_switch(self, sw: Switch) -> Switch:
        self.switches[sw.id] = sw
        if sw.rack:
            self.racks.setdefault(sw.rack, Rack(sw.rack)).switches.append(sw.id)
        return sw

    def add_pdu(self, pdu: Pdu) -> Pdu:
        if not pdu.serial:
            pdu.serial = f"PD{_stable_int('pdu-serial', self.seed, pdu.id) % 10**10:010d}"
        if not pdu.uuid:
            h = hashlib.sha256(f"pdu-uuid:{self.seed}:{pdu.id}".encode()).hexdigest()
            pdu.uuid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
        self.pdus[pdu.id] = pdu
        self.racks.setdefault(pdu.rack, Rack(pdu.rack)).pdus.append(pdu.id)
        return pdu

    def add_cdu(self, cdu: Cdu) -> Cdu:
        if not cdu.serial:
            cdu.serial = f"CD{_stable_int('cdu-serial', self.seed, cdu.id) % 10**10:010d}"
        if not cdu.uuid:
            h = hashlib.sha256(f"cdu-uuid:{self.seed}:{cdu.id}".encode()).hexdigest()
            cdu.uuid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
        self.cdus[cdu.id] = cdu
        for r in cdu.racks:
            self.racks.setdefault(r, Rack(r)).cdu = cdu.id
        return cdu

    # cooling
    def set_cdu_failed(self, cdu_id: str, failed: bool) -> None:
        cdu = self.cdus[cdu_id]
        if failed and not cdu.failed:
            cdu.failed_since = time.monotonic()
        cdu.failed = failed
        self.emit(
            {
                "cdu": cdu_id,
                "type": "CduStateChanged",
                "message": f"CDU {cdu_id} {'pumps down: coolant supply climbing' if failed else 'back to normal'}",
                "severity": "Critical" if failed else "OK",
            }
        )

    def nodes_cooled_by(self, cdu_id: str) -> list[str]:
        racks = set(self.cdus[cdu_id].racks)
        return sorted(n.id for n in self.nodes.values() if n.rack in racks)

    # power topology
    def set_outlet(self, pdu_id: str, outlet_id: str, powered: bool) -> list[str]:
        """Switch one outlet; returns the ids of what it feeds."""
        outlet = self.pdus[pdu_id].outlets[outlet_id]
        outlet.powered = powered
        self._apply_power()
        return list(outlet.load)

    def set_pdu(self, pdu_id: str, alive: bool) -> list[str]:
        pdu = self.pdus[pdu_id]
        pdu.alive = alive
        self._apply_power()
        return [x for o in pdu.outlets.values() for x in o.load]

    def _feeds(self) -> dict[str, bool]:
        """Whether each load has at least one live feed (dual-corded loads need one)."""
        fed: dict[str, bool] = {}
        for pdu in self.pdus.values():
            for o in pdu.outlets.values():
                for load in o.load:
                    fed[load] = fed.get(load, False) or (pdu.alive and o.powered)
        return fed

    def _apply_power(self) -> None:
        fed = self._feeds()
        for load, ok in fed.items():
            if load in self.nodes:
                self.nodes[load].set_outlet_power(ok)
            elif load in self.switches:
                sw = self.switches[load]
                sw.alive = ok and not getattr(sw, "faulted", False)

    def set_switch_alive(self, switch_id: str, alive: bool) -> None:
        sw = self.switches[switch_id]
        sw.faulted = not alive  # type: ignore[attr-defined]
        fed = self._feeds().get(switch_id, True)
        sw.alive = alive and fed
        self.emit(
            {
                "switch": switch_id,
                "type": "SwitchStateChanged",
                "message": f"switch {'up' if sw.alive else 'down'}",
                "severity": "OK" if sw.alive else "Critical",
            }
        )

    def nodes_below_switch(self, switch_id: str) -> list[str]:
        return sorted(
            n.id
            for n in self.nodes.values()
            if n.mgmt_switch == switch_id or any(nic.switch == switch_id for nic in n.nics)
        )

    def nodes_on_pdu(self, pdu_id: str) -> list[str]:
        pdu = self.pdus[pdu_id]
        return sorted({x for o in pdu.outlets.values() for x in o.load if x in self.nodes})

    def tick(self) -> None:
        """Advance time-driven state (power transitions, counters)."""
        now = time.monotonic()
        for n in self.nodes.values():
            n.advance(now)
        for sw in self.switches.values():
            sw.add_traffic(self.rng)


def move_gpu(fleet: Fleet, src_id: str, index: int, dst_id: str) -> Gpu:
    """Move GPU `index` of node `src_id` into node `dst_id` (a part swapped between servers).

    The GPU keeps its serial and UUID; in the destination it takes the next free index (and so
    a new Redfish id, slot label and VBIOS firmware entry). Raises KeyError or ValueError with
    a readable message.
    """
    src = fleet.nodes.get(src_id)
    dst = fleet.nodes.get(dst_id)
    if src is None or dst is None:
        raise KeyError(f"no node {src_id if src is None else dst_id}")
    if src is dst:
        raise ValueError("source and destination are the same node")
    with src._lock, dst._lock:
        gpu = next((g for g in src.gpus if g.index == index), None)
        if gpu is None:
            raise KeyError(f"node {src_id} has no GPU {index}")
        src.gpus.remove(gpu)
        src.firmware = [f for f in src.firmware if f.id != f"GPU{index}"]
        gpu.index = max((g.index for g in dst.gpus), default=-1) + 1
        dst.gpus.append(gpu)
        dst.firmware.append(Firmware(f"GPU{gpu.index}", f"GPU{gpu.index} VBIOS", gpu.firmware))
    fleet.emit(
        {
            "node": dst_id,
            "type": "GpuMoved",
            "message": f"GPU {gpu.serial} moved from {src_id} (GPU{index}) to {dst_id} (GPU{gpu.index})",
            "severity": "OK",
        }
    )
    return gpu
