"""Control API of a running simulator (JSON over HTTP, default 127.0.0.1:8800).

GET    /fleet                      counts, addresses of every node, switch, PDU and CDU
GET    /nodes/{id}                 one node's state
POST   /nodes/{id}/power           {"action": "on" | "off" | "cycle"}
POST   /gpus/move                  {"from": node, "index": n, "to": node} -> the GPU in its new node
GET    /faults                     every fault with its ground truth
POST   /faults                     {"kind": ..., "target": ..., "params": {...}} -> 201 fault
DELETE /faults/{id}                clear one fault
DELETE /faults                     clear every fault
GET    /kinds                      fault kinds and their parameters
GET    /events?since=N             fleet events (power, XID, faults) after index N
GET    /metrics                    dcgm-exporter telemetry of the whole fleet
GET    /stats                      request and event-push counters
GET    /firmware-images            the firmware images the BMCs know and the version each installs
POST   /firmware-images            {"image": URI, "version": v} or {"sha256": hex, "version": v}:
                                   an update from that URI (SimpleUpdate) or with those bytes (push)
                                   installs v, whatever the image's name says -> 201 the table
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import telemetry
from .faults import KINDS, FaultError
from .model import move_gpu
from .topology import describe

if TYPE_CHECKING:
    from .server import FleetServer


def node_state(n) -> dict:  # noqa: ANN001
    return {
        "id": n.id,
        "model": n.model,
        "rack": n.rack,
        "power_state": n.power_state,
        "powered": n.powered,
        "bmc_reachable": n.bmc_reachable,
        "host_reachable": n.host_reachable,
        "bmc_fault": n.bmc_fault,
        "health": n.health,
        "boot_override": {"target": n.boot_override_target, "enabled": n.boot_override_enabled},
        "last_boot_source": n.last_boot_source,
        "gpus": [
            {
                "index": g.index,
                "serial": g.serial,
                "uuid": g.uuid,
                "present": g.present,
                "health": g.health,
                "last_xid": g.last_xid,
                "ecc_sbe": g.ecc_sbe,
                "ecc_dbe": g.ecc_dbe,
                "row_remap_pending": g.row_remap_pending,
                "row_remap_failure": g.row_remap_failure,
            }
            for g in n.gpus
        ],
        "sel": n.sel[-20:],
    }


def control_app(server: FleetServer) -> web.Application:
    fleet = server.fleet
    app = web.Application()
    r = web.RouteTableDef()

    def err(status: int, msg: str) -> web.Response:
        return web.json_response({"error": msg}, status=status)

    @r.get("/fleet")
    async def get_fleet(_: web.Request) -> web.Response:
        nodes = describe(fleet)
        return web.json_response(
            {
                "seed": fleet.seed,
                "racks": {
                    k: {"pdus": v.pdus, "switches": v.switches, "nodes": v.nodes, "cdu": v.cdu}
                    for k, v in fleet.racks.items()
                },
                "switches": {
                    s.id: {"alive": s.alive, "gnmi": list(s.gnmi_address) if s.gnmi_address else None}
                    for s in fleet.switches.values()
                },
                "pdus": {
                    p.id: {
                        "alive": p.alive,
                        "redfish": f"http://{p.redfish_address[0]}:{p.redfish_address[1]}"
                        if p.redfish_address
                        else None,
                    }
                    for p in fleet.pdus.values()
                },
                "cdus": {
                    c.id: {
                        "racks": c.racks,
                        "failed": c.failed,
                        "supply_temp": c.supply_temp(),
                        "redfish": f"http://{c.redfish_address[0]}:{c.redfish_address[1]}"
                        if c.redfish_address
                        else None,
                    }
                    for c in fleet.cdus.values()
                },
                "nodes": nodes,
                "cert": server.cert_path,
            }
        )

    @r.get("/nodes/{id}")
    async def get_node(req: web.Request) -> web.Response:
        n = fleet.nodes.get(req.match_info["id"])
        if n is None:
            return err(404, f"no node {req.match_info['id']}")
        return web.json_response(node_state(n))

    @r.post("/nodes/{id}/power")
    async def post_power(req: web.Request) -> web.Response:
        n = fleet.nodes.get(req.match_info["id"])
        if n is None:
            return err(404, f"no node {req.match_info['id']}")
        action = (await req.json()).get("action")
        fn = {"on": n.power_on, "off": n.power_off, "cycle": n.power_cycle}.get(action)
        if fn is None:
            return err(400, "action must be on, off or cycle")
        fn()
        return web.json_response(node_state(n))

    @r.post("/gpus/move")
    async def post_gpu_move(req: web.Request) -> web.Response:
        try:
            body = await req.json()
            src, index, dst = str(body["from"]), int(body["index"]), str(body["to"])
        except (ValueError, KeyError, TypeError):
            return err(400, 'body must be {"from": node id, "index": GPU index, "to": node id}')
        try:
            g = move_gpu(fleet, src, index, dst)
        except KeyError as e:
            return err(404, str(e.args[0]))
        except ValueError as e:
            return err(400, str(e))
        return web.json_response({"serial": g.serial, "uuid": g.uuid, "index": g.index, "node": dst})

    @r.get("/kinds")
    async def get_kinds(_: web.Request) -> web.Response:
        return web.json_response(KINDS)

    @r.get("/faults")
    async def get_faults(req: web.Request) -> web.Response:
        active = req.query.get("active") in ("1", "true")
        return web.json_response([f.to_dict() for f in server.faults.list(active)])

    @r.post("/faults")
    async def post_fault(req: web.Request) -> web.Response:
        try:
            body = await req.json()
        except ValueError:
            return err(400, "body must be JSON")
        try:
            f = server.faults.inject(str(body.get("kind")), str(body.get("target")), **(body.get("params") or {}))
        except (FaultError, TypeError, ValueError) as e:
            return err(400, str(e))
        return web.json_response(f.to_dict(), status=201)

    @r.delete("/faults/{id}")
    async def delete_fault(req: web.Request) -> web.Response:
        try:
            f = server.faults.clear(req.match_info["id"])
        except FaultError as e:
            return err(404, str(e))
        return web.json_response(f.to_dict())

    @r.delete("/faults")
    async def delete_faults(_: web.Request) -> web.Response:
        return web.json_response([f.to_dict() for f in server.faults.clear_all()])

    @r.get("/events")
    async def get_events(req: web.Request) -> web.Response:
        since = int(req.query.get("since", "0"))
        return web.json_response({"next": len(fleet.events), "events": fleet.events[since:]})

    @r.get("/metrics")
    async def get_metrics(_: web.Request) -> web.Response:
        return web.Response(text=telemetry.render(list(fleet.nodes.values())), content_type="text/plain")

    @r.get("/stats")
    async def get_stats(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": server.requests,
                "pushed_events": server.pushed_events,
                "failed_pushes": server.failed_pushes,
                "nodes": len(fleet.nodes),
            }
        )

    @r.get("/firmware-images")
    async def get_firmware_images(_: web.Request) -> web.Response:
        return web.json_response(fleet.firmware_images)

    @r.post("/firmware-images")
    async def post_firmware_image(req: web.Request) -> web.Response:
        try:
            body = await req.json()
        except ValueError:
            return err(400, "body must be JSON")
        version = body.get("version") if isinstance(body, dict) else None
        image, digest = (body.get("image"), body.get("sha256")) if isinstance(body, dict) else (None, None)
        if not isinstance(version, str) or not version or (image is None) == (digest is None):
            return err(400, 'body must be {"image": URI, "version": v} or {"sha256": hex, "version": v}')
        if digest is not None:
            if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                return err(400, "sha256 must be 64 lower-case hex digits")
            fleet.firmware_images["sha256:" + digest] = version
        else:
            if not isinstance(image, str) or not image:
                return err(400, "image must be the image's URI")
            fleet.firmware_images[image] = version
        return web.json_response(fleet.firmware_images, status=201)

    app.add_routes(r)
    return app
