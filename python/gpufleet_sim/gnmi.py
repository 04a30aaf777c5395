"""gNMI target (gRPC) for every simulated leaf switch.

Serves the OpenConfig interfaces model of one :class:`~gpufleet_sim.model.Switch`
on its own loopback address (``switch.gnmi_address``, default ``127.0.0.1`` on a
free port), plaintext gRPC::

    /interfaces/interface[name=X]/name
    /interfaces/interface[name=X]/config/{name,type,mtu,description,enabled}
    /interfaces/interface[name=X]/state/{name,type,mtu,description,enabled,ifindex,
                                          admin-status,oper-status}
    /interfaces/interface[name=X]/state/counters/{in-octets,out-octets,in-errors,out-errors}
    /interfaces/interface[name=X]/ethernet/{config,state}/port-speed

RPCs:

* ``Capabilities``: models openconfig-interfaces and openconfig-if-ethernet;
  encodings JSON and JSON_IETF (RFC 7951: uint64 counters as strings, module
  names on the top-level and augmenting members).
* ``Get``: any path above, with ``*`` wildcards for names and keys and a list
  element without keys meaning every entry; data types ALL / CONFIG / STATE /
  OPERATIONAL.
* ``Set``: delete, replace and update of ``config/enabled`` (the port's
  admin status, through ``Switch.set_admin``) and ``config/description``, at
  the leaf, ``config``, interface or ``interfaces`` level; all-or-nothing.
* ``Subscribe``: ONCE, POLL (current values at once, then again on every Poll) and STREAM with SAMPLE (``sample_interval``,
  ``suppress_redundant``, ``heartbeat_interval``), ON_CHANGE and TARGET_DEFINED
  (served as ON_CHANGE); ``updates_only``.  Streams send leaf updates.
  Model callbacks wake ON_CHANGE streams at once; counter changes, which the
  model does not announce, are found by comparing values every
  :data:`CHANGE_SCAN_S` seconds.

With ``credentials`` the target wants ``username``/``password`` call metadata
(as gNMI clients send it); without, it takes any caller.

A switch that is down (``switch.alive`` False: faulted or unpowered) answers
every RPC with ``UNAVAILABLE`` and ends its open streams with it, which is what
a client sees from a dead target.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from pygnmi.spec.v080 import gnmi_pb2 as pb
from pygnmi.spec.v080 import gnmi_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

GNMI_VERSION = "0.8.0"
MODELS = (
    ("openconfig-interfaces", "OpenConfig working group", "3.7.1"),
    ("openconfig-if-ethernet", "OpenConfig working group", "2.14.0"),
)
SUPPORTED_ENCODINGS = (pb.Encoding.JSON, pb.Encoding.JSON_IETF)
#: the shortest SAMPLE interval served (also used for ``sample_interval`` 0)
MIN_SAMPLE_INTERVAL_S = 0.1
#: how often ON_CHANGE streams look for changes the model does not announce
CHANGE_SCAN_S = 0.5
#: how often an idle stream checks that the switch is alive and the client there
IDLE_CHECK_S = 0.25

#: members that belong to another YANG module than their parent (RFC 7951 qualification)
IETF_QUALIFIED = {
    "interfaces": "openconfig-interfaces:interfaces",
    "ethernet": "openconfig-if-ethernet:ethernet",
}
CONFIG_LEAVES = ("name", "type", "mtu", "description", "enabled")
WRITABLE_LEAVES = ("enabled", "description")
SPEEDS = {1: "SPEED_1GB", 10: "SPEED_10GB", 25: "SPEED_25GB", 40: "SPEED_40GB", 50: "SPEED_50GB"}
SPEEDS.update({100: "SPEED_100GB", 200: "SPEED_200GB", 400: "SPEED_400GB", 800: "SPEED_800GB"})


class GnmiError(Exception):
    """A request the target refuses: gRPC status code and a message for the client."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class U64(int):
    """A YANG uint64: a JSON number in JSON encoding, a string in JSON_IETF (RFC 7951 6.1)."""


@dataclass
class KeyedList:
    """A YANG list: entries by key value."""

    key: str
    items: dict[str, dict]


Elem = tuple[str, dict[str, str]]  # (name, keys)


# --------------------------------------------------------------------------- data tree


