"""Scripted fault scenarios and their ground truth.

A scenario file (YAML)::

    name: rack-a-power-loss
    seed: 7                      # picks "random" targets deterministically
    duration_s: 10               # total run time (default: last event + 1 s)
    faults:
      - at: 1                    # seconds after the start
        kind: rack_power_loss
        target: rack-a
        clear_at: 8              # optional
      - at: 2
        kind: xid
        target: random-gpu-node  # a node with GPUs picked with the seed
        params: {gpu: 3, xid: 79}

The runner injects through a ``FaultManager`` (in-process) or the control API
of a running ``gpufleet-sim up``, and writes the ground truth: for every fault
its root cause, affected assets, expected alerts and actions, and when it was
injected and cleared.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from .model import Fleet, now_iso


class Injector(Protocol):
    def inject(self, kind: str, target: str, params: dict) -> dict: ...
    def clear(self, fault_id: str) -> dict: ...


class LocalInjector:
    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def inject(self, kind: str, target: str, params: dict) -> dict:
        return self.manager.inject(kind, target, **params).to_dict()

    def clear(self, fault_id: str) -> dict:
        return self.manager.clear(fault_id).to_dict()


class RemoteInjector:
    """Injects through the control API of a running simulator."""

    def __init__(self, url: str) -> None:
        import httpx

        self.client = httpx.Client(base_url=url.rstrip("/"), timeout=10)

    def inject(self, kind: str, target: str, params: dict) -> dict:
        r = self.client.post("/faults", json={"kind": kind, "target": target, "params": params})
        if r.status_code != 201:
            raise RuntimeError(f"inject {kind} on {target}: {r.status_code} {r.text}")
        return r.json()

    def clear(self, fault_id: str) -> dict:
        r = self.client.delete(f"/faults/{fault_id}")
        r.raise_for_status()
        return r.json()

    def fleet(self) -> dict:
        return self.client.get("/fleet").json()


@dataclass
class Step:
    at: float
    kind: str
    target: str
    params: dict = field(default_factory=dict)
    clear_at: float | None = None
    label: str = ""


@dataclass
class Scenario:
    name: str
    seed: int
    duration_s: float
    steps: list[Step]
    description: str = ""

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        data = yaml.safe_load(Path(path).read_text())
        return cls.from_dict(data, default_name=Path(path).stem)

    @classmethod
    def from_dict(cls, data: dict, default_name: str = "scenario") -> Scenario:
        steps = []
        for i, s in enumerate(data.get("faults") or []):
            if "kind" not in s or "target" not in s:
                raise ValueError(f"fault #{i + 1} needs kind and target")
            steps.append(
                Step(
                    at=float(s.get("at", 0)),
                    kind=str(s["kind"]),
                    target=str(s["target"]),
                    params=dict(s.get("params") or {}),
                    clear_at=float(s["clear_at"]) if s.get("clear_at") is not None else None,
                    label=str(s.get("label", "")),
                )
            )
        last = max([s.at for s in steps] + [s.clear_at or 0 for s in steps] + [0.0])
        return cls(
            name=str(data.get("name", default_name)),
            seed=int(data.get("seed", 0)),
            duration_s=float(data.get("duration_s", last + 1.0)),
            steps=sorted(steps, key=lambda s: s.at),
            description=str(data.get("description", "")),
        )

    def resolve_targets(
        self, node_ids: list[str], gpu_node_ids: list[str], racks: list[str], switches: list[str], pdus: list[str]
    ) -> None:
        """Replace random-* targets with assets picked by the scenario seed."""
        rng = random.Random(self.seed)
        pools = {
            "random-node": sorted(node_ids),
            "random-gpu-node": sorted(gpu_node_ids),
            "random-rack": sorted(racks),
            "random-switch": sorted(switches),
            "random-pdu": sorted(pdus),
        }
        for s in self.steps:
            if s.target in pools:
                if not pools[s.target]:
                    raise ValueError(f"no asset for target {s.target}")
                s.target = rng.choice(pools[s.target])
            if s.params.get("gpu") == "random":
                s.params["gpu"] = rng.randrange(8)


def resolve_for_fleet(sc: Scenario, fleet: Fleet) -> None:
    sc.resolve_targets(
        list(fleet.nodes),
        [n.id for n in fleet.nodes.values() if n.gpus],
        list(fleet.racks),
        list(fleet.switches),
        list(fleet.pdus),
    )
    for s in sc.steps:
        if "gpu" in s.params and s.target in fleet.nodes:
            gpus = len(fleet.nodes[s.target].gpus)
            if gpus:
                s.params["gpu"] = int(s.params["gpu"]) % gpus


async def run(
    sc: Scenario,
    injector: Injector,
    *,
    on_progress: Callable[[float, str], None] | None = None,
    speed: float = 1.0,
) -> dict:
    """Play the scenario in real time (``speed`` > 1 runs faster); return its ground truth."""
    started = now_iso()
    t0 = time.monotonic()
    timeline: list[tuple[float, str, Step]] = []
    for s in sc.steps:
        timeline.append((s.at, "inject", s))
        if s.clear_at is not None:
            timeline.append((s.clear_at, "clear", s))
    timeline.sort(key=lambda x: (x[0], x[1] != "inject"))
    ids: dict[int, str] = {}
    faults: dict[str, dict] = {}
    log: list[dict] = []
    for at, what, step in timeline:
        delay = at / speed - (time.monotonic() - t0)
        if delay > 0:
            await asyncio.sleep(delay)
        if what == "inject":
            f = injector.inject(step.kind, step.target, step.params)
            ids[id(step)] = f["id"]
            f["label"] = step.label
            f["scenario_at_s"] = at
            faults[f["id"]] = f
            msg = f"t+{at:.1f}s inject {step.kind} on {step.target} -> {f['id']}"
        else:
            fid = ids[id(step)]
            cleared = injector.clear(fid)
            faults[fid]["cleared_at"] = cleared.get("cleared_at")
            faults[fid]["scenario_clear_at_s"] = at
            msg = f"t+{at:.1f}s clear {fid} ({step.kind} on {step.target})"
        log.append({"t": at, "event": msg})
        if on_progress:
            on_progress(at / max(sc.duration_s, 1e-9), msg)
    rest = sc.duration_s / speed - (time.monotonic() - t0)
    if rest > 0:
        await asyncio.sleep(rest)
    if on_progress:
        on_progress(1.0, "done")
    return {
        "scenario": sc.name,
        "description": sc.description,
        "seed": sc.seed,
        "started_at": started,
        "finished_at": now_iso(),
        "faults": list(faults.values()),
        "incidents": [
            {
                "root_cause": f["root_cause"],
                "affected": f["affected"],
                "expected_alerts": f["expected_alerts"],
                "expected_actions": f["expected_actions"],
                "window": {"from": f["injected_at"], "to": f.get("cleared_at")},
            }
            for f in faults.values()
        ],
        "log": log,
    }


def write_ground_truth(truth: dict, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    return p
