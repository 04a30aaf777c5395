//! The provisioning role: a CMDB node and an install plan → Tinkerbell Hardware, Template and
//! Workflow; a one-time PXE boot and power cycle (gpufleet's own operations or a Rufio Job);
//! then the Workflow's status drives the node's lifecycle (provisioning → in_service or
//! provisioning_failed naming the failing action).
//!
//! Every attempt is a row in `provisionings` whose `stage` says how far it got (`created`:
//! nothing sent yet; `submitted`: the objects exist; `booted`: the node was PXE-booted); a
//! restart resumes each live attempt from its stage. Everything sent to the cluster is a
//! server-side apply or a create-once, so repeating a step changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_db::{Actor, InstallPlanRow, Provisioning, ProvisioningUpdate};
use fleet_model::asset::{Asset, AssetKind};
use fleet_model::lifecycle::NodeState;
use fleet_tinkerbell::build::{self, NodeHardware, NodeNic, NodeOs, ProvisioningRequest};
use fleet_tinkerbell::{
    Hardware, NetworkConfig, NodeFacts, PlanSpec, ProgressTracker, Template, TinkerbellClient,
    Workflow, WorkflowProgress,
};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::TinkerbellConfig;
use crate::state::AppState;

/// The provisioning role of this process, once started (see [`start`]).
#[derive(Default)]
pub struct Slot(Mutex<Option<Arc<Provisioner>>>);

impl Slot {
    pub fn get(&self) -> Option<Arc<Provisioner>> {
        self.0.lock().clone()
    }
}

pub struct Provisioner {
    pub client: TinkerbellClient,
    pub cfg: TinkerbellConfig,
    global: Arc<Semaphore>,
    batches: Mutex<HashMap<String, Arc<Semaphore>>>,
    running: Mutex<HashMap<String, CancellationToken>>,
    shutdown: CancellationToken,
}

/// The objects of one attempt, built and checked before anything is sent.
pub struct Prepared {
    pub hardware: Hardware,
    pub template: Template,
    pub workflow: Workflow,
    /// The Rufio Machine of the node's BMC (`power_via = "rufio"`).
    pub machine: Option<fleet_tinkerbell::Machine>,
}

/// The provisioning role as the core's principal.
fn principal() -> fleet_core::Principal {
    fleet_core::Principal::system(fleet_core::SystemRole::Provisioner)
}

fn actor() -> Actor {
    principal().actor()
}

/// The Hardware / Workflow base name of a node: its name, lower-cased.
pub fn object_base(node: &Asset) -> Result<String, String> {
    let base = node.name.to_ascii_lowercase();
    build::check_name(&base).map_err(|e| {
        format!(
            "node name '{}' cannot name a Tinkerbell object: {e}",
            node.name
        )
    })?;
    Ok(base)
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(|x| x.as_str()).filter(|x| !x.is_empty())
}

