"""``gpufleet-batch``: fleet-wide operations and reports on the SDK.

    gpufleet-batch import inventory.yaml                 # POST /api/v1/import (all or nothing)
    gpufleet-batch power cycle --rack rack-a             # one power job per node, each awaited
    gpufleet-batch pxe --state ready --reset             # boot from PXE once (and reset)
    gpufleet-batch bios --set SriovEnable=Enabled --node n1 --node n2
    gpufleet-batch firmware --url http://repo/fw.bin --label role=gpu
    gpufleet-batch report gpus|drift|stuck|failed-gpus

Every command shows a progress bar and a summary table; ``--dry-run`` shows what would be done and
changes nothing; ``--concurrency N`` bounds how many jobs are submitted and awaited at once;
``--report FILE.csv|FILE.json`` writes every item with its result and the reason of a failure. The
exit status is 1 when any item failed, 2 on a usage or connection error.

The server and the credentials come from ``--server`` / ``--token`` or ``GPUFLEET_SERVER`` /
``GPUFLEET_TOKEN`` (or ``--username`` with ``GPUFLEET_PASSWORD``). Needs ``rich``
(``pip install 'gpufleet-sdk[batch]'``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .client import Client
from .errors import ApiError, JobTimeout

try:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
except ImportError:  # pragma: no cover - reported by main()
    Console = None  # type: ignore[assignment,misc]

POWER_ACTIONS = ("on", "off", "graceful_shutdown", "cycle", "reset")


@dataclass
class Item:
    """One unit of work and its outcome: ``status`` is succeeded, failed or planned (dry run)."""

    name: str
    action: str
    status: str = "pending"
    reason: str = ""
    node_id: str = ""
    job_id: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


class Runner:
    """Runs one function per item with at most ``concurrency`` at once, a progress bar, and the
    number of items in flight tracked (``max_in_flight``)."""

    def __init__(self, console: Any, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("--concurrency must be at least 1")
        self.console = console
        self.concurrency = concurrency
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def run(self, title: str, items: list[Item], work: Callable[[Item], None]) -> None:
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=self.console,
        )

        def one(item: Item) -> None:
            with self._lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                work(item)
                if item.status == "pending":
                    item.status = "succeeded"
            except JobTimeout as e:
                item.status, item.reason = (
                    "failed",
                    f"job {e.job.get('id')} still {e.job.get('state')} after {e.timeout:g} s",
                )
            except ApiError as e:
                item.status, item.reason = "failed", f"HTTP {e.status}: {e.detail or e.title}"
            except Exception as e:  # noqa: BLE001 - every failure is reported per item
                item.status, item.reason = "failed", f"{type(e).__name__}: {e}"
            finally:
                with self._lock:
                    self.in_flight -= 1

        with progress:
            task = progress.add_task(title, total=len(items), failed=0)
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                futures = [pool.submit(one, item) for item in items]
                for f in futures:
                    f.result()
                    progress.update(
                        task, completed=sum(f.done() for f in futures), failed=sum(i.status == "failed" for i in items)
                    )


# ---------------------------------------------------------------------------------------- output


def summary(console: Any, title: str, items: list[Item]) -> None:
    table = Table(title=title)
    for col in ("item", "action", "result", "job", "reason"):
        table.add_column(col)
    style = {"succeeded": "green", "failed": "red", "planned": "cyan"}
    for i in items:
        table.add_row(i.name, i.action, f"[{style.get(i.status, '')}]{i.status}[/]", i.job_id, i.reason)
    console.print(table)
    counts = Counter(i.status for i in items)
    console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do")


def write_report(path: Path, items: list[Item]) -> None:
    rows = [asdict(i) for i in items]
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, indent=2, default=str) + "\n")
        return
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["name", "action", "status", "reason", "node_id", "job_id", "detail"])
        w.writeheader()
        for r in rows:
            r["detail"] = json.dumps(r["detail"], default=str) if r["detail"] else ""
            w.writerow(r)


# ---------------------------------------------------------------------------------------- selection


def select_nodes(fleet: Client, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The nodes named (``--node``, id or name) or matched by the list filters, in name order."""
    if args.node:
        return [fleet.get(f"nodes/{n}") for n in args.node]
    params = {"rack": args.rack, "state": args.state, "label": args.label, "model": args.model, "profile": args.profile}
    if not any(params.values()) and not args.all:
        raise SystemExit("select nodes: --node, --rack, --state, --label, --model, --profile or --all")
    return sorted(fleet.paginate("nodes", params, page_size=500), key=lambda n: n["name"])


