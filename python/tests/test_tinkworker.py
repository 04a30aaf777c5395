"""The Tinkerbell worker role against an in-test fake of tink-server's WorkflowService.

The fake keeps workflows the way tink-server v0.12.2 does (one current action,
its state) and refuses reports that do not follow the worker protocol: each
action reported RUNNING, then one final state, in order, by the right worker.
"""

from __future__ import annotations

import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from gpufleet_sim import tinkworker
from gpufleet_sim.model import Fleet, Node

pb2, pb2_grpc = tinkworker.load_stubs()

S = pb2  # states: S.STATE_RUNNING ...


@dataclass
class FakeWorkflow:
    id: str
    worker: str
    actions: list[tuple[str, str, int, list[str]]]  # (task, name, timeout, environment)
    current: int = 0
    state: int = 0  # STATE_PENDING
    started: bool = False
    reports: list[tuple[str, int, int, str]] = field(default_factory=list)


class FakeTinkServer(pb2_grpc.WorkflowServiceServicer):
    def __init__(self) -> None:
        self.workflows: dict[str, FakeWorkflow] = {}
        self.lock = threading.Lock()
        self.context_requests: list[str] = []
        self.errors: list[str] = []

    # the tink-server v0.12.2 view of a workflow
    def _context(self, wf: FakeWorkflow):
        task, name, _, _ = wf.actions[wf.current]
        return pb2.WorkflowContext(
            workflow_id=wf.id,
            current_worker=wf.worker,
            current_task=task,
            current_action=name if wf.started else "",
            current_action_index=wf.current,
            current_action_state=wf.state,
            total_number_of_actions=len(wf.actions),
        )

    def GetWorkflowContexts(self, request, context):
        with self.lock:
            self.context_requests.append(request.worker_id)
            live = [
                self._context(wf)
                for wf in self.workflows.values()
                if wf.worker == request.worker_id
                and wf.state in (S.STATE_PENDING, S.STATE_RUNNING)
                or (wf.worker == request.worker_id and wf.state == S.STATE_SUCCESS and wf.current < len(wf.actions) - 1)
            ]
        yield from live

    def GetWorkflowActions(self, request, context):
        wf = self.workflows.get(request.workflow_id)
        if wf is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "workflow not found")
        return pb2.WorkflowActionList(
            action_list=[
                pb2.WorkflowAction(
                    task_name=t,
                    name=n,
                    image=f"quay.io/tinkerbell-actions/{n}:v1",
                    timeout=to,
                    environment=env,
                    worker_id=wf.worker,
                )
                for t, n, to, env in wf.actions
            ]
        )

    def _fail(self, context, msg: str):
        self.errors.append(msg)
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, msg)

    def ReportActionStatus(self, request, context):
        with self.lock:
            wf = self.workflows.get(request.workflow_id)
            if wf is None:
                self._fail(context, f"unknown workflow {request.workflow_id}")
            wf.reports.append((request.action_name, request.action_status, request.seconds, request.message))
            if request.worker_id != wf.worker:
                self._fail(context, f"report from worker {request.worker_id}, expected {wf.worker}")
            if not request.HasField("created_at") or request.created_at.seconds == 0:
                self._fail(context, "report without created_at")
            if wf.state in (S.STATE_FAILED, S.STATE_TIMEOUT):
                self._fail(context, "workflow already ended")
            task, name, _, _ = wf.actions[wf.current]
            if request.action_status == S.STATE_RUNNING:
                # RUNNING starts the next action (or the first one)
                if wf.started and wf.state == S.STATE_SUCCESS:
                    wf.current += 1
                    task, name, _, _ = wf.actions[wf.current]
                elif wf.started:
                    self._fail(context, f"RUNNING for {request.action_name} while {name} is not finished")
                if (request.task_name, request.action_name) != (task, name):
                    self._fail(context, f"RUNNING for {request.action_name}, expected {name}")
                wf.started = True
                wf.state = S.STATE_RUNNING
            else:
                if wf.state != S.STATE_RUNNING or request.action_name != name:
                    self._fail(context, f"final state for {request.action_name} before it was RUNNING")
                wf.state = request.action_status
        return pb2.Empty()


@pytest.fixture()
def tink():
    fake = FakeTinkServer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb2_grpc.add_WorkflowServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    fake.address = f"127.0.0.1:{port}"
    yield fake
    server.stop(0).wait(5)


