//! The hash-chained audit log.
//!
//! Row `n` stores `hash_n = sha256(hash_{n-1} ‖ canonical(row_n))`; the head
//! table holds the last sequence number and hash. Appends lock the head row
//! (PostgreSQL) or run on the single writer connection (SQLite), so the chain
//! never forks. [`Store::verify_audit`] recomputes the chain and reports the
//! first altered, inserted or deleted row.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};

use crate::error::DbResult;
use crate::now_ms;
use crate::query::{Bind, Sql};
use crate::store::{Actor, Store};

/// One audited change, as the caller describes it.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub action: &'a str,
    /// Change kind used by the history query: create, config, labels, lifecycle,
    /// relation, delete, profile, user, token, auth, import.
    pub kind: &'a str,
    pub target: Option<&'a str>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub kind: String,
    pub target: Option<String>,
    pub before_doc: Option<String>,
    pub after_doc: Option<String>,
    pub source: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub target: Option<String>,
    pub actor: Option<String>,
    pub kind: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Return rows with seq greater than this (cursor).
    pub after_seq: Option<i64>,
    pub limit: i64,
    /// Leave out rows of these kinds (e.g. logins and user administration from the change
    /// history that every viewer may read).
    pub exclude_kinds: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    pub rows_checked: i64,
    pub head_seq: i64,
    /// Every problem found, each naming the sequence number.
    pub problems: Vec<String>,
}

fn canonical(r: &AuditRow) -> String {
    serde_json::json!([
        r.seq,
        r.at,
        r.actor,
        r.action,
        r.kind,
        r.target,
        r.before_doc,
        r.after_doc,
        r.source,
        r.request_id
    ])
    .to_string()
}

/// Prefix of a keyed link: `k1:` + hex HMAC-SHA256 under the audit key.
const KEYED: &str = "k1:";

/// The hash of a row linked to `prev`: keyed (HMAC-SHA256 under the audit key, derived from
/// the configured secret key, which is not in the database) when a key is given, so that a
/// database writer cannot recompute the chain after altering a row; plain SHA-256 otherwise
/// (stores opened without a secret key, and rows written before keying).
fn chain_hash(prev: &str, row: &AuditRow, key: Option<&[u8; 32]>) -> String {
    match key {
        Some(k) => {
            use hmac::{Mac, SimpleHmac};
            let mut m =
                <SimpleHmac<Sha256> as Mac>::new_from_slice(k).expect("HMAC takes any key length");
            m.update(prev.as_bytes());
            m.update(b"\n");
            m.update(canonical(row).as_bytes());
            format!("{KEYED}{}", hex::encode(m.finalize().into_bytes()))
        }
        None => {
            let mut h = Sha256::new();
            h.update(prev.as_bytes());
            h.update(b"\n");
            h.update(canonical(row).as_bytes());
            hex::encode(h.finalize())
        }
    }
}

