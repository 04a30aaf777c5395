//! The live and browser sides of the APIs: GraphQL subscriptions over WebSocket
//! (`graphql-transport-ws`) carry the published event feed and resume from a sequence; the
//! GraphQL console is served from local files only; gRPC `Nodes` answers a node with its parts
//! and a filtered page of nodes with their GPUs, as REST's `include=gpus` does.

mod common;

use std::time::Duration;

use common::TestApp;
use fleet_model::rbac::Role;
use fleet_server::grpc::pb;
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/api/v1/graphql/ws` with the graphql-transport-ws subprotocol and sends
/// `connection_init` with `payload`.
async fn connect(app: &TestApp, payload: Value) -> Ws {
    let url = format!("{}/api/v1/graphql/ws", app.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, resp) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("WebSocket handshake within 10 s")
    .unwrap();
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": payload}).to_string(),
    ))
    .await
    .unwrap();
    ws
}

/// The next JSON message (text frames only), or `None` when the server closed.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a message within 15 s")?;
        match m {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn subscribe(ws: &mut Ws, id: &str, query: &str) {
    ws.send(Message::text(
        json!({"id": id, "type": "subscribe", "payload": {"query": query}}).to_string(),
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_subscription_streams_published_events_and_resumes_from_a_sequence() {
    let app = TestApp::start().await;
    let token = app.tokens[&Role::Viewer].clone();
    let mut ws = connect(&app, json!({"Authorization": format!("Bearer {token}")})).await;
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "connection_ack");
    subscribe(
        &mut ws,
        "1",
        "subscription { events(types: [\"io.gpufleet.asset.created.v1\"]) { sequence type subject cloudevent } }",
    )
    .await;
    // The watch starts after the newest published event: give it a moment to take its place.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, rack) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "rack", "name": "sub-1"}),
        )
        .await;
    assert_eq!(s, 201, "{rack}");
    let id = rack["id"].as_str().unwrap();
    let m = next_json(&mut ws).await.expect("an event");
    assert_eq!(m["type"], "next", "{m}");
    assert_eq!(m["id"], "1");
    let ev = &m["payload"]["data"]["events"];
    assert_eq!(ev["type"], "io.gpufleet.asset.created.v1", "{m}");
    assert_eq!(ev["subject"], id, "{m}");
    assert_eq!(ev["cloudevent"]["data"]["asset"]["name"], "sub-1", "{m}");
    let seq = ev["sequence"].as_i64().unwrap();

    // A second subscription resumes just before that event and sees it again, first.
    subscribe(
        &mut ws,
        "2",
        &format!("subscription {{ events(afterSequence: {}, types: [\"io.gpufleet.asset.created.v1\"]) {{ sequence subject }} }}", seq - 1),
    )
    .await;
    let m = next_json(&mut ws).await.expect("the replayed event");
    assert_eq!(m["id"], "2", "{m}");
    assert_eq!(m["payload"]["data"]["events"]["sequence"], seq, "{m}");
    assert_eq!(m["payload"]["data"]["events"]["subject"], id, "{m}");
    ws.close(None).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_without_a_valid_token_is_refused_at_connection_init() {
    let app = TestApp::start().await;
    for payload in [json!({}), json!({"Authorization": "Bearer not-a-token"})] {
        let mut ws = connect(&app, payload.clone()).await;
        // graphql-transport-ws: a refused connection_init closes the socket (4403 / 4400).
        let m = next_json(&mut ws).await;
        assert!(
            m.is_none(),
            "{payload}: expected the socket closed, got {m:?}"
        );
    }
    // Not a WebSocket upgrade: a problem document, not plain text.
    let r = app
        .req(Role::Viewer, Method::GET, "/api/v1/graphql/ws")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{r:?}"
    );
}

/// The console page, its files, and that nothing comes from another site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs GraphiQL's files: GPUFLEET_GRAPHIQL_DIR from scripts/graphiql.sh (the test command installs them)"]
async fn the_graphql_console_is_served_from_local_files_only() {
    // Without the files: a 404 that says how to install them.
    let bare = TestApp::start().await;
    let r = bare
        .http
        .get(format!("{}/api/v1/graphiql", bare.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.text().await.unwrap().contains("scripts/graphiql.sh"));

    let dir = match std::env::var("GPUFLEET_GRAPHIQL_DIR") {
        Ok(d) if !d.is_empty() => std::path::PathBuf::from(d),
        _ => panic!(
            "GPUFLEET_GRAPHIQL_DIR is not set: run scripts/graphiql.sh and export the folder it prints (the test command does)"
        ),
    };
    let app = TestApp::start_with(|c| c.graphiql_dir = dir.clone()).await;
    let r = app
        .http
        .get(format!("{}/api/v1/graphiql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = r.text().await.unwrap();
    let refs: Vec<&str> = page
        .split(['"', '\''])
        .filter(|s| s.starts_with("/api/v1/graphiql/"))
        .collect();
    assert_eq!(refs.len(), 4, "{page}");
    assert!(
        !page.contains("https://") && !page.contains("http://"),
        "the page names another site: {page}"
    );
    for path in refs {
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let ty = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            ty.starts_with("text/javascript") || ty.starts_with("text/css"),
            "{path}: {ty}"
        );
        let body = r.bytes().await.unwrap();
        let on_disk = std::fs::read(dir.join(path.rsplit('/').next().unwrap())).unwrap();
        assert_eq!(body.len(), on_disk.len(), "{path}");
    }
    // Only the console's own files are served from that folder.
    for bad in ["LICENSE.graphiql", "..%2Fsecret.key", ".complete"] {
        let r = app
            .http
            .get(format!("{}/api/v1/graphiql/{bad}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_nodes_answers_a_node_with_its_parts_and_a_page_of_nodes_with_their_gpus() {
    let app = TestApp::start().await;
    let (_, rack) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "rack", "name": "gn-rack"}),
        )
        .await;
    let rack = rack["id"].as_str().unwrap().to_string();
    let mut nodes = Vec::new();
    for i in 0..3 {
        let (s, n) = app
            .admin(
                Method::POST,
                "/api/v1/assets",
                json!({"kind": "node", "name": format!("gn-{i}"), "parent_id": rack}),
            )
            .await;
        assert_eq!(s, 201, "{n}");
        let id = n["id"].as_str().unwrap().to_string();
        for g in 0..(i + 1) {
            let (s, v) = app
                .admin(
                    Method::POST,
                    "/api/v1/assets",
                    json!({"kind": "gpu", "name": format!("gn-{i}-gpu{g}"), "parent_id": id}),
                )
                .await;
            assert_eq!(s, 201, "{v}");
        }
        nodes.push(id);
    }
    let (s, v) = app
        .admin(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "bmc", "name": "gn-0-bmc", "parent_id": nodes[0], "config": {"address": "10.0.0.9"}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    let ch = tonic::transport::Endpoint::from_shared(format!("http://{}", app.grpc))
        .unwrap()
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap();
    let mut client = pb::nodes_client::NodesClient::new(ch);
    let viewer = app.tokens[&Role::Viewer].clone();
    fn with_token<T>(token: &str, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        r
    }
    let authed = |msg| with_token(&viewer, msg);
    let authed_list = |msg| with_token(&viewer, msg);
    // By name, with its GPU, BMC and rack.
    let n = client
        .get_node(authed(pb::GetNodeRequest { id: "gn-0".into() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(n.node.as_ref().unwrap().id, nodes[0]);
    assert_eq!(n.gpus.len(), 1);
    assert_eq!(n.bmc.as_ref().unwrap().name, "gn-0-bmc");
    assert_eq!(n.rack.as_ref().unwrap().id, rack);
    // A GPU is not a node.
    let gpu = n.gpus[0].id.clone();
    let e = client
        .get_node(authed(pb::GetNodeRequest { id: gpu }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");

    // A page of two, then the rest: each node with exactly its GPUs.
    let first = client
        .list_nodes(authed_list(pb::ListNodesRequest {
            rack: Some(rack.clone()),
            page_size: 2,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.nodes.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let rest = client
        .list_nodes(authed_list(pb::ListNodesRequest {
            rack: Some(rack.clone()),
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.nodes.len(), 1);
    assert!(rest.next_page_token.is_empty());
    for n in first.nodes.iter().chain(&rest.nodes) {
        let node = n.node.as_ref().unwrap();
        let i: usize = node.name.trim_start_matches("gn-").parse().unwrap();
        assert_eq!(n.gpus.len(), i + 1, "{}", node.name);
        assert!(n
            .gpus
            .iter()
            .all(|g| g.parent_id.as_deref() == Some(node.id.as_str())));
    }
    // REST says the same with include=gpus, and refuses what it cannot include.
    let r = app
        .req(
            Role::Viewer,
            Method::GET,
            &format!("/api/v1/nodes?rack={rack}&include=gpus"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{page}");
    for n in items {
        let i: usize = n["name"]
            .as_str()
            .unwrap()
            .trim_start_matches("gn-")
            .parse()
            .unwrap();
        assert_eq!(n["gpus"].as_array().unwrap().len(), i + 1, "{n}");
    }
    let r = app
        .req(Role::Viewer, Method::GET, "/api/v1/nodes?include=disks")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .req(Role::Viewer, Method::GET, "/api/v1/nodes")
        .send()
        .await
        .unwrap();
    let page: Value = r.json().await.unwrap();
    assert!(page["items"][0].get("gpus").is_none(), "{page}");

    // A bad state is an argument error; no token is unauthenticated.
    let e = client
        .list_nodes(authed_list(pb::ListNodesRequest {
            state: Some("asleep".into()),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    let e = client
        .list_nodes(pb::ListNodesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
}
