//! The CMDB-Enricher role.
//!
//! - On `HardwareDiscovered` for a node with a BMC, it moves the node `discovered → inspecting`.
//! - On `LifecycleChanged` into `inspecting` (its own step, or an operator's re-inspection), it
//!   reads the full inventory over Redfish with the BMC credentials from the secret store and
//!   applies it in one transaction ([`fleet_db::Store::apply_inventory`]): parts created,
//!   updated, moved between nodes or marked removed, a new configuration version when anything
//!   changed, ConfigValidated / ConfigConflict against the node's profile, and `→ ready`. A BMC
//!   that cannot be read moves the node to `inspection_failed` with the reason.
//! - Status sync: every `sync_interval_secs` each node in `sync_states` is read again, spread
//!   over `sync_jitter_secs` per node and limited to `max_concurrent_bmc` reads at once; drift
//!   becomes a new version and, against the profile, a ConfigConflict. It never moves a node
//!   through the lifecycle.
//!
//! Both consumers are durable bus consumers run by [`fleet_bus::worker`] (de-duplication by
//! event id, retries with backoff, dead letters); the handlers are idempotent on their own
//! (state checks in the same transaction), so a duplicate event creates nothing twice.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fleet_bmc::inventory::Inventory;
use fleet_bmc::redfish::RedfishClient;
use fleet_bmc::BmcError;
use fleet_bus::worker::{Handler, HandlerError, WorkerOptions, WorkerStats};
use fleet_bus::{ConsumerSpec, Delivery};
use fleet_db::{
    Actor, DbError, InventoryApply, InventoryOutcome, ObservedPart, PartKey, ValidateWhen,
};
use fleet_model::asset::{normalize_mac, Asset, AssetKind};
use fleet_model::event::types;
use fleet_model::lifecycle::NodeState;
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::EnricherConfig;
use crate::state::AppState;

/// The actor of every change the enricher makes: the core's `system:enricher` principal,
/// with the triggering event's correlation id as the request id.
fn actor(correlation: Option<String>) -> Actor {
    fleet_core::Principal::system(fleet_core::SystemRole::Enricher)
        .with_request(None, correlation)
        .actor()
}

// ------------------------------------------------------------------------- mapping (pure)

/// What an inventory becomes in the CMDB: node configuration sections, parts, and the part
/// kinds whose list is complete (a kind the BMC could not read is not, so nothing of that
/// kind is marked removed).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub node_config: Map<String, Value>,
    pub parts: Vec<ObservedPart>,
    pub complete_kinds: Vec<AssetKind>,
    /// Parts skipped because they had nothing to identify them by, worded for an operator.
    pub skipped: Vec<String>,
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        m.insert(k.into(), v.into());
    }
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("n/a") && v != "0")
}

/// An asset name from free text: no `/`, at most 128 characters.
fn name_of(prefix: &str, key: &str) -> String {
    let s: String = format!("{prefix}-{key}")
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    s.chars().take(128).collect()
}

/// NVML spells GPU UUIDs `GPU-<uuid>`; Redfish services give the bare UUID.
pub fn gpu_uuid(raw: &str) -> String {
    let r = raw.trim();
    if r.len() > 4 && r[..4].eq_ignore_ascii_case("gpu-") {
        format!("GPU-{}", r[4..].to_ascii_lowercase())
    } else {
        format!("GPU-{}", r.to_ascii_lowercase())
    }
}

