//! Provisioning end to end against the real Tinkerbell v0.12.2 control plane of
//! `scripts/tinkerbell.sh` (kube-apiserver, tink-controller, tink-server): simulated nodes
//! (`gpufleet-sim`) PXE-boot through gpufleet's own out-of-band jobs and play tink-worker over
//! tink-server's gRPC API. 20 nodes are provisioned at once to `in_service`; one node whose
//! driver action fails ends `provisioning_failed` naming that action; gpufleet is stopped while
//! the workflows run and a new instance over the same database resumes them.
//!
//! Ignored by a plain `cargo test` (listed as ignored, with the reason); `scripts/test.sh` starts
//! the control plane and runs them with `--include-ignored`. They need `GPUFLEET_TEST_KUBECONFIG`
//! and `GPUFLEET_TINK_GRPC` (`eval "$(scripts/tinkerbell.sh test-env)"`) and the simulator's
//! Python environment (`scripts/python-env.sh`); run without them, they fail naming what is
//! missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleet_db::{Actor, NewUser, SecretBox, Store, StoreOptions};
use fleet_model::rbac::Role;
use fleet_server::config::{Config, TinkerbellConfig};
use fleet_server::state::AppState;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "password-123";
const GOOD: usize = 20;

struct Env {
    kubeconfig: String,
    grpc: String,
    venv: PathBuf,
}

fn required_env(test: &str) -> Env {
    let kubeconfig = std::env::var("GPUFLEET_TEST_KUBECONFIG").unwrap_or_default();
    let grpc = std::env::var("GPUFLEET_TINK_GRPC").unwrap_or_default();
    assert!(
        !kubeconfig.is_empty() && !grpc.is_empty(),
        "{test}: GPUFLEET_TEST_KUBECONFIG and GPUFLEET_TINK_GRPC are not set: start the Tinkerbell \
         control plane with scripts/tinkerbell.sh up and eval \"$(scripts/tinkerbell.sh test-env)\" \
         (scripts/test.sh does both)"
    );
    let venv = std::env::var_os("GPUFLEET_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/gpufleet/venv")
        });
    assert!(
        venv.join("bin/gpufleet-sim").exists(),
        "{test}: the simulator's Python environment is missing at {} (run scripts/python-env.sh)",
        venv.display()
    );
    Env {
        kubeconfig,
        grpc,
        venv,
    }
}

// ------------------------------------------------------------------------------------------
// The simulated fleet, with the Tinkerbell worker face on.

