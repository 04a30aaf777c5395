//! The outbox relay: publishes committed events to the in-process bus and
//! marks them published. A crash between publish and mark republishes the
//! event (at-least-once); consumers deduplicate by event id.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub async fn run(st: AppState, shutdown: CancellationToken) {
    let mut idle = Duration::from_millis(50);
    loop {
        let published = match st.store.outbox_pending(500).await {
            Ok(rows) => {
                let n = rows.len();
                let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
                for r in rows {
                    // No subscriber is fine: the event stays queryable through the API.
                    let _ = st.events.send(Arc::new(r.payload));
                }
                if let Err(e) = st.store.outbox_mark_published(&seqs).await {
                    tracing::warn!(error = %e, "outbox: marking events published failed; they will be sent again");
                }
                n
            }
            Err(e) => {
                tracing::warn!(error = %e, "outbox: reading pending events failed");
                0
            }
        };
        idle = if published > 0 {
            Duration::from_millis(10)
        } else {
            (idle * 2).min(Duration::from_millis(500))
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(idle) => {}
        }
    }
}
