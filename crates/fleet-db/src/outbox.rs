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
    #[sqlx(default)]
    pub correlation_id: Option<String>,
}

/// Filters of the event query; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Any of these types (empty: all).
    pub types: Vec<String>,
    /// The asset the events are about.
    pub subject: Option<String>,
    pub correlation_id: Option<String>,
    /// Unix ms, inclusive.
    pub since_ms: Option<i64>,
    /// Unix ms, exclusive.
    pub until_ms: Option<i64>,
    /// Only events the relay has published.
    pub published_only: bool,
    /// Cursor: sequence of the last event already seen.
    pub after_seq: i64,
    pub limit: i64,
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
        sqlx::query("INSERT INTO outbox (event_id, type, subject, payload, created_at, correlation_id) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&ev.id)
            .bind(ty)
            .bind(subject)
            .bind(serde_json::to_string(&ev)?)
            .bind(now)
            .bind(ev.correlationid.clone())
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

    /// The sequence of the newest published event (0: none yet).
    /// The sequence of the event with this id (None: no such event is kept).
    pub async fn outbox_seq_of(&self, event_id: &str) -> DbResult<Option<i64>> {
        let row = sqlx::query("SELECT seq FROM outbox WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(r) => Some(sqlx::Row::try_get(&r, "seq")?),
            None => None,
        })
    }

    pub async fn outbox_last_published_seq(&self) -> DbResult<i64> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox WHERE published_at IS NOT NULL",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(sqlx::Row::try_get::<i64, _>(&row, "seq")?)
    }

    /// Events in sequence order matching `f`, after its cursor.
    pub async fn outbox_query(&self, f: &EventFilter) -> DbResult<Vec<OutboxRow>> {
        let mut sql = String::from("SELECT * FROM outbox WHERE seq > $1");
        let mut n = 1;
        let mut next = |sql: &mut String, cond: &str| {
            n += 1;
            sql.push_str(&cond.replace('?', &format!("${n}")));
        };
        if !f.types.is_empty() {
            sql.push_str(" AND type IN (");
            for i in 0..f.types.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                next(&mut sql, "?");
            }
            sql.push(')');
        }
        if f.subject.is_some() {
            next(&mut sql, " AND subject = ?");
        }
        if f.correlation_id.is_some() {
            next(&mut sql, " AND correlation_id = ?");
        }
        if f.since_ms.is_some() {
            next(&mut sql, " AND created_at >= ?");
        }
        if f.until_ms.is_some() {
            next(&mut sql, " AND created_at < ?");
        }
        if f.published_only {
            sql.push_str(" AND published_at IS NOT NULL");
        }
        next(&mut sql, " ORDER BY seq LIMIT ?");
        let mut q = sqlx::query_as::<_, OutboxRow>(&sql).bind(f.after_seq);
        for t in &f.types {
            q = q.bind(t.clone());
        }
        if let Some(s) = &f.subject {
            q = q.bind(s.clone());
        }
        if let Some(c) = &f.correlation_id {
            q = q.bind(c.clone());
        }
        if let Some(t) = f.since_ms {
            q = q.bind(t);
        }
        if let Some(t) = f.until_ms {
            q = q.bind(t);
        }
        Ok(q.bind(f.limit).fetch_all(&self.read).await?)
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