impl Store {
    /// Appends an audit row inside the caller's transaction.
    pub(crate) async fn audit_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        e: AuditEntry<'_>,
    ) -> DbResult<i64> {
        let head = sqlx::query(&format!(
            "SELECT seq, hash FROM audit_head WHERE id = 1{}",
            self.for_update()
        ))
        .fetch_one(&mut **tx)
        .await?;
        let prev_seq: i64 = head.try_get("seq")?;
        let prev_hash: String = head.try_get("hash")?;
        let mut row = AuditRow {
            seq: prev_seq + 1,
            at: now_ms(),
            actor: actor.name.clone(),
            action: e.action.to_string(),
            kind: e.kind.to_string(),
            target: e.target.map(str::to_string),
            before_doc: e.before.map(|v| v.to_string()),
            after_doc: e.after.map(|v| v.to_string()),
            source: actor.source.clone(),
            request_id: actor.request_id.clone(),
            prev_hash: prev_hash.clone(),
            hash: String::new(),
        };
        row.hash = chain_hash(&prev_hash, &row, self.audit_key.as_ref());
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, kind, target, before_doc, after_doc, source, request_id, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(row.seq)
        .bind(row.at)
        .bind(&row.actor)
        .bind(&row.action)
        .bind(&row.kind)
        .bind(&row.target)
        .bind(&row.before_doc)
        .bind(&row.after_doc)
        .bind(&row.source)
        .bind(&row.request_id)
        .bind(&row.prev_hash)
        .bind(&row.hash)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(row.seq)
            .bind(&row.hash)
            .execute(&mut **tx)
            .await?;
        Ok(row.seq)
    }

    /// Audits an action that changes nothing else (e.g. a login), in its own transaction.
    pub async fn audit(&self, actor: &Actor, e: AuditEntry<'_>) -> DbResult<i64> {
        let mut tx = self.write.begin().await?;
        let seq = self.audit_tx(&mut tx, actor, e).await?;
        tx.commit().await?;
        Ok(seq)
    }

    pub async fn list_audit(&self, f: &AuditFilter) -> DbResult<Vec<AuditRow>> {
        let mut q = Sql::new("SELECT * FROM audit_log WHERE 1=1");
        if let Some(t) = &f.target {
            q.push(" AND target = ").bind(Bind::Str(t.clone()));
        }
        if let Some(a) = &f.actor {
            q.push(" AND actor = ").bind(Bind::Str(a.clone()));
        }
        if let Some(k) = &f.kind {
            q.push(" AND kind = ").bind(Bind::Str(k.clone()));
        }
        for k in &f.exclude_kinds {
            q.push(" AND kind <> ").bind(Bind::Str(k.clone()));
        }
        if let Some(s) = f.since_ms {
            q.push(" AND at >= ").bind(Bind::I64(s));
        }
        if let Some(u) = f.until_ms {
            q.push(" AND at < ").bind(Bind::I64(u));
        }
        if let Some(c) = f.after_seq {
            q.push(" AND seq > ").bind(Bind::I64(c));
        }
        q.push(" ORDER BY seq LIMIT ")
            .bind(Bind::I64(f.limit.clamp(1, 1000)));
        Ok(q.query_as::<AuditRow>().fetch_all(&self.read).await?)
    }

    /// Recomputes the whole chain.
    pub async fn verify_audit(&self) -> DbResult<VerifyReport> {
        let mut problems = Vec::new();
        let mut prev_hash = "0".repeat(64);
        let mut expected_seq = 1i64;
        let mut checked = 0i64;
        let mut keyed_seen: Option<i64> = None;
        let mut after = 0i64;
        loop {
            let rows: Vec<AuditRow> =
                sqlx::query_as("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000")
                    .bind(after)
                    .fetch_all(&self.read)
                    .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                after = r.seq;
                checked += 1;
                if r.seq != expected_seq {
                    problems.push(format!(
                        "rows {expected_seq}..{} are missing (deleted) before row {}",
                        r.seq - 1,
                        r.seq
                    ));
                }
                if r.prev_hash != prev_hash {
                    problems.push(format!(
                        "row {} does not link to the row before it (chain broken)",
                        r.seq
                    ));
                }
                let keyed = r.hash.starts_with(KEYED);
                if keyed {
                    keyed_seen.get_or_insert(r.seq);
                    match &self.audit_key {
                        None => problems.push(format!(
                            "row {} is keyed; verifying it needs the secret key gpufleet runs with",
                            r.seq
                        )),
                        Some(k) => {
                            if chain_hash(&r.prev_hash, &r, Some(k)) != r.hash {
                                problems.push(format!(
                                    "row {} was altered: its content does not match its keyed hash",
                                    r.seq
                                ));
                            }
                        }
                    }
                } else if let Some(first) = keyed_seen {
                    problems.push(format!(
                        "row {} has an unkeyed hash after the keyed rows that begin at row {first}: it was rewritten by someone without the audit key",
                        r.seq
                    ));
                } else if chain_hash(&r.prev_hash, &r, None) != r.hash {
                    problems.push(format!(
                        "row {} was altered: its content does not match its hash",
                        r.seq
                    ));
                }
                prev_hash = r.hash.clone();
                expected_seq = r.seq + 1;
                if problems.len() > 100 {
                    break;
                }
            }
        }
        if self.audit_key.is_some() && checked > 0 && !prev_hash.starts_with(KEYED) {
            problems.push(format!(
                "the newest row {} is not keyed although gpufleet runs with an audit key: the chain was written without the key (rewritten), or nothing was recorded since keying began",
                expected_seq - 1
            ));
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        if head_seq != expected_seq - 1 {
            problems.push(format!(
                "the log ends at row {} but the head records row {head_seq}: rows at the end were deleted or inserted",
                expected_seq - 1
            ));
        } else if head_hash != prev_hash {
            problems.push(format!(
                "the last row {head_seq} does not match the recorded head hash"
            ));
        }
        Ok(VerifyReport {
            ok: problems.is_empty(),
            rows_checked: checked,
            head_seq,
            problems,
        })
    }
}
