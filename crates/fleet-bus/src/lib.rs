//! The event bus port and its adapters.
//!
//! Events travel on subjects `<prefix>.<domain>.<type>.<asset>` (prefix
//! `gpufleet` by default), one stream per domain (`GPUFLEET_HARDWARE`, ...), and
//! a dead-letter stream (`GPUFLEET_DLQ`, subjects `<prefix>.dlq.<consumer>`).
//!
//! - [`EventBus`]: the port: publish with a de-duplication id, durable pull
//!   consumers (several subscriptions to one durable share its messages, like
//!   a queue group), ack / nak with delay / term, replay from a sequence or a
//!   time, reading and deleting stored messages.
//! - [`InProcessBus`]: the embedded adapter (memory only; nothing survives the
//!   process).
//! - [`JetStreamBus`]: NATS JetStream through async-nats.
//! - [`worker`]: runs a handler on a durable consumer with de-duplication by
//!   event id, retries with backoff and a dead-letter stream after N attempts;
//!   [`dlq`] lists and re-drives dead letters. Both work on any adapter.
//!
//! Delivery is at least once: a message is redelivered until acked, so
//! handlers must be idempotent; the worker drops redeliveries of event ids it
//! has already handled.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use bytes::Bytes;
use futures::future::BoxFuture;
use serde::Serialize;
use time::OffsetDateTime;

pub mod dlq;
pub mod jetstream;
pub mod memory;
pub mod worker;

pub use jetstream::JetStreamBus;
pub use memory::InProcessBus;
pub use worker::{Handler, HandlerError, WorkerOptions, WorkerStats};

/// Header carrying the JetStream de-duplication id.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";
/// Header carrying the CloudEvents id of the event (kept when a dead letter
/// is re-driven under a new de-duplication id).
pub const EVENT_ID_HEADER: &str = "Gpufleet-Event-Id";

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("event bus: {0}")]
    Other(String),
}

pub type BusResult<T> = Result<T, BusError>;

/// Names of streams and subjects. Tests use a unique prefix each so that they
/// do not see each other's events on a shared server.
#[derive(Debug, Clone)]
pub struct Topology {
    /// First subject token, e.g. `gpufleet`.
    pub prefix: String,
    /// Stream name prefix, e.g. `GPUFLEET`.
    pub stream_prefix: String,
    /// Domains that get a stream.
    pub domains: Vec<String>,
    /// Window in which a repeated de-duplication id is dropped.
    pub duplicate_window: Duration,
    /// How long events are kept (0: forever).
    pub max_age: Duration,
}

impl Default for Topology {
    fn default() -> Self {
        Topology::new("gpufleet")
    }
}

impl Topology {
    /// All catalogue domains under `prefix`; streams are named after the
    /// prefix in upper case.
    pub fn new(prefix: &str) -> Topology {
        Topology {
            prefix: prefix.to_string(),
            stream_prefix: prefix.to_ascii_uppercase().replace(['.', '-'], "_"),
            domains: fleet_model::event::DOMAINS
                .iter()
                .map(|d| d.to_string())
                .collect(),
            duplicate_window: Duration::from_secs(600),
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }

    pub fn stream(&self, domain: &str) -> String {
        format!("{}_{}", self.stream_prefix, domain.to_ascii_uppercase())
    }

    pub fn dlq_stream(&self) -> String {
        format!("{}_DLQ", self.stream_prefix)
    }

    /// Subjects a domain's stream holds.
    pub fn domain_subjects(&self, domain: &str) -> String {
        format!("{}.{domain}.>", self.prefix)
    }

    pub fn dlq_subject(&self, consumer: &str) -> String {
        format!("{}.dlq.{}", self.prefix, token(consumer))
    }

    /// `<prefix>.<domain>.<type>.<asset>`.
    pub fn subject(&self, domain: &str, ty: &str, asset: &str) -> String {
        format!("{}.{domain}.{}.{}", self.prefix, token(ty), token(asset))
    }

    /// The subject of a CloudEvent of type `ty` about `asset`; `None` when
    /// the type has no domain with a stream here.
    pub fn subject_for(&self, ty: &str, asset: &str) -> Option<String> {
        let (domain, name) = fleet_model::event::route(ty)?;
        self.domains
            .iter()
            .any(|d| d == domain)
            .then(|| self.subject(domain, &name, asset))
    }

    /// The stream that holds `subject`.
    pub fn stream_of(&self, subject: &str) -> Option<String> {
        let rest = subject.strip_prefix(&self.prefix)?.strip_prefix('.')?;
        let domain = rest.split('.').next()?;
        if domain == "dlq" {
            return Some(self.dlq_stream());
        }
        self.domains
            .iter()
            .any(|d| d == domain)
            .then(|| self.stream(domain))
    }

    /// Every stream: one per domain, then the dead-letter stream.
    pub fn streams(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .domains
            .iter()
            .map(|d| (self.stream(d), self.domain_subjects(d)))
            .collect();
        v.push((self.dlq_stream(), format!("{}.dlq.>", self.prefix)));
        v
    }
}

/// Makes `s` one subject token: characters other than ASCII letters, digits,
/// `-` and `_` become `~XX` (hex), so distinct ids stay distinct.
pub fn token(s: &str) -> String {
    if s.is_empty() {
        return "~".into();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("~{b:02X}"));
        }
    }
    out
}

