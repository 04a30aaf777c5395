//! Credentials go only where they were given for. A stored BMC password is bound to the BMC's
//! address, port, protocol and TLS setting: an operator cannot point the BMC elsewhere and
//! have gpufleet log in there, an admin who does clears the password (audited), and a
//! configuration altered behind the API's back does not release it either. A listener made
//! by the test plays the rogue host and records every byte it is sent.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use common::TestApp;
use fleet_model::rbac::Role;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A rogue "BMC" on 127.0.0.1: answers a Redfish service root and a session login, and keeps
/// every byte it receives.
struct Rogue {
    url: String,
    seen: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Rogue {
    async fn start() -> Rogue {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    loop {
                        let n = match tokio::time::timeout(
                            Duration::from_secs(10),
                            sock.read(&mut buf),
                        )
                        .await
                        {
                            Ok(Ok(n)) if n > 0 => n,
                            _ => return,
                        };
                        s.lock().unwrap().extend_from_slice(&buf[..n]);
                        let head = String::from_utf8_lossy(&buf[..n]).to_string();
                        let (status, extra, body) = if head.starts_with("POST ") {
                            ("201 Created", "X-Auth-Token: t\r\nLocation: /redfish/v1/SessionService/Sessions/1\r\n", "{}".to_string())
                        } else if head.starts_with("GET /redfish/v1/ ")
                            || head.starts_with("GET /redfish/v1 ")
                        {
                            (
                                "200 OK",
                                "",
                                json!({"@odata.id": "/redfish/v1/", "RedfishVersion": "1.15.0",
                                "Systems": {"@odata.id": "/redfish/v1/Systems"},
                                "SessionService": {"@odata.id": "/redfish/v1/SessionService"}})
                                .to_string(),
                            )
                        } else {
                            ("404 Not Found", "", "{}".to_string())
                        };
                        let resp = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}", body.len());
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Rogue { url, seen, task }
    }

    /// Whether `secret` reached the rogue host, in clear or as HTTP basic authentication.
    fn received(&self, user: &str, secret: &str) -> bool {
        let seen = String::from_utf8_lossy(&self.seen.lock().unwrap()).to_string();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
        seen.contains(secret) || seen.contains(&basic)
    }

    fn bytes(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn call(app: &TestApp, role: Role, m: Method, path: &str, body: Value) -> (u16, Value) {
    let r = app.req(role, m, path).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Starts a read job on `node` as an operator and follows it to its end.
async fn read_power(app: &TestApp, node: &str) -> Value {
    let (s, job) = call(
        app,
        Role::Operator,
        Method::POST,
        &format!("/api/v1/nodes/{node}/read"),
        json!({"what": "power"}),
    )
    .await;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    loop {
        let (_, v) = call(
            app,
            Role::Viewer,
            Method::GET,
            &format!("/api/v1/jobs/{id}?wait_s=2"),
            Value::Null,
        )
        .await;
        if matches!(
            v["state"].as_str(),
            Some("succeeded" | "failed" | "timed_out" | "cancelled")
        ) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "job {id} did not end: {v}"
        );
    }
}

/// A node and its BMC at `address` with a unique password; returns (node id, bmc id, password).
async fn node_and_bmc(app: &TestApp, address: &str) -> (String, String, String) {
    let secret = format!("bmc-secret-{}", uuid::Uuid::new_v4().simple());
    let (s, node) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": "n-1"}),
        )
        .await;
    assert_eq!(s, 201, "{node}");
    let node = node["id"].as_str().unwrap().to_string();
    let (s, bmc) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "bmc", "name": "n-1-bmc", "parent_id": node, "config": {
                "address": address, "protocol": "redfish", "username": "root",
                "password": secret, "timeout_s": 3}}),
        )
        .await;
    assert_eq!(s, 201, "{bmc}");
    (node, bmc["id"].as_str().unwrap().to_string(), secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_bmc_password_never_goes_to_an_address_it_was_not_given_for() {
    let app = TestApp::start().await;
    let rogue = Rogue::start().await;
    // The BMC's real address answers nothing (a closed port on loopback): only the rogue
    // listener can learn anything.
    let (node, bmc, secret) = node_and_bmc(&app, "https://127.0.0.1:9").await;

    // 1. An operator may not move the BMC's address while its password is stored.
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::PUT,
        &format!("/api/v1/assets/{bmc}/config"),
        json!({"config": {"address": rogue.url, "protocol": "redfish", "username": "root",
                          "insecure_tls": true, "timeout_s": 3}}),
    )
    .await;
    assert_eq!(s, 403, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("password"), "{p}");
    let (_, a) = app
        .admin(Method::GET, &format!("/api/v1/assets/{bmc}"), Value::Null)
        .await;
    assert_eq!(a["spec"]["address"], "https://127.0.0.1:9", "{a}");
    assert_eq!(a["spec"]["credential_set"], true, "{a}");

    // 2. Nor through the redfish_address, an IPMI address or a TLS switch alone.
    for cfg in [
        json!({"address": "https://127.0.0.1:9", "redfish_address": rogue.url}),
        json!({"address": "https://127.0.0.1:9", "insecure_tls": true}),
    ] {
        let (s, p) = call(
            &app,
            Role::Operator,
            Method::PUT,
            &format!("/api/v1/assets/{bmc}/config"),
            json!({ "config": cfg }),
        )
        .await;
        assert_eq!(s, 403, "{cfg}: {p}");
    }

    // 3. A database writer who rewrites the configuration directly gains nothing: the
    //    password is bound to the endpoint it was stored for and is not released.
    let pool = app.store.raw_pool_for_tests();
    let (cfg_text,): (String,) = sqlx::query_as("SELECT config FROM assets WHERE id = $1")
        .bind(&bmc)
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut cfg: Value = serde_json::from_str(&cfg_text).unwrap();
    cfg["address"] = json!(rogue.url);
    sqlx::query("UPDATE assets SET config = $1 WHERE id = $2")
        .bind(cfg.to_string())
        .bind(&bmc)
        .execute(&pool)
        .await
        .unwrap();
    let job = read_power(&app, &node).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job.to_string().contains("another address"),
        "the job says why: {job}"
    );
    assert!(
        !rogue.received("root", &secret),
        "the rogue listener received the password"
    );
    sqlx::query("UPDATE assets SET config = $1 WHERE id = $2")
        .bind(&cfg_text)
        .bind(&bmc)
        .execute(&pool)
        .await
        .unwrap();

    // 4. An admin may move it: the password is cleared in the same change, and audited.
    let (s, a) = app
        .admin(
            Method::PUT,
            &format!("/api/v1/assets/{bmc}/config"),
            json!({"config": {"address": rogue.url, "protocol": "redfish", "username": "root",
                              "timeout_s": 3}, "reason": "BMC replaced"}),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    assert!(a["spec"].get("credential_set").is_none(), "{a}");
    let job = read_power(&app, &node).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(job.to_string().contains("no BMC password"), "{job}");
    assert!(!rogue.received("root", &secret));
    let (_, audit) = app
        .admin(
            Method::GET,
            &format!("/api/v1/audit?asset={bmc}&limit=1000"),
            Value::Null,
        )
        .await;
    assert!(
        audit.to_string().contains("bmc.credential.clear"),
        "the clearing is in the audit log: {audit}"
    );

    // 5. Restoring the old version (the old address) does not bring the password back.
    let (s, a) = app
        .admin(
            Method::POST,
            &format!("/api/v1/assets/{bmc}/versions/1/restore"),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{a}");
    assert!(a["spec"].get("credential_set").is_none(), "{a}");

    // 6. Moving the endpoint stays an admin operation even with a new password (other holders
    //    of the BMC's credentials, such as Rufio's Secret, would follow the address); an admin
    //    who gives a new password with a new address sends that one, and only there.
    let fresh = format!("bmc-fresh-{}", uuid::Uuid::new_v4().simple());
    let body = json!({"config": {"address": rogue.url, "protocol": "redfish", "username": "root",
                      "password": fresh, "timeout_s": 3}});
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::PUT,
        &format!("/api/v1/assets/{bmc}/config"),
        json!({"config": {"address": "https://127.0.0.1:9", "protocol": "redfish", "username": "root",
                          "password": fresh, "timeout_s": 3}}),
    )
    .await;
    assert_eq!(
        s, 200,
        "the same endpoint with a new password is an operator's write: {p}"
    );
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::PUT,
        &format!("/api/v1/assets/{bmc}/config"),
        body.clone(),
    )
    .await;
    assert_eq!(s, 403, "{p}");
    let (s, p) = call(
        &app,
        Role::Operator,
        Method::DELETE,
        &format!("/api/v1/assets/{bmc}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        s, 403,
        "an operator cannot delete a BMC holding a credential: {p}"
    );
    let (s, p) = app
        .admin(Method::PUT, &format!("/api/v1/assets/{bmc}/config"), body)
        .await;
    assert_eq!(s, 200, "{p}");
    read_power(&app, &node).await;
    assert!(
        rogue.bytes() > 0,
        "the rogue host was reached with its own password"
    );
    assert!(rogue.received("root", &fresh));
    assert!(!rogue.received("root", &secret));
}
