"""IPMI-over-LAN (RMCP+, ``ipmitool -I lanplus``) BMC for every simulated node.

Each node gets one UDP endpoint (``node.ipmi_address``, default ``127.0.0.1`` on a
free port) served by a subclass of pyghmi's ``Bmc``.  pyghmi brings the RMCP+
session layer (cipher suite 3: RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128) and the
chassis commands; everything else a management tool asks for is answered here on
the raw request path (netfn/command):

==========  =====  ====================================================
netfn       cmd    command
==========  =====  ====================================================
App 0x06    0x01   Get Device ID (15 bytes, SDR/SEL/chassis device bits)
App 0x06    0x02   Cold Reset (the BMC is away for the node's ``bmc_restart_s``)
App 0x06    0x42   Get Channel Info (LAN channel 1)
Chassis 00  0x01   Get Chassis Status
Chassis 00  0x02   Chassis Control (off/on/cycle/reset/diag/soft)
Chassis 00  0x08   Set System Boot Options (param 5: device, persistence, EFI)
Chassis 00  0x09   Get System Boot Options (params 0, 3, 4, 5)
S/E 0x04    0x02   Platform Event Message (``ipmitool event 1``) -> SEL
S/E 0x04    0x25   Get Sensor Hysteresis
S/E 0x04    0x27   Get Sensor Thresholds
S/E 0x04    0x2d   Get Sensor Reading
Storage 0a  0x20   Get SDR Repository Info
Storage 0a  0x22   Reserve SDR Repository
Storage 0a  0x23   Get SDR (full sensor records, partial reads)
Storage 0a  0x40   Get SEL Info
Storage 0a  0x42   Reserve SEL
Storage 0a  0x43   Get SEL Entry
Storage 0a  0x47   Clear SEL
Storage 0a  0x48   Get SEL Time
==========  =====  ====================================================

Power and boot changes go through the shared :class:`~gpufleet_sim.model.Node`,
so Redfish and IPMI always agree.  The SEL is the node's ``sel`` list: IPMI SEL
records carry no free text, so each entry is encoded as a standard system event
record whose sensor type and event offset are derived from the entry's
``sensor_type``, ``severity`` and message (see :func:`encode_sel_entry`).
Sensors come from ``node.sensors()`` as threshold-based full sensor records;
sensor numbers are given per sensor name and stay stable while the BMC runs.

A BMC that is unreachable in the model (``node.bmc_reachable`` False: outlet
power lost, management switch down, ``bmc_fault == "unresponsive"``) drops every
packet, like a dead BMC.

pyghmi drives all of its sockets from one I/O thread; this module adds one
dispatcher thread that runs pyghmi's event loop for every BMC in the process.
That I/O thread uses ``select()``, which cannot watch file descriptors above
1023: one process serves IPMI for somewhat under a thousand nodes (the fleet
starter warns and serves the first :data:`MAX_BMCS_PER_PROCESS`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyghmi.ipmi.bmc as _pyghmi_bmc
import pyghmi.ipmi.private.session as _pyghmi_session

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- constants

NETFN_CHASSIS = 0x00
NETFN_SENSOR_EVENT = 0x04
NETFN_APP = 0x06
NETFN_STORAGE = 0x0A

CC_OK = 0x00
CC_INVALID_COMMAND = 0xC1
CC_NOT_PRESENT = 0xCB
CC_INVALID_FIELD = 0xCC
CC_PARAM_NOT_SUPPORTED = 0x80
CC_UNSPECIFIED = 0xFF

BMC_SLAVE_ADDRESS = 0x20
#: pyghmi's select() loop cannot watch descriptors >= 1024; leave room for the rest of the process
MAX_BMCS_PER_PROCESS = 800

#: IPMI boot device selector (boot flags byte 2, bits 5:2) <-> model boot target
BOOT_DEVICE_TO_TARGET = {0x0: "None", 0x1: "Pxe", 0x2: "Hdd", 0x3: "Hdd", 0x5: "Cd", 0x6: "BiosSetup", 0xF: "Usb"}
TARGET_TO_BOOT_DEVICE = {"None": 0x0, "Pxe": 0x1, "Hdd": 0x2, "Cd": 0x5, "BiosSetup": 0x6, "Usb": 0xF}

#: IPMI sensor type codes (IPMI 2.0 table 42-3), by the names of Redfish
#: ``LogEntry.SensorType`` and of the IPMI table; looked up through :func:`sensor_type_code`
SENSOR_TYPES: dict[str, int] = {
    "Temperature": 0x01,
    "Voltage": 0x02,
    "Current": 0x03,
    "Fan": 0x04,
    "Physical Chassis Security": 0x05,
    "Physical Security": 0x05,
    "Platform Security Violation Attempt": 0x06,
    "Processor": 0x07,
    "Power Supply / Converter": 0x08,
    "Power Supply": 0x08,
    "PowerUnit": 0x09,
    "Power Unit": 0x09,
    "Power": 0x09,
    "CoolingDevice": 0x0A,
    "Other Units-based Sensor": 0x0B,
    "Memory": 0x0C,
    "Drive Slot/Bay": 0x0D,
    "POST Memory Resize": 0x0E,
    "System Firmware Progress": 0x0F,
    "Event Logging Disabled": 0x10,
    "System Event": 0x12,
    "Critical Interrupt": 0x13,
    "Button/Switch": 0x14,
    "Module/Board": 0x15,
    "Microcontroller/Coprocessor": 0x16,
    "Add-in Card": 0x17,
    "Chassis": 0x18,
    "Chip Set": 0x19,
    "Other FRU": 0x1A,
    "Cable/Interconnect": 0x1B,
    "Terminator": 0x1C,
    "SystemBoot/Restart Initiated": 0x1D,
    "Boot Error": 0x1E,
    "BaseOSBoot/InstallationStatus": 0x1F,
    "OS Stop/Shutdown": 0x20,
    "Slot/Connector": 0x21,
    "System ACPI PowerState": 0x22,
    "Watchdog": 0x23,
    "Platform Alert": 0x24,
    "Entity Presence": 0x25,
    "Monitor ASIC/IC": 0x26,
    "LAN": 0x27,
    "Management Subsystem Health": 0x28,
    "Battery": 0x29,
    "Session Audit": 0x2A,
    "Version Change": 0x2B,
    "FRUState": 0x2C,
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_SENSOR_TYPE_BY_NORM = {_norm(k): v for k, v in SENSOR_TYPES.items()}


def sensor_type_code(name: str | None) -> int:
    """The IPMI sensor type of a Redfish/IPMI sensor type name (``System Event`` if unknown)."""
    return _SENSOR_TYPE_BY_NORM.get(_norm(name or ""), 0x12)


#: sensor unit (model ``unit``) -> (IPMI base unit code, percentage flag)
BASE_UNITS: dict[str, tuple[int, bool]] = {
    "Cel": (1, False),
    "V": (4, False),
    "A": (5, False),
    "W": (6, False),
    "RPM": (18, False),
    "%": (0, True),
}

#: sensor kind (model ``kind``) -> (IPMI sensor type, entity id)
KIND_TYPES: dict[str, tuple[int, int]] = {
    "temperature": (0x01, 0x07),
    "voltage": (0x02, 0x0A),
    "current": (0x03, 0x0A),
    "fan": (0x04, 0x1D),
    "power": (0x0B, 0x0A),  # "Other units-based sensor"; entity: power supply
}


# --------------------------------------------------------------------------- SDR


@dataclass
class Scaling:
    """Linear conversion ``value = M * raw * 10**k2`` (B = 0) of one sensor."""

    m: int
    k2: int

    def to_raw(self, value: float | None) -> int:
        if value is None:
            return 0
        raw = round(value / (self.m * 10.0**self.k2))
        return max(0, min(255, raw))

    def to_value(self, raw: int) -> float:
        return self.m * raw * 10.0**self.k2


def choose_scaling(max_value: float) -> Scaling:
    """The finest linear scaling whose 8-bit range still reaches ``max_value``."""
    max_value = max(max_value, 1.0)
    for k2 in range(-3, 6):
        for m in (1, 2, 5):
            if m * 255 * 10.0**k2 >= max_value:
                return Scaling(m, k2)
    return Scaling(5, 5)


def _scaling_for(sensor: dict, hint_max: float | None = None) -> Scaling:
    unit = sensor.get("unit", "")
    candidates = [abs(float(sensor.get("reading") or 0.0)) * 1.5]
    for key in ("warning", "critical"):
        if sensor.get(key) is not None:
            candidates.append(float(sensor[key]) * 1.25)
    if unit == "Cel":
        candidates.append(125.0)
    elif unit == "RPM":
        candidates.append(20000.0)
    elif unit == "V":
        nominal = re.search(r"(\d+(?:\.\d+)?)V", sensor.get("name", ""))
        candidates.append(float(nominal.group(1)) * 1.5 if nominal else 250.0)
    elif unit == "%":
        candidates.append(100.0)
    if hint_max is not None:
        candidates.append(hint_max)
    return choose_scaling(max(candidates))


def _signed4(v: int) -> int:
    return v & 0x0F


def full_sensor_record(record_id: int, number: int, sensor: dict, scaling: Scaling) -> bytes:
    """A type 0x01 (full sensor) SDR for one threshold-based sensor of the model."""
    kind = sensor.get("kind", "")
    sensor_type, entity = KIND_TYPES.get(kind, (0x01 if sensor.get("unit") == "Cel" else 0x0B, 0x07))
    if sensor.get("name", "").startswith("GPU"):
        entity = 0x0B  # add-in card
    elif sensor.get("name", "").startswith("CPU"):
        entity = 0x03  # processor
    base_unit, percent = BASE_UNITS.get(sensor.get("unit", ""), (0, False))
    name = sensor["name"].encode("latin-1", "replace")[:16]
    readable = 0
    unc = ucr = 0
    if sensor.get("warning") is not None:
        readable |= 0x08
        unc = scaling.to_raw(sensor["warning"])
    if sensor.get("critical") is not None:
        readable |= 0x10
        ucr = scaling.to_raw(sensor["critical"])
    assert_mask = 0
    if readable & 0x08:
        assert_mask |= 0x0080  # UNC going high
    if readable & 0x10:
        assert_mask |= 0x0200  # UCR going high
    body = bytes(
        [
            BMC_SLAVE_ADDRESS,  # sensor owner id
            0x00,  # owner LUN
            number,
            entity,
            0x01,  # entity instance
            0x7F,  # initialisation: scanning + events enabled
            0x48,  # capabilities: auto re-arm, thresholds readable
            sensor_type,
            0x01,  # event/reading type: threshold
        ]
    )
    body += struct.pack("<HHBB", assert_mask, assert_mask, readable, 0x00)
    body += bytes(
        [
            0x01 if percent else 0x00,  # units 1: unsigned; percentage flag
            base_unit,
            0x00,  # modifier unit
            0x00,  # linearisation: linear
            scaling.m & 0xFF,
            (scaling.m >> 8) & 0x03,  # M MS bits | tolerance 0
            0x00,  # B = 0
            0x00,
            0x00,  # accuracy / direction
            (_signed4(scaling.k2) << 4) | 0x00,  # R exponent | B exponent
            0x00,  # analog characteristics
            0x00,  # nominal reading
            0x00,  # normal max
            0x00,  # normal min
            0xFF,  # sensor max
            0x00,  # sensor min
            0x00,  # UNR
            ucr,
            unc,
            0x00,  # LNR
            0x00,  # LCR
            0x00,  # LNC
            0x00,  # positive hysteresis
            0x00,  # negative hysteresis
            0x00,
            0x00,  # reserved
            0x00,  # OEM
            0xC0 | len(name),  # id string: 8-bit ASCII + Latin-1
        ]
    )
    body += name
    header = struct.pack("<HBBB", record_id, 0x51, 0x01, len(body))
    return header + body


# --------------------------------------------------------------------------- SEL


def _epoch(created: str | None) -> int:
    if not created:
        return int(time.time())
    try:
        return int(_dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return int(time.time())


def sel_event_fields(entry: dict) -> tuple[int, int, int, bool]:
    """``(sensor type, event type, offset, deassertion)`` for one SEL entry of the model."""
    sev = str(entry.get("severity", "OK"))
    msg = str(entry.get("message", "")).lower()
    stype = sensor_type_code(entry.get("sensor_type"))
    if stype in (0x01, 0x02, 0x03):  # threshold sensors: upper non-critical / critical going high
        if sev == "Critical":
            return stype, 0x01, 0x09, False
        if sev == "Warning":
            return stype, 0x01, 0x07, False
        return stype, 0x01, 0x07, True
    if stype == 0x04:  # fan: lower critical going low
        return stype, 0x01, 0x02, sev == "OK"
    if stype == 0x22:  # ACPI power state: S0/G0 working, S5/G2 soft-off
        return stype, 0x6F, 0x00 if " on" in f" {msg}" and "off" not in msg else 0x05, False
    if stype == 0x10:  # event logging: log area reset/cleared
        return stype, 0x6F, 0x02, False
    if stype == 0x08:  # power supply: failure detected / AC lost (restored = deasserted)
        if "restored" in msg:
            return stype, 0x6F, 0x03, True
        if "ac" in msg.split() or "input" in msg:
            return stype, 0x6F, 0x03, False
        return stype, 0x6F, 0x01 if sev != "OK" else 0x00, False
    if stype == 0x07:  # processor: uncorrectable / correctable machine check, presence
        return stype, 0x6F, {"Critical": 0x0B, "Warning": 0x0C}.get(sev, 0x07), False
    if stype == 0x0C:  # memory: uncorrectable / correctable ECC
        return stype, 0x6F, 0x01 if sev == "Critical" else 0x00, False
    if stype == 0x0F:  # firmware progress: error / progress
        return stype, 0x6F, 0x00 if sev == "Critical" else 0x02, False
    if stype == 0x13:  # critical interrupt: front panel NMI / bus uncorrectable
        return stype, 0x6F, 0x00 if "nmi" in msg or "diagnostic" in msg else 0x08, False
    if stype == 0x12:  # system event: undetermined hardware failure / reconfigured
        return stype, 0x6F, 0x02 if sev != "OK" else 0x00, False
    return stype, 0x6F, 0x00, sev == "OK"


def encode_sel_entry(entry: dict, sensor_number: int = 0xFF) -> bytes:
    """A 16-byte type 0x02 (system event) SEL record for one SEL entry of the model."""
    record_id = int(entry.get("id", 0)) & 0xFFFF
    stype, etype, offset, deassert = sel_event_fields(entry)
    return struct.pack(
        "<HBIHBBBBBBB",
        record_id,
        0x02,
        _epoch(entry.get("created")) & 0xFFFFFFFF,
        BMC_SLAVE_ADDRESS,  # generator: BMC, IPMB address 0x20
        0x04,  # event message format revision (IPMI 1.5+)
        stype,
        sensor_number,
        (0x80 if deassert else 0x00) | etype,
        offset & 0x0F,
        0xFF,
        0xFF,
    )


def _sel_id(entry: dict) -> int:
    try:
        return int(entry.get("id", 0)) & 0xFFFF
    except (TypeError, ValueError):
        return 0


#: (sensor type, offset) of a Platform Event Message -> (model sensor_type, severity, text)
_PEM_TEXT = {
    0x01: ("Temperature", {0x07: "Warning", 0x09: "Critical", 0x0B: "Critical"}),
    0x02: ("Voltage", {0x07: "Warning", 0x09: "Critical", 0x02: "Critical"}),
    0x04: ("Fan", {0x00: "Warning", 0x02: "Critical"}),
    0x0C: ("Memory", {0x00: "Warning", 0x01: "Critical"}),
    0x07: ("Processor", {0x00: "Critical", 0x0B: "Critical", 0x0C: "Warning"}),
    0x08: ("Power Supply / Converter", {0x01: "Critical", 0x03: "Critical"}),
}


# --------------------------------------------------------------------------- the dispatcher


class _Dispatcher:
    """Runs pyghmi's event loop for every BMC of the process in one thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._bmcs: set[NodeBmc] = set()
        self._wake: socket.socket | None = None

    def _prepare_pyghmi(self) -> None:
        # pyghmi wakes its I/O thread by sending a byte from its first socket to
        # itself at the address ``myself``.  Left alone it probes IPv6 and binds a
        # client socket to every interface; give it a loopback-only socket first.
        if _pyghmi_session.iothread is None and not _pyghmi_session.iosockets:
            _pyghmi_session.myself = "127.0.0.1"
            info = socket.getaddrinfo("127.0.0.1", 0, socket.AF_INET, socket.SOCK_DGRAM)[0]
            self._wake = _pyghmi_session.Session._assignsocket(info)

    def wake(self) -> None:
        socks = _pyghmi_session.iosockets
        if socks:
            try:
                socks[0].sendto(b"\x01", (_pyghmi_session.myself or "127.0.0.1", socks[0].getsockname()[1]))
            except OSError:
                pass

    def register(self, bmc: NodeBmc) -> None:
        with self._lock:
            self._bmcs.add(bmc)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="gpufleet-ipmi", daemon=True)
                self._thread.start()
        self.wake()

    def unregister(self, bmc: NodeBmc) -> None:
        with self._lock:
            self._bmcs.discard(bmc)

    def _run(self) -> None:
        while True:
            try:
                _pyghmi_session.Session.wait_for_rsp(timeout=0.5)
            except Exception:  # a malformed packet must not stop every BMC
                log.exception("IPMI dispatcher iteration failed")
                time.sleep(0.05)