/// NATS subject matching: `*` matches one token, `>` the rest (one or more).
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut f = filter.split('.');
    let mut s = subject.split('.');
    loop {
        match (f.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A message to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub subject: String,
    /// De-duplication id (`Nats-Msg-Id`): a second publish with the same id in
    /// the stream's duplicate window is acknowledged but not stored.
    pub msg_id: String,
    /// The event's id when it differs from `msg_id` (re-driven dead letters).
    pub event_id: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub payload: Bytes,
}

impl Outgoing {
    pub fn new(subject: impl Into<String>, msg_id: impl Into<String>, payload: Bytes) -> Self {
        Outgoing {
            subject: subject.into(),
            msg_id: msg_id.into(),
            event_id: None,
            headers: BTreeMap::new(),
            payload,
        }
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.insert(k.to_string(), v.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishAck {
    pub stream: String,
    pub sequence: u64,
    /// The id was seen within the duplicate window: nothing was stored.
    pub duplicate: bool,
}

/// Where a new durable consumer starts. An existing durable keeps its place.
#[derive(Debug, Clone, PartialEq)]
pub enum StartAt {
    All,
    New,
    Sequence(u64),
    Time(OffsetDateTime),
}

#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Durable name: every subscription with this name shares its messages.
    pub name: String,
    pub domain: String,
    /// Subject filter within the domain's stream (NATS wildcards); `None` for all.
    pub filter: Option<String>,
    pub start: StartAt,
    /// A delivered message that is neither acked nor nakked within this time
    /// is delivered again.
    pub ack_wait: Duration,
}

impl ConsumerSpec {
    pub fn new(name: &str, domain: &str) -> Self {
        ConsumerSpec {
            name: name.to_string(),
            domain: domain.to_string(),
            filter: None,
            start: StartAt::All,
            ack_wait: Duration::from_secs(30),
        }
    }
    pub fn filter(mut self, f: impl Into<String>) -> Self {
        self.filter = Some(f.into());
        self
    }
    pub fn start(mut self, s: StartAt) -> Self {
        self.start = s;
        self
    }
    pub fn ack_wait(mut self, d: Duration) -> Self {
        self.ack_wait = d;
        self
    }
}

/// Acknowledges one delivery.
pub trait Acker: Send + Sync {
    fn ack(&self) -> BoxFuture<'_, BusResult<()>>;
    /// Deliver again after `delay`.
    fn nak(&self, delay: Duration) -> BoxFuture<'_, BusResult<()>>;
    /// Never deliver again (without success).
    fn term(&self) -> BoxFuture<'_, BusResult<()>>;
}

/// One delivery of a stored message.
pub struct Delivery {
    pub subject: String,
    pub stream: String,
    pub stream_seq: u64,
    /// The event id (de-duplication key for handlers).
    pub event_id: String,
    /// 1 on the first delivery.
    pub attempt: u32,
    pub published: OffsetDateTime,
    pub headers: BTreeMap<String, String>,
    pub payload: Bytes,
    acker: Box<dyn Acker>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("subject", &self.subject)
            .field("stream_seq", &self.stream_seq)
            .field("event_id", &self.event_id)
            .field("attempt", &self.attempt)
            .finish()
    }
}

impl Delivery {
    pub async fn ack(&self) -> BusResult<()> {
        self.acker.ack().await
    }
    pub async fn nak(&self, delay: Duration) -> BusResult<()> {
        self.acker.nak(delay).await
    }
    pub async fn term(&self) -> BusResult<()> {
        self.acker.term().await
    }
}

/// A subscription to a durable consumer.
pub trait Subscription: Send {
    /// The next delivery, or `None` when none came within `wait`.
    fn next(&mut self, wait: Duration) -> BoxFuture<'_, BusResult<Option<Delivery>>>;
}

/// A message as stored in a stream.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub stream: String,
    pub seq: u64,
    pub subject: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub headers: BTreeMap<String, String>,
    #[serde(skip)]
    pub payload: Bytes,
}

impl Stored {
    pub fn event_id(&self) -> String {
        event_id(&self.headers, &self.stream, self.seq)
    }
}

fn event_id(h: &BTreeMap<String, String>, stream: &str, seq: u64) -> String {
    h.get(EVENT_ID_HEADER)
        .or_else(|| h.get(MSG_ID_HEADER))
        .cloned()
        .unwrap_or_else(|| format!("{stream}:{seq}"))
}

/// Stream state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamInfo {
    pub name: String,
    pub messages: u64,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// The event bus port.
pub trait EventBus: Send + Sync {
    fn topology(&self) -> &Topology;
    /// Creates the streams that do not exist yet.
    fn ensure_streams(&self) -> BoxFuture<'_, BusResult<()>>;
    fn publish(&self, msg: Outgoing) -> BoxFuture<'_, BusResult<PublishAck>>;
    /// Publishes in order; one result per message. Adapters may pipeline
    /// (send all, then collect the acknowledgements).
    fn publish_batch(&self, msgs: Vec<Outgoing>) -> BoxFuture<'_, Vec<BusResult<PublishAck>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(msgs.len());
            for m in msgs {
                out.push(self.publish(m).await);
            }
            out
        })
    }
    /// Binds to the durable consumer `spec.name` on the domain's stream,
    /// creating it when it does not exist.
    fn subscribe(&self, spec: ConsumerSpec) -> BoxFuture<'_, BusResult<Box<dyn Subscription>>>;
    /// Removes a durable consumer (its position is lost).
    fn delete_consumer<'a>(
        &'a self,
        domain: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, BusResult<()>>;
    fn stream_info<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, BusResult<StreamInfo>>;
    /// Up to `limit` stored messages with sequence ≥ `from_seq`, in order.
    fn read<'a>(
        &'a self,
        stream: &'a str,
        from_seq: u64,
        limit: usize,
    ) -> BoxFuture<'a, BusResult<Vec<Stored>>>;
    /// Deletes one stored message; false when it was not there.
    fn delete_message<'a>(&'a self, stream: &'a str, seq: u64) -> BoxFuture<'a, BusResult<bool>>;
}