/// Maps an inventory onto the CMDB's shapes. `node_name` scopes the names of parts that
/// have no serial.
pub fn observe(inv: &Inventory, node_name: &str) -> Observation {
    let mut cfg = Map::new();
    let s = &inv.system;
    let mut system = Map::new();
    put(&mut system, "manufacturer", clean(&s.manufacturer));
    put(&mut system, "model", clean(&s.model));
    put(&mut system, "serial", clean(&s.serial));
    put(
        &mut system,
        "uuid",
        clean(&s.uuid).map(|u| u.to_ascii_lowercase()),
    );
    put(&mut system, "sku", clean(&s.sku));
    if !s.path.is_empty() {
        system.insert("redfish_path".into(), Value::String(s.path.clone()));
    }
    put(&mut cfg, "model", clean(&s.model));
    put(&mut cfg, "serial", clean(&s.serial));
    put(&mut cfg, "bios_version", clean(&s.bios_version));
    cfg.insert("system".into(), Value::Object(system));
    let models: BTreeSet<String> = inv.cpus.iter().filter_map(|c| clean(&c.model)).collect();
    // A section the BMC could not read fully keeps its stored value (absent here).
    let complete = |section: &str| inv.is_complete(section);
    if complete("cpus") {
        cfg.insert(
            "cpus".into(),
            json!({
                "count": inv.cpus.len(),
                "models": models,
                "cores": inv.cpus.iter().filter_map(|c| c.cores).sum::<u32>(),
                "threads": inv.cpus.iter().filter_map(|c| c.threads).sum::<u32>(),
            }),
        );
    }
    if complete("memory") {
        cfg.insert(
            "memory".into(),
            json!({"total_gib": inv.memory.total_gib, "dimms": inv.memory.dimms}),
        );
    }
    if complete("firmware") {
        cfg.insert("firmware".into(), json!(inv.firmware));
    }
    if complete("bios") {
        cfg.insert("bios".into(), json!(inv.bios));
    }
    cfg.insert("inventory_warnings".into(), json!(inv.warnings));

    let mut parts = Vec::new();
    let mut skipped = Vec::new();
    let mut keys = BTreeSet::new();
    // Serials reported by more than one GPU (trays give both GPUs of a module its serial): those
    // GPUs are keyed by serial and location.
    let mut serial_count: std::collections::BTreeMap<String, usize> = Default::default();
    for g in &inv.gpus {
        if let Some(s) = clean(&g.serial) {
            *serial_count.entry(s).or_default() += 1;
        }
    }
    for g in &inv.gpus {
        let mut c = Map::new();
        let serial = clean(&g.serial);
        let uuid = clean(&g.uuid).map(|u| gpu_uuid(&u));
        put(&mut c, "serial", serial.clone());
        put(&mut c, "uuid", uuid.clone());
        put(&mut c, "model", clean(&g.model));
        put(&mut c, "manufacturer", clean(&g.manufacturer));
        put(&mut c, "part_number", clean(&g.part_number));
        put(&mut c, "vbios", clean(&g.firmware));
        put(&mut c, "location", clean(&g.location));
        put(&mut c, "chassis", clean(&g.chassis));
        c.insert("redfish_id".into(), Value::String(g.id.clone()));
        c.insert("redfish_path".into(), Value::String(g.path.clone()));
        let shared = serial
            .as_ref()
            .is_some_and(|s| serial_count.get(s).copied().unwrap_or(0) > 1);
        let (key, name) = match (&serial, &uuid) {
            (Some(s), _) if shared => {
                let place = clean(&g.chassis).unwrap_or_else(|| g.id.clone());
                (PartKey::Name, name_of("gpu", &format!("{s}-{place}")))
            }
            (Some(s), _) => (PartKey::Serial(s.clone()), name_of("gpu", s)),
            (None, Some(u)) => (PartKey::Name, name_of("gpu", u)),
            (None, None) => (PartKey::Name, name_of(&format!("gpu-{node_name}"), &g.id)),
        };
        if !keys.insert((AssetKind::Gpu, name.clone())) {
            skipped.push(format!("GPU {} repeats {name}; counted once", g.id));
            continue;
        }
        parts.push(ObservedPart {
            kind: AssetKind::Gpu,
            key,
            name,
            config: Value::Object(c),
        });
    }
    for n in &inv.nics {
        let mac = match normalize_mac(&n.mac) {
            Ok(m) if m != "00:00:00:00:00:00" => m,
            _ => {
                skipped.push(format!(
                    "NIC {} has no usable MAC address ('{}'); not inventoried",
                    n.id, n.mac
                ));
                continue;
            }
        };
        if !keys.insert((AssetKind::Nic, mac.clone())) {
            continue;
        }
        let mut c = Map::new();
        c.insert("mac".into(), Value::String(mac.clone()));
        put(&mut c, "model", clean(&n.model));
        put(&mut c, "speed_mbps", n.speed_mbps);
        c.insert("redfish_id".into(), Value::String(n.id.clone()));
        c.insert("redfish_path".into(), Value::String(n.path.clone()));
        parts.push(ObservedPart {
            kind: AssetKind::Nic,
            key: PartKey::Mac(mac.clone()),
            name: name_of("nic", &mac),
            config: Value::Object(c),
        });
    }
    for d in &inv.disks {
        let serial = clean(&d.serial);
        let mut c = Map::new();
        put(&mut c, "serial", serial.clone());
        put(&mut c, "model", clean(&d.model));
        put(&mut c, "capacity_bytes", d.capacity_bytes);
        put(&mut c, "media", clean(&d.media));
        put(&mut c, "protocol", clean(&d.protocol));
        c.insert("redfish_id".into(), Value::String(d.id.clone()));
        c.insert("redfish_path".into(), Value::String(d.path.clone()));
        let (key, name) = match &serial {
            Some(s) => (PartKey::Serial(s.clone()), name_of("disk", s)),
            None => (PartKey::Name, name_of(&format!("disk-{node_name}"), &d.id)),
        };
        if !keys.insert((AssetKind::Disk, name.clone())) {
            continue;
        }
        parts.push(ObservedPart {
            kind: AssetKind::Disk,
            key,
            name,
            config: Value::Object(c),
        });
    }
    // Only a list read without problems says that what is missing from it is gone.
    let complete_kinds = [
        (AssetKind::Gpu, "gpus"),
        (AssetKind::Nic, "nics"),
        (AssetKind::Disk, "disks"),
    ]
    .into_iter()
    .filter(|(_, section)| complete(section))
    .map(|(k, _)| k)
    .collect();
    Observation {
        node_config: cfg,
        parts,
        complete_kinds,
        skipped,
    }
}

/// An operator-facing reason for a failed inventory read.
pub fn failure_reason(e: &BmcError) -> String {
    let what = match e.kind() {
        "timeout" | "connect" => "BMC unreachable",
        "unauthorized" => "BMC authentication failed",
        "forbidden" => "BMC account lacks privileges",
        "tls_certificate" => "BMC TLS certificate rejected",
        "unsupported" => "inventory not supported by this BMC",
        _ => "inventory read failed",
    };
    format!("{what}: {e}")
}

// ------------------------------------------------------------------------- BMC access

/// The Redfish client of a node's BMC, credentials from the secret store.
async fn redfish_for(
    st: &AppState,
    cfg: &EnricherConfig,
    node: &Asset,
) -> Result<RedfishClient, String> {
    let b = fleet_core::bmc::node_bmc(
        &st.store,
        &node.id,
        Some("redfish"),
        Duration::from_secs(cfg.bmc_timeout_secs),
    )
    .await
    .map_err(|e| {
        if e.contains("has no 'redfish_address'") {
            format!("the inventory is read over Redfish, but {e}")
        } else {
            e
        }
    })?;
    RedfishClient::new(b.endpoint).map_err(|e| e.to_string())
}

// ------------------------------------------------------------------------- the role

