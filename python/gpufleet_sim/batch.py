"""Batch operations against a fleet's BMCs over Redfish (what an operator scripts for bulk work).

Targets come from a running simulator's control API (``/fleet``) or from a
topology file, filtered by rack / model / glob on the node id.  Every operation
runs concurrently (bounded) and returns one result row per node, so it works
the same against real BMCs listed in a JSON file of ``{"id", "redfish"}`` rows.

    gpufleet-sim batch inventory --control http://127.0.0.1:8800 --out inventory.json
    gpufleet-sim batch power off --rack rack-b
    gpufleet-sim batch pxe-boot --match 'a-hgx-*'
    gpufleet-sim batch bios-set SysProfile=PerfPerWattOptimizedOs --model hgx-h100-8gpu
    gpufleet-sim batch firmware http://images.example/bios-2.9.1.bin --target BIOS
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from pathlib import Path
from typing import Any

import httpx

RESET = {
    "on": "On",
    "off": "ForceOff",
    "shutdown": "GracefulShutdown",
    "cycle": "PowerCycle",
    "restart": "ForceRestart",
}


def targets_from_control(url: str) -> list[dict]:
    return httpx.get(url.rstrip("/") + "/fleet", timeout=10).json()["nodes"]


def targets_from_file(path: str | Path) -> list[dict]:
    p = Path(path)
    if p.suffix in (".yaml", ".yml"):
        from .topology import describe, load

        return describe(load(p))
    return json.loads(p.read_text())


def select(rows: list[dict], rack: str | None = None, model: str | None = None, match: str | None = None) -> list[dict]:
    out = []
    for r in rows:
        if rack and r.get("rack") != rack:
            continue
        if model and r.get("model") != model:
            continue
        if match and not fnmatch.fnmatch(r["id"], match):
            continue
        out.append(r)
    return out


class Batch:
    def __init__(
        self,
        rows: list[dict],
        user: str = "admin",
        password: str = "password",
        concurrency: int = 32,
        timeout: float = 10.0,
    ) -> None:
        self.rows = rows
        self.auth = (user, password)
        self.sem = asyncio.Semaphore(concurrency)
        self.timeout = timeout

    async def _each(self, fn: Any) -> list[dict]:
        async with httpx.AsyncClient(auth=self.auth, timeout=self.timeout, verify=False) as c:

            async def one(row: dict) -> dict:
                async with self.sem:
                    try:
                        return {"id": row["id"], "ok": True, **(await fn(c, row["redfish"]))}
                    except (httpx.HTTPError, KeyError, ValueError, RuntimeError) as e:
                        return {"id": row["id"], "ok": False, "error": f"{type(e).__name__}: {e}"}

            return list(await asyncio.gather(*(one(r) for r in self.rows)))

    @staticmethod
    async def _system(c: httpx.AsyncClient, base: str) -> tuple[str, dict]:
        r = await c.get(base + "/redfish/v1/Systems")
        r.raise_for_status()
        path = r.json()["Members"][0]["@odata.id"]
        doc = (await c.get(base + path)).json()
        return path, doc

    async def inventory(self) -> list[dict]:
        async def fn(c: httpx.AsyncClient, base: str) -> dict:
            path, sysdoc = await self._system(c, base)
            procs = (await c.get(base + sysdoc["Processors"]["@odata.id"])).json()["Members"]
            gpus = []
            for m in procs:
                p = (await c.get(base + m["@odata.id"])).json()
                if p.get("ProcessorType") == "GPU":
                    gpus.append({"id": p["Id"], "model": p.get("Model"), "serial": p.get("SerialNumber")})
            nics = []
            if "EthernetInterfaces" in sysdoc:
                for m in (await c.get(base + sysdoc["EthernetInterfaces"]["@odata.id"])).json()["Members"]:
                    e = (await c.get(base + m["@odata.id"])).json()
                    nics.append({"id": e.get("Id"), "mac": e.get("MACAddress")})
            return {
                "manufacturer": sysdoc.get("Manufacturer"),
                "model": sysdoc.get("Model"),
                "serial": sysdoc.get("SerialNumber"),
                "uuid": sysdoc.get("UUID"),
                "power": sysdoc.get("PowerState"),
                "bios_version": sysdoc.get("BiosVersion"),
                "gpus": gpus,
                "nics": nics,
            }

        return await self._each(fn)

    async def power(self, action: str) -> list[dict]:
        reset = RESET[action]

        async def fn(c: httpx.AsyncClient, base: str) -> dict:
            path, sysdoc = await self._system(c, base)
            target = sysdoc["Actions"]["#ComputerSystem.Reset"]["target"]
            r = await c.post(base + target, json={"ResetType": reset})
            if r.status_code >= 400:
                raise RuntimeError(f"{r.status_code} {r.text[:200]}")
            return {"reset": reset, "status": r.status_code}

        return await self._each(fn)

    async def pxe_boot(self, reboot: bool = True) -> list[dict]:
        async def fn(c: httpx.AsyncClient, base: str) -> dict:
            path, sysdoc = await self._system(c, base)
            r = await c.patch(
                base + path, json={"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}}
            )
            if r.status_code >= 400:
                raise RuntimeError(f"{r.status_code} {r.text[:200]}")
            if reboot:
                target = sysdoc["Actions"]["#ComputerSystem.Reset"]["target"]
                rt = "ForceRestart" if sysdoc.get("PowerState") == "On" else "On"
                await c.post(base + target, json={"ResetType": rt})
            return {"boot": "Pxe/Once", "rebooted": reboot}

        return await self._each(fn)

    async def bios_set(self, attrs: dict) -> list[dict]:
        async def fn(c: httpx.AsyncClient, base: str) -> dict:
            path, sysdoc = await self._system(c, base)
            bios = (await c.get(base + sysdoc["Bios"]["@odata.id"])).json()
            settings = (
                bios.get("@Redfish.Settings", {}).get("SettingsObject", {}).get("@odata.id")
                or sysdoc["Bios"]["@odata.id"] + "/Settings"
            )
            r = await c.patch(base + settings, json={"Attributes": attrs})
            if r.status_code >= 400:
                raise RuntimeError(f"{r.status_code} {r.text[:200]}")
            return {"pending": attrs}

        return await self._each(fn)

    async def firmware(self, image: str, targets: list[str]) -> list[dict]:
        async def fn(c: httpx.AsyncClient, base: str) -> dict:
            us = (await c.get(base + "/redfish/v1/UpdateService")).json()
            act = us["Actions"]["#UpdateService.SimpleUpdate"]["target"]
            body: dict = {"ImageURI": image, "TransferProtocol": image.split(":", 1)[0].upper()}
            if targets:
                body["Targets"] = [f"/redfish/v1/UpdateService/FirmwareInventory/{t}" for t in targets]
            r = await c.post(base + act, json=body)
            if r.status_code >= 400:
                raise RuntimeError(f"{r.status_code} {r.text[:200]}")
            return {"task": r.json().get("@odata.id"), "monitor": r.headers.get("Location")}

        return await self._each(fn)


def run(coro: Any) -> list[dict]:
    return asyncio.run(coro)
