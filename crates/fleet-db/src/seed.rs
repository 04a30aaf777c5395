//! Bulk seeding of a synthetic fleet, for benchmarks and demos. Rows are
//! written with multi-row inserts in one transaction; the whole seed is one
//! audit row and one outbox event rather than one per asset.

use serde_json::json;

use crate::audit::AuditEntry;
use crate::error::DbResult;
use crate::now_ms;
use crate::store::{Actor, Store};

/// What [`Store::seed_fleet`] created.
#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    pub rack_ids: Vec<String>,
    pub node_ids: Vec<String>,
    /// Lifecycle state of each node in `node_ids`.
    pub node_states: Vec<&'static str>,
    pub gpus: usize,
}

const NODE_STATES: [&str; 10] = [
    "in_service",
    "in_service",
    "in_service",
    "in_service",
    "in_service",
    "in_service",
    "in_service",
    "ready",
    "ready",
    "maintenance",
];

struct Row {
    id: String,
    kind: &'static str,
    name: String,
    parent: Option<String>,
    rack: Option<String>,
    model: Option<String>,
    serial: Option<String>,
    config: String,
    state: Option<&'static str>,
}

impl Store {
    /// Seeds `racks` racks with `nodes` nodes spread over them, each with
    /// `gpus_per_node` GPUs. Nodes get lifecycle states (70 % in_service,
    /// 20 % ready, 10 % maintenance) and a `tier` label.
    pub async fn seed_fleet(
        &self,
        actor: &Actor,
        racks: usize,
        nodes: usize,
        gpus_per_node: usize,
    ) -> DbResult<SeedSummary> {
        let now = now_ms();
        let mut rows = Vec::with_capacity(racks + nodes * (gpus_per_node + 1));
        let mut sum = SeedSummary::default();
        for r in 0..racks {
            let id = fleet_model::new_id("rack");
            rows.push(Row {
                id: id.clone(),
                kind: "rack",
                name: format!("rack-{r:03}"),
                parent: None,
                rack: None,
                model: None,
                serial: None,
                config: "{}".into(),
                state: None,
            });
            sum.rack_ids.push(id);
        }
        for n in 0..nodes {
            let rack = sum.rack_ids[n % racks.max(1)].clone();
            let id = fleet_model::new_id("node");
            let state = NODE_STATES[n % NODE_STATES.len()];
            let cfg = json!({"model": "HGX-H100", "serial": format!("NODE{n:06}"), "driver": "550.90.07", "cuda": "12.4"});
            rows.push(Row {
                id: id.clone(),
                kind: "node",
                name: format!("node-{n:05}"),
                parent: Some(rack.clone()),
                rack: Some(rack.clone()),
                model: Some("HGX-H100".into()),
                serial: Some(format!("NODE{n:06}")),
                config: cfg.to_string(),
                state: Some(state),
            });
            for g in 0..gpus_per_node {
                let serial = format!("16500{n:06}{g:02}");
                let cfg = json!({"model": "NVIDIA H100 80GB HBM3", "serial": serial, "uuid": format!("GPU-{n:06}-{g:02}"), "pci_address": format!("00000000:{:02X}:00.0", 0x18 + g * 0x10)});
                rows.push(Row {
                    id: fleet_model::new_id("gpu"),
                    kind: "gpu",
                    name: format!("node-{n:05}-gpu{g}"),
                    parent: Some(id.clone()),
                    rack: Some(rack.clone()),
                    model: Some("NVIDIA H100 80GB HBM3".into()),
                    serial: Some(serial),
                    config: cfg.to_string(),
                    state: None,
                });
            }
            sum.node_ids.push(id);
            sum.node_states.push(state);
            sum.gpus += gpus_per_node;
        }
        let mut tx = self.write.begin().await?;
        for chunk in rows.chunks(400) {
            let mut sql = String::from("INSERT INTO assets (id, kind, name, parent_id, rack_id, model, serial, address, labels, config, version, state, state_entered_at, profile_id, created_at, updated_at) VALUES ");
            let mut vs = String::from("INSERT INTO config_versions (asset_id, version, config, diff, actor, reason, created_at) VALUES ");
            for (i, _) in chunk.iter().enumerate() {
                let b = i * 10;
                if i > 0 {
                    sql.push(',');
                    vs.push(',');
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, NULL, ${}, ${}, 1, ${}, {now}, NULL, {now}, {now})",
                    b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10
                ));
                let c = i * 3;
                vs.push_str(&format!(
                    "(${}, 1, ${}, '[]', ${}, 'seed', {now})",
                    c + 1,
                    c + 2,
                    c + 3
                ));
            }
            let mut q = sqlx::query(&sql);
            for r in chunk {
                let labels = if r.kind == "node" {
                    json!({"tier": tier(&r.name)}).to_string()
                } else {
                    "{}".into()
                };
                q = q
                    .bind(r.id.clone())
                    .bind(r.kind)
                    .bind(r.name.clone())
                    .bind(r.parent.clone())
                    .bind(r.rack.clone())
                    .bind(r.model.clone())
                    .bind(r.serial.clone())
                    .bind(labels)
                    .bind(r.config.clone())
                    .bind(r.state);
            }
            q.execute(&mut *tx).await?;
            let mut q = sqlx::query(&vs);
            for r in chunk {
                q = q
                    .bind(r.id.clone())
                    .bind(r.config.clone())
                    .bind(actor.name.clone());
            }
            q.execute(&mut *tx).await?;
            let nodes: Vec<&Row> = chunk.iter().filter(|r| r.kind == "node").collect();
            if !nodes.is_empty() {
                let mut ls =
                    String::from("INSERT INTO asset_labels (asset_id, key, value) VALUES ");
                for (i, _) in nodes.iter().enumerate() {
                    if i > 0 {
                        ls.push(',');
                    }
                    ls.push_str(&format!("(${}, 'tier', ${})", i * 2 + 1, i * 2 + 2));
                }
                let mut q = sqlx::query(&ls);
                for r in nodes {
                    q = q.bind(r.id.clone()).bind(tier(&r.name));
                }
                q.execute(&mut *tx).await?;
            }
        }
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "fleet.seed",
                kind: "import",
                target: None,
                before: None,
                after: Some(json!({"racks": racks, "nodes": nodes, "gpus": sum.gpus})),
            },
        )
        .await?;
        self.outbox_tx(
            &mut tx,
            actor,
            fleet_model::event::types::ASSET_CREATED,
            "fleet",
            json!({"seeded": {"racks": racks, "nodes": nodes, "gpus": sum.gpus}}),
        )
        .await?;
        tx.commit().await?;
        sqlx::query("ANALYZE").execute(&self.write).await?;
        Ok(sum)
    }
}

fn tier(name: &str) -> &'static str {
    if name.ends_with('0') {
        "gold"
    } else {
        "std"
    }
}
