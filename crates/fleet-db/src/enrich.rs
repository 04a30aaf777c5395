//! Discovery and inventory enrichment: registering BMCs (a node in `discovered` with its BMC and
//! the sealed password, in one transaction) and applying a hardware inventory read from a BMC to
//! a node and its parts (GPUs, NICs, disks), with part moves between nodes, validation against
//! the node's expected profile and the lifecycle step, all in one transaction.
//!
//! Parts are matched by their natural key across the whole fleet: GPUs and disks by serial
//! (GPUs without one by UUID), NICs by MAC. A part found under another node is the same asset,
//! moved: it is re-parented, both nodes get a new configuration version, and the move is
//! audited and published. A part the BMC no longer reports stays in the inventory marked
//! `present: false` (a new version of the part), so that it is recognised as moved if it turns
//! up in another node later.

use std::collections::{BTreeMap, BTreeSet};

use fleet_model::asset::{Asset, AssetKind, RelationKind};
use fleet_model::event::types;
use fleet_model::lifecycle::{check_transition, GuardContext, NodeState};
use fleet_model::profile::{validate, ActualNode, ProfileSpec, ValidationReport};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sqlx::{Any, Row, Transaction};

use crate::assets::{AssetRow, NewAsset, NewRelation};
use crate::audit::AuditEntry;
use crate::error::{DbError, DbResult};
use crate::now_ms;
use crate::store::{Actor, Store};

/// A BMC to register; the node it manages is created with it.
#[derive(Debug, Clone, Default)]
pub struct BmcRegistration {
    /// Host, host:port or URL; normalised with [`normalize_bmc_address`].
    pub address: String,
    /// `redfish` or `ipmi`.
    pub protocol: String,
    pub username: String,
    pub password: String,
    /// Accept a self-signed TLS certificate from this BMC.
    pub accept_self_signed: bool,
    /// Rack the node goes into (id or name).
    pub rack: Option<String>,
    /// Expected profile (id or name).
    pub profile: Option<String>,
    /// Node name; default `node-<host:port>`.
    pub name: Option<String>,
    /// Further BMC configuration (e.g. `ipmi_address`, `redfish_address`, `timeout_s`).
    pub extra: Map<String, Value>,
    /// When the address is registered already, leave its stored credentials as they are
    /// (self-announcements; callers who may not replace credentials).
    pub keep_existing_credentials: bool,
}

/// The outcome of one registration.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub node: Asset,
    pub bmc: Asset,
    /// False when the BMC address was already registered (nothing was created).
    pub created: bool,
    /// The stored password was replaced (re-registration with other credentials).
    pub credentials_updated: bool,
}

/// Normalises a BMC address so that one BMC has one spelling: lower case, no trailing `/`,
/// `https://` added to a bare Redfish host.
pub fn normalize_bmc_address(address: &str, protocol: &str) -> DbResult<String> {
    let a = address.trim().trim_end_matches('/').to_ascii_lowercase();
    if a.is_empty() {
        return Err(DbError::Invalid(
            "a BMC needs 'address' (host, host:port or URL)".into(),
        ));
    }
    if a.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DbError::Invalid(format!(
            "BMC address '{address}' contains white space"
        )));
    }
    let has_scheme = a.contains("://");
    if has_scheme && !(a.starts_with("http://") || a.starts_with("https://")) {
        return Err(DbError::Invalid(format!(
            "BMC address '{address}' must be host[:port] or an http:// or https:// URL"
        )));
    }
    if has_scheme && a.split_once("://").is_some_and(|(_, r)| r.contains('/')) {
        return Err(DbError::Invalid(format!(
            "BMC address '{address}' must not have a path; give the service's base URL"
        )));
    }
    Ok(if !has_scheme && protocol == "redfish" {
        format!("https://{a}")
    } else {
        a
    })
}

/// `host[:port]` of an address, for asset names.
fn host_part(address: &str) -> &str {
    address.split_once("://").map(|(_, r)| r).unwrap_or(address)
}

/// One part the BMC reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPart {
    pub kind: AssetKind,
    /// Natural key: serial (GPU, disk), UUID (a GPU without serial), MAC (NIC), or a
    /// node-scoped id when the BMC gives nothing better.
    pub key: PartKey,
    /// Name of the asset when it is created.
    pub name: String,
    /// Configuration as read (merged over the stored one; `present` is set to true).
    pub config: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartKey {
    /// Matched on the indexed serial column.
    Serial(String),
    /// Matched on the indexed address column (NIC MAC, normalised).
    Mac(String),
    /// Matched on the asset name (UUID-named GPUs, node-scoped ids).
    Name,
}