_DISPATCHER = _Dispatcher()
_SETUP_LOCK = threading.Lock()


def _prepare() -> None:
    with _SETUP_LOCK:
        _DISPATCHER._prepare_pyghmi()


# --------------------------------------------------------------------------- the BMC


class _Credentials:
    """Password look-up by user name, read live from the node."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def get(self, user: str, default: str | None = None) -> str | None:
        if user == getattr(self.node, "ipmi_user", "admin"):
            return getattr(self.node, "ipmi_password", "password")
        return default


class NodeBmc(_pyghmi_bmc.Bmc):
    """The IPMI BMC of one simulated node."""

    def __init__(self, node: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        if not _is_loopback(host):
            raise ValueError(f"IPMI BMC of {node.id} must bind a loopback address, not {host!r}")
        _prepare()
        self.node = node
        with _SETUP_LOCK:
            super().__init__(_Credentials(node), port=port, bmcuuid=_node_uuid(node), address=host)
        # pyghmi routes session traffic by the port number it was given; with
        # port 0 the kernel picked one, so record the real one.
        self.port = self.serversocket.getsockname()[1]
        self.host = host
        self.deviceid = 0x20
        self.revision = 0x01
        self.firmwaremajor = 1
        self.firmwareminor = 0x12
        self.mfgid = 0xC0FFEE & 0xFFFFFF
        self.prodid = 0x4750  # "GP"
        self._sensor_numbers: dict[str, int] = {}
        self._scalings: dict[str, Scaling] = {}
        self._sdr: list[bytes] = []
        self._sdr_by_number: dict[int, dict] = {}
        self._sdr_time = int(time.time())
        self._sel_erase_time = 0
        self._reservation = 0
        self._closed = False
        self._handlers: dict[tuple[int, int], Callable[[dict, Any], None]] = {
            (NETFN_APP, 0x01): self._get_device_id,
            (NETFN_APP, 0x42): self._get_channel_info,
            (NETFN_CHASSIS, 0x01): self._get_chassis_status,
            (NETFN_CHASSIS, 0x08): self.set_system_boot_options,
            (NETFN_CHASSIS, 0x09): self.get_system_boot_options,
            (NETFN_SENSOR_EVENT, 0x02): self._platform_event,
            (NETFN_SENSOR_EVENT, 0x25): self._get_sensor_hysteresis,
            (NETFN_SENSOR_EVENT, 0x27): self._get_sensor_thresholds,
            (NETFN_SENSOR_EVENT, 0x2D): self._get_sensor_reading,
            (NETFN_STORAGE, 0x20): self._get_sdr_repository_info,
            (NETFN_STORAGE, 0x22): self._reserve,
            (NETFN_STORAGE, 0x23): self._get_sdr,
            (NETFN_STORAGE, 0x40): self._get_sel_info,
            (NETFN_STORAGE, 0x42): self._reserve,
            (NETFN_STORAGE, 0x43): self._get_sel_entry,
            (NETFN_STORAGE, 0x47): self._clear_sel,
            (NETFN_STORAGE, 0x48): self._get_sel_time,
        }
        _DISPATCHER.register(self)

    # ------------------------------------------------------------------ lifecycle
    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def close(self) -> None:
        """Stop answering and release the UDP port."""
        if self._closed:
            return
        self._closed = True
        _DISPATCHER.unregister(self)
        sock = self.serversocket
        handlers = _pyghmi_session.Session.bmc_handlers
        handlers.pop(sock, None)
        for key in list(handlers):
            ports = handlers.get(key)
            if isinstance(ports, dict) and ports.get(self.port) is not None and key != sock:
                sess = ports.get(self.port)
                if getattr(sess, "bmc", None) is self:
                    ports.pop(self.port, None)
        if sock in _pyghmi_session.iosockets:
            _pyghmi_session.iosockets.remove(sock)
        _DISPATCHER.wake()

        def _close_later() -> None:
            # let the I/O thread leave a select() that still holds the socket
            time.sleep(0.2)
            sock.close()

        threading.Thread(target=_close_later, daemon=True).start()

    def _reachable(self) -> bool:
        return not self._closed and bool(getattr(self.node, "bmc_reachable", True))

    # ------------------------------------------------------------------ packet entry points
    def sessionless_data(self, data, sockaddr):
        if not self._reachable():
            return None  # a dead BMC does not even answer "get channel auth caps"
        return super().sessionless_data(data, sockaddr)

    def handle_raw_request(self, request, session):
        if not self._reachable():
            return None
        key = (request["netfn"], request["command"])
        handler = self._handlers.get(key)
        if handler is None:
            return super().handle_raw_request(request, session)
        try:
            handler(request, session)
        except Exception:
            log.exception("IPMI %s: netfn 0x%02x cmd 0x%02x failed", self.node.id, key[0], key[1])
            session.send_ipmi_response(code=CC_UNSPECIFIED)
        return None

    # ------------------------------------------------------------------ pyghmi Bmc hooks
    def get_system_guid(self):
        return self.uuid

    def cold_reset(self) -> int:
        # The BMC restarts: the answer still goes out (reachability is checked when a packet
        # arrives), then every packet is dropped for the node's ``bmc_restart_s``.
        self.node.reset_bmc()
        return CC_OK

    def get_power_state(self) -> str:
        return "on" if self.node.power_state == "On" else "off"

    def power_on(self) -> int:
        self.node.power_on()
        return CC_OK

    def power_off(self) -> int:
        self.node.power_off(graceful=False)
        return CC_OK

    def power_shutdown(self) -> int:
        self.node.power_off(graceful=True)
        return CC_OK

    def power_cycle(self) -> int:
        self.node.power_cycle()
        return CC_OK

    def power_reset(self) -> int:
        self.node.reset()
        return CC_OK

    def pulse_diag(self) -> int:
        self.node.add_sel("Front panel NMI / diagnostic interrupt", "Warning", "Critical Interrupt")
        return CC_OK

    def is_active(self) -> bool:
        return self.node.power_state == "On"

    # ------------------------------------------------------------------ App
    def _get_device_id(self, request: dict, session: Any) -> None:
        data = [
            self.deviceid,
            self.revision & 0x0F,  # bit 7 clear: no device SDRs, use the SDR repository
            self.firmwaremajor & 0x7F,  # bit 7 clear: normal operation
            self.firmwareminor,
            0x02,  # IPMI 2.0
            0x87,  # chassis, SEL, SDR repository and sensor device
        ]
        data += list(struct.pack("<I", self.mfgid)[:3])
        data += list(struct.pack("<H", self.prodid))
        data += [0, 0, 0, 0]  # auxiliary firmware revision
        session.send_ipmi_response(data=data)

    def _get_channel_info(self, request: dict, session: Any) -> None:
        data = list(request["data"])
        channel = (data[0] & 0x0F) if data else 0x0E
        if channel == 0x0E:
            channel = 0x01  # the LAN channel this request came in on
        if channel != 0x01:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        # 802.3 LAN medium, IPMB-1.0 protocol, multi-session, IANA 7154 (IPMI forum)
        session.send_ipmi_response(data=[channel, 0x04, 0x01, 0x81, 0xF2, 0x1B, 0x00, 0x00, 0x00])

    # ------------------------------------------------------------------ Chassis
    def _get_chassis_status(self, request: dict, session: Any) -> None:
        node = self.node
        on = node.power_state == "On"
        policy = {"AlwaysOff": 0x00, "LastState": 0x01, "AlwaysOn": 0x02}.get(
            getattr(node, "power_restore_policy", ""), 0x03
        )
        current = (0x01 if on else 0x00) | (policy << 5)
        misc = 0x00
        session.send_ipmi_response(data=[current, 0x00, misc, 0x00])

    def get_system_boot_options(self, request, session):
        data = list(request["data"])
        if not data:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        param = data[0] & 0x7F
        if param == 0:  # set in progress
            return session.send_ipmi_response(data=[0x01, 0x00, 0x00])
        if param == 3:  # service partition scan
            return session.send_ipmi_response(data=[0x01, 0x03, 0x00])
        if param == 4:  # boot info acknowledge
            return session.send_ipmi_response(data=[0x01, 0x04, 0x00, 0x00])
        if param == 5:
            node = self.node
            enabled = node.boot_override_enabled
            flags0 = 0x00
            if enabled != "Disabled" and node.boot_override_target != "None":
                flags0 |= 0x80
                if enabled == "Continuous":
                    flags0 |= 0x40
            if getattr(node, "boot_override_mode", "UEFI") == "UEFI":
                flags0 |= 0x20
            device = TARGET_TO_BOOT_DEVICE.get(node.boot_override_target, 0) if flags0 & 0x80 else 0
            return session.send_ipmi_response(data=[0x01, 0x05, flags0, device << 2, 0x00, 0x00, 0x00])
        return session.send_ipmi_response(code=CC_PARAM_NOT_SUPPORTED)

    def set_system_boot_options(self, request, session):
        data = list(request["data"])
        if not data:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        param = data[0] & 0x7F
        if param in (0, 3, 4):  # set-in-progress, service partition, boot info ack: accepted
            return session.send_ipmi_response()
        if param != 5:
            return session.send_ipmi_response(code=CC_PARAM_NOT_SUPPORTED)
        if len(data) < 3:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        flags0, flags1 = data[1], data[2]
        device = (flags1 >> 2) & 0x0F
        if not flags0 & 0x80 or device == 0:
            self.node.set_boot_override("None", "Disabled")
            return session.send_ipmi_response()
        target = BOOT_DEVICE_TO_TARGET.get(device)
        if target is None:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        enabled = "Continuous" if flags0 & 0x40 else "Once"
        mode = "UEFI" if flags0 & 0x20 else "Legacy"
        self.node.set_boot_override(target, enabled, mode)
        return session.send_ipmi_response()

    # ------------------------------------------------------------------ sensors / SDR
    def _current_sensors(self) -> list[tuple[int, dict]]:
        out = []
        for s in self.node.sensors():
            name = s["name"]
            num = self._sensor_numbers.get(name)
            if num is None:
                num = len(self._sensor_numbers) + 1
                if num > 0xFE:
                    continue
                self._sensor_numbers[name] = num
            if name not in self._scalings:
                hint = None
                if s.get("unit") == "W":
                    spec = getattr(self.node, "spec", None)
                    if spec is not None and s.get("critical") is None:
                        hint = float(spec.psu_watts * max(1, spec.psu_count))
                self._scalings[name] = _scaling_for(s, hint)
            out.append((num, s))
        return out

    def _rebuild_sdr(self) -> None:
        sensors = self._current_sensors()
        self._sdr = [full_sensor_record(i + 1, num, s, self._scalings[s["name"]]) for i, (num, s) in enumerate(sensors)]
        self._sdr_by_number = {num: s for num, s in sensors}

    def _get_sdr_repository_info(self, request: dict, session: Any) -> None:
        self._rebuild_sdr()
        count = len(self._sdr)
        data = [0x51] + list(struct.pack("<HH", count, 0xFFFF))
        data += list(struct.pack("<II", self._sdr_time, 0))
        data += [0x22]  # non-modal update, reserve supported
        session.send_ipmi_response(data=data)

    def _reserve(self, request: dict, session: Any) -> None:
        self._reservation = (self._reservation % 0xFFFF) + 1
        session.send_ipmi_response(data=list(struct.pack("<H", self._reservation)))

    def _get_sdr(self, request: dict, session: Any) -> None:
        data = bytes(request["data"])
        if len(data) < 6:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        _res, record_id, offset, length = struct.unpack("<HHBB", data[:6])
        if not self._sdr:
            self._rebuild_sdr()
        if not self._sdr:
            return session.send_ipmi_response(code=CC_NOT_PRESENT)
        index = 0 if record_id == 0 else (len(self._sdr) - 1 if record_id == 0xFFFF else record_id - 1)
        if not 0 <= index < len(self._sdr):
            return session.send_ipmi_response(code=CC_NOT_PRESENT)
        record = self._sdr[index]
        next_id = index + 2 if index + 1 < len(self._sdr) else 0xFFFF
        chunk = record[offset:] if length == 0xFF else record[offset : offset + length]
        session.send_ipmi_response(data=list(struct.pack("<H", next_id)) + list(chunk))

    def _sensor_for(self, number: int) -> dict | None:
        for num, s in self._current_sensors():
            if num == number:
                return s
        return None

    def _get_sensor_reading(self, request: dict, session: Any) -> None:
        data = list(request["data"])
        if not data:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        s = self._sensor_for(data[0])
        if s is None:
            return session.send_ipmi_response(code=CC_NOT_PRESENT)
        scaling = self._scalings[s["name"]]
        flags = 0xC0  # event messages and scanning enabled
        if s.get("reading") is None:
            flags |= 0x20  # reading unavailable
        status = {"Warning": 0x08, "Critical": 0x18}.get(s.get("status", "OK"), 0x00)
        if s.get("kind") == "fan" and s.get("status") == "Critical":
            status = 0x02  # at or below lower critical
        session.send_ipmi_response(data=[scaling.to_raw(s.get("reading")), flags, 0xC0 | status, 0x80])

    def _get_sensor_thresholds(self, request: dict, session: Any) -> None:
        data = list(request["data"])
        if not data:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        s = self._sensor_for(data[0])
        if s is None:
            return session.send_ipmi_response(code=CC_NOT_PRESENT)
        scaling = self._scalings[s["name"]]
        mask = 0
        unc = ucr = 0
        if s.get("warning") is not None:
            mask |= 0x08
            unc = scaling.to_raw(s["warning"])
        if s.get("critical") is not None:
            mask |= 0x10
            ucr = scaling.to_raw(s["critical"])
        session.send_ipmi_response(data=[mask, 0, 0, 0, unc, ucr, 0])

    def _get_sensor_hysteresis(self, request: dict, session: Any) -> None:
        data = list(request["data"])
        if not data or self._sensor_for(data[0]) is None:
            return session.send_ipmi_response(code=CC_NOT_PRESENT)
        session.send_ipmi_response(data=[0x00, 0x00])

    def _platform_event(self, request: dict, session: Any) -> None:
        """Platform Event Message (``ipmitool event``): record it in the SEL."""
        data = list(request["data"])
        # From the system interface the message carries a generator id first;
        # over LAN it starts at the event message revision.
        if len(data) >= 8:
            data = data[1:]
        if len(data) < 5:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        _rev, stype, sensor_num, dir_type, ed1 = data[:5]
        name_sev = _PEM_TEXT.get(stype)
        offset = ed1 & 0x0F
        deassert = bool(dir_type & 0x80)
        if name_sev is None:
            type_name = next((k for k, v in SENSOR_TYPES.items() if v == stype), "System Event")
            severity = "Warning"
        else:
            type_name, severities = name_sev
            severity = severities.get(offset, "Warning")
        if deassert:
            severity = "OK"
        sensor = self._sdr_by_number.get(sensor_num) or self._sensor_for(sensor_num)
        subject = sensor["name"] if sensor else f"sensor 0x{sensor_num:02x}"
        state = "deasserted" if deassert else "asserted"
        self.node.add_sel(f"{subject}: platform event offset 0x{offset:x} {state}", severity, type_name)
        session.send_ipmi_response()

    # ------------------------------------------------------------------ SEL
    def _sel_entries(self) -> list[dict]:
        lock = getattr(self.node, "_lock", None)
        if lock is not None:
            with lock:
                return list(self.node.sel)
        return list(self.node.sel)

    def _sensor_number_for_entry(self, entry: dict) -> int:
        msg = str(entry.get("message", ""))
        for name, num in self._sensor_numbers.items():
            if msg.startswith(name):
                return num
        stype = sensor_type_code(entry.get("sensor_type"))
        return 0x80 + (stype & 0x3F)  # one event-only sensor number per sensor type

    def _get_sel_info(self, request: dict, session: Any) -> None:
        entries = self._sel_entries()
        last_add = _epoch(entries[-1].get("created")) if entries else 0
        free = max(0, 1000 - len(entries)) * 16
        data = [0x51] + list(struct.pack("<HH", len(entries), min(free, 0xFFFE)))
        data += list(struct.pack("<II", last_add, self._sel_erase_time))
        data += [0x02]  # reserve supported
        session.send_ipmi_response(data=data)

    def _get_sel_entry(self, request: dict, session: Any) -> None:
        data = bytes(request["data"])
        if len(data) < 6:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        _res, record_id, offset, length = struct.unpack("<HHBB", data[:6])
        entries = self._sel_entries()
        if not entries:
            return session.send_ipmi_response(code=CC_NOT_PRESENT)
        if record_id == 0x0000:
            index = 0
        elif record_id == 0xFFFF:
            index = len(entries) - 1
        else:
            index = next((i for i, e in enumerate(entries) if _sel_id(e) == record_id), -1)
        if index < 0:
            return session.send_ipmi_response(code=CC_NOT_PRESENT)
        entry = entries[index]
        record = encode_sel_entry(entry, self._sensor_number_for_entry(entry))
        next_id = _sel_id(entries[index + 1]) if index + 1 < len(entries) else 0xFFFF
        chunk = record[offset:] if length == 0xFF else record[offset : offset + length]
        session.send_ipmi_response(data=list(struct.pack("<H", next_id)) + list(chunk))

    def _clear_sel(self, request: dict, session: Any) -> None:
        data = bytes(request["data"])
        if len(data) < 6 or data[2:5] != b"CLR":
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        if data[5] == 0xAA:
            self.node.clear_sel()
            self._sel_erase_time = int(time.time())
        elif data[5] != 0x00:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        session.send_ipmi_response(data=[0x01])  # erasure completed

    def _get_sel_time(self, request: dict, session: Any) -> None:
        session.send_ipmi_response(data=list(struct.pack("<I", int(time.time()))))


# --------------------------------------------------------------------------- helpers


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    for info in infos:
        addr = info[4][0]
        if not (addr.startswith("127.") or addr == "::1" or addr.startswith("::ffff:127.")):
            return False
    return True


def _node_uuid(node: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(node.uuid))
    except (AttributeError, ValueError):
        return uuid.uuid5(uuid.NAMESPACE_URL, f"gpufleet-sim:{node.id}")


def start_bmc(node: Any, host: str | None = None, port: int | None = None) -> NodeBmc:
    """Start the IPMI BMC of ``node`` at ``node.ipmi_address`` (or 127.0.0.1, free port).

    Sets ``node.ipmi_address`` to the address actually bound.
    """
    addr = getattr(node, "ipmi_address", None)
    if host is None:
        host = addr[0] if addr else "127.0.0.1"
    if port is None:
        port = int(addr[1]) if addr else 0
    bmc = NodeBmc(node, host=host, port=port)
    node.ipmi_address = bmc.address
    return bmc


class FleetBmcs:
    """The IPMI BMCs of a whole fleet."""

    def __init__(self, fleet: Any, host: str | None = None, limit: int = MAX_BMCS_PER_PROCESS) -> None:
        self.fleet = fleet
        self.bmcs: dict[str, NodeBmc] = {}
        nodes = list(fleet.nodes.items())
        if len(nodes) > limit:
            log.warning("IPMI: serving the first %d of %d nodes (pyghmi's select() limit)", limit, len(nodes))
        try:
            for node_id, node in nodes[:limit]:
                self.bmcs[node_id] = start_bmc(node, host=host)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        for bmc in self.bmcs.values():
            bmc.close()
        self.bmcs.clear()

    def __enter__(self) -> FleetBmcs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def start_fleet(fleet: Any) -> Callable[[], Any]:
    """Fleet starter (``fleet.add_starter(start_fleet)``): one BMC per node."""
    bmcs = FleetBmcs(fleet)
    log.info("IPMI: %d BMCs started", len(bmcs.bmcs))

    async def stop() -> None:
        bmcs.close()

    return stop


def install(fleet: Any) -> None:
    """Have ``gpufleet-sim up`` start one IPMI BMC per node."""
    fleet.add_starter(start_fleet)
