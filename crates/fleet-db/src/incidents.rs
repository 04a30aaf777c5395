//! What the incident store of the application core needs from the database: a cheap marker of
//! CMDB changes (to know when its physical graph is stale) and incident events written to the
//! outbox, with an audit row when a person changed the incident, in one transaction.

use sqlx::Row;

use crate::audit::AuditEntry;
use crate::error::DbResult;
use crate::store::{Actor, Store};

/// One event for the outbox: CloudEvents type, subject, data.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub ty: &'static str,
    pub subject: String,
    pub data: serde_json::Value,
}

impl Store {
    /// Changes whenever an asset or relation is created, changed or deleted: (asset count,
    /// latest asset change, relation count, latest relation creation). Two aggregate queries.
    pub async fn cmdb_marker(&self) -> DbResult<(i64, i64, i64, i64)> {
        let a = sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS t FROM assets")
            .fetch_one(&self.read)
            .await?;
        let r =
            sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(created_at), 0) AS t FROM relations")
                .fetch_one(&self.read)
                .await?;
        Ok((
            a.try_get("n")?,
            a.try_get("t")?,
            r.try_get("n")?,
            r.try_get("t")?,
        ))
    }

    /// Writes the events, and the audit row when there is one, in one transaction.
    pub async fn record_events(
        &self,
        actor: &Actor,
        audit: Option<AuditEntry<'_>>,
        events: &[OutboxEvent],
    ) -> DbResult<()> {
        if audit.is_none() && events.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        if let Some(a) = audit {
            self.audit_tx(&mut tx, actor, a).await?;
        }
        for e in events {
            self.outbox_tx(&mut tx, actor, e.ty, &e.subject, e.data.clone())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// What changed in the incident store's state since it was last saved.
#[derive(Debug, Default)]
pub struct CorrelationChanges {
    /// (fingerprint, JSON body) of alerts new or changed.
    pub alerts: Vec<(String, String)>,
    /// Fingerprints of alerts forgotten.
    pub alerts_gone: Vec<String>,
    /// (incident id, JSON body) of records new or changed.
    pub records: Vec<(String, String)>,
    /// Ids of records dropped.
    pub records_gone: Vec<String>,
    /// (name, JSON body) of named documents new or changed (`overrides`, `remediation`).
    pub documents: Vec<(String, String)>,
}

impl CorrelationChanges {
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
            && self.alerts_gone.is_empty()
            && self.records.is_empty()
            && self.records_gone.is_empty()
            && self.documents.is_empty()
    }
}

/// The incident store's saved state: alerts and records as (key, JSON body).
#[derive(Debug, Default)]
pub struct CorrelationState {
    pub alerts: Vec<(String, String)>,
    pub records: Vec<(String, String)>,
    /// Named documents (`overrides`, `remediation`).
    pub documents: Vec<(String, String)>,
}

impl Store {
    /// Saves the incident store's changes in one transaction.
    pub async fn save_correlation(&self, c: &CorrelationChanges) -> DbResult<()> {
        if c.is_empty() {
            return Ok(());
        }
        let now = crate::now_ms();
        let mut tx = self.write.begin().await?;
        for (table, key, rows, gone) in [
            (
                "correlation_alerts",
                "fingerprint",
                &c.alerts,
                &c.alerts_gone,
            ),
            ("incident_records", "id", &c.records, &c.records_gone),
            ("correlation_documents", "name", &c.documents, &Vec::new()),
        ] {
            let upsert = format!(
                "INSERT INTO {table} ({key}, body, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT ({key}) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at"
            );
            for (k, body) in rows {
                sqlx::query(&upsert)
                    .bind(k)
                    .bind(body)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let delete = format!("DELETE FROM {table} WHERE {key} = $1");
            for k in gone {
                sqlx::query(&delete).bind(k).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The incident store's saved state, keys in order.
    pub async fn load_correlation(&self) -> DbResult<CorrelationState> {
        let mut out = CorrelationState::default();
        for (table, key) in [
            ("correlation_alerts", "fingerprint"),
            ("incident_records", "id"),
            ("correlation_documents", "name"),
        ] {
            let rows = sqlx::query(&format!(
                "SELECT {key} AS k, body FROM {table} ORDER BY {key}"
            ))
            .fetch_all(&self.read)
            .await?;
            let v: Vec<(String, String)> = rows
                .iter()
                .map(|r| Ok((r.try_get("k")?, r.try_get("body")?)))
                .collect::<Result<_, sqlx::Error>>()?;
            match table {
                "incident_records" => out.records = v,
                "correlation_documents" => out.documents = v,
                _ => out.alerts = v,
            }
        }
        Ok(out)
    }
}
