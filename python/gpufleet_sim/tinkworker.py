"""Tinkerbell worker role of the simulated nodes (tink v0.12.2 worker API).

When a node powers on and boots from the network (``node.last_boot_source ==
"Pxe"``, i.e. a PXE boot override was set through Redfish or IPMI), it plays
``tink-worker`` against a tink-server's ``proto.WorkflowService``:

1. ``GetWorkflowContexts(worker_id)`` (server stream) for the workflows waiting
   on this worker; tink v0.12.2 names a worker by the MAC address its Hardware
   maps in the workflow (``hardwareMap: {device_1: <mac>}`` rendered into the
   template's ``worker:``), so the default worker id is the first NIC's MAC;
2. ``GetWorkflowActions(workflow_id)``;
3. for each action of this worker, from where the context says the workflow is:
   ``ReportActionStatus`` STATE_RUNNING, "run" for the configured duration, then
   STATE_SUCCESS, or STATE_FAILED when a :class:`FailureRule` matches, or
   STATE_TIMEOUT when the duration passes the action's ``timeout``;
4. when the last action succeeded, "boot" the installed OS: ``node.installed_os``
   is set (from the image the workflow streamed), a SEL entry and a fleet event
   record it.  A one-time PXE override was already used up by the boot itself.

While no workflow is there the worker polls again every ``poll_interval_s``, as
tink-worker does, until the node powers off, reboots or the face stops.

The Python stubs are generated at run time from the proto in the reference data
(``$GPUFLEET_REFERENCE_DIR/tinkerbell/tink-v0.12.2/proto/v1/workflow.proto``,
default ``shared/reference`` beside the repository) with ``grpc_tools.protoc``
into ``$GPUFLEET_CACHE_DIR`` (default ``~/.cache/gpufleet``); no copy of the proto
lives in the project.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import importlib
import importlib.resources
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc

log = logging.getLogger(__name__)

PROTO_REL = Path("tinkerbell") / "tink-v0.12.2" / "proto" / "v1" / "workflow.proto"
_STUB_NAME = "gpufleet_tink_v1_workflow"
_stub_lock = threading.Lock()
_stubs: dict[Path, tuple[ModuleType, ModuleType]] = {}


class ReferenceDataMissing(FileNotFoundError):
    """The tink worker proto is not where the reference data should be."""


# --------------------------------------------------------------------------- stubs


def reference_dir() -> Path:
    env = os.environ.get("GPUFLEET_REFERENCE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "reference"


def cache_dir() -> Path:
    env = os.environ.get("GPUFLEET_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "gpufleet"


def proto_path(ref: Path | None = None) -> Path:
    return (ref or reference_dir()) / PROTO_REL


def load_stubs(ref: Path | None = None) -> tuple[ModuleType, ModuleType]:
    """``(workflow_pb2, workflow_pb2_grpc)`` generated from the tink v0.12.2 proto (cached)."""
    proto = proto_path(ref)
    if not proto.is_file():
        raise ReferenceDataMissing(
            f"Tinkerbell worker proto not found: {proto}. Set GPUFLEET_REFERENCE_DIR to the reference data "
            f"directory that holds {PROTO_REL.as_posix()} (shared/reference in this project)."
        )
    source = proto.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    with _stub_lock:
        key = proto.resolve()
        if key in _stubs:
            return _stubs[key]
        out = cache_dir() / "tink-stubs" / digest
        if not (out / f"{_STUB_NAME}_pb2_grpc.py").is_file():
            _generate(source, out)
        mods = _import_generated(out, digest)
        _stubs[key] = mods
        return mods


def _generate(source: bytes, out: Path) -> None:
    from grpc_tools import protoc

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".gen-", dir=out.parent))
    try:
        staged = tmp / f"{_STUB_NAME}.proto"
        staged.write_bytes(source)
        include = importlib.resources.files("grpc_tools") / "_proto"
        args = [
            "grpc_tools.protoc",
            f"-I{tmp}",
            f"-I{include}",
            f"--python_out={tmp}",
            f"--grpc_python_out={tmp}",
            str(staged),
        ]
        rc = protoc.main(args)
        if rc != 0:
            raise RuntimeError(f"grpc_tools.protoc failed ({rc}) on the tink worker proto; args: {args}")
        staged.unlink()
        try:
            os.replace(tmp, out)
        except OSError:
            if not (out / f"{_STUB_NAME}_pb2_grpc.py").is_file():  # not another process's copy
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _import_generated(out: Path, digest: str) -> tuple[ModuleType, ModuleType]:
    pb2_name, grpc_name = f"{_STUB_NAME}_pb2", f"{_STUB_NAME}_pb2_grpc"
    existing = sys.modules.get(pb2_name)
    if existing is not None and getattr(existing, "__gpufleet_digest__", None) != digest:
        raise RuntimeError("a different tink worker proto was already loaded in this process")
    path = str(out)
    if path not in sys.path:
        sys.path.insert(0, path)
    pb2 = importlib.import_module(pb2_name)
    pb2.__gpufleet_digest__ = digest  # type: ignore[attr-defined]
    pb2_grpc = importlib.import_module(grpc_name)
    return pb2, pb2_grpc


# --------------------------------------------------------------------------- configuration


@dataclass
class FailureRule:
    """Fail matching actions: ``action`` is a name or glob; ``node`` a node id or glob."""

    action: str
    message: str = "action failed"
    node: str = "*"
    times: int | None = None  # how many failures before the rule is spent (None: always)
    task: str = "*"

    def matches(self, node_id: str, task: str, action: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return (
            fnmatch.fnmatchcase(action, self.action)
            and fnmatch.fnmatchcase(node_id, self.node)
            and fnmatch.fnmatchcase(task, self.task)
        )


@dataclass
class WorkerConfig:
    """How the simulated workers behave."""

    server: str = "127.0.0.1:42113"
    worker_id: str = "mac"  # "mac" (first NIC), "id" (node id) or "uuid" (system UUID)
    default_duration_s: float = 1.0
    durations: dict[str, float] = field(default_factory=dict)  # by action name (globs allowed)
    failures: list[FailureRule] = field(default_factory=list)
    poll_interval_s: float = 3.0
    rpc_timeout_s: float = 10.0
    os_name: str | None = None  # else derived from the workflow's image

    @classmethod
    def from_dict(cls, d: dict) -> WorkerConfig:
        d = dict(d)
        rules = [r if isinstance(r, FailureRule) else FailureRule(**r) for r in d.pop("failures", [])]
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown tinkerbell worker options {sorted(unknown)}; known: {sorted(known)}")
        return cls(failures=rules, **d)

    def duration(self, action: str) -> float:
        if action in self.durations:
            return float(self.durations[action])
        for pattern, secs in self.durations.items():
            if fnmatch.fnmatchcase(action, pattern):
                return float(secs)
        return float(self.default_duration_s)

    def failure(self, node_id: str, task: str, action: str) -> FailureRule | None:
        for rule in self.failures:
            if rule.matches(node_id, task, action):
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None


def worker_id_of(node: Any, mode: str = "mac") -> str:
    if mode == "mac":
        nics = getattr(node, "nics", None) or []
        if nics:
            return nics[0].mac
        return getattr(node, "bmc_mac", node.id)
    if mode == "uuid":
        return str(getattr(node, "uuid", node.id))
    return node.id


_IMAGE_KEYS = ("IMG_URL", "IMAGE_URL", "IMG", "OS_IMAGE")


def os_name_from_actions(actions: list[Any]) -> str | None:
    """The OS a workflow installs, from its image URL (``IMG_URL=.../ubuntu-22.04.raw.gz``)."""
    for a in actions:
        for env in a.environment:
            key, _, value = env.partition("=")
            if key in _IMAGE_KEYS and value:
                base = value.rstrip("/").rsplit("/", 1)[-1]
                base = re.sub(r"(\.(raw|img|qcow2|gz|xz|zst|bz2|tar|iso))+$", "", base)
                return base or None
    return None


# --------------------------------------------------------------------------- the worker


class _Aborted(Exception):
    """The node powered off or rebooted, or the face stopped: the worker dies mid-way."""


@dataclass
class RunResult:
    workflow_id: str | None = None
    state: str = "none"  # none | success | failed | timeout | aborted
    message: str = ""
    actions_done: list[str] = field(default_factory=list)


class NodeWorker:
    """One run of the worker on one node, from a PXE boot until done or interrupted."""

    def __init__(self, node: Any, config: WorkerConfig, stop: threading.Event, stubs: tuple | None = None) -> None:
        self.node = node
        self.config = config
        self.stop = stop
        self.pb2, self.pb2_grpc = stubs or load_stubs()
        self.worker_id = worker_id_of(node, config.worker_id)
        self.boot = getattr(node, "boot_count", 0)
        self.result = RunResult()

    # ------------------------------------------------------------------ guards
    def _check(self) -> None:
        if self.stop.is_set():
            raise _Aborted("stopped")
        if self.node.power_state != "On" or getattr(self.node, "boot_count", 0) != self.boot:
            raise _Aborted("node powered off or rebooted")

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self._check()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.stop.wait(min(left, 0.05))

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        """Poll for work and execute it; returns when a workflow ends or the node goes away."""
        channel = grpc.insecure_channel(self.config.server)
        stub = self.pb2_grpc.WorkflowServiceStub(channel)
        self._event("ProvisioningWorkerStarted", f"tink worker {self.worker_id} polling {self.config.server}")
        try:
            while True:
                self._check()
                try:
                    if self._poll_once(stub):
                        return self.result
                except grpc.RpcError as e:
                    log.info("tink worker %s: %s %s", self.worker_id, e.code(), e.details())
                self._sleep(self.config.poll_interval_s)
        except _Aborted as e:
            self.result.state = "aborted"
            self.result.message = str(e)
            return self.result
        finally:
            channel.close()

    def _poll_once(self, stub: Any) -> bool:
        pb2 = self.pb2
        req = pb2.WorkflowContextRequest(worker_id=self.worker_id)
        contexts = list(stub.GetWorkflowContexts(req, timeout=self.config.rpc_timeout_s))
        for ctx in contexts:
            self._check()
            if ctx.current_action_state in (pb2.STATE_FAILED, pb2.STATE_TIMEOUT):
                continue
            actions = list(
                stub.GetWorkflowActions(
                    pb2.WorkflowActionsRequest(workflow_id=ctx.workflow_id), timeout=self.config.rpc_timeout_s
                ).action_list
            )
            if not actions:
                continue
            start, resume_running = self._start_index(ctx, actions)
            if start is None:
                continue
            if self._execute(stub, ctx.workflow_id, actions, start, resume_running):
                return True
        return False

    def _start_index(self, ctx: Any, actions: list[Any]) -> tuple[int | None, bool]:
        pb2 = self.pb2
        if not ctx.current_action:
            index, running = 0, False
        elif ctx.current_action_state == pb2.STATE_SUCCESS:
            index, running = int(ctx.current_action_index) + 1, False
        elif ctx.current_action_state == pb2.STATE_RUNNING:
            index, running = int(ctx.current_action_index), True
        else:  # pending
            index, running = int(ctx.current_action_index), False
        if index >= len(actions) or actions[index].worker_id != self.worker_id:
            return None, False  # finished, or another worker's turn
        return index, running

    def _report(self, stub: Any, wf_id: str, action: Any, state: int, seconds: int, message: str) -> None:
        from google.protobuf import timestamp_pb2

        ts = timestamp_pb2.Timestamp()
        ts.GetCurrentTime()
        self._check()
        stub.ReportActionStatus(
            self.pb2.WorkflowActionStatus(
                workflow_id=wf_id,
                task_name=action.task_name,
                action_name=action.name,
                action_status=state,
                seconds=seconds,
                message=message,
                created_at=ts,
                worker_id=self.worker_id,
            ),
            timeout=self.config.rpc_timeout_s,
        )

    def _execute(self, stub: Any, wf_id: str, actions: list[Any], start: int, resume_running: bool) -> bool:
        """Run this worker's actions from ``start``; True when the workflow ended (either way)."""
        pb2 = self.pb2
        node_id = self.node.id
        self.result.workflow_id = wf_id
        self._event("ProvisioningStarted", f"workflow {wf_id}: {len(actions) - start} action(s) from #{start}")
        for i in range(start, len(actions)):
            action = actions[i]
            if action.worker_id != self.worker_id:
                return False  # another worker's turn: wait for it
            if not (i == start and resume_running):
                self._report(stub, wf_id, action, pb2.STATE_RUNNING, 0, "Started execution")
            t0 = time.monotonic()
            duration = self.config.duration(action.name)
            rule = self.config.failure(node_id, action.task_name, action.name)
            if action.timeout and duration > action.timeout:
                self._sleep(float(action.timeout))
                msg = f"action timed out after {action.timeout}s"
                self._report(stub, wf_id, action, pb2.STATE_TIMEOUT, int(action.timeout), msg)
                return self._end("timeout", msg, action)
            self._sleep(duration)
            seconds = int(round(time.monotonic() - t0))
            if rule is not None:
                self._report(stub, wf_id, action, pb2.STATE_FAILED, seconds, rule.message)
                return self._end("failed", rule.message, action)
            self._report(stub, wf_id, action, pb2.STATE_SUCCESS, seconds, "finished execution successfully")
            self.result.actions_done.append(action.name)
        self._boot_os(wf_id, actions)
        return True

    def _end(self, state: str, message: str, action: Any) -> bool:
        self.result.state = state
        self.result.message = message
        self.node.add_sel(
            f"Provisioning {state}: action {action.name}: {message}", "Critical", "BaseOSBoot/InstallationStatus"
        )
        self._event("ProvisioningFailed", f"action {action.name} {state}: {message}", "Critical")
        return True

    def _boot_os(self, wf_id: str, actions: list[Any]) -> None:
        name = self.config.os_name or os_name_from_actions(actions) or f"os-from-{wf_id}"
        self.node.installed_os = name
        if getattr(self.node, "boot_override_enabled", "") == "Once" and self.node.boot_override_target == "Pxe":
            self.node.set_boot_override("None", "Disabled")
        self.result.state = "success"
        self.node.add_sel(f"OS {name} installed by workflow {wf_id}; booting it", "OK", "BaseOSBoot/InstallationStatus")
        self._event("Provisioned", f"workflow {wf_id} installed {name}", installed_os=name, workflow=wf_id)

    def _event(self, kind: str, message: str, severity: str = "OK", **extra: Any) -> None:
        emit = getattr(self.node, "emit", None)
        if emit is not None:
            with contextlib.suppress(Exception):
                emit(kind, message, severity, worker_id=self.worker_id, **extra)


