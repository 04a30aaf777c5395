//! The provisioning API without a Tinkerbell control plane: install plan versions, every
//! refusal that must happen before anything is created, and an unreachable cluster ending the
//! attempt as `provisioning_failed` with the reason instead of waiting forever.

#[path = "support/pg.rs"]
mod pg;

use std::time::{Duration, Instant};

use fleet_db::{Actor, NewUser, SecretBox, Store, StoreOptions};
use fleet_model::rbac::Role;
use fleet_server::config::{Config, TinkerbellConfig};
use fleet_server::state::AppState;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

struct App {
    base: String,
    token: String,
    http: reqwest::Client,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// `kubeconfig`: None leaves provisioning off. `database_url`: None is SQLite.
async fn start(kubeconfig: Option<String>, database_url: Option<String>) -> App {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        data_dir: dir.path().to_path_buf(),
        database_url: database_url.unwrap_or_default(),
        tinkerbell: TinkerbellConfig {
            kubeconfig: kubeconfig.unwrap_or_default(),
            poll_interval_ms: 100,
            ..Default::default()
        },
        ..Default::default()
    };
    let store = Store::connect(&StoreOptions::new(cfg.database_url()))
        .await
        .unwrap()
        .with_secrets(SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap());
    store
        .create_user(
            &Actor::system("test"),
            NewUser {
                username: "admin".into(),
                password_hash: fleet_server::auth::hash_password("password-123").unwrap(),
                role: Role::Admin,
            },
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let st = AppState::new(store, cfg);
    let shutdown = CancellationToken::new();
    fleet_server::provision::start(&st, shutdown.clone())
        .await
        .unwrap();
    tokio::spawn(fleet_server::relay::run(st.clone(), shutdown.clone()));
    tokio::spawn(fleet_server::app::serve(st, listener, shutdown.clone()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let r: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "password-123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    App {
        base,
        token: r["token"].as_str().unwrap().to_string(),
        http,
        shutdown,
        _dir: dir,
    }
}

impl App {
    async fn call(&self, m: Method, path: &str, body: Value) -> (u16, Value) {
        let mut r = self
            .http
            .request(m.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if m != Method::GET {
            r = r.json(&body);
        }
        let r = r.send().await.unwrap();
        let s = r.status().as_u16();
        let t = r.text().await.unwrap();
        (s, serde_json::from_str(&t).unwrap_or(Value::String(t)))
    }

    async fn ok(&self, m: Method, path: &str, body: Value, want: u16) -> Value {
        let (s, v) = self.call(m, path, body).await;
        assert_eq!(s, want, "{path}: {v}");
        v
    }

    /// A ready node with a NIC and a BMC, optionally with a profile.
    async fn node(&self, name: &str, profile: Option<&str>, config: Value) -> String {
        let n = self
            .ok(
                Method::POST,
                "/api/v1/assets",
                json!({"kind": "node", "name": name, "config": config}),
                201,
            )
            .await;
        let id = n["id"].as_str().unwrap().to_string();
        self.ok(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "nic", "name": format!("{name}-nic0"), "parent_id": id,
                   "config": {"mac": "3C:EC:EF:00:00:01"}}),
            201,
        )
        .await;
        self.ok(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "bmc", "name": format!("{name}-bmc"), "parent_id": id,
                   "config": {"address": "127.0.0.1:1", "password": "x"}}),
            201,
        )
        .await;
        if let Some(p) = profile {
            self.ok(
                Method::PUT,
                &format!("/api/v1/nodes/{id}/profile"),
                json!({"profile": p}),
                200,
            )
            .await;
        }
        for to in ["inspecting", "ready"] {
            self.ok(
                Method::POST,
                &format!("/api/v1/nodes/{id}/transition"),
                json!({"to": to}),
                200,
            )
            .await;
        }
        id
    }
}

