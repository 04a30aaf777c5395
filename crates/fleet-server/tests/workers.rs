//! Two real `gpufleet serve` processes on one PostgreSQL share the out-of-band jobs through
//! database leases: a bulk power job is executed exactly once per node (counted at the
//! simulated BMCs' event logs, not only in gpufleet's rows), and killing one process
//! mid-job leaves its jobs to the other once their leases expire: repeatable operations run
//! again there, a power cycle fails as interrupted.

#[path = "support/pg.rs"]
mod pg;
#[path = "../../fleet-bmc/tests/common/mod.rs"]
mod sim;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use fleet_bmc::OutOfBand;
use serde_json::{json, Value};

const BMC_SECRET: &str = "bmc-secret-workers-81c4";
const ADMIN_PW: &str = "workers-test-pw-3d9a";
/// One key for both processes: they read each other's sealed BMC passwords.
const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct Gpufleet {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Gpufleet {
    fn start(db: &str) -> Gpufleet {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gpufleet"))
            .args(["serve", "--data-dir"])
            .arg(dir.path())
            .env_remove("GPUFLEET_CONFIG")
            .env("GPUFLEET_LISTEN", "127.0.0.1:0")
            .env("GPUFLEET_GRPC_LISTEN", "127.0.0.1:0")
            .env("GPUFLEET_DATABASE_URL", db)
            .env("GPUFLEET_SECRET_KEY", SECRET_KEY)
            .env("GPUFLEET_ADMIN_PASSWORD", ADMIN_PW)
            .env("GPUFLEET_ENRICHER__ENABLED", "false")
            // Short leases so that the test sees a take-over within seconds; two jobs at a
            // time per process so that both take part in one batch.
            .env("GPUFLEET_OPERATIONS__LEASE_SECS", "2")
            .env("GPUFLEET_OPERATIONS__WORKER_CONCURRENCY", "2")
            .env("TMPDIR", dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start gpufleet");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in lines.by_ref().map_while(Result::ok) {
                if let Some((_, rest)) = l.split_once("listening on ") {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("gpufleet did not announce that it listens within 60 s");
        Gpufleet {
            child,
            url,
            _dir: dir,
        }
    }

    /// SIGKILL: nothing is cleaned up, leases are simply no longer renewed.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gpufleet {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Api {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn login(url: &str) -> Api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let r: Value = http
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PW}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            http,
            url: url.to_string(),
            token: r["token"].as_str().expect("token").to_string(),
        }
    }

    async fn call(&self, m: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let mut r = self
            .http
            .request(m, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if !body.is_null() {
            r = r.json(&body);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn jobs(&self, query: &str) -> Vec<Value> {
        let (s, v) = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/jobs?{query}"),
                Value::Null,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v.as_array().cloned().unwrap_or_default()
    }

    /// Waits until every job of `query` has ended.
    async fn settle(&self, query: &str, n: usize, within: Duration) -> Vec<Value> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let jobs = self.jobs(query).await;
            let ended = jobs
                .iter()
                .filter(|j| {
                    matches!(
                        j["state"].as_str(),
                        Some("succeeded" | "failed" | "timed_out" | "cancelled")
                    )
                })
                .count();
            if jobs.len() == n && ended == n {
                return jobs;
            }
            assert!(
                start.elapsed() < within,
                "jobs of {query} did not end within {within:?}: {jobs:#?}"
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// "System power off" entries in each simulated node's event log, read over Redfish.
async fn power_offs(fleet: &sim::Sim) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for n in &fleet.nodes {
        let c = fleet_bmc::redfish::RedfishClient::new(fleet_bmc::Endpoint::new(
            n.redfish.clone(),
            "admin",
            BMC_SECRET,
        ))
        .unwrap();
        let sel = c.sel().await.unwrap();
        out.insert(
            n.id.clone(),
            sel.iter()
                .filter(|e| e.message == "System power off")
                .count(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_jobs_through_leases_and_take_over_a_killed_ones_work() {
    let db = pg::TestDatabase::create("gpufleet_workers").await;
    // Power changes take 2 s at the simulated BMCs: a cycle is about 4 s, long enough to kill
    // a process in the middle of one.
    let fleet = sim::Sim::start_with_password(8, 2.0, BMC_SECRET);
    let mut procs = [Gpufleet::start(&db.url), Gpufleet::start(&db.url)];
    let apis = [
        Api::login(&procs[0].url).await,
        Api::login(&procs[1].url).await,
    ];
    let (api_a, api_b) = (&apis[0], &apis[1]);

    let mut nodes = vec![];
    for (i, n) in fleet.nodes.iter().enumerate() {
        let (s, node) = api_a
            .call(
                reqwest::Method::POST,
                "/api/v1/assets",
                json!({"kind": "node", "name": format!("w-{i}")}),
            )
            .await;
        assert_eq!(s, 201, "{node}");
        let id = node["id"].as_str().unwrap().to_string();
        let (s, bmc) = api_a
            .call(
                reqwest::Method::POST,
                "/api/v1/assets",
                json!({"kind": "bmc", "name": format!("w-{i}-bmc"), "parent_id": id, "config": {
                    "address": n.redfish, "protocol": "redfish", "username": "admin",
                    "password": BMC_SECRET, "timeout_s": 10}}),
            )
            .await;
        assert_eq!(s, 201, "{bmc}");
        nodes.push(id);
    }
    let offs_before = power_offs(&fleet).await;

    // 1. A bulk power cycle of 8 nodes, submitted to A, 8 at once: each process runs two at
    //    a time, so both take part, and each node is cycled exactly once.
    let (s, bulk) = api_a
        .call(
            reqwest::Method::POST,
            "/api/v1/ops/bulk",
            json!({"group": "power", "params": {"action": "cycle"}, "ids": nodes, "concurrency": 8}),
        )
        .await;
    assert_eq!(s, 202, "{bulk}");
    let batch = bulk["batch_id"].as_str().unwrap().to_string();
    let jobs = api_b
        .settle(&format!("batch_id={batch}"), 8, Duration::from_secs(120))
        .await;
    let mut workers = BTreeSet::new();
    for j in &jobs {
        assert_eq!(j["state"], "succeeded", "{j}");
        assert_eq!(j["attempts"], 1, "claimed and run once: {j}");
        workers.insert(j["lease_owner"].as_str().unwrap().to_string());
    }
    assert_eq!(
        workers.len(),
        2,
        "both processes ran jobs of the batch: {workers:?}"
    );
    let offs = power_offs(&fleet).await;
    for (node, n) in &offs {
        assert_eq!(
            n - offs_before[node],
            1,
            "node {node} was powered off {} times by one cycle job",
            n - offs_before[node]
        );
    }

    // 2. A process is killed mid-job. A power cycle (not safe to repeat) and a bulk
    //    power-off (safe) are submitted; whichever process runs the cycle dies once it also
    //    runs one of the power-offs (two jobs: its limit).
    let (s, cycle) = api_a
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/nodes/{}/power", nodes[0]),
            json!({"action": "cycle"}),
        )
        .await;
    assert_eq!(s, 202, "{cycle}");
    let cycle_id = cycle["id"].as_str().unwrap().to_string();
    let (s, bulk) = api_a
        .call(
            reqwest::Method::POST,
            "/api/v1/ops/bulk",
            json!({"group": "power", "params": {"action": "off"}, "ids": nodes[1..], "concurrency": 7}),
        )
        .await;
    assert_eq!(s, 202, "{bulk}");
    let off_batch = bulk["batch_id"].as_str().unwrap().to_string();
    let victim = {
        let start = Instant::now();
        loop {
            let c = api_b
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/jobs/{cycle_id}"),
                    Value::Null,
                )
                .await
                .1;
            let owner = c["lease_owner"].as_str().unwrap_or_default().to_string();
            let running_there = api_b
                .jobs("state=running")
                .await
                .into_iter()
                .filter(|j| j["lease_owner"].as_str() == Some(owner.as_str()))
                .count();
            if c["state"] == "running" && running_there == 2 {
                break owner;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "nobody ran the cycle: {c}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert!(workers.contains(&victim), "{victim} is one of {workers:?}");
    // Worker ids are <host>:<pid>:<random>.
    let pid: u32 = victim.split(':').nth(1).unwrap().parse().unwrap();
    let dead = procs
        .iter()
        .position(|p| p.child.id() == pid)
        .expect("the victim's process");
    let survivor = &apis[1 - dead];
    let held_by_victim: Vec<String> = survivor
        .jobs(&format!("batch_id={off_batch}&state=running"))
        .await
        .into_iter()
        .filter(|j| j["lease_owner"] == victim.as_str())
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        held_by_victim.len(),
        1,
        "the victim ran one power-off besides the cycle"
    );
    procs[dead].kill();

    let jobs = survivor
        .settle(
            &format!("batch_id={off_batch}"),
            7,
            Duration::from_secs(120),
        )
        .await;
    for j in &jobs {
        assert_eq!(j["state"], "succeeded", "{j}");
        assert_ne!(
            j["lease_owner"],
            victim.as_str(),
            "the survivor finished it: {j}"
        );
        let id = j["id"].as_str().unwrap();
        let expected = if held_by_victim.iter().any(|h| h == id) {
            2
        } else {
            1
        };
        assert_eq!(j["attempts"], expected, "{j}");
    }
    let (_, taken) = survivor
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/jobs/{}", held_by_victim[0]),
            Value::Null,
        )
        .await;
    let log: Vec<&str> = taken["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["line"].as_str())
        .collect();
    assert!(
        log.iter()
            .any(|l| l.contains(&victim) && l.contains("queued again")),
        "{log:?}"
    );
    let cycle = survivor
        .settle("kind=power.cycle&state=failed", 1, Duration::from_secs(30))
        .await;
    assert_eq!(cycle[0]["id"], cycle_id.as_str());
    let err = cycle[0]["error"].as_str().unwrap();
    assert!(
        err.starts_with("interrupted") && err.contains(&victim),
        "{err}"
    );
    assert_eq!(
        cycle[0]["attempts"], 1,
        "a cycle is never repeated by itself"
    );

    // Every node but the first is off, through the survivor.
    for n in &fleet.nodes[1..] {
        let c = fleet_bmc::redfish::RedfishClient::new(fleet_bmc::Endpoint::new(
            n.redfish.clone(),
            "admin",
            BMC_SECRET,
        ))
        .unwrap();
        assert_eq!(c.power_state().await.unwrap(), fleet_bmc::PowerState::Off);
    }
}
