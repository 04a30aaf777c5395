//! What happened: the event feed (the outbox, in commit order), the audit log and the change
//! history drawn from it, the bus's dead letters, and inventory import. Reading events and
//! changes needs `InventoryRead`; the raw audit log (logins, users, tokens, secrets,
//! source addresses, chain hashes) `AuditRead`; dead letters `EventAdmin`.

use fleet_bus::dlq::DeadLetter;
use fleet_bus::{BusError, EventBus, PublishAck};
use fleet_db::{AuditFilter, AuditRow, EventFilter, ImportSummary, OutboxRow, VerifyReport};
use fleet_model::event::CATALOG;
use fleet_model::import::{parse, Format};
use fleet_model::rbac::Permission;

use crate::error::{CoreError, CoreResult};
use crate::principal::Principal;
use crate::Core;

/// Audit kinds that are not inventory history: logins (with the user names tried), users,
/// tokens and secrets. The change history (every viewer) leaves them out; the audit log
/// (`AuditRead`) has them.
pub const NOT_CHANGES: &[&str] = &["auth", "user", "token", "secret"];

/// One page of rows and the cursor of the next one (absent on the last page).
#[derive(Debug, Clone)]
pub struct Paged<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

/// Event types as CloudEvents types (`io.gpufleet.hardware.discovered.v1`) or catalogue names
/// (`HardwareDiscovered`), comma-separated, as CloudEvents types.
pub fn resolve_event_types(s: &str) -> CoreResult<Vec<String>> {
    let mut out = Vec::new();
    for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if t.starts_with("io.gpufleet.") {
            out.push(t.to_string());
        } else if let Some(k) = CATALOG.iter().find(|k| k.name.eq_ignore_ascii_case(t)) {
            out.push(k.ty.to_string());
        } else {
            return Err(CoreError::Invalid(format!(
                "unknown event type '{t}': use a type such as io.gpufleet.hardware.discovered.v1 or a name such as HardwareDiscovered (GET /api/v1/events/types lists them)"
            )));
        }
    }
    Ok(out)
}

fn check_limit(limit: i64) -> CoreResult<()> {
    if !(1..=1000).contains(&limit) {
        return Err(CoreError::Invalid(
            "'limit' must be between 1 and 1000".into(),
        ));
    }
    Ok(())
}

fn page<T>(mut rows: Vec<T>, limit: usize, seq: impl Fn(&T) -> i64) -> Paged<T, i64> {
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(seq)
    } else {
        None
    };
    Paged { items: rows, next }
}

/// The bus's errors: a dead letter that is not there, a bad request, or the bus down.
fn bus_error(e: BusError) -> CoreError {
    match e {
        BusError::NotFound(m) => CoreError::NotFound(m),
        BusError::Invalid(m) => CoreError::Invalid(m),
        other => CoreError::unavailable("Event bus unavailable", other.to_string()),
    }
}

impl Core {
    /// Events in commit order after `f.after_seq`, `f.limit` (1-1000) at most; the cursor of
    /// the next page is the sequence of the last one.
    pub async fn events(
        &self,
        p: &Principal,
        f: &EventFilter,
    ) -> CoreResult<Paged<OutboxRow, i64>> {
        p.require(Permission::InventoryRead, "read events")?;
        check_limit(f.limit)?;
        let mut q = f.clone();
        q.limit += 1;
        let rows = self.store.outbox_query(&q).await?;
        Ok(page(rows, f.limit as usize, |r| r.seq))
    }

    /// Published events after `f.after_seq` (for feeds that go on live from there).
    pub async fn published_events(
        &self,
        p: &Principal,
        f: &EventFilter,
    ) -> CoreResult<Vec<OutboxRow>> {
        p.require(Permission::InventoryRead, "watch events")?;
        let mut q = f.clone();
        q.published_only = true;
        Ok(self.store.outbox_query(&q).await?)
    }

    /// The sequence of the event with id `event_id`, for a stream that resumes after it
    /// (SSE's `Last-Event-ID`); NotFound when it is not (or no longer) kept.
    pub async fn event_sequence(&self, p: &Principal, event_id: &str) -> CoreResult<i64> {
        p.require(Permission::InventoryRead, "watch events")?;
        self.store.outbox_seq_of(event_id).await?.ok_or_else(|| {
            CoreError::NotFound(format!(
                "event '{event_id}' (Last-Event-ID) is not kept: resume with a cursor or since a time instead"
            ))
        })
    }