def _ifindex(name: str) -> int:
    m = re.search(r"(\d+)$", name)
    return int(m.group(1)) if m else 0


def interface_tree(port: Any) -> dict:
    """The OpenConfig view of one switch port."""
    enabled = port.admin_status == "UP"
    speed = SPEEDS.get(int(getattr(port, "speed_gbps", 0) or 0), "SPEED_UNKNOWN")
    common = {
        "name": port.name,
        "type": "iana-if-type:ethernetCsmacd",
        "mtu": 9216,
        "description": getattr(port, "description", "") or "",
        "enabled": enabled,
    }
    return {
        "name": port.name,
        "config": dict(common),
        "state": {
            **common,
            "ifindex": _ifindex(port.name),
            "admin-status": "UP" if enabled else "DOWN",
            "oper-status": port.oper_status,
            "counters": {
                "in-octets": U64(port.in_octets),
                "out-octets": U64(port.out_octets),
                "in-errors": U64(port.in_errors),
                "out-errors": U64(port.out_errors),
            },
        },
        "ethernet": {
            "config": {"port-speed": f"openconfig-if-ethernet:{speed}"},
            "state": {"port-speed": f"openconfig-if-ethernet:{speed}"},
        },
    }


def switch_tree(switch: Any) -> dict:
    lock = getattr(switch, "_lock", None)
    if lock is not None:
        with lock:
            ports = list(switch.ports.values())
    else:
        ports = list(switch.ports.values())
    return {"interfaces": {"interface": KeyedList("name", {p.name: interface_tree(p) for p in ports})}}


def _filter(value: Any, datatype: int) -> Any:
    """Prune a subtree to CONFIG (no state) or STATE/OPERATIONAL (no config) data."""
    if datatype == pb.GetRequest.DataType.ALL:
        return value
    drop = "state" if datatype == pb.GetRequest.DataType.CONFIG else "config"
    if isinstance(value, KeyedList):
        return KeyedList(value.key, {k: _filter(v, datatype) for k, v in value.items.items()})
    if isinstance(value, dict):
        return {k: _filter(v, datatype) for k, v in value.items() if k != drop}
    return value


def to_json(value: Any, ietf: bool, top: bool = False) -> Any:
    if isinstance(value, KeyedList):
        return [to_json(v, ietf) for v in value.items.values()]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            name = IETF_QUALIFIED.get(k, k) if ietf and (k != "interfaces" or top) else k
            out[name] = to_json(v, ietf)
        return out
    if isinstance(value, U64):
        return str(int(value)) if ietf else int(value)
    return value


def encode(value: Any, encoding: int, top: bool = False) -> pb.TypedValue:
    ietf = encoding == pb.Encoding.JSON_IETF
    data = json.dumps(to_json(value, ietf, top), separators=(",", ":")).encode()
    return pb.TypedValue(json_ietf_val=data) if ietf else pb.TypedValue(json_val=data)


# --------------------------------------------------------------------------- paths


def _strip_module(name: str) -> str:
    return name.split(":", 1)[1] if ":" in name else name


def path_elems(*paths: pb.Path) -> list[Elem]:
    """The elements of prefix + path, module prefixes removed."""
    out: list[Elem] = []
    for p in paths:
        if p is None:
            continue
        origin = p.origin
        if origin and origin not in ("openconfig", "rfc7951") and not origin.startswith("openconfig-"):
            raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported path origin {origin!r}; use openconfig")
        if p.elem:
            out.extend((_strip_module(e.name), dict(e.key)) for e in p.elem)
        elif p.element:  # deprecated string form
            out.extend((_strip_module(e), {}) for e in p.element)
    return out


def make_path(elems: list[Elem]) -> pb.Path:
    return pb.Path(elem=[pb.PathElem(name=n, key=k) for n, k in elems])


def path_str(elems: list[Elem]) -> str:
    parts = []
    for n, k in elems:
        parts.append(n + "".join(f"[{a}={b}]" for a, b in sorted(k.items())))
    return "/" + "/".join(parts)


