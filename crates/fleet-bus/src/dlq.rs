//! The dead-letter stream: listing and re-driving.

use serde::Serialize;
use serde_json::Value;

use crate::worker::dlq_headers as h;
use crate::{BusError, BusResult, EventBus, Outgoing, PublishAck, Stored};

/// One dead letter.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// Sequence in the dead-letter stream (the id to re-drive).
    pub seq: u64,
    pub consumer: String,
    /// Where the event was published.
    pub subject: String,
    pub stream: String,
    pub stream_seq: u64,
    pub event_id: String,
    pub error: String,
    pub attempts: u32,
    /// When it was dead-lettered (RFC 3339).
    pub failed_at: String,
    /// The event (JSON when it parses, else a string).
    pub event: Value,
}

impl DeadLetter {
    fn from_stored(m: Stored) -> DeadLetter {
        let get = |k: &str| m.headers.get(k).cloned().unwrap_or_default();
        DeadLetter {
            seq: m.seq,
            consumer: get(h::CONSUMER),
            subject: get(h::SUBJECT),
            stream: get(h::STREAM),
            stream_seq: get(h::STREAM_SEQ).parse().unwrap_or(0),
            event_id: m.event_id(),
            error: get(h::ERROR),
            attempts: get(h::ATTEMPTS).parse().unwrap_or(0),
            failed_at: m
                .time
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            event: serde_json::from_slice(&m.payload).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&m.payload).into_owned())
            }),
        }
    }
}

/// Dead letters with sequence > `after`, optionally of one consumer.
pub async fn list(
    bus: &dyn EventBus,
    consumer: Option<&str>,
    after: u64,
    limit: usize,
) -> BusResult<Vec<DeadLetter>> {
    let stream = bus.topology().dlq_stream();
    let mut out = Vec::new();
    let mut from = after + 1;
    while out.len() < limit {
        let batch = bus.read(&stream, from, 256).await?;
        let Some(last) = batch.last().map(|m| m.seq) else {
            break;
        };
        for m in batch {
            let dl = DeadLetter::from_stored(m);
            if consumer.is_none_or(|c| c == dl.consumer) {
                out.push(dl);
                if out.len() == limit {
                    break;
                }
            }
        }
        from = last + 1;
    }
    Ok(out)
}

pub async fn get(bus: &dyn EventBus, seq: u64) -> BusResult<DeadLetter> {
    let stream = bus.topology().dlq_stream();
    match bus.read(&stream, seq, 1).await?.pop() {
        Some(m) if m.seq == seq => Ok(DeadLetter::from_stored(m)),
        _ => Err(BusError::NotFound(format!("dead letter {seq}"))),
    }
}

/// Publishes the dead letter again on its original subject (every consumer
/// of that subject sees it again; those that handled it drop it by id) and
/// removes it from the dead-letter stream.
pub async fn redrive(bus: &dyn EventBus, seq: u64) -> BusResult<PublishAck> {
    let stream = bus.topology().dlq_stream();
    let m = match bus.read(&stream, seq, 1).await?.pop() {
        Some(m) if m.seq == seq => m,
        _ => return Err(BusError::NotFound(format!("dead letter {seq}"))),
    };
    let event_id = m.event_id();
    let subject =
        m.headers.get(h::SUBJECT).cloned().ok_or_else(|| {
            BusError::Invalid(format!("dead letter {seq} has no original subject"))
        })?;
    let mut out = Outgoing::new(
        subject,
        format!("redrive:{stream}:{seq}"),
        m.payload.clone(),
    );
    for k in ["Ce-Type", "Ce-Subject"] {
        if let Some(v) = m.headers.get(k) {
            out = out.header(k, v.clone());
        }
    }
    out.event_id = Some(event_id);
    let ack = bus.publish(out).await?;
    bus.delete_message(&stream, seq).await?;
    Ok(ack)
}
