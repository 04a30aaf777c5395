"""The correlation evaluation scores incidents against the simulator's truth: alerts grouped by the
faulted rack they come from, the root cause matched by asset kind and name (a PDU also by one of
its outlets, a GPU by its node and index)."""

import pytest

from gpufleet_sim import evaluate as ev


class FakeGpufleet:
    """Answers the few GET routes the evaluator reads, from fixed data."""

    def __init__(self, alerts: list[dict], incidents: dict[str, dict], assets: dict[str, dict]) -> None:
        self.alerts = alerts
        self.incidents = incidents
        self.assets = assets

    def get(self, path: str) -> object:
        if path.startswith("/api/v1/alerts"):
            return {"alerts": self.alerts}
        if path.startswith("/api/v1/incidents/"):
            return self.incidents[path.rsplit("/", 1)[1]]
        if path.startswith("/api/v1/assets/"):
            return self.assets[path.rsplit("/", 1)[1]]
        raise AssertionError(path)


def asset(id_: str, kind: str, name: str, parent: str | None = None, rack: str | None = None, spec=None) -> dict:
    return {
        "id": id_,
        "kind": kind,
        "name": name,
        "metadata": {"parent_id": parent, "rack_id": rack},
        "spec": spec or {},
    }


ASSETS = {
    a["id"]: a
    for a in [
        asset("r-a", "rack", "rack-a"),
        asset("r-b", "rack", "rack-b"),
        asset("r-c", "rack", "rack-c"),
        asset("n-b", "node", "b-hgx-1", "r-b", "r-b"),
        asset("pdu-1", "pdu", "pdu-a", "r-a", "r-a"),
        asset("out-1", "outlet", "pdu-a-1", "pdu-1", "r-a"),
        asset("bmc-1", "bmc", "a-hgx-1-bmc", "n-1", "r-a"),
        asset("bmc-2", "bmc", "a-hgx-2-bmc", "n-2", "r-a"),
        asset("n-1", "node", "a-hgx-1", "r-a", "r-a"),
        asset("n-2", "node", "a-hgx-2", "r-a", "r-a"),
        asset("n-c", "node", "c-l40s-1", "r-c", "r-c"),
        asset("g-c1", "gpu", "gpu-x", "n-c", "r-c", {"index": 1}),
        asset("g-c0", "gpu", "gpu-y", "n-c", "r-c", {"index": 0}),
        asset("g-a0", "gpu", "gpu-a", "n-1", "r-a", {"index": 0}),
        asset("g-b0", "gpu", "gpu-b", "n-b", "r-b", {"index": 0}),
        asset("cdu-1", "cdu", "cdu-01"),
        asset("cdu-2", "cdu", "cdu-02"),
    ]
}

T = "2026-12-05T10:00:00Z"


def alert(fp: str, asset_id: str, incident: str) -> dict:
    return {"fingerprint": fp, "asset_id": asset_id, "incident": incident, "starts_at": T}


def scenario() -> ev.Scenario:
    pdu = ev.Fault("pdu_power_loss", "pdu-a", rack="rack-a", root_kind="pdu", root_name="pdu-a")
    gpu = ev.Fault("gpu_off_bus", "c-l40s-1", rack="rack-c", root_kind="gpu", gpu_node="c-l40s-1", gpu_index=1)
    return ev.Scenario("two faults", [pdu, gpu], watch_s=1)


def score(alerts: list[dict], incidents: dict[str, dict], sc: ev.Scenario | None = None) -> ev.Score:
    e = ev.Evaluator(FakeGpufleet(alerts, incidents, ASSETS), control=None, log=lambda *_: None)  # type: ignore[arg-type]
    s, _ = e.score_now(sc or scenario(), t0=0)
    return s


