//! REST, gRPC and GraphQL over the same core: one scenario through each gives the same results
//! and the same audit rows; every gRPC method and GraphQL mutation checks the caller's role; the
//! gRPC event feed streams and resumes from a sequence; an independent client (grpcurl, through
//! server reflection) talks to the gRPC API; GraphQL limits depth.

mod common;

use std::time::Duration;

use common::TestApp;
use fleet_model::rbac::{allows, Permission, Role};
use fleet_server::grpc::pb;
use reqwest::Method;
use serde_json::{json, Value};
use tonic::{Code, Request};

type Channel = tonic::transport::Channel;

async fn channel(app: &TestApp) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{}", app.grpc))
        .unwrap()
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap()
}

fn authed<T>(token: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

async fn rest(app: &TestApp, role: Role, m: Method, path: &str, body: Value) -> (u16, Value) {
    let mut r = app.req(role, m, path);
    if !body.is_null() {
        r = r.json(&body);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// (actor, action, kind) of every audit row about `asset`, oldest first.
async fn audit_of(app: &TestApp, asset: &str) -> Vec<(String, String, String)> {
    let (s, v) = rest(
        app,
        Role::Admin,
        Method::GET,
        &format!("/api/v1/audit?asset={asset}&limit=100"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut rows: Vec<(i64, String, String, String)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["seq"].as_i64().unwrap(),
                r["actor"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
                r["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, a, b, c)| (a, b, c)).collect()
}

/// What one interface reports for the scenario, in a form both can be compared in.
#[derive(Debug, PartialEq)]
struct Outcome {
    versions: Vec<i64>,
    configs: Vec<Value>,
    stale_refused: bool,
    state: String,
    history: Vec<(String, String, String)>,
    job: (String, String),
    audit: Vec<(String, String, String)>,
}

async fn wait_job_rest(app: &TestApp, id: &str) -> Value {
    for _ in 0..60 {
        let (_, j) = rest(
            app,
            Role::Viewer,
            Method::GET,
            &format!("/api/v1/jobs/{id}?wait_s=1"),
            Value::Null,
        )
        .await;
        if matches!(
            j["state"].as_str(),
            Some("succeeded" | "failed" | "timed_out" | "cancelled")
        ) {
            return j;
        }
    }
    panic!("job {id} did not end");
}

async fn scenario_rest(app: &TestApp) -> Outcome {
    let (s, n) = rest(
        app,
        Role::Operator,
        Method::POST,
        "/api/v1/assets",
        json!({"kind": "node", "name": "parity-rest", "config": {"site": "a"}}),
    )
    .await;
    assert_eq!(s, 201, "{n}");
    let id = n["id"].as_str().unwrap().to_string();
    let (s, b) = rest(
        app,
        Role::Operator,
        Method::POST,
        "/api/v1/assets",
        json!({"kind": "bmc", "name": "parity-rest-bmc", "parent_id": id,
               "config": {"address": "127.0.0.1:9", "protocol": "redfish"}}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let put = |v: i64, cfg: Value| {
        app.req(
            Role::Operator,
            Method::PUT,
            &format!("/api/v1/assets/{id}/config"),
        )
        .header("If-Match", format!("\"{v}\""))
        .json(&json!({"config": cfg, "reason": "parity"}))
        .send()
    };
    let r = put(1, json!({"site": "b"})).await.unwrap();
    assert_eq!(r.status(), 200);
    let stale = put(1, json!({"site": "c"})).await.unwrap().status() == 412;
    let (s, t) = rest(
        app,
        Role::Operator,
        Method::POST,
        &format!("/api/v1/nodes/{id}/transition"),
        json!({"to": "inspecting", "reason": "parity"}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let (_, vs) = rest(
        app,
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/assets/{id}/versions"),
        Value::Null,
    )
    .await;
    let (_, h) = rest(
        app,
        Role::Viewer,
        Method::GET,
        &format!("/api/v1/nodes/{id}/history"),
        Value::Null,
    )
    .await;
    let (s, j) = rest(
        app,
        Role::Operator,
        Method::POST,
        &format!("/api/v1/nodes/{id}/power"),
        json!({"action": "on"}),
    )
    .await;
    assert_eq!(s, 202, "{j}");
    let j = wait_job_rest(app, j["id"].as_str().unwrap()).await;
    Outcome {
        versions: vs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect(),
        configs: vs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["config"].clone())
            .collect(),
        stale_refused: stale,
        state: t["node"]["status"]["state"].as_str().unwrap().to_string(),
        history: h["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["from_state"].as_str().unwrap().to_string(),
                    e["to_state"].as_str().unwrap().to_string(),
                    e["actor"].as_str().unwrap().to_string(),
                )
            })
            .collect(),
        job: (
            j["state"].as_str().unwrap().to_string(),
            j["error"].as_str().unwrap_or_default().to_string(),
        ),
        audit: audit_of(app, &id).await,
    }
}

async fn scenario_grpc(app: &TestApp) -> Outcome {
    let ch = channel(app).await;
    let op = app.tokens[&Role::Operator].clone();
    let mut assets = pb::assets_client::AssetsClient::new(ch.clone());
    let mut life = pb::lifecycle_client::LifecycleClient::new(ch.clone());
    let mut jobs = pb::jobs_client::JobsClient::new(ch);
    let n = assets
        .create_asset(authed(
            &op,
            pb::CreateAssetRequest {
                kind: "node".into(),
                name: "parity-grpc".into(),
                config_json: json!({"site": "a"}).to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assets
        .create_asset(authed(
            &op,
            pb::CreateAssetRequest {
                kind: "bmc".into(),
                name: "parity-grpc-bmc".into(),
                parent_id: Some(n.id.clone()),
                config_json: json!({"address": "127.0.0.1:9", "protocol": "redfish"}).to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let put = |v: i64, cfg: Value| pb::PutConfigRequest {
        id: n.id.clone(),
        config_json: cfg.to_string(),
        if_version: Some(v),
        reason: Some("parity".into()),
    };
    let a = assets
        .put_config(authed(&op, put(1, json!({"site": "b"}))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.version, 2);
    let stale = assets
        .put_config(authed(&op, put(1, json!({"site": "c"}))))
        .await
        .unwrap_err()
        .code()
        == Code::Aborted;
    let t = life
        .transition(authed(
            &op,
            pb::TransitionRequest {
                id: n.id.clone(),
                to: "inspecting".into(),
                reason: Some("parity".into()),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let vs = assets
        .list_versions(authed(&op, pb::ListVersionsRequest { id: n.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    let h = life
        .history(authed(&op, pb::HistoryRequest { id: n.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    let j = jobs
        .submit(authed(
            &op,
            pb::SubmitRequest {
                node: n.id.clone(),
                operation: Some(pb::submit_request::Operation::Power(pb::PowerOp {
                    action: "on".into(),
                })),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut ended = None;
    for _ in 0..60 {
        let g = jobs
            .get_job(authed(
                &op,
                pb::GetJobRequest {
                    id: j.id.clone(),
                    after: 0,
                    wait_s: 1,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let job = g.job.unwrap();
        if matches!(
            job.state.as_str(),
            "succeeded" | "failed" | "timed_out" | "cancelled"
        ) {
            ended = Some(job);
            break;
        }
    }
    let job = ended.expect("the job ended");
    Outcome {
        versions: vs.versions.iter().map(|v| v.version).collect(),
        configs: vs
            .versions
            .iter()
            .map(|v| serde_json::from_str(&v.config_json).unwrap())
            .collect(),
        stale_refused: stale,
        state: t.node.unwrap().state.unwrap(),
        history: h
            .entries
            .into_iter()
            .map(|e| (e.from_state, e.to_state, e.actor))
            .collect(),
        job: (job.state, job.error.unwrap_or_default()),
        audit: audit_of(app, &n.id).await,
    }
}

async fn graphql(app: &TestApp, role: Role, query: &str, variables: Value) -> Value {
    let (s, v) = rest(
        app,
        role,
        Method::POST,
        "/api/v1/graphql",
        json!({"query": query, "variables": variables}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

fn gql_ok(v: &Value) -> &Value {
    assert!(v["errors"].is_null(), "{v}");
    &v["data"]
}

async fn scenario_graphql(app: &TestApp) -> Outcome {
    let op = Role::Operator;
    let create = "mutation($kind: String!, $name: String!, $parent: String, $config: JSON) {
        createAsset(kind: $kind, name: $name, parentId: $parent, config: $config) { id version } }";
    let n = graphql(
        app,
        op,
        create,
        json!({"kind": "node", "name": "parity-gql", "config": {"site": "a"}}),
    )
    .await;
    let id = gql_ok(&n)["createAsset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = graphql(
        app,
        op,
        create,
        json!({"kind": "bmc", "name": "parity-gql-bmc", "parent": id,
               "config": {"address": "127.0.0.1:9", "protocol": "redfish"}}),
    )
    .await;
    gql_ok(&b);
    let put = "mutation($id: ID!, $config: JSON!, $v: Int) {
        putConfig(id: $id, config: $config, ifVersion: $v, reason: \"parity\") { version } }";
    let r = graphql(
        app,
        op,
        put,
        json!({"id": id, "config": {"site": "b"}, "v": 1}),
    )
    .await;
    assert_eq!(gql_ok(&r)["putConfig"]["version"], 2);
    let stale = graphql(
        app,
        op,
        put,
        json!({"id": id, "config": {"site": "c"}, "v": 1}),
    )
    .await;
    let stale_refused = stale["errors"][0]["extensions"]["code"] == "STALE_VERSION";
    let t = graphql(
        app,
        op,
        "mutation($id: String!) { transition(id: $id, to: \"inspecting\", reason: \"parity\") { state } }",
        json!({"id": id}),
    )
    .await;
    let state = gql_ok(&t)["transition"]["state"]
        .as_str()
        .unwrap()
        .to_string();
    let j = graphql(
        app,
        op,
        "mutation($id: String!) { submitOperation(node: $id, group: \"power\", params: {action: \"on\"}) { id } }",
        json!({"id": id}),
    )
    .await;
    let job_id = gql_ok(&j)["submitOperation"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = wait_job_rest(app, &job_id).await;
    let q = graphql(
        app,
        Role::Viewer,
        "query($id: String!) { node(id: $id) { versions { version config } history { fromState toState actor } } }",
        json!({"id": id}),
    )
    .await;
    let node = &gql_ok(&q)["node"];
    Outcome {
        versions: node["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect(),
        configs: node["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["config"].clone())
            .collect(),
        stale_refused,
        state,
        history: node["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["fromState"].as_str().unwrap().to_string(),
                    e["toState"].as_str().unwrap().to_string(),
                    e["actor"].as_str().unwrap().to_string(),
                )
            })
            .collect(),
        job: (
            job["state"].as_str().unwrap().to_string(),
            job["error"].as_str().unwrap_or_default().to_string(),
        ),
        audit: audit_of(app, &id).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_scenario_through_rest_grpc_and_graphql_gives_the_same_results_and_audit_rows() {
    let app = TestApp::start().await;
    let via_rest = scenario_rest(&app).await;
    let via_grpc = scenario_grpc(&app).await;
    assert_eq!(via_rest.versions, [1, 2]);
    assert!(via_rest.stale_refused);
    assert_eq!(via_rest.state, "inspecting");
    assert_eq!(
        via_rest.job.0, "failed",
        "the node has no BMC: {:?}",
        via_rest.job
    );
    assert!(!via_rest.audit.is_empty());
    assert!(
        via_rest
            .audit
            .iter()
            .any(|(actor, action, _)| actor == "operator" && action.starts_with("job")),
        "{:?}",
        via_rest.audit
    );
    assert_eq!(via_rest, via_grpc);
    let via_graphql = scenario_graphql(&app).await;
    assert_eq!(via_rest, via_graphql);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_graphql_mutation_and_query_checks_the_callers_role() {
    let app = TestApp::start().await;
    let (_, n) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "gql-roles"}),
        )
        .await;
    let node = n["id"].as_str().unwrap().to_string();
    let cases: [(&str, &str, Permission); 8] = [
        ("me", "{ me { username role } }", Permission::SelfService),
        ("assets", "{ assets(first: 5) { items { name gpus { serial } bmc { name } } } }", Permission::InventoryRead),
        ("createAsset", "mutation { createAsset(kind: \"rack\", name: \"r-ROLE\") { id } }", Permission::InventoryWrite),
        ("putConfig", "mutation { putConfig(id: \"NODE\", config: {by: \"ROLE\"}) { version } }", Permission::InventoryWrite),
        // Refused by its guard (no BMC) for those allowed to ask.
        ("transition", "mutation { transition(id: \"NODE\", to: \"inspecting\") { state } }", Permission::LifecycleWrite),
        ("submitOperation read", "mutation { submitOperation(node: \"NODE\", group: \"read\", params: {what: \"power\"}) { id } }", Permission::OobOperate),
        ("submitOperation bios", "mutation { submitOperation(node: \"NODE\", group: \"bios\", params: {attributes: {A: 1}}) { id } }", Permission::OobAdmin),
        ("cancelJob", "mutation { cancelJob(id: \"JOB\") { state } }", Permission::OobOperate),
    ];
    for role in Role::ALL {
        for (name, q, perm) in cases {
            let (_, j) = app
                .admin(
                    Method::POST,
                    &format!("/api/v1/nodes/{node}/read"),
                    json!({"what": "sel"}),
                )
                .await;
            let q = q
                .replace("NODE", &node)
                .replace("ROLE", role.as_str())
                .replace("JOB", j["id"].as_str().unwrap());
            let v = graphql(&app, role, &q, Value::Null).await;
            let code = v["errors"][0]["extensions"]["code"]
                .as_str()
                .map(str::to_string);
            if allows(role, perm) {
                assert_ne!(
                    code.as_deref(),
                    Some("FORBIDDEN"),
                    "{} should be allowed {name}: {v}",
                    role.as_str()
                );
            } else {
                assert_eq!(
                    code.as_deref(),
                    Some("FORBIDDEN"),
                    "{} must not {name}: {v}",
                    role.as_str()
                );
                assert!(
                    v["errors"][0]["message"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("{perm:?}")),
                    "{v}"
                );
            }
        }
    }
    // Too deep a query is refused before anything runs.
    let deep = format!(
        "{{ assets {{ items {{ {}name{} }} }} }}",
        "parent { ".repeat(14),
        " }".repeat(14)
    );
    let v = graphql(&app, Role::Viewer, &deep, Value::Null).await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("nested too deep"),
        "{v}"
    );
    // The schema is served as SDL.
    let r = app
        .req(Role::Viewer, Method::GET, "/api/v1/graphql/schema")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("type Asset"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grpc_method_checks_the_callers_role() {
    let app = TestApp::start().await;
    let (_, n) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "roles-1"}),
        )
        .await;
    let node = n["id"].as_str().unwrap().to_string();
    let ch = channel(&app).await;
    // (method, the permission it needs): written down here, not read from the server.
    let methods: [(&str, Permission); 17] = [
        ("Assets/GetAsset", Permission::InventoryRead),
        ("Nodes/GetNode", Permission::InventoryRead),
        ("Nodes/ListNodes", Permission::InventoryRead),
        ("Assets/ListAssets", Permission::InventoryRead),
        ("Assets/ListVersions", Permission::InventoryRead),
        ("Assets/CreateAsset", Permission::InventoryWrite),
        ("Assets/PutConfig", Permission::InventoryWrite),
        ("Assets/DeleteAsset", Permission::InventoryWrite),
        ("Lifecycle/Transition", Permission::LifecycleWrite),
        ("Lifecycle/History", Permission::InventoryRead),
        ("Jobs/Submit power", Permission::OobOperate),
        ("Jobs/Submit bios", Permission::OobAdmin),
        ("Jobs/GetJob", Permission::InventoryRead),
        ("Jobs/ListJobs", Permission::InventoryRead),
        ("Jobs/CancelJob", Permission::OobOperate),
        ("Events/Watch", Permission::InventoryRead),
        ("Identity/WhoAmI", Permission::SelfService),
    ];
    for role in Role::ALL {
        let t = app.tokens[&role].clone();
        for (m, perm) in methods {
            let mut assets = pb::assets_client::AssetsClient::new(ch.clone());
            let mut life = pb::lifecycle_client::LifecycleClient::new(ch.clone());
            let mut jobs = pb::jobs_client::JobsClient::new(ch.clone());
            let mut events = pb::events_client::EventsClient::new(ch.clone());
            let mut who = pb::identity_client::IdentityClient::new(ch.clone());
            let mut nodes = pb::nodes_client::NodesClient::new(ch.clone());
            let code = match m {
                "Assets/GetAsset" => assets
                    .get_asset(authed(&t, pb::GetAssetRequest { id: node.clone() }))
                    .await
                    .err(),
                "Assets/ListAssets" => assets
                    .list_assets(authed(&t, pb::ListAssetsRequest::default()))
                    .await
                    .err(),
                "Assets/ListVersions" => assets
                    .list_versions(authed(&t, pb::ListVersionsRequest { id: node.clone() }))
                    .await
                    .err(),
                "Assets/CreateAsset" => assets
                    .create_asset(authed(
                        &t,
                        pb::CreateAssetRequest {
                            kind: "rack".into(),
                            name: format!("rack-{}", role.as_str()),
                            ..Default::default()
                        },
                    ))
                    .await
                    .err(),
                "Assets/PutConfig" => assets
                    .put_config(authed(
                        &t,
                        pb::PutConfigRequest {
                            id: node.clone(),
                            config_json: json!({"by": role.as_str()}).to_string(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .err(),
                // An unknown id: allowed callers get NOT_FOUND, the others PERMISSION_DENIED.
                "Assets/DeleteAsset" => assets
                    .delete_asset(authed(
                        &t,
                        pb::DeleteAssetRequest {
                            id: "no-such-asset".into(),
                        },
                    ))
                    .await
                    .err(),
                // Refused by its guard (no BMC) for those allowed to ask.
                "Lifecycle/Transition" => life
                    .transition(authed(
                        &t,
                        pb::TransitionRequest {
                            id: node.clone(),
                            to: "inspecting".into(),
                            reason: None,
                        },
                    ))
                    .await
                    .err(),
                "Lifecycle/History" => life
                    .history(authed(&t, pb::HistoryRequest { id: node.clone() }))
                    .await
                    .err(),
                "Jobs/Submit power" => jobs
                    .submit(authed(
                        &t,
                        pb::SubmitRequest {
                            node: node.clone(),
                            operation: Some(pb::submit_request::Operation::Read(pb::ReadOp {
                                what: "power".into(),
                            })),
                            ..Default::default()
                        },
                    ))
                    .await
                    .err(),
                "Jobs/Submit bios" => jobs
                    .submit(authed(
                        &t,
                        pb::SubmitRequest {
                            node: node.clone(),
                            operation: Some(pb::submit_request::Operation::Generic(
                                pb::GenericOp {
                                    group: "bios".into(),
                                    params_json: json!({"attributes": {"A": 1}}).to_string(),
                                },
                            )),
                            ..Default::default()
                        },
                    ))
                    .await
                    .err(),
                "Jobs/GetJob" => jobs
                    .get_job(authed(
                        &t,
                        pb::GetJobRequest {
                            id: "no-such-job".into(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .err(),
                "Jobs/ListJobs" => jobs
                    .list_jobs(authed(&t, pb::ListJobsRequest::default()))
                    .await
                    .err(),
                "Jobs/CancelJob" => {
                    let (_, j) = app
                        .admin(
                            Method::POST,
                            &format!("/api/v1/nodes/{node}/read"),
                            json!({"what": "sel"}),
                        )
                        .await;
                    jobs.cancel_job(authed(
                        &t,
                        pb::CancelJobRequest {
                            id: j["id"].as_str().unwrap().into(),
                        },
                    ))
                    .await
                    .err()
                }
                "Events/Watch" => events
                    .watch(authed(&t, pb::WatchRequest::default()))
                    .await
                    .err(),
                "Identity/WhoAmI" => who.who_am_i(authed(&t, pb::Empty {})).await.err(),
                "Nodes/GetNode" => nodes
                    .get_node(authed(&t, pb::GetNodeRequest { id: node.clone() }))
                    .await
                    .err(),
                "Nodes/ListNodes" => nodes
                    .list_nodes(authed(&t, pb::ListNodesRequest::default()))
                    .await
                    .err(),
                other => unreachable!("{other}"),
            }
            .map(|s| s.code());
            if allows(role, perm) {
                assert!(
                    !matches!(code, Some(Code::PermissionDenied | Code::Unauthenticated)),
                    "{} should be allowed {m}: {code:?}",
                    role.as_str()
                );
            } else {
                assert_eq!(
                    code,
                    Some(Code::PermissionDenied),
                    "{} must not {m}",
                    role.as_str()
                );
            }
        }
    }
    // No token, or a wrong one: UNAUTHENTICATED on every service.
    let mut assets = pb::assets_client::AssetsClient::new(ch.clone());
    let e = assets
        .list_assets(pb::ListAssetsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let e = assets
        .list_assets(authed("not-a-token", pb::ListAssetsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_feed_streams_new_events_and_resumes_from_a_sequence() {
    let app = TestApp::start().await;
    let ch = channel(&app).await;
    let t = app.tokens[&Role::Viewer].clone();
    let mut events = pb::events_client::EventsClient::new(ch.clone());
    let mut stream = events
        .watch(authed(
            &t,
            pb::WatchRequest {
                types: vec![fleet_model::event::types::ASSET_CREATED.into()],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let (s, n) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "rack", "name": "feed-1"}),
        )
        .await;
    assert_eq!(s, 201, "{n}");
    let id = n["id"].as_str().unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("an event within 20 s")
        .unwrap()
        .expect("the stream stays open");
    assert_eq!(ev.r#type, fleet_model::event::types::ASSET_CREATED);
    assert_eq!(ev.subject, id);
    let ce: Value = serde_json::from_str(&ev.cloudevent_json).unwrap();
    assert_eq!(ce["id"], ev.id.as_str(), "{ce}");
    // Resuming from just before it gives it again, first.
    let mut again = events
        .watch(authed(
            &t,
            pb::WatchRequest {
                after_sequence: Some(ev.sequence - 1),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(20), again.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.id, ev.id);
}

/// grpcurl, built from its own sources by scripts/peers.sh, finds the services through
/// reflection and calls them with a bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs grpcurl: scripts/peers.sh builds it and scripts/test.sh runs ignored tests"]
async fn grpcurl_lists_and_calls_the_services_through_reflection() {
    let grpcurl = std::env::var_os("GPUFLEET_TEST_GRPCURL").expect(
        "GPUFLEET_TEST_GRPCURL is not set: run `bash scripts/peers.sh` (it builds grpcurl) and source ~/.cache/gpufleet/tools/peers.env; scripts/test.sh does both",
    );
    let app = TestApp::start().await;
    app.admin(
        Method::POST,
        "/api/v1/assets",
        json!({"kind": "node", "name": "curl-1"}),
    )
    .await;
    let run = |args: Vec<String>| {
        let o = std::process::Command::new(&grpcurl)
            .args(["-plaintext", "-max-time", "20"])
            .args(&args)
            .output()
            .expect("run grpcurl");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    let addr = app.grpc.clone();
    let (rc, out) = run(vec![addr.clone(), "list".into()]);
    assert_eq!(rc, Some(0), "{out}");
    for s in [
        "gpufleet.v1.Assets",
        "gpufleet.v1.Jobs",
        "gpufleet.v1.Events",
        "grpc.health.v1.Health",
    ] {
        assert!(out.contains(s), "{s} missing from {out}");
    }
    let (rc, out) = run(vec![addr.clone(), "grpc.health.v1.Health/Check".into()]);
    assert_eq!(rc, Some(0), "{out}");
    assert!(out.contains("SERVING"), "{out}");
    let bearer = |r: Role| format!("authorization: Bearer {}", app.tokens[&r]);
    let (rc, out) = run(vec![
        "-H".into(),
        bearer(Role::Viewer),
        addr.clone(),
        "gpufleet.v1.Identity/WhoAmI".into(),
    ]);
    assert_eq!(rc, Some(0), "{out}");
    let who: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(who["username"], "viewer");
    assert_eq!(who["role"], "viewer");
    let (rc, out) = run(vec![
        "-H".into(),
        bearer(Role::Viewer),
        "-d".into(),
        json!({"kind": "node"}).to_string(),
        addr.clone(),
        "gpufleet.v1.Assets/ListAssets".into(),
    ]);
    assert_eq!(rc, Some(0), "{out}");
    let page: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(page["assets"][0]["name"], "curl-1", "{page}");
    // A viewer may not create; grpcurl reports the status code.
    let (rc, out) = run(vec![
        "-H".into(),
        bearer(Role::Viewer),
        "-d".into(),
        json!({"kind": "rack", "name": "nope"}).to_string(),
        addr.clone(),
        "gpufleet.v1.Assets/CreateAsset".into(),
    ]);
    assert_ne!(rc, Some(0), "{out}");
    assert!(
        out.contains("PermissionDenied") && out.contains("InventoryWrite"),
        "{out}"
    );
    // Without a token.
    let (rc, out) = run(vec![addr, "gpufleet.v1.Assets/ListAssets".into()]);
    assert_ne!(rc, Some(0));
    assert!(out.contains("Unauthenticated"), "{out}");
}

/// The permission the REST route `(method, path)` needs, from the route table.
fn rest_permission(method: &str, path: &str) -> Permission {
    let m: axum::http::Method = method.parse().unwrap();
    fleet_server::auth::route_permission(&m, path)
        .unwrap_or_else(|| panic!("{method} {path} is not a route"))
        .unwrap_or_else(|| panic!("{method} {path} needs no authentication"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_token_provisioning_and_audit_methods_need_what_their_rest_routes_need() {
    let app = TestApp::start().await;
    let (_, n) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "roles-2"}),
        )
        .await;
    let node = n["id"].as_str().unwrap().to_string();
    let ch = channel(&app).await;
    // (gRPC method, the REST route that does the same). Listing every user's tokens is
    // `GET /api/v1/tokens?all=true`, which needs UserAdmin on top of the route's SelfService.
    let methods: [(&str, &str, &str); 16] = [
        ("Users/ListUsers", "GET", "/api/v1/users"),
        ("Users/GetUser", "GET", "/api/v1/users/{id}"),
        ("Users/CreateUser", "POST", "/api/v1/users"),
        ("Users/UpdateUser", "PATCH", "/api/v1/users/{id}"),
        ("Users/DeleteUser", "DELETE", "/api/v1/users/{id}"),
        ("Tokens/ListTokens", "GET", "/api/v1/tokens"),
        ("Tokens/ListTokens all", "GET", "/api/v1/tokens"),
        ("Tokens/CreateToken", "POST", "/api/v1/tokens"),
        ("Tokens/RevokeToken", "DELETE", "/api/v1/tokens/{id}"),
        (
            "Provisioning/ListInstallPlans",
            "GET",
            "/api/v1/install-plans",
        ),
        (
            "Provisioning/ListRuns",
            "GET",
            "/api/v1/nodes/{id}/provision",
        ),
        ("Provisioning/GetRun", "GET", "/api/v1/nodes/{id}/provision"),
        (
            "Provisioning/StartRun",
            "POST",
            "/api/v1/nodes/{id}/provision",
        ),
        (
            "Provisioning/CancelRun",
            "POST",
            "/api/v1/nodes/{id}/provision/cancel",
        ),
        ("Audit/ListAudit", "GET", "/api/v1/audit"),
        (
            "Audit/ListDeadLetters",
            "GET",
            "/api/v1/events/dead-letters",
        ),
    ];
    let mut extra = vec![("Audit/VerifyAudit", "GET", "/api/v1/audit/verify")];
    extra.extend(methods);
    for role in Role::ALL {
        let t = app.tokens[&role].clone();
        for (m, rm, rpath) in extra.iter().copied() {
            let perm = if m == "Tokens/ListTokens all" {
                Permission::UserAdmin
            } else {
                rest_permission(rm, rpath)
            };
            let mut users = pb::users_client::UsersClient::new(ch.clone());
            let mut tokens = pb::tokens_client::TokensClient::new(ch.clone());
            let mut prov = pb::provisioning_client::ProvisioningClient::new(ch.clone());
            let mut audit = pb::audit_client::AuditClient::new(ch.clone());
            let code = match m {
                "Users/ListUsers" => users
                    .list_users(authed(&t, pb::ListUsersRequest::default()))
                    .await
                    .err(),
                "Users/GetUser" => users
                    .get_user(authed(
                        &t,
                        pb::GetUserRequest {
                            id: "no-such-user".into(),
                        },
                    ))
                    .await
                    .err(),
                // Too short a password: refused as INVALID_ARGUMENT once permitted.
                "Users/CreateUser" => users
                    .create_user(authed(
                        &t,
                        pb::CreateUserRequest {
                            username: format!("new-{}", role.as_str()),
                            password: "short".into(),
                            role: "viewer".into(),
                        },
                    ))
                    .await
                    .err(),
                "Users/UpdateUser" => users
                    .update_user(authed(
                        &t,
                        pb::UpdateUserRequest {
                            id: "no-such-user".into(),
                            disabled: Some(true),
                            ..Default::default()
                        },
                    ))
                    .await
                    .err(),
                "Users/DeleteUser" => users
                    .delete_user(authed(
                        &t,
                        pb::DeleteUserRequest {
                            id: "no-such-user".into(),
                        },
                    ))
                    .await
                    .err(),
                "Tokens/ListTokens" => tokens
                    .list_tokens(authed(&t, pb::ListTokensRequest { all: false }))
                    .await
                    .err(),
                "Tokens/ListTokens all" => tokens
                    .list_tokens(authed(&t, pb::ListTokensRequest { all: true }))
                    .await
                    .err(),
                "Tokens/CreateToken" => tokens
                    .create_token(authed(
                        &t,
                        pb::CreateTokenRequest {
                            name: format!("ci-{}", role.as_str()),
                            ttl_s: Some(60),
                        },
                    ))
                    .await
                    .err(),
                "Tokens/RevokeToken" => tokens
                    .revoke_token(authed(
                        &t,
                        pb::RevokeTokenRequest {
                            id: "no-such-token".into(),
                        },
                    ))
                    .await
                    .err(),
                "Provisioning/ListInstallPlans" => prov
                    .list_install_plans(authed(&t, pb::Empty {}))
                    .await
                    .err(),
                "Provisioning/ListRuns" => prov
                    .list_runs(authed(&t, pb::ListRunsRequest { node: node.clone() }))
                    .await
                    .err(),
                // Never provisioned: NOT_FOUND once permitted.
                "Provisioning/GetRun" => prov
                    .get_run(authed(
                        &t,
                        pb::GetRunRequest {
                            node: node.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .err(),
                // Provisioning is off in this server: UNAVAILABLE once permitted.
                "Provisioning/StartRun" => prov
                    .start_run(authed(
                        &t,
                        pb::StartRunRequest {
                            node: node.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .err(),
                "Provisioning/CancelRun" => prov
                    .cancel_run(authed(
                        &t,
                        pb::CancelRunRequest {
                            node: node.clone(),
                            reason: None,
                        },
                    ))
                    .await
                    .err(),
                "Audit/ListAudit" => audit
                    .list_audit(authed(&t, pb::ListAuditRequest::default()))
                    .await
                    .err(),
                "Audit/VerifyAudit" => audit.verify_audit(authed(&t, pb::Empty {})).await.err(),
                "Audit/ListDeadLetters" => audit
                    .list_dead_letters(authed(&t, pb::ListDeadLettersRequest::default()))
                    .await
                    .err(),
                other => unreachable!("{other}"),
            }
            .map(|s| (s.code(), s.message().to_string()));
            if allows(role, perm) {
                assert!(
                    !matches!(
                        code,
                        Some((Code::PermissionDenied | Code::Unauthenticated, _))
                    ),
                    "{} should be allowed {m}: {code:?}",
                    role.as_str()
                );
                // What a permitted caller gets back, where the request cannot succeed.
                let expected = match m {
                    "Users/GetUser"
                    | "Users/UpdateUser"
                    | "Users/DeleteUser"
                    | "Tokens/RevokeToken"
                    | "Provisioning/GetRun" => Some(Code::NotFound),
                    "Users/CreateUser" => Some(Code::InvalidArgument),
                    "Provisioning/StartRun" | "Provisioning/CancelRun" => Some(Code::Unavailable),
                    _ => None,
                };
                assert_eq!(code.as_ref().map(|c| c.0), expected, "{m}: {code:?}");
            } else {
                assert_eq!(
                    code.as_ref().map(|c| c.0),
                    Some(Code::PermissionDenied),
                    "{} must not {m}",
                    role.as_str()
                );
                let (_, msg) = code.unwrap();
                assert!(
                    msg.contains(&format!("{perm:?}")),
                    "{m}: the refusal names the permission: {msg}"
                );
            }
        }
    }
}

/// (actor, action, kind) of every audit row about user `id`, oldest first; and the user's
/// last role as each interface reads it back.
async fn user_scenario_rest(app: &TestApp, name: &str) -> (Vec<(String, String, String)>, String) {
    let (s, u) = rest(
        app,
        Role::Admin,
        Method::POST,
        "/api/v1/users",
        json!({"username": name, "password": "parity-pw-7c41d9", "role": "viewer"}),
    )
    .await;
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().unwrap().to_string();
    let (s, u) = rest(
        app,
        Role::Admin,
        Method::PATCH,
        &format!("/api/v1/users/{name}"),
        json!({"role": "operator"}),
    )
    .await;
    assert_eq!(s, 200, "{u}");
    let (s, read) = rest(
        app,
        Role::Admin,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{read}");
    let (s, v) = rest(
        app,
        Role::Admin,
        Method::DELETE,
        &format!("/api/v1/users/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 204, "{v}");
    (
        audit_of(app, &id).await,
        read["role"].as_str().unwrap().to_string(),
    )
}

async fn user_scenario_grpc(app: &TestApp, name: &str) -> (Vec<(String, String, String)>, String) {
    let t = app.tokens[&Role::Admin].clone();
    let mut users = pb::users_client::UsersClient::new(channel(app).await);
    let u = users
        .create_user(authed(
            &t,
            pb::CreateUserRequest {
                username: name.into(),
                password: "parity-pw-7c41d9".into(),
                role: "viewer".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    users
        .update_user(authed(
            &t,
            pb::UpdateUserRequest {
                id: name.into(),
                role: Some("operator".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let read = users
        .get_user(authed(&t, pb::GetUserRequest { id: u.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    users
        .delete_user(authed(&t, pb::DeleteUserRequest { id: u.id.clone() }))
        .await
        .unwrap();
    let e = users
        .get_user(authed(&t, pb::GetUserRequest { id: u.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    (audit_of(app, &u.id).await, read.role)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_administration_through_rest_and_grpc_leaves_the_same_audit_rows() {
    let app = TestApp::start().await;
    let rest_side = user_scenario_rest(&app, "parity-user-rest").await;
    let grpc_side = user_scenario_grpc(&app, "parity-user-grpc").await;
    assert_eq!(rest_side.1, "operator");
    let actions: Vec<&str> = rest_side.0.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(actions, ["user.create", "user.update", "user.delete"]);
    assert_eq!(rest_side, grpc_side);
    // The audit log reads the same over gRPC, page by page.
    let t = app.tokens[&Role::Admin].clone();
    let mut audit = pb::audit_client::AuditClient::new(channel(&app).await);
    let mut seen = vec![];
    let mut page_token = String::new();
    loop {
        let r = audit
            .list_audit(authed(
                &t,
                pb::ListAuditRequest {
                    kind: Some("user".into()),
                    page_size: 2,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(r.entries.len() <= 2);
        seen.extend(r.entries.into_iter().map(|e| (e.seq, e.action)));
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    let (s, v) = rest(
        &app,
        Role::Admin,
        Method::GET,
        "/api/v1/audit?kind=user&limit=1000",
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let from_rest: Vec<(i64, String)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["seq"].as_i64().unwrap(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(seen, from_rest);
    assert!(seen.len() >= 6 + Role::ALL.len(), "{seen:?}");
}