@pytest.fixture()
def fleet():
    f = Fleet(seed=11)
    f.add_node(Node("gpu-001", "hgx-h100-8gpu", "rack-1", power_delay_s=0, power_state="Off"))
    f.add_node(Node("gpu-002", "l40s-4gpu", "rack-1", power_delay_s=0, power_state="Off"))
    return f


ACTIONS = [
    (
        "os-installation",
        "stream-ubuntu-image",
        600,
        ["DEST_DISK=/dev/nvme0n1", "IMG_URL=http://10.1.1.11/ubuntu-22.04.raw.gz"],
    ),
    ("os-installation", "install-nvidia-driver", 300, []),
    ("os-installation", "kexec-ubuntu", 90, []),
]


def make_workers(fleet, tink, **kw):
    opts = {"server": tink.address, "default_duration_s": 0.05, "poll_interval_s": 0.1, "rpc_timeout_s": 5}
    opts.update(kw)
    return tinkworker.TinkWorkers(fleet, tinkworker.WorkerConfig.from_dict(opts))


def test_pxe_boot_runs_workflow_and_boots_installed_os(fleet, tink):
    node = fleet.nodes["gpu-001"]
    mac = node.nics[0].mac
    tink.workflows["wf-1"] = FakeWorkflow("wf-1", mac, list(ACTIONS))
    workers = make_workers(fleet, tink, durations={"install-nvidia-driver": 1.2})
    try:
        node.set_boot_override("Pxe", "Once")
        node.power_on()
        result = workers.wait("gpu-001", timeout=20)
    finally:
        workers.stop()
    assert tink.errors == []
    assert result is not None and result.state == "success", result
    assert tink.context_requests[0] == mac  # tink v0.12.2 names the worker by its MAC
    reports = [(name, state) for name, state, _, _ in tink.workflows["wf-1"].reports]
    assert reports == [
        ("stream-ubuntu-image", S.STATE_RUNNING),
        ("stream-ubuntu-image", S.STATE_SUCCESS),
        ("install-nvidia-driver", S.STATE_RUNNING),
        ("install-nvidia-driver", S.STATE_SUCCESS),
        ("kexec-ubuntu", S.STATE_RUNNING),
        ("kexec-ubuntu", S.STATE_SUCCESS),
    ]
    by_name = {(n, st): (secs, msg) for n, st, secs, msg in tink.workflows["wf-1"].reports}
    assert by_name[("install-nvidia-driver", S.STATE_SUCCESS)][0] == 1  # the configured 1.2 s, in whole seconds
    assert by_name[("stream-ubuntu-image", S.STATE_RUNNING)][1] == "Started execution"
    assert node.installed_os == "ubuntu-22.04"
    assert (node.boot_override_target, node.boot_override_enabled) == ("None", "Disabled")
    assert any("ubuntu-22.04 installed" in e["message"] for e in node.sel)
    assert any(e.get("type") == "Provisioned" and e.get("node") == "gpu-001" for e in fleet.events)


def test_failure_rule_fails_the_named_action(fleet, tink):
    node = fleet.nodes["gpu-001"]
    tink.workflows["wf-2"] = FakeWorkflow("wf-2", node.nics[0].mac, list(ACTIONS))
    workers = make_workers(
        fleet, tink, failures=[{"action": "install-nvidia-*", "message": "nvidia-smi: no devices found"}]
    )
    try:
        node.set_boot_override("Pxe", "Once")
        node.power_on()
        result = workers.wait("gpu-001", timeout=20)
    finally:
        workers.stop()
    assert tink.errors == []
    assert result.state == "failed" and result.message == "nvidia-smi: no devices found"
    assert tink.workflows["wf-2"].reports[-2:] == [
        ("install-nvidia-driver", S.STATE_RUNNING, 0, "Started execution"),
        ("install-nvidia-driver", S.STATE_FAILED, 0, "nvidia-smi: no devices found"),
    ]
    assert "kexec-ubuntu" not in {r[0] for r in tink.workflows["wf-2"].reports}
    assert tink.workflows["wf-2"].state == S.STATE_FAILED
    assert node.installed_os is None
    assert any(e.get("type") == "ProvisioningFailed" for e in fleet.events)