/// Counters of the enricher, for tests and metrics.
#[derive(Debug, Default)]
pub struct EnricherStats {
    pub inspected: AtomicU64,
    pub inspection_failed: AtomicU64,
    pub synced: AtomicU64,
    pub sync_failed: AtomicU64,
    pub sync_changed: AtomicU64,
    /// Events that needed nothing (duplicates, nodes already past the step).
    pub skipped: AtomicU64,
    /// Inventory reads in flight now.
    pub reading: AtomicU64,
    /// Most inventory reads in flight at once.
    pub max_reading: AtomicU64,
    /// Time spent reading inventories from BMCs, milliseconds, summed over reads.
    pub read_ms: AtomicU64,
    /// Time spent applying inventories to the store, milliseconds, summed.
    pub apply_ms: AtomicU64,
}

#[derive(Clone)]
pub struct Enricher {
    st: AppState,
    cfg: EnricherConfig,
    slots: Arc<Semaphore>,
    pub stats: Arc<EnricherStats>,
}

enum Read {
    /// The inventory, and the sensors when they were asked for (`Err`: why they were not read).
    Ok(
        Box<Inventory>,
        Option<Result<Vec<fleet_bmc::Sensor>, String>>,
    ),
    /// The BMC could not be read (the reason is for the operator).
    Failed(String),
}

impl Enricher {
    pub fn new(st: AppState) -> Enricher {
        let cfg = st.config.enricher.clone();
        Enricher {
            slots: Arc::new(Semaphore::new(cfg.max_concurrent_bmc.max(1))),
            st,
            cfg,
            stats: Arc::default(),
        }
    }