pub type SharedBus = Arc<dyn EventBus>;

/// Publishes a CloudEvent JSON document on its subject with its id as the
/// de-duplication id.
pub fn outgoing_for_event(
    topo: &Topology,
    ty: &str,
    asset: &str,
    event_id: &str,
    payload: impl Into<Bytes>,
) -> BusResult<Outgoing> {
    let subject = topo.subject_for(ty, asset).ok_or_else(|| {
        BusError::Invalid(format!(
            "event type '{ty}' has no bus domain (known: {})",
            topo.domains.join(", ")
        ))
    })?;
    Ok(Outgoing::new(subject, event_id, payload.into())
        .header("Ce-Type", ty)
        .header("Ce-Subject", asset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_streams() {
        let t = Topology::new("gpufleet");
        assert_eq!(
            t.subject_for(fleet_model::event::types::HARDWARE_DISCOVERED, "node-1"),
            Some("gpufleet.hardware.discovered.node-1".into())
        );
        assert_eq!(
            t.subject_for(fleet_model::event::types::LABELS_CHANGED, "a.b c"),
            Some("gpufleet.asset.labels_changed.a~2Eb~20c".into())
        );
        assert_eq!(
            t.stream_of("gpufleet.gpu.status_changed.x"),
            Some("GPUFLEET_GPU".into())
        );
        assert_eq!(
            t.stream_of("gpufleet.dlq.enricher"),
            Some("GPUFLEET_DLQ".into())
        );
        assert_eq!(t.stream_of("other.gpu.x.y"), None);
        assert_eq!(t.streams().len(), fleet_model::event::DOMAINS.len() + 1);
        let mut small = Topology::new("t1");
        small.domains = vec!["hardware".into()];
        assert_eq!(
            small.subject_for(fleet_model::event::types::ALERT_RAISED, "x"),
            None
        );
    }

    #[test]
    fn every_catalogued_event_type_is_documented() {
        let doc = include_str!("../../../docs/EVENTS.md");
        for k in fleet_model::event::CATALOG {
            assert!(
                doc.contains(&format!("`{}`", k.ty)),
                "docs/EVENTS.md lacks {}",
                k.ty
            );
            let subject = Topology::default()
                .subject_for(k.ty, "ASSET")
                .unwrap()
                .replace(".ASSET", ".<asset>");
            assert!(doc.contains(&subject), "docs/EVENTS.md lacks {subject}");
        }
    }

    #[test]
    fn token_escapes_separators_and_wildcards() {
        assert_eq!(token("node-1_a"), "node-1_a");
        assert_eq!(token("a.b*>"), "a~2Eb~2A~3E");
        assert_ne!(token("a.b"), token("a_b"));
        assert_eq!(token(""), "~");
    }

    #[test]
    fn wildcard_matching() {
        assert!(subject_matches("a.>", "a.b.c"));
        assert!(!subject_matches("a.>", "a"));
        assert!(subject_matches("a.*.c", "a.b.c"));
        assert!(!subject_matches("a.*.c", "a.b.d"));
        assert!(!subject_matches("a.*", "a.b.c"));
        assert!(subject_matches("a.b", "a.b"));
        assert!(!subject_matches("a.b", "a.b.c"));
    }
}