impl ObservedPart {
    fn describe(&self) -> String {
        match &self.key {
            PartKey::Serial(s) => format!("{} serial {s}", self.kind),
            PartKey::Mac(m) => format!("{} {m}", self.kind),
            PartKey::Name => format!("{} {}", self.kind, self.name),
        }
    }
}

/// When validation events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidateWhen {
    /// Always (inspection).
    Always,
    /// Only when the node or one of its parts changed (status sync: drift).
    OnChange,
}

/// A hardware inventory to apply to one node.
#[derive(Debug, Clone)]
pub struct InventoryApply {
    pub node_id: String,
    /// Top-level keys of the node's configuration set from the inventory (system, cpus,
    /// memory, firmware, bios, ...). Other keys are kept.
    pub node_config: Map<String, Value>,
    /// Every GPU, NIC and disk the BMC reports.
    pub parts: Vec<ObservedPart>,
    /// Kinds whose list is complete: stored parts of these kinds that were not observed are
    /// marked removed. A kind the BMC could not read must not be listed.
    pub complete_kinds: Vec<AssetKind>,
    /// The node must be in this state (else [`DbError::Conflict`], nothing changes): the
    /// guard against applying a stale or duplicate inspection.
    pub expect_state: Option<NodeState>,
    /// Lifecycle step at the end (e.g. inspecting → ready).
    pub transition_to: Option<NodeState>,
    pub validate_when: ValidateWhen,
    /// What said the node has GPUs (its model, chassis named for GPUs), when the BMC reported
    /// none: with no GPU among `parts`, a step to `ready` becomes `inspection_failed` saying so
    /// (as it does when the node's profile asks for GPUs; a profile with `gpu_count: 0` says
    /// the node has none).
    pub gpus_promised_by: Option<String>,
    /// Reason recorded with every version, e.g. `inspection` or `status sync`.
    pub reason: String,
}

/// A part found under another node.
#[derive(Debug, Clone, Serialize)]
pub struct PartMove {
    pub asset_id: String,
    pub kind: AssetKind,
    pub key: String,
    pub from_node: Option<String>,
    pub to_node: String,
}

/// What applying an inventory did.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryOutcome {
    pub node: Asset,
    /// A new node configuration version was written.
    pub node_changed: bool,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub moved: Vec<PartMove>,
    pub removed: Vec<String>,
    pub validation: Option<ValidationReport>,
    /// The validation was published (ConfigValidated or ConfigConflict).
    pub validation_published: bool,
    pub transitioned: Option<NodeState>,
    /// Other nodes with the same system serial (flagged with a warning and an AlertRaised).
    pub duplicate_serial_of: Vec<String>,
}

impl InventoryOutcome {
    pub fn changed(&self) -> bool {
        self.node_changed
            || !self.created.is_empty()
            || !self.updated.is_empty()
            || !self.moved.is_empty()
            || !self.removed.is_empty()
    }
}

fn summary(a: &Asset) -> Value {
    json!({"id": a.id, "kind": a.kind, "name": a.name, "version": a.version, "parent_id": a.parent_id, "serial": a.serial, "address": a.address})
}

/// Whether a part is still in its node: the enricher marks a part the BMC no longer reports
/// `present: false` (it stays under the node so that it is recognised as moved if it turns up
/// elsewhere).
pub fn part_present(a: &Asset) -> bool {
    a.config.get("present").and_then(|p| p.as_bool()) != Some(false)
}

fn part_key_string(a: &Asset) -> String {
    a.serial
        .clone()
        .or_else(|| a.address.clone())
        .unwrap_or_else(|| a.name.clone())
}

/// Why a node whose BMC reported no GPU must not go `ready`: its profile asks for GPUs, or
/// something on the BMC said it has some (and no profile says it has none).
pub fn missing_gpus(
    profile_gpus: &Option<(String, u32)>,
    promised_by: Option<&str>,
) -> Option<String> {
    match (profile_gpus, promised_by) {
        (Some((_, 0)), _) => None,
        (Some((name, n)), why) => Some(format!(
            "no GPU found: the BMC reports none and the expected profile '{name}' asks for {n}{}",
            why.map(|w| format!(" ({w})")).unwrap_or_default()
        )),
        (None, Some(why)) => Some(format!(
            "no GPU found: the BMC reports none, although {why}"
        )),
        (None, None) => None,
    }
}