/// Builds Hardware, Template and Workflow for `node` with `plan`; every error names what to
/// fix and nothing has been sent to the cluster.
pub async fn prepare(
    st: &AppState,
    cfg: &TinkerbellConfig,
    node: &Asset,
    plan: &InstallPlanRow,
    workflow: &str,
) -> Result<Prepared, String> {
    let spec: PlanSpec = serde_json::from_str(&plan.spec).map_err(|e| {
        format!(
            "install plan {} v{} is not a valid plan: {e}",
            plan.name, plan.version
        )
    })?;
    let base = object_base(node)?;
    let children = st
        .store
        .children(&node.id, None)
        .await
        .map_err(|e| e.to_string())?;
    let mut nics: Vec<&Asset> = children
        .iter()
        .filter(|c| c.kind == AssetKind::Nic)
        .collect();
    nics.sort_by(|a, b| a.name.cmp(&b.name));
    let pxe_flagged = nics
        .iter()
        .any(|n| n.config.get("pxe").and_then(|p| p.as_bool()) == Some(true));
    let mut interfaces = vec![];
    for (i, n) in nics.iter().enumerate() {
        let mac = s(&n.config, "mac")
            .map(str::to_string)
            .or_else(|| n.address.clone())
            .ok_or_else(|| format!("NIC {} of node {} has no MAC", n.name, node.name))?;
        let pxe = if pxe_flagged {
            n.config.get("pxe").and_then(|p| p.as_bool()) == Some(true)
        } else {
            i == 0
        };
        interfaces.push(NodeNic {
            mac,
            ip: s(&n.config, "ip").map(str::to_string),
            netmask: s(&n.config, "netmask").map(str::to_string),
            gateway: s(&n.config, "gateway").map(str::to_string),
            name_servers: n
                .config
                .get("name_servers")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default(),
            vlan_id: s(&n.config, "vlan_id").map(str::to_string),
            allow_pxe: pxe,
            allow_workflow: pxe,
        });
    }
    if interfaces.is_empty() {
        return Err(format!(
            "node {} has no NIC in the inventory: Tinkerbell needs the MAC it boots from",
            node.name
        ));
    }
    let mut disks: Vec<String> = children
        .iter()
        .filter(|c| c.kind == AssetKind::Disk)
        .filter_map(|d| s(&d.config, "device").map(str::to_string))
        .collect();
    let target = spec.disk.clone().unwrap_or_else(|| "/dev/nvme0n1".into());
    if !disks.contains(&target) {
        disks.insert(0, target);
    }
    let (mut gpu_count, mut gpu_model, mut driver, mut cuda) = (None, None, None, None);
    if let Some(pid) = &node.profile_id {
        let p = st.store.get_profile(pid).await.map_err(|e| e.to_string())?;
        gpu_count = p.spec.gpu_count;
        gpu_model = p.spec.gpu_model.clone();
        driver = p.spec.driver.clone();
        cuda = p.spec.cuda.clone();
    }
    let network = match node.config.get("network") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<NetworkConfig>(v.clone()).map_err(|e| {
                format!(
                    "node {}: configuration 'network' is not a network description: {e}",
                    node.name
                )
            })?,
        ),
    };
    let hostname = s(&node.config, "hostname").unwrap_or(&base).to_string();
    let facts = NodeFacts {
        hostname: hostname.clone(),
        gpu_count,
        gpu_model,
        driver,
        cuda,
        network,
    };
    let install = spec
        .render(workflow, &cfg.namespace, &facts)
        .map_err(|e| e.to_string())?;
    let template = build::template(&install).map_err(|e| e.to_string())?;
    let hardware = build::hardware(&NodeHardware {
        name: base.clone(),
        namespace: cfg.namespace.clone(),
        node_id: Some(node.id.clone()),
        hostname,
        arch: s(&node.config, "arch").unwrap_or("x86_64").to_string(),
        uefi: node
            .config
            .get("uefi")
            .and_then(|u| u.as_bool())
            .unwrap_or(true),
        interfaces,
        disks,
        bmc_machine: (cfg.power_via == "rufio").then(|| format!("{base}-bmc")),
        manufacturer: s(&node.config, "manufacturer").map(str::to_string),
        os: spec.os.distro.as_ref().map(|d| NodeOs {
            distro: d.clone(),
            slug: format!("{d}_{}", spec.os.version.clone().unwrap_or_default()),
            version: spec.os.version.clone().unwrap_or_default(),
        }),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let workflow = build::workflow(
        &ProvisioningRequest {
            name: workflow.to_string(),
            namespace: cfg.namespace.clone(),
            node_id: Some(node.id.clone()),
            hardware_map: BTreeMap::new(),
            toggle_allow_netboot: false,
            boot_mode: None,
        },
        &hardware,
        &template,
    )
    .map_err(|e| e.to_string())?;
    let machine = if cfg.power_via == "rufio" {
        let bmc = children
            .iter()
            .find(|c| c.kind == AssetKind::Bmc)
            .ok_or_else(|| format!("node {} has no BMC in the inventory for Rufio", node.name))?;
        let address = s(&bmc.config, "redfish_address")
            .or_else(|| s(&bmc.config, "address"))
            .ok_or_else(|| format!("the BMC of node {} has no address", node.name))?;
        // Rufio logs in to this address with the credentials of its Secret: point it only at
        // an endpoint whose stored credential is bound to it (see the secret store), never at
        // an address that was changed without the credential being set again.
        let binding =
            fleet_model::asset::credential_binding(AssetKind::Bmc, &bmc.config).unwrap_or_default();
        match st.store.get_secret_for(&bmc.id, "password", &binding).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(format!(
                    "the BMC of node {} has no stored password; Rufio is only pointed at BMCs whose credentials gpufleet holds for that address",
                    node.name
                ))
            }
            Err(e) => return Err(format!("the BMC of node {}: {e}", node.name)),
        }
        let (host, port) = split_host_port(address);
        Some(
            build::machine(&build::BmcEndpoint {
                name: format!("{base}-bmc"),
                namespace: cfg.namespace.clone(),
                host,
                port,
                secret_name: format!("{base}-bmc"),
                insecure_tls: ["accept_self_signed", "insecure", "insecure_tls"]
                    .iter()
                    .any(|k| bmc.config.get(*k).and_then(|v| v.as_bool()) == Some(true)),
                provider_options: port.map(|p| json!({"redfish": {"port": p}})),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?,
        )
    } else {
        None
    };
    Ok(Prepared {
        hardware,
        template,
        workflow,
        machine,
    })
}

/// `https://10.0.0.5:8443/` → (`10.0.0.5`, Some(8443)).
fn split_host_port(address: &str) -> (String, Option<u16>) {
    let rest = address.split_once("://").map(|x| x.1).unwrap_or(address);
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().ok()),
        _ => (rest.to_string(), None),
    }
}