struct Fleet {
    child: Child,
    nodes: Vec<(String, String)>, // (sim id, redfish URL)
    https: Vec<String>,           // Redfish over HTTPS, per node
    dir: tempfile::TempDir,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_fleet(env: &Env, seed: u64, action_s: f64, good: usize) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("topology.yaml");
    std::fs::write(
        &topo,
        format!(
            "seed: {seed}\n\
             addressing: {{mode: port, host: 127.0.0.1, redfish_http_port: 0, redfish_https_port: 0, \
             telemetry_port: 0, ipmi_port: 0, gnmi_port: 0}}\n\
             defaults: {{power_delay_s: 1.0}}\n\
             options:\n  tinkerbell:\n    server: \"{grpc}\"\n    default_duration_s: {action_s}\n    \
             poll_interval_s: 0.5\n    failures:\n      - {{action: install-nvidia-driver, node: \"bad-*\", \
             message: \"exit status 100: nvidia-driver-550-server has unmet dependencies\"}}\n\
             racks:\n  - id: rack-a\n    pdus: [{{id: pdu-a, outlets: {outlets}}}]\n    \
             switches: [{{id: leaf-a, ports: {ports}}}]\n    nodes:\n      \
             - {{count: {good}, model: hgx-h100-8gpu, prefix: ok}}\n      \
             - {{count: 1, model: hgx-h100-8gpu, prefix: bad}}\n",
            grpc = env.grpc,
            outlets = good + 5,
            ports = (good + 1) * 12 + 4,
        ),
    )
    .unwrap();
    // The simulator binds its control API on a port of its own choosing and prints it.
    let log = std::fs::File::create(dir.path().join("sim.log")).unwrap();
    let child = Command::new(env.venv.join("bin/gpufleet-sim"))
        .args(["up", "--topology"])
        .arg(&topo)
        .args(["--control", "127.0.0.1:0", "--quiet"])
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start gpufleet-sim");
    let mut fleet = Fleet {
        child,
        nodes: vec![],
        https: vec![],
        dir,
    };
    let http = reqwest::Client::new();
    let start = Instant::now();
    let mut control = String::new();
    let v: Value = loop {
        let log = std::fs::read_to_string(fleet.dir.path().join("sim.log")).unwrap_or_default();
        if let Some(status) = fleet.child.try_wait().unwrap() {
            panic!("gpufleet-sim exited with {status}:\n{log}");
        }
        if control.is_empty() {
            if let Some((_, rest)) = log.split_once("control API on ") {
                control = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string();
            }
        }
        if !control.is_empty() {
            if let Ok(r) = http.get(format!("{control}/fleet")).send().await {
                if let Ok(v) = r.json().await {
                    break v;
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "gpufleet-sim did not come up within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for n in v["nodes"].as_array().unwrap() {
        fleet
            .https
            .push(n["redfish_https"].as_str().unwrap_or_default().to_string());
        fleet.nodes.push((
            n["id"].as_str().unwrap().to_string(),
            n["redfish"].as_str().unwrap().to_string(),
        ));
    }
    fleet
}

/// The MAC of a simulated node's first NIC (the one it PXE-boots from), over Redfish.
async fn first_mac(redfish: &str) -> String {
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            http.get(format!("{redfish}{path}"))
                .basic_auth("admin", Some("password"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let nics = get("/redfish/v1/Systems/1/EthernetInterfaces".into()).await;
    let first = nics["Members"][0]["@odata.id"]
        .as_str()
        .unwrap()
        .to_string();
    get(first).await["MACAddress"].as_str().unwrap().to_string()
}

// ------------------------------------------------------------------------------------------
// gpufleet, stoppable and restartable over the same database.

struct Server {
    base: String,
    token: String,
    store: Store,
    shutdown: CancellationToken,
    http: reqwest::Client,
}

async fn start_server(dir: &Path, key: &str, env: &Env, poll_ms: u64, power_via: &str) -> Server {
    let cfg = Config {
        data_dir: dir.to_path_buf(),
        tinkerbell: TinkerbellConfig {
            kubeconfig: env.kubeconfig.clone(),
            namespace: "default".into(),
            tink_server: env.grpc.clone(),
            power_via: power_via.into(),
            poll_interval_ms: poll_ms,
            ..Default::default()
        },
        ..Default::default()
    };
    let store = Store::connect(&StoreOptions::new(cfg.database_url()))
        .await
        .unwrap()
        .with_secrets(SecretBox::from_base64(key, 1).unwrap());
    if store.count_users().await.unwrap() == 0 {
        store
            .create_user(
                &Actor::system("test"),
                NewUser {
                    username: "admin".into(),
                    password_hash: fleet_server::auth::hash_password(PASSWORD).unwrap(),
                    role: Role::Admin,
                },
            )
            .await
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let st = AppState::new(store.clone(), cfg);
    let shutdown = CancellationToken::new();
    fleet_server::provision::start(&st, shutdown.clone())
        .await
        .unwrap();
    tokio::spawn(fleet_server::relay::run(st.clone(), shutdown.clone()));
    tokio::spawn(fleet_server::app::serve(st, listener, shutdown.clone()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let r: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Server {
        base,
        token: r["token"].as_str().unwrap().to_string(),
        store,
        shutdown,
        http,
    }
}

impl Server {
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

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.store.close().await;
    }
}

fn run_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..6].to_string()
}

/// A ready node with a NIC (PXE), a BMC (Redfish of the simulator) and the profile.
async fn add_node(
    s: &Server,
    name: &str,
    mac: &str,
    redfish: &str,
    tag: &str,
    config: Value,
) -> String {
    add_node_with(s, name, mac, json!({"address": redfish}), tag, config).await
}

async fn add_node_with(
    s: &Server,
    name: &str,
    mac: &str,
    bmc: Value,
    tag: &str,
    config: Value,
) -> String {
    let (st, n) = s
        .call(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "node", "name": name, "labels": {"e2e": tag}, "config": config}),
        )
        .await;
    assert_eq!(st, 201, "{n}");
    let id = n["id"].as_str().unwrap().to_string();
    let (st, v) = s
        .call(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "nic", "name": format!("{name}-nic0"), "parent_id": id,
                   "config": {"mac": mac, "pxe": true}}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = s
        .call(
            Method::POST,
            "/api/v1/assets",
            json!({"kind": "bmc", "name": format!("{name}-bmc"), "parent_id": id,
                   "config": bmc_config(bmc)}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/api/v1/nodes/{id}/profile"),
            json!({"profile": format!("hgx-{tag}")}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    for to in ["inspecting", "ready"] {
        let (st, v) = s
            .call(
                Method::POST,
                &format!("/api/v1/nodes/{id}/transition"),
                json!({"to": to}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    id
}

fn bmc_config(extra: Value) -> Value {
    let mut c = json!({"protocol": "redfish", "username": "admin", "password": "password", "timeout_s": 10});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn create_profile_and_plan(s: &Server, tag: &str) {
    let (st, v) = s
        .call(
            Method::POST,
            "/api/v1/profiles",
            json!({"name": format!("hgx-{tag}"), "spec": {"gpu_count": 8, "gpu_model": "H100",
                   "driver": "550.54.15", "cuda": "12.4"}}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let plan = json!({"os": {"method": "image2disk", "url": "http://images.local/ubuntu-22.04.raw.gz",
                              "compressed": true, "distro": "ubuntu", "version": "22.04"},
                      "raid": {"controller": "1", "name": "os", "raid_type": "RAID1", "drives": ["Disk0", "Disk1"]},
                      "partitions": [{"device": "/dev/nvme1n1", "filesystem": "xfs", "mount": "/scratch"}]});
    let (st, v) = s
        .call(
            Method::POST,
            "/api/v1/install-plans",
            json!({"name": format!("ubuntu-cuda-{tag}"), "profile": format!("hgx-{tag}"), "spec": plan}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["version"], 1);
}

fn network() -> Value {
    json!({
        "ethernets": [{"name": "eno1"}, {"name": "eno2"}],
        "bonds": [{"name": "bond0", "interfaces": ["eno1", "eno2"], "addresses": ["10.10.0.5/24"],
                   "gateway": "10.10.0.1", "nameservers": ["10.10.0.2"]}],
        "vlans": [{"name": "bond0.100", "id": 100, "link": "bond0", "addresses": ["10.100.0.5/24"]}]
    })
}

/// Deletes what a run created in the control plane (its objects are named `e2e-<tag>-…`) when
/// the test ends, passed or failed, so that runs do not pile up objects for tink-controller and
/// Rufio to reconcile.
struct Cleanup {
    kubeconfig: String,
    tag: String,
}

impl Cleanup {
    fn new(env: &Env, tag: &str) -> Cleanup {
        Cleanup {
            kubeconfig: env.kubeconfig.clone(),
            tag: tag.to_string(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (kubeconfig, tag) = (self.kubeconfig.clone(), self.tag.clone());
        // A runtime of its own: this also runs while a failed test unwinds.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(cleanup(&kubeconfig, &tag));
        })
        .join();
    }
}

async fn cleanup(kubeconfig: &str, tag: &str) {
    use fleet_tinkerbell::{Hardware, Job, Machine, Template, Workflow};
    let Ok(client) =
        fleet_tinkerbell::TinkerbellClient::from_kubeconfig(Path::new(kubeconfig), "default").await
    else {
        return;
    };
    let k = client.kube().clone();
    let prefix = format!("e2e-{tag}-");
    delete_prefixed::<Workflow>(&k, &prefix).await;
    delete_prefixed::<Template>(&k, &prefix).await;
    delete_prefixed::<Hardware>(&k, &prefix).await;
    delete_prefixed::<Job>(&k, &prefix).await;
    delete_prefixed::<Machine>(&k, &prefix).await;
    delete_prefixed::<k8s_openapi::api::core::v1::Secret>(&k, &prefix).await;
}

async fn delete_prefixed<K>(client: &kube::Client, prefix: &str)
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let api: kube::Api<K> = kube::Api::namespaced(client.clone(), "default");
    let Ok(list) = api.list(&Default::default()).await else {
        return;
    };
    for o in list.items {
        if let Some(n) = o.meta().name.clone().filter(|n| n.starts_with(prefix)) {
            let _ = api.delete(&n, &Default::default()).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the Tinkerbell control plane (scripts/tinkerbell.sh up); scripts/test.sh runs it"]
async fn twenty_nodes_provisioned_concurrently_one_driver_failure_and_a_restart() {
    let env = required_env("provision_e2e");
    let tag = run_tag();
    let _cleanup = Cleanup::new(&env, &tag);
    // Fresh MACs (from the seed) and object names on every run: the control plane keeps its
    // objects between runs.
    let seed = u64::from_str_radix(&tag, 16).unwrap();
    let fleet = start_fleet(&env, seed, 0.5, GOOD).await;
    let dir = tempfile::tempdir().unwrap();
    let key = SecretBox::generate_key();
    let s = start_server(dir.path(), &key, &env, 250, "gpufleet").await;

    create_profile_and_plan(&s, &tag).await;
    // A plan that cannot be rendered is refused before it is stored.
    let (st, bad) = s
        .call(
            Method::POST,
            "/api/v1/install-plans",
            json!({"name": format!("ubuntu-cuda-{tag}"), "spec": {"os": {"method": "dd", "url": "x"}}}),
        )
        .await;
    assert_eq!(st, 422, "{bad}");
    assert!(
        bad["detail"].as_str().unwrap().contains("os.method"),
        "{bad}"
    );

    let mut ids = vec![]; // (CMDB id, sim id)
    for (i, (sim_id, redfish)) in fleet.nodes.iter().enumerate() {
        let mac = first_mac(redfish).await;
        let name = format!("e2e-{tag}-{sim_id}");
        let config = if i == 0 {
            json!({"network": network()})
        } else {
            json!({})
        };
        ids.push((
            add_node(&s, &name, &mac, redfish, &tag, config).await,
            sim_id.clone(),
        ));
    }

    // Errors are reported before anything is created: a node whose network description is
    // wrong gets 422, stays ready, and has no attempt.
    let bad_net = add_node(
        &s,
        &format!("e2e-{tag}-badnet"),
        "02:00:00:00:00:01",
        &fleet.nodes[0].1,
        &tag,
        json!({"network": {"bonds": [{"name": "bond0", "interfaces": ["eno9"]}]}}),
    )
    .await;
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{bad_net}/provision"),
            json!({}),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("eno9"), "{v}");
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/nodes/{bad_net}/provision"),
            Value::Null,
        )
        .await;
    assert_eq!(st, 404);
    let (_, n) = s
        .call(
            Method::GET,
            &format!("/api/v1/nodes/{bad_net}"),
            Value::Null,
        )
        .await;
    assert_eq!(n["status"]["state"], "ready");
    // Take it out of the selection below.
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{bad_net}/transition"),
            json!({"to": "maintenance"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");

    // Bulk: every ready node of this run, all at once.
    let t0 = Instant::now();
    let (st, bulk) = s
        .call(
            Method::POST,
            "/api/v1/provision/bulk",
            json!({"labels": {"e2e": tag}, "state": "ready", "concurrency": GOOD + 1}),
        )
        .await;
    assert_eq!(st, 202, "{bulk}");
    assert_eq!(
        bulk["started"].as_array().unwrap().len(),
        GOOD + 1,
        "{bulk}"
    );
    assert!(bulk["refused"].as_array().unwrap().is_empty(), "{bulk}");
    // A second request for a node being provisioned is a conflict.
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{}/provision", ids[0].0),
            json!({}),
        )
        .await;
    assert_eq!(st, 409, "{v}");

    // Wait until every node was PXE-booted and the workflows are running, then stop gpufleet.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mut booted = 0;
        for (id, _) in &ids {
            let (_, v) = s
                .call(
                    Method::GET,
                    &format!("/api/v1/nodes/{id}/provision"),
                    Value::Null,
                )
                .await;
            if matches!(v["stage"].as_str(), Some("booted" | "succeeded" | "failed")) {
                booted += 1;
            }
        }
        if booted == ids.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {booted}/{} nodes booted within 180 s; simulator log:\n{}",
            ids.len(),
            std::fs::read_to_string(fleet.dir.path().join("sim.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let finished_before: usize = {
        let mut n = 0;
        for (id, _) in &ids {
            let p = s.store.latest_provisioning(id).await.unwrap().unwrap();
            if fleet_db::provisioning_stage_is_final(&p.stage) {
                n += 1;
            }
        }
        n
    };
    assert!(
        finished_before < ids.len(),
        "every attempt ended before gpufleet was stopped: nothing to resume"
    );
    s.stop().await;
    let stopped_at = Instant::now();
    // The workflows go on without gpufleet for a while.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = start_server(dir.path(), &key, &env, 250, "gpufleet").await;
    let restart_gap = stopped_at.elapsed();

    // Everything ends: 20 in service, the bad node provisioning_failed naming the action.
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut views = vec![];
    for (id, sim_id) in &ids {
        let v = loop {
            let (_, v) = s
                .call(
                    Method::GET,
                    &format!("/api/v1/nodes/{id}/provision"),
                    Value::Null,
                )
                .await;
            if matches!(
                v["stage"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                break v;
            }
            assert!(
                Instant::now() < deadline,
                "node {sim_id} did not finish provisioning: {v}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        views.push((sim_id.clone(), id.clone(), v));
    }
    let wall = t0.elapsed();
    for (sim_id, id, v) in &views {
        let (_, n) = s
            .call(Method::GET, &format!("/api/v1/nodes/{id}"), Value::Null)
            .await;
        let (_, h) = s
            .call(
                Method::GET,
                &format!("/api/v1/nodes/{id}/history"),
                Value::Null,
            )
            .await;
        let hist: Vec<(String, String)> = h["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["from_state"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{h}"))
                        .to_string(),
                    r["to_state"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{h}"))
                        .to_string(),
                )
            })
            .collect();
        let provisioning_entries = hist.iter().filter(|(_, t)| t == "provisioning").count();
        assert_eq!(provisioning_entries, 1, "{sim_id}: {hist:?}");
        let actions = v["workflow_progress"]["actions"]
            .as_array()
            .unwrap_or_else(|| panic!("{sim_id}: no workflow progress: {v}"));
        if sim_id.starts_with("bad") {
            assert_eq!(v["stage"], "failed", "{v}");
            assert_eq!(n["status"]["state"], "provisioning_failed", "{n}");
            let failure = v["failure"].as_str().unwrap();
            assert!(failure.contains("install-nvidia-driver"), "{failure}");
            assert_eq!(
                v["workflow_progress"]["failure"]["action"],
                "install-nvidia-driver"
            );
            assert_eq!(
                hist.last().unwrap(),
                &(
                    "provisioning".to_string(),
                    "provisioning_failed".to_string()
                )
            );
            let done: Vec<&str> = actions
                .iter()
                .filter(|a| a["state"] == "success")
                .map(|a| a["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                done,
                ["stream-image", "create-filesystems", "write-hostname"]
            );
        } else {
            assert_eq!(v["stage"], "succeeded", "{sim_id}: {v}");
            assert_eq!(n["status"]["state"], "in_service", "{sim_id}: {n}");
            assert_eq!(
                hist.last().unwrap(),
                &("provisioning".to_string(), "in_service".to_string())
            );
            assert!(actions.iter().all(|a| a["state"] == "success"), "{v}");
            let names: Vec<&str> = actions
                .iter()
                .map(|a| a["name"].as_str().unwrap())
                .collect();
            assert!(names.contains(&"install-fabric-manager"), "{names:?}");
            assert_eq!(names.last(), Some(&"validate-gpus"));
            if id == &ids[0].0 {
                assert!(names.contains(&"write-netplan"), "{names:?}");
            }
        }
    }
    // The events of the outcome are in the outbox.
    let (_, ev) = s
        .call(
            Method::GET,
            "/api/v1/events?type=io.gpufleet.hardware.provisioned.v1&limit=100",
            Value::Null,
        )
        .await;
    let provisioned = ev["items"].as_array().map(|a| a.len()).unwrap_or_default();
    assert_eq!(provisioned, GOOD, "{ev}");

    // Numbers: gpufleet's own steps per node (render + apply + submit; the PXE/power jobs,
    // which include the simulated BMC's power delay), and the whole run.
    let mut prep = vec![];
    let mut power = vec![];
    let mut total = vec![];
    let mut worker = vec![];
    for (_, id, _) in &views {
        let p = s.store.latest_provisioning(id).await.unwrap().unwrap();
        let t: Value = serde_json::from_str(p.timings.as_deref().unwrap_or("{}")).unwrap();
        // The RAID volume was created through gpufleet's own job before the PXE boot.
        let raid_job = t["raid_job"]
            .as_str()
            .unwrap_or_else(|| panic!("no RAID job: {t}"));
        let j = s.store.get_job(raid_job).await.unwrap();
        assert_eq!(
            (j.kind.as_str(), j.state.as_str()),
            ("raid.create", "succeeded")
        );
        prep.push(t["prepare_ms"].as_f64().unwrap_or(f64::NAN));
        power.push(t["power_ms"].as_f64().unwrap_or(f64::NAN));
        total.push((p.finished_at.unwrap() - p.created_at) as f64);
        let prog: Value = serde_json::from_str(p.progress.as_deref().unwrap()).unwrap();
        worker.push(
            prog["actions"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["seconds"].as_f64())
                .sum::<f64>()
                * 1000.0,
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let max = |v: &[f64]| v.iter().cloned().fold(f64::MIN, f64::max);
    println!(
        "provision_e2e: {} nodes ({} to in_service, 1 provisioning_failed), wall {:.1} s from the bulk request to the last node ending, \
         gpufleet stopped for {:.1} s mid-way ({} attempts had ended before the stop)",
        ids.len(),
        GOOD,
        wall.as_secs_f64(),
        restart_gap.as_secs_f64(),
        finished_before
    );
    println!(
        "provision_e2e: per node: gpufleet render+apply+submit mean {:.0} ms (max {:.0}); PXE+power-cycle jobs mean {:.0} ms (max {:.0}, includes the simulated BMC power delays of 1 s); \
         attempt total mean {:.1} s of which worker-reported action time mean {:.1} s",
        mean(&prep),
        max(&prep),
        mean(&power),
        max(&power),
        mean(&total) / 1000.0,
        mean(&worker) / 1000.0,
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the Tinkerbell control plane (scripts/tinkerbell.sh up); scripts/test.sh runs it"]
async fn rufio_job_pxe_boots_the_node_into_its_workflow() {
    use k8s_openapi::api::core::v1::Secret;
    let env = required_env("provision_e2e (rufio)");
    let tag = run_tag();
    let _cleanup = Cleanup::new(&env, &tag);
    let seed = u64::from_str_radix(&tag, 16).unwrap() ^ 0x5a5a;
    let fleet = start_fleet(&env, seed, 0.2, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let key = SecretBox::generate_key();
    let s = start_server(dir.path(), &key, &env, 250, "rufio").await;
    create_profile_and_plan(&s, &tag).await;
    let (sim_id, redfish) = fleet.nodes[0].clone();
    let name = format!("e2e-{tag}-{sim_id}");
    // Rufio reads the BMC credentials from the Secret its Machine names (<node>-bmc); whoever
    // holds the credentials creates it.
    let client =
        fleet_tinkerbell::TinkerbellClient::from_kubeconfig(Path::new(&env.kubeconfig), "default")
            .await
            .unwrap();
    let secrets: kube::Api<Secret> = kube::Api::namespaced(client.kube().clone(), "default");
    secrets
        .create(
            &kube::api::PostParams::default(),
            &Secret {
                metadata: kube::api::ObjectMeta {
                    name: Some(format!("{name}-bmc")),
                    ..Default::default()
                },
                string_data: Some(
                    [
                        ("username".to_string(), "admin".to_string()),
                        ("password".to_string(), "password".to_string()),
                    ]
                    .into(),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mac = first_mac(&redfish).await;
    let id = add_node_with(
        &s,
        &name,
        &mac,
        json!({"address": redfish, "redfish_address": fleet.https[0], "insecure": true}),
        &tag,
        json!({}),
    )
    .await;
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/api/v1/nodes/{id}/provision"),
            json!({}),
        )
        .await;
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["power_via"], "rufio");
    let deadline = Instant::now() + Duration::from_secs(180);
    let v = loop {
        let (_, v) = s
            .call(
                Method::GET,
                &format!("/api/v1/nodes/{id}/provision"),
                Value::Null,
            )
            .await;
        if matches!(
            v["stage"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "no end within 180 s: {v}\nsimulator log:\n{}",
            std::fs::read_to_string(fleet.dir.path().join("sim.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(v["stage"], "succeeded", "{v}");
    assert_eq!(v["node_state"], "in_service", "{v}");
    let job_name = format!("{}-pxe", v["workflow"].as_str().unwrap());
    let jobs: Vec<String> = serde_json::from_str(v["power_jobs"].as_str().unwrap()).unwrap();
    assert_eq!(jobs, std::slice::from_ref(&job_name));
    let job = client.get_job(&job_name).await.unwrap().unwrap();
    let conds = job.status.unwrap().conditions;
    assert!(
        conds
            .iter()
            .any(|c| c.type_ == "Completed" && c.status == "True"),
        "{conds:?}"
    );
    // gpufleet ran no power or boot job of its own for this node (the RAID volume is its job).
    let (_, jobs) = s
        .call(
            Method::GET,
            &format!("/api/v1/jobs?target={id}"),
            Value::Null,
        )
        .await;
    let kinds: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds
            .iter()
            .all(|k| !k.starts_with("power.") && !k.starts_with("boot.")),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"raid.create"), "{kinds:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the Tinkerbell control plane (scripts/tinkerbell.sh up); scripts/test.sh runs it"]
async fn cancel_deletes_the_workflow_and_reprovision_starts_a_new_attempt() {
    let env = required_env("provision_e2e (cancel)");
    let tag = run_tag();
    let _cleanup = Cleanup::new(&env, &tag);
    let seed = u64::from_str_radix(&tag, 16).unwrap() ^ 0xc0c0;
    // Long actions: the attempt is still running when it is cancelled.
    let fleet = start_fleet(&env, seed, 20.0, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let key = SecretBox::generate_key();
    let s = start_server(dir.path(), &key, &env, 250, "gpufleet").await;
    create_profile_and_plan(&s, &tag).await;
    let (sim_id, redfish) = fleet.nodes[0].clone();
    let mac = first_mac(&redfish).await;
    let id = add_node(
        &s,
        &format!("e2e-{tag}-{sim_id}"),
        &mac,
        &redfish,
        &tag,
        json!({}),
    )
    .await;
    let client =
        fleet_tinkerbell::TinkerbellClient::from_kubeconfig(Path::new(&env.kubeconfig), "default")
            .await
            .unwrap();
    for attempt in 1..=2 {
        let (st, v) = s
            .call(
                Method::POST,
                &format!("/api/v1/nodes/{id}/provision"),
                json!({"reason": format!("attempt {attempt}")}),
            )
            .await;
        assert_eq!(st, 202, "{v}");
        assert_eq!(v["attempt"], attempt, "{v}");
        let wf = v["workflow"].as_str().unwrap().to_string();
        assert!(wf.ends_with(&format!("-{attempt}")), "{wf}");
        // Wait until the worker runs an action.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (_, v) = s
                .call(
                    Method::GET,
                    &format!("/api/v1/nodes/{id}/provision"),
                    Value::Null,
                )
                .await;
            if v["workflow_progress"]["phase"] == "running" {
                break;
            }
            assert!(Instant::now() < deadline, "never running: {v}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(client.get_workflow(&wf).await.unwrap().is_some());
        let (st, v) = s
            .call(
                Method::POST,
                &format!("/api/v1/nodes/{id}/provision/cancel"),
                json!({"reason": "wrong image"}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["stage"], "cancelled", "{v}");
        assert_eq!(v["node_state"], "provisioning_failed", "{v}");
        assert!(
            v["failure"].as_str().unwrap().contains("wrong image"),
            "{v}"
        );
        assert!(client.get_workflow(&wf).await.unwrap().is_none());
    }
    let (_, h) = s
        .call(
            Method::GET,
            &format!("/api/v1/nodes/{id}/history"),
            Value::Null,
        )
        .await;
    let to: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(
        to,
        [
            "inspecting",
            "ready",
            "provisioning",
            "provisioning_failed",
            "provisioning",
            "provisioning_failed"
        ]
    );
    s.stop().await;
}
