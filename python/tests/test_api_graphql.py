"""gpufleet's GraphQL API through an independent client: ``gql`` over its requests transport,
validating every document client-side against the schema the server publishes at
``GET /api/v1/graphql/schema``, against a real gpufleet server.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport
from graphql import GraphQLError

TIMEOUT_S = 30

CREATE = gql(
    """
    mutation Create($kind: String!, $name: String!, $parent: String, $config: JSON, $reason: String) {
      createAsset(kind: $kind, name: $name, parentId: $parent, config: $config, reason: $reason) {
        id kind name version config
      }
    }
    """
)
PUT = gql(
    """
    mutation Put($id: ID!, $config: JSON!, $v: Int) {
      putConfig(id: $id, config: $config, ifVersion: $v, reason: "py") { version config }
    }
    """
)
TRANSITION = gql(
    """
    mutation Move($id: String!, $to: String!) {
      transition(id: $id, to: $to, reason: "first look") { state }
    }
    """
)
SUBMIT = gql(
    """
    mutation Op($node: String!) {
      submitOperation(node: $node, group: "read", params: {what: "power"}, deadlineS: 60) { id kind state actor }
    }
    """
)
JOB = gql("query Job($id: ID!) { job(id: $id) { id state error } }")
NODE = gql(
    """
    query Node($id: String!) {
      node(id: $id) {
        name state version config
        rack { name kind }
        bmc { name address }
        gpus { name serial model }
        versions { version config actor }
        history { fromState toState actor }
        jobs { id kind }
      }
    }
    """
)
PAGE = gql(
    """
    query Page($prefix: String, $after: String) {
      assets(kind: "rack", namePrefix: $prefix, first: 2, after: $after) { items { id name } nextCursor }
    }
    """
)


@pytest.fixture(scope="module")
def schema_sdl(gpufleet) -> str:
    r = httpx.get(f"{gpufleet.url}/api/v1/graphql/schema", headers=gpufleet.headers("viewer"), timeout=TIMEOUT_S)
    assert r.status_code == 200, r.text
    return r.text


def client(gpufleet, schema_sdl: str, role: str) -> Client:
    transport = RequestsHTTPTransport(
        url=f"{gpufleet.url}/api/v1/graphql",
        headers=gpufleet.headers(role),
        timeout=TIMEOUT_S,
        retries=0,
    )
    return Client(transport=transport, schema=schema_sdl)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_scenario_through_graphql_with_nested_reads(gpufleet, schema_sdl):
    op = client(gpufleet, schema_sdl, "operator")
    name = unique("gql-node")
    rack = op.execute(CREATE, variable_values={"kind": "rack", "name": f"{name}-rack"})["createAsset"]
    node = op.execute(
        CREATE, variable_values={"kind": "node", "name": name, "parent": rack["id"], "config": {"site": "a"}}
    )["createAsset"]
    assert (node["kind"], node["version"], node["config"]) == ("node", 1, {"site": "a"})
    op.execute(
        CREATE,
        variable_values={
            "kind": "bmc",
            "name": f"{name}-bmc",
            "parent": node["id"],
            "config": {"address": "127.0.0.1:9", "protocol": "redfish", "password": "bmc-secret-6c1d08fa"},
        },
    )
    for i in range(2):
        op.execute(
            CREATE,
            variable_values={
                "kind": "gpu",
                "name": f"{name}-gpu{i}",
                "parent": node["id"],
                "config": {"serial": f"SN-{name}-{i}", "model": "H100"},
            },
        )

    put = op.execute(PUT, variable_values={"id": node["id"], "config": {"site": "b"}, "v": 1})["putConfig"]
    assert put == {"version": 2, "config": {"site": "b"}}
    with pytest.raises(TransportQueryError) as stale:
        op.execute(PUT, variable_values={"id": node["id"], "config": {"site": "c"}, "v": 1})
    assert stale.value.errors[0]["extensions"]["code"] == "STALE_VERSION", stale.value.errors

    moved = op.execute(TRANSITION, variable_values={"id": node["id"], "to": "inspecting"})["transition"]
    assert moved["state"] == "inspecting"
    with pytest.raises(TransportQueryError) as illegal:
        op.execute(TRANSITION, variable_values={"id": name, "to": "in_service"})
    assert illegal.value.errors[0]["extensions"]["code"] == "CONFLICT", illegal.value.errors
    assert "-> in_service is not allowed" in illegal.value.errors[0]["message"], illegal.value.errors

    job = op.execute(SUBMIT, variable_values={"node": name})["submitOperation"]
    assert job["actor"] == "operator" and job["kind"].startswith("read")
    viewer = client(gpufleet, schema_sdl, "viewer")
    final = None
    for _ in range(60):
        # The job API waits for changes over REST; GraphQL reads the outcome.
        httpx.get(f"{gpufleet.url}/api/v1/jobs/{job['id']}?wait_s=2", headers=gpufleet.headers("viewer"), timeout=30)
        j = viewer.execute(JOB, variable_values={"id": job["id"]})["job"]
        if j["state"] in ("succeeded", "failed", "timed_out", "cancelled"):
            final = j
            break
    assert final is not None, "the job did not end"
    assert final["state"] == "failed" and final["error"], final

    got = viewer.execute(NODE, variable_values={"id": name})["node"]
    assert got["name"] == name and got["version"] == 2 and got["config"] == {"site": "b"}
    assert got["rack"] == {"name": f"{name}-rack", "kind": "rack"}
    assert got["bmc"] == {"name": f"{name}-bmc", "address": "127.0.0.1:9"}
    assert sorted((g["name"], g["serial"], g["model"]) for g in got["gpus"]) == [
        (f"{name}-gpu0", f"SN-{name}-0", "H100"),
        (f"{name}-gpu1", f"SN-{name}-1", "H100"),
    ]
    assert [(v["version"], v["config"], v["actor"]) for v in got["versions"]] == [
        (1, {"site": "a"}, "operator"),
        (2, {"site": "b"}, "operator"),
    ]
    assert ("discovered", "inspecting", "operator") in [
        (h["fromState"], h["toState"], h["actor"]) for h in got["history"]
    ]
    assert [j["id"] for j in got["jobs"]] == [job["id"]]
    # The BMC password given at creation appears in no answer.
    bmc = viewer.execute(
        gql("query($id: String!) { node(id: $id) { bmc { config versions { config } } } }"),
        variable_values={"id": name},
    )
    assert "bmc-secret-6c1d08fa" not in str(bmc)


def test_assets_page_with_cursors(gpufleet, schema_sdl):
    op = client(gpufleet, schema_sdl, "operator")
    prefix = unique("gql-page")
    made = {
        op.execute(CREATE, variable_values={"kind": "rack", "name": f"{prefix}-{i}"})["createAsset"]["id"]
        for i in range(5)
    }
    viewer = client(gpufleet, schema_sdl, "viewer")
    seen, after, pages = [], None, 0
    while True:
        page = viewer.execute(PAGE, variable_values={"prefix": prefix, "after": after})["assets"]
        pages += 1
        assert len(page["items"]) <= 2
        seen += [a["id"] for a in page["items"]]
        after = page["nextCursor"]
        if after is None:
            break
        assert pages < 10, "paging does not end"
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5 and set(seen) == made


def test_a_forbidden_mutation_carries_its_code_and_changes_nothing(gpufleet, schema_sdl):
    viewer = client(gpufleet, schema_sdl, "viewer")
    me = viewer.execute(gql("{ me { username role } }"))["me"]
    assert me == {"username": "viewer", "role": "viewer"}
    name = unique("gql-denied")
    with pytest.raises(TransportQueryError) as denied:
        viewer.execute(CREATE, variable_values={"kind": "rack", "name": name})
    err = denied.value.errors[0]
    assert err["extensions"]["code"] == "FORBIDDEN", err
    assert "InventoryWrite" in err["message"], err
    admin = client(gpufleet, schema_sdl, "admin")
    assert admin.execute(PAGE, variable_values={"prefix": name, "after": None})["assets"]["items"] == []

    # Without a token the endpoint refuses with a problem document.
    r = httpx.post(f"{gpufleet.url}/api/v1/graphql", json={"query": "{ me { username } }"}, timeout=TIMEOUT_S)
    assert r.status_code == 401, r.text


def test_documents_are_validated_against_the_published_schema(gpufleet, schema_sdl):
    viewer = client(gpufleet, schema_sdl, "viewer")
    # A field the schema lacks, and an argument of the wrong type, are refused before sending.
    with pytest.raises(GraphQLError, match="Cannot query field 'hostname'"):
        viewer.execute(gql("{ assets { items { hostname } } }"))
    with pytest.raises(GraphQLError, match="Int"):
        viewer.execute(gql('{ assets(first: "ten") { items { id } } }'))
    # A mutation the schema does not have.
    with pytest.raises(GraphQLError, match="deleteAsset"):
        viewer.execute(gql('mutation { deleteAsset(id: "x") { id } }'))
    # The schema as served names the root types the API documents.
    assert "type QueryRoot" in schema_sdl and "type MutationRoot" in schema_sdl
