"""``gpufleet-sim`` command line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import topology as topo
from .scenario import LocalInjector, RemoteInjector, Scenario, resolve_for_fleet, run, write_ground_truth

app = typer.Typer(
    help="Simulated fleet of bare-metal GPU servers (Redfish, IPMI, gNMI, telemetry, faults).", no_args_is_help=True
)
fault_app = typer.Typer(help="Inject, clear and list faults on a running simulator.", no_args_is_help=True)
scenario_app = typer.Typer(help="Run scripted fault scenarios.", no_args_is_help=True)
app.add_typer(fault_app, name="fault")
app.add_typer(scenario_app, name="scenario")
console = Console()

DEFAULT_CONTROL = "http://127.0.0.1:8800"


def _hostport(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    return (host or "127.0.0.1", int(port))


def _print_fleet(fleet, limit: int = 20) -> None:  # noqa: ANN001
    t = Table(
        title=f"{len(fleet.nodes)} nodes, {len(fleet.switches)} switches, {len(fleet.pdus)} PDUs, "
        f"{len(fleet.cdus)} CDUs, {len(fleet.racks)} racks"
    )
    for col in ("node", "model", "rack", "pdu", "redfish", "metrics", "power"):
        t.add_column(col)
    for row in topo.describe(fleet)[:limit]:
        t.add_row(
            row["id"], row["model"], row["rack"], row["pdu"], row["redfish"] or "", row["metrics"] or "", row["power"]
        )
    console.print(t)
    if len(fleet.nodes) > limit:
        console.print(f"... and {len(fleet.nodes) - limit} more (GET /fleet on the control API lists all)")


@app.command()
def up(
    topology: Path = typer.Option(..., "--topology", "-t", exists=True, help="topology YAML"),
    control: str = typer.Option("127.0.0.1:8800", help="control API listen address"),
    https: bool = typer.Option(True, help="serve Redfish over HTTPS too"),
    update_duration: float = typer.Option(5.0, help="seconds a firmware update task takes"),
    scenario: Path | None = typer.Option(None, help="run this scenario once the fleet is up"),
    ground_truth: Path = typer.Option(Path("ground-truth.json"), help="where the scenario's ground truth goes"),
    quiet: bool = typer.Option(False, help="no node table"),
) -> None:
    """Start every node of TOPOLOGY and serve until interrupted."""
    from .server import FleetServer

    fleet = topo.load(topology)
    _load_extra_faces(fleet)

    async def main() -> None:
        server = FleetServer(fleet, https=https, update_duration_s=update_duration, control=_hostport(control))
        await server.start()
        if not quiet:
            _print_fleet(fleet)
        console.print(f"control API on http://{server.control_address[0]}:{server.control_address[1]}  (Ctrl-C stops)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if scenario is not None:
            sc = Scenario.load(scenario)
            resolve_for_fleet(sc, fleet)
            truth = await _run_with_progress(sc, LocalInjector(server.faults))
            console.print(f"ground truth written to {write_ground_truth(truth, ground_truth)}")
        await stop.wait()
        await server.stop()

    asyncio.run(main())


def _load_extra_faces(fleet) -> None:  # noqa: ANN001
    """Register the IPMI / gNMI / Tinkerbell-worker servers where their modules provide ``register(fleet)``."""
    import importlib

    for mod in ("ipmi", "gnmi", "tinkworker"):
        try:
            m = importlib.import_module(f"gpufleet_sim.{mod}")
        except ImportError as e:
            console.print(f"[yellow]{mod} face not loaded: {e}[/yellow]")
            continue
        reg = getattr(m, "install", None) or getattr(m, "register", None)
        if reg is not None:
            reg(fleet)


async def _run_with_progress(sc: Scenario, injector) -> dict:  # noqa: ANN001
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[msg]}"),
        TimeElapsedColumn(),
        console=console,
    ) as prog:
        task = prog.add_task(sc.name, total=1.0, msg="")

        def on_progress(frac: float, msg: str) -> None:
            prog.update(task, completed=frac, msg=msg)
            if msg != "done":
                prog.console.print(msg)

        return await run(sc, injector, on_progress=on_progress)


@app.command("inventory")
def export_inventory(
    topology: Path = typer.Argument(..., exists=True),
    out: Path | None = typer.Option(None, "--out", "-o", help="write here instead of standard output"),
) -> None:
    """Print the fleet as a gpufleet inventory file (for `gpufleet import`)."""
    import yaml

    from .inventory import inventory

    text = yaml.safe_dump(inventory(topo.load(topology)), sort_keys=False)
    if out:
        out.write_text(text)
    else:
        typer.echo(text, nl=False)


@app.command("evaluate")
def evaluate_correlation(
    server: str = typer.Option(..., help="gpufleet's URL"),
    token: str = typer.Option(..., envvar="GPUFLEET_TOKEN", help="an operator's or admin's API token"),
    control: str = typer.Option(DEFAULT_CONTROL, help="the running simulator's control API"),
    topology: Path | None = typer.Option(
        None, "--topology", "-t", exists=True, help="import this fleet into gpufleet first (the simulator's topology)"
    ),
    only: list[str] = typer.Option([], "--scenario", help="run only scenarios whose name contains this (repeatable)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="also write the scores as JSON here"),
) -> None:
    """Inject the example fleet's fault scenarios and score gpufleet's incidents against the truth."""
    import dataclasses

    from . import evaluate as ev

    gf = ev.Api(server, token)
    sim = ev.Api(control if control.startswith("http") else f"http://{control}")
    if topology is not None:
        from .inventory import inventory

        ev.prepare(gf, sim, inventory(topo.load(topology)), log=console.print)
    scenarios = [s for s in ev.default_scenarios() if not only or any(o in s.name for o in only)]
    e = ev.Evaluator(gf, sim, log=console.print)
    scores = []
    for sc in scenarios:
        console.print(f"[bold]{sc.name}[/bold]")
        scores.append(e.run(sc))
        for m in scores[-1].misses:
            console.print(f"  miss: {m}")
        e.recover()
    typer.echo(ev.table(scores))
    if out:
        out.write_text(json.dumps([dataclasses.asdict(s) for s in scores], indent=2))


@app.command("topology")
def show_topology(topology: Path = typer.Argument(..., exists=True), limit: int = 50) -> None:
    """Print what a topology file builds."""
    _print_fleet(topo.load(topology), limit)


@scenario_app.command("run")
def scenario_run(
    file: Path = typer.Argument(..., exists=True, help="scenario YAML"),
    topology: Path | None = typer.Option(None, "--topology", "-t", help="start this fleet in-process for the run"),
    control: str | None = typer.Option(None, help=f"inject into a running simulator instead (e.g. {DEFAULT_CONTROL})"),
    out: Path = typer.Option(Path("ground-truth.json"), "--out", "-o", help="ground-truth JSON file"),
    speed: float = typer.Option(1.0, help="time compression (2 = twice as fast)"),
) -> None:
    """Play a scenario and write its ground truth."""
    sc = Scenario.load(file)
    if control:
        inj = RemoteInjector(control)
        f = inj.fleet()
        nodes = f["nodes"]
        sc.resolve_targets(
            [n["id"] for n in nodes],
            [n["id"] for n in nodes if n.get("metrics")],
            list(f["racks"]),
            list(f["switches"]),
            [p for r in f["racks"].values() for p in r["pdus"]],
        )
        truth = asyncio.run(_run_with_progress(sc, inj))
    elif topology:
        from .server import FleetServer

        fleet = topo.load(topology)
        resolve_for_fleet(sc, fleet)

        async def main() -> dict:
            server = FleetServer(fleet)
            await server.start()
            try:
                return await _run_with_progress_speed(sc, LocalInjector(server.faults), speed)
            finally:
                await server.stop()

        truth = asyncio.run(main())
    else:
        console.print("[red]give --topology FILE (in-process fleet) or --control URL (running simulator)[/red]")
        raise typer.Exit(2)
    console.print(f"ground truth written to {write_ground_truth(truth, out)}")
    for inc in truth["incidents"]:
        rc = inc["root_cause"]
        console.print(
            f"  root cause {rc.get('asset_type')} {rc.get('asset')} ({rc.get('cause')}): {len(inc['affected'].get('nodes', []))} nodes affected"
        )


async def _run_with_progress_speed(sc: Scenario, injector, speed: float) -> dict:  # noqa: ANN001
    if speed == 1.0:
        return await _run_with_progress(sc, injector)
    return await run(sc, injector, speed=speed, on_progress=lambda f, m: console.print(m))


def _client(control: str):  # noqa: ANN202
    import httpx

    return httpx.Client(base_url=control.rstrip("/"), timeout=10)


@fault_app.command("inject")
def fault_inject(
    kind: str = typer.Argument(..., help="fault kind (see `fault kinds`)"),
    target: str = typer.Argument(..., help="node, switch, rack, PDU, PDU/OUTLET or CDU id"),
    param: list[str] = typer.Option([], "--param", "-p", help="KEY=VALUE fault parameter (repeatable)"),
    control: str = typer.Option(DEFAULT_CONTROL, help="control API URL"),
) -> None:
    """Inject a fault into a running simulator."""
    params = {}
    for p in param:
        k, _, v = p.partition("=")
        try:
            params[k] = json.loads(v)
        except ValueError:
            params[k] = v
    r = _client(control).post("/faults", json={"kind": kind, "target": target, "params": params})
    if r.status_code != 201:
        console.print(f"[red]{r.json().get('error', r.text)}[/red]")
        raise typer.Exit(1)
    f = r.json()
    console.print(f"{f['id']}: {kind} on {target}; affected {json.dumps(f['affected'])}")


@fault_app.command("clear")
def fault_clear(
    fault_id: str = typer.Argument(None, help="fault id (omit with --all)"),
    all_: bool = typer.Option(False, "--all", help="clear every fault"),
    control: str = typer.Option(DEFAULT_CONTROL, help="control API URL"),
) -> None:
    """Clear one fault or all of them."""
    c = _client(control)
    if all_:
        r = c.delete("/faults")
    elif fault_id:
        r = c.delete(f"/faults/{fault_id}")
    else:
        console.print("[red]give a fault id or --all[/red]")
        raise typer.Exit(2)
    if r.status_code != 200:
        console.print(f"[red]{r.json().get('error', r.text)}[/red]")
        raise typer.Exit(1)
    got = r.json()
    for f in got if isinstance(got, list) else [got]:
        console.print(f"cleared {f['id']} ({f['kind']} on {f['target']})")


@fault_app.command("list")
def fault_list(
    active: bool = typer.Option(False, help="only active faults"),
    control: str = typer.Option(DEFAULT_CONTROL, help="control API URL"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """List faults with their ground truth."""
    faults = _client(control).get("/faults", params={"active": "1" if active else "0"}).json()
    if as_json:
        print(json.dumps(faults, indent=2))
        return
    t = Table()
    for col in ("id", "kind", "target", "active", "root cause", "affected nodes"):
        t.add_column(col)
    for f in faults:
        aff = f["affected"].get("nodes", []) + f["affected"].get("unreachable_nodes", [])
        t.add_row(
            f["id"],
            f["kind"],
            f["target"],
            str(f["active"]),
            f"{f['root_cause'].get('asset')}: {f['root_cause'].get('cause')}",
            str(len(aff)),
        )
    console.print(t)


@fault_app.command("kinds")
def fault_kinds() -> None:
    """Describe every fault kind."""
    from .faults import KINDS

    for k, v in KINDS.items():
        console.print(f"[bold]{k}[/bold]: {v}")


batch_app = typer.Typer(help="Bulk Redfish operations across many nodes.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")


def _batch(
    control: str | None,
    topology: Path | None,
    rack: str | None,
    model: str | None,
    match: str | None,
    user: str,
    password: str,
):  # noqa: ANN202
    from .batch import Batch, select, targets_from_control, targets_from_file

    rows = targets_from_file(topology) if topology else targets_from_control(control or DEFAULT_CONTROL)
    rows = select(rows, rack, model, match)
    if not rows:
        console.print("[red]no node matches[/red]")
        raise typer.Exit(1)
    return Batch(rows, user, password)


def _report(results: list[dict], out: Path | None) -> None:
    if out:
        out.write_text(json.dumps(results, indent=2) + "\n")
        console.print(f"wrote {len(results)} rows to {out}")
    else:
        print(json.dumps(results, indent=2))
    bad = [r for r in results if not r["ok"]]
    console.print(f"{len(results) - len(bad)} ok, {len(bad)} failed")
    if bad:
        raise typer.Exit(1)


_C = typer.Option(None, help=f"control API URL (default {DEFAULT_CONTROL})")
_T = typer.Option(None, "--topology", "-t", help="take nodes from a topology file or a JSON list instead")
_R = typer.Option(None, help="only this rack")
_M = typer.Option(None, help="only this node model")
_G = typer.Option(None, "--match", help="glob on node ids")
_U = typer.Option("admin", help="BMC user")
_P = typer.Option("password", help="BMC password")
_O = typer.Option(None, "--out", "-o", help="write results as JSON here")


@batch_app.command("inventory")
def batch_inventory(
    control: str = _C,
    topology: Path = _T,
    rack: str = _R,
    model: str = _M,
    match: str = _G,
    user: str = _U,
    password: str = _P,
    out: Path = _O,
) -> None:
    """Collect system, GPU serial and NIC MAC inventory from every selected BMC."""
    from .batch import run as brun

    _report(brun(_batch(control, topology, rack, model, match, user, password).inventory()), out)


@batch_app.command("power")
def batch_power(
    action: str = typer.Argument(..., help="on | off | shutdown | cycle | restart"),
    control: str = _C,
    topology: Path = _T,
    rack: str = _R,
    model: str = _M,
    match: str = _G,
    user: str = _U,
    password: str = _P,
    out: Path = _O,
) -> None:
    """Reset / power every selected node."""
    from .batch import RESET
    from .batch import run as brun

    if action not in RESET:
        console.print(f"[red]action must be one of {', '.join(RESET)}[/red]")
        raise typer.Exit(2)
    _report(brun(_batch(control, topology, rack, model, match, user, password).power(action)), out)


@batch_app.command("pxe-boot")
def batch_pxe(
    control: str = _C,
    topology: Path = _T,
    rack: str = _R,
    model: str = _M,
    match: str = _G,
    user: str = _U,
    password: str = _P,
    out: Path = _O,
) -> None:
    """Set a one-time PXE boot override and reboot every selected node."""
    from .batch import run as brun

    _report(brun(_batch(control, topology, rack, model, match, user, password).pxe_boot()), out)


@batch_app.command("bios-set")
def batch_bios(
    attrs: list[str] = typer.Argument(..., help="NAME=VALUE BIOS attributes"),
    control: str = _C,
    topology: Path = _T,
    rack: str = _R,
    model: str = _M,
    match: str = _G,
    user: str = _U,
    password: str = _P,
    out: Path = _O,
) -> None:
    """Stage BIOS attribute changes (applied at each node's next reset)."""
    from .batch import run as brun

    values = {}
    for a in attrs:
        k, _, v = a.partition("=")
        values[k] = int(v) if v.isdigit() else v
    _report(brun(_batch(control, topology, rack, model, match, user, password).bios_set(values)), out)


@batch_app.command("firmware")
def batch_firmware(
    image: str = typer.Argument(..., help="image URI"),
    target: list[str] = typer.Option([], help="firmware inventory id (repeatable)"),
    control: str = _C,
    topology: Path = _T,
    rack: str = _R,
    model: str = _M,
    match: str = _G,
    user: str = _U,
    password: str = _P,
    out: Path = _O,
) -> None:
    """Start a SimpleUpdate on every selected node; prints each task."""
    from .batch import run as brun

    _report(brun(_batch(control, topology, rack, model, match, user, password).firmware(image, target)), out)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
