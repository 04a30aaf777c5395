//! A nats-server of the test's own (JetStream, store and log in a temporary directory) that the
//! test can kill and start again, and a guard that deletes a test's streams on the shared
//! server however the test ends. The binary comes from `GPUFLEET_TEST_NATS_SERVER` (exported
//! by scripts/services.sh).
//!
//! Clients connect to a port that this test process binds once and keeps for the whole test: a
//! small TCP relay in front of the server. Each nats-server start binds a port of its own
//! choosing (`-p -1`) and is ready once its log says so; the relay forwards new connections to
//! it and cuts the relayed ones when it is killed, as the server's own going away would. So a
//! restart never depends on a port that was released and might have been taken meanwhile.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::AbortHandle;

pub struct NatsServer {
    bin: String,
    dir: tempfile::TempDir,
    port: u16,
    upstream: Arc<Mutex<Option<u16>>>,
    relayed: Arc<Mutex<Vec<AbortHandle>>>,
    relay: tokio::task::JoinHandle<()>,
    child: Option<tokio::process::Child>,
    starts: u32,
}

impl NatsServer {
    pub async fn start(bin: &str) -> NatsServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream: Arc<Mutex<Option<u16>>> = Arc::default();
        let relayed: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let relay = tokio::spawn(relay(listener, upstream.clone(), relayed.clone()));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("jetstream")).unwrap();
        let mut s = NatsServer {
            bin: bin.to_string(),
            dir,
            port,
            upstream,
            relayed,
            relay,
            child: None,
            starts: 0,
        };
        s.spawn().await;
        s
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts nats-server (again) on the same store; returns once its log says it is ready.
    pub async fn spawn(&mut self) {
        assert!(self.child.is_none(), "nats-server is already running");
        self.starts += 1;
        let log = self.dir.path().join(format!("server-{}.log", self.starts));
        let child = tokio::process::Command::new(&self.bin)
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(self.dir.path().join("jetstream"))
            .arg("-l")
            .arg(&log)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let port = self.wait_ready(&log).await;
        *self.upstream.lock().unwrap() = Some(port);
    }

    /// The client port from the log of this start, once the server says it is ready.
    async fn wait_ready(&mut self, log: &Path) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.contains("Server is ready") {
                let port = text
                    .lines()
                    .find_map(|l| l.split_once("Listening for client connections on "))
                    .and_then(|(_, addr)| addr.trim().rsplit(':').next()?.parse().ok());
                if let Some(p) = port {
                    return p;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("nats-server exited with {status}:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "nats-server was not ready within 30 s:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL; the relayed connections are cut, new ones are refused until `spawn`.
    pub async fn kill(&mut self) {
        *self.upstream.lock().unwrap() = None;
        if let Some(mut c) = self.child.take() {
            c.kill().await.unwrap();
        }
        for h in self.relayed.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.relay.abort();
        for h in self.relayed.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

async fn relay(
    listener: tokio::net::TcpListener,
    upstream: Arc<Mutex<Option<u16>>>,
    relayed: Arc<Mutex<Vec<AbortHandle>>>,
) {
    while let Ok((mut client, _)) = listener.accept().await {
        let Some(port) = *upstream.lock().unwrap() else {
            // The server is down: the connection closes at once.
            continue;
        };
        let task = tokio::spawn(async move {
            if let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
        let mut r = relayed.lock().unwrap();
        r.retain(|h| !h.is_finished());
        r.push(task.abort_handle());
    }
}

/// The nats-server binary to run.
pub fn binary() -> String {
    std::env::var("GPUFLEET_TEST_NATS_SERVER").expect(
        "GPUFLEET_TEST_NATS_SERVER is not set: run the tests through scripts/test.sh (scripts/services.sh exports it)",
    )
}

/// Deletes the streams of `topology` on the server at `url` when dropped, whether the test
/// passed or failed (a test's streams on the shared server would otherwise stay there).
pub struct Streams {
    url: String,
    topology: fleet_bus::Topology,
}

impl Streams {
    pub fn new(url: &str, topology: &fleet_bus::Topology) -> Streams {
        Streams {
            url: url.to_string(),
            topology: topology.clone(),
        }
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        let (url, topology) = (self.url.clone(), self.topology.clone());
        // A runtime of its own: this also runs while a failed test unwinds.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    if let Ok(bus) =
                        fleet_bus::JetStreamBus::connect(&url, topology, Duration::from_secs(10))
                            .await
                    {
                        let _ = bus.delete_streams().await;
                    }
                });
        })
        .join();
    }
}
