//! Alert rules, versioned like configuration: every change (and a deletion) is a new immutable
//! row with its audit row and a `config.changed` event, in one transaction.

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::Row;

use crate::error::{DbError, DbResult};
use crate::{now_ms, Actor, AuditEntry, Store};
use fleet_model::event::types;

/// One version of a rule.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AlertRuleRow {
    pub id: String,
    pub name: String,
    pub version: i64,
    /// The rule document (JSON text).
    pub spec: String,
    /// 1 evaluated, 0 switched off.
    pub enabled: i64,
    /// 1 when this version deletes the rule.
    pub deleted: i64,
    pub comment: Option<String>,
    pub actor: String,
    pub created_at: i64,
}

/// A new version of a rule.
#[derive(Debug, Clone)]
pub struct NewRuleVersion<'a> {
    pub name: &'a str,
    pub spec: &'a Value,
    pub enabled: bool,
    pub deleted: bool,
    /// The version the change is based on (0: the rule must not exist yet); a stale one
    /// changes nothing.
    pub if_version: Option<i64>,
    pub comment: Option<String>,
}

impl Store {
    /// Stores a new version of rule `name` (version 1 when it is new).
    pub async fn put_alert_rule(
        &self,
        actor: &Actor,
        new: NewRuleVersion<'_>,
    ) -> DbResult<AlertRuleRow> {
        let name = new.name;
        fleet_model::asset::validate_name(name).map_err(DbError::Invalid)?;
        let mut tx = self.write.begin().await?;
        let current: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM alert_rules WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?
                .try_get("v")?;
        let current = current.unwrap_or(0);
        if let Some(want) = new.if_version {
            if want != current {
                return Err(DbError::Stale {
                    message: format!(
                        "alert rule '{name}' is at version {current}, not {want}: read it again and retry"
                    ),
                    current_version: current,
                });
            }
        }
        let version = current + 1;
        let id = fleet_model::new_id("rule");
        let now = now_ms();
        sqlx::query("INSERT INTO alert_rules (id, name, version, spec, enabled, deleted, comment, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&id)
            .bind(name)
            .bind(version)
            .bind(serde_json::to_string(new.spec)?)
            .bind(i64::from(new.enabled))
            .bind(i64::from(new.deleted))
            .bind(&new.comment)
            .bind(&actor.name)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::from_write(e, &format!("alert rule '{name}' version {version}")))?;
        let action = if new.deleted {
            "alert_rule.delete"
        } else if current == 0 {
            "alert_rule.create"
        } else {
            "alert_rule.update"
        };
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action,
                kind: "alert_rule",
                target: Some(name),
                before: None,
                after: Some(json!({"version": version, "enabled": new.enabled, "deleted": new.deleted, "spec": new.spec})),
            },
        )
        .await?;
        self.outbox_tx(
            &mut tx,
            actor,
            types::CONFIG_CHANGED,
            name,
            json!({"alert_rule": name, "version": version, "enabled": new.enabled, "deleted": new.deleted}),
        )
        .await?;
        tx.commit().await?;
        self.alert_rule_version(name, version).await
    }

    /// One version of a rule.
    pub async fn alert_rule_version(&self, name: &str, version: i64) -> DbResult<AlertRuleRow> {
        sqlx::query_as("SELECT * FROM alert_rules WHERE name = $1 AND version = $2")
            .bind(name)
            .bind(version)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| {
                DbError::NotFound(format!("alert rule '{name}' has no version {version}"))
            })
    }

    /// Every version of a rule, oldest first (empty when it never existed).
    pub async fn alert_rule_versions(&self, name: &str) -> DbResult<Vec<AlertRuleRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM alert_rules WHERE name = $1 ORDER BY version")
                .bind(name)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// The newest version of every rule ever stored (deletions included), by name.
    pub async fn current_alert_rules(&self) -> DbResult<Vec<AlertRuleRow>> {
        Ok(sqlx::query_as(
            "SELECT r.* FROM alert_rules r JOIN (SELECT name, MAX(version) AS v FROM alert_rules GROUP BY name) m ON r.name = m.name AND r.version = m.v ORDER BY r.name",
        )
        .fetch_all(&self.read)
        .await?)
    }

    /// A cheap mark that changes whenever a rule version is added (their count and the newest
    /// time), for processes that reload rules when another one changed them.
    pub async fn alert_rules_mark(&self) -> DbResult<(i64, i64)> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(created_at), 0) AS t FROM alert_rules")
                .fetch_one(&self.read)
                .await?;
        Ok((row.try_get("n")?, row.try_get("t")?))
    }
}
