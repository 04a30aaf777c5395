"""The simulated gNMI target, driven by the independent pygnmi client."""

from __future__ import annotations

import random
import time

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException

from gpufleet_sim import gnmi
from gpufleet_sim.model import Fleet, Switch

IF = "/interfaces/interface[name={}]"


@pytest.fixture()
def fleet():
    f = Fleet(seed=3)
    sw = f.add_switch(Switch("leaf-1", "rack-1", ports=8))
    for i in (1, 2, 3):
        sw.ports[f"Ethernet{i}"].peer = f"gpu-00{i}/NIC1"
    f.add_switch(Switch("leaf-2", "rack-1", ports=4))
    return f


@pytest.fixture()
def targets(fleet):
    with gnmi.FleetTargets(fleet) as t:
        yield t.targets


@pytest.fixture()
def switch(fleet):
    return fleet.switches["leaf-1"]


@pytest.fixture()
def client(targets, switch):
    host, port = switch.gnmi_address
    with gNMIclient(target=(host, port), insecure=True, gnmi_timeout=5) as gc:
        yield gc


def get_val(gc: gNMIclient, path: str, **kw):
    resp = gc.get(path=[path], **kw)
    updates = resp["notification"][0]["update"]
    assert len(updates) == 1, updates
    return updates[0]["val"]


def grpc_code(exc: gNMIException) -> grpc.StatusCode:
    return exc.orig_exc.code()


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


# --------------------------------------------------------------------------- Capabilities / Get


def test_targets_bind_loopback(fleet, targets):
    assert set(targets) == {"leaf-1", "leaf-2"}
    addrs = {sw.gnmi_address for sw in fleet.switches.values()}
    assert len(addrs) == 2 and all(h == "127.0.0.1" and p > 0 for h, p in addrs)
    with pytest.raises(ValueError, match="loopback"):
        gnmi.GnmiTarget(fleet.switches["leaf-2"], host="0.0.0.0")


def test_capabilities(client):
    caps = client.capabilities()
    assert caps["gnmi_version"] == "0.8.0"
    assert set(caps["supported_encodings"]) == {"json", "json_ietf"}
    assert "openconfig-interfaces" in {m["name"] for m in caps["supported_models"]}


@pytest.mark.parametrize("encoding", ["json", "json_ietf"])
def test_get_leaves_follow_model(client, switch, encoding):
    assert get_val(client, IF.format("Ethernet1") + "/state/oper-status", encoding=encoding) == "UP"
    assert get_val(client, IF.format("Ethernet1") + "/state/admin-status", encoding=encoding) == "UP"
    assert get_val(client, IF.format("Ethernet1") + "/config/enabled", encoding=encoding) is True
    switch.set_admin("Ethernet1", False)
    assert get_val(client, IF.format("Ethernet1") + "/state/oper-status", encoding=encoding) == "DOWN"
    assert get_val(client, IF.format("Ethernet1") + "/state/admin-status", encoding=encoding) == "DOWN"
    assert get_val(client, IF.format("Ethernet1") + "/config/enabled", encoding=encoding) is False


def test_get_counters_json_vs_json_ietf(client, switch):
    switch.add_traffic(random.Random(1))
    p = switch.ports["Ethernet2"]
    p.in_errors = 7
    assert p.in_octets > 0
    path = IF.format("Ethernet2") + "/state/counters"
    ietf = get_val(client, path, encoding="json_ietf")
    plain = get_val(client, path, encoding="json")
    # RFC 7951: uint64 as a string in JSON_IETF; a number in JSON
    assert ietf == {
        "in-octets": str(p.in_octets),
        "out-octets": str(p.out_octets),
        "in-errors": "7",
        "out-errors": "0",
    }
    assert plain["in-octets"] == p.in_octets and plain["in-errors"] == 7
    assert get_val(client, path + "/out-octets", encoding="json") == p.out_octets


def test_get_interface_subtree_and_module_names(client):
    val = get_val(client, "openconfig-interfaces:interfaces/interface[name=Ethernet3]", encoding="json_ietf")
    assert val["name"] == "Ethernet3"
    assert val["state"]["oper-status"] == "UP" and val["state"]["ifindex"] == 3
    assert val["openconfig-if-ethernet:ethernet"]["state"]["port-speed"] == "openconfig-if-ethernet:SPEED_100GB"
    root = client.get(path=["/"], encoding="json_ietf")["notification"][0]["update"][0]["val"]
    names = [i["name"] for i in root["openconfig-interfaces:interfaces"]["interface"]]
    assert names == [f"Ethernet{i}" for i in range(1, 9)]