def test_action_longer_than_its_timeout_reports_timeout(fleet, tink):
    node = fleet.nodes["gpu-002"]
    tink.workflows["wf-3"] = FakeWorkflow("wf-3", node.nics[0].mac, [("t", "slow", 1, []), ("t", "never", 60, [])])
    workers = make_workers(fleet, tink, durations={"slow": 30})
    try:
        node.set_boot_override("Pxe", "Once")
        node.power_on()
        # the action would take 30 s: a result within the 20 s wait is the 1 s timeout at work
        result = workers.wait("gpu-002", timeout=20)
    finally:
        workers.stop()
    assert result is not None and result.state == "timeout"
    assert tink.workflows["wf-3"].reports[-1][:3] == ("slow", S.STATE_TIMEOUT, 1)
    assert tink.errors == []


def test_only_pxe_boots_start_the_worker(fleet, tink):
    node = fleet.nodes["gpu-001"]
    tink.workflows["wf-4"] = FakeWorkflow("wf-4", node.nics[0].mac, list(ACTIONS))
    workers = make_workers(fleet, tink)
    try:
        node.power_on()  # boots from disk
        # reading "On" applies the power change and runs its listeners, where a worker would start
        assert node.power_state == "On" and node.last_boot_source != "Pxe"
        assert not workers.started("gpu-001")
        assert tink.context_requests == []
        # the same node booted from the network does start one
        node.power_off()
        node.set_boot_override("Pxe", "Once")
        node.power_on()
        assert node.power_state == "On" and node.last_boot_source == "Pxe"
        assert workers.started("gpu-001")
    finally:
        workers.stop()


