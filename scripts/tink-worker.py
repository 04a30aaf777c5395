#!/usr/bin/env python3
"""Play tink-worker for one worker id against a tink-server, using the simulator's worker role.

    scripts/tink-worker.py --server 127.0.0.1:42113 --worker 3c:ec:ef:4c:4f:54 \
        [--fail ACTION[=MESSAGE]] [--duration 0.2] [--timeout 60]

Polls GetWorkflowContexts for the worker id (tink v0.12.2 names a worker by the MAC that the
Workflow's hardwareMap renders into the template), runs each action for --duration seconds and
reports it over ReportActionStatus: STATE_SUCCESS, or STATE_FAILED with MESSAGE for the action
named by --fail. Prints the run's result as one JSON line; exits 0 when a workflow ran to its end
(either way), 1 when none was served within --timeout.

Needs the project's Python environment (scripts/python-env.sh) and the worker proto in the
reference data (GPUFLEET_REFERENCE_DIR, default shared/reference beside the repository).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading

from gpufleet_sim.tinkworker import FailureRule, NodeWorker, WorkerConfig


@dataclasses.dataclass
class _Nic:
    mac: str


class StandInNode:
    """The few node attributes the worker role reads and writes: always powered on."""

    def __init__(self, worker_id: str) -> None:
        self.id = worker_id
        self.nics = [_Nic(worker_id)]
        self.power_state = "On"
        self.boot_count = 0
        self.installed_os: str | None = None
        self.sel: list[str] = []

    def add_sel(self, message: str, severity: str, sensor: str) -> None:
        self.sel.append(f"{severity}: {message}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="127.0.0.1:42113")
    p.add_argument("--worker", required=True, help="worker id: the MAC in the workflow's hardwareMap")
    p.add_argument("--fail", action="append", default=[], help="ACTION[=MESSAGE]: report this action failed")
    p.add_argument("--duration", type=float, default=0.2, help="seconds each action 'runs'")
    p.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    a = p.parse_args()

    rules = []
    for f in a.fail:
        action, _, message = f.partition("=")
        rules.append(FailureRule(action=action, message=message or f"action {action} failed"))
    config = WorkerConfig(
        server=a.server, default_duration_s=a.duration, failures=rules, poll_interval_s=0.5, rpc_timeout_s=10.0
    )
    stop = threading.Event()
    timer = threading.Timer(a.timeout, stop.set)
    timer.daemon = True
    timer.start()
    worker = NodeWorker(StandInNode(a.worker.lower()), config, stop)
    result = worker.run()
    timer.cancel()
    print(json.dumps(dataclasses.asdict(result)))
    return 0 if result.state in ("success", "failed", "timeout") else 1


if __name__ == "__main__":
    sys.exit(main())
