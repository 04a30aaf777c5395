//! The embedded adapter: streams and durable consumers in memory, with the
//! same observable behaviour as JetStream (sequences from 1, de-duplication
//! window, redelivery after the ack wait, nak with delay, term, shared durables).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::{
    subject_matches, Acker, BusError, BusResult, ConsumerSpec, Delivery, EventBus, Outgoing,
    PublishAck, StartAt, Stored, StreamInfo, Subscription, Topology, EVENT_ID_HEADER,
    MSG_ID_HEADER,
};

/// In-process event bus. Cheap to clone; clones share the streams.
#[derive(Clone)]
pub struct InProcessBus {
    inner: Arc<Inner>,
}

struct Inner {
    topo: Topology,
    /// Oldest messages are dropped beyond this many per stream.
    max_messages: usize,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Default)]
struct State {
    streams: HashMap<String, StreamState>,
    consumers: HashMap<(String, String), ConsumerState>,
}

#[derive(Default)]
struct StreamState {
    msgs: BTreeMap<u64, Stored>,
    last_seq: u64,
    /// De-duplication ids in publish order, with their sequence and time.
    dedup: HashMap<String, (u64, Instant)>,
    dedup_order: VecDeque<(Instant, String)>,
}

struct ConsumerState {
    filter: Option<String>,
    ack_wait: Duration,
    /// Next stream sequence never delivered to this consumer.
    next_seq: u64,
    /// Delivered, not yet acked or termed: attempts and when to deliver again.
    pending: BTreeMap<u64, (u32, Instant)>,
}

impl InProcessBus {
    pub fn new(topo: Topology) -> Self {
        Self::with_capacity(topo, 1_000_000)
    }