    /// Reads a node's inventory, holding one of the global BMC slots.
    async fn read(&self, node: &Asset, with_sensors: bool) -> Read {
        let client = match redfish_for(&self.st, &self.cfg, node).await {
            Ok(c) => c,
            Err(e) => return Read::Failed(e),
        };
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("semaphore is never closed");
        let now = self.stats.reading.fetch_add(1, Ordering::Relaxed) + 1;
        self.stats.max_reading.fetch_max(now, Ordering::Relaxed);
        let deadline = Duration::from_secs(self.cfg.inventory_timeout_secs.max(1));
        let t0 = std::time::Instant::now();
        let r = tokio::time::timeout(deadline, client.inventory()).await;
        // The sensors in the same session, under the same deadline.
        let sensors = match (&r, with_sensors) {
            (Ok(Ok(_)), true) => Some(
                match tokio::time::timeout(deadline, fleet_bmc::OutOfBand::sensors(&client)).await {
                    Ok(Ok(s)) => Ok(s),
                    Ok(Err(e)) => Err(failure_reason(&e)),
                    Err(_) => Err(format!(
                        "the sensor read did not finish within {} s",
                        deadline.as_secs()
                    )),
                },
            ),
            _ => None,
        };
        client.logout().await;
        self.stats.reading.fetch_sub(1, Ordering::Relaxed);
        self.stats
            .read_ms
            .fetch_add(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
        match r {
            Ok(Ok(inv)) => Read::Ok(Box::new(inv), sensors),
            Ok(Err(e)) => Read::Failed(failure_reason(&e)),
            Err(_) => Read::Failed(format!(
                "BMC unreachable: the inventory read did not finish within {} s",
                deadline.as_secs()
            )),
        }
    }

    /// `discovered → inspecting` for a node with a BMC; nothing for other nodes.
    pub async fn begin_inspection(
        &self,
        node_id: &str,
        correlation: Option<String>,
    ) -> Result<bool, HandlerError> {
        let node = match self.st.store.get_asset(node_id).await {
            Ok(n) => n,
            Err(DbError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(HandlerError::Retry(e.to_string())),
        };
        if node.kind != AssetKind::Node || node.state != Some(NodeState::Discovered) {
            return Ok(false);
        }
        match self
            .st
            .store
            .transition(
                &actor(correlation),
                node_id,
                NodeState::Inspecting,
                Some("reading the hardware inventory over Redfish".into()),
            )
            .await
        {
            Ok(_) => Ok(true),
            // No BMC (guard), or another consumer got there first.
            Err(DbError::Transition(_)) | Err(DbError::Conflict(_)) | Err(DbError::NotFound(_)) => {
                Ok(false)
            }
            Err(e) => Err(HandlerError::Retry(e.to_string())),
        }
    }

    /// Inspects a node in `inspecting`: inventory → CMDB → `ready`, or `inspection_failed`
    /// with the reason. `Ok(None)` when the node is not (or no longer) in `inspecting`.
    pub async fn inspect(
        &self,
        node_id: &str,
        correlation: Option<String>,
    ) -> Result<Option<InventoryOutcome>, HandlerError> {
        let node = match self.st.store.get_asset(node_id).await {
            Ok(n) => n,
            Err(DbError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(HandlerError::Retry(e.to_string())),
        };
        if node.kind != AssetKind::Node || node.state != Some(NodeState::Inspecting) {
            return Ok(None);
        }
        let who = actor(correlation);
        let inv = match self.read(&node, false).await {
            Read::Ok(inv, _) => inv,
            Read::Failed(reason) => {
                tracing::warn!(node = %node.name, %reason, "inspection failed");
                return match self
                    .st
                    .store
                    .transition(&who, node_id, NodeState::InspectionFailed, Some(reason))
                    .await
                {
                    Ok(_) => {
                        self.stats.inspection_failed.fetch_add(1, Ordering::Relaxed);
                        Ok(None)
                    }
                    Err(DbError::Transition(_)) | Err(DbError::Conflict(_)) => Ok(None),
                    Err(e) => Err(HandlerError::Retry(e.to_string())),
                };
            }
        };
        let obs = observe(&inv, &node.name);
        for s in &obs.skipped {
            tracing::warn!(node = %node.name, "{s}");
        }
        let apply = InventoryApply {
            node_id: node.id.clone(),
            node_config: obs.node_config,
            parts: obs.parts,
            complete_kinds: obs.complete_kinds,
            expect_state: Some(NodeState::Inspecting),
            transition_to: Some(NodeState::Ready),
            validate_when: ValidateWhen::Always,
            gpus_promised_by: inv.gpus_promised_by.clone(),
            reason: "inspection".into(),
        };
        let t0 = std::time::Instant::now();
        let applied = self.st.store.apply_inventory(&who, apply).await;
        self.stats
            .apply_ms
            .fetch_add(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
        match applied {
            Ok(out) => {
                if !out.duplicate_serial_of.is_empty() {
                    tracing::warn!(node = %node.name, others = ?out.duplicate_serial_of, "another node has this system serial");
                }
                self.stats.inspected.fetch_add(1, Ordering::Relaxed);
                tracing::info!(node = %node.name, created = out.created.len(), moved = out.moved.len(), "inspected");
                Ok(Some(out))
            }
            // Another consumer finished this inspection first.
            Err(DbError::Conflict(m)) if m.contains("was not applied") => Ok(None),
            Err(e @ (DbError::Invalid(_) | DbError::Transition(_))) => {
                let reason = format!("the inventory could not be stored: {e}");
                let _ = self
                    .st
                    .store
                    .transition(&who, node_id, NodeState::InspectionFailed, Some(reason))
                    .await;
                self.stats.inspection_failed.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(HandlerError::Retry(e.to_string())),
        }
    }

    /// Re-reads one node's inventory (status sync). Never moves the node through the lifecycle.
    pub async fn sync_node(&self, node_id: &str) -> Result<Option<InventoryOutcome>, String> {
        let node = self
            .st
            .store
            .get_asset(node_id)
            .await
            .map_err(|e| e.to_string())?;
        let Some(state) = node.state else {
            return Ok(None);
        };
        let inv = match self.read(&node, true).await {
            Read::Ok(inv, sensors) => {
                // The BMC's readings join the node's derived health (system.status_changed).
                match sensors {
                    Some(Ok(readings)) => {
                        self.st
                            .core
                            .observe_bmc(&node.id, readings.into_iter().map(bmc_reading).collect())
                            .await
                    }
                    Some(Err(reason)) => {
                        tracing::warn!(node = %node.name, %reason, "status sync: sensors not read")
                    }
                    None => {}
                }
                inv
            }
            Read::Failed(reason) => {
                self.stats.sync_failed.fetch_add(1, Ordering::Relaxed);
                self.st
                    .core
                    .observe_bmc_unreachable(&node.id, &reason)
                    .await;
                return Err(reason);
            }
        };
        let obs = observe(&inv, &node.name);
        let apply = InventoryApply {
            node_id: node.id.clone(),
            node_config: obs.node_config,
            parts: obs.parts,
            complete_kinds: obs.complete_kinds,
            // The node moved on while its BMC was read: this read is not applied.
            expect_state: Some(state),
            transition_to: None,
            validate_when: ValidateWhen::OnChange,
            gpus_promised_by: inv.gpus_promised_by.clone(),
            reason: "status sync".into(),
        };
        match self.st.store.apply_inventory(&actor(None), apply).await {
            Ok(out) => {
                self.stats.synced.fetch_add(1, Ordering::Relaxed);
                if out.changed() {
                    self.stats.sync_changed.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(node = %node.name, created = out.created.len(), moved = out.moved.len(), removed = out.removed.len(), "status sync: drift recorded");
                }
                Ok(Some(out))
            }
            Err(DbError::Conflict(_)) => Ok(None),
            Err(e) => {
                self.stats.sync_failed.fetch_add(1, Ordering::Relaxed);
                Err(e.to_string())
            }
        }
    }

    /// Probes one node's BMC (its power state, under the BMC deadline) and tells the telemetry
    /// whether it answered. Returns whether it did.
    pub async fn probe_node(&self, node: &Asset) -> bool {
        let answer = match redfish_for(&self.st, &self.cfg, node).await {
            Err(e) => Err(e),
            Ok(client) => {
                let deadline = Duration::from_secs(self.cfg.bmc_timeout_secs.max(1));
                let r = tokio::time::timeout(deadline, fleet_bmc::OutOfBand::power_state(&client))
                    .await;
                client.logout().await;
                match r {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(failure_reason(&e)),
                    Err(_) => Err(format!(
                        "BMC unreachable: no answer within {} s",
                        deadline.as_secs()
                    )),
                }
            }
        };
        match answer {
            Ok(()) => {
                self.st.core.observe_bmc_reachable(&node.id).await;
                true
            }
            Err(reason) => {
                self.st
                    .core
                    .observe_bmc_unreachable(&node.id, &reason)
                    .await;
                false
            }
        }
    }

    /// Runs `work` on every node with a BMC in the status sync's states, each after its
    /// per-node offset within `jitter`; returns what each gave (a node cut short by `shutdown`
    /// gives nothing).
    async fn each_node<T, F, Fut>(
        &self,
        what: &'static str,
        jitter: Duration,
        shutdown: &CancellationToken,
        work: F,
    ) -> Vec<T>
    where
        T: Send + 'static,
        F: Fn(Enricher, Asset) -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let states: Vec<NodeState> = self
            .cfg
            .sync_states
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let mut after: Option<String> = None;
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let page = match self
                .st
                .store
                .nodes_with_bmc(&states, after.as_deref(), 500)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "{what}: listing nodes failed");
                    break;
                }
            };
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            for n in page {
                let (me, work) = (self.clone(), work.clone());
                let delay = fleet_core::spread_offset(&n.id, jitter);
                let stop = shutdown.clone();
                tasks.spawn(async move {
                    tokio::select! {
                        _ = stop.cancelled() => return None,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    Some(work(me, n).await)
                });
            }
        }
        let mut out = Vec::new();
        while let Some(r) = tasks.join_next().await {
            if let Ok(Some(v)) = r {
                out.push(v);
            }
        }
        out
    }

    /// One liveness round over the nodes of the status sync's states, spread over `jitter`,
    /// `max_concurrent_bmc` at once. Returns (probed, answered).
    pub async fn liveness_round(
        &self,
        jitter: Duration,
        shutdown: &CancellationToken,
    ) -> (usize, usize) {
        let answers = self
            .each_node("liveness", jitter, shutdown, |me, n| async move {
                let _slot = me.slots.acquire().await.expect("semaphore is never closed");
                me.probe_node(&n).await
            })
            .await;
        (answers.len(), answers.iter().filter(|a| **a).count())
    }

    /// Reads every polled PDU (a Redfish `address` and a stored password) for its outlets'
    /// power state and tells the core what each said (see `fleet_core::power`). Returns (PDUs
    /// read, PDUs that answered).
    pub async fn pdu_round(
        &self,
        jitter: Duration,
        shutdown: &CancellationToken,
    ) -> (usize, usize) {
        let pdus = match self.st.core.polled_pdus().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "PDU round: listing PDUs failed");
                return (0, 0);
            }
        };
        let polled: BTreeSet<String> = pdus.iter().map(|p| p.id.clone()).collect();
        let done = self
            .equipment_round(
                "PDU",
                pdus,
                jitter,
                shutdown,
                |c: RedfishClient| async move {
                    let r = c.power_distribution().await;
                    c.logout().await;
                    r
                },
                |e: Enricher, pdu: Asset, outcome| async move {
                    e.st.core.observe_pdu(&pdu, outcome).await
                },
            )
            .await;
        self.st.core.retain_pdus(&polled);
        done
    }

    /// Reads every polled CDU (a Redfish `address` and a stored password) for its `Status` and
    /// tells the core what each said (see `fleet_core::cooling`). Returns (CDUs read, CDUs that
    /// answered).
    pub async fn cdu_round(
        &self,
        jitter: Duration,
        shutdown: &CancellationToken,
    ) -> (usize, usize) {
        let cdus = match self.st.core.polled_cdus().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "CDU round: listing CDUs failed");
                return (0, 0);
            }
        };
        let polled: BTreeSet<String> = cdus.iter().map(|c| c.id.clone()).collect();
        let done = self
            .equipment_round(
                "CDU",
                cdus,
                jitter,
                shutdown,
                |c: RedfishClient| async move {
                    let r = c.cooling_units().await;
                    c.logout().await;
                    r
                },
                |e: Enricher, cdu: Asset, outcome| async move {
                    e.st.core.observe_cdu(&cdu, outcome).await
                },
            )
            .await;
        self.st.core.retain_cdus(&polled);
        done
    }

    /// One round over facility equipment with a Redfish controller (PDUs, CDUs): each read once
    /// through `read` on a basic-auth client, after its offset within `jitter`,
    /// `max_concurrent_bmc` at once, under four BMC deadlines; what each said goes to
    /// `observe`. No HTTP answer (refused, reset, dropped, none in time) is silence; an HTTP
    /// answer that is not a reading (401, 404, a bad body, a rejected certificate) is a
    /// configuration problem. Returns (read, answered).
    async fn equipment_round<T, R, RF, O, OF>(
        &self,
        what: &'static str,
        assets: Vec<Asset>,
        jitter: Duration,
        shutdown: &CancellationToken,
        read: R,
        observe: O,
    ) -> (usize, usize)
    where
        T: Send + 'static,
        R: Fn(RedfishClient) -> RF + Clone + Send + 'static,
        RF: std::future::Future<Output = fleet_bmc::Result<T>> + Send,
        O: Fn(Enricher, Asset, fleet_core::power::ReadOutcome<T>) -> OF + Clone + Send + 'static,
        OF: std::future::Future<Output = ()> + Send,
    {
        use fleet_core::power::ReadOutcome;
        let deadline = Duration::from_secs(self.cfg.bmc_timeout_secs.max(1));
        let mut tasks = tokio::task::JoinSet::new();
        for asset in assets {
            let endpoint = fleet_core::bmc::pdu_endpoint(&self.st.store, &asset, deadline).await;
            let me = self.clone();
            let delay = fleet_core::spread_offset(&asset.id, jitter);
            let stop = shutdown.clone();
            let (read, observe) = (read.clone(), observe.clone());
            tasks.spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
                let _slot = me.slots.acquire().await.expect("semaphore is never closed");
                let outcome = match endpoint
                    .and_then(|ep| RedfishClient::new(ep).map_err(|e| e.to_string()))
                    .map(RedfishClient::with_basic_auth)
                {
                    Err(e) => ReadOutcome::Failed(e),
                    Ok(client) => match tokio::time::timeout(deadline * 4, read(client)).await {
                        Ok(Ok(v)) => ReadOutcome::Read(v),
                        Ok(Err(e)) if matches!(e.kind(), "timeout" | "connect" | "other") => {
                            ReadOutcome::Silent(format!("{what} unreachable: {e}"))
                        }
                        Ok(Err(e)) => {
                            ReadOutcome::Failed(format!("{what} controller not read: {e}"))
                        }
                        Err(_) => ReadOutcome::Silent(format!(
                            "{what} unreachable: not read within {} s",
                            (deadline * 4).as_secs()
                        )),
                    },
                };
                let answered = matches!(outcome, ReadOutcome::Read(_));
                observe(me.clone(), asset, outcome).await;
                Some(answered)
            });
        }
        let mut read = 0;
        let mut answered = 0;
        while let Some(r) = tasks.join_next().await {
            if let Ok(Some(ok)) = r {
                read += 1;
                answered += usize::from(ok);
            }
        }
        (read, answered)
    }

    /// One status-sync round: every node in the configured states, each read after its
    /// per-node jitter, `max_concurrent_bmc` at once. Returns (nodes read, nodes that changed).
    pub async fn sync_round(
        &self,
        jitter: Duration,
        shutdown: &CancellationToken,
    ) -> (usize, usize) {
        let changed = self
            .each_node("status sync", jitter, shutdown, |me, n| async move {
                match me.sync_node(&n.id).await {
                    Ok(out) => out.is_some_and(|o| o.changed()),
                    Err(reason) => {
                        tracing::warn!(node = %n.name, %reason, "status sync: BMC not read");
                        false
                    }
                }
            })
            .await;
        (changed.len(), changed.iter().filter(|c| **c).count())
    }
}

