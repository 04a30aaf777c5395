//! End-to-end tests of the REST API over a real server socket.

mod common;

use common::TestApp;
use fleet_model::rbac::{allows, Role};
use fleet_server::auth::ROUTES;
use reqwest::Method;
use serde_json::{json, Value};

async fn seed_node(app: &TestApp, name: &str) -> String {
    let (s, v) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": name, "config": {"driver": "535"}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_route_enforces_the_permission_matrix_for_every_role() {
    let app = TestApp::start().await;
    // Fixtures the parameterised routes point at.
    let node = seed_node(&app, "n1").await;
    let (_, rack) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "rack", "name": "r1"}),
        )
        .await;
    let (_, sw) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "switch", "name": "s1", "parent_id": rack["id"]}),
        )
        .await;
    let (_, nic) = app.admin(Method::POST, "/api/v1/assets", json!({"kind": "nic", "name": "nic1", "parent_id": node, "config": {"mac": "0c:42:a1:00:00:01"}})).await;
    let (_, rel) = app.admin(Method::POST, "/api/v1/relations", json!({"kind": "connected_to", "from_id": nic["id"], "to_id": sw["id"], "attrs": {"port": "Ethernet1"}})).await;
    let (_, prof) = app
        .admin(
            Method::POST,
            "/api/v1/profiles",
            json!({"name": "p1", "spec": {"gpu_count": 8}}),
        )
        .await;
    let (_, user) = app
        .admin(
            Method::POST,
            "/api/v1/users",
            json!({"username": "victim", "password": "password-xyz", "role": "viewer"}),
        )
        .await;
    let (_, tok) = app
        .admin(Method::POST, "/api/v1/tokens", json!({"name": "t"}))
        .await;

    let subst = |path: &str| -> String {
        let id = if path.starts_with("/api/v1/relations") {
            rel["id"].as_str().unwrap().to_string()
        } else if path.starts_with("/api/v1/profiles") {
            prof["id"].as_str().unwrap().to_string()
        } else if path.starts_with("/api/v1/users") {
            user["id"].as_str().unwrap().to_string()
        } else if path.starts_with("/api/v1/tokens") {
            tok["id"].as_str().unwrap().to_string()
        } else {
            node.clone()
        };
        path.replace("{id}", &id).replace("{version}", "1")
    };

    let mut checked = 0;
    for (method, path, perm) in ROUTES {
        let m: Method = method.parse().unwrap();
        let url = subst(path);
        // Unauthenticated.
        let r = app
            .http
            .request(m.clone(), format!("{}{url}", app.base))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        match perm {
            None => assert_ne!(r.status(), 401, "{method} {path} is public"),
            Some(_) => {
                assert_eq!(r.status(), 401, "{method} {path} without a token");
                assert!(r.headers().get("www-authenticate").is_some());
            }
        }
        let Some(perm) = perm else { continue };
        for role in Role::ALL {
            // Logging out ends the caller's session: use a fresh one.
            let token = if *path == "/api/v1/auth/logout" {
                app.login(role.as_str(), common::PASSWORD).await
            } else {
                app.tokens[&role].clone()
            };
            let r = app
                .http
                .request(m.clone(), format!("{}{url}", app.base))
                .bearer_auth(&token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let allowed = role >= min_role(method, path);
            // The server's own table must say the same as the policy written below.
            assert_eq!(
                allows(role, *perm),
                allowed,
                "{role:?} {method} {path}: the permission table disagrees with the policy"
            );
            if allowed {
                // This server runs without a Tinkerbell control plane: provisioning (and a
                // diagnosis, which re-provisions) answers 503 (documented) to everyone allowed
                // to ask.
                let unavailable_here =
                    status == 503 && (path.contains("provision") || path.ends_with("/diagnose"));
                assert!(
                    unavailable_here
                        || (200..300).contains(&status)
                        || ((400..500).contains(&status) && status != 401 && status != 403),
                    "{role:?} must be allowed {method} {path} and get a success or a client error for its sample input, got {status}"
                );
            } else {
                assert_eq!(status, 403, "{role:?} must be refused {method} {path}");
                let body: Value = r.json().await.unwrap();
                assert!(body["detail"].as_str().unwrap().contains(role.as_str()));
            }
            checked += 1;
        }
    }
    assert!(checked >= 3 * 40, "walked {checked} route × role pairs");
    // Every route has a policy row and every policy row is a route.
    let routes: std::collections::BTreeSet<(&str, &str)> =
        ROUTES.iter().map(|(m, p, _)| (*m, *p)).collect();
    let policy: std::collections::BTreeSet<(&str, &str)> =
        POLICY.iter().map(|(m, p, _)| (*m, *p)).collect();
    assert_eq!(routes, policy, "routes and the written policy differ");
    for (m, p, min) in POLICY {
        let table = ROUTES
            .iter()
            .find(|(rm, rp, _)| rm == m && rp == p)
            .unwrap()
            .2;
        assert_eq!(table.is_none(), min.is_none(), "{m} {p}: public or not");
    }
}