def resolve(node: Any, elems: list[Elem], done: tuple[Elem, ...] = ()) -> list[tuple[list[Elem], Any]]:
    """Every (concrete path, value) that ``elems`` (with ``*`` wildcards) selects."""
    if not elems:
        return [(list(done), node)]
    name, keys = elems[0]
    if not isinstance(node, dict):
        return []
    if name == "*":
        children = list(node.items())
    elif name in node:
        children = [(name, node[name])]
    else:
        return []
    out: list[tuple[list[Elem], Any]] = []
    for cname, child in children:
        if isinstance(child, KeyedList):
            wanted = keys.get(child.key)
            if not keys and len(elems) == 1:
                out.append((list(done) + [(cname, {})], child))
                continue
            unknown = set(keys) - {child.key}
            if unknown:
                raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"{cname} has no key {sorted(unknown)[0]!r}")
            if wanted is None or wanted == "*":
                selected = list(child.items.items())
            else:
                selected = [(wanted, child.items[wanted])] if wanted in child.items else []
            for kv, item in selected:
                out.extend(resolve(item, elems[1:], done + ((cname, {child.key: kv}),)))
        else:
            if keys:
                raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"{cname} is not a list; it takes no keys")
            out.extend(resolve(child, elems[1:], done + ((cname, {}),)))
    return out


def leaves(elems: list[Elem], value: Any) -> list[tuple[list[Elem], Any]]:
    """Flatten a subtree into (path, scalar) pairs."""
    if isinstance(value, KeyedList):
        out = []
        for kv, item in value.items.items():
            head = list(elems)
            head[-1] = (head[-1][0], {value.key: kv})
            out.extend(leaves(head, item))
        return out
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out.extend(leaves(list(elems) + [(k, {})], v))
        return out
    return [(list(elems), value)]


def _key(elems: list[Elem]) -> tuple:
    return tuple((n, tuple(sorted(k.items()))) for n, k in elems)


# --------------------------------------------------------------------------- Set


def decode_value(tv: pb.TypedValue) -> Any:
    kind = tv.WhichOneof("value")
    if kind in ("json_val", "json_ietf_val"):
        raw = getattr(tv, kind)
        try:
            return _strip_keys(json.loads(raw))
        except ValueError:
            # some clients send a bare string leaf unquoted: take it as that string
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"value is neither JSON nor UTF-8 text: {e}") from e
    if kind in ("string_val", "bool_val", "int_val", "uint_val", "float_val", "double_val"):
        return getattr(tv, kind)
    if kind == "ascii_val":
        return tv.ascii_val
    raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported value type {kind}; send JSON or JSON_IETF")


def _strip_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_strip_module(k): _strip_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_keys(v) for v in value]
    return value


@dataclass
class _PortConfig:
    enabled: bool
    description: str


def _check_config(name: str, cfg: Any) -> dict:
    if not isinstance(cfg, dict):
        raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"config of {name} must be an object")
    out = {}
    for leaf, v in cfg.items():
        if leaf == "name":
            if v != name:
                raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"config/name {v!r} does not match key {name!r}")
            continue
        if leaf in ("type", "mtu") and v == interface_tree_default(leaf):
            continue
        if leaf not in WRITABLE_LEAVES:
            raise GnmiError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"config/{leaf} of {name} cannot be set here; writable leaves: {', '.join(WRITABLE_LEAVES)}",
            )
        out[leaf] = _check_leaf(name, leaf, v)
    return out


def interface_tree_default(leaf: str) -> Any:
    return {"type": "iana-if-type:ethernetCsmacd", "mtu": 9216}.get(leaf)


def _check_leaf(name: str, leaf: str, v: Any) -> Any:
    if leaf == "enabled":
        if not isinstance(v, bool):
            raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"config/enabled of {name} must be a boolean, not {v!r}")
        return v
    if leaf == "description":
        if not isinstance(v, str):
            raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"config/description of {name} must be a string")
        return v
    raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"config/{leaf} of {name} is not writable")