    pub fn with_capacity(topo: Topology, max_messages: usize) -> Self {
        let mut st = State::default();
        for (name, _) in topo.streams() {
            st.streams.insert(name, StreamState::default());
        }
        InProcessBus {
            inner: Arc::new(Inner {
                topo,
                max_messages,
                state: Mutex::new(st),
                notify: Notify::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventBus for InProcessBus {
    fn topology(&self) -> &Topology {
        &self.inner.topo
    }

    fn ensure_streams(&self) -> BoxFuture<'_, BusResult<()>> {
        async { Ok(()) }.boxed()
    }

    fn publish(&self, msg: Outgoing) -> BoxFuture<'_, BusResult<PublishAck>> {
        let r = (|| {
            let stream = self.inner.topo.stream_of(&msg.subject).ok_or_else(|| {
                BusError::Invalid(format!("no stream holds subject '{}'", msg.subject))
            })?;
            let window = self.inner.topo.duplicate_window;
            let mut st = self.lock();
            let s = st.streams.entry(stream.clone()).or_default();
            let now = Instant::now();
            while let Some((t, _)) = s.dedup_order.front() {
                if now.duration_since(*t) < window {
                    break;
                }
                let (_, id) = s.dedup_order.pop_front().expect("front exists");
                if s.dedup
                    .get(&id)
                    .is_some_and(|(_, t2)| now.duration_since(*t2) >= window)
                {
                    s.dedup.remove(&id);
                }
            }
            if let Some((seq, _)) = s.dedup.get(&msg.msg_id) {
                return Ok(PublishAck {
                    stream,
                    sequence: *seq,
                    duplicate: true,
                });
            }
            s.last_seq += 1;
            let seq = s.last_seq;
            let mut headers = msg.headers;
            headers.insert(MSG_ID_HEADER.into(), msg.msg_id.clone());
            if let Some(e) = msg.event_id {
                headers.insert(EVENT_ID_HEADER.into(), e);
            }
            s.msgs.insert(
                seq,
                Stored {
                    stream: stream.clone(),
                    seq,
                    subject: msg.subject,
                    time: OffsetDateTime::now_utc(),
                    headers,
                    payload: msg.payload,
                },
            );
            while s.msgs.len() > self.inner.max_messages {
                s.msgs.pop_first();
            }
            s.dedup.insert(msg.msg_id.clone(), (seq, now));
            s.dedup_order.push_back((now, msg.msg_id));
            Ok(PublishAck {
                stream,
                sequence: seq,
                duplicate: false,
            })
        })();
        if r.is_ok() {
            self.inner.notify.notify_waiters();
        }
        async move { r }.boxed()
    }

    fn subscribe(&self, spec: ConsumerSpec) -> BoxFuture<'_, BusResult<Box<dyn Subscription>>> {
        let r = (|| {
            if !self.inner.topo.domains.contains(&spec.domain) {
                return Err(BusError::NotFound(format!(
                    "no stream for domain '{}'",
                    spec.domain
                )));
            }
            let stream = self.inner.topo.stream(&spec.domain);
            let mut st = self.lock();
            let State { streams, consumers } = &mut *st;
            let s = streams.entry(stream.clone()).or_default();
            consumers
                .entry((stream.clone(), spec.name.clone()))
                .or_insert_with(|| {
                    let first = s.msgs.keys().next().copied().unwrap_or(s.last_seq + 1);
                    let next_seq = match &spec.start {
                        StartAt::All => first,
                        StartAt::New => s.last_seq + 1,
                        StartAt::Sequence(n) => (*n).max(1),
                        StartAt::Time(t) => s
                            .msgs
                            .values()
                            .find(|m| m.time >= *t)
                            .map_or(s.last_seq + 1, |m| m.seq),
                    };
                    ConsumerState {
                        filter: spec.filter.clone(),
                        ack_wait: spec.ack_wait,
                        next_seq,
                        pending: BTreeMap::new(),
                    }
                });
            let sub: Box<dyn Subscription> = Box::new(MemSubscription {
                bus: self.clone(),
                key: (stream, spec.name),
            });
            Ok(sub)
        })();
        async move { r }.boxed()
    }

    fn delete_consumer<'a>(
        &'a self,
        domain: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, BusResult<()>> {
        let key = (self.inner.topo.stream(domain), name.to_string());
        let r = match self.lock().consumers.remove(&key) {
            Some(_) => Ok(()),
            None => Err(BusError::NotFound(format!("consumer '{name}'"))),
        };
        async move { r }.boxed()
    }

    fn stream_info<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, BusResult<StreamInfo>> {
        let st = self.lock();
        let r = match st.streams.get(stream) {
            Some(s) => Ok(StreamInfo {
                name: stream.to_string(),
                messages: s.msgs.len() as u64,
                first_seq: s.msgs.keys().next().copied().unwrap_or(s.last_seq + 1),
                last_seq: s.last_seq,
            }),
            None => Err(BusError::NotFound(format!("stream '{stream}'"))),
        };
        async move { r }.boxed()
    }

    fn read<'a>(
        &'a self,
        stream: &'a str,
        from_seq: u64,
        limit: usize,
    ) -> BoxFuture<'a, BusResult<Vec<Stored>>> {
        let st = self.lock();
        let r = match st.streams.get(stream) {
            Some(s) => Ok(s
                .msgs
                .range(from_seq..)
                .take(limit)
                .map(|(_, m)| m.clone())
                .collect()),
            None => Err(BusError::NotFound(format!("stream '{stream}'"))),
        };
        async move { r }.boxed()
    }

    fn delete_message<'a>(&'a self, stream: &'a str, seq: u64) -> BoxFuture<'a, BusResult<bool>> {
        let mut st = self.lock();
        let r = match st.streams.get_mut(stream) {
            Some(s) => Ok(s.msgs.remove(&seq).is_some()),
            None => Err(BusError::NotFound(format!("stream '{stream}'"))),
        };
        async move { r }.boxed()
    }
}

struct MemSubscription {
    bus: InProcessBus,
    key: (String, String),
}

enum Poll {
    Ready(Delivery),
    Wait(Option<Instant>),
}

