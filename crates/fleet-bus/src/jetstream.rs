//! NATS JetStream adapter (async-nats): one file-backed stream per domain,
//! durable pull consumers with explicit acks, `Nats-Msg-Id` de-duplication.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream, AckKind};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use crate::{
    Acker, BusError, BusResult, ConsumerSpec, Delivery, EventBus, Outgoing, PublishAck, StartAt,
    Stored, StreamInfo, Subscription, Topology, EVENT_ID_HEADER,
};

/// Event bus on a NATS server with JetStream enabled.
#[derive(Clone)]
pub struct JetStreamBus {
    client: async_nats::Client,
    js: jetstream::Context,
    topo: Topology,
    /// Messages a subscription asks for per pull request.
    pub batch: usize,
}

fn unavailable(e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

impl JetStreamBus {
    /// Connects to `url` (waiting at most `timeout`) and creates the streams.
    /// After a lost connection the client reconnects by itself; publishes
    /// fail meanwhile and are retried by their callers.
    pub async fn connect(url: &str, topo: Topology, timeout: Duration) -> BusResult<Self> {
        let opts = async_nats::ConnectOptions::new()
            .name("gpufleet")
            .connection_timeout(timeout)
            .max_reconnects(None)
            .reconnect_delay_callback(|n| Duration::from_millis((100 * n as u64).min(1000)));
        let client = tokio::time::timeout(timeout, opts.connect(url))
            .await
            .map_err(|_| {
                BusError::Unavailable(format!(
                    "no NATS server answered at {url} within {timeout:?}"
                ))
            })?
            .map_err(|e| BusError::Unavailable(format!("connecting to NATS at {url}: {e}")))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(5))
            .build(client.clone());
        let bus = JetStreamBus {
            client,
            js,
            topo,
            batch: 256,
        };
        bus.ensure_streams().await?;
        Ok(bus)
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Deletes every stream of the topology (tests clean up with this).
    pub async fn delete_streams(&self) -> BusResult<()> {
        for (name, _) in self.topo.streams() {
            let _ = self.js.delete_stream(&name).await;
        }
        Ok(())
    }

    /// Publishes without waiting for the server's acknowledgement; the
    /// returned future resolves to it (for pipelined publishing).
    pub async fn publish_pipelined(
        &self,
        msg: Outgoing,
    ) -> BusResult<impl std::future::Future<Output = BusResult<PublishAck>>> {
        let mut p = jetstream::message::PublishMessage::build()
            .payload(msg.payload)
            .message_id(&msg.msg_id);
        for (k, v) in &msg.headers {
            p = p.header(k.as_str(), v.as_str());
        }
        if let Some(e) = &msg.event_id {
            p = p.header(EVENT_ID_HEADER, e.as_str());
        }
        let fut = self
            .js
            .send_publish(msg.subject, p)
            .await
            .map_err(unavailable)?;
        Ok(async move {
            let a = fut.await.map_err(unavailable)?;
            Ok(PublishAck {
                stream: a.stream,
                sequence: a.sequence,
                duplicate: a.duplicate,
            })
        })
    }
}

fn headers_of(h: Option<&async_nats::HeaderMap>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(h) = h {
        for (k, vs) in h.iter() {
            if let Some(v) = vs.first() {
                out.insert(k.to_string(), v.as_str().to_string());
            }
        }
    }
    out
}

impl EventBus for JetStreamBus {
    fn topology(&self) -> &Topology {
        &self.topo
    }

    fn ensure_streams(&self) -> BoxFuture<'_, BusResult<()>> {
        async move {
            for (name, subjects) in self.topo.streams() {
                self.js
                    .get_or_create_stream(stream::Config {
                        name: name.clone(),
                        subjects: vec![subjects],
                        storage: stream::StorageType::File,
                        duplicate_window: self.topo.duplicate_window,
                        max_age: self.topo.max_age,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| BusError::Unavailable(format!("creating stream {name}: {e}")))?;
            }
            Ok(())
        }
        .boxed()
    }

    fn publish(&self, msg: Outgoing) -> BoxFuture<'_, BusResult<PublishAck>> {
        async move { self.publish_pipelined(msg).await?.await }.boxed()
    }

    fn publish_batch(&self, msgs: Vec<Outgoing>) -> BoxFuture<'_, Vec<BusResult<PublishAck>>> {
        async move {
            let mut pending = Vec::with_capacity(msgs.len());
            for m in msgs {
                pending.push(self.publish_pipelined(m).await);
            }
            let mut out = Vec::with_capacity(pending.len());
            for p in pending {
                out.push(match p {
                    Ok(ack) => ack.await,
                    Err(e) => Err(e),
                });
            }
            out
        }
        .boxed()
    }

    fn subscribe(&self, spec: ConsumerSpec) -> BoxFuture<'_, BusResult<Box<dyn Subscription>>> {
        async move {
            if !self.topo.domains.contains(&spec.domain) {
                return Err(BusError::NotFound(format!(
                    "no stream for domain '{}'",
                    spec.domain
                )));
            }
            let stream = self.topo.stream(&spec.domain);
            let deliver_policy = match spec.start {
                StartAt::All => jetstream::consumer::DeliverPolicy::All,
                StartAt::New => jetstream::consumer::DeliverPolicy::New,
                StartAt::Sequence(n) => jetstream::consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: n.max(1),
                },
                StartAt::Time(t) => {
                    jetstream::consumer::DeliverPolicy::ByStartTime { start_time: t }
                }
            };
            let config = pull::Config {
                durable_name: Some(spec.name.clone()),
                filter_subject: spec.filter.clone().unwrap_or_default(),
                deliver_policy,
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: spec.ack_wait,
                max_deliver: -1,
                max_ack_pending: 10_000,
                ..Default::default()
            };
            let s = self
                .js
                .get_stream_no_info(&stream)
                .await
                .map_err(unavailable)?;
            let consumer: jetstream::consumer::PullConsumer = s
                .get_or_create_consumer(&spec.name, config)
                .await
                .map_err(|e| unavailable(format!("consumer {} on {stream}: {e}", spec.name)))?;
            let sub: Box<dyn Subscription> = Box::new(JsSubscription {
                consumer,
                messages: None,
                batch: self.batch,
            });
            Ok(sub)
        }
        .boxed()
    }

    fn delete_consumer<'a>(
        &'a self,
        domain: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, BusResult<()>> {
        async move {
            let s = self
                .js
                .get_stream_no_info(self.topo.stream(domain))
                .await
                .map_err(unavailable)?;
            s.delete_consumer(name)
                .await
                .map_err(|e| BusError::NotFound(format!("consumer '{name}': {e}")))?;
            Ok(())
        }
        .boxed()
    }

    fn stream_info<'a>(&'a self, stream: &'a str) -> BoxFuture<'a, BusResult<StreamInfo>> {
        async move {
            let mut s = self
                .js
                .get_stream(stream)
                .await
                .map_err(|e| BusError::NotFound(format!("stream '{stream}': {e}")))?;
            let i = s.info().await.map_err(unavailable)?;
            Ok(StreamInfo {
                name: stream.to_string(),
                messages: i.state.messages,
                first_seq: i.state.first_sequence,
                last_seq: i.state.last_sequence,
            })
        }
        .boxed()
    }

    fn read<'a>(
        &'a self,
        stream: &'a str,
        from_seq: u64,
        limit: usize,
    ) -> BoxFuture<'a, BusResult<Vec<Stored>>> {
        async move {
            let info = self.stream_info(stream).await?;
            let s = self
                .js
                .get_stream_no_info(stream)
                .await
                .map_err(unavailable)?;
            let mut out = Vec::new();
            let mut seq = from_seq.max(info.first_seq).max(1);
            while seq <= info.last_seq && out.len() < limit {
                match s.get_raw_message(seq).await {
                    Ok(m) => out.push(Stored {
                        stream: stream.to_string(),
                        seq,
                        subject: m.subject.to_string(),
                        time: m.time,
                        headers: headers_of(Some(&m.headers)),
                        payload: m.payload,
                    }),
                    Err(e)
                        if matches!(e.kind(), stream::LastRawMessageErrorKind::NoMessageFound) => {}
                    Err(e) if e.to_string().contains("no message found") => {}
                    Err(e) => return Err(unavailable(e)),
                }
                seq += 1;
            }
            Ok(out)
        }
        .boxed()
    }

    fn delete_message<'a>(&'a self, stream: &'a str, seq: u64) -> BoxFuture<'a, BusResult<bool>> {
        async move {
            let s = self
                .js
                .get_stream_no_info(stream)
                .await
                .map_err(unavailable)?;
            match s.delete_message(seq).await {
                Ok(ok) => Ok(ok),
                Err(e) if e.to_string().contains("not found") => Ok(false),
                Err(e) => Err(unavailable(e)),
            }
        }
        .boxed()
    }
}

