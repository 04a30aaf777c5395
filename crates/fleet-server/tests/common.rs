//! A test server on 127.0.0.1:0 over a fresh store, with users of every role.

#![allow(dead_code)]

use fleet_db::{Actor, NewUser, SecretBox, Store, StoreOptions};
use fleet_model::rbac::Role;
use fleet_server::config::Config;
use fleet_server::state::AppState;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub tokens: std::collections::BTreeMap<Role, String>,
    /// `127.0.0.1:PORT` of the gRPC API over the same state.
    pub grpc: String,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub const PASSWORD: &str = "password-123";

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        tweak(&mut cfg);
        let store = Store::connect(&StoreOptions::new(cfg.database_url()))
            .await
            .unwrap()
            .with_secrets(SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap());
        for role in Role::ALL {
            store
                .create_user(
                    &Actor::system("test"),
                    NewUser {
                        username: role.as_str().into(),
                        password_hash: fleet_server::auth::hash_password(PASSWORD).unwrap(),
                        role,
                    },
                )
                .await
                .unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Redis when the test configured it (the hot status), else all in memory.
        let hot = fleet_server::server::open_hot_status(&cfg).await.unwrap();
        let history = fleet_server::server::open_history(&cfg).unwrap();
        let bus = std::sync::Arc::new(fleet_bus::InProcessBus::new(cfg.bus.topology()));
        let st = AppState::with_parts(store.clone(), cfg, bus, hot, Some(history));
        let shutdown = CancellationToken::new();
        let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = grpc_listener.local_addr().unwrap().to_string();
        tokio::spawn(fleet_server::grpc::serve(
            st.clone(),
            grpc_listener,
            shutdown.clone(),
        ));
        tokio::spawn(fleet_server::relay::run(st.clone(), shutdown.clone()));
        tokio::spawn(fleet_server::app::serve(st, listener, shutdown.clone()));
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        let mut app = TestApp {
            base,
            store,
            http,
            dir,
            tokens: Default::default(),
            grpc,
            shutdown,
        };
        for role in Role::ALL {
            let t = app.login(role.as_str(), PASSWORD).await;
            app.tokens.insert(role, t);
        }
        app
    }

    pub async fn login(&self, user: &str, pw: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": user, "password": pw}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {user}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn req(&self, role: Role, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.tokens[&role])
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .req(Role::Admin, method, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}