def test_get_wildcards(client, switch):
    switch.set_admin("Ethernet5", False)
    resp = client.get(path=["/interfaces/interface[name=*]/state/oper-status"], encoding="json")
    got = {u["path"]: u["val"] for u in resp["notification"][0]["update"]}
    assert len(got) == 8
    assert got["interfaces/interface[name=Ethernet5]/state/oper-status"] == "DOWN"
    assert got["interfaces/interface[name=Ethernet4]/state/oper-status"] == "UP"
    # a list element without keys selects every entry too
    resp = client.get(path=["/interfaces/interface/state/admin-status"], encoding="json")
    assert len(resp["notification"][0]["update"]) == 8


def test_get_datatype_config_and_state(client):
    cfg = get_val(client, IF.format("Ethernet1"), datatype="config", encoding="json")
    assert "state" not in cfg and cfg["config"]["enabled"] is True
    st = get_val(client, IF.format("Ethernet1"), datatype="state", encoding="json")
    assert "config" not in st and st["state"]["oper-status"] == "UP"


def test_get_unknown_paths_are_not_found(client):
    with pytest.raises(gNMIException) as e:
        client.get(path=[IF.format("Ethernet99") + "/state/oper-status"])
    assert grpc_code(e.value) == grpc.StatusCode.NOT_FOUND
    with pytest.raises(gNMIException) as e:
        client.get(path=["/system/state/hostname"])
    assert grpc_code(e.value) == grpc.StatusCode.NOT_FOUND


# pygnmi re-raises the stream's error status in its reader thread
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_unsupported_encoding_is_refused(client):
    # pygnmi itself refuses a Get in an encoding the Capabilities did not list ...
    with pytest.raises(ValueError, match="not in supported encodings"):
        client.get(path=[IF.format("Ethernet1")], encoding="proto")
    # ... but sends an explicitly chosen one on Subscribe: the target refuses it
    sub = client.subscribe_once(subscribe={"subscription": [{"path": IF.format("Ethernet1")}], "encoding": "proto"})
    try:
        assert wait_for(lambda: sub.error is not None)
        assert sub.error.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        sub.close()


# --------------------------------------------------------------------------- Set


def test_set_update_enabled_changes_admin_status(client, switch):
    resp = client.set(update=[(IF.format("Ethernet1") + "/config/enabled", False)], encoding="json_ietf")
    assert resp["response"][0]["op"] == "UPDATE"
    port = switch.ports["Ethernet1"]
    assert (port.admin_status, port.oper_status) == ("DOWN", "DOWN")
    assert get_val(client, IF.format("Ethernet1") + "/state/oper-status") == "DOWN"
    client.set(update=[(IF.format("Ethernet1") + "/config", {"enabled": True})], encoding="json")
    assert (port.admin_status, port.oper_status) == ("UP", "UP")


def test_set_replace_resets_unspecified_config(client, switch):
    port = switch.ports["Ethernet2"]
    client.set(update=[(IF.format("Ethernet2") + "/config", {"enabled": False, "description": "old"})])
    assert (port.admin_status, port.description) == ("DOWN", "old")
    resp = client.set(replace=[(IF.format("Ethernet2") + "/config", {"description": "to gpu-002"})])
    assert resp["response"][0]["op"] == "REPLACE"
    # replace: what is not given returns to its default (enabled)
    assert (port.admin_status, port.description) == ("UP", "to gpu-002")
    assert get_val(client, IF.format("Ethernet2") + "/state/description") == "to gpu-002"


def test_set_at_interfaces_level_and_delete(client, switch):
    client.set(
        update=[
            (
                "/interfaces",
                {"interface": [{"name": "Ethernet6", "config": {"enabled": False}}, {"name": "Ethernet7"}]},
            )
        ]
    )
    assert switch.ports["Ethernet6"].admin_status == "DOWN"
    assert switch.ports["Ethernet7"].admin_status == "UP"
    client.set(update=[(IF.format("Ethernet7") + "/config/description", "spare")])
    assert switch.ports["Ethernet7"].description == "spare"
    resp = client.set(
        delete=[IF.format("Ethernet6") + "/config/enabled", IF.format("Ethernet7") + "/config/description"]
    )
    assert [r["op"] for r in resp["response"]] == ["DELETE", "DELETE"]
    assert switch.ports["Ethernet6"].admin_status == "UP"
    assert switch.ports["Ethernet7"].description == ""