def test_right_grouping_and_roots_score_one():
    s = score(
        [alert("a1", "bmc-1", "I1"), alert("a2", "bmc-2", "I1"), alert("g1", "g-c1", "I2")],
        {"I1": {"root_cause": {"asset_id": "out-1"}}, "I2": {"root_cause": {"asset_id": "g-c1"}}},
    )
    assert (s.exact, s.root_ok, s.true_incidents) == (2, 2, 2)
    assert (s.pair_precision, s.pair_recall) == (1.0, 1.0)
    assert s.misses == []


def test_split_merged_and_wrong_roots_are_named():
    # The PDU's alerts split over two incidents, one of which also took the GPU's alert, whose
    # root is the wrong GPU of the right node.
    s = score(
        [alert("a1", "bmc-1", "I1"), alert("a2", "bmc-2", "I2"), alert("g1", "g-c1", "I2")],
        {"I1": {"root_cause": {"asset_id": "n-1"}}, "I2": {"root_cause": {"asset_id": "g-c0"}}},
    )
    assert s.exact == 0 and s.root_ok == 0
    assert s.pair_precision == 0.0 and s.pair_recall == 0.0
    assert any("2 incident(s)" in m for m in s.misses), s.misses
    assert any("expected gpu c-l40s-1 GPU 1" in m for m in s.misses), s.misses
    # Noise (an alert of a rack with no fault) is its own true incident: apart, nothing is lost;
    # lumped in with the GPU's alert, that incident is no longer exact.
    base = [alert("a1", "bmc-1", "I1"), alert("a2", "bmc-2", "I1"), alert("g1", "g-c1", "I2")]
    roots = {"I1": {"root_cause": {"asset_id": "pdu-1"}}, "I2": {"root_cause": {"asset_id": "g-c1"}}}
    s = score([*base, alert("x", "n-b", "I3")], roots)
    assert (s.exact, s.root_ok, s.pair_precision) == (2, 2, 1.0)
    s = score([*base, alert("x", "n-b", "I2")], roots)
    assert (s.exact, s.root_ok, s.pair_precision) == (1, 2, 0.5)


def test_the_table_sums_up():
    s = score(
        [alert("a1", "bmc-1", "I1")],
        {"I1": {"root_cause": {"asset_id": "pdu-1"}}},
    )
    text = ev.table([s])
    assert "| two faults | 2 | 1 | 1 | 1/2 | 1/2 |" in text
    assert "| all | 2 |" in text


def test_a_node_root_is_named_by_the_node_or_its_bmc():
    e = ev.Evaluator(FakeGpufleet([], {}, ASSETS), control=None, log=lambda *_: None)  # type: ignore[arg-type]
    f = ev.Fault("bmc", "a-hgx-1", rack="rack-a", root_kind="node", root_name="a-hgx-1")
    assert e.root_matches(f, {"asset_id": "n-1"})
    assert e.root_matches(f, {"asset_id": "bmc-1"})
    assert not e.root_matches(f, {"asset_id": "bmc-2"})
    assert not e.root_matches(f, {"asset_id": "pdu-1"})
    # The default scenarios include neighbouring faults and a lone fault beside them.
    names = [s.name for s in ev.default_scenarios()]
    assert any(n.startswith("neighbouring") for n in names), names


def cooling_scenario() -> ev.Scenario:
    cdu = ev.Fault("cdu_failure", "cdu-01", rack="rack-a", racks=["rack-b"], root_kind="cdu", root_name="cdu-01")
    gpu = ev.Fault("gpu_off_bus", "c-l40s-1", rack="rack-c", root_kind="gpu", gpu_node="c-l40s-1", gpu_index=1)
    return ev.Scenario("CDU lost beside a GPU off the bus", [cdu, gpu], watch_s=1)


