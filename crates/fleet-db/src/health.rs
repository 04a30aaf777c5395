//! Changes of a GPU's derived health (telemetry): each is a `gpu.status_changed` outbox event
//! and a `gpu_health_history` row, committed together. Changes of a node's health (its GPUs and
//! BMC readings) and of a switch port's are `system.status_changed` / `network.status_changed`
//! events with an `asset_health_history` row. Samples themselves never come here,
//! and nothing here touches an asset's configuration versions.
//!
//! No audit row: a derived health change is an observation, not an action of a principal;
//! the event and the history row are its record.

use fleet_model::event::types;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::DbResult;
use crate::store::{Actor, Store};

/// One GPU's health change, as recorded.
#[derive(Debug, Clone)]
pub struct GpuHealthChange {
    /// The GPU asset.
    pub gpu_id: String,
    /// The GPU's serial, if it has one: the history follows it.
    pub serial: Option<String>,
    /// The node the GPU was in.
    pub node_id: Option<String>,
    pub old_state: String,
    pub new_state: String,
    /// Reasons of the new state (JSON array).
    pub reasons: Value,
    /// Reasons of the old state (JSON array), for the event.
    pub old_reasons: Value,
    /// When the change was seen, Unix milliseconds.
    pub at_ms: i64,
}

impl GpuHealthChange {
    /// The history key: the serial, or `asset:<id>` for a GPU without one.
    pub fn key(&self) -> String {
        history_key(&self.gpu_id, self.serial.as_deref())
    }
}

/// The history key of a GPU: its serial, or `asset:<id>` when it has none.
pub fn history_key(gpu_id: &str, serial: Option<&str>) -> String {
    match serial.filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => format!("asset:{gpu_id}"),
    }
}

/// One row of a GPU's health history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GpuHealthRow {
    pub id: i64,
    /// The GPU's serial (or `asset:<id>`).
    pub gpu_key: String,
    /// The GPU asset at the time.
    pub gpu_id: String,
    /// The node it was in at the time.
    pub node_id: Option<String>,
    pub old_state: String,
    pub new_state: String,
    /// JSON array of the reasons of the new state.
    pub reasons: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// A node's or switch port's health change, as recorded.
#[derive(Debug, Clone)]
pub struct AssetHealthChange {
    /// The node, or the switch of a port.
    pub asset_id: String,
    /// The port name for a switch port; `None` for the node itself.
    pub port: Option<String>,
    pub old_state: String,
    pub new_state: String,
    /// Reasons of the new state (JSON array).
    pub reasons: Value,
    /// Reasons of the old state (JSON array), for the event.
    pub old_reasons: Value,
    /// When the change was seen, Unix milliseconds.
    pub at_ms: i64,
}

/// One row of a node's or switch's health history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AssetHealthRow {
    pub id: i64,
    pub asset_id: String,
    /// The port name, `""` for the asset itself.
    pub part: String,
    pub old_state: String,
    pub new_state: String,
    /// JSON array of the reasons of the new state.
    pub reasons: String,
    /// Unix milliseconds.
    pub at: i64,
}

impl Store {
    /// Records node and switch-port health changes: per change one event (`system.status_changed`
    /// for a node, `network.status_changed` for a port; subject: the node or switch) and one
    /// `asset_health_history` row, all in one transaction.
    pub async fn record_asset_health(
        &self,
        actor: &Actor,
        changes: &[AssetHealthChange],
    ) -> DbResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        for c in changes {
            let part = c.port.clone().unwrap_or_default();
            sqlx::query(
                "INSERT INTO asset_health_history (asset_id, part, old_state, new_state, reasons, at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&c.asset_id)
            .bind(&part)
            .bind(&c.old_state)
            .bind(&c.new_state)
            .bind(c.reasons.to_string())
            .bind(c.at_ms)
            .execute(&mut *tx)
            .await?;
            let (kind, data) = match &c.port {
                None => (
                    types::SYSTEM_STATUS_CHANGED,
                    json!({
                        "node": c.asset_id,
                        "old": {"state": c.old_state, "reasons": c.old_reasons},
                        "new": {"state": c.new_state, "reasons": c.reasons},
                        "at": crate::rfc3339(c.at_ms),
                    }),
                ),
                Some(port) => (
                    types::NETWORK_STATUS_CHANGED,
                    json!({
                        "switch": c.asset_id,
                        "port": port,
                        "old": {"state": c.old_state, "reasons": c.old_reasons},
                        "new": {"state": c.new_state, "reasons": c.reasons},
                        "at": crate::rfc3339(c.at_ms),
                    }),
                ),
            };
            self.outbox_tx(&mut tx, actor, kind, &c.asset_id, data)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A node's or switch's health history, newest first: the asset itself (`part` `""`), one
    /// port, or (`part` `None`) everything.
    pub async fn asset_health_history(
        &self,
        asset_id: &str,
        part: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<AssetHealthRow>> {
        let rows = match part {
            Some(part) => {
                sqlx::query_as::<_, AssetHealthRow>(
                    "SELECT id, asset_id, part, old_state, new_state, reasons, at \
                     FROM asset_health_history WHERE asset_id = $1 AND part = $2 \
                     ORDER BY at DESC, id DESC LIMIT $3",
                )
                .bind(asset_id)
                .bind(part)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query_as::<_, AssetHealthRow>(
                    "SELECT id, asset_id, part, old_state, new_state, reasons, at \
                     FROM asset_health_history WHERE asset_id = $1 \
                     ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(asset_id)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
            }
        };
        Ok(rows)
    }

    /// Records health changes: per change one `gpu.status_changed` event (subject: the GPU) and
    /// one history row, all in one transaction.
    pub async fn record_gpu_health(
        &self,
        actor: &Actor,
        changes: &[GpuHealthChange],
    ) -> DbResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        for c in changes {
            sqlx::query(
                "INSERT INTO gpu_health_history (gpu_key, gpu_id, node_id, old_state, new_state, reasons, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(c.key())
            .bind(&c.gpu_id)
            .bind(c.node_id.clone())
            .bind(&c.old_state)
            .bind(&c.new_state)
            .bind(c.reasons.to_string())
            .bind(c.at_ms)
            .execute(&mut *tx)
            .await?;
            self.outbox_tx(
                &mut tx,
                actor,
                types::GPU_STATUS_CHANGED,
                &c.gpu_id,
                json!({
                    "gpu": c.gpu_id,
                    "serial": c.serial,
                    "node": c.node_id,
                    "old": {"state": c.old_state, "reasons": c.old_reasons},
                    "new": {"state": c.new_state, "reasons": c.reasons},
                    "at": crate::rfc3339(c.at_ms),
                }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A GPU's health history by its key ([`history_key`]), newest first.
    pub async fn gpu_health_history(&self, key: &str, limit: i64) -> DbResult<Vec<GpuHealthRow>> {
        Ok(sqlx::query_as::<_, GpuHealthRow>(
            "SELECT id, gpu_key, gpu_id, node_id, old_state, new_state, reasons, at \
             FROM gpu_health_history WHERE gpu_key = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(key)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }
}
