//! One contract suite for every EventBus adapter: the in-process bus and
//! NATS JetStream (from `GPUFLEET_TEST_NATS_URL`, started by
//! scripts/services.sh). Every JetStream test uses its own subject prefix and
//! streams, and deletes them when it ends, passed or failed (the fixture's `Drop`).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fleet_bus::worker::{self, Handler, HandlerError, WorkerOptions, WorkerStats};
use fleet_bus::{
    dlq, ConsumerSpec, Delivery, InProcessBus, JetStreamBus, Outgoing, SharedBus, StartAt, Topology,
};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio_util::sync::CancellationToken;

pub struct Fixture {
    pub bus: SharedBus,
    /// The server's URL when the bus is JetStream: its streams are deleted on drop.
    nats_url: Option<String>,
}

impl Fixture {
    fn topo(&self) -> &Topology {
        self.bus.topology()
    }
    fn subject(&self, ty: &str, asset: &str) -> String {
        self.topo().subject("hardware", ty, asset)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let Some(url) = self.nats_url.take() else {
            return;
        };
        let topology = self.topo().clone();
        // A connection and runtime of their own: this also runs while a failed test unwinds.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    if let Ok(js) =
                        JetStreamBus::connect(&url, topology, Duration::from_secs(10)).await
                    {
                        let _ = js.delete_streams().await;
                    }
                });
        })
        .join();
    }
}

fn test_topology() -> Topology {
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut t = Topology::new(&prefix);
    t.domains = vec!["hardware".into(), "gpu".into()];
    t
}

pub async fn memory() -> Fixture {
    Fixture {
        bus: Arc::new(InProcessBus::new(test_topology())),
        nats_url: None,
    }
}

pub async fn jetstream() -> Fixture {
    let url = std::env::var("GPUFLEET_TEST_NATS_URL").expect(
        "GPUFLEET_TEST_NATS_URL is not set: run the tests through scripts/test.sh, which starts nats-server, \
         or `eval \"$(scripts/services.sh up nats)\"`",
    );
    let js = JetStreamBus::connect(&url, test_topology(), Duration::from_secs(10))
        .await
        .expect("connect to GPUFLEET_TEST_NATS_URL");
    Fixture {
        bus: Arc::new(js),
        nats_url: Some(url),
    }
}

fn msg(f: &Fixture, asset: &str, id: &str) -> Outgoing {
    Outgoing::new(
        f.subject("discovered", asset),
        id,
        Bytes::from(format!("{{\"id\":\"{id}\",\"asset\":\"{asset}\"}}")),
    )
}

async fn next(sub: &mut Box<dyn fleet_bus::Subscription>) -> Delivery {
    sub.next(Duration::from_secs(10))
        .await
        .unwrap()
        .expect("a delivery within 10 s")
}

async fn nothing(sub: &mut Box<dyn fleet_bus::Subscription>, wait_ms: u64) {
    if let Some(d) = sub.next(Duration::from_millis(wait_ms)).await.unwrap() {
        panic!("unexpected delivery {d:?}");
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod in_process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let f = super::memory().await;
                    super::$name(&f).await;
                }
            )*
        }
        mod nats_jetstream {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let f = super::jetstream().await;
                    super::$name(&f).await;
                }
            )*
        }
    };
}

contract!(
    publish_assigns_sequences_and_drops_duplicate_ids,
    consumer_gets_messages_in_order_and_acked_ones_once,
    nak_redelivers_after_the_delay_with_attempt_count,
    unacked_message_is_redelivered_after_ack_wait,
    subscriptions_to_one_durable_share_its_messages,
    durable_keeps_its_position_across_subscriptions,
    filter_and_replay_from_sequence_and_time,
    read_and_delete_stored_messages,
    worker_retries_then_dead_letters_and_goes_on,
    worker_drops_redelivered_event_ids,
);