class _SetPlan:
    """The desired configuration of every port, built from a SetRequest before anything changes."""

    def __init__(self, switch: Any) -> None:
        self.switch = switch
        self.desired = {
            n: _PortConfig(p.admin_status == "UP", getattr(p, "description", "") or "") for n, p in switch.ports.items()
        }

    def _port(self, elems: list[Elem], op: str) -> str:
        name, keys = elems[1]
        if name != "interface":
            raise GnmiError(grpc.StatusCode.NOT_FOUND, f"no such path {path_str(elems)}")
        port = keys.get("name")
        if port is None or port == "*":
            raise GnmiError(
                grpc.StatusCode.INVALID_ARGUMENT, f"{op} needs a concrete interface name in {path_str(elems)}"
            )
        if port not in self.desired:
            raise GnmiError(grpc.StatusCode.NOT_FOUND, f"switch {self.switch.id} has no interface {port!r}")
        return port

    def _apply(self, port: str, cfg: dict, reset: bool) -> None:
        d = self.desired[port]
        if reset:
            d.enabled, d.description = True, ""
        if "enabled" in cfg:
            d.enabled = cfg["enabled"]
        if "description" in cfg:
            d.description = cfg["description"]

    def _interface_config(self, port: str, value: Any) -> dict:
        if not isinstance(value, dict):
            raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"interface {port} must be an object")
        if value.get("name", port) != port:
            raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"name {value.get('name')!r} does not match key {port!r}")
        extra = set(value) - {"name", "config", "state", "ethernet"}
        if extra:
            raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"unknown members {sorted(extra)} in interface {port}")
        return _check_config(port, value.get("config", {}))

    def apply(self, elems: list[Elem], value: Any, op: str) -> None:
        """op: delete, replace or update."""
        reset = op in ("delete", "replace")
        if not elems or elems[0][0] != "interfaces":
            if elems:
                raise GnmiError(grpc.StatusCode.NOT_FOUND, f"no such path {path_str(elems)}")
            if op != "delete":  # root: {"interfaces": {...}}
                if not isinstance(value, dict) or set(value) - {"interfaces"}:
                    raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, "root value must be {'interfaces': {...}}")
                value = value.get("interfaces", {})
            elems = [("interfaces", {})]
        if len(elems) == 1:  # /interfaces
            items: dict[str, dict] = {}
            if op != "delete":
                if not isinstance(value, dict) or not isinstance(value.get("interface", []), list):
                    raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, "interfaces value must be {'interface': [...]}")
                for item in value.get("interface", []):
                    port = item.get("name") if isinstance(item, dict) else None
                    if port not in self.desired:
                        raise GnmiError(grpc.StatusCode.NOT_FOUND, f"switch {self.switch.id} has no interface {port!r}")
                    items[port] = self._interface_config(port, item)
            for port in self.desired if reset else items:
                self._apply(port, items.get(port, {}), reset)
            return
        port = self._port(elems, op)
        rest = [n for n, _ in elems[2:]]
        if not rest:  # /interfaces/interface[name=X]
            cfg = {} if op == "delete" else self._interface_config(port, value)
            self._apply(port, cfg, reset)
        elif rest == ["config"]:
            cfg = {} if op == "delete" else _check_config(port, value)
            self._apply(port, cfg, reset)
        elif len(rest) == 2 and rest[0] == "config":
            leaf = rest[1]
            if leaf not in WRITABLE_LEAVES:
                raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"config/{leaf} of {port} is not writable")
            if op == "delete":
                self._apply(port, {leaf: True if leaf == "enabled" else ""}, False)
            else:
                self._apply(port, {leaf: _check_leaf(port, leaf, value)}, False)
        elif rest[0] in ("state", "name"):
            raise GnmiError(
                grpc.StatusCode.INVALID_ARGUMENT, f"{path_str(elems)} is read-only state; set config instead"
            )
        else:
            raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"{path_str(elems)} is not writable")

    def commit(self) -> None:
        for name, d in self.desired.items():
            port = self.switch.ports[name]
            if getattr(port, "description", "") != d.description:
                port.description = d.description
            if (port.admin_status == "UP") != d.enabled:
                self.switch.set_admin(name, d.enabled)


# --------------------------------------------------------------------------- the servicer


@dataclass
class _Sub:
    elems: list[Elem]
    mode: int
    interval_s: float
    suppress: bool
    heartbeat_s: float
    next_due: float = 0.0
    next_heartbeat: float = 0.0
    last: dict = field(default_factory=dict)