    /// The sequence of the newest published event (0: none yet).
    pub async fn last_published_event(&self, p: &Principal) -> CoreResult<i64> {
        p.require(Permission::InventoryRead, "watch events")?;
        Ok(self.store.outbox_last_published_seq().await?)
    }

    /// The change history: audit rows without logins, users, tokens and secrets.
    pub async fn changes(
        &self,
        p: &Principal,
        f: &AuditFilter,
    ) -> CoreResult<Paged<AuditRow, i64>> {
        p.require(Permission::InventoryRead, "read the change history")?;
        let mut f = f.clone();
        f.exclude_kinds = NOT_CHANGES.iter().map(|k| k.to_string()).collect();
        self.audit_page(f).await
    }

    /// The raw audit log.
    pub async fn audit_log(
        &self,
        p: &Principal,
        f: &AuditFilter,
    ) -> CoreResult<Paged<AuditRow, i64>> {
        p.require(Permission::AuditRead, "read the audit log")?;
        self.audit_page(f.clone()).await
    }

    async fn audit_page(&self, mut f: AuditFilter) -> CoreResult<Paged<AuditRow, i64>> {
        check_limit(f.limit)?;
        let limit = f.limit as usize;
        f.limit += 1;
        let rows = self.store.list_audit(&f).await?;
        Ok(page(rows, limit, |r| r.seq))
    }

    /// Recomputes the audit hash chain: altered, inserted and deleted rows.
    pub async fn verify_audit(&self, p: &Principal) -> CoreResult<VerifyReport> {
        p.require(Permission::AuditRead, "verify the audit log")?;
        Ok(self.store.verify_audit().await?)
    }

    /// Dead letters after sequence `after`, of one consumer or all; `limit` 1-1000.
    pub async fn dead_letters(
        &self,
        p: &Principal,
        bus: &dyn EventBus,
        consumer: Option<&str>,
        after: u64,
        limit: usize,
    ) -> CoreResult<Paged<DeadLetter, u64>> {
        p.require(Permission::EventAdmin, "read dead letters")?;
        check_limit(limit as i64)?;
        let mut items = fleet_bus::dlq::list(bus, consumer, after, limit + 1)
            .await
            .map_err(bus_error)?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|d| d.seq)
        } else {
            None
        };
        Ok(Paged { items, next })
    }

    /// Publishes dead letter `seq` again on its subject and removes it. Re-publishing can
    /// start work again (an inspection, a job), so it is audited.
    pub async fn redrive(
        &self,
        p: &Principal,
        bus: &dyn EventBus,
        seq: u64,
    ) -> CoreResult<PublishAck> {
        p.require(Permission::EventAdmin, "re-drive dead letters")?;
        let ack = fleet_bus::dlq::redrive(bus, seq).await.map_err(bus_error)?;
        self.store
            .audit(
                &p.actor(),
                fleet_db::AuditEntry {
                    action: "event.redrive",
                    kind: "event",
                    target: None,
                    before: Some(serde_json::json!({"dead_letter_seq": seq})),
                    after: Some(
                        serde_json::json!({"stream": ack.stream, "stream_seq": ack.sequence}),
                    ),
                },
            )
            .await?;
        Ok(ack)
    }

    /// Imports an inventory file, all or nothing; `dry_run` checks without writing. Every
    /// problem is reported with its line.
    pub async fn import(
        &self,
        p: &Principal,
        text: &str,
        format: Format,
        dry_run: bool,
    ) -> CoreResult<ImportSummary> {
        p.require(Permission::InventoryWrite, "import inventory")?;
        let plan = parse(text, format).map_err(fleet_db::DbError::Import)?;
        let summary = self.store.apply_import(&p.actor(), plan, dry_run).await?;
        if !dry_run {
            self.telemetry.cmdb_changed();
        }
        Ok(summary)
    }

    /// Whether the store answers (readiness; no principal: anyone may ask).
    pub async fn ping(&self) -> CoreResult<()> {
        Ok(self.store.ping().await?)
    }

    /// Assets by kind and events not yet published, for metrics (no principal).
    pub async fn gauges(&self) -> (Option<Vec<(String, i64)>>, Option<usize>) {
        let counts = self
            .store
            .count_by_kind()
            .await
            .ok()
            .map(|c| c.into_iter().collect());
        let pending = self
            .store
            .outbox_pending(10_000)
            .await
            .ok()
            .map(|p| p.len());
        (counts, pending)
    }
}