def test_set_refuses_state_and_is_all_or_nothing(client, switch):
    with pytest.raises(gNMIException) as e:
        client.set(update=[(IF.format("Ethernet1") + "/state/oper-status", "DOWN")])
    assert grpc_code(e.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert "read-only" in str(e.value)
    with pytest.raises(gNMIException) as e:
        client.set(
            update=[
                (IF.format("Ethernet1") + "/config/enabled", False),
                (IF.format("Ethernet42") + "/config/enabled", False),
            ]
        )
    assert grpc_code(e.value) == grpc.StatusCode.NOT_FOUND
    assert switch.ports["Ethernet1"].admin_status == "UP"  # the valid half was not applied
    with pytest.raises(gNMIException) as e:
        client.set(update=[(IF.format("Ethernet1") + "/config/enabled", "yes")])
    assert grpc_code(e.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert switch.ports["Ethernet1"].admin_status == "UP"


# --------------------------------------------------------------------------- Subscribe


def _updates(resp: dict) -> dict:
    return {u["path"]: u["val"] for u in resp.get("update", {}).get("update", [])}


def test_subscribe_stream_on_change(client, switch, targets):
    sub = client.subscribe_stream(
        subscribe={
            "subscription": [{"path": "/interfaces/interface[name=*]/state/oper-status", "mode": "on_change"}],
            "encoding": "json",
        }
    )
    try:
        first = sub.get_update(timeout=5)
        assert first["sync_response"] is True
        assert len(_updates(first)) == 8 and set(_updates(first).values()) == {"UP"}
        switch.set_admin("Ethernet3", False)
        upd = _updates(sub.get_update(timeout=5))
        assert upd == {"interfaces/interface[name=Ethernet3]/state/oper-status": "DOWN"}
        # a change made by another gNMI client reaches this stream too
        host, port = switch.gnmi_address
        with gNMIclient(target=(host, port), insecure=True, gnmi_timeout=5) as other:
            other.set(update=[(IF.format("Ethernet3") + "/config/enabled", True)])
        upd = _updates(sub.get_update(timeout=5))
        assert upd == {"interfaces/interface[name=Ethernet3]/state/oper-status": "UP"}
    finally:
        sub.close()


def test_subscribe_on_change_sees_unannounced_counter_changes(client, switch):
    sub = client.subscribe_stream(
        subscribe={
            "subscription": [{"path": IF.format("Ethernet2") + "/state/counters/in-errors", "mode": "on_change"}],
            "encoding": "json_ietf",
        }
    )
    try:
        assert _updates(sub.get_update(timeout=5)) == {
            "interfaces/interface[name=Ethernet2]/state/counters/in-errors": "0"
        }
        switch.ports["Ethernet2"].in_errors = 12
        assert _updates(sub.get_update(timeout=5)) == {
            "interfaces/interface[name=Ethernet2]/state/counters/in-errors": "12"
        }
    finally:
        sub.close()


def test_subscribe_stream_sample(client, switch):
    sub = client.subscribe_stream(
        subscribe={
            "subscription": [
                {
                    "path": IF.format("Ethernet1") + "/state/counters/in-octets",
                    "mode": "sample",
                    "sample_interval": 200_000_000,
                }
            ],
            "encoding": "json",
        }
    )
    try:
        first = sub.get_update(timeout=5)
        assert "sync_response" in first
        key = "interfaces/interface[name=Ethernet1]/state/counters/in-octets"
        rng = random.Random(5)
        seen = [_updates(first)[key]]
        stamps = [first["update"]["timestamp"]]
        # How far apart the samples come is the scheduler's business and no bound on it holds on
        # a loaded machine; what each sample carries is checked instead: a fresh reading, later
        # than the one before.
        for _ in range(3):
            switch.add_traffic(rng)
            upd = sub.get_update(timeout=5)
            seen.append(_updates(upd)[key])
            stamps.append(upd["update"]["timestamp"])
        assert seen == sorted(seen) and seen[-1] > seen[0]
        assert seen[-1] <= switch.ports["Ethernet1"].in_octets
        assert stamps == sorted(stamps) and len(set(stamps)) == 4, stamps
    finally:
        sub.close()


def test_subscribe_sample_suppress_redundant(client, switch):
    sub = client.subscribe_stream(
        subscribe={
            "subscription": [
                {
                    "path": IF.format("Ethernet4") + "/state/admin-status",
                    "mode": "sample",
                    "sample_interval": 100_000_000,
                    "suppress_redundant": True,
                }
            ],
            "encoding": "json",
        }
    )
    try:
        sub.get_update(timeout=5)
        with pytest.raises(TimeoutError):
            sub.get_update(timeout=0.6)  # nothing changed: nothing sent
        switch.set_admin("Ethernet4", False)
        assert _updates(sub.get_update(timeout=5)) == {
            "interfaces/interface[name=Ethernet4]/state/admin-status": "DOWN"
        }
    finally:
        sub.close()


def test_subscribe_once(client, switch):
    switch.set_admin("Ethernet8", False)
    sub = client.subscribe_once(
        subscribe={"subscription": [{"path": IF.format("Ethernet8") + "/state"}], "encoding": "json"}
    )
    try:
        msgs = [sub.get_update(timeout=5), sub.get_update(timeout=5)]
    finally:
        sub.close()
    upd = _updates(msgs[0])
    assert upd["interfaces/interface[name=Ethernet8]/state/admin-status"] == "DOWN"
    assert upd["interfaces/interface[name=Ethernet8]/state/counters/in-octets"] == 0
    assert msgs[1] == {"sync_response": True}


def test_subscribe_poll(client, switch):
    path = IF.format("Ethernet5") + "/state/oper-status"
    key = "interfaces/interface[name=Ethernet5]/state/oper-status"
    sub = client.subscribe_poll(subscribe={"subscription": [{"path": path}], "encoding": "json"})
    try:
        # the target answers the subscription itself and then every Poll; pygnmi
        # sends a Poll before reading, so its reads lag one answer behind
        assert _updates(sub.get_update(timeout=5)) == {key: "UP"}
        assert _updates(sub.get_update(timeout=5)) == {key: "UP"}
        switch.set_admin("Ethernet5", False)
        # the answer to the Poll sent with the previous read may predate the change;
        # the answer to the Poll sent now cannot
        sub.get_update(timeout=5)
        assert _updates(sub.get_update(timeout=5)) == {key: "DOWN"}
    finally:
        sub.close()


# --------------------------------------------------------------------------- faults


# pygnmi re-raises the stream's error status in its reader thread
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_switch_down_makes_target_unavailable(fleet, client, switch):
    sub = client.subscribe_stream(
        subscribe={
            "subscription": [{"path": IF.format("Ethernet1") + "/state/oper-status", "mode": "on_change"}],
            "encoding": "json",
        }
    )
    try:
        sub.get_update(timeout=5)
        fleet.set_switch_alive("leaf-1", False)
        with pytest.raises(gNMIException) as e:
            client.get(path=[IF.format("Ethernet1") + "/state/oper-status"])
        assert grpc_code(e.value) == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(gNMIException) as e:
            client.set(update=[(IF.format("Ethernet1") + "/config/enabled", False)])
        assert grpc_code(e.value) == grpc.StatusCode.UNAVAILABLE
        # the open stream ends with UNAVAILABLE
        assert wait_for(lambda: sub.error is not None)
        assert sub.error.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        sub.close()
    # the other leaf is unaffected
    host, port = fleet.switches["leaf-2"].gnmi_address
    with gNMIclient(target=(host, port), insecure=True, gnmi_timeout=5) as gc2:
        assert get_val(gc2, IF.format("Ethernet1") + "/state/oper-status") == "UP"
    fleet.set_switch_alive("leaf-1", True)
    assert get_val(client, IF.format("Ethernet1") + "/state/oper-status") == "UP"


def test_stopped_target_refuses_connections(fleet):
    sw = fleet.switches["leaf-2"]
    t = gnmi.start_target(sw)
    host, port = sw.gnmi_address
    t.stop()
    with pytest.raises((grpc.FutureTimeoutError, gNMIException)):
        with gNMIclient(target=(host, port), insecure=True, gnmi_timeout=1):
            pass


def test_credentials_are_checked(fleet):
    sw = fleet.switches["leaf-2"]
    t = gnmi.GnmiTarget(sw, credentials=("admin", "secret"))
    try:
        with gNMIclient(target=("127.0.0.1", t.port), username="admin", password="secret", insecure=True) as gc:
            assert get_val(gc, IF.format("Ethernet1") + "/state/oper-status") == "UP"
        with pytest.raises(gNMIException):
            with gNMIclient(
                target=("127.0.0.1", t.port), username="admin", password="nope", insecure=True, gnmi_timeout=2
            ):
                pass
    finally:
        t.stop()


# --------------------------------------------------------------------------- pure helpers


def test_resolve_and_leaves():
    sw = Switch("s", ports=2)
    tree = gnmi.switch_tree(sw)
    found = gnmi.resolve(tree, [("interfaces", {}), ("interface", {"name": "*"}), ("state", {}), ("oper-status", {})])
    assert [gnmi.path_str(e) for e, _ in found] == [
        "/interfaces/interface[name=Ethernet1]/state/oper-status",
        "/interfaces/interface[name=Ethernet2]/state/oper-status",
    ]
    leaves = gnmi.leaves(
        [("interfaces", {}), ("interface", {"name": "Ethernet1"})], tree["interfaces"]["interface"].items["Ethernet1"]
    )
    paths = {gnmi.path_str(e) for e, _ in leaves}
    assert "/interfaces/interface[name=Ethernet1]/state/counters/out-errors" in paths
    with pytest.raises(gnmi.GnmiError):
        gnmi.resolve(tree, [("interfaces", {"name": "x"})])
