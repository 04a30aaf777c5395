//! Test harness shared by the store's contract suites: a fresh SQLite file or
//! a fresh PostgreSQL database per test (from `GPUFLEET_TEST_POSTGRES_URL`,
//! started by `scripts/services.sh up`), dropped afterwards.

#![allow(dead_code)]

use fleet_db::{Actor, SecretBox, Store, StoreOptions};

pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                // PostgreSQL refuses the drop while another session (an autovacuum worker) is
                // connected, even WITH (FORCE): try a few times.
                rt.block_on(async move {
                    use sqlx::Connection;
                    for _ in 0..20 {
                        if let Ok(mut c) = sqlx::AnyConnection::connect(&admin_url).await {
                            let q = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            if sqlx::query(&q).execute(&mut c).await.is_ok() {
                                return;
                            }
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    }
                    eprintln!("could not drop the test database {name}");
                });
            })
            .join();
        }
    }
}

pub fn key() -> SecretBox {
    SecretBox::from_base64(&SecretBox::generate_key(), 1).unwrap()
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url))
        .await
        .unwrap()
        .with_secrets(key());
    TestDb {
        store,
        _dir: Some(dir),
        pg_drop: None,
    }
}

pub async fn postgres() -> TestDb {
    use sqlx::Connection;
    let base = std::env::var("GPUFLEET_TEST_POSTGRES_URL").expect(
        "GPUFLEET_TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh, which starts PostgreSQL, \
         or point it at a PostgreSQL whose user may create databases",
    );
    sqlx::any::install_default_drivers();
    let name = format!("gpufleet_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(&base)
        .await
        .expect("connect to GPUFLEET_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    let url = format!("{prefix}/{name}");
    let store = Store::connect(&StoreOptions::new(url))
        .await
        .unwrap()
        .with_secrets(key());
    TestDb {
        store,
        _dir: None,
        pg_drop: Some((base, name)),
    }
}

pub fn actor() -> Actor {
    Actor {
        name: "tester".into(),
        source: Some("127.0.0.1".into()),
        request_id: Some("req-1".into()),
    }
}

/// Runs each named test against both stores: `contract!(a, b)`.
#[macro_export]
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name($crate::common::sqlite().await).await } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() { super::$name($crate::common::postgres().await).await } )* }
    };
}