/// Connects to the cluster named by `[tinkerbell]` and resumes every live attempt. Does
/// nothing while `tinkerbell.kubeconfig` is empty.
pub async fn start(st: &AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let cfg = st.config.tinkerbell.clone();
    if cfg.kubeconfig.is_empty() {
        tracing::info!("provisioning off: tinkerbell.kubeconfig is not set");
        return Ok(());
    }
    let client = if cfg.kubeconfig == "in-cluster" {
        TinkerbellClient::in_cluster(cfg.namespace.clone()).await
    } else {
        TinkerbellClient::from_kubeconfig(
            std::path::Path::new(&cfg.kubeconfig),
            cfg.namespace.clone(),
        )
        .await
    }
    .map_err(|e| anyhow::anyhow!("tinkerbell.kubeconfig: {e}"))?;
    let p = Arc::new(Provisioner {
        client,
        global: Arc::new(Semaphore::new(cfg.concurrency)),
        cfg,
        batches: Mutex::new(HashMap::new()),
        running: Mutex::new(HashMap::new()),
        shutdown,
    });
    *st.provisioner.0.lock() = Some(p.clone());
    let live = st.store.live_provisionings().await?;
    if !live.is_empty() {
        tracing::info!(attempts = live.len(), "resuming provisioning");
    }
    for run in live {
        p.spawn(st.clone(), run);
    }
    Ok(())
}