impl Enricher {
    /// Picks up nodes whose event was lost (the in-process bus keeps nothing across a restart)
    /// or whose inspection was cut short: nodes with a BMC in `discovered` or `inspecting` for
    /// longer than `min_age`. Returns how many it moved on.
    pub async fn recover_stale(&self, min_age: Duration) -> usize {
        let cutoff = fleet_db::now_ms() - min_age.as_millis() as i64;
        let mut after: Option<String> = None;
        let mut n = 0;
        loop {
            let page = match self
                .st
                .store
                .nodes_with_bmc(
                    &[NodeState::Discovered, NodeState::Inspecting],
                    after.as_deref(),
                    500,
                )
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "enricher: listing waiting nodes failed");
                    return n;
                }
            };
            let Some(last) = page.last() else { return n };
            after = Some(last.id.clone());
            for node in page {
                if node.state_entered_at.unwrap_or(i64::MAX) > cutoff {
                    continue;
                }
                let moved = match node.state {
                    Some(NodeState::Discovered) => {
                        matches!(self.begin_inspection(&node.id, None).await, Ok(true))
                    }
                    _ => {
                        let e = self.clone();
                        let id = node.id.clone();
                        // Inspections run beside the round, under the global BMC limit.
                        tokio::spawn(async move {
                            if let Err(err) = e.inspect(&id, None).await {
                                tracing::warn!(node = %id, error = %err, "enricher: re-inspection failed");
                            }
                        });
                        true
                    }
                };
                n += moved as usize;
            }
        }
    }
}