# ---------------------------------------------------------------------------------------- job commands


def job_command(
    fleet: Client, args: argparse.Namespace, console: Any, action: str, steps: list[tuple[str, dict[str, Any]]]
) -> list[Item]:
    """Submits ``steps`` (route under ``nodes/{id}/``, body) per node in order, each job awaited
    within ``--timeout`` before the next; a step that fails ends that node's work."""
    nodes = select_nodes(fleet, args)
    items = [Item(name=n["name"], action=action, node_id=n["id"]) for n in nodes]
    if args.dry_run:
        for i in items:
            i.status = "planned"
            i.reason = "; ".join(f"POST nodes/{i.node_id}/{route} {json.dumps(body)}" for route, body in steps)
        return items

    def work(item: Item) -> None:
        for route, body in steps:
            job = fleet.post(f"nodes/{item.node_id}/{route}", {**body, "deadline_s": int(args.timeout)})
            item.job_id = job["id"]
            done = fleet.wait_for_job(job["id"], timeout=args.timeout)
            item.detail[route] = done["state"]
            if done["state"] != "succeeded":
                item.status = "failed"
                item.reason = f"{route}: job {done['state']}: {done.get('error') or ''}".strip()
                return

    Runner(console, args.concurrency).run(action, items, work)
    return items


def cmd_power(fleet, args, console):
    return job_command(fleet, args, console, f"power {args.action}", [("power", {"action": args.action})])


def cmd_pxe(fleet, args, console):
    steps = [("boot", {"device": "pxe", "persistent": args.persistent})]
    if args.reset:
        steps.append(("power", {"action": "reset"}))
    return job_command(fleet, args, console, "pxe boot", steps)


