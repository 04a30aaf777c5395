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