async fn publish_assigns_sequences_and_drops_duplicate_ids(f: &Fixture) {
    let a = f.bus.publish(msg(f, "n1", "e1")).await.unwrap();
    let b = f.bus.publish(msg(f, "n2", "e2")).await.unwrap();
    assert_eq!(a.stream, f.topo().stream("hardware"));
    assert_eq!((a.sequence, a.duplicate), (1, false));
    assert_eq!((b.sequence, b.duplicate), (2, false));
    let dup = f.bus.publish(msg(f, "n1", "e1")).await.unwrap();
    assert!(dup.duplicate, "same Nats-Msg-Id must be dropped");
    assert_eq!(dup.sequence, 1);
    let info = f
        .bus
        .stream_info(&f.topo().stream("hardware"))
        .await
        .unwrap();
    assert_eq!((info.messages, info.last_seq), (2, 2));
    // A subject outside every stream is refused.
    let bad = Outgoing::new("elsewhere.x", "e9", Bytes::from_static(b"{}"));
    assert!(f.bus.publish(bad).await.is_err());
}

async fn consumer_gets_messages_in_order_and_acked_ones_once(f: &Fixture) {
    for i in 0..5 {
        f.bus
            .publish(msg(f, &format!("n{i}"), &format!("e{i}")))
            .await
            .unwrap();
    }
    let mut sub = f
        .bus
        .subscribe(ConsumerSpec::new("c1", "hardware"))
        .await
        .unwrap();
    for i in 0..5u64 {
        let d = next(&mut sub).await;
        assert_eq!(d.stream_seq, i + 1);
        assert_eq!(d.event_id, format!("e{i}"));
        assert_eq!(d.attempt, 1);
        assert_eq!(d.subject, f.subject("discovered", &format!("n{i}")));
        assert!(d.payload.starts_with(b"{\"id\""));
        d.ack().await.unwrap();
    }
    nothing(&mut sub, 300).await;
}

async fn nak_redelivers_after_the_delay_with_attempt_count(f: &Fixture) {
    f.bus.publish(msg(f, "n1", "e1")).await.unwrap();
    let mut sub = f
        .bus
        .subscribe(ConsumerSpec::new("c1", "hardware"))
        .await
        .unwrap();
    let d = next(&mut sub).await;
    assert_eq!(d.attempt, 1);
    let t = Instant::now();
    d.nak(Duration::from_millis(700)).await.unwrap();
    let d2 = next(&mut sub).await;
    // A lower bound only: the delay runs from the nak, which comes after `t`, so a loaded
    // machine can only make the wait longer. What it catches is a redelivery that ignores the
    // delay.
    assert!(
        t.elapsed() >= Duration::from_millis(600),
        "redelivered after {:?}",
        t.elapsed()
    );
    assert_eq!((d2.event_id.as_str(), d2.attempt), ("e1", 2));
    d2.term().await.unwrap();
    nothing(&mut sub, 1000).await;
}

async fn unacked_message_is_redelivered_after_ack_wait(f: &Fixture) {
    f.bus.publish(msg(f, "n1", "e1")).await.unwrap();
    let spec = ConsumerSpec::new("c1", "hardware").ack_wait(Duration::from_secs(1));
    let mut sub = f.bus.subscribe(spec).await.unwrap();
    let d = next(&mut sub).await;
    drop(d); // neither acked nor nakked: a crashed handler
    let d2 = next(&mut sub).await;
    assert_eq!((d2.event_id.as_str(), d2.attempt), ("e1", 2));
    d2.ack().await.unwrap();
    nothing(&mut sub, 1500).await;
}

async fn subscriptions_to_one_durable_share_its_messages(f: &Fixture) {
    let n = 40;
    for i in 0..n {
        f.bus
            .publish(msg(f, &format!("n{i}"), &format!("e{i}")))
            .await
            .unwrap();
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let mut sub = f
            .bus
            .subscribe(ConsumerSpec::new("shared", "hardware"))
            .await
            .unwrap();
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = 0;
            while let Some(d) = sub.next(Duration::from_millis(1500)).await.unwrap() {
                seen.lock().unwrap().push(d.event_id.clone());
                d.ack().await.unwrap();
                mine += 1;
            }
            mine
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), n, "each message once across the replicas");
    assert_eq!(unique.len(), n);
}