class GnmiServicer(pb_grpc.gNMIServicer):
    def __init__(self, switch: Any, stopping: threading.Event, credentials: tuple[str, str] | None = None) -> None:
        self.switch = switch
        self.stopping = stopping
        self.credentials = credentials

    # ------------------------------------------------------------------ helpers
    def _alive(self, context: grpc.ServicerContext) -> None:
        if not getattr(self.switch, "alive", True):
            context.abort(grpc.StatusCode.UNAVAILABLE, f"switch {self.switch.id} is down")
        if self.credentials is not None:
            md = dict(context.invocation_metadata())
            if (md.get("username"), md.get("password")) != self.credentials:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "username/password metadata missing or wrong")

    def _check_target(self, prefix: pb.Path | None) -> None:
        if prefix is not None and prefix.target and prefix.target != self.switch.id:
            raise GnmiError(grpc.StatusCode.NOT_FOUND, f"this target is {self.switch.id!r}, not {prefix.target!r}")

    @staticmethod
    def _encoding(encoding: int) -> int:
        if encoding not in SUPPORTED_ENCODINGS:
            name = pb.Encoding.Name(encoding) if encoding in pb.Encoding.values() else str(encoding)
            raise GnmiError(grpc.StatusCode.UNIMPLEMENTED, f"encoding {name} not supported; use JSON or JSON_IETF")
        return encoding

    def _run(self, context: grpc.ServicerContext, fn: Callable[[], Any]) -> Any:
        self._alive(context)
        try:
            return fn()
        except GnmiError as e:
            context.abort(e.code, e.message)

    # ------------------------------------------------------------------ RPCs
    def Capabilities(self, request: pb.CapabilityRequest, context: grpc.ServicerContext) -> pb.CapabilityResponse:
        self._alive(context)
        return pb.CapabilityResponse(
            supported_models=[pb.ModelData(name=n, organization=o, version=v) for n, o, v in MODELS],
            supported_encodings=list(SUPPORTED_ENCODINGS),
            gNMI_version=GNMI_VERSION,
        )

    def Get(self, request: pb.GetRequest, context: grpc.ServicerContext) -> pb.GetResponse:
        def run() -> pb.GetResponse:
            self._check_target(request.prefix)
            encoding = self._encoding(request.encoding)
            if request.use_models:
                known = {m[0] for m in MODELS}
                for m in request.use_models:
                    if m.name not in known:
                        raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, f"model {m.name!r} is not supported")
            tree = switch_tree(self.switch)
            now = time.time_ns()
            notifications = []
            for p in request.path or [pb.Path()]:
                elems = path_elems(request.prefix, p)
                found = resolve(tree, elems)
                if not found:
                    raise GnmiError(grpc.StatusCode.NOT_FOUND, f"no data at {path_str(elems)} on {self.switch.id}")
                updates = [
                    pb.Update(path=make_path(e), val=encode(_filter(v, request.type), encoding, top=not e))
                    for e, v in found
                ]
                notifications.append(pb.Notification(timestamp=now, update=updates))
            return pb.GetResponse(notification=notifications)

        return self._run(context, run)

    def Set(self, request: pb.SetRequest, context: grpc.ServicerContext) -> pb.SetResponse:
        def run() -> pb.SetResponse:
            self._check_target(request.prefix)
            plan = _SetPlan(self.switch)
            results = []
            for p in request.delete:
                plan.apply(path_elems(request.prefix, p), None, "delete")
                results.append(pb.UpdateResult(path=p, op=pb.UpdateResult.DELETE))
            for u in request.replace:
                plan.apply(path_elems(request.prefix, u.path), decode_value(u.val), "replace")
                results.append(pb.UpdateResult(path=u.path, op=pb.UpdateResult.REPLACE))
            for u in request.update:
                plan.apply(path_elems(request.prefix, u.path), decode_value(u.val), "update")
                results.append(pb.UpdateResult(path=u.path, op=pb.UpdateResult.UPDATE))
            plan.commit()
            return pb.SetResponse(prefix=request.prefix, response=results, timestamp=time.time_ns())

        return self._run(context, run)

    def Subscribe(
        self, request_iterator: Iterator[pb.SubscribeRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.SubscribeResponse]:
        self._alive(context)
        try:
            first = next(request_iterator)
        except StopIteration:
            return
        if not first.HasField("subscribe"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first SubscribeRequest must carry a SubscriptionList")
        sl = first.subscribe
        try:
            self._check_target(sl.prefix)
            encoding = self._encoding(sl.encoding)
            subs = [self._make_sub(sl, s) for s in sl.subscription]
            if not subs:
                raise GnmiError(grpc.StatusCode.INVALID_ARGUMENT, "the SubscriptionList has no subscription")
            for s in subs:
                if not resolve(switch_tree(self.switch), s.elems):
                    raise GnmiError(grpc.StatusCode.NOT_FOUND, f"no data at {path_str(s.elems)} on {self.switch.id}")
        except GnmiError as e:
            context.abort(e.code, e.message)

        events: queue.Queue = queue.Queue()
        unsubscribe = self.switch.subscribe(lambda port, fld, value: events.put("change"))
        context.add_callback(lambda: events.put("end"))

        def read_requests() -> None:
            try:
                for req in request_iterator:
                    if req.HasField("poll"):
                        events.put("poll")
            except Exception:  # the client went away
                pass
            events.put("end")

        threading.Thread(target=read_requests, name=f"gnmi-{self.switch.id}-reader", daemon=True).start()
        try:
            yield from self._serve(sl, subs, encoding, events, context)
        finally:
            unsubscribe()

    # ------------------------------------------------------------------ subscriptions
    def _make_sub(self, sl: pb.SubscriptionList, s: pb.Subscription) -> _Sub:
        mode = s.mode
        if mode == pb.SubscriptionMode.TARGET_DEFINED:
            mode = pb.SubscriptionMode.ON_CHANGE
        interval = max(MIN_SAMPLE_INTERVAL_S, s.sample_interval / 1e9) if s.sample_interval else MIN_SAMPLE_INTERVAL_S
        heartbeat = s.heartbeat_interval / 1e9 if s.heartbeat_interval else 0.0
        if heartbeat:
            heartbeat = max(MIN_SAMPLE_INTERVAL_S, heartbeat)
        return _Sub(path_elems(sl.prefix, s.path), mode, interval, s.suppress_redundant, heartbeat)

    def _current(self, sub: _Sub) -> dict:
        out = {}
        for e, v in resolve(switch_tree(self.switch), sub.elems):
            for le, lv in leaves(e, v):
                out[_key(le)] = (le, lv)
        return out

    def _notification(self, pairs: list[tuple[list[Elem], Any]], encoding: int, deletes=()) -> pb.SubscribeResponse:
        n = pb.Notification(
            timestamp=time.time_ns(),
            update=[pb.Update(path=make_path(e), val=encode(v, encoding)) for e, v in pairs],
            delete=[make_path(e) for e in deletes],
        )
        return pb.SubscribeResponse(update=n)

    @staticmethod
    def _sync() -> pb.SubscribeResponse:
        return pb.SubscribeResponse(sync_response=True)

    def _full(self, subs: list[_Sub], encoding: int) -> Iterator[pb.SubscribeResponse]:
        for s in subs:
            cur = self._current(s)
            s.last = {k: v[1] for k, v in cur.items()}
            if cur:
                yield self._notification(list(cur.values()), encoding)

    def _serve(
        self,
        sl: pb.SubscriptionList,
        subs: list[_Sub],
        encoding: int,
        events: queue.Queue,
        context: grpc.ServicerContext,
    ) -> Iterator[pb.SubscribeResponse]:
        if sl.mode == pb.SubscriptionList.ONCE:
            yield from self._full(subs, encoding)
            yield self._sync()
            return
        if sl.mode == pb.SubscriptionList.POLL:
            yield from self._full(subs, encoding)
            yield self._sync()
            while True:
                ev = self._next_event(events, IDLE_CHECK_S, context)
                if ev == "end":
                    return
                if ev == "poll":
                    yield from self._full(subs, encoding)
                    yield self._sync()
        # STREAM
        now = time.monotonic()
        if sl.updates_only:
            for s in subs:
                s.last = {k: v[1] for k, v in self._current(s).items()}
        else:
            yield from self._full(subs, encoding)
        yield self._sync()
        for s in subs:
            s.next_due = now + s.interval_s
            s.next_heartbeat = now + s.heartbeat_s if s.heartbeat_s else float("inf")
        next_scan = now + CHANGE_SCAN_S
        while True:
            now = time.monotonic()
            wake = min([next_scan] + [s.next_due for s in subs if s.mode == pb.SubscriptionMode.SAMPLE])
            wake = min([wake] + [s.next_heartbeat for s in subs])
            ev = self._next_event(events, max(0.0, min(wake - now, IDLE_CHECK_S)), context)
            if ev == "end":
                return
            now = time.monotonic()
            scan = ev == "change" or now >= next_scan
            if now >= next_scan:
                next_scan = now + CHANGE_SCAN_S
            for s in subs:
                heartbeat = now >= s.next_heartbeat
                if heartbeat:
                    s.next_heartbeat = now + s.heartbeat_s
                if s.mode == pb.SubscriptionMode.SAMPLE:
                    if now < s.next_due and not heartbeat:
                        continue
                    if now >= s.next_due:
                        s.next_due = max(s.next_due + s.interval_s, now)
                    msg = self._delta(s, encoding, only_changes=s.suppress and not heartbeat)
                elif scan or heartbeat:
                    msg = self._delta(s, encoding, only_changes=not heartbeat)
                else:
                    continue
                if msg is not None:
                    yield msg

    def _delta(self, s: _Sub, encoding: int, only_changes: bool) -> pb.SubscribeResponse | None:
        cur = self._current(s)
        changed = [pair for k, pair in cur.items() if not only_changes or s.last.get(k, _MISSING) != pair[1]]
        gone = [self._elems_of(k) for k in s.last if k not in cur]
        s.last = {k: v[1] for k, v in cur.items()}
        if not changed and not gone:
            return None
        return self._notification(changed, encoding, gone)

    @staticmethod
    def _elems_of(key: tuple) -> list[Elem]:
        return [(n, dict(k)) for n, k in key]

    def _next_event(self, events: queue.Queue, timeout: float, context: grpc.ServicerContext) -> str | None:
        try:
            ev = events.get(timeout=timeout)
        except queue.Empty:
            ev = None
        if self.stopping.is_set() or not context.is_active():
            return "end"
        if not getattr(self.switch, "alive", True):
            context.abort(grpc.StatusCode.UNAVAILABLE, f"switch {self.switch.id} is down")
        return ev


_MISSING = object()


# --------------------------------------------------------------------------- servers


class GnmiTarget:
    """The gNMI server of one switch (plaintext gRPC on a loopback address)."""

    def __init__(
        self,
        switch: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        max_workers: int = 16,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        if not (host.startswith("127.") or host in ("localhost", "::1", "[::1]")):
            raise ValueError(f"gNMI target of {switch.id} must bind a loopback address, not {host!r}")
        self.switch = switch
        self.host = host
        self._stopping = threading.Event()
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"gnmi-{switch.id}"),
            options=[("grpc.so_reuseport", 0)],
        )
        pb_grpc.add_gNMIServicer_to_server(GnmiServicer(switch, self._stopping, credentials), self._server)
        bind = f"[{host.strip('[]')}]:{port}" if ":" in host.strip("[]") else f"{host}:{port}"
        self.port = self._server.add_insecure_port(bind)
        if not self.port:
            raise OSError(f"cannot bind gNMI target of {switch.id} to {bind}")
        self._server.start()
        switch.gnmi_address = (host, self.port)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self, grace: float = 0.5) -> None:
        self._stopping.set()
        self._server.stop(grace).wait(grace + 2)