/// The access policy, written out route by route from the roles' descriptions (viewers read;
/// operators do the daily inventory, lifecycle, out-of-band and provisioning work and push
/// telemetry; admins manage users, profiles and install plans, BIOS, RAID, firmware and switch
/// ports, the audit log and the dead letters), independently of `auth::ROUTES` and `rbac::allows`, which the
/// test above checks against it. `None`: no authentication.
const POLICY: &[(&str, &str, Option<Role>)] = {
    const V: Option<Role> = Some(Role::Viewer);
    const O: Option<Role> = Some(Role::Operator);
    const A: Option<Role> = Some(Role::Admin);
    &[
        ("POST", "/api/v1/auth/login", None),
        ("GET", "/api/v1/graphiql", None),
        ("GET", "/api/v1/graphiql/{file}", None),
        ("GET", "/api/v1/graphql/ws", None),
        ("POST", "/api/v1/auth/logout", V),
        ("GET", "/api/v1/auth/whoami", V),
        ("GET", "/api/v1/tokens", V),
        ("POST", "/api/v1/tokens", V),
        ("DELETE", "/api/v1/tokens/{id}", V),
        ("GET", "/api/v1/users", A),
        ("POST", "/api/v1/users", A),
        ("GET", "/api/v1/users/{id}", A),
        ("PATCH", "/api/v1/users/{id}", A),
        ("DELETE", "/api/v1/users/{id}", A),
        ("GET", "/api/v1/assets", V),
        ("POST", "/api/v1/assets", O),
        ("GET", "/api/v1/assets/{id}", V),
        ("PATCH", "/api/v1/assets/{id}", O),
        ("DELETE", "/api/v1/assets/{id}", O),
        ("PUT", "/api/v1/assets/{id}/config", O),
        ("GET", "/api/v1/assets/{id}/versions", V),
        ("GET", "/api/v1/assets/{id}/versions/{version}", V),
        ("POST", "/api/v1/assets/{id}/versions/{version}/restore", O),
        ("GET", "/api/v1/assets/{id}/diff", V),
        ("GET", "/api/v1/assets/{id}/relations", V),
        ("POST", "/api/v1/relations", O),
        ("DELETE", "/api/v1/relations/{id}", O),
        ("GET", "/api/v1/nodes", V),
        ("GET", "/api/v1/nodes/{id}", V),
        ("POST", "/api/v1/nodes/{id}/transition", O),
        ("GET", "/api/v1/nodes/{id}/history", V),
        ("PUT", "/api/v1/nodes/{id}/profile", O),
        ("GET", "/api/v1/nodes/{id}/validation", V),
        ("GET", "/api/v1/lifecycle", V),
        ("GET", "/api/v1/gpus", V),
        ("GET", "/api/v1/profiles", V),
        ("POST", "/api/v1/profiles", A),
        ("GET", "/api/v1/profiles/{id}", V),
        ("PUT", "/api/v1/profiles/{id}", A),
        ("DELETE", "/api/v1/profiles/{id}", A),
        ("POST", "/api/v1/import", O),
        ("POST", "/api/v1/discovery", O),
        ("POST", "/api/v1/discovery/announce", O),
        ("GET", "/api/v1/changes", V),
        ("GET", "/api/v1/events", V),
        ("GET", "/api/v1/events/stream", V),
        ("GET", "/api/v1/stream", V),
        ("GET", "/api/v1/events/types", V),
        ("GET", "/api/v1/events/dead-letters", A),
        ("POST", "/api/v1/events/dead-letters/{seq}/redrive", A),
        ("POST", "/api/v1/nodes/{id}/power", O),
        ("POST", "/api/v1/nodes/{id}/boot", O),
        ("POST", "/api/v1/nodes/{id}/media", O),
        ("POST", "/api/v1/nodes/{id}/read", O),
        ("POST", "/api/v1/nodes/{id}/sel/clear", O),
        ("POST", "/api/v1/nodes/{id}/bmc/reset", O),
        ("POST", "/api/v1/nodes/{id}/bios", A),
        ("POST", "/api/v1/nodes/{id}/raid", A),
        ("POST", "/api/v1/nodes/{id}/firmware", A),
        ("POST", "/api/v1/nodes/{id}/firmware/upload", A),
        ("GET", "/api/v1/nodes/{id}/bios/diff", O),
        ("GET", "/api/v1/nodes/{id}/oplog", V),
        ("POST", "/api/v1/ops/bulk", O),
        ("GET", "/api/v1/jobs", V),
        ("GET", "/api/v1/jobs/{id}", V),
        ("POST", "/api/v1/jobs/{id}/cancel", O),
        ("GET", "/api/v1/switches/{id}/ports", O),
        ("POST", "/api/v1/switches/{id}/ports/{port}/admin", A),
        ("GET", "/api/v1/install-plans", V),
        ("POST", "/api/v1/install-plans", A),
        ("GET", "/api/v1/install-plans/{name}", V),
        ("GET", "/api/v1/nodes/{id}/provision", V),
        ("POST", "/api/v1/nodes/{id}/provision", O),
        ("POST", "/api/v1/nodes/{id}/diagnose", O),
        ("POST", "/api/v1/nodes/{id}/provision/cancel", O),
        ("POST", "/api/v1/provision/bulk", O),
        ("GET", "/api/v1/audit", A),
        ("GET", "/api/v1/audit/verify", A),
        ("POST", "/api/v1/telemetry/write", O),
        ("POST", "/write", O),
        ("POST", "/api/v2/write", O),
        ("POST", "/api/v2/alerts", O),
        ("GET", "/api/v1/telemetry/status", V),
        ("GET", "/api/v1/telemetry/series", V),
        ("GET", "/api/v1/gpus/{id}/health", V),
        ("GET", "/api/v1/nodes/{id}/health", V),
        ("GET", "/api/v1/switches/{id}/health", V),
        ("POST", "/api/v1/graphql", V),
        ("GET", "/api/v1/graphql/schema", V),
        ("GET", "/api/v1/alerts", V),
        ("POST", "/api/v1/alerts", O),
        ("POST", "/api/v1/alerts/webhook", O),
        ("GET", "/api/v1/alert-rules", V),
        ("POST", "/api/v1/alert-rules/import", O),
        ("GET", "/api/v1/alert-rules/{name}", V),
        ("PUT", "/api/v1/alert-rules/{name}", O),
        ("DELETE", "/api/v1/alert-rules/{name}", O),
        ("GET", "/api/v1/incidents", V),
        ("GET", "/api/v1/incidents/{id}", V),
        ("POST", "/api/v1/incidents/{id}/ack", O),
        ("POST", "/api/v1/incidents/{id}/resolve", O),
        ("POST", "/api/v1/incidents/{id}/merge", O),
        ("POST", "/api/v1/incidents/{id}/split", O),
        ("GET", "/api/v1/incidents/{id}/plan", V),
        ("POST", "/api/v1/incidents/{id}/remediate", O),
        ("GET", "/api/v1/remediation", V),
        ("PUT", "/api/v1/remediation/kill-switch", A),
    ]
};