impl Provisioner {
    /// A concurrency limit shared by the attempts of one bulk request.
    pub fn batch_limit(&self, batch: &str, limit: usize) {
        self.batches
            .lock()
            .entry(batch.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit.max(1))));
    }

    /// Runs an attempt in the background until it ends, is cancelled or the server stops.
    pub fn spawn(self: &Arc<Self>, st: AppState, run: Provisioning) {
        let token = self.shutdown.child_token();
        self.running.lock().insert(run.id.clone(), token.clone());
        let p = self.clone();
        tokio::spawn(async move {
            let id = run.id.clone();
            let node = run.node_id.clone();
            tokio::select! {
                r = p.drive(&st, run) => {
                    if let Err(e) = r {
                        tracing::warn!(provisioning = %id, node = %node, error = %e, "provisioning failed");
                        if let Err(e2) = st.store.finish_provisioning(&actor(), &id, "failed", NodeState::ProvisioningFailed, e, None, None).await {
                            tracing::error!(provisioning = %id, error = %e2, "cannot record the provisioning failure");
                        }
                    }
                }
                _ = token.cancelled() => {}
            }
            p.running.lock().remove(&id);
        });
    }

    /// Stops the background task of an attempt (cancel).
    pub fn stop(&self, id: &str) {
        if let Some(t) = self.running.lock().remove(id) {
            t.cancel();
        }
    }

    async fn drive(&self, st: &AppState, mut run: Provisioning) -> Result<(), String> {
        let batch = run
            .batch_id
            .as_ref()
            .and_then(|b| self.batches.lock().get(b).cloned());
        let _batch_permit = match batch {
            Some(sem) => Some(sem.acquire_owned().await.map_err(|e| e.to_string())?),
            None => None,
        };
        let _permit = self
            .global
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let mut timings: serde_json::Map<String, Value> = run
            .timings
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        let upd =
            |stage: Option<&str>, timings: &serde_json::Map<String, Value>| ProvisioningUpdate {
                stage: stage.map(str::to_string),
                timings: Some(Value::Object(timings.clone())),
                ..Default::default()
            };
        if run.stage == "created" {
            let t0 = Instant::now();
            let node = st
                .store
                .get_asset(&run.node_id)
                .await
                .map_err(|e| e.to_string())?;
            let plan = st
                .store
                .install_plan(&run.plan_id, Some(run.plan_version))
                .await
                .map_err(|e| e.to_string())?;
            let objs = prepare(st, &self.cfg, &node, &plan, &run.workflow).await?;
            self.send(&objs).await?;
            timings.insert("prepare_ms".into(), json!(t0.elapsed().as_millis() as u64));
            run = st
                .store
                .update_provisioning(&run.id, upd(Some("submitted"), &timings))
                .await
                .map_err(|e| e.to_string())?;
        }
        if run.stage == "submitted" && !timings.contains_key("raid_ms") {
            let plan = st
                .store
                .install_plan(&run.plan_id, Some(run.plan_version))
                .await
                .map_err(|e| e.to_string())?;
            let spec: PlanSpec = serde_json::from_str(&plan.spec).map_err(|e| e.to_string())?;
            if let Some(r) = spec.raid.as_ref() {
                let t0 = Instant::now();
                // A volume of that name on those drives is already there (a re-provision):
                // nothing to create.
                let read = self
                    .run_job(st, &run.node_id, "read", json!({"what": "raid"}))
                    .await?;
                let storage: Value = st
                    .store
                    .get_job(&read)
                    .await
                    .map_err(|e| e.to_string())?
                    .result
                    .and_then(|x| serde_json::from_str(&x).ok())
                    .unwrap_or(Value::Null);
                if has_volume(&storage, &r.name, &r.drives) {
                    timings.insert("raid_ms".into(), json!(t0.elapsed().as_millis() as u64));
                    timings.insert("raid_job".into(), json!(read));
                    run = st
                        .store
                        .update_provisioning(&run.id, upd(None, &timings))
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            if let Some(r) = spec
                .raid
                .as_ref()
                .filter(|_| !timings.contains_key("raid_ms"))
            {
                let t0 = Instant::now();
                let params = json!({"action": "create", "controller": r.controller, "name": r.name,
                    "raid_type": r.raid_type.clone().unwrap_or_else(|| "RAID1".into()), "drives": r.drives});
                let job = tokio::time::timeout(
                    Duration::from_secs(self.cfg.power_deadline_s),
                    self.run_job(st, &run.node_id, "raid", params),
                )
                .await
                .map_err(|_| {
                    format!(
                        "the RAID volume was not created within {} s (tinkerbell.power_deadline_s)",
                        self.cfg.power_deadline_s
                    )
                })??;
                timings.insert("raid_ms".into(), json!(t0.elapsed().as_millis() as u64));
                timings.insert("raid_job".into(), json!(job));
                // Recorded before the boot, so that a resume does not create the volume twice.
                run = st
                    .store
                    .update_provisioning(&run.id, upd(None, &timings))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        if run.stage == "submitted" {
            let t0 = Instant::now();
            let jobs = tokio::time::timeout(
                Duration::from_secs(self.cfg.power_deadline_s),
                self.power(st, &run),
            )
            .await
            .map_err(|_| {
                format!(
                    "PXE boot and power cycle did not finish within {} s (tinkerbell.power_deadline_s)",
                    self.cfg.power_deadline_s
                )
            })??;
            timings.insert("power_ms".into(), json!(t0.elapsed().as_millis() as u64));
            let mut u = upd(Some("booted"), &timings);
            u.power_jobs = Some(json!(jobs));
            run = st
                .store
                .update_provisioning(&run.id, u)
                .await
                .map_err(|e| e.to_string())?;
        }
        self.watch(st, &run, timings).await
    }

    /// Hardware, Template (and the Rufio Machine), then the Workflow: all idempotent.
    async fn send(&self, objs: &Prepared) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 0..5u32 {
            let r = async {
                self.client.apply_hardware(&objs.hardware).await?;
                self.client.apply_template(&objs.template).await?;
                if let Some(m) = &objs.machine {
                    self.client.apply_machine(m).await?;
                }
                self.client.submit_workflow(&objs.workflow).await?;
                Ok::<_, fleet_tinkerbell::ClientError>(())
            }
            .await;
            match r {
                Ok(()) => return Ok(()),
                Err(fleet_tinkerbell::ClientError::Build(e)) => return Err(e.to_string()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        Err(format!("Tinkerbell API: {last}"))
    }

    /// The one-time PXE boot and power cycle; returns the job ids (gpufleet) or the Rufio Job.
    async fn power(&self, st: &AppState, run: &Provisioning) -> Result<Vec<String>, String> {
        if self.cfg.power_via == "rufio" {
            return self.power_rufio(st, run).await;
        }
        let mut ids = vec![];
        for (group, params) in [
            ("boot", json!({"device": "pxe", "persistent": false})),
            ("power", json!({"action": "cycle"})),
        ] {
            ids.push(self.run_job(st, &run.node_id, group, params).await?);
        }
        Ok(ids)
    }

    /// Runs one out-of-band job to its end; its id, or why it did not succeed.
    async fn run_job(
        &self,
        st: &AppState,
        node: &str,
        group: &str,
        params: Value,
    ) -> Result<String, String> {
        let job = start_job(st, node, group, params, self.cfg.power_deadline_s).await?;
        loop {
            let j = st.store.get_job(&job.id).await.map_err(|e| e.to_string())?;
            if fleet_db::job_state_is_final(&j.state) {
                if j.state != "succeeded" {
                    return Err(format!(
                        "{} job {} {}: {}",
                        j.kind,
                        j.id,
                        j.state,
                        j.error.unwrap_or_default()
                    ));
                }
                return Ok(j.id);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn power_rufio(&self, st: &AppState, run: &Provisioning) -> Result<Vec<String>, String> {
        let node = st
            .store
            .get_asset(&run.node_id)
            .await
            .map_err(|e| e.to_string())?;
        let base = object_base(&node)?;
        let name = format!("{}-pxe", run.workflow);
        let job = build::job(
            &name,
            &self.cfg.namespace,
            &format!("{base}-bmc"),
            build::pxe_reboot_tasks(self.cfg.efi_boot),
        )
        .map_err(|e| e.to_string())?;
        self.client
            .submit_job(&job)
            .await
            .map_err(|e| format!("Rufio Job {name}: {e}"))?;
        loop {
            let j = self
                .client
                .get_job(&name)
                .await
                .map_err(|e| format!("Rufio Job {name}: {e}"))?
                .ok_or_else(|| format!("Rufio Job {name} disappeared"))?;
            let conds = j
                .status
                .as_ref()
                .map(|s| s.conditions.clone())
                .unwrap_or_default();
            if conds
                .iter()
                .any(|c| c.type_ == "Completed" && c.status == "True")
            {
                return Ok(vec![name]);
            }
            if let Some(c) = conds
                .iter()
                .find(|c| c.type_ == "Failed" && c.status == "True")
            {
                return Err(format!(
                    "Rufio Job {name} failed: {}",
                    c.message.clone().unwrap_or_default()
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Reads the Workflow until it ends; records each change of its progress and finishes the
    /// attempt with the lifecycle state the progress maps to.
    async fn watch(
        &self,
        st: &AppState,
        run: &Provisioning,
        timings: serde_json::Map<String, Value>,
    ) -> Result<(), String> {
        let last: Option<WorkflowProgress> = run
            .progress
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok());
        let mut tracker = ProgressTracker::resume(last);
        let deadline = Instant::now() + Duration::from_secs(self.cfg.workflow_deadline_s);
        let interval = Duration::from_millis(self.cfg.poll_interval_ms);
        let mut errors = 0u32;
        loop {
            match self.client.get_workflow(&run.workflow).await {
                Ok(Some(wf)) => {
                    errors = 0;
                    let p = WorkflowProgress::from_workflow(&wf);
                    let changed = tracker.last() != Some(&p);
                    tracker.observe(p.clone());
                    if p.phase.is_terminal() {
                        let stage = if p.node_state() == NodeState::InService {
                            "succeeded"
                        } else {
                            "failed"
                        };
                        st.store
                            .finish_provisioning(
                                &actor(),
                                &run.id,
                                stage,
                                p.node_state(),
                                p.reason(),
                                Some(json!(p)),
                                Some(Value::Object(timings)),
                            )
                            .await
                            .map_err(|e| e.to_string())?;
                        return Ok(());
                    }
                    if changed {
                        let _ = st
                            .store
                            .update_provisioning(
                                &run.id,
                                ProvisioningUpdate {
                                    progress: Some(json!(p)),
                                    ..Default::default()
                                },
                            )
                            .await;
                    }
                }
                Ok(None) => {
                    return Err(format!(
                        "workflow {} no longer exists in namespace {}",
                        run.workflow, self.cfg.namespace
                    ))
                }
                Err(e) => {
                    errors += 1;
                    if errors % 10 == 1 {
                        tracing::warn!(workflow = %run.workflow, error = %e, "reading the workflow");
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "workflow {} did not end within {} s (tinkerbell.workflow_deadline_s)",
                    run.workflow, self.cfg.workflow_deadline_s
                ));
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// Whether `storage` (a RAID read's result) holds a volume `name` on exactly `drives`.
fn has_volume(storage: &Value, name: &str, drives: &[String]) -> bool {
    match storage {
        Value::Object(o) => {
            let here = o.get("name").and_then(|n| n.as_str()) == Some(name)
                && o.get("drives").and_then(|d| d.as_array()).is_some_and(|d| {
                    let mut a: Vec<&str> = d.iter().filter_map(|x| x.as_str()).collect();
                    let mut b: Vec<&str> = drives.iter().map(String::as_str).collect();
                    a.sort_unstable();
                    b.sort_unstable();
                    a == b
                });
            here || o.values().any(|v| has_volume(v, name, drives))
        }
        Value::Array(a) => a.iter().any(|v| has_volume(v, name, drives)),
        _ => false,
    }
}

/// Starts an out-of-band job through the application core as the provisioning role
/// (`system:provisioning` in the audit log): `boot`, `power`, `raid` or `read`.
pub async fn start_job(
    st: &AppState,
    node: &str,
    group: &str,
    params: Value,
    deadline_s: u64,
) -> Result<fleet_db::Job, String> {
    if !matches!(group, "boot" | "power" | "raid" | "read") {
        return Err(format!("no operation {group} for provisioning"));
    }
    let params: BTreeMap<String, Value> =
        serde_json::from_value(params).map_err(|e| format!("{group}: {e}"))?;
    let spec = fleet_core::ops::OpSpec {
        operation: fleet_core::ops::Operation::from_request(group, &params)
            .map_err(|e| format!("{group}: {e}"))?,
        driver: None,
        deadline_s: Some(deadline_s),
    };
    st.core
        .submit(&principal(), node, spec)
        .await
        .map_err(|e| format!("{group}: {e}"))
}

/// The provisioning role as the core's install system ([`fleet_core::provisioning::Engine`]),
/// for one request.
pub struct TinkerbellEngine<'a> {
    pub p: Arc<Provisioner>,
    pub st: &'a AppState,
}

impl fleet_core::provisioning::Engine for TinkerbellEngine<'_> {
    fn concurrency(&self) -> usize {
        self.p.cfg.concurrency
    }

    fn power_via(&self) -> String {
        self.p.cfg.power_via.clone()
    }

    fn object_base(&self, node: &Asset) -> Result<String, String> {
        object_base(node)
    }

    async fn check(
        &self,
        node: &Asset,
        plan: &InstallPlanRow,
        workflow: &str,
    ) -> Result<(), String> {
        prepare(self.st, &self.p.cfg, node, plan, workflow)
            .await
            .map(|_| ())
    }

    fn batch_limit(&self, batch: &str, limit: usize) {
        self.p.batch_limit(batch, limit)
    }

    fn start(&self, run: Provisioning) {
        self.p.spawn(self.st.clone(), run)
    }

    async fn stop(&self, run: &Provisioning) -> fleet_core::CoreResult<()> {
        self.p.stop(&run.id);
        self.p
            .client
            .delete_workflow(&run.workflow)
            .await
            .map(|_| ())
            .map_err(|e| {
                fleet_core::CoreError::upstream(
                    "Tinkerbell unavailable",
                    format!("deleting workflow {}: {e}", run.workflow),
                )
            })
    }
}
