//! A nats-server of the test's own (JetStream, temporary store, free port) that the test can
//! kill and start again on the same port and store. The binary comes from
//! `GPUFLEET_TEST_NATS_SERVER` (exported by scripts/services.sh).

use std::time::{Duration, Instant};

pub struct NatsServer {
    bin: String,
    port: u16,
    store: tempfile::TempDir,
    child: Option<tokio::process::Child>,
}

impl NatsServer {
    pub async fn start(bin: &str) -> NatsServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = NatsServer {
            bin: bin.to_string(),
            port,
            store: tempfile::tempdir().unwrap(),
            child: None,
        };
        s.spawn().await;
        s
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub async fn spawn(&mut self) {
        let child = tokio::process::Command::new(&self.bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "nats-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.unwrap();
        }
    }
}

/// The nats-server binary to run.
pub fn binary() -> String {
    std::env::var("GPUFLEET_TEST_NATS_SERVER").expect(
        "GPUFLEET_TEST_NATS_SERVER is not set: run the tests through scripts/test.sh (scripts/services.sh exports it)",
    )
}
