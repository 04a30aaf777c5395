//! Runs a handler on a durable consumer: de-duplication by event id, retries
//! with backoff (nak with delay), and a dead letter after N attempts.
//!
//! De-duplication covers redeliveries and republished duplicates seen by this
//! worker (a bounded memory of handled ids); handlers must still be
//! idempotent, since replicas do not share that memory and a crash between
//! handling and ack redelivers.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::{BusResult, ConsumerSpec, Delivery, Outgoing, SharedBus};

/// Headers of a dead letter.
pub mod dlq_headers {
    pub const CONSUMER: &str = "Gpufleet-Dlq-Consumer";
    pub const SUBJECT: &str = "Gpufleet-Dlq-Subject";
    pub const STREAM: &str = "Gpufleet-Dlq-Stream";
    pub const STREAM_SEQ: &str = "Gpufleet-Dlq-Stream-Seq";
    pub const ERROR: &str = "Gpufleet-Dlq-Error";
    pub const ATTEMPTS: &str = "Gpufleet-Dlq-Attempts";
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum HandlerError {
    /// Try again later (up to the attempt limit).
    #[error("{0}")]
    Retry(String),
    /// Retrying cannot help: dead-letter at once.
    #[error("{0}")]
    Permanent(String),
}

pub trait Handler: Send + Sync {
    fn handle<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>>;
}

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Deliveries before an event goes to the dead-letter stream.
    pub max_attempts: u32,
    /// Delay before attempt n+1 is `backoff[n-1]` (the last entry repeats).
    pub backoff: Vec<Duration>,
    /// Handled event ids remembered for de-duplication.
    pub dedup_capacity: usize,
    /// How long one poll waits for a message (bounds shutdown latency).
    pub poll_wait: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            max_attempts: 5,
            backoff: [1, 5, 30, 120]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            dedup_capacity: 100_000,
            poll_wait: Duration::from_millis(500),
        }
    }
}

impl WorkerOptions {
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let i = (attempt.max(1) - 1) as usize;
        self.backoff
            .get(i)
            .or(self.backoff.last())
            .copied()
            .unwrap_or(Duration::from_secs(1))
    }
}

#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Events the handler accepted.
    pub handled: AtomicU64,
    /// Deliveries dropped because the id was handled before.
    pub duplicates: AtomicU64,
    /// Failed attempts that were scheduled again.
    pub retried: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Bus errors (subscribe, pull, ack).
    pub bus_errors: AtomicU64,
}

impl WorkerStats {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Bounded set of recently handled ids.
pub struct Dedup {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Dedup {
    pub fn new(cap: usize) -> Self {
        Dedup {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }
    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }
    pub fn insert(&mut self, id: String) {
        if self.set.insert(id.clone()) {
            self.order.push_back(id);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// Runs until `shutdown`; survives bus outages (it re-subscribes).
pub async fn run(
    bus: SharedBus,
    spec: ConsumerSpec,
    opts: WorkerOptions,
    handler: Arc<dyn Handler>,
    stats: Arc<WorkerStats>,
    shutdown: CancellationToken,
) {
    let mut dedup = Dedup::new(opts.dedup_capacity);
    let mut pause = Duration::from_millis(50);
    'outer: while !shutdown.is_cancelled() {
        let mut sub = match bus.subscribe(spec.clone()).await {
            Ok(s) => s,
            Err(e) => {
                stats.bus_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(consumer = %spec.name, error = %e, "subscribing failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => break 'outer,
                n = sub.next(opts.poll_wait) => n,
            };
            match next {
                Ok(None) => {}
                Ok(Some(d)) => {
                    pause = Duration::from_millis(50);
                    if let Err(e) =
                        process(&bus, &spec, &opts, &*handler, &stats, &mut dedup, d).await
                    {
                        stats.bus_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(consumer = %spec.name, error = %e, "settling a delivery failed; it will be delivered again");
                    }
                }
                Err(e) => {
                    stats.bus_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(consumer = %spec.name, error = %e, "pulling failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => break 'outer,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

async fn process(
    bus: &SharedBus,
    spec: &ConsumerSpec,
    opts: &WorkerOptions,
    handler: &dyn Handler,
    stats: &WorkerStats,
    dedup: &mut Dedup,
    d: Delivery,
) -> BusResult<()> {
    if dedup.contains(&d.event_id) {
        stats.duplicates.fetch_add(1, Ordering::Relaxed);
        return d.ack().await;
    }
    match handler.handle(&d).await {
        Ok(()) => {
            dedup.insert(d.event_id.clone());
            stats.handled.fetch_add(1, Ordering::Relaxed);
            d.ack().await
        }
        Err(e) => {
            let permanent = matches!(e, HandlerError::Permanent(_));
            if !permanent && d.attempt < opts.max_attempts {
                stats.retried.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(consumer = %spec.name, event = %d.event_id, attempt = d.attempt, error = %e, "handler failed; retrying later");
                return d.nak(opts.delay_after(d.attempt)).await;
            }
            tracing::warn!(consumer = %spec.name, event = %d.event_id, attempt = d.attempt, error = %e, "handler failed; moving the event to the dead-letter stream");
            let topo = bus.topology();
            let mut msg = Outgoing::new(
                topo.dlq_subject(&spec.name),
                format!("dlq:{}:{}:{}", spec.name, d.stream, d.stream_seq),
                d.payload.clone(),
            )
            .header(dlq_headers::CONSUMER, spec.name.clone())
            .header(dlq_headers::SUBJECT, d.subject.clone())
            .header(dlq_headers::STREAM, d.stream.clone())
            .header(dlq_headers::STREAM_SEQ, d.stream_seq.to_string())
            .header(dlq_headers::ERROR, truncate(&e.to_string(), 1000))
            .header(dlq_headers::ATTEMPTS, d.attempt.to_string());
            for k in ["Ce-Type", "Ce-Subject"] {
                if let Some(v) = d.headers.get(k) {
                    msg = msg.header(k, v.clone());
                }
            }
            msg.event_id = Some(d.event_id.clone());
            if let Err(pe) = bus.publish(msg).await {
                // Keep the event: it is delivered again after the delay.
                let _ = d.nak(opts.delay_after(d.attempt)).await;
                return Err(pe);
            }
            stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
            d.term().await
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    // Header values are one line.
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.len() <= max {
        return one_line;
    }
    let mut end = max;
    while !one_line.is_char_boundary(end) {
        end -= 1;
    }
    one_line[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_repeats_last_delay() {
        let o = WorkerOptions {
            backoff: vec![Duration::from_millis(10), Duration::from_millis(20)],
            ..Default::default()
        };
        assert_eq!(o.delay_after(1), Duration::from_millis(10));
        assert_eq!(o.delay_after(2), Duration::from_millis(20));
        assert_eq!(o.delay_after(9), Duration::from_millis(20));
    }

    #[test]
    fn dedup_forgets_oldest_beyond_capacity() {
        let mut d = Dedup::new(2);
        d.insert("a".into());
        d.insert("b".into());
        d.insert("a".into());
        assert!(d.contains("a") && d.contains("b"));
        d.insert("c".into());
        assert!(!d.contains("a"));
        assert!(d.contains("b") && d.contains("c"));
    }

    #[test]
    fn header_values_are_one_bounded_line() {
        assert_eq!(truncate("a\nb", 10), "a b");
        assert_eq!(truncate("ééé", 3), "é");
    }
}
