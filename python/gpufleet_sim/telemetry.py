"""GPU telemetry in dcgm-exporter's Prometheus format, and optional push to a gpufleet ingest URL.

Metric names are DCGM field names as dcgm-exporter's default counters file lists
them (``reference/gpu/dcgm-exporter/default-counters.csv``); ``counter_names()``
reads that file where it lies so tests can check every emitted name against it.
Labels follow dcgm-exporter: gpu, UUID, pci_bus_id, device, modelName, Hostname,
DCGM_FI_DRIVER_VERSION.  A GPU that fell off the bus is absent, as with the real
exporter; a node whose host is off serves no telemetry at all.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from .model import Gpu, Node

DRIVER_VERSION = "550.90.07"

# (name, type, help) of the fields rendered here; all appear in default-counters.csv.
FIELDS: list[tuple[str, str, str]] = [
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB)."),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "counter", "Total number of NVLink bandwidth counters for all lanes."),
    ("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status"),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors"),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for correctable errors"),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed"),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    (
        "DCGM_FI_PROF_DRAM_ACTIVE",
        "gauge",
        "Ratio of cycles the device memory interface is active sending or receiving data.",
    ),
    (
        "DCGM_FI_PROF_PCIE_TX_BYTES",
        "gauge",
        "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.",
    ),
    (
        "DCGM_FI_PROF_PCIE_RX_BYTES",
        "gauge",
        "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.",
    ),
]

# Not in dcgm-exporter's default set but in DCGM's field list; emitted so the ECC chain is visible.
EXTRA_FIELDS: list[tuple[str, str, str]] = [
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Total number of single-bit volatile ECC errors."),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors."),
    ("DCGM_FI_DEV_ROW_REMAP_PENDING", "gauge", "Whether a row remapping is pending (reset the GPU to apply)."),
]


def reference_dir() -> Path:
    env = os.environ.get("GPUFLEET_REFERENCE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "reference"


def counter_names(path: Path | None = None) -> list[str]:
    """DCGM field names listed in dcgm-exporter's default-counters.csv."""
    p = path or reference_dir() / "gpu" / "dcgm-exporter" / "default-counters.csv"
    names = []
    for line in p.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names.append(line.split(",")[0].strip())
    return names


def _utilization(node: Node, g: Gpu, t: float) -> float:
    """A deterministic, slowly varying workload per GPU."""
    phase = (hash((node.seed_key, g.index)) % 628) / 100.0
    return max(0.0, min(100.0, 70 + 25 * math.sin(t / 60.0 + phase)))


def sample(node: Node, g: Gpu, now: float | None = None) -> dict[str, float]:
    """Current values of every field for one GPU."""
    t = time.monotonic() if now is None else now
    on = node.power_state == "On"
    if on and not g.utilization_pinned:
        g.utilization = _utilization(node, g, t)
    util = g.utilization if on else 0.0
    m = g.model
    power = node.gpu_power(g)
    temp = node.gpu_temperature(g)
    # holding at its slowdown temperature (the rack's CDU failed) the GPU runs slower clocks
    clock_factor = 0.55 if on and node.gpu_thermal_slowdown(g) else 1.0
    fb_reserved = 512
    fb_used = int((m.memory_mib - fb_reserved) * util / 110)
    if on:
        # energy integrates power between samples
        last = g.last_sample
        if last:
            g.energy_mj += power * max(0.0, t - last) * 1000.0
        g.last_sample = t
    return {
        "DCGM_FI_DEV_SM_CLOCK": m.max_sm_clock * (0.6 + 0.4 * util / 100) * clock_factor if on else 0,
        "DCGM_FI_DEV_MEM_CLOCK": m.mem_clock if on else 0,
        "DCGM_FI_DEV_MEMORY_TEMP": temp + 4 if on else temp,
        "DCGM_FI_DEV_GPU_TEMP": temp,
        "DCGM_FI_DEV_POWER_USAGE": power,
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": int(g.energy_mj),
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": g.pcie_replays,
        "DCGM_FI_DEV_GPU_UTIL": int(util),
        "DCGM_FI_DEV_MEM_COPY_UTIL": int(util * 0.6),
        "DCGM_FI_DEV_ENC_UTIL": 0,
        "DCGM_FI_DEV_DEC_UTIL": 0,
        "DCGM_FI_DEV_XID_ERRORS": g.last_xid,
        "DCGM_FI_DEV_FB_FREE": m.memory_mib - fb_reserved - fb_used,
        "DCGM_FI_DEV_FB_USED": fb_used,
        "DCGM_FI_DEV_FB_RESERVED": fb_reserved,
        "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL": int(g.energy_mj / 7),
        "DCGM_FI_DEV_VGPU_LICENSE_STATUS": 0,
        "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": g.remapped_rows_uncorrectable,
        "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": g.remapped_rows_correctable,
        "DCGM_FI_DEV_ROW_REMAP_FAILURE": int(g.row_remap_failure),
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE": round(util / 100, 6),
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": round(util / 100 * 0.55, 6),
        "DCGM_FI_PROF_DRAM_ACTIVE": round(util / 100 * 0.4, 6),
        "DCGM_FI_PROF_PCIE_TX_BYTES": int(util * 2.1e7),
        "DCGM_FI_PROF_PCIE_RX_BYTES": int(util * 2.6e7),
        "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": g.ecc_sbe,
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": g.ecc_dbe,
        "DCGM_FI_DEV_ROW_REMAP_PENDING": int(g.row_remap_pending),
    }


def serves_telemetry(node: Node) -> bool:
    """dcgm-exporter runs in the installed OS: not while the host is off, unreachable or
    PXE-booted into an installer with no OS on disk yet."""
    if not node.host_reachable:
        return False
    return not (node.last_boot_source == "Pxe" and node.installed_os is None)


def _fmt(v: float) -> str:
    if isinstance(v, int) or float(v).is_integer():
        return str(int(v))
    return f"{v:.6g}"


def render(nodes: list[Node]) -> str:
    """Prometheus text exposition of every present GPU of ``nodes`` whose host is up."""
    rows: dict[str, list[str]] = {name: [] for name, _, _ in FIELDS + EXTRA_FIELDS}
    for node in nodes:
        if not serves_telemetry(node):
            continue
        for g in node.present_gpus():
            labels = (
                f'gpu="{g.index}",UUID="{g.uuid}",pci_bus_id="{g.pci_bus_id}",device="nvidia{g.index}",'
                f'modelName="{g.model.name}",Hostname="{node.id}",DCGM_FI_DRIVER_VERSION="{DRIVER_VERSION}"'
            )
            for name, value in sample(node, g).items():
                rows[name].append(f"{name}{{{labels}}} {_fmt(value)}")
    out: list[str] = []
    for name, typ, help_ in FIELDS + EXTRA_FIELDS:
        if not rows[name]:
            continue
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {typ}")
        out.extend(rows[name])
    return "\n".join(out) + "\n"


def snapshot(node: Node) -> dict:
    """One JSON telemetry record for push to an ingest URL."""
    return {
        "node": node.id,
        "rack": node.rack,
        "power_state": node.power_state,
        "time": time.time(),
        "gpus": [
            {"index": g.index, "uuid": g.uuid, "serial": g.serial, "fields": sample(node, g)}
            for g in node.present_gpus()
        ]
        if node.host_reachable
        else [],
    }
