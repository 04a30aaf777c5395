//! Applies a validated import plan: all assets and relations in one
//! transaction, or nothing at all.

use std::collections::{BTreeMap, BTreeSet};

use fleet_model::asset::AssetKind;
use fleet_model::import::{ImportError, ImportPlan};
use serde::Serialize;
use serde_json::json;

use crate::assets::{NewAsset, NewRelation};
use crate::audit::AuditEntry;
use crate::error::{DbError, DbResult};
use crate::store::{Actor, Store};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    /// Assets created, by kind.
    pub created: BTreeMap<String, usize>,
    pub relations: usize,
    /// Whether this was a dry run (validated, nothing written).
    pub dry_run: bool,
    /// Notes that are not errors (deprecated field names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A reference to a container that is neither in the file nor in the inventory.
pub type ReferenceError = ImportError;

impl Store {
    /// Checks a parsed plan against the inventory, then writes it in one
    /// transaction. Every problem is reported, with its line; on any problem
    /// nothing is written.
    pub async fn apply_import(
        &self,
        actor: &Actor,
        mut plan: ImportPlan,
        dry_run: bool,
    ) -> DbResult<ImportSummary> {
        let mut errors: Vec<ImportError> = Vec::new();
        let in_file: BTreeSet<(AssetKind, String)> = plan
            .assets
            .iter()
            .map(|a| (a.kind, a.name.clone()))
            .collect();

        // Names already taken in the inventory.
        for a in &plan.assets {
            if self.find_asset(a.kind, &a.name).await?.is_some() {
                errors.push(ImportError {
                    line: a.line,
                    item: a.name.clone(),
                    message: format!("{} '{}' already exists in the inventory", a.kind, a.name),
                });
            }
        }
        // Containers referenced but not declared.
        let mut to_create: Vec<(AssetKind, String)> = Vec::new();
        for (kind, name) in plan.referenced.clone() {
            if self.find_asset(kind, &name).await?.is_some() {
                continue;
            }
            if plan.create_missing {
                to_create.push((kind, name));
                continue;
            }
            let line = plan
                .assets
                .iter()
                .find(|a| a.parent.as_ref() == Some(&(kind, name.clone())))
                .map(|a| a.line)
                .or_else(|| {
                    plan.relations
                        .iter()
                        .find(|r| {
                            r.to == (kind, name.clone())
                                || (kind == AssetKind::Pdu
                                    && r.to.1.starts_with(&format!("{name}-o")))
                        })
                        .map(|r| r.line)
                })
                .unwrap_or(0);
            errors.push(ImportError {
                line,
                item: name.clone(),
                message: format!("{kind} '{name}' is neither in the file nor in the inventory"),
            });
        }
        // Profiles.
        let mut profiles: BTreeMap<String, String> = BTreeMap::new();
        for a in &plan.assets {
            if let Some(p) = &a.profile {
                match self.get_profile(p).await {
                    Ok(prof) => {
                        profiles.insert(p.clone(), prof.id);
                    }
                    Err(DbError::NotFound(_)) => errors.push(ImportError {
                        line: a.line,
                        item: a.name.clone(),
                        message: format!("profile '{p}' does not exist"),
                    }),
                    Err(e) => return Err(e),
                }
            }
        }
        // Relation endpoints other than implicit containers.
        let created_pdus: BTreeSet<String> = to_create
            .iter()
            .filter(|(k, _)| *k == AssetKind::Pdu)
            .map(|(_, n)| n.clone())
            .collect();
        for r in &plan.relations {
            for end in [&r.from, &r.to] {
                let implicit = end.0 == AssetKind::Outlet
                    && created_pdus
                        .iter()
                        .any(|p| end.1.starts_with(&format!("{p}-o")));
                let referenced = plan.referenced.contains(end);
                if !in_file.contains(end)
                    && !implicit
                    && !referenced
                    && self.find_asset(end.0, &end.1).await?.is_none()
                {
                    errors.push(ImportError {
                        line: r.line,
                        item: end.1.clone(),
                        message: format!("{} '{}' does not exist", end.0, end.1),
                    });
                }
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(DbError::Import(errors));
        }

        // Implicitly created containers go first (racks before PDUs and switches).
        to_create.sort_by_key(|(k, _)| *k != AssetKind::Rack);
        let mut implicit = Vec::new();
        for (kind, name) in to_create {
            let parent_rack = plan
                .assets
                .iter()
                .find(|a| a.parent.as_ref().map(|p| &p.1) == Some(&name))
                .and_then(|a| {
                    plan.assets
                        .iter()
                        .find(|n| n.kind == AssetKind::Node && n.name == a.name)
                        .and_then(|n| n.parent.clone())
                });
            let (parent, config) = match kind {
                AssetKind::Rack => (None, json!({})),
                AssetKind::Pdu => {
                    let rack = plan
                        .assets
                        .iter()
                        .find(|n| {
                            n.kind == AssetKind::Node
                                && plan.relations.iter().any(|r| {
                                    r.from == (AssetKind::Node, n.name.clone())
                                        && r.to.1.starts_with(&format!("{name}-o"))
                                })
                        })
                        .and_then(|n| n.parent.clone());
                    (rack, json!({"outlets": 24}))
                }
                _ => (parent_rack, json!({})),
            };
            implicit.push(fleet_model::import::PlannedAsset {
                line: 0,
                kind,
                name: name.clone(),
                parent,
                labels: BTreeMap::new(),
                config,
                profile: None,
            });
            if kind == AssetKind::Pdu {
                for n in 1..=24u32 {
                    implicit.push(fleet_model::import::PlannedAsset {
                        line: 0,
                        kind: AssetKind::Outlet,
                        name: fleet_model::import::outlet_name(&name, n),
                        parent: Some((AssetKind::Pdu, name.clone())),
                        labels: BTreeMap::new(),
                        config: json!({"number": n}),
                        profile: None,
                    });
                }
            }
        }
        // Switches and PDUs created implicitly need their rack before them.
        implicit.sort_by_key(|a| match a.kind {
            AssetKind::Rack => 0,
            AssetKind::Outlet => 2,
            _ => 1,
        });
        implicit.append(&mut plan.assets);
        plan.assets = implicit;

        let mut created: BTreeMap<String, usize> = BTreeMap::new();
        for a in &plan.assets {
            *created.entry(a.kind.as_str().to_string()).or_default() += 1;
        }
        let summary = ImportSummary {
            created,
            relations: plan.relations.len(),
            dry_run,
            notes: plan.notes.clone(),
        };
        if dry_run {
            return Ok(summary);
        }

        let mut tx = self.write.begin().await?;
        let mut ids: BTreeMap<(AssetKind, String), String> = BTreeMap::new();
        for a in plan.assets {
            let parent_id = match &a.parent {
                None => None,
                Some(key) => Some(match ids.get(key) {
                    Some(id) => id.clone(),
                    None => self
                        .find_asset(key.0, &key.1)
                        .await?
                        .map(|x| x.id)
                        .ok_or_else(|| {
                            DbError::Invalid(format!(
                                "line {}: {} '{}' does not exist",
                                a.line, key.0, key.1
                            ))
                        })?,
                }),
            };
            let key = (a.kind, a.name.clone());
            let line = a.line;
            let asset = self
                .create_asset_tx(
                    &mut tx,
                    actor,
                    NewAsset {
                        kind: a.kind,
                        name: a.name,
                        parent_id,
                        labels: a.labels,
                        config: a.config,
                        profile_id: a.profile.and_then(|p| profiles.get(&p).cloned()),
                        reason: Some("import".into()),
                    },
                )
                .await
                .map_err(|e| {
                    DbError::Import(vec![ImportError {
                        line,
                        item: key.1.clone(),
                        message: e.to_string(),
                    }])
                })?;
            ids.insert(key, asset.id);
        }
        for r in plan.relations {
            let resolve = |end: &(AssetKind, String)| -> Option<String> { ids.get(end).cloned() };
            let from = match resolve(&r.from) {
                Some(id) => id,
                None => self
                    .find_asset(r.from.0, &r.from.1)
                    .await?
                    .map(|a| a.id)
                    .ok_or_else(|| {
                        DbError::Invalid(format!("{} '{}' does not exist", r.from.0, r.from.1))
                    })?,
            };
            let to = match resolve(&r.to) {
                Some(id) => id,
                None => self
                    .find_asset(r.to.0, &r.to.1)
                    .await?
                    .map(|a| a.id)
                    .ok_or_else(|| {
                        DbError::Import(vec![ImportError {
                            line: r.line,
                            item: r.to.1.clone(),
                            message: format!("{} '{}' does not exist", r.to.0, r.to.1),
                        }])
                    })?,
            };
            let line = r.line;
            self.create_relation_tx(
                &mut tx,
                actor,
                NewRelation {
                    kind: r.kind,
                    from_id: from,
                    to_id: to,
                    attrs: r.attrs,
                },
            )
            .await
            .map_err(|e| {
                DbError::Import(vec![ImportError {
                    line,
                    item: r.from.1.clone(),
                    message: e.to_string(),
                }])
            })?;
        }
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "inventory.import",
                kind: "import",
                target: None,
                before: None,
                after: Some(serde_json::to_value(&summary)?),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }
}