fn bmc_reading(s: fleet_bmc::Sensor) -> fleet_telemetry::health::BmcReading {
    fleet_telemetry::health::BmcReading {
        name: s.name,
        kind: s.kind,
        reading: s.reading,
        units: s.units,
        health: s.health,
        state: s.state,
        upper_caution: s.upper_caution,
        upper_critical: s.upper_critical,
    }
}

/// The event's subject (the node id) and correlation id, from a CloudEvents payload.
fn subject_of(d: &Delivery) -> Result<(String, Option<String>, Value), HandlerError> {
    let v: Value = serde_json::from_slice(&d.payload)
        .map_err(|e| HandlerError::Permanent(format!("the event is not JSON: {e}")))?;
    let subject = v
        .get("subject")
        .and_then(|s| s.as_str())
        .ok_or_else(|| HandlerError::Permanent("the event has no subject".into()))?
        .to_string();
    let corr = v
        .get("correlationid")
        .and_then(|c| c.as_str())
        .map(str::to_string);
    Ok((subject, corr, v))
}

struct DiscoveredHandler(Enricher);

impl Handler for DiscoveredHandler {
    fn handle<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let (node, corr, v) = subject_of(d)?;
            if v.get("type").and_then(|t| t.as_str()) != Some(types::HARDWARE_DISCOVERED) {
                return Ok(());
            }
            if !self.0.begin_inspection(&node, corr).await? {
                self.0.stats.skipped.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    }
}

struct InspectHandler(Enricher);

impl Handler for InspectHandler {
    fn handle<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let (node, corr, v) = subject_of(d)?;
            if v.get("type").and_then(|t| t.as_str()) != Some(types::LIFECYCLE_CHANGED)
                || v["data"]["to"].as_str() != Some(NodeState::Inspecting.as_str())
            {
                return Ok(());
            }
            if self.0.inspect(&node, corr).await?.is_none() {
                self.0.stats.skipped.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    }
}

/// Handles to a running enricher.
pub struct Running {
    pub enricher: Enricher,
    pub discovered: Arc<WorkerStats>,
    pub inspections: Arc<WorkerStats>,
    tasks: tokio::task::JoinSet<()>,
}

