//! The transactional outbox: events are inserted in the same transaction as
//! the change they describe, and a relay publishes them after commit.

use fleet_model::event::CloudEvent;
use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::error::DbResult;
use crate::store::{Actor, Store};
use crate::{now_ms, rfc3339};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: String,
    #[sqlx(rename = "type")]
    pub ty: String,
    pub subject: String,
    pub payload: String,
    pub created_at: i64,
    pub published_at: Option<i64>,
}

impl Store {
    pub(crate) async fn outbox_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        ty: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> DbResult<()> {
        let now = now_ms();
        let ev = CloudEvent::new(ty, subject, rfc3339(now), data)
            .with_correlation(actor.request_id.clone());
        sqlx::query("INSERT INTO outbox (event_id, type, subject, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&ev.id)
            .bind(ty)
            .bind(subject)
            .bind(serde_json::to_string(&ev)?)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Oldest events not yet published.
    pub async fn outbox_pending(&self, limit: i64) -> DbResult<Vec<OutboxRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1")
                .bind(limit)
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn outbox_mark_published(&self, seqs: &[i64]) -> DbResult<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        for s in seqs {
            sqlx::query("UPDATE outbox SET published_at = $1 WHERE seq = $2")
                .bind(now)
                .bind(*s)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Events in sequence order, optionally for one subject, after a cursor.
    pub async fn outbox_list(
        &self,
        subject: Option<&str>,
        after_seq: i64,
        limit: i64,
    ) -> DbResult<Vec<OutboxRow>> {
        let rows =
            match subject {
                Some(s) => sqlx::query_as(
                    "SELECT * FROM outbox WHERE subject = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(s.to_string())
                .bind(after_seq)
                .bind(limit)
                .fetch_all(&self.read)
                .await?,
                None => {
                    sqlx::query_as("SELECT * FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2")
                        .bind(after_seq)
                        .bind(limit)
                        .fetch_all(&self.read)
                        .await?
                }
            };
        Ok(rows)
    }
}