fn plan(url: &str) -> Value {
    json!({"os": {"method": "image2disk", "url": url}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_off_answers_503_but_plans_are_kept() {
    let app = start(None, None).await;
    let (s, v) = app
        .call(
            Method::POST,
            "/api/v1/provision/bulk",
            json!({"state": "ready"}),
        )
        .await;
    assert_eq!(s, 503, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("[tinkerbell]"),
        "{v}"
    );
    // Plans are still stored, versioned and read back while provisioning is off.
    for url in ["http://img/a.raw", "http://img/b.raw"] {
        app.ok(
            Method::POST,
            "/api/v1/install-plans",
            json!({"name": "ubuntu", "spec": plan(url)}),
            201,
        )
        .await;
    }
    let url_of = |row: &Value| -> String {
        let spec: Value = serde_json::from_str(row["spec"].as_str().unwrap()).unwrap();
        spec["os"]["url"].as_str().unwrap().to_string()
    };
    let newest = app
        .ok(
            Method::GET,
            "/api/v1/install-plans/ubuntu",
            Value::Null,
            200,
        )
        .await;
    assert_eq!(
        (newest["version"].as_i64(), url_of(&newest).as_str()),
        (Some(2), "http://img/b.raw"),
        "{newest}"
    );
    let first = app
        .ok(
            Method::GET,
            "/api/v1/install-plans/ubuntu?version=1",
            Value::Null,
            200,
        )
        .await;
    assert_eq!(url_of(&first), "http://img/a.raw", "{first}");
    let all = app
        .ok(Method::GET, "/api/v1/install-plans", Value::Null, 200)
        .await;
    let mut versions: Vec<(String, i64)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["version"].as_i64().unwrap(),
            )
        })
        .collect();
    versions.sort();
    assert_eq!(
        versions,
        vec![("ubuntu".to_string(), 1), ("ubuntu".to_string(), 2)],
        "{all}"
    );
    app.ok(
        Method::GET,
        "/api/v1/install-plans/no-such-plan",
        Value::Null,
        404,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_are_versioned_and_requests_are_checked_before_anything_is_created() {
    plans_and_requests(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_and_requests_on_postgres() {
    // A database of this test's own, dropped when the test ends (passed or failed).
    let db = pg::TestDatabase::create("gpufleet_p").await;
    plans_and_requests(Some(db.url.clone())).await;
}

async fn plans_and_requests(database_url: Option<String>) {
    // A cluster that does not answer: nothing in this test may need it, except the last step.
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}\n\
         users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
    )
    .unwrap();
    let app = start(Some(kc.display().to_string()), database_url).await;

    // Versions: a second create is version 2; version 1 stays as it was.
    app.ok(
        Method::POST,
        "/api/v1/profiles",
        json!({"name": "hgx", "spec": {"gpu_count": 8, "driver": "550.54.15", "cuda": "12.4"}}),
        201,
    )
    .await;
    let v1 = app
        .ok(
            Method::POST,
            "/api/v1/install-plans",
            json!({"name": "ubuntu", "profile": "hgx", "spec": plan("http://img/a.raw")}),
            201,
        )
        .await;
    let v2 = app
        .ok(
            Method::POST,
            "/api/v1/install-plans",
            json!({"name": "ubuntu", "profile": "hgx", "spec": plan("http://img/b.raw")}),
            201,
        )
        .await;
    assert_eq!(
        (v1["version"].as_i64(), v2["version"].as_i64()),
        (Some(1), Some(2))
    );
    let old = app
        .ok(
            Method::GET,
            "/api/v1/install-plans/ubuntu?version=1",
            Value::Null,
            200,
        )
        .await;
    assert!(old["spec"].as_str().unwrap().contains("a.raw"), "{old}");
    let newest = app
        .ok(
            Method::GET,
            "/api/v1/install-plans/ubuntu",
            Value::Null,
            200,
        )
        .await;
    assert_eq!(newest["version"], 2);
    let all = app
        .ok(Method::GET, "/api/v1/install-plans", Value::Null, 200)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    // Bad plans are refused with the field named; unknown fields too.
    for (spec, needle) in [
        (json!({"os": {"method": "dd", "url": "x"}}), "os.method"),
        (
            json!({"os": {"method": "image2disk", "url": "ftp://x"}}),
            "http",
        ),
        (
            json!({"os": {"method": "image2disk", "url": "http://x"}, "validation": {"dcgm_level": 9}}),
            "dcgm_level",
        ),
        (
            json!({"os": {"method": "image2disk", "url": "http://x"}, "colour": 1}),
            "colour",
        ),
    ] {
        let (s, v) = app
            .call(
                Method::POST,
                "/api/v1/install-plans",
                json!({"name": "broken", "spec": spec}),
            )
            .await;
        assert!(s == 422, "{s} {v}");
        assert!(
            v["detail"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
    let (s, _) = app
        .call(Method::GET, "/api/v1/install-plans/broken", Value::Null)
        .await;
    assert_eq!(s, 404);

    // Refusals before anything is created: no profile and no plan; a bad network; a node that
    // is not ready; an unknown plan.
    let bare = app.node("bare", None, json!({})).await;
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{bare}/provision"),
            json!({}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("no profile"), "{v}");
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{bare}/provision"),
            json!({"plan": "nope"}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let badnet = app
        .node(
            "badnet",
            Some("hgx"),
            json!({"network": {"vlans": [{"name": "v5000", "id": 5000, "link": "eno1"}]}}),
        )
        .await;
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{badnet}/provision"),
            json!({}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("5000"), "{v}");
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/nodes/{badnet}/provision"),
            Value::Null,
        )
        .await;
    assert_eq!(s, 404, "no attempt was recorded");
    let n = app
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{badnet}"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(n["status"]["state"], "ready");
    app.ok(
        Method::POST,
        &format!("/api/v1/nodes/{badnet}/transition"),
        json!({"to": "maintenance"}),
        200,
    )
    .await;
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{badnet}/provision"),
            json!({}),
        )
        .await;
    assert_eq!(s, 422, "the network is checked first: {v}");
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{bare}/provision/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = app
        .call(Method::POST, "/api/v1/provision/bulk", json!({}))
        .await;
    assert_eq!(s, 400, "{v}");

    // A good request against a cluster that does not answer: accepted, then the attempt ends
    // failed with the reason and the node is provisioning_failed (through the table).
    let good = app.node("good", Some("hgx"), json!({})).await;
    let bulk = app
        .ok(
            Method::POST,
            "/api/v1/provision/bulk",
            json!({"ids": [good, bare], "concurrency": 1}),
            202,
        )
        .await;
    assert_eq!(bulk["started"].as_array().unwrap().len(), 1, "{bulk}");
    assert_eq!(bulk["refused"][0]["node"], "bare", "{bulk}");
    assert_eq!(bulk["refused"][0]["status"], 422, "{bulk}");
    let started = &bulk["started"][0];
    assert_eq!(started["plan_version"], 2);
    assert_eq!(started["workflow"], "good-1");
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{good}/provision"),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "a second attempt while one is live");
    let deadline = Instant::now() + Duration::from_secs(60);
    let v = loop {
        let v = app
            .ok(
                Method::GET,
                &format!("/api/v1/nodes/{good}/provision"),
                Value::Null,
                200,
            )
            .await;
        if v["stage"] == "failed" {
            break v;
        }
        assert!(Instant::now() < deadline, "the attempt did not end: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        v["failure"].as_str().unwrap().contains("Tinkerbell API"),
        "{v}"
    );
    assert_eq!(v["node_state"], "provisioning_failed");
    let h = app
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{good}/history"),
            Value::Null,
            200,
        )
        .await;
    let last = h["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["from_state"].as_str(), last["to_state"].as_str()),
        (Some("provisioning"), Some("provisioning_failed")),
        "{h}"
    );
}
