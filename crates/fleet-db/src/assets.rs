//! Assets, labels, relations, configuration versions and the node lifecycle.

use std::collections::BTreeMap;

use fleet_model::asset::{
    credential_binding, indexed_fields, take_secret, validate_config, validate_label,
    validate_name, Asset, AssetKind, Relation, RelationKind,
};
use fleet_model::diff::{diff, Change};
use fleet_model::event::types;
use fleet_model::lifecycle::{check_transition, Deadlines, GuardContext, NodeState};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{Any, Row, Transaction};

use crate::audit::AuditEntry;
use crate::error::{DbError, DbResult};
use crate::now_ms;
use crate::query::{Bind, Sql};
use crate::store::{Actor, Store};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AssetRow {
    id: String,
    kind: String,
    name: String,
    parent_id: Option<String>,
    rack_id: Option<String>,
    model: Option<String>,
    serial: Option<String>,
    address: Option<String>,
    labels: String,
    config: String,
    version: i64,
    state: Option<String>,
    state_entered_at: Option<i64>,
    profile_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<AssetRow> for Asset {
    type Error = DbError;
    fn try_from(r: AssetRow) -> DbResult<Asset> {
        Ok(Asset {
            kind: r.kind.parse().map_err(DbError::Invalid)?,
            state: r.state.map(|s| s.parse()).transpose().map_err(
                |e: fleet_model::lifecycle::UnknownState| DbError::Invalid(e.to_string()),
            )?,
            labels: serde_json::from_str(&r.labels)?,
            config: serde_json::from_str(&r.config)?,
            id: r.id,
            name: r.name,
            parent_id: r.parent_id,
            rack_id: r.rack_id,
            model: r.model,
            serial: r.serial,
            address: r.address,
            version: r.version,
            state_entered_at: r.state_entered_at,
            profile_id: r.profile_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct RelationRow {
    id: String,
    kind: String,
    from_id: String,
    to_id: String,
    attrs: String,
    created_at: i64,
}

impl TryFrom<RelationRow> for Relation {
    type Error = DbError;
    fn try_from(r: RelationRow) -> DbResult<Relation> {
        Ok(Relation {
            id: r.id,
            kind: r.kind.parse().map_err(DbError::Invalid)?,
            from_id: r.from_id,
            to_id: r.to_id,
            attrs: serde_json::from_str(&r.attrs)?,
            created_at: r.created_at,
        })
    }
}

/// A new asset.
#[derive(Debug, Clone)]
pub struct NewAsset {
    pub kind: AssetKind,
    pub name: String,
    pub parent_id: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub config: Value,
    /// Expected profile (nodes only).
    pub profile_id: Option<String>,
    /// Creation reason, recorded with version 1.
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewRelation {
    pub kind: RelationKind,
    pub from_id: String,
    pub to_id: String,
    pub attrs: Value,
}

/// Changes to an asset besides its configuration.
#[derive(Debug, Clone, Default)]
pub struct AssetPatch {
    pub name: Option<String>,
    /// `Some(None)` detaches the asset from its parent.
    pub parent_id: Option<Option<String>>,
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub kind: Option<AssetKind>,
    pub state: Option<NodeState>,
    pub model: Option<String>,
    pub rack_id: Option<String>,
    pub parent_id: Option<String>,
    pub profile_id: Option<String>,
    pub serial: Option<String>,
    pub address: Option<String>,
    /// Name prefix.
    pub name_prefix: Option<String>,
    /// All of these labels (key, value).
    pub labels: Vec<(String, String)>,
    /// Only nodes past their state deadline at this time (ms), with these deadlines.
    pub stuck_at: Option<(i64, Deadlines)>,
    /// Keyset cursor: ids greater than this.
    pub after_id: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Last id of this page when more items follow.
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigVersion {
    pub asset_id: String,
    pub version: i64,
    pub config: Value,
    pub diff: Vec<Change>,
    pub actor: String,
    pub reason: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub node_id: String,
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub at: i64,
}

fn labels_json(l: &BTreeMap<String, String>) -> String {
    serde_json::to_string(l).expect("labels serialise")
}

fn summary(a: &Asset) -> Value {
    json!({"id": a.id, "kind": a.kind, "name": a.name, "version": a.version, "config": a.config, "labels": a.labels, "parent_id": a.parent_id, "state": a.state})
}

impl Store {
    pub(crate) async fn get_asset_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
        lock: bool,
    ) -> DbResult<Asset> {
        let sql = format!(
            "SELECT * FROM assets WHERE id = $1{}",
            if lock { self.for_update() } else { "" }
        );
        let row: Option<AssetRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        row.ok_or_else(|| DbError::NotFound(format!("asset '{id}' does not exist")))?
            .try_into()
    }

    pub async fn get_asset(&self, id: &str) -> DbResult<Asset> {
        let row: Option<AssetRow> = sqlx::query_as("SELECT * FROM assets WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.ok_or_else(|| DbError::NotFound(format!("asset '{id}' does not exist")))?
            .try_into()
    }

    pub async fn find_asset(&self, kind: AssetKind, name: &str) -> DbResult<Option<Asset>> {
        let row: Option<AssetRow> =
            sqlx::query_as("SELECT * FROM assets WHERE kind = $1 AND name = $2")
                .bind(kind.as_str())
                .bind(name)
                .fetch_optional(&self.read)
                .await?;
        row.map(Asset::try_from).transpose()
    }

    /// Resolves an id or a name of the given kind.
    pub async fn resolve(&self, kind: AssetKind, id_or_name: &str) -> DbResult<Asset> {
        match self.get_asset(id_or_name).await {
            Ok(a) if a.kind == kind => Ok(a),
            Ok(a) => Err(DbError::Invalid(format!(
                "'{id_or_name}' is a {}, not a {kind}",
                a.kind
            ))),
            Err(DbError::NotFound(_)) => {
                self.find_asset(kind, id_or_name).await?.ok_or_else(|| {
                    DbError::NotFound(format!("no {kind} with id or name '{id_or_name}'"))
                })
            }
            Err(e) => Err(e),
        }
    }

    pub async fn list_assets(&self, f: &AssetFilter) -> DbResult<Page<Asset>> {
        let mut q = Sql::new("SELECT * FROM assets a WHERE 1=1");
        if let Some(k) = f.kind {
            q.push(" AND a.kind = ").bind(Bind::Str(k.as_str().into()));
        }
        if let Some(s) = f.state {
            q.push(" AND a.state = ").bind(Bind::Str(s.as_str().into()));
        }
        for (col, v) in [
            ("model", &f.model),
            ("rack_id", &f.rack_id),
            ("parent_id", &f.parent_id),
            ("profile_id", &f.profile_id),
            ("serial", &f.serial),
            ("address", &f.address),
        ] {
            if let Some(v) = v {
                q.push(&format!(" AND a.{col} = "))
                    .bind(Bind::Str(v.clone()));
            }
        }
        if let Some(p) = &f.name_prefix {
            let escaped = p
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q.push(" AND a.name LIKE ")
                .bind(Bind::Str(format!("{escaped}%")))
                .push(" ESCAPE '\\'");
        }
        for (k, v) in &f.labels {
            q.push(
                " AND EXISTS (SELECT 1 FROM asset_labels l WHERE l.asset_id = a.id AND l.key = ",
            )
            .bind(Bind::Str(k.clone()))
            .push(" AND l.value = ")
            .bind(Bind::Str(v.clone()))
            .push(")");
        }
        if let Some((now, deadlines)) = &f.stuck_at {
            q.push(" AND (1=0");
            for (state, d) in deadlines.iter() {
                if let Some(secs) = d {
                    q.push(" OR (a.state = ")
                        .bind(Bind::Str(state.as_str().into()))
                        .push(" AND a.state_entered_at < ")
                        .bind(Bind::I64(now - secs as i64 * 1000))
                        .push(")");
                }
            }
            q.push(")");
        }
        if let Some(after) = &f.after_id {
            q.push(" AND a.id > ").bind(Bind::Str(after.clone()));
        }
        let limit = f.limit.clamp(1, 1000);
        q.push(" ORDER BY a.id LIMIT ").bind(Bind::I64(limit + 1));
        let rows: Vec<AssetRow> = q.query_as().fetch_all(&self.read).await?;
        let mut items = rows
            .into_iter()
            .map(Asset::try_from)
            .collect::<DbResult<Vec<_>>>()?;
        let next_after = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|a| a.id.clone())
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    /// An asset and its direct children in one round trip.
    pub async fn get_with_children(&self, id: &str) -> DbResult<(Asset, Vec<Asset>)> {
        let rows: Vec<AssetRow> =
            sqlx::query_as("SELECT * FROM assets WHERE id = $1 OR parent_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        let mut parent = None;
        let mut children = Vec::with_capacity(rows.len());
        for r in rows {
            let a = Asset::try_from(r)?;
            if a.id == id {
                parent = Some(a);
            } else {
                children.push(a);
            }
        }
        let parent =
            parent.ok_or_else(|| DbError::NotFound(format!("asset '{id}' does not exist")))?;
        Ok((parent, children))
    }

    /// Children of an asset, optionally of one kind, in id order.
    pub async fn children(&self, parent_id: &str, kind: Option<AssetKind>) -> DbResult<Vec<Asset>> {
        let rows: Vec<AssetRow> = match kind {
            Some(k) => {
                sqlx::query_as(
                    "SELECT * FROM assets WHERE parent_id = $1 AND kind = $2 ORDER BY id",
                )
                .bind(parent_id)
                .bind(k.as_str())
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query_as("SELECT * FROM assets WHERE parent_id = $1 ORDER BY id")
                    .bind(parent_id)
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.into_iter().map(Asset::try_from).collect()
    }

    /// The assets with these ids, in one statement per 500 ids (for batch loaders).
    pub async fn assets_by_ids(&self, ids: &[String]) -> DbResult<Vec<Asset>> {
        self.assets_where("id", ids, None).await
    }

    /// The children (of `kind`) of every parent in `parents`, in one statement per 500
    /// parents (for batch loaders).
    pub async fn children_of(
        &self,
        parents: &[String],
        kind: Option<AssetKind>,
    ) -> DbResult<Vec<Asset>> {
        self.assets_where("parent_id", parents, kind).await
    }

    async fn assets_where(
        &self,
        column: &str,
        values: &[String],
        kind: Option<AssetKind>,
    ) -> DbResult<Vec<Asset>> {
        let mut out = vec![];
        for chunk in values.chunks(500) {
            let mut q = Sql::new(&format!("SELECT * FROM assets WHERE {column} IN ("));
            for (i, v) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(Bind::Str(v.clone()));
            }
            q.push(")");
            if let Some(k) = kind {
                q.push(" AND kind = ").bind(Bind::Str(k.as_str().into()));
            }
            q.push(" ORDER BY id");
            let rows: Vec<AssetRow> = q.query_as().fetch_all(&self.read).await?;
            for r in rows {
                out.push(Asset::try_from(r)?);
            }
        }
        Ok(out)
    }

    /// Creates an asset with configuration version 1, in one transaction with
    /// its audit row and event. A secret in the configuration (e.g. a BMC
    /// password) is encrypted into the secret store and never versioned.
    pub async fn create_asset(&self, actor: &Actor, new: NewAsset) -> DbResult<Asset> {
        let mut tx = self.write.begin().await?;
        let a = self.create_asset_tx(&mut tx, actor, new).await?;
        tx.commit().await?;
        Ok(a)
    }

    pub(crate) async fn create_asset_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        new: NewAsset,
    ) -> DbResult<Asset> {
        validate_name(&new.name).map_err(DbError::Invalid)?;
        for (k, v) in &new.labels {
            validate_label(k, v).map_err(DbError::Invalid)?;
        }
        let mut config =
            validate_config(new.kind, &new.config).map_err(|e| DbError::Invalid(e.join("; ")))?;
        let secret = take_secret(new.kind, &mut config);
        if new.profile_id.is_some() && new.kind != AssetKind::Node {
            return Err(DbError::Invalid(
                "only nodes have an expected profile".into(),
            ));
        }
        let rack_id = self
            .check_parent(tx, new.kind, new.parent_id.as_deref())
            .await?;
        let (model, serial, address) = indexed_fields(new.kind, &config);
        let now = now_ms();
        let id = fleet_model::new_id(new.kind.as_str());
        let (state, entered) = if new.kind == AssetKind::Node {
            (Some(NodeState::Discovered.as_str()), Some(now))
        } else {
            (None, None)
        };
        sqlx::query(
            "INSERT INTO assets (id, kind, name, parent_id, rack_id, model, serial, address, labels, config, version, state, state_entered_at, profile_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13, $14, $14)",
        )
        .bind(&id)
        .bind(new.kind.as_str())
        .bind(&new.name)
        .bind(&new.parent_id)
        .bind(&rack_id)
        .bind(&model)
        .bind(&serial)
        .bind(&address)
        .bind(labels_json(&new.labels))
        .bind(config.to_string())
        .bind(state)
        .bind(entered)
        .bind(&new.profile_id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(|e| DbError::from_write(e, &format!("{} '{}'", new.kind, new.name)))?;
        self.write_labels(tx, &id, &new.labels).await?;
        sqlx::query("INSERT INTO config_versions (asset_id, version, config, diff, actor, reason, created_at) VALUES ($1, 1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(config.to_string())
            .bind(serde_json::to_string(&diff(&json!({}), &config))?)
            .bind(&actor.name)
            .bind(&new.reason)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        if let Some(secret) = secret {
            self.put_secret_tx(
                tx,
                &id,
                new.kind.secret_field().unwrap_or("secret"),
                credential_binding(new.kind, &config).as_deref(),
                &secret,
            )
            .await?;
        }
        let asset = self.get_asset_tx(tx, &id, false).await?;
        self.audit_tx(
            tx,
            actor,
            AuditEntry {
                action: &format!("{}.create", new.kind),
                kind: "create",
                target: Some(&id),
                before: None,
                after: Some(summary(&asset)),
            },
        )
        .await?;
        let ty = if new.kind == AssetKind::Node {
            types::HARDWARE_DISCOVERED
        } else {
            types::ASSET_CREATED
        };
        self.outbox_tx(tx, actor, ty, &id, json!({"asset": summary(&asset)}))
            .await?;
        Ok(asset)
    }

    /// Checks the parent's kind and returns the rack the child will be in.
    async fn check_parent(
        &self,
        tx: &mut Transaction<'static, Any>,
        kind: AssetKind,
        parent_id: Option<&str>,
    ) -> DbResult<Option<String>> {
        match parent_id {
            None if kind.parent_required() => Err(DbError::Invalid(format!(
                "a {kind} must be inside a {}; give 'parent_id'",
                kind.allowed_parents()
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))),
            None => Ok(None),
            Some(pid) => {
                let parent = self
                    .get_asset_tx(tx, pid, false)
                    .await
                    .map_err(|_| DbError::Invalid(format!("parent '{pid}' does not exist")))?;
                if !kind.allowed_parents().contains(&parent.kind) {
                    return Err(DbError::Invalid(format!(
                        "a {kind} cannot be inside a {}; allowed parents: {}",
                        parent.kind,
                        if kind.allowed_parents().is_empty() {
                            "none".to_string()
                        } else {
                            kind.allowed_parents()
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    )));
                }
                Ok(if parent.kind == AssetKind::Rack {
                    Some(parent.id)
                } else {
                    parent.rack_id
                })
            }
        }
    }

    async fn write_labels(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
        labels: &BTreeMap<String, String>,
    ) -> DbResult<()> {
        sqlx::query("DELETE FROM asset_labels WHERE asset_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        for (k, v) in labels {
            sqlx::query("INSERT INTO asset_labels (asset_id, key, value) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(k)
                .bind(v)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Replaces an asset's configuration, creating a new immutable version.
    /// `if_version` (from `If-Match`) makes the write conditional: a stale
    /// version fails with [`DbError::Stale`] and changes nothing.
    pub async fn update_config(
        &self,
        actor: &Actor,
        id: &str,
        if_version: Option<i64>,
        config: Value,
        reason: Option<String>,
    ) -> DbResult<Asset> {
        let mut tx = self.write.begin().await?;
        let before = self.get_asset_tx(&mut tx, id, true).await?;
        let a = self
            .update_config_tx(
                &mut tx,
                actor,
                before,
                if_version,
                config,
                reason,
                "config.update",
            )
            .await?;
        tx.commit().await?;
        Ok(a)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn update_config_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        before: Asset,
        if_version: Option<i64>,
        config: Value,
        reason: Option<String>,
        action: &str,
    ) -> DbResult<Asset> {
        if let Some(v) = if_version {
            if v != before.version {
                return Err(DbError::Stale {
                    message: format!(
                        "asset '{}' is at version {}, not {v}; read it again and retry",
                        before.id, before.version
                    ),
                    current_version: before.version,
                });
            }
        }
        let mut config =
            validate_config(before.kind, &config).map_err(|e| DbError::Invalid(e.join("; ")))?;
        // `credential_set` says what the secret store holds; a client cannot set it.
        if let Some(o) = config.as_object_mut() {
            o.remove("credential_set");
        }
        let secret_name = before.kind.secret_field().unwrap_or("secret");
        let binding = credential_binding(before.kind, &config);
        let moved = binding != credential_binding(before.kind, &before.config);
        let mut cleared = false;
        if let Some(secret) = take_secret(before.kind, &mut config) {
            if secret.is_empty() {
                return Err(DbError::Invalid(format!(
                    "'{secret_name}' is empty; give the credential, or leave the field out to keep the stored one"
                )));
            }
            self.put_secret_tx(tx, &before.id, secret_name, binding.as_deref(), &secret)
                .await?;
            // Setting a credential is audited even when nothing else changes (no version
            // is written for a secret).
            self.audit_tx(
                tx,
                actor,
                AuditEntry {
                    action: &format!("{}.credential.set", before.kind),
                    kind: "secret",
                    target: Some(&before.id),
                    before: None,
                    after: Some(json!({"bound_to": binding, "credential_set": true})),
                },
            )
            .await?;
        } else if before.config.get("credential_set").is_some() {
            if moved {
                // A credential is only ever sent where it was given for: a new address, port,
                // protocol or TLS setting without a new credential clears the stored one.
                cleared = self.delete_secret_tx(tx, &before.id, secret_name).await?;
            } else if let Some(o) = config.as_object_mut() {
                o.insert("credential_set".into(), Value::Bool(true));
            }
        }
        if cleared {
            self.audit_tx(
                tx,
                actor,
                AuditEntry {
                    action: &format!("{}.credential.clear", before.kind),
                    kind: "secret",
                    target: Some(&before.id),
                    before: Some(
                        json!({"bound_to": credential_binding(before.kind, &before.config)}),
                    ),
                    after: Some(json!({"bound_to": binding, "credential_set": false})),
                },
            )
            .await?;
        }
        let changes = diff(&before.config, &config);
        if changes.is_empty() {
            return Ok(before);
        }
        let (model, serial, address) = indexed_fields(before.kind, &config);
        let now = now_ms();
        let version = before.version + 1;
        let n = sqlx::query("UPDATE assets SET config = $1, model = $2, serial = $3, address = $4, version = $5, updated_at = $6 WHERE id = $7 AND version = $8")
            .bind(config.to_string())
            .bind(&model)
            .bind(&serial)
            .bind(&address)
            .bind(version)
            .bind(now)
            .bind(&before.id)
            .bind(before.version)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(DbError::Stale {
                message: format!(
                    "asset '{}' changed concurrently; read it again and retry",
                    before.id
                ),
                current_version: before.version,
            });
        }
        sqlx::query("INSERT INTO config_versions (asset_id, version, config, diff, actor, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&before.id)
            .bind(version)
            .bind(config.to_string())
            .bind(serde_json::to_string(&changes)?)
            .bind(&actor.name)
            .bind(&reason)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        let after = self.get_asset_tx(tx, &before.id, false).await?;
        self.audit_tx(
            tx,
            actor,
            AuditEntry {
                action: &format!("{}.{action}", before.kind),
                kind: "config",
                target: Some(&before.id),
                before: Some(summary(&before)),
                after: Some(summary(&after)),
            },
        )
        .await?;
        self.outbox_tx(
            tx,
            actor,
            types::CONFIG_CHANGED,
            &before.id,
            json!({"kind": before.kind, "version": version, "reason": reason, "diff": changes}),
        )
        .await?;
        Ok(after)
    }

    /// Renames, moves or relabels an asset (not versioned configuration; audited).
    pub async fn patch_asset(
        &self,
        actor: &Actor,
        id: &str,
        if_version: Option<i64>,
        patch: AssetPatch,
    ) -> DbResult<Asset> {
        let mut tx = self.write.begin().await?;
        let before = self.get_asset_tx(&mut tx, id, true).await?;
        if let Some(v) = if_version {
            if v != before.version {
                return Err(DbError::Stale {
                    message: format!(
                        "asset '{id}' is at version {}, not {v}; read it again and retry",
                        before.version
                    ),
                    current_version: before.version,
                });
            }
        }
        let now = now_ms();
        if let Some(name) = &patch.name {
            validate_name(name).map_err(DbError::Invalid)?;
            sqlx::query("UPDATE assets SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(name)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| DbError::from_write(e, &format!("{} '{name}'", before.kind)))?;
        }
        if let Some(parent) = &patch.parent_id {
            let rack_id = self
                .check_parent(&mut tx, before.kind, parent.as_deref())
                .await?;
            if parent.as_deref() == Some(id) {
                return Err(DbError::Invalid("an asset cannot contain itself".into()));
            }
            sqlx::query(
                "UPDATE assets SET parent_id = $1, rack_id = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(parent)
            .bind(&rack_id)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            // Children follow their parent into its rack.
            let child_rack = if before.kind == AssetKind::Rack {
                Some(id.to_string())
            } else {
                rack_id.clone()
            };
            sqlx::query("UPDATE assets SET rack_id = $1 WHERE parent_id = $2")
                .bind(&child_rack)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(labels) = &patch.labels {
            for (k, v) in labels {
                validate_label(k, v).map_err(DbError::Invalid)?;
            }
            sqlx::query("UPDATE assets SET labels = $1, updated_at = $2 WHERE id = $3")
                .bind(labels_json(labels))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            self.write_labels(&mut tx, id, labels).await?;
        }
        let after = self.get_asset_tx(&mut tx, id, false).await?;
        let kind = if patch.parent_id.is_some() {
            "move"
        } else if patch.labels.is_some() && patch.name.is_none() {
            "labels"
        } else {
            "update"
        };
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: &format!("{}.{kind}", before.kind),
                kind,
                target: Some(id),
                before: Some(summary(&before)),
                after: Some(summary(&after)),
            },
        )
        .await?;
        let ty = if patch.labels.is_some() {
            types::LABELS_CHANGED
        } else {
            types::CONFIG_CHANGED
        };
        self.outbox_tx(
            &mut tx,
            actor,
            ty,
            id,
            json!({"before": summary(&before), "after": summary(&after)}),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes an asset that contains nothing.
    pub async fn delete_asset(&self, actor: &Actor, id: &str) -> DbResult<()> {
        let mut tx = self.write.begin().await?;
        let before = self.get_asset_tx(&mut tx, id, true).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM assets WHERE parent_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n > 0 {
            return Err(DbError::Conflict(format!(
                "{} '{}' still contains {n} asset(s); delete or move them first",
                before.kind, before.name
            )));
        }
        sqlx::query("DELETE FROM assets WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::from_write(e, &format!("{} '{}'", before.kind, before.name)))?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: &format!("{}.delete", before.kind),
                kind: "delete",
                target: Some(id),
                before: Some(summary(&before)),
                after: None,
            },
        )
        .await?;
        let ty = if before.kind == AssetKind::Node {
            types::HARDWARE_DECOMMISSIONED
        } else {
            types::ASSET_DELETED
        };
        self.outbox_tx(&mut tx, actor, ty, id, json!({"asset": summary(&before)}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_versions(&self, id: &str) -> DbResult<Vec<ConfigVersion>> {
        self.get_asset(id).await?;
        let rows =
            sqlx::query("SELECT * FROM config_versions WHERE asset_id = $1 ORDER BY version")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(version_from_row).collect()
    }

    pub async fn get_version(&self, id: &str, version: i64) -> DbResult<ConfigVersion> {
        let row = sqlx::query("SELECT * FROM config_versions WHERE asset_id = $1 AND version = $2")
            .bind(id)
            .bind(version)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => version_from_row(&r),
            None => {
                self.get_asset(id).await?;
                Err(DbError::NotFound(format!(
                    "asset '{id}' has no configuration version {version}"
                )))
            }
        }
    }

    /// Restores an old configuration as a new version.
    pub async fn restore_version(
        &self,
        actor: &Actor,
        id: &str,
        version: i64,
        if_version: Option<i64>,
    ) -> DbResult<Asset> {
        let old = self.get_version(id, version).await?;
        let mut tx = self.write.begin().await?;
        let before = self.get_asset_tx(&mut tx, id, true).await?;
        let a = self
            .update_config_tx(
                &mut tx,
                actor,
                before,
                if_version,
                old.config,
                Some(format!("restore of version {version}")),
                "config.restore",
            )
            .await?;
        tx.commit().await?;
        Ok(a)
    }

    pub async fn create_relation(&self, actor: &Actor, r: NewRelation) -> DbResult<Relation> {
        let mut tx = self.write.begin().await?;
        let rel = self.create_relation_tx(&mut tx, actor, r).await?;
        tx.commit().await?;
        Ok(rel)
    }

    pub(crate) async fn create_relation_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        r: NewRelation,
    ) -> DbResult<Relation> {
        let from = self.get_asset_tx(tx, &r.from_id, false).await?;
        let to = self.get_asset_tx(tx, &r.to_id, false).await?;
        let (fks, tk) = (r.kind.from_kinds(), r.kind.to_kind());
        if !fks.contains(&from.kind) || to.kind != tk {
            let fk = fks
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(" or a ");
            return Err(DbError::Invalid(format!(
                "a {} relation goes from a {fk} to a {tk}, not from a {} to a {}",
                r.kind.as_str(),
                from.kind,
                to.kind
            )));
        }
        if r.kind == RelationKind::PoweredBy {
            // An outlet feeds one node.
            let taken: Option<String> = sqlx::query(
                "SELECT from_id FROM relations WHERE kind = 'powered_by' AND to_id = $1",
            )
            .bind(&r.to_id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get("from_id"))
            .transpose()?;
            if let Some(other) = taken {
                return Err(DbError::Conflict(format!(
                    "outlet '{}' already powers '{other}'",
                    to.name
                )));
            }
        }
        if r.kind == RelationKind::ConnectedTo {
            if let Some(port) = r.attrs.get("port").and_then(|p| p.as_str()) {
                let rows = sqlx::query("SELECT from_id, attrs FROM relations WHERE kind = 'connected_to' AND to_id = $1").bind(&r.to_id).fetch_all(&mut **tx).await?;
                for row in rows {
                    let attrs: String = row.try_get("attrs")?;
                    let v: Value = serde_json::from_str(&attrs)?;
                    if v.get("port").and_then(|p| p.as_str()) == Some(port) {
                        let other: String = row.try_get("from_id")?;
                        return Err(DbError::Conflict(format!(
                            "port {port} of switch '{}' is already cabled to NIC '{other}'",
                            to.name
                        )));
                    }
                }
            }
        }
        let id = fleet_model::new_id("rel");
        let now = now_ms();
        sqlx::query("INSERT INTO relations (id, kind, from_id, to_id, attrs, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(r.kind.as_str())
            .bind(&r.from_id)
            .bind(&r.to_id)
            .bind(r.attrs.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(|e| DbError::from_write(e, &format!("{} relation {} -> {}", r.kind.as_str(), from.name, to.name)))?;
        let rel = Relation {
            id: id.clone(),
            kind: r.kind,
            from_id: r.from_id.clone(),
            to_id: r.to_id.clone(),
            attrs: r.attrs,
            created_at: now,
        };
        let doc = serde_json::to_value(&rel)?;
        self.audit_tx(
            tx,
            actor,
            AuditEntry {
                action: "relation.create",
                kind: "relation",
                target: Some(&r.from_id),
                before: None,
                after: Some(doc.clone()),
            },
        )
        .await?;
        self.outbox_tx(
            tx,
            actor,
            types::RELATION_CHANGED,
            &r.from_id,
            json!({"op": "create", "relation": doc}),
        )
        .await?;
        Ok(rel)
    }

    pub async fn delete_relation(&self, actor: &Actor, id: &str) -> DbResult<()> {
        let mut tx = self.write.begin().await?;
        let row: Option<RelationRow> = sqlx::query_as("SELECT * FROM relations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let rel: Relation = row
            .ok_or_else(|| DbError::NotFound(format!("relation '{id}' does not exist")))?
            .try_into()?;
        sqlx::query("DELETE FROM relations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let doc = serde_json::to_value(&rel)?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "relation.delete",
                kind: "relation",
                target: Some(&rel.from_id),
                before: Some(doc.clone()),
                after: None,
            },
        )
        .await?;
        self.outbox_tx(
            &mut tx,
            actor,
            types::RELATION_CHANGED,
            &rel.from_id,
            json!({"op": "delete", "relation": doc}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Relations touching an asset, from either end.
    pub async fn relations_of(&self, id: &str) -> DbResult<Vec<Relation>> {
        let rows: Vec<RelationRow> =
            sqlx::query_as("SELECT * FROM relations WHERE from_id = $1 OR to_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(Relation::try_from).collect()
    }

    /// Every relation, a page at a time in id order (the correlation's physical graph).
    pub async fn list_relations(
        &self,
        after_id: Option<&str>,
        limit: i64,
    ) -> DbResult<Vec<Relation>> {
        let rows: Vec<RelationRow> =
            sqlx::query_as("SELECT * FROM relations WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after_id.unwrap_or(""))
                .bind(limit.clamp(1, 10_000))
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(Relation::try_from).collect()
    }

    /// Moves a node through its lifecycle: state, history row, audit row and
    /// event in one transaction. Illegal or guarded transitions change nothing.
    pub async fn transition(
        &self,
        actor: &Actor,
        id: &str,
        to: NodeState,
        reason: Option<String>,
    ) -> DbResult<(Asset, HistoryRow)> {
        let mut tx = self.write.begin().await?;
        let before = self.get_asset_tx(&mut tx, id, true).await?;
        if before.kind != AssetKind::Node {
            return Err(DbError::Invalid(format!(
                "'{id}' is a {}; only nodes have a lifecycle",
                before.kind
            )));
        }
        let from = before.state.unwrap_or(NodeState::Discovered);
        let has_bmc: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM assets WHERE parent_id = $1 AND kind = 'bmc'")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        let ctx = GuardContext {
            has_bmc: has_bmc > 0,
            has_profile: before.profile_id.is_some(),
            reason: reason.clone(),
        };
        check_transition(from, to, &ctx)?;
        let now = now_ms();
        let n = sqlx::query("UPDATE assets SET state = $1, state_entered_at = $2, updated_at = $2 WHERE id = $3 AND state = $4")
            .bind(to.as_str())
            .bind(now)
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(DbError::Conflict(format!(
                "node '{id}' changed state concurrently; read it again and retry"
            )));
        }
        let hist_id = self
            .insert_history(&mut tx, id, from, to, actor, &reason, now)
            .await?;
        let after = self.get_asset_tx(&mut tx, id, false).await?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "node.transition",
                kind: "lifecycle",
                target: Some(id),
                before: Some(json!({"state": from})),
                after: Some(json!({"state": to, "reason": reason})),
            },
        )
        .await?;
        self.outbox_tx(
            &mut tx,
            actor,
            types::LIFECYCLE_CHANGED,
            id,
            json!({"from": from, "to": to, "reason": reason}),
        )
        .await?;
        tx.commit().await?;
        let row = HistoryRow {
            id: hist_id,
            node_id: id.to_string(),
            from_state: from.as_str().into(),
            to_state: to.as_str().into(),
            actor: actor.name.clone(),
            reason,
            request_id: actor.request_id.clone(),
            at: now,
        };
        Ok((after, row))
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_history(
        &self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
        from: NodeState,
        to: NodeState,
        actor: &Actor,
        reason: &Option<String>,
        now: i64,
    ) -> DbResult<i64> {
        let row = sqlx::query("INSERT INTO lifecycle_history (node_id, from_state, to_state, actor, reason, request_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(&actor.name)
            .bind(reason)
            .bind(&actor.request_id)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
        Ok(row.try_get("id")?)
    }

    pub async fn lifecycle_history(&self, id: &str) -> DbResult<Vec<HistoryRow>> {
        self.get_asset(id).await?;
        Ok(
            sqlx::query_as("SELECT * FROM lifecycle_history WHERE node_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Assigns (or clears) a node's expected profile.
    pub async fn assign_profile(
        &self,
        actor: &Actor,
        node_id: &str,
        profile_id: Option<&str>,
    ) -> DbResult<Asset> {
        let mut tx = self.write.begin().await?;
        let before = self.get_asset_tx(&mut tx, node_id, true).await?;
        if before.kind != AssetKind::Node {
            return Err(DbError::Invalid(format!(
                "'{node_id}' is a {}; only nodes have a profile",
                before.kind
            )));
        }
        sqlx::query("UPDATE assets SET profile_id = $1, updated_at = $2 WHERE id = $3")
            .bind(profile_id)
            .bind(now_ms())
            .bind(node_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::from_write(e, "profile"))?;
        let after = self.get_asset_tx(&mut tx, node_id, false).await?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "node.profile.assign",
                kind: "profile",
                target: Some(node_id),
                before: Some(json!({"profile_id": before.profile_id})),
                after: Some(json!({"profile_id": profile_id})),
            },
        )
        .await?;
        self.outbox_tx(
            &mut tx,
            actor,
            types::PROFILE_ASSIGNED,
            node_id,
            json!({"profile_id": profile_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Number of assets by kind.
    pub async fn count_by_kind(&self) -> DbResult<BTreeMap<String, i64>> {
        let rows = sqlx::query("SELECT kind, COUNT(*) AS n FROM assets GROUP BY kind")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>("kind")?, r.try_get::<i64, _>("n")?)))
            .collect()
    }
}

fn version_from_row(r: &sqlx::any::AnyRow) -> DbResult<ConfigVersion> {
    Ok(ConfigVersion {
        asset_id: r.try_get("asset_id")?,
        version: r.try_get("version")?,
        config: serde_json::from_str(&r.try_get::<String, _>("config")?)?,
        diff: serde_json::from_str(&r.try_get::<String, _>("diff")?)?,
        actor: r.try_get("actor")?,
        reason: r.try_get("reason")?,
        created_at: r.try_get("created_at")?,
    })
}
