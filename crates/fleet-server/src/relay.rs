//! The outbox relay: publishes committed events to the event bus (in-process
//! or NATS JetStream) in commit order, then marks them published.
//!
//! Each event is published with its CloudEvents id as the de-duplication id
//! (`Nats-Msg-Id`): after a crash between commit and publish the event is
//! still pending and is published on restart; after a crash between publish
//! and mark it is published again and the bus drops the copy (within the
//! duplicate window). Only the leading run of acknowledged events is marked,
//! so a failure never lets a later event overtake an earlier one for good.

use std::sync::Arc;
use std::time::Duration;

use fleet_bus::{BusError, EventBus};
use fleet_db::{OutboxRow, Store};
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Events read from the outbox per round.
pub const BATCH: i64 = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundStats {
    /// Rows marked published.
    pub published: usize,
    /// Of those, rows the bus already had (republished after a crash).
    pub duplicates: usize,
    /// Rows whose type has no bus domain (marked, not sent to the bus).
    pub unroutable: usize,
}

/// Publishes up to `limit` pending events; stops at the first bus failure.
pub async fn publish_pending(
    store: &Store,
    bus: &dyn EventBus,
    limit: i64,
    on_published: impl Fn(&OutboxRow),
) -> Result<RoundStats, String> {
    let rows = store
        .outbox_pending(limit)
        .await
        .map_err(|e| format!("reading pending events: {e}"))?;
    if rows.is_empty() {
        return Ok(RoundStats::default());
    }
    let mut stats = RoundStats::default();
    let mut msgs = Vec::with_capacity(rows.len());
    let mut routed = Vec::with_capacity(rows.len());
    for r in &rows {
        match fleet_bus::outgoing_for_event(
            bus.topology(),
            &r.ty,
            &r.subject,
            &r.event_id,
            r.payload.clone(),
        ) {
            Ok(m) => {
                msgs.push(m);
                routed.push(true);
            }
            Err(e) => {
                tracing::warn!(event = %r.event_id, error = %e, "outbox: event not routable to the bus; kept in the outbox only");
                routed.push(false);
            }
        }
    }
    let mut acks = bus.publish_batch(msgs).await.into_iter();
    let mut done = Vec::with_capacity(rows.len());
    let mut failure: Option<BusError> = None;
    for (r, routed) in rows.iter().zip(routed) {
        if !routed {
            stats.unroutable += 1;
            done.push(r);
            continue;
        }
        match acks.next() {
            Some(Ok(ack)) => {
                if ack.duplicate {
                    stats.duplicates += 1;
                }
                done.push(r);
            }
            Some(Err(e)) => {
                failure = Some(e);
                break;
            }
            None => break,
        }
    }
    let seqs: Vec<i64> = done.iter().map(|r| r.seq).collect();
    store
        .outbox_mark_published(&seqs)
        .await
        .map_err(|e| format!("marking events published (they will be sent again): {e}"))?;
    for r in &done {
        on_published(r);
    }
    stats.published = done.len();
    match failure {
        Some(e) if done.is_empty() => Err(format!("publishing: {e}")),
        Some(e) => {
            tracing::warn!(error = %e, "outbox: publishing stopped part-way; the rest goes in the next round");
            Ok(stats)
        }
        None => Ok(stats),
    }
}

pub async fn run(st: AppState, shutdown: CancellationToken) {
    let mut idle = Duration::from_millis(50);
    let mut failing = false;
    loop {
        let events = st.events.clone();
        let round = publish_pending(&st.store, &*st.bus, BATCH, |r| {
            // No subscriber is fine: the event stays queryable through the API.
            let _ = events.send(Arc::new(r.payload.clone()));
        })
        .await;
        let published = match round {
            Ok(s) => {
                if failing {
                    tracing::info!("outbox: publishing again");
                    failing = false;
                }
                s.published
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "outbox: relay round failed; retrying");
                    failing = true;
                }
                0
            }
        };
        idle = if published > 0 {
            Duration::from_millis(5)
        } else if failing {
            (idle * 2).clamp(Duration::from_millis(100), Duration::from_secs(2))
        } else {
            (idle * 2).min(Duration::from_millis(200))
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(idle) => {}
        }
    }
}