/// `base` with every key of `over` set.
fn merged(base: &Value, over: &Value) -> Value {
    let mut out = base.as_object().cloned().unwrap_or_default();
    if let Some(o) = over.as_object() {
        for (k, v) in o {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

impl Store {
    /// The BMC registered at `address` (normalised), if any.
    pub async fn find_bmc_by_address(&self, address: &str) -> DbResult<Option<Asset>> {
        let row: Option<AssetRow> = sqlx::query_as(
            "SELECT * FROM assets WHERE kind = 'bmc' AND address = $1 ORDER BY id LIMIT 1",
        )
        .bind(address)
        .fetch_optional(&self.read)
        .await?;
        row.map(Asset::try_from).transpose()
    }

    /// Registers a BMC: creates a node in `discovered` (HardwareDiscovered), its BMC child
    /// with the password sealed in the secret store, and the `manages` relation, in one
    /// transaction. Idempotent on the normalised address: a BMC already registered creates
    /// nothing (its stored password is replaced when another one is given).
    pub async fn register_bmc(&self, actor: &Actor, reg: BmcRegistration) -> DbResult<Registered> {
        let protocol = if reg.protocol.is_empty() {
            "redfish".to_string()
        } else {
            reg.protocol.to_ascii_lowercase()
        };
        if !matches!(protocol.as_str(), "redfish" | "ipmi") {
            return Err(DbError::Invalid(format!(
                "BMC protocol '{}' is not supported; use 'redfish' or 'ipmi'",
                reg.protocol
            )));
        }
        if reg.username.trim().is_empty() {
            return Err(DbError::Invalid("a BMC needs 'username'".into()));
        }
        if reg.password.is_empty() {
            return Err(DbError::Invalid("a BMC needs 'password'".into()));
        }
        let address = normalize_bmc_address(&reg.address, &protocol)?;
        if let Some(r) = self.existing_registration(actor, &address, &reg).await? {
            return Ok(r);
        }
        match self
            .create_registration(actor, &address, &protocol, &reg)
            .await
        {
            Ok(r) => Ok(r),
            // A concurrent registration of the same address won the race.
            Err(DbError::Conflict(msg)) => {
                match self.existing_registration(actor, &address, &reg).await? {
                    Some(r) => Ok(r),
                    None => Err(DbError::Conflict(msg)),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn existing_registration(
        &self,
        actor: &Actor,
        address: &str,
        reg: &BmcRegistration,
    ) -> DbResult<Option<Registered>> {
        let Some(bmc) = self.find_bmc_by_address(address).await? else {
            return Ok(None);
        };
        let node_id = bmc.parent_id.clone().ok_or_else(|| {
            DbError::Conflict(format!(
                "BMC '{}' at {address} is registered but belongs to no node; give it a parent node first",
                bmc.name
            ))
        })?;
        let node = self.get_asset(&node_id).await?;
        // The given credentials replace the stored ones every time, without comparing them:
        // an answer that differed with the stored password would tell a caller whether a
        // guess was right.
        let mut credentials_updated = false;
        if !reg.password.is_empty() && !reg.keep_existing_credentials {
            let mut tx = self.write.begin().await?;
            let before = self.get_asset_tx(&mut tx, &bmc.id, true).await?;
            let mut cfg = before.config.clone();
            if let Some(o) = cfg.as_object_mut() {
                o.insert("username".into(), Value::String(reg.username.clone()));
                o.insert("password".into(), Value::String(reg.password.clone()));
            }
            self.update_config_tx(
                &mut tx,
                actor,
                before,
                None,
                cfg,
                Some("credentials replaced at re-registration".into()),
                "config.update",
            )
            .await?;
            self.audit_tx(
                &mut tx,
                actor,
                AuditEntry {
                    action: "bmc.credentials",
                    kind: "secret",
                    target: Some(&bmc.id),
                    before: None,
                    after: Some(json!({"username": reg.username, "password": "***"})),
                },
            )
            .await?;
            tx.commit().await?;
            credentials_updated = true;
        }
        let bmc = self.get_asset(&bmc.id).await?;
        Ok(Some(Registered {
            node,
            bmc,
            created: false,
            credentials_updated,
        }))
    }

    async fn create_registration(
        &self,
        actor: &Actor,
        address: &str,
        protocol: &str,
        reg: &BmcRegistration,
    ) -> DbResult<Registered> {
        let rack_id = match &reg.rack {
            Some(r) => Some(self.resolve(AssetKind::Rack, r).await?.id),
            None => None,
        };
        let profile_id = match &reg.profile {
            Some(p) => Some(self.get_profile(p).await?.id),
            None => None,
        };
        let host = host_part(address).to_string();
        let node_name = reg.name.clone().unwrap_or_else(|| format!("node-{host}"));
        let mut bmc_cfg = reg.extra.clone();
        bmc_cfg.insert("address".into(), Value::String(address.to_string()));
        bmc_cfg.insert("protocol".into(), Value::String(protocol.to_string()));
        bmc_cfg.insert("username".into(), Value::String(reg.username.clone()));
        bmc_cfg.insert("password".into(), Value::String(reg.password.clone()));
        bmc_cfg.insert(
            "accept_self_signed".into(),
            Value::Bool(reg.accept_self_signed),
        );
        let mut tx = self.write.begin().await?;
        let node = self
            .create_asset_tx(
                &mut tx,
                actor,
                NewAsset {
                    kind: AssetKind::Node,
                    name: node_name,
                    parent_id: rack_id,
                    labels: BTreeMap::new(),
                    config: json!({"discovered_via": address}),
                    profile_id,
                    reason: Some(format!("discovered: BMC {address}")),
                },
            )
            .await?;
        let bmc = self
            .create_asset_tx(
                &mut tx,
                actor,
                NewAsset {
                    kind: AssetKind::Bmc,
                    name: format!("bmc-{host}"),
                    parent_id: Some(node.id.clone()),
                    labels: BTreeMap::new(),
                    config: Value::Object(bmc_cfg),
                    profile_id: None,
                    reason: Some("registered for discovery".into()),
                },
            )
            .await?;
        self.create_relation_tx(
            &mut tx,
            actor,
            NewRelation {
                kind: RelationKind::Manages,
                from_id: bmc.id.clone(),
                to_id: node.id.clone(),
                attrs: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Registered {
            node,
            bmc,
            created: true,
            credentials_updated: false,
        })
    }

    /// Nodes in these states that have a BMC, in id order, `limit` at most, after `after_id`.
    pub async fn nodes_with_bmc(
        &self,
        states: &[NodeState],
        after_id: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Asset>> {
        if states.is_empty() {
            return Ok(vec![]);
        }
        let list = states
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT * FROM assets n WHERE n.kind = 'node' AND n.state IN ({list}) AND n.id > $1 \
             AND EXISTS (SELECT 1 FROM assets b WHERE b.parent_id = n.id AND b.kind = 'bmc') \
             ORDER BY n.id LIMIT $2"
        );
        let rows: Vec<AssetRow> = sqlx::query_as(&sql)
            .bind(after_id.unwrap_or(""))
            .bind(limit.clamp(1, 10_000))
            .fetch_all(&self.read)
            .await?;
        rows.into_iter().map(Asset::try_from).collect()
    }

    /// Applies an inventory to a node in one transaction: parts created, updated, moved in
    /// from other nodes or marked removed; a new node configuration version when anything
    /// changed; validation against the node's profile (ConfigValidated / ConfigConflict); the
    /// lifecycle step. Applying the same inventory twice changes nothing the second time.
    pub async fn apply_inventory(
        &self,
        actor: &Actor,
        inv: InventoryApply,
    ) -> DbResult<InventoryOutcome> {
        let mut tx = self.write.begin().await?;
        let out = self.apply_inventory_tx(&mut tx, actor, inv).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn apply_inventory_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        inv: InventoryApply,
    ) -> DbResult<InventoryOutcome> {
        let node = self.get_asset_tx(tx, &inv.node_id, true).await?;
        if node.kind != AssetKind::Node {
            return Err(DbError::Invalid(format!(
                "'{}' is a {}; only nodes have an inventory",
                node.id, node.kind
            )));
        }
        let state = node.state.unwrap_or(NodeState::Discovered);
        if let Some(expected) = inv.expect_state {
            if state != expected {
                return Err(DbError::Conflict(format!(
                    "node '{}' is {state}, not {expected}; the inventory was not applied",
                    node.name
                )));
            }
        }
        let reason = inv.reason.clone();
        let mut out = InventoryOutcome {
            node: node.clone(),
            node_changed: false,
            created: vec![],
            updated: vec![],
            moved: vec![],
            removed: vec![],
            validation: None,
            validation_published: false,
            transitioned: None,
            duplicate_serial_of: vec![],
        };
        let children: Vec<Asset> = {
            let rows: Vec<AssetRow> = sqlx::query_as(
                "SELECT * FROM assets WHERE parent_id = $1 AND kind IN ('gpu', 'nic', 'disk') ORDER BY id",
            )
            .bind(&node.id)
            .fetch_all(&mut **tx)
            .await?;
            rows.into_iter()
                .map(Asset::try_from)
                .collect::<DbResult<_>>()?
        };
        let mut seen: BTreeSet<String> = BTreeSet::new();
        // Old parents whose inventory summary loses a part that moved here.
        let mut left: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut gpu_models: Vec<Option<String>> = Vec::new();
        for part in &inv.parts {
            let mut config = part.config.clone();
            if let Some(o) = config.as_object_mut() {
                o.insert("present".into(), Value::Bool(true));
            }
            if part.kind == AssetKind::Gpu {
                gpu_models.push(
                    config
                        .get("model")
                        .and_then(|m| m.as_str())
                        .map(str::to_string),
                );
            }
            let existing = self.find_part_tx(tx, part).await?;
            match existing {
                None => {
                    let a = self
                        .create_asset_tx(
                            tx,
                            actor,
                            NewAsset {
                                kind: part.kind,
                                name: part.name.clone(),
                                parent_id: Some(node.id.clone()),
                                labels: BTreeMap::new(),
                                config,
                                profile_id: None,
                                reason: Some(format!("{reason}: found in node {}", node.name)),
                            },
                        )
                        .await
                        .map_err(|e| match e {
                            DbError::Conflict(m) => DbError::Conflict(format!(
                                "{}: {m}; an asset of that name exists with another key",
                                part.describe()
                            )),
                            other => other,
                        })?;
                    seen.insert(a.id.clone());
                    out.created.push(a.id);
                }
                Some(a) if a.parent_id.as_deref() == Some(node.id.as_str()) => {
                    seen.insert(a.id.clone());
                    let version = a.version;
                    let id = a.id.clone();
                    let after = self
                        .update_config_tx(
                            tx,
                            actor,
                            a.clone(),
                            None,
                            merged(&a.config, &config),
                            Some(reason.clone()),
                            "config.inventory",
                        )
                        .await?;
                    if after.version != version {
                        out.updated.push(id);
                    }
                }
                Some(a) => {
                    seen.insert(a.id.clone());
                    let from = a.parent_id.clone();
                    let moved = self
                        .move_part_tx(tx, actor, &a, &node, merged(&a.config, &config), &reason)
                        .await?;
                    if let Some(f) = &from {
                        left.entry(f.clone())
                            .or_default()
                            .push(part_key_string(&moved));
                    }
                    out.moved.push(PartMove {
                        asset_id: a.id.clone(),
                        kind: a.kind,
                        key: part_key_string(&moved),
                        from_node: from,
                        to_node: node.id.clone(),
                    });
                }
            }
        }
        for c in &children {
            if seen.contains(&c.id) || !part_present(c) || !inv.complete_kinds.contains(&c.kind) {
                continue;
            }
            let mut cfg = c.config.clone();
            if let Some(o) = cfg.as_object_mut() {
                o.insert("present".into(), Value::Bool(false));
            }
            self.update_config_tx(
                tx,
                actor,
                c.clone(),
                None,
                cfg,
                Some(format!(
                    "{reason}: no longer reported by the BMC of node {}",
                    node.name
                )),
                "config.inventory",
            )
            .await?;
            out.removed.push(c.id.clone());
        }
        // The node's own configuration: the inventory sections plus a summary of its parts.
        let mut parts_summary: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for p in &inv.parts {
            let key = match &p.key {
                PartKey::Serial(s) | PartKey::Mac(s) => s.clone(),
                PartKey::Name => p.name.clone(),
            };
            let section = match p.kind {
                AssetKind::Gpu => "gpus",
                AssetKind::Nic => "nics",
                _ => "disks",
            };
            parts_summary.entry(section).or_default().push(key);
        }
        let mut node_cfg = node.config.as_object().cloned().unwrap_or_default();
        for (k, v) in &inv.node_config {
            node_cfg.insert(k.clone(), v.clone());
        }
        // Another node with this system serial: one server registered twice (two BMC
        // addresses), or a board swapped in without the CMDB being told. Said, not merged.
        let mut duplicates: Vec<(String, String)> = vec![];
        if let Some(serial) = inv.node_config.get("serial").and_then(|s| s.as_str()) {
            let rows = sqlx::query(
                "SELECT id, name FROM assets WHERE kind = 'node' AND serial = $1 AND id <> $2 ORDER BY id",
            )
            .bind(serial)
            .bind(&node.id)
            .fetch_all(&mut **tx)
            .await?;
            for r in rows {
                duplicates.push((r.try_get("id")?, r.try_get("name")?));
            }
            if !duplicates.is_empty() {
                let names: Vec<&str> = duplicates.iter().map(|(_, n)| n.as_str()).collect();
                let warning = format!(
                    "system serial {serial} is also the serial of node(s) {}: the same server \
                     registered twice, or a board moved without the CMDB knowing",
                    names.join(", ")
                );
                let mut warnings = node_cfg
                    .get("inventory_warnings")
                    .and_then(|w| w.as_array())
                    .cloned()
                    .unwrap_or_default();
                warnings.push(Value::String(warning.clone()));
                node_cfg.insert("inventory_warnings".into(), Value::Array(warnings));
                out.duplicate_serial_of = duplicates.iter().map(|(id, _)| id.clone()).collect();
                if inv.validate_when == ValidateWhen::Always {
                    self.outbox_tx(
                        tx,
                        actor,
                        types::ALERT_RAISED,
                        &node.id,
                        json!({
                            "alert": "DuplicateSystemSerial",
                            "severity": "warning",
                            "serial": serial,
                            "node": node.id,
                            "also": duplicates.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
                            "message": warning,
                        }),
                    )
                    .await?;
                }
            }
        }
        let mut parts_doc = Map::new();
        for section in ["gpus", "nics", "disks"] {
            let mut keys = parts_summary.remove(section).unwrap_or_default();
            keys.sort();
            parts_doc.insert(section.into(), json!(keys));
        }
        node_cfg.insert("parts".into(), Value::Object(parts_doc));
        let mut node_reason = reason.clone();
        if !out.moved.is_empty() {
            node_reason.push_str(&format!(
                "; moved in: {}",
                out.moved
                    .iter()
                    .map(|m| m.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !out.removed.is_empty() {
            node_reason.push_str(&format!(
                "; {} part(s) no longer reported",
                out.removed.len()
            ));
        }
        let node_version = node.version;
        let mut node_after = self
            .update_config_tx(
                tx,
                actor,
                node.clone(),
                None,
                Value::Object(node_cfg),
                Some(node_reason),
                "config.inventory",
            )
            .await?;
        out.node_changed = node_after.version != node_version;
        // The nodes parts moved out of get a version too.
        for (from, keys) in left {
            self.record_departure_tx(tx, actor, &from, &keys, &node)
                .await?;
        }
        // Validation against the expected profile.
        let mut profile_gpus: Option<(String, u32)> = None;
        if let Some(pid) = &node_after.profile_id {
            let row = sqlx::query("SELECT name, spec FROM profiles WHERE id = $1")
                .bind(pid)
                .fetch_one(&mut **tx)
                .await?;
            let name: String = row.try_get("name")?;
            let spec: ProfileSpec = serde_json::from_str(&row.try_get::<String, _>("spec")?)?;
            profile_gpus = spec.gpu_count.map(|n| (name.clone(), n));
            let report = validate(
                &name,
                &spec,
                &ActualNode {
                    config: node_after.config.clone(),
                    gpu_models,
                },
            );
            if inv.validate_when == ValidateWhen::Always || out.changed() {
                let mismatches: Vec<Value> = report
                    .mismatches()
                    .map(|c| json!({"field": c.field, "expected": c.expected, "actual": c.actual}))
                    .collect();
                let ty = if report.passed {
                    types::CONFIG_VALIDATED
                } else {
                    types::CONFIG_CONFLICT
                };
                self.outbox_tx(
                    tx,
                    actor,
                    ty,
                    &node.id,
                    json!({
                        "profile": report.profile,
                        "profile_id": pid,
                        "passed": report.passed,
                        "version": node_after.version,
                        "differences": mismatches,
                        "checks": report.checks,
                        "reason": reason,
                    }),
                )
                .await?;
                out.validation_published = true;
            }
            out.validation = Some(report);
        }
        if let Some(mut to) = inv.transition_to {
            let mut step_reason = reason.clone();
            let gpus_found = inv.parts.iter().any(|p| p.kind == AssetKind::Gpu);
            if to == NodeState::Ready && !gpus_found {
                if let Some(why) = missing_gpus(&profile_gpus, inv.gpus_promised_by.as_deref()) {
                    to = NodeState::InspectionFailed;
                    step_reason = why;
                }
            }
            if to != state {
                self.transition_tx(tx, actor, &node_after, state, to, Some(step_reason))
                    .await?;
                out.transitioned = Some(to);
                node_after = self.get_asset_tx(tx, &node.id, false).await?;
            }
        }
        out.node = node_after;
        Ok(out)
    }

    async fn find_part_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        part: &ObservedPart,
    ) -> DbResult<Option<Asset>> {
        let row: Option<AssetRow> = match &part.key {
            PartKey::Serial(s) => {
                sqlx::query_as(
                    "SELECT * FROM assets WHERE kind = $1 AND serial = $2 ORDER BY id LIMIT 1",
                )
                .bind(part.kind.as_str())
                .bind(s)
                .fetch_optional(&mut **tx)
                .await?
            }
            PartKey::Mac(m) => {
                sqlx::query_as(
                    "SELECT * FROM assets WHERE kind = $1 AND address = $2 ORDER BY id LIMIT 1",
                )
                .bind(part.kind.as_str())
                .bind(m)
                .fetch_optional(&mut **tx)
                .await?
            }
            PartKey::Name => None,
        };
        let row = match row {
            Some(r) => Some(r),
            None => {
                sqlx::query_as("SELECT * FROM assets WHERE kind = $1 AND name = $2")
                    .bind(part.kind.as_str())
                    .bind(&part.name)
                    .fetch_optional(&mut **tx)
                    .await?
            }
        };
        row.map(Asset::try_from).transpose()
    }

    /// Re-parents a part into `to` with its new configuration, audited and published.
    async fn move_part_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        part: &Asset,
        to: &Asset,
        config: Value,
        reason: &str,
    ) -> DbResult<Asset> {
        let before = self.get_asset_tx(tx, &part.id, true).await?;
        let from_name = match &before.parent_id {
            Some(p) => self
                .get_asset_tx(tx, p, false)
                .await
                .map(|a| a.name)
                .unwrap_or_else(|_| p.clone()),
            None => "nowhere".into(),
        };
        sqlx::query(
            "UPDATE assets SET parent_id = $1, rack_id = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(&to.id)
        .bind(&to.rack_id)
        .bind(now_ms())
        .bind(&part.id)
        .execute(&mut **tx)
        .await?;
        let moved = self.get_asset_tx(tx, &part.id, false).await?;
        self.audit_tx(
            tx,
            actor,
            AuditEntry {
                action: &format!("{}.move", part.kind),
                kind: "move",
                target: Some(&part.id),
                before: Some(summary(&before)),
                after: Some(summary(&moved)),
            },
        )
        .await?;
        self.outbox_tx(
            tx,
            actor,
            types::RELATION_CHANGED,
            &part.id,
            json!({
                "op": "move",
                "kind": part.kind,
                "key": part_key_string(&before),
                "from_node": before.parent_id,
                "to_node": to.id,
                "reason": reason,
            }),
        )
        .await?;
        let mut cfg = config;
        if let Some(o) = cfg.as_object_mut() {
            o.insert("moved_from".into(), Value::String(from_name.clone()));
        }
        self.update_config_tx(
            tx,
            actor,
            moved,
            None,
            cfg,
            Some(format!(
                "{reason}: moved from node {from_name} to node {}",
                to.name
            )),
            "config.inventory",
        )
        .await
    }

    /// A new version of the node a part left: its part summary no longer lists it.
    async fn record_departure_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        from: &str,
        keys: &[String],
        to: &Asset,
    ) -> DbResult<()> {
        let before = self.get_asset_tx(tx, from, true).await?;
        let mut cfg = before.config.clone();
        let mut changed = false;
        if let Some(parts) = cfg.get_mut("parts").and_then(|p| p.as_object_mut()) {
            for list in parts.values_mut() {
                if let Some(arr) = list.as_array_mut() {
                    let n = arr.len();
                    arr.retain(|v| !v.as_str().is_some_and(|s| keys.iter().any(|k| k == s)));
                    changed |= arr.len() != n;
                }
            }
        }
        let moved_out = cfg
            .as_object_mut()
            .map(|o| o.entry("moved_out").or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = moved_out {
            for k in keys {
                let entry = json!({"key": k, "to_node": to.id});
                if !list.contains(&entry) {
                    list.push(entry);
                    changed = true;
                }
            }
        }
        if !changed {
            return Ok(());
        }
        self.update_config_tx(
            tx,
            actor,
            before,
            None,
            cfg,
            Some(format!("{} moved to node {}", keys.join(", "), to.name)),
            "config.inventory",
        )
        .await?;
        Ok(())
    }

    /// A lifecycle step inside the caller's transaction, checked against the transition
    /// table: state, history row, audit row and event.
    async fn transition_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        node: &Asset,
        from: NodeState,
        to: NodeState,
        reason: Option<String>,
    ) -> DbResult<()> {
        let has_bmc: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM assets WHERE parent_id = $1 AND kind = 'bmc'")
                .bind(&node.id)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
        let ctx = GuardContext {
            has_bmc: has_bmc > 0,
            has_profile: node.profile_id.is_some(),
            reason: reason.clone(),
        };
        check_transition(from, to, &ctx)?;
        let now = now_ms();
        let n = sqlx::query("UPDATE assets SET state = $1, state_entered_at = $2, updated_at = $2 WHERE id = $3 AND state = $4")
            .bind(to.as_str())
            .bind(now)
            .bind(&node.id)
            .bind(from.as_str())
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(DbError::Conflict(format!(
                "node '{}' changed state concurrently; read it again and retry",
                node.id
            )));
        }
        sqlx::query("INSERT INTO lifecycle_history (node_id, from_state, to_state, actor, reason, request_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&node.id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(&actor.name)
            .bind(&reason)
            .bind(&actor.request_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        self.audit_tx(
            tx,
            actor,
            AuditEntry {
                action: "node.transition",
                kind: "lifecycle",
                target: Some(&node.id),
                before: Some(json!({"state": from})),
                after: Some(json!({"state": to, "reason": reason})),
            },
        )
        .await?;
        self.outbox_tx(
            tx,
            actor,
            types::LIFECYCLE_CHANGED,
            &node.id,
            json!({"from": from, "to": to, "reason": reason}),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_have_one_spelling() {
        assert_eq!(
            normalize_bmc_address("10.0.0.5", "redfish").unwrap(),
            "https://10.0.0.5"
        );
        assert_eq!(
            normalize_bmc_address(" HTTP://127.0.0.1:8000/ ", "redfish").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            normalize_bmc_address("10.0.0.5:623", "ipmi").unwrap(),
            "10.0.0.5:623"
        );
        assert!(normalize_bmc_address("", "redfish").is_err());
        assert!(normalize_bmc_address("ftp://x", "redfish").is_err());
        assert!(normalize_bmc_address("https://x/redfish/v1", "redfish").is_err());
        assert_eq!(host_part("https://10.0.0.5:443"), "10.0.0.5:443");
    }

    #[test]
    fn a_node_without_gpus_is_held_back_when_something_promised_them() {
        let hgx = Some(("HGX-H100-8GPU".to_string(), 8));
        let r = missing_gpus(&hgx, None).unwrap();
        assert!(r.contains("'HGX-H100-8GPU' asks for 8"), "{r}");
        let r = missing_gpus(&None, Some("the system model is DGX H100")).unwrap();
        assert_eq!(
            r,
            "no GPU found: the BMC reports none, although the system model is DGX H100"
        );
        // A profile that says the node has no GPU overrides what the names suggest.
        let none = Some(("CPU".to_string(), 0));
        assert_eq!(
            missing_gpus(&none, Some("the system model is DGX H100")),
            None
        );
        assert_eq!(missing_gpus(&None, None), None);
    }

    #[test]
    fn merge_keeps_unobserved_keys() {
        let m = merged(&json!({"a": 1, "b": 2}), &json!({"b": 3, "c": 4}));
        assert_eq!(m, json!({"a": 1, "b": 3, "c": 4}));
    }
}