async fn durable_keeps_its_position_across_subscriptions(f: &Fixture) {
    for i in 0..4 {
        f.bus.publish(msg(f, "n", &format!("e{i}"))).await.unwrap();
    }
    {
        let mut sub = f
            .bus
            .subscribe(ConsumerSpec::new("c1", "hardware").ack_wait(Duration::from_secs(1)))
            .await
            .unwrap();
        for _ in 0..2 {
            next(&mut sub).await.ack().await.unwrap();
        }
    }
    // A restarted handler binds to the same durable and goes on (redeliveries
    // of anything it had pulled but not acked are allowed; acked ones are not).
    // The durable keeps the settings it was created with.
    let mut sub = f
        .bus
        .subscribe(ConsumerSpec::new("c1", "hardware"))
        .await
        .unwrap();
    let mut ids = BTreeMap::new();
    while let Some(d) = sub.next(Duration::from_millis(2500)).await.unwrap() {
        ids.insert(d.event_id.clone(), ());
        d.ack().await.unwrap();
    }
    let ids: Vec<_> = ids.into_keys().collect();
    assert_eq!(ids, vec!["e2".to_string(), "e3".to_string()]);
    f.bus.delete_consumer("hardware", "c1").await.unwrap();
    // Deleted: a new durable of that name starts from the beginning again.
    let mut sub = f
        .bus
        .subscribe(ConsumerSpec::new("c1", "hardware"))
        .await
        .unwrap();
    assert_eq!(next(&mut sub).await.event_id, "e0");
}

async fn filter_and_replay_from_sequence_and_time(f: &Fixture) {
    for i in 0..3 {
        f.bus.publish(msg(f, "a", &format!("a{i}"))).await.unwrap();
        f.bus.publish(msg(f, "b", &format!("b{i}"))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mid = time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(50)).await;
    f.bus.publish(msg(f, "a", "a3")).await.unwrap();

    let mut only_b = f
        .bus
        .subscribe(ConsumerSpec::new("fb", "hardware").filter(f.subject("discovered", "b")))
        .await
        .unwrap();
    for i in 0..3 {
        let d = next(&mut only_b).await;
        assert_eq!(d.event_id, format!("b{i}"));
        d.ack().await.unwrap();
    }
    nothing(&mut only_b, 300).await;

    let mut from_seq = f
        .bus
        .subscribe(ConsumerSpec::new("fs", "hardware").start(StartAt::Sequence(5)))
        .await
        .unwrap();
    let d = next(&mut from_seq).await;
    assert_eq!((d.stream_seq, d.event_id.as_str()), (5, "a2"));

    let mut from_time = f
        .bus
        .subscribe(ConsumerSpec::new("ft", "hardware").start(StartAt::Time(mid)))
        .await
        .unwrap();
    let d = next(&mut from_time).await;
    assert_eq!(d.event_id, "a3");
    d.ack().await.unwrap();

    let mut new_only = f
        .bus
        .subscribe(ConsumerSpec::new("fn", "hardware").start(StartAt::New))
        .await
        .unwrap();
    nothing(&mut new_only, 300).await;
    f.bus.publish(msg(f, "c", "c0")).await.unwrap();
    assert_eq!(next(&mut new_only).await.event_id, "c0");
}

async fn read_and_delete_stored_messages(f: &Fixture) {
    for i in 0..4 {
        f.bus.publish(msg(f, "n", &format!("e{i}"))).await.unwrap();
    }
    let stream = f.topo().stream("hardware");
    assert!(f.bus.delete_message(&stream, 2).await.unwrap());
    assert!(!f.bus.delete_message(&stream, 2).await.unwrap());
    let all = f.bus.read(&stream, 1, 10).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 3, 4]);
    assert_eq!(all[1].event_id(), "e2");
    let page = f.bus.read(&stream, 3, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].seq, 3);
}

/// Fails on events whose payload contains "poison"; records the others.
struct Recorder {
    seen: Mutex<Vec<String>>,
    attempts: Mutex<Vec<(String, u32, Instant)>>,
    cured: std::sync::atomic::AtomicBool,
}

impl Handler for Recorder {
    fn handle<'a>(&'a self, d: &'a Delivery) -> BoxFuture<'a, Result<(), HandlerError>> {
        async move {
            self.attempts
                .lock()
                .unwrap()
                .push((d.event_id.clone(), d.attempt, Instant::now()));
            if !self.cured.load(Ordering::SeqCst) && d.payload.windows(6).any(|w| w == b"poison") {
                return Err(HandlerError::Retry("cannot parse the inventory".into()));
            }
            self.seen.lock().unwrap().push(d.event_id.clone());
            Ok(())
        }
        .boxed()
    }
}

async fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn worker_retries_then_dead_letters_and_goes_on(f: &Fixture) {
    let rec = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
        attempts: Mutex::new(Vec::new()),
        cured: false.into(),
    });
    let stats = Arc::new(WorkerStats::default());
    let stop = CancellationToken::new();
    let opts = WorkerOptions {
        max_attempts: 3,
        backoff: vec![Duration::from_millis(200), Duration::from_millis(400)],
        poll_wait: Duration::from_millis(200),
        ..Default::default()
    };
    let w = tokio::spawn(worker::run(
        f.bus.clone(),
        ConsumerSpec::new("enricher", "hardware"),
        opts,
        rec.clone(),
        stats.clone(),
        stop.clone(),
    ));
    f.bus.publish(msg(f, "ok1", "g1")).await.unwrap();
    f.bus.publish(msg(f, "poison", "p1")).await.unwrap();
    f.bus.publish(msg(f, "ok2", "g2")).await.unwrap();
    wait_for("the dead letter", 20, || {
        WorkerStats::get(&stats.dead_lettered) == 1
    })
    .await;
    wait_for("the good events", 10, || {
        rec.seen.lock().unwrap().len() == 2
    })
    .await;
    // The consumer went on: the good event after the poison one was handled.
    assert_eq!(*rec.seen.lock().unwrap(), vec!["g1", "g2"]);
    let tries: Vec<(u32, Instant)> = rec
        .attempts
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, _, _)| id == "p1")
        .map(|(_, a, t)| (*a, *t))
        .collect();
    assert_eq!(tries.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    // Lower bounds only (the backoff is a nak delay that starts after the failed attempt):
    // load lengthens the gaps, never shortens them.
    assert!(
        tries[1].1 - tries[0].1 >= Duration::from_millis(150),
        "backoff 1"
    );
    assert!(
        tries[2].1 - tries[1].1 >= Duration::from_millis(350),
        "backoff 2"
    );
    assert_eq!(WorkerStats::get(&stats.retried), 2);

    let dead = dlq::list(&*f.bus, None, 0, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let dl = &dead[0];
    assert_eq!(dl.event_id, "p1");
    assert_eq!(dl.consumer, "enricher");
    assert_eq!(dl.attempts, 3);
    assert_eq!(dl.subject, f.subject("discovered", "poison"));
    assert_eq!(dl.stream_seq, 2);
    assert!(dl.error.contains("cannot parse"));
    assert_eq!(dl.event["asset"], "poison");
    assert!(dlq::list(&*f.bus, Some("other"), 0, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(dlq::get(&*f.bus, dl.seq).await.unwrap().event_id, "p1");

    // The handler is fixed; re-driving delivers the event again and empties the DLQ.
    rec.cured.store(true, Ordering::SeqCst);
    dlq::redrive(&*f.bus, dl.seq).await.unwrap();
    wait_for("the re-driven event", 10, || {
        rec.seen.lock().unwrap().len() == 3
    })
    .await;
    assert_eq!(rec.seen.lock().unwrap()[2], "p1");
    assert!(dlq::list(&*f.bus, None, 0, 10).await.unwrap().is_empty());
    assert!(dlq::redrive(&*f.bus, dl.seq).await.is_err());
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), w)
        .await
        .expect("worker stops on shutdown")
        .unwrap();
}

async fn worker_drops_redelivered_event_ids(f: &Fixture) {
    let rec = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
        attempts: Mutex::new(Vec::new()),
        cured: true.into(),
    });
    let stats = Arc::new(WorkerStats::default());
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker::run(
        f.bus.clone(),
        ConsumerSpec::new("h", "hardware"),
        WorkerOptions {
            poll_wait: Duration::from_millis(100),
            ..Default::default()
        },
        rec.clone(),
        stats.clone(),
        stop.clone(),
    ));
    f.bus.publish(msg(f, "n", "e1")).await.unwrap();
    // The same event published again under another de-duplication id (after
    // the broker's window, or re-driven): the worker drops it by event id.
    let mut again = msg(f, "n", "other-msg-id");
    again.event_id = Some("e1".into());
    f.bus.publish(again).await.unwrap();
    f.bus.publish(msg(f, "n", "e2")).await.unwrap();
    wait_for("both events", 10, || {
        WorkerStats::get(&stats.handled) + WorkerStats::get(&stats.duplicates) == 3
    })
    .await;
    assert_eq!(*rec.seen.lock().unwrap(), vec!["e1", "e2"]);
    assert_eq!(WorkerStats::get(&stats.duplicates), 1);
    stop.cancel();
    w.await.unwrap();
}
