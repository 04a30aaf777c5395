//! A PostgreSQL database of the test's own on the server of `GPUFLEET_TEST_POSTGRES_URL`
//! (started by scripts/services.sh), created with a fresh name and dropped when the test ends,
//! passed or failed.
#![allow(dead_code)]

use std::time::Duration;

pub struct TestDatabase {
    /// The URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates `<prefix>_<uuid>`.
    pub async fn create(prefix: &str) -> TestDatabase {
        use sqlx::Connection;
        let admin_url = std::env::var("GPUFLEET_TEST_POSTGRES_URL").expect(
            "GPUFLEET_TEST_POSTGRES_URL is not set: run `bash scripts/services.sh up` and source its env file (scripts/test.sh does both)",
        );
        sqlx::any::install_default_drivers();
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::AnyConnection::connect(&admin_url)
            .await
            .expect("connect to GPUFLEET_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("GPUFLEET_TEST_POSTGRES_URL ends with a database name");
        TestDatabase {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // A runtime of its own: this also runs while a failed test unwinds. PostgreSQL refuses
        // the drop while another session (an autovacuum worker) is connected, even WITH
        // (FORCE): try a few times.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    use sqlx::Connection;
                    for _ in 0..20 {
                        if let Ok(mut c) = sqlx::AnyConnection::connect(&admin_url).await {
                            let q = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            if sqlx::query(&q).execute(&mut c).await.is_ok() {
                                return;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    eprintln!("could not drop the test database {name}");
                });
        })
        .join();
    }
}