def start_target(switch: Any, host: str | None = None, port: int | None = None) -> GnmiTarget:
    """Start the gNMI target of ``switch`` at ``switch.gnmi_address`` (or 127.0.0.1, free port)."""
    addr = getattr(switch, "gnmi_address", None)
    if host is None:
        host = addr[0] if addr else "127.0.0.1"
    if port is None:
        port = int(addr[1]) if addr else 0
    return GnmiTarget(switch, host=host, port=port)


class FleetTargets:
    """The gNMI targets of every switch of a fleet."""

    def __init__(self, fleet: Any) -> None:
        self.targets: dict[str, GnmiTarget] = {}
        try:
            for sw_id, sw in fleet.switches.items():
                self.targets[sw_id] = start_target(sw)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        for t in self.targets.values():
            t.stop()
        self.targets.clear()

    def __enter__(self) -> FleetTargets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def start_fleet(fleet: Any) -> Callable[[], Any]:
    """Fleet starter (``fleet.add_starter(start_fleet)``): one gNMI target per switch."""
    targets = FleetTargets(fleet)
    log.info("gNMI: %d targets started", len(targets.targets))

    async def stop() -> None:
        targets.stop()

    return stop


def install(fleet: Any) -> None:
    """Have ``gpufleet-sim up`` start one gNMI target per switch."""
    fleet.add_starter(start_fleet)