def test_worker_waits_for_a_workflow_and_leaves_others_alone(fleet, tink):
    a, b = fleet.nodes["gpu-001"], fleet.nodes["gpu-002"]
    tink.workflows["wf-b"] = FakeWorkflow("wf-b", b.nics[0].mac, list(ACTIONS))
    workers = make_workers(fleet, tink)
    try:
        a.set_boot_override("Pxe", "Once")
        a.power_on()
        deadline = time.monotonic() + 5
        while len(tink.context_requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(tink.context_requests) >= 3  # keeps polling, as tink-worker does
        assert tink.workflows["wf-b"].reports == []  # not its workflow
        tink.workflows["wf-a"] = FakeWorkflow("wf-a", a.nics[0].mac, [("t", "only", 60, [])])
        result = workers.wait("gpu-001", timeout=20)
    finally:
        workers.stop()
    assert result.state == "success" and result.workflow_id == "wf-a"
    assert a.installed_os == "os-from-wf-a"


def test_power_off_kills_the_worker_mid_workflow(fleet, tink):
    node = fleet.nodes["gpu-001"]
    tink.workflows["wf-5"] = FakeWorkflow("wf-5", node.nics[0].mac, list(ACTIONS))
    workers = make_workers(fleet, tink, default_duration_s=5)
    try:
        node.set_boot_override("Pxe", "Once")
        node.power_on()
        deadline = time.monotonic() + 5
        while not tink.workflows["wf-5"].reports and time.monotonic() < deadline:
            time.sleep(0.05)
        node.power_off()
        result = workers.wait("gpu-001", timeout=5)
    finally:
        workers.stop()
    assert result.state == "aborted"
    assert tink.workflows["wf-5"].reports == [("stream-ubuntu-image", S.STATE_RUNNING, 0, "Started execution")]
    assert node.installed_os is None


def test_resumes_a_running_workflow_without_reporting_running_again(fleet, tink):
    node = fleet.nodes["gpu-001"]
    wf = FakeWorkflow("wf-6", node.nics[0].mac, list(ACTIONS), current=1, state=S.STATE_RUNNING, started=True)
    tink.workflows["wf-6"] = wf
    workers = make_workers(fleet, tink)
    try:
        node.set_boot_override("Pxe", "Once")
        node.power_on()
        result = workers.wait("gpu-001", timeout=20)
    finally:
        workers.stop()
    assert tink.errors == []
    assert result.state == "success"
    assert [(n, s) for n, s, _, _ in wf.reports] == [
        ("install-nvidia-driver", S.STATE_SUCCESS),
        ("kexec-ubuntu", S.STATE_RUNNING),
        ("kexec-ubuntu", S.STATE_SUCCESS),
    ]


def test_worker_id_modes(fleet):
    node = fleet.nodes["gpu-001"]
    assert tinkworker.worker_id_of(node) == node.nics[0].mac
    assert tinkworker.worker_id_of(node, "id") == "gpu-001"
    assert tinkworker.worker_id_of(node, "uuid") == node.uuid


def test_config_from_fleet_options(fleet, monkeypatch):
    monkeypatch.delenv("GPUFLEET_TINK_SERVER", raising=False)
    assert tinkworker.config_from_fleet(fleet) is None
    fleet.options["tinkerbell"] = {"server": "127.0.0.1:42113", "failures": [{"action": "x", "message": "y"}]}
    cfg = tinkworker.config_from_fleet(fleet)
    assert cfg.server == "127.0.0.1:42113" and cfg.failures[0].message == "y"
    fleet.options["tinkerbell"]["bogus"] = 1
    with pytest.raises(ValueError, match="bogus"):
        tinkworker.config_from_fleet(fleet)


def test_failure_rule_times_and_globs():
    cfg = tinkworker.WorkerConfig(
        failures=[tinkworker.FailureRule("stream-*", "disk gone", node="gpu-00[12]", times=1)]
    )
    assert cfg.failure("gpu-003", "t", "stream-img") is None
    assert cfg.failure("gpu-001", "t", "stream-img").message == "disk gone"
    assert cfg.failure("gpu-001", "t", "stream-img") is None  # spent


def test_missing_proto_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUFLEET_REFERENCE_DIR", str(tmp_path))
    with pytest.raises(tinkworker.ReferenceDataMissing) as e:
        tinkworker.load_stubs()
    assert str(tmp_path / "tinkerbell" / "tink-v0.12.2" / "proto" / "v1" / "workflow.proto") in str(e.value)
    assert "GPUFLEET_REFERENCE_DIR" in str(e.value)


def test_stubs_are_generated_into_the_cache(tmp_path, monkeypatch):
    proto = tinkworker.proto_path()
    ref = tmp_path / "ref"
    (ref / tinkworker.PROTO_REL).parent.mkdir(parents=True)
    (ref / tinkworker.PROTO_REL).write_bytes(proto.read_bytes())
    cache = tmp_path / "cache"
    monkeypatch.setenv("GPUFLEET_CACHE_DIR", str(cache))
    mods = tinkworker.load_stubs(ref)
    generated = list(cache.glob("tink-stubs/*/gpufleet_tink_v1_workflow_pb2*.py"))
    assert len(generated) == 2
    assert mods[0].DESCRIPTOR.package == "proto"
    assert Path(mods[1].__file__).exists()


def test_redfish_pxe_boot_provisions_through_the_running_simulator(tink):
    """As ``gpufleet-sim up`` runs it: a Redfish PXE boot makes the node install what tink-server says."""
    import httpx

    from gpufleet_sim.server import ThreadedFleet
    from gpufleet_sim.testing import topology_dict
    from gpufleet_sim.topology import build

    topo = topology_dict(1, "l40s-4gpu", power_state="Off")
    topo["options"] = {"tinkerbell": {"server": tink.address, "default_duration_s": 0.05, "poll_interval_s": 0.1}}
    fleet = build(topo)
    tinkworker.install(fleet)
    node = next(iter(fleet.nodes.values()))
    tink.workflows["wf-rf"] = FakeWorkflow("wf-rf", node.nics[0].mac, list(ACTIONS))
    with ThreadedFleet(fleet, control=None, tick_s=0.1):
        host, port = node.redfish_address
        with httpx.Client(base_url=f"http://{host}:{port}", auth=("admin", "password"), timeout=10) as rf:
            r = rf.patch(
                "/redfish/v1/Systems/1",
                json={"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}},
            )
            assert r.status_code in (200, 204), r.text
            r = rf.post("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", json={"ResetType": "On"})
            assert r.status_code in (200, 202, 204), r.text
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if rf.get("/redfish/v1/Systems/1").json()["Oem"]["Gpufleet"].get("InstalledOS") == "ubuntu-22.04":
                    break
                time.sleep(0.1)
            system = rf.get("/redfish/v1/Systems/1").json()
    assert tink.errors == []
    assert system["Oem"]["Gpufleet"]["InstalledOS"] == "ubuntu-22.04", system
    assert system["PowerState"] == "On"
    assert system["Boot"]["BootSourceOverrideEnabled"] == "Disabled"
    assert [s for _, s, _, _ in tink.workflows["wf-rf"].reports][-1] == S.STATE_SUCCESS