impl Running {
    /// Waits for the consumers and the sync loop to stop (after shutdown), up to `within`.
    pub async fn join(mut self, within: Duration) {
        let _ = tokio::time::timeout(within, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
    }
}

/// Starts the enricher role: the two durable consumers (`workers` subscriptions each) and
/// the status-sync loop, until `shutdown`.
pub fn start(st: AppState, shutdown: CancellationToken) -> Running {
    let enricher = Enricher::new(st.clone());
    let cfg = enricher.cfg.clone();
    let topo = st.bus.topology().clone();
    let opts = WorkerOptions {
        max_attempts: cfg.max_attempts.max(1),
        ..Default::default()
    };
    let ack_wait = Duration::from_secs(cfg.inventory_timeout_secs.max(1) + 30);
    let discovered = Arc::new(WorkerStats::default());
    let inspections = Arc::new(WorkerStats::default());
    let mut tasks = tokio::task::JoinSet::new();
    let specs = [
        (
            ConsumerSpec::new(&format!("{}-discovered", cfg.consumer), "hardware")
                .filter(format!("{}.hardware.discovered.>", topo.prefix))
                .ack_wait(Duration::from_secs(60)),
            Arc::new(DiscoveredHandler(enricher.clone())) as Arc<dyn Handler>,
            discovered.clone(),
        ),
        (
            ConsumerSpec::new(&format!("{}-inspect", cfg.consumer), "lifecycle")
                .filter(format!("{}.lifecycle.>", topo.prefix))
                .ack_wait(ack_wait),
            Arc::new(InspectHandler(enricher.clone())) as Arc<dyn Handler>,
            inspections.clone(),
        ),
    ];
    for (spec, handler, stats) in specs {
        for _ in 0..cfg.workers.max(1) {
            tasks.spawn(fleet_bus::worker::run(
                st.bus.clone(),
                spec.clone(),
                opts.clone(),
                handler.clone(),
                stats.clone(),
                shutdown.clone(),
            ));
        }
    }
    {
        // Nodes left behind by a restart or a lost event, once a minute.
        let e = enricher.clone();
        let stop = shutdown.clone();
        let min_age = Duration::from_secs(cfg.inventory_timeout_secs.max(1) + 60);
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                }
                let n = e.recover_stale(min_age).await;
                if n > 0 {
                    tracing::info!(
                        nodes = n,
                        "enricher: resumed nodes left in discovered/inspecting"
                    );
                }
            }
        });
    }
    if cfg.liveness_interval_secs > 0 {
        let e = enricher.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            let interval = Duration::from_secs(cfg.liveness_interval_secs);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
                let (probed, answered) = e.liveness_round(interval / 2, &stop).await;
                if answered < probed {
                    tracing::info!(probed, answered, "BMC liveness round done");
                }
                let (read, answered) = e.pdu_round(interval / 2, &stop).await;
                if answered < read {
                    tracing::info!(read, answered, "PDU round done");
                }
                let (read, answered) = e.cdu_round(interval / 2, &stop).await;
                if answered < read {
                    tracing::info!(read, answered, "CDU round done");
                }
            }
        });
    }
    if cfg.sync_interval_secs > 0 {
        let e = enricher.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            let interval = Duration::from_secs(cfg.sync_interval_secs);
            let jitter = Duration::from_secs(cfg.sync_jitter_secs).min(interval);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(interval) => {}
                }
                let (read, changed) = e.sync_round(jitter, &stop).await;
                tracing::info!(read, changed, "status sync round done");
            }
        });
    }
    Running {
        enricher,
        discovered,
        inspections,
        tasks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_bmc::inventory::{Cpu, Disk, Gpu, MemorySummary, Nic, SystemInfo};

    fn sample() -> Inventory {
        Inventory {
            system: SystemInfo {
                path: "/redfish/v1/Systems/1".into(),
                manufacturer: Some("Supermicro".into()),
                model: Some("SYS-821GE-TNHR".into()),
                serial: Some("S123".into()),
                uuid: Some("ABCD-EF".into()),
                bios_version: Some("2.3.5".into()),
                power_state: Some("On".into()),
                ..Default::default()
            },
            cpus: vec![
                Cpu {
                    id: "CPU1".into(),
                    model: Some("Xeon 8480".into()),
                    cores: Some(56),
                    threads: Some(112),
                    ..Default::default()
                },
                Cpu {
                    id: "CPU2".into(),
                    model: Some("Xeon 8480".into()),
                    cores: Some(56),
                    threads: Some(112),
                    ..Default::default()
                },
            ],
            memory: MemorySummary {
                total_gib: Some(2048.0),
                dimms: 32,
            },
            gpus: vec![
                Gpu {
                    id: "GPU0".into(),
                    path: "/redfish/v1/Systems/1/Processors/GPU0".into(),
                    serial: Some("1653724058070".into()),
                    uuid: Some("4D44B188-25D2-522F-4F9F-652AE58C9129".into()),
                    model: Some("NVIDIA H100 80GB HBM3".into()),
                    firmware: Some("96.00.74.00.01".into()),
                    location: Some("SXM1".into()),
                    ..Default::default()
                },
                Gpu {
                    id: "GPU1".into(),
                    path: "/redfish/v1/Chassis/GPU1".into(),
                    serial: None,
                    uuid: Some("GPU-aaaa".into()),
                    ..Default::default()
                },
                Gpu {
                    id: "GPU2".into(),
                    path: "/redfish/v1/Chassis/GPU2".into(),
                    serial: Some("N/A".into()),
                    ..Default::default()
                },
            ],
            nics: vec![
                Nic {
                    id: "NIC1".into(),
                    path: "/p".into(),
                    mac: "0C-42-A1-00-00-01".into(),
                    speed_mbps: Some(400_000),
                    link: Some("LinkUp".into()),
                    ..Default::default()
                },
                Nic {
                    id: "NIC2".into(),
                    path: "/q".into(),
                    mac: "".into(),
                    ..Default::default()
                },
            ],
            disks: vec![
                Disk {
                    id: "Disk0".into(),
                    path: "/d0".into(),
                    serial: Some("S0001".into()),
                    capacity_bytes: Some(3_840_000_000_000),
                    ..Default::default()
                },
                Disk {
                    id: "Disk/1".into(),
                    path: "/d1".into(),
                    ..Default::default()
                },
            ],
            firmware: [("BMC".to_string(), "1.12.0".to_string())].into(),
            bios: [("SriovGlobalEnable".to_string(), json!("Enabled"))].into(),
            warnings: vec![],
            gpus_promised_by: None,
        }
    }

    #[test]
    fn parts_are_keyed_by_serial_uuid_or_mac() {
        let o = observe(&sample(), "node-a");
        let gpus: Vec<_> = o
            .parts
            .iter()
            .filter(|p| p.kind == AssetKind::Gpu)
            .collect();
        assert_eq!(gpus.len(), 3);
        assert_eq!(gpus[0].key, PartKey::Serial("1653724058070".into()));
        assert_eq!(gpus[0].name, "gpu-1653724058070");
        assert_eq!(
            gpus[0].config["uuid"],
            "GPU-4d44b188-25d2-522f-4f9f-652ae58c9129"
        );
        assert_eq!(gpus[0].config["vbios"], "96.00.74.00.01");
        // No serial: the UUID names it; nothing usable: node-scoped id.
        assert_eq!(gpus[1].key, PartKey::Name);
        assert_eq!(gpus[1].name, "gpu-GPU-aaaa");
        assert_eq!(gpus[2].name, "gpu-node-a-GPU2");
        let nics: Vec<_> = o
            .parts
            .iter()
            .filter(|p| p.kind == AssetKind::Nic)
            .collect();
        assert_eq!(nics.len(), 1);
        assert_eq!(nics[0].key, PartKey::Mac("0c:42:a1:00:00:01".into()));
        assert!(
            nics[0].config.get("link").is_none(),
            "link state is status, not configuration"
        );
        assert_eq!(o.skipped.len(), 1, "{:?}", o.skipped);
        assert!(o.skipped[0].contains("NIC2"));
        let disks: Vec<_> = o
            .parts
            .iter()
            .filter(|p| p.kind == AssetKind::Disk)
            .collect();
        assert_eq!(disks[0].key, PartKey::Serial("S0001".into()));
        assert_eq!(disks[1].name, "disk-node-a-Disk_1");
        // Every part configuration passes the CMDB's own validation.
        for p in &o.parts {
            fleet_model::asset::validate_config(p.kind, &p.config).unwrap();
        }
    }

    #[test]
    fn node_configuration_has_what_profiles_validate() {
        let o = observe(&sample(), "node-a");
        let c = Value::Object(o.node_config.clone());
        assert_eq!(c["bios"]["SriovGlobalEnable"], "Enabled");
        assert_eq!(c["firmware"]["BMC"], "1.12.0");
        assert_eq!(c["cpus"]["count"], 2);
        assert_eq!(c["cpus"]["cores"], 112);
        assert_eq!(c["cpus"]["models"], json!(["Xeon 8480"]));
        assert_eq!(c["memory"]["total_gib"], 2048.0);
        assert_eq!(c["system"]["serial"], "S123");
        assert_eq!(c["serial"], "S123");
        assert!(
            c["system"].get("power_state").is_none(),
            "power state is status"
        );
        fleet_model::asset::validate_config(AssetKind::Node, &c).unwrap();
        let spec: fleet_model::profile::ProfileSpec = serde_json::from_value(json!({
            "bios": {"SriovGlobalEnable": "Disabled"}, "firmware": {"BMC": "1.12.0"}
        }))
        .unwrap();
        let r = fleet_model::profile::validate(
            "p",
            &spec,
            &fleet_model::profile::ActualNode {
                config: c,
                gpu_models: vec![],
            },
        );
        let bad: Vec<_> = r.mismatches().map(|m| m.field.as_str()).collect();
        assert_eq!(bad, ["bios/SriovGlobalEnable"]);
    }

    #[test]
    fn gpus_sharing_a_serial_are_keyed_by_serial_and_chassis() {
        let mut inv = sample();
        inv.gpus = (0..4)
            .map(|i| Gpu {
                id: format!("HGX_GPU_{i}"),
                path: format!("/redfish/v1/Chassis/HGX_GPU_{i}"),
                serial: Some(format!("S{}", i / 2)),
                chassis: Some(format!("HGX_GPU_{i}")),
                ..Default::default()
            })
            .collect();
        let o = observe(&inv, "node-a");
        let gpus: Vec<_> = o
            .parts
            .iter()
            .filter(|p| p.kind == AssetKind::Gpu)
            .collect();
        assert_eq!(gpus.len(), 4, "{:?}", o.skipped);
        let names: Vec<&str> = gpus.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "gpu-S0-HGX_GPU_0",
                "gpu-S0-HGX_GPU_1",
                "gpu-S1-HGX_GPU_2",
                "gpu-S1-HGX_GPU_3"
            ]
        );
        assert!(gpus.iter().all(|p| p.key == PartKey::Name));
        assert_eq!(gpus[1].config["serial"], "S0");
        assert_eq!(gpus[1].config["chassis"], "HGX_GPU_1");
        assert!(
            !o.skipped.iter().any(|s| s.starts_with("GPU")),
            "{:?}",
            o.skipped
        );
    }

    #[test]
    fn an_unchanged_server_maps_to_the_same_observation() {
        assert_eq!(observe(&sample(), "n"), observe(&sample(), "n"));
    }

    #[test]
    fn a_partial_read_does_not_remove_what_it_could_not_see() {
        let mut inv = sample();
        inv.gpus.clear();
        let o = observe(&inv, "n");
        assert!(
            o.complete_kinds.contains(&AssetKind::Gpu),
            "a complete read with no GPUs lists none"
        );
        inv.warnings
            .push("gpus, bios: the GPU collection did not answer".into());
        let o = observe(&inv, "n");
        assert!(!o.complete_kinds.contains(&AssetKind::Gpu));
        assert!(o.complete_kinds.contains(&AssetKind::Nic));
        // An unread BIOS keeps the stored attributes; the firmware read is taken.
        assert!(!o.node_config.contains_key("bios"));
        assert!(o.node_config.contains_key("firmware"));
    }

    #[test]
    fn failures_are_worded_for_operators() {
        let e = BmcError::Unauthorized {
            endpoint: "https://10.0.0.5".into(),
        };
        let r = failure_reason(&e);
        assert!(r.starts_with("BMC authentication failed: "), "{r}");
        let e = BmcError::Connect {
            endpoint: "https://10.0.0.5".into(),
            detail: "connection refused".into(),
        };
        assert!(failure_reason(&e).starts_with("BMC unreachable"));
    }

    #[test]
    fn gpu_uuids_take_the_nvml_form() {
        assert_eq!(gpu_uuid("ABC-1"), "GPU-abc-1");
        assert_eq!(gpu_uuid("gpu-ABC-1"), "GPU-abc-1");
    }
}