struct JsSubscription {
    consumer: jetstream::consumer::PullConsumer,
    messages: Option<pull::Stream>,
    batch: usize,
}

impl Subscription for JsSubscription {
    fn next(&mut self, wait: Duration) -> BoxFuture<'_, BusResult<Option<Delivery>>> {
        async move {
            if self.messages.is_none() {
                let m = self
                    .consumer
                    .stream()
                    .max_messages_per_batch(self.batch)
                    .heartbeat(Duration::from_secs(2))
                    .expires(Duration::from_secs(10))
                    .messages()
                    .await
                    .map_err(unavailable)?;
                self.messages = Some(m);
            }
            let messages = self.messages.as_mut().expect("set above");
            let item = match tokio::time::timeout(wait, messages.next()).await {
                Err(_) => return Ok(None),
                Ok(item) => item,
            };
            match item {
                Some(Ok(m)) => {
                    let info = m.info().map_err(|e| BusError::Other(e.to_string()))?;
                    let stream = info.stream.to_string();
                    let stream_seq = info.stream_sequence;
                    let attempt = info.delivered.max(1) as u32;
                    let published = info.published;
                    let headers = headers_of(m.headers.as_ref());
                    let event_id = crate::event_id(&headers, &stream, stream_seq);
                    Ok(Some(Delivery {
                        subject: m.subject.to_string(),
                        stream,
                        stream_seq,
                        event_id,
                        attempt,
                        published,
                        payload: m.payload.clone(),
                        headers,
                        acker: Box::new(JsAcker(m)),
                    }))
                }
                Some(Err(e)) => {
                    // Missed heartbeats or a lost connection: pull afresh next time.
                    self.messages = None;
                    Err(unavailable(e))
                }
                None => {
                    self.messages = None;
                    Err(BusError::Unavailable("the pull subscription ended".into()))
                }
            }
        }
        .boxed()
    }
}

struct JsAcker(jetstream::Message);

impl Acker for JsAcker {
    fn ack(&self) -> BoxFuture<'_, BusResult<()>> {
        async move { self.0.ack().await.map_err(unavailable) }.boxed()
    }
    fn nak(&self, delay: Duration) -> BoxFuture<'_, BusResult<()>> {
        async move {
            self.0
                .ack_with(AckKind::Nak(Some(delay)))
                .await
                .map_err(unavailable)
        }
        .boxed()
    }
    fn term(&self) -> BoxFuture<'_, BusResult<()>> {
        async move { self.0.ack_with(AckKind::Term).await.map_err(unavailable) }.boxed()
    }
}
