//! The served OpenAPI description against what the routes answer: every error response is
//! documented as an RFC 9457 problem document, every route documents the statuses an
//! unauthenticated or a malformed request gets, and schemas hold the values served.

mod common;

use common::TestApp;
use fleet_model::rbac::Role;
use reqwest::Method;
use serde_json::{json, Value};

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

async fn served_spec(app: &TestApp) -> Value {
    app.http
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every (method, path, operation) of the description.
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = vec![];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(*m) {
                out.push((m.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn documented(op: &Value, status: u16) -> bool {
    let r = &op["responses"];
    r.get(status.to_string()).is_some() || r.get("default").is_some()
}

/// A schema that is a string (path parameters of that type take any text).
fn is_string(schema: &Value) -> bool {
    schema["type"] == "string"
}

#[tokio::test]
async fn every_error_response_is_documented_as_a_problem_document() {
    let app = TestApp::start().await;
    let spec = served_spec(&app).await;
    assert!(
        spec["components"]["schemas"]["Problem"].is_object(),
        "the Problem schema is published"
    );
    let mut wrong = vec![];
    let mut checked = 0;
    for (m, path, op) in operations(&spec) {
        for (code, resp) in op["responses"].as_object().unwrap() {
            if resp["description"].as_str().unwrap_or("").is_empty() {
                wrong.push(format!("{m} {path} {code}: no description"));
            }
            if !(code.starts_with('4') || code.starts_with('5')) {
                continue;
            }
            checked += 1;
            let content = resp["content"].as_object();
            let ok = content.is_some_and(|c| {
                c.len() == 1
                    && c.get("application/problem+json")
                        .is_some_and(|ct| ct["schema"]["$ref"] == "#/components/schemas/Problem")
            });
            if !ok {
                wrong.push(format!("{m} {path} {code}: {}", resp["content"]));
            }
        }
    }
    assert!(checked > 100, "only {checked} error responses found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every `$ref` names a schema the description publishes.
#[tokio::test]
async fn every_schema_reference_resolves() {
    let app = TestApp::start().await;
    let spec = served_spec(&app).await;
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r.clone());
                }
                o.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = vec![];
    refs(&spec, &mut all);
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let missing: std::collections::BTreeSet<&String> = all
        .iter()
        .filter(|r| {
            r.strip_prefix("#/components/schemas/")
                .is_none_or(|name| !schemas.contains_key(name))
        })
        .collect();
    assert!(!all.is_empty());
    assert!(missing.is_empty(), "unresolved: {missing:?}");
}

/// Path and query for a request that the route must refuse: ids that do not exist, numbers
/// that are not numbers.
fn malformed_url(path: &str, op: &Value) -> (String, bool) {
    let mut url = path.to_string();
    let mut query = vec![];
    for p in op["parameters"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap();
        match p["in"].as_str().unwrap() {
            "path" => {
                let v = if is_string(&p["schema"]) {
                    "no-such-thing"
                } else {
                    "not-a-number"
                };
                url = url.replace(&format!("{{{name}}}"), v);
            }
            "query" if !is_string(&p["schema"]) => query.push(format!("{name}=not-a-number")),
            _ => {}
        }
    }
    let has_query = !query.is_empty();
    if has_query {
        url = format!("{url}?{}", query.join("&"));
    }
    (url, has_query)
}

#[tokio::test]
async fn every_route_documents_what_unauthenticated_and_malformed_requests_get() {
    let app = TestApp::start().await;
    let spec = served_spec(&app).await;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let mut wrong = vec![];
    let mut checked = 0;
    for (m, path, op) in operations(&spec) {
        let method: Method = m.to_uppercase().parse().unwrap();
        let (url, has_query) = malformed_url(&path, &op);
        let has_path_params = path.contains('{');
        let body_type = op["requestBody"]["content"]
            .as_object()
            .and_then(|c| c.keys().next().cloned());
        let streams = op["responses"]["200"]["content"]
            .get("text/event-stream")
            .is_some();

        // Unauthenticated, no body.
        let r = http
            .request(method.clone(), format!("{}{url}", app.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        check(&mut wrong, &m, &path, "unauthenticated", &op, r).await;
        checked += 1;
        assert!(status >= 400, "{m} {path}: unauthenticated got {status}");

        // Malformed, as an admin: a body that does not parse, else parameters that do not.
        if path == "/api/v1/auth/logout" || (streams && !has_query) {
            continue;
        }
        let mut req = app.req(Role::Admin, method.clone(), &url);
        match body_type.as_deref() {
            Some("application/json") => {
                req = req.header("content-type", "application/json").body("{\"");
            }
            Some(ct) => req = req.header("content-type", ct).body(""),
            None if has_query || has_path_params => {}
            None => continue,
        }
        let r = req.send().await.unwrap();
        check(&mut wrong, &m, &path, "malformed", &op, r).await;
        checked += 1;
    }
    assert!(checked > 100, "only {checked} requests made");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn check(
    wrong: &mut Vec<String>,
    m: &str,
    path: &str,
    what: &str,
    op: &Value,
    r: reqwest::Response,
) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.text().await.unwrap_or_default();
    if !documented(op, status) {
        wrong.push(format!(
            "{m} {path} ({what}): {status} is not documented: {body}"
        ));
    }
    if status >= 400 && ct != "application/problem+json" {
        wrong.push(format!(
            "{m} {path} ({what}): {status} answered as '{ct}', not application/problem+json"
        ));
    }
}

#[tokio::test]
async fn change_old_and_new_take_any_json_value() {
    let app = TestApp::start().await;
    let spec = served_spec(&app).await;
    let change = &spec["components"]["schemas"]["Change"];
    for field in ["old", "new"] {
        let s = &change["properties"][field];
        assert!(s.is_object(), "Change.{field}: {change}");
        assert!(
            s.get("type").is_none() && s.get("$ref").is_none() && s.get("oneOf").is_none(),
            "Change.{field} must accept any JSON value (string, number, object, null…): {s}"
        );
    }

    // A configuration change of a string, a number and an object: the diff holds them as they
    // are, in both the diff route and the version.
    let (s, a) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "n1", "config": {"driver": "535", "mtu": 1500, "bios": {"a": 1}}}),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let id = a["id"].as_str().unwrap();
    let (s, v) = app
        .admin(
            Method::PUT,
            &format!("/api/v1/assets/{id}/config"),
            json!({"config": {"driver": "550", "mtu": 9000, "bios": {"a": 2}}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, d) = app
        .admin(
            Method::GET,
            &format!("/api/v1/assets/{id}/diff?from=1"),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{d}");
    let by_path = |changes: &Value, p: &str| {
        changes
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["path"] == p)
            .cloned()
            .unwrap_or_else(|| panic!("no change at {p}: {changes}"))
    };
    let driver = by_path(&d["changes"], "/driver");
    assert_eq!(
        (driver["old"].clone(), driver["new"].clone()),
        (json!("535"), json!("550"))
    );
    let mtu = by_path(&d["changes"], "/mtu");
    assert_eq!(
        (mtu["old"].clone(), mtu["new"].clone()),
        (json!(1500), json!(9000))
    );
    let (s, ver) = app
        .admin(
            Method::GET,
            &format!("/api/v1/assets/{id}/versions/2"),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{ver}");
    assert_eq!(by_path(&ver["diff"], "/driver")["old"], "535");
    assert!(ver["config"].is_object(), "{ver}");
    assert!(
        ver["created_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{ver}"
    );
}