def _attributes(pairs: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set takes KEY=VALUE, not {p!r}")
        out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out


def cmd_bios(fleet, args, console):
    attrs = _attributes(args.set)
    if not attrs:
        raise SystemExit("bios: give at least one --set KEY=VALUE")
    return job_command(fleet, args, console, "bios set", [("bios", {"attributes": attrs, "apply": args.apply})])


def cmd_firmware(fleet, args, console):
    body: dict[str, Any] = {"url": args.url}
    if args.target:
        body["targets"] = args.target
    return job_command(fleet, args, console, "firmware update", [("firmware", body)])


def cmd_import(fleet, args, console):
    path = Path(args.file)
    fmt = args.format or ("csv" if path.suffix.lower() == ".csv" else "yaml")
    item = Item(name=path.name, action="import (dry run)" if args.dry_run else "import")

    def work(item: Item) -> None:
        try:
            r = fleet.request(
                "POST",
                "import",
                params={"format": fmt, "dry_run": "true" if args.dry_run else None},
                content=path.read_bytes(),
                headers={"Content-Type": "text/csv" if fmt == "csv" else "application/yaml"},
            )
        except ApiError as e:
            # The import is all or nothing: every problem of the file is named.
            errors = e.problem.get("errors") or []
            item.detail = {"errors": errors}
            item.status = "failed"
            item.reason = "; ".join(
                [e.detail or e.title] + [f"{x.get('item')} (line {x.get('line')}): {x.get('message')}" for x in errors]
            )
            return
        s = r.json()
        item.detail = s
        created = ", ".join(f"{n} {k}" for k, n in sorted(s.get("created", {}).items()))
        item.reason = (
            f"{'would create' if args.dry_run else 'created'} {created or 'nothing'}; {s.get('relations', 0)} relations"
        )
        if args.dry_run:
            item.status = "planned"

    Runner(console, 1).run("import", [item], work)
    return [item]


# ---------------------------------------------------------------------------------------- reports


def report_gpus(fleet: Client, console: Any) -> list[Item]:
    """GPUs by model and VBIOS (firmware) version."""
    counts: Counter[tuple[str, str]] = Counter()
    for g in fleet.paginate("gpus", page_size=500):
        spec = g.get("spec") or {}
        counts[(spec.get("model") or "?", spec.get("vbios") or "?")] += 1
    return [
        Item(name=model, action="gpus", status="succeeded", reason=f"vbios {fw}: {n}", detail={"vbios": fw, "count": n})
        for (model, fw), n in sorted(counts.items())
    ]


def report_drift(fleet: Client, console: Any) -> list[Item]:
    """Every node with a profile, validated against it (firmware, BIOS, GPUs): failed = drift."""
    items = []
    for n in fleet.paginate("nodes", page_size=500):
        if not (n.get("status") or {}).get("profile_id"):
            continue
        item = Item(name=n["name"], action="validation", node_id=n["id"])
        try:
            v = fleet.get(f"nodes/{n['id']}/validation")
            bad = [c for c in v["checks"] if not c["ok"]]
            item.status = "succeeded" if v["passed"] else "failed"
            item.reason = "; ".join(f"{c['field']}: expected {c['expected']}, got {c['actual']}" for c in bad)
            item.detail = {"profile": v["profile"]}
        except ApiError as e:
            item.status, item.reason = "failed", f"HTTP {e.status}: {e.detail or e.title}"
        items.append(item)
    return items


def report_stuck(fleet: Client, console: Any) -> list[Item]:
    """Nodes past their lifecycle state's deadline (``stuck=true``)."""
    return [
        Item(
            name=n["name"],
            action="stuck",
            status="failed",
            node_id=n["id"],
            reason=f"in {(n.get('status') or {}).get('state')} since {(n.get('status') or {}).get('state_entered_at')}, "
            f"deadline {(n.get('status') or {}).get('deadline_at')}",
        )
        for n in fleet.paginate("nodes", {"stuck": "true"}, page_size=500)
    ]


def report_failed_gpus(fleet: Client, console: Any) -> list[Item]:
    """GPUs whose derived health is failed, with their reasons (XIDs) and health history."""
    items = []
    for g in fleet.paginate("gpus", page_size=500):
        h = fleet.get(f"gpus/{g['id']}/health")
        if h["status"]["state"] != "failed":
            continue
        xids = [_reason(r) for r in h["status"].get("reasons") or []]
        history = [f"{c['at']} {c['old_state']}->{c['new_state']}" for c in h.get("history") or []]
        items.append(
            Item(
                name=h["name"],
                action="failed gpu",
                status="failed",
                node_id=h.get("node") or "",
                reason="; ".join(xids),
                detail={"serial": h.get("serial"), "history": history, "reasons": h["status"].get("reasons")},
            )
        )
    return items


def _reason(r: Any) -> str:
    """One health reason in words: ``XID 79 ROBUST_CHANNEL_… (GPU has fallen off the bus)``."""
    if not isinstance(r, dict):
        return str(r)
    if r.get("kind") == "xid":
        return f"XID {r.get('code')} {r.get('mnemonic') or ''} ({r.get('description') or ''})".replace(" ()", "")
    return r.get("description") or r.get("kind") or json.dumps(r, default=str)


REPORTS = {"gpus": report_gpus, "drift": report_drift, "stuck": report_stuck, "failed-gpus": report_failed_gpus}


# ---------------------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=os.environ.get("GPUFLEET_SERVER", "http://127.0.0.1:8080"))
    common.add_argument("--token", default=os.environ.get("GPUFLEET_TOKEN"))
    common.add_argument("--username", help="log in as this user (password from GPUFLEET_PASSWORD)")
    common.add_argument("--dry-run", action="store_true", help="show what would be done; change nothing")
    common.add_argument("--concurrency", type=int, default=8, help="jobs in flight at most (default 8)")
    common.add_argument("--timeout", type=float, default=600.0, help="deadline of each job in seconds")
    common.add_argument("--report", type=Path, help="write every item with its result to FILE.csv or FILE.json")

    select = argparse.ArgumentParser(add_help=False)
    select.add_argument("--node", action="append", default=[], help="node id or name (repeatable)")
    for opt in ("rack", "state", "label", "model", "profile"):
        select.add_argument(f"--{opt}")
    select.add_argument("--all", action="store_true", help="every node")

    p = argparse.ArgumentParser(prog="gpufleet-batch", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", parents=[common], help="import an inventory file (YAML or CSV)")
    imp.add_argument("file")
    imp.add_argument("--format", choices=["yaml", "csv"])
    imp.set_defaults(func=cmd_import)
    pw = sub.add_parser("power", parents=[common, select], help="power on/off/cycle/reset nodes")
    pw.add_argument("action", choices=POWER_ACTIONS)
    pw.set_defaults(func=cmd_power)
    px = sub.add_parser("pxe", parents=[common, select], help="boot nodes from PXE")
    px.add_argument("--persistent", action="store_true", help="every boot, not only the next one")
    px.add_argument("--reset", action="store_true", help="reset each node after setting the boot device")
    px.set_defaults(func=cmd_pxe)
    bi = sub.add_parser("bios", parents=[common, select], help="set BIOS attributes")
    bi.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    bi.add_argument("--apply", action="store_true", help="reset the node so that the settings apply")
    bi.set_defaults(func=cmd_bios)
    fw = sub.add_parser("firmware", parents=[common, select], help="update firmware from a URL")
    fw.add_argument("--url", required=True)
    fw.add_argument("--target", action="append", default=[], help="firmware inventory id (repeatable)")
    fw.set_defaults(func=cmd_firmware)
    rp = sub.add_parser("report", parents=[common], help="fleet reports")
    rp.add_argument("kind", choices=sorted(REPORTS))
    rp.set_defaults(func=None)
    return p


def main(argv: list[str] | None = None) -> int:
    if Console is None:
        print("gpufleet-batch needs rich: pip install 'gpufleet-sdk[batch]'", file=sys.stderr)
        return 2
    args = _parser().parse_args(argv)
    console = Console(stderr=False)
    if args.concurrency < 1:
        console.print("--concurrency must be at least 1")
        return 2
    try:
        if args.username:
            fleet = Client.connect(args.server, args.username, os.environ.get("GPUFLEET_PASSWORD", ""))
        else:
            fleet = Client(args.server, token=args.token)
        with fleet:
            if args.command == "report":
                items = REPORTS[args.kind](fleet, console)
                title = f"report {args.kind}"
            else:
                items = args.func(fleet, args, console)
                title = f"{args.command}{' (dry run)' if args.dry_run else ''}"
    except ApiError as e:
        console.print(f"[red]HTTP {e.status}: {e.detail or e.title}")
        return 2
    except SystemExit as e:  # a usage error found after parsing (no nodes selected, a bad --set)
        if isinstance(e.code, str):
            console.print(f"[red]{e.code}")
            return 2
        raise
    except (OSError, httpx.HTTPError) as e:
        console.print(f"[red]{e}")
        return 2
    summary(console, title, items)
    if args.report:
        write_report(args.report, items)
    return 1 if any(i.status == "failed" for i in items) else 0


if __name__ == "__main__":
    sys.exit(main())
