//! Keep-alive connections survive refused requests: a request refused before its body was read
//! (here: a write by a viewer) answers `Connection: close`, so that a client sends its next
//! request on a fresh connection instead of one the server is about to drop.

mod common;

use common::TestApp;
use fleet_model::rbac::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_after_a_refused_write_on_a_pooled_connection_all_get_answers() {
    let app = TestApp::start().await;
    // One connection at a time, reused whenever the server allows it.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .http1_only()
        .build()
        .unwrap();
    let token = &app.tokens[&Role::Viewer];
    let body = json!({"kind": "rack", "name": "x".repeat(4096)});
    let mut failed = Vec::new();
    for i in 0..100 {
        let r = http
            .post(format!("{}/api/v1/assets", app.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["connection"], "close", "{r:?}");
        let _ = r.bytes().await;
        match http
            .request(Method::GET, format!("{}/api/v1/assets?limit=1", app.base))
            .bearer_auth(token)
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => {}
            other => failed.push((i, format!("{other:?}"))),
        }
    }
    assert!(failed.is_empty(), "reads that got no answer: {failed:?}");
    // Answers to requests without a body keep the connection open.
    let r = http
        .get(format!("{}/api/v1/assets/no-such-asset", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get("connection").is_none(), "{r:?}");
}