impl MemSubscription {
    fn poll(&self) -> BusResult<Poll> {
        let mut st = self.bus.lock();
        let State { streams, consumers } = &mut *st;
        let c = consumers
            .get_mut(&self.key)
            .ok_or_else(|| BusError::NotFound(format!("consumer '{}' was deleted", self.key.1)))?;
        let s = streams
            .get(&self.key.0)
            .expect("stream of a consumer exists");
        let now = Instant::now();
        // Redeliveries first (nakked or past their ack wait), oldest sequence first.
        let due: Vec<u64> = c
            .pending
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in due {
            match s.msgs.get(&seq) {
                Some(m) => {
                    let p = c.pending.get_mut(&seq).expect("pending entry");
                    p.0 += 1;
                    p.1 = now + c.ack_wait;
                    return Ok(Poll::Ready(self.delivery(m, p.0)));
                }
                None => {
                    // Deleted or aged out meanwhile.
                    c.pending.remove(&seq);
                }
            }
        }
        for (seq, m) in s.msgs.range(c.next_seq..) {
            c.next_seq = seq + 1;
            if c.filter
                .as_deref()
                .is_none_or(|f| subject_matches(f, &m.subject))
            {
                c.pending.insert(*seq, (1, now + c.ack_wait));
                return Ok(Poll::Ready(self.delivery(m, 1)));
            }
        }
        c.next_seq = c.next_seq.max(s.last_seq + 1);
        Ok(Poll::Wait(c.pending.values().map(|(_, at)| *at).min()))
    }

    fn delivery(&self, m: &Stored, attempt: u32) -> Delivery {
        Delivery {
            subject: m.subject.clone(),
            stream: m.stream.clone(),
            stream_seq: m.seq,
            event_id: m.event_id(),
            attempt,
            published: m.time,
            headers: m.headers.clone(),
            payload: m.payload.clone(),
            acker: Box::new(MemAcker {
                bus: self.bus.clone(),
                key: self.key.clone(),
                seq: m.seq,
                attempt,
            }),
        }
    }
}

impl Subscription for MemSubscription {
    fn next(&mut self, wait: Duration) -> BoxFuture<'_, BusResult<Option<Delivery>>> {
        async move {
            let deadline = Instant::now() + wait;
            loop {
                let notified = self.bus.inner.notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let until = match self.poll()? {
                    Poll::Ready(d) => return Ok(Some(d)),
                    Poll::Wait(Some(at)) => at.min(deadline),
                    Poll::Wait(None) => deadline,
                };
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                let _ = tokio::time::timeout_at(until.into(), notified).await;
            }
        }
        .boxed()
    }
}

struct MemAcker {
    bus: InProcessBus,
    key: (String, String),
    seq: u64,
    attempt: u32,
}

impl MemAcker {
    /// Applies `f` to the pending entry of this delivery, if it is still the
    /// current delivery (a late ack of an older attempt is ignored, as in JetStream).
    fn settle(&self, f: impl FnOnce(&mut BTreeMap<u64, (u32, Instant)>)) {
        let mut st = self.bus.lock();
        if let Some(c) = st.consumers.get_mut(&self.key) {
            if c.pending
                .get(&self.seq)
                .is_some_and(|(a, _)| *a == self.attempt)
            {
                f(&mut c.pending);
            }
        }
    }
}

impl Acker for MemAcker {
    fn ack(&self) -> BoxFuture<'_, BusResult<()>> {
        self.settle(|p| {
            p.remove(&self.seq);
        });
        async { Ok(()) }.boxed()
    }

    fn nak(&self, delay: Duration) -> BoxFuture<'_, BusResult<()>> {
        self.settle(|p| {
            if let Some(e) = p.get_mut(&self.seq) {
                e.1 = Instant::now() + delay;
            }
        });
        self.bus.inner.notify.notify_waiters();
        async { Ok(()) }.boxed()
    }

    fn term(&self) -> BoxFuture<'_, BusResult<()>> {
        self.ack()
    }
}