def test_a_cdu_fault_owns_the_alerts_of_every_rack_it_cools():
    roots = {"I1": {"root_cause": {"asset_id": "cdu-1"}}, "I2": {"root_cause": {"asset_id": "g-c1"}}}
    # rack a's and rack b's hot GPUs in one incident rooted at the CDU, the GPU of rack c apart
    right = [alert("ta", "g-a0", "I1"), alert("tb", "g-b0", "I1"), alert("g1", "g-c1", "I2")]
    s = score(right, roots, cooling_scenario())
    assert (s.exact, s.root_ok, s.true_incidents) == (2, 2, 2), s.misses
    assert (s.pair_precision, s.pair_recall) == (1.0, 1.0)
    # rack b's alert left out of the CDU's incident: the CDU's alerts are split
    s = score(
        [alert("ta", "g-a0", "I1"), alert("tb", "g-b0", "I3"), alert("g1", "g-c1", "I2")],
        {**roots, "I3": {"root_cause": {"asset_id": "g-b0"}}},
        cooling_scenario(),
    )
    assert s.exact == 1 and s.pair_recall == 0.0
    assert any(m.startswith("cdu_failure:cdu-01: its 2 alerts are in 2 incident(s)") for m in s.misses), s.misses
    # the right grouping under the wrong CDU is a wrong root
    s = score(right, {**roots, "I1": {"root_cause": {"asset_id": "cdu-2"}}}, cooling_scenario())
    assert (s.exact, s.root_ok) == (2, 1)
    assert any("expected cdu cdu-01" in m for m in s.misses), s.misses


def test_the_cdus_own_alert_belongs_to_its_fault_though_it_stands_in_no_rack():
    roots = {"I1": {"root_cause": {"asset_id": "cdu-1"}}, "I2": {"root_cause": {"asset_id": "g-c1"}}}
    # CduFault on the CDU itself, with the hot GPUs of both racks: one true incident
    together = [alert("cf", "cdu-1", "I1"), alert("ta", "g-a0", "I1"), alert("tb", "g-b0", "I1")]
    s = score([*together, alert("g1", "g-c1", "I2")], roots, cooling_scenario())
    assert (s.exact, s.root_ok) == (2, 2), s.misses
    # the CDU's alert alone while the GPUs are grouped elsewhere: the fault is split
    s = score(
        [alert("cf", "cdu-1", "I4"), alert("ta", "g-a0", "I1"), alert("tb", "g-b0", "I1")],
        {**roots, "I4": {"root_cause": {"asset_id": "cdu-1"}}},
        cooling_scenario(),
    )
    assert s.exact == 0, s.misses
    # another CDU's alert is noise, not this fault's
    s = score([*together, alert("other", "cdu-2", "I1")], roots, cooling_scenario())
    assert s.exact == 0, s.misses


def test_faults_of_one_scenario_may_not_share_a_rack():
    cdu = ev.Fault("cdu_failure", "cdu-01", rack="rack-a", racks=["rack-b"], root_kind="cdu", root_name="cdu-01")
    pdu = ev.Fault("pdu_power_loss", "pdu-b", rack="rack-b", root_kind="pdu", root_name="pdu-b")
    with pytest.raises(ValueError, match="rack rack-b is in two faults"):
        ev.truth_by_rack([cdu, pdu])
    assert [r for r, f in ev.truth_by_rack([cdu]).items() if f is cdu] == ["rack-a", "rack-b"]


def test_the_default_scenarios_include_the_cooling_one_and_keep_their_racks_apart():
    scenarios = ev.default_scenarios()
    for sc in scenarios:
        ev.truth_by_rack(sc.faults)  # raises when two faults of a scenario share a rack
    (cooling,) = [sc for sc in scenarios if any(f.kind == "cdu_failure" for f in sc.faults)]
    (f,) = cooling.faults
    assert (f.target, f.root_kind, f.root_name, f.all_racks()) == ("cdu-01", "cdu", "cdu-01", ["rack-a", "rack-b"])
    # gpufleet's GpuTemperatureHigh needs 5 minutes above 85 C: the watch outlasts it
    assert cooling.min_watch_s > 300 and cooling.watch_s > cooling.min_watch_s
