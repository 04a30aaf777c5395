//! The published event feed as a watch: every event published after a sequence, in sequence
//! order, then new ones as they are published by any process. Read back from the store (the
//! outbox rows that reached the bus), so a watcher sees what other processes published; a
//! local wake-up signal only shortens the wait, and without one the watch looks again after a
//! pause that grows from 50 ms to 1 s while nothing comes.

use std::time::Duration;

use fleet_db::{EventFilter, OutboxRow};
use fleet_model::rbac::Permission;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::{Core, CoreResult, Principal};

/// What a watch asks for.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Resume after this sequence; `None`: only events published from now on.
    pub after_sequence: Option<i64>,
    /// Event types (any of them); empty: every type.
    pub types: Vec<String>,
    /// Only events about this subject (an asset or job id).
    pub subject: Option<String>,
}

impl Core {
    /// Starts a watch; the events come through the returned channel until the receiver is
    /// dropped or `done` is cancelled. A store error ends the watch after being sent.
    pub async fn watch_events<T: Clone + Send + 'static>(
        &self,
        p: &Principal,
        w: Watch,
        mut wake: broadcast::Receiver<T>,
        done: CancellationToken,
    ) -> CoreResult<mpsc::Receiver<CoreResult<OutboxRow>>> {
        p.require(Permission::InventoryRead, "watch events")?;
        let mut after = match w.after_sequence {
            Some(seq) => seq.max(0),
            None => self.store.outbox_last_published_seq().await?,
        };
        let filter = EventFilter {
            types: w.types,
            subject: w.subject,
            published_only: true,
            limit: 500,
            ..Default::default()
        };
        let (tx, rx) = mpsc::channel(256);
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(50);
            loop {
                let mut f = filter.clone();
                f.after_seq = after;
                let rows = match store.outbox_query(&f).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                };
                let got = !rows.is_empty();
                for row in rows {
                    after = after.max(row.seq);
                    if tx.send(Ok(row)).await.is_err() {
                        return; // the watcher went away
                    }
                }
                if got {
                    pause = Duration::from_millis(50);
                    continue;
                }
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = done.cancelled() => return,
                    _ = wake.recv() => pause = Duration::from_millis(50),
                    _ = tokio::time::sleep(pause) => pause = (pause * 2).min(Duration::from_secs(1)),
                }
            }
        });
        Ok(rx)
    }
}
