"""Export a simulated fleet as a gpufleet inventory file.

The output is the YAML that ``gpufleet import`` (``POST /api/v1/import``) reads:
racks, PDUs (with the address and credentials of their Redfish controller),
CDUs (the racks each cools, the address and credentials of its Redfish controller),
leaf switches and nodes with their Redfish BMC address and credentials, the PDU
outlet that powers each node and the switch port each NIC is cabled to. GPUs,
disks and firmware are left out: discovery reads them from the BMCs.
"""

from __future__ import annotations

from typing import Any

from .cdu import MODEL as CDU_MODEL
from .model import Fleet


def _bmc_address(node: Any) -> str | None:
    if node.redfish_https_address:
        host, port = node.redfish_https_address
        return f"https://{host}:{port}"
    if node.redfish_address:
        host, port = node.redfish_address
        return f"http://{host}:{port}"
    return None


def inventory(fleet: Fleet) -> dict:
    """The fleet as a gpufleet inventory document (a dict ready for YAML)."""
    racks = [{"name": r.id, "location": r.location} if r.location else {"name": r.id} for r in fleet.racks.values()]
    pdus = []
    for p in fleet.pdus.values():
        pdu: dict[str, Any] = {"name": p.id, "rack": p.rack, "outlets": len(p.outlets)}
        if p.redfish_address:
            pdu["address"] = f"http://{p.redfish_address[0]}:{p.redfish_address[1]}"
            pdu["username"] = p.redfish_user
            pdu["password"] = p.redfish_password
        pdus.append(pdu)
    # gpufleet's import takes {name, racks, rack?, address?, username?, password?, model?, labels?};
    # a CDU stands in a row, in none of the racks it cools, so no `rack`.
    cdus = []
    for c in fleet.cdus.values():
        cdu: dict[str, Any] = {"name": c.id, "racks": list(c.racks), "model": CDU_MODEL}
        if c.redfish_address:
            cdu["address"] = f"http://{c.redfish_address[0]}:{c.redfish_address[1]}"
            cdu["username"] = c.redfish_user
            cdu["password"] = c.redfish_password
        cdus.append(cdu)
    switches = []
    for s in fleet.switches.values():
        sw: dict[str, Any] = {"name": s.id, "rack": s.rack, "ports": len(s.ports)}
        if s.gnmi_address:
            sw["address"] = f"{s.gnmi_address[0]}:{s.gnmi_address[1]}"
        # The outlet that feeds it (the first, for a dual-corded switch).
        feed = next(
            (
                (p.id, o.id)
                for p in fleet.pdus.values()
                for o in p.outlets.values()
                if s.id in o.load and o.id.isdigit()
            ),
            None,
        )
        if feed:
            sw["power"] = {"pdu": feed[0], "outlet": int(feed[1])}
        switches.append(sw)
    nodes = []
    for n in fleet.nodes.values():
        item: dict[str, Any] = {"name": n.id, "rack": n.rack, "model": n.model, "serial": n.serial}
        address = _bmc_address(n)
        if address:
            item["bmc"] = {
                "address": address,
                "protocol": "redfish",
                "username": n.bmc_user,
                "password": n.bmc_password,
                "accept_self_signed": address.startswith("https://"),
            }
        if n.pdu and n.outlet and str(n.outlet).isdigit():
            item["power"] = {"pdu": n.pdu, "outlet": int(n.outlet)}
        nics = []
        for nic in n.nics:
            entry: dict[str, Any] = {"mac": nic.mac}
            if nic.switch:
                entry["switch"] = nic.switch
                if nic.switch_port:
                    entry["port"] = nic.switch_port
            nics.append(entry)
        if nics:
            item["nics"] = nics
        nodes.append(item)
    return {"racks": racks, "pdus": pdus, "cdus": cdus, "switches": switches, "nodes": nodes}