/// The least role the policy lets through `method path` (a public route: any).
fn min_role(method: &str, path: &str) -> Role {
    POLICY
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .unwrap_or_else(|| panic!("{method} {path} has no row in POLICY"))
        .2
        .unwrap_or(Role::Viewer)
}

#[tokio::test]
async fn the_openapi_description_and_the_permission_table_list_the_same_routes() {
    let app = TestApp::start().await;
    let spec: Value = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for m in ops.as_object().unwrap().keys() {
            documented.insert((m.to_uppercase(), path.clone()));
        }
    }
    let table: std::collections::BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, table);
    let docs = app
        .http
        .get(format!("{}/api/v1/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(
        !html.contains("cdn") && !html.contains("unpkg"),
        "the docs page must work offline"
    );
}

#[tokio::test]
async fn stale_write_gets_412_and_changes_nothing() {
    let app = TestApp::start().await;
    let id = seed_node(&app, "n1").await;
    let r = app
        .req(Role::Operator, Method::GET, &format!("/api/v1/assets/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["etag"], "\"1\"");
    let w = app
        .req(
            Role::Operator,
            Method::PUT,
            &format!("/api/v1/assets/{id}/config"),
        )
        .header("if-match", "\"1\"")
        .json(&json!({"config": {"driver": "550"}, "reason": "upgrade"}))
        .send()
        .await
        .unwrap();
    assert_eq!(w.status(), 200);
    assert_eq!(w.headers()["etag"], "\"2\"");
    let stale = app
        .req(
            Role::Operator,
            Method::PUT,
            &format!("/api/v1/assets/{id}/config"),
        )
        .header("if-match", "\"1\"")
        .json(&json!({"config": {"driver": "999"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(stale.headers()["content-type"], "application/problem+json");
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["current_version"], 2);
    let (_, now) = app
        .admin(Method::GET, &format!("/api/v1/assets/{id}"), json!(null))
        .await;
    assert_eq!(now["spec"]["driver"], "550");
    let (_, d) = app
        .admin(
            Method::GET,
            &format!("/api/v1/assets/{id}/diff?from=1"),
            json!(null),
        )
        .await;
    assert_eq!(d["changes"][0]["path"], "/driver");
    let (s, restored) = app
        .admin(
            Method::POST,
            &format!("/api/v1/assets/{id}/versions/1/restore"),
            json!(null),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(restored["metadata"]["version"], 3);
    assert_eq!(restored["spec"]["driver"], "535");
}

#[tokio::test]
async fn illegal_transition_gets_409_naming_the_allowed_states() {
    let app = TestApp::start().await;
    let id = seed_node(&app, "n1").await;
    let r = app
        .req(
            Role::Operator,
            Method::POST,
            &format!("/api/v1/nodes/{id}/transition"),
        )
        .json(&json!({"to": "in_service"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["allowed"], json!(["inspecting", "retired"]));
    assert!(body["detail"].as_str().unwrap().contains("inspecting"));
    let r = app
        .req(Role::Operator, Method::POST, "/api/v1/nodes/n1/transition")
        .json(&json!({"to": "nonsense"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        422,
        "unknown state names are rejected as bad input"
    );
    let (_, h) = app
        .admin(Method::GET, "/api/v1/nodes/n1/history", json!(null))
        .await;
    assert_eq!(h["items"], json!([]));
}

#[tokio::test]
async fn lifecycle_and_profile_validation_through_the_api() {
    let app = TestApp::start().await;
    let id = seed_node(&app, "n1").await;
    app.admin(Method::POST, "/api/v1/assets", json!({"kind": "bmc", "name": "b1", "parent_id": id, "config": {"address": "127.0.0.2", "password": "secret-pw"}})).await;
    for i in 0..2 {
        app.admin(Method::POST, "/api/v1/assets", json!({"kind": "gpu", "name": format!("g{i}"), "parent_id": id, "config": {"model": "H100", "serial": format!("S{i}")}})).await;
    }
    let (s, _) = app.admin(Method::POST, "/api/v1/profiles", json!({"name": "HGX-H100-8GPU", "spec": {"gpu_count": 8, "gpu_model": "H100", "driver": "550"}})).await;
    assert_eq!(s, 201);
    let (s, _) = app
        .admin(Method::GET, "/api/v1/nodes/n1/validation", json!(null))
        .await;
    assert_eq!(s, 409, "no profile yet");
    let (s, _) = app
        .admin(
            Method::PUT,
            "/api/v1/nodes/n1/profile",
            json!({"profile": "HGX-H100-8GPU"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, rep) = app
        .admin(Method::GET, "/api/v1/nodes/n1/validation", json!(null))
        .await;
    assert_eq!(rep["passed"], false);
    let bad: Vec<&str> = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(bad, vec!["gpu_count", "driver"]);
    for to in ["inspecting", "ready", "provisioning", "in_service"] {
        let (s, v) = app
            .admin(
                Method::POST,
                "/api/v1/nodes/n1/transition",
                json!({"to": to, "reason": "test"}),
            )
            .await;
        assert_eq!(s, 200, "{to}: {v}");
    }
    let (_, n) = app
        .admin(Method::GET, "/api/v1/nodes/n1", json!(null))
        .await;
    assert_eq!(n["status"]["state"], "in_service");
    assert_eq!(n["components"]["gpu"].as_array().unwrap().len(), 2);
    assert!(
        n["components"]["bmc"][0]["spec"].get("password").is_none(),
        "secrets are never shown"
    );
    assert_eq!(n["allowed_transitions"], json!(["draining", "broken"]));
    let (_, changes) = app
        .admin(
            Method::GET,
            &format!("/api/v1/changes?asset={id}&kind=lifecycle"),
            json!(null),
        )
        .await;
    assert_eq!(changes["items"].as_array().unwrap().len(), 4);
    let (_, events) = app
        .admin(
            Method::GET,
            &format!("/api/v1/events?subject={id}"),
            json!(null),
        )
        .await;
    assert!(events["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "io.gpufleet.lifecycle.changed.v1"));
}

#[tokio::test]
async fn lists_filter_and_paginate() {
    let app = TestApp::start().await;
    for i in 0..7 {
        let (s, _) = app.admin(Method::POST, "/api/v1/assets", json!({"kind": "node", "name": format!("n{i}"), "labels": {"tier": if i < 3 {"gold"} else {"std"}}, "config": {"model": "H100"}})).await;
        assert_eq!(s, 201);
    }
    let mut names = vec![];
    let mut url = "/api/v1/nodes?limit=3&label=tier=std".to_string();
    loop {
        let (s, page) = app.admin(Method::GET, &url, json!(null)).await;
        assert_eq!(s, 200);
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/nodes?limit=3&label=tier=std&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(names, vec!["n3", "n4", "n5", "n6"]);
    let (s, e) = app
        .admin(Method::GET, "/api/v1/nodes?state=flying", json!(null))
        .await;
    assert_eq!(s, 400);
    assert!(e["detail"].as_str().unwrap().contains("known states"));
    let (s, _) = app
        .admin(Method::GET, "/api/v1/nodes?cursor=%%%", json!(null))
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .admin(Method::GET, "/api/v1/nodes?limit=0", json!(null))
        .await;
    assert_eq!(s, 400);
    let (s, e) = app
        .admin(Method::GET, "/api/v1/nodes?rack=nowhere", json!(null))
        .await;
    assert_eq!(s, 400, "{e}");
}

#[tokio::test]
async fn bad_input_gets_problem_documents() {
    let app = TestApp::start().await;
    let r = app
        .req(Role::Admin, Method::POST, "/api/v1/assets")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let (s, e) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "gpu", "name": "g"}),
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        e["detail"].as_str().unwrap().contains("must be inside"),
        "{e}"
    );
    let (s, e) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "n", "colour": "red"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("colour"));
    let (s, _) = app.admin(Method::GET, "/api/v1/nowhere", json!(null)).await;
    assert_eq!(s, 404);
    let r = app
        .req(Role::Admin, Method::GET, "/api/v1/assets")
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("x-request-id").is_some(),
        "every response carries a request id"
    );
}

#[tokio::test]
async fn import_reports_every_bad_line_and_writes_nothing() {
    let app = TestApp::start().await;
    let bad = "racks:\n  - name: r1\nnodes:\n  - name: n1\n    rack: r1\n    nics: [{mac: nonsense}]\n  - name: n2\n    rack: r2\n";
    let r = app
        .req(Role::Operator, Method::POST, "/api/v1/import?format=yaml")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    let lines: Vec<i64> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![4], "{body}");
    let good = bad.replace("nonsense", "0c:42:a1:00:00:01");
    let r = app
        .req(Role::Operator, Method::POST, "/api/v1/import?format=yaml")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["line"], 7, "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("r2"));
    let (_, page) = app.admin(Method::GET, "/api/v1/assets", json!(null)).await;
    assert_eq!(page["items"], json!([]), "nothing was written");
    let r = app
        .req(Role::Operator, Method::POST, "/api/v1/import?format=yaml")
        .body(good.replace("rack: r2", "rack: r1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let csv = "name,rack,mac\nc1,r1,0c:42:a1:00:00:09\nc2,r1,zz\n";
    let r = app
        .req(Role::Operator, Method::POST, "/api/v1/import")
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["line"], 3, "{body}");
}

#[tokio::test]
async fn tokens_sessions_and_login_rate_limit() {
    let app = TestApp::start_with(|c| c.login_max_failures = 3).await;
    // API token works, then is revoked at once.
    let (s, t) = app
        .admin(
            Method::POST,
            "/api/v1/tokens",
            json!({"name": "ci", "ttl_secs": 3600}),
        )
        .await;
    assert_eq!(s, 201);
    let tok = t["token"].as_str().unwrap();
    let who = app
        .http
        .get(format!("{}/api/v1/auth/whoami", app.base))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    assert_eq!(who.status(), 200);
    let (s, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", t["id"].as_str().unwrap()),
            json!(null),
        )
        .await;
    assert_eq!(s, 204);
    let who = app
        .http
        .get(format!("{}/api/v1/auth/whoami", app.base))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    assert_eq!(who.status(), 401);
    // An operator cannot see others' tokens or revoke them.
    let r = app
        .req(Role::Operator, Method::GET, "/api/v1/tokens?all=true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Failed logins are limited per user.
    for _ in 0..3 {
        let r = app
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({"username": "viewer", "password": "wrong"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": "viewer", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let (_, audit) = app
        .admin(Method::GET, "/api/v1/audit?kind=auth", json!(null))
        .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "auth.login_failed")
            .count()
            >= 3
    );
    assert!(audit["items"][0]["source"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1"));
    // Disabling a user ends its sessions.
    let (s, _) = app
        .admin(
            Method::PATCH,
            "/api/v1/users/operator",
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(s, 200);
    let r = app
        .req(Role::Operator, Method::GET, "/api/v1/nodes")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (s, _) = app
        .admin(
            Method::PATCH,
            "/api/v1/users/admin",
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(s, 409, "an admin cannot lock themselves out");
    let (s, e) = app
        .admin(
            Method::POST,
            "/api/v1/users",
            json!({"username": "shorty", "password": "x", "role": "viewer"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
}

#[tokio::test]
async fn mutations_are_audited_with_actor_source_and_request_id_and_verify() {
    let app = TestApp::start().await;
    let r = app
        .req(Role::Operator, Method::POST, "/api/v1/assets")
        .header("x-request-id", "req-42")
        .json(&json!({"kind": "rack", "name": "r9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-request-id"], "req-42");
    let (_, a) = app
        .admin(
            Method::GET,
            "/api/v1/audit?actor=operator&kind=create",
            json!(null),
        )
        .await;
    let row = &a["items"][0];
    assert_eq!(row["request_id"], "req-42");
    assert_eq!(row["action"], "rack.create");
    assert!(row["after_doc"].as_str().unwrap().contains("r9"));
    let (_, v) = app
        .admin(Method::GET, "/api/v1/audit/verify", json!(null))
        .await;
    assert_eq!(v["ok"], true, "{v}");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::start().await;
    assert_eq!(
        app.http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    seed_node(&app, "n1").await;
    let m = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("gpufleet_http_requests_total{method=\"POST\",route=\"/api/v1/assets\",status=\"201\"} 1"), "{m}");
    assert!(m.contains("gpufleet_assets{kind=\"node\"} 1"), "{m}");

    // The store out of reach (its connections closed under the running server): the process is
    // alive but not ready, and says why.
    app.store.close().await;
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{:?}",
        r.headers()
    );
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["title"], "Not ready", "{p}");
    assert!(p["detail"].as_str().unwrap().starts_with("database"), "{p}");
    assert_eq!(
        app.http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn self_announcement_is_refused_until_credentials_are_configured() {
    let app = TestApp::start().await;
    let (s, r) = app
        .admin(
            reqwest::Method::POST,
            "/api/v1/discovery/announce",
            serde_json::json!({"bmc_address": "10.0.0.9"}),
        )
        .await;
    assert_eq!(s, 409, "{r}");
    assert!(r["detail"]
        .as_str()
        .unwrap()
        .contains("GPUFLEET_ENRICHER__ANNOUNCE_PASSWORD"));
    assert_eq!(
        app.store.count_by_kind().await.unwrap().get("node"),
        None,
        "nothing registered"
    );
}

/// A method a route does not serve is a 405 problem document naming the ones it does, before
/// authentication (it says nothing about the caller); HEAD is answered like GET.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_methods_get_405_with_allow_and_head_works_like_get() {
    let app = TestApp::start().await;
    for (method, path, allow) in [
        ("TRACE", "/api/v1/jobs/x", "GET, HEAD"),
        ("PUT", "/api/v1/lifecycle", "GET, HEAD"),
        ("DELETE", "/api/v1/auth/login", "POST"),
    ] {
        let r = app
            .http
            .request(method.parse().unwrap(), format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers()["allow"], allow, "{method} {path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    let r = app
        .req(Role::Viewer, Method::HEAD, "/api/v1/assets?limit=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .head(format!("{}/api/v1/assets", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