# --------------------------------------------------------------------------- the face


class TinkWorkers:
    """Starts a :class:`NodeWorker` whenever a node of the fleet PXE-boots."""

    def __init__(self, fleet: Any, config: WorkerConfig | None = None) -> None:
        self.fleet = fleet
        self.config = config or WorkerConfig()
        self.stubs = load_stubs()  # fail early, naming the missing proto
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self.results: dict[str, list[RunResult]] = {}
        self._listeners: list[tuple[Any, Callable]] = []
        for node in fleet.nodes.values():
            cb = self._make_listener()
            node.on_power_change.append(cb)
            self._listeners.append((node, cb))

    def _make_listener(self) -> Callable[[Any, str, str], None]:
        def on_power_change(node: Any, old: str, new: str) -> None:
            if new == "On" and old != "On" and getattr(node, "last_boot_source", None) == "Pxe":
                self.start(node)

        return on_power_change

    def start(self, node: Any) -> threading.Thread:
        """Run the worker on ``node`` now (in a thread; the callback must not block)."""
        worker = NodeWorker(node, self.config, self._stop, self.stubs)

        def run() -> None:
            result = worker.run()
            with self._lock:
                self.results.setdefault(node.id, []).append(result)
            log.info("tink worker on %s: %s %s", node.id, result.state, result.message)

        t = threading.Thread(target=run, name=f"tink-worker-{node.id}", daemon=True)
        with self._lock:
            self._threads[node.id] = t
        t.start()
        return t

    def started(self, node_id: str) -> bool:
        """Whether a worker was ever started on ``node_id`` (the decision is taken in the power
        change itself, so once a node reads "On" this no longer changes for that boot)."""
        with self._lock:
            return node_id in self._threads

    def wait(self, node_id: str, timeout: float) -> RunResult | None:
        """The last result of ``node_id`` once its running worker finished (None on timeout)."""
        with self._lock:
            t = self._threads.get(node_id)
        if t is not None:
            t.join(timeout)
            if t.is_alive():
                return None
        with self._lock:
            res = self.results.get(node_id)
            return res[-1] if res else None

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for node, cb in self._listeners:
            with contextlib.suppress(ValueError):
                node.on_power_change.remove(cb)
        self._listeners.clear()
        with self._lock:
            threads = list(self._threads.values())
        for t in threads:
            t.join(timeout)


def config_from_fleet(fleet: Any) -> WorkerConfig | None:
    """Worker options from the topology (``options: {tinkerbell: {...}}``) or ``GPUFLEET_TINK_SERVER``."""
    opts = dict((getattr(fleet, "options", None) or {}).get("tinkerbell") or {})
    env = os.environ.get("GPUFLEET_TINK_SERVER")
    if env and "server" not in opts:
        opts["server"] = env
    if not opts.get("server"):
        return None
    return WorkerConfig.from_dict(opts)


async def start_fleet(fleet: Any) -> Callable[[], Any] | None:
    """Fleet starter: nodes play tink-worker when a tink-server is configured."""
    config = config_from_fleet(fleet)
    if config is None:
        log.info("Tinkerbell worker face off: no tink-server configured (options.tinkerbell.server)")
        return None
    workers = TinkWorkers(fleet, config)
    log.info("Tinkerbell worker face on: %d nodes, tink-server %s", len(fleet.nodes), config.server)

    async def stop() -> None:
        workers.stop()

    return stop


def install(fleet: Any) -> None:
    """Have ``gpufleet-sim up`` start the worker face."""
    fleet.add_starter(start_fleet)
