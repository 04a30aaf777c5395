//! The hot-status contract: every test runs against the in-memory adapter and the Redis one.
//!
//! Redis comes from `GPUFLEET_TEST_REDIS_URL` (started by `scripts/services.sh up`, which
//! `scripts/test.sh` runs); each test writes under a key prefix of its own.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::error::CoreError;
use fleet_core::hot_redis::RedisHotStatus;
use fleet_core::telemetry::{HotStatus, SampleUpdate};
use fleet_telemetry::fields::GpuField;
use fleet_telemetry::health::{Health, HealthChange, HealthState, Reason, Subject};

const TIMEOUT: Duration = Duration::from_secs(5);

fn redis_url() -> String {
    std::env::var("GPUFLEET_TEST_REDIS_URL").expect(
        "GPUFLEET_TEST_REDIS_URL is not set: run the tests through scripts/test.sh, which starts Redis \
         (scripts/services.sh up redis), or point it at a Redis this test may write to",
    )
}

fn prefix() -> String {
    format!("gftest-{}", uuid::Uuid::new_v4().simple())
}

async fn redis(prefix: &str) -> RedisHotStatus {
    RedisHotStatus::connect(&redis_url(), prefix, TIMEOUT)
        .await
        .expect("connect to GPUFLEET_TEST_REDIS_URL")
}

/// Each test body, on both adapters.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(std::sync::Arc::new(fleet_core::telemetry::MemoryHotStatus::default())).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs Redis: GPUFLEET_TEST_REDIS_URL from scripts/services.sh up redis; scripts/test.sh runs it"]
                async fn $name() {
                    let hot = super::redis(&super::prefix()).await;
                    super::$name(std::sync::Arc::new(hot)).await;
                }
            )*
        }
    };
}

contract!(
    the_newest_value_of_each_field_wins,
    older_health_changes_are_ignored_and_counts_follow_the_state,
    node_health_is_kept_apart_from_gpus,
    concurrent_writers_leave_the_newest_value_and_exact_counts,
    many_gpus_in_one_call,
    bmc_readings_and_switch_ports_are_kept,
);

fn up(gpu: &str, node: Option<&str>, at_ms: i64, values: &[(GpuField, f64)]) -> SampleUpdate {
    SampleUpdate {
        gpu: gpu.into(),
        node: node.map(str::to_string),
        at: at_ms * 1_000_000,
        values: values.to_vec(),
    }
}

fn change(subject: Subject, at_ms: i64, state: HealthState, reasons: Vec<Reason>) -> HealthChange {
    HealthChange {
        subject,
        at: at_ms * 1_000_000,
        old: Health::default(),
        new: Health { state, reasons },
    }
}

fn a_reason() -> Reason {
    Reason::Thermal {
        field: GpuField::GpuTemp,
        celsius: 91.5,
        threshold: 87.0,
        failed: false,
    }
}

async fn the_newest_value_of_each_field_wins(h: Arc<dyn HotStatus>) {
    assert!(
        h.gpu("g1").await.unwrap().is_none(),
        "an unknown GPU has no status"
    );
    h.record_samples(&[
        up(
            "g1",
            Some("n1"),
            2_000,
            &[(GpuField::GpuTemp, 50.0), (GpuField::PowerUsage, 300.5)],
        ),
        // Older for temperature: kept out; new for the SM clock.
        up(
            "g1",
            None,
            1_000,
            &[(GpuField::GpuTemp, 40.0), (GpuField::SmClock, 1980.0)],
        ),
    ])
    .await
    .unwrap();
    let g = h.gpu("g1").await.unwrap().expect("GPU recorded");
    assert_eq!(g.gpu, "g1");
    assert_eq!(
        g.node.as_deref(),
        Some("n1"),
        "a batch without a node keeps the known one"
    );
    assert_eq!(g.fields["gpu_temp"], 50.0);
    assert_eq!(g.fields["power_usage"], 300.5);
    assert_eq!(g.fields["sm_clock"], 1980.0);
    assert_eq!(g.last_seen_ms, Some(2_000));
    assert_eq!(g.state, HealthState::Unknown, "no health derived yet");
    assert_eq!(g.since_ms, None);

    h.record_samples(&[up("g1", Some("n2"), 3_000, &[(GpuField::GpuTemp, 61.25)])])
        .await
        .unwrap();
    let g = h.gpu("g1").await.unwrap().unwrap();
    assert_eq!(g.fields["gpu_temp"], 61.25);
    assert_eq!(g.node.as_deref(), Some("n2"), "a GPU moved to another node");
    assert_eq!(g.last_seen_ms, Some(3_000));
    assert_eq!(h.gpu_counts().await.unwrap().get("unknown"), Some(&1));
}

async fn older_health_changes_are_ignored_and_counts_follow_the_state(h: Arc<dyn HotStatus>) {
    h.record_samples(&[
        up("a", Some("n"), 1_000, &[(GpuField::GpuTemp, 40.0)]),
        up("b", Some("n"), 1_000, &[(GpuField::GpuTemp, 41.0)]),
    ])
    .await
    .unwrap();
    let counts = h.gpu_counts().await.unwrap();
    assert_eq!(counts.get("unknown"), Some(&2), "{counts:?}");

    let reason = a_reason();
    h.record_health(&[
        change(
            Subject::Gpu("a".into()),
            5_000,
            HealthState::Failed,
            vec![reason.clone()],
        ),
        // Older than the failure: ignored.
        change(
            Subject::Gpu("a".into()),
            4_000,
            HealthState::Healthy,
            vec![],
        ),
        change(
            Subject::Gpu("b".into()),
            4_500,
            HealthState::Healthy,
            vec![],
        ),
    ])
    .await
    .unwrap();
    let a = h.gpu("a").await.unwrap().unwrap();
    assert_eq!(a.state, HealthState::Failed);
    assert_eq!(a.reasons, vec![reason]);
    assert_eq!(a.since_ms, Some(5_000));
    assert_eq!(a.fields["gpu_temp"], 40.0, "health leaves the values alone");
    let counts = h.gpu_counts().await.unwrap();
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        vec![("failed".to_string(), 1), ("healthy".to_string(), 1)],
        "states with no GPU left are not listed"
    );

    // Health for a GPU never sampled creates it.
    h.record_health(&[change(
        Subject::Gpu("c".into()),
        1,
        HealthState::Missing,
        vec![],
    )])
    .await
    .unwrap();
    let c = h.gpu("c").await.unwrap().unwrap();
    assert_eq!((c.state, c.last_seen_ms), (HealthState::Missing, None));
    assert_eq!(h.gpu_counts().await.unwrap().get("missing"), Some(&1));

    // A newer recovery.
    h.record_health(&[change(
        Subject::Gpu("a".into()),
        6_000,
        HealthState::Healthy,
        vec![],
    )])
    .await
    .unwrap();
    let counts = h.gpu_counts().await.unwrap();
    assert_eq!(counts.get("healthy"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("failed"), None, "{counts:?}");
    assert!(h.gpu("a").await.unwrap().unwrap().reasons.is_empty());
}

async fn node_health_is_kept_apart_from_gpus(h: Arc<dyn HotStatus>) {
    assert!(h.node("n1").await.unwrap().is_none());
    let reason = a_reason();
    h.record_health(&[
        change(
            Subject::Node("n1".into()),
            2_000,
            HealthState::Degraded,
            vec![reason.clone()],
        ),
        change(
            Subject::Node("n1".into()),
            1_000,
            HealthState::Healthy,
            vec![],
        ),
    ])
    .await
    .unwrap();
    let n = h.node("n1").await.unwrap().expect("node recorded");
    assert_eq!(n.node, "n1");
    assert_eq!(n.health.state, HealthState::Degraded);
    assert_eq!(n.health.reasons, vec![reason]);
    assert_eq!(n.since_ms, Some(2_000));
    assert!(h.gpu("n1").await.unwrap().is_none(), "a node is no GPU");
    assert!(
        h.gpu_counts().await.unwrap().is_empty(),
        "nodes are not counted as GPUs"
    );
}

async fn concurrent_writers_leave_the_newest_value_and_exact_counts(h: Arc<dyn HotStatus>) {
    let mut tasks = Vec::new();
    for w in 0..8i64 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25i64 {
                let at = 1_000 + i * 8 + w; // every writer's times interleave with the others'
                h.record_samples(&[up("hot", Some("n"), at, &[(GpuField::GpuTemp, at as f64)])])
                    .await
                    .unwrap();
                let state = if at % 2 == 0 {
                    HealthState::Healthy
                } else {
                    HealthState::Degraded
                };
                h.record_health(&[
                    change(Subject::Gpu("hot".into()), at, state, vec![]),
                    change(
                        Subject::Gpu(format!("g{w}-{i}")),
                        at,
                        HealthState::Healthy,
                        vec![],
                    ),
                ])
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let newest = 1_000 + 24 * 8 + 7;
    let g = h.gpu("hot").await.unwrap().unwrap();
    assert_eq!(g.fields["gpu_temp"], newest as f64);
    assert_eq!(g.last_seen_ms, Some(newest));
    assert_eq!(g.since_ms, Some(newest));
    assert_eq!(
        g.state,
        HealthState::Degraded,
        "the newest change ({newest} ms) is odd"
    );
    let counts = h.gpu_counts().await.unwrap();
    assert_eq!(counts.values().sum::<u64>(), 201, "{counts:?}");
    assert_eq!(counts.get("healthy"), Some(&200), "{counts:?}");
}

async fn many_gpus_in_one_call(h: Arc<dyn HotStatus>) {
    // More updates than one pipeline carries.
    let updates: Vec<_> = (0..2_000)
        .map(|i| {
            up(
                &format!("m{i}"),
                Some(&format!("node{}", i / 8)),
                1_000 + i,
                &[(GpuField::GpuTemp, i as f64)],
            )
        })
        .collect();
    h.record_samples(&updates).await.unwrap();
    let changes: Vec<_> = (0..2_000)
        .map(|i| {
            change(
                Subject::Gpu(format!("m{i}")),
                5_000,
                HealthState::Healthy,
                vec![],
            )
        })
        .collect();
    h.record_health(&changes).await.unwrap();
    assert_eq!(h.gpu_counts().await.unwrap().get("healthy"), Some(&2_000));
    let last = h.gpu("m1999").await.unwrap().unwrap();
    assert_eq!(last.fields["gpu_temp"], 1999.0);
    assert_eq!(last.node.as_deref(), Some("node249"));
}

// ---------------------------------------------------------------------------------------------
// What only the Redis adapter promises.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_status_outlives_the_process_and_is_shared_by_several() {
    let p = prefix();
    let first = redis(&p).await;
    let second = redis(&p).await;
    first
        .record_samples(&[up("g", Some("n"), 1_000, &[(GpuField::GpuTemp, 70.0)])])
        .await
        .unwrap();
    second
        .record_health(&[change(
            Subject::Gpu("g".into()),
            2_000,
            HealthState::Failed,
            vec![a_reason()],
        )])
        .await
        .unwrap();
    for h in [&first, &second] {
        let g = h.gpu("g").await.unwrap().unwrap();
        assert_eq!((g.fields["gpu_temp"], g.state), (70.0, HealthState::Failed));
    }
    drop(first);
    drop(second);
    // A new connection (a restarted gpufleet) reads what the old ones wrote.
    let restarted = redis(&p).await;
    let g = restarted.gpu("g").await.unwrap().unwrap();
    assert_eq!(
        (g.fields["gpu_temp"], g.state, g.last_seen_ms),
        (70.0, HealthState::Failed, Some(1_000))
    );
    assert_eq!(
        restarted.gpu_counts().await.unwrap().get("failed"),
        Some(&1)
    );
    // Another prefix sees none of it.
    assert!(redis(&prefix()).await.gpu("g").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_scripts_are_loaded_again_after_a_script_flush() {
    let p = prefix();
    let h = redis(&p).await;
    let client = ::redis::Client::open(redis_url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = ::redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut c)
        .await
        .unwrap();
    h.record_samples(&[up("g", None, 1_000, &[(GpuField::GpuTemp, 33.0)])])
        .await
        .expect("a write after the scripts were flushed");
    assert_eq!(h.gpu("g").await.unwrap().unwrap().fields["gpu_temp"], 33.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_that_does_not_answer_is_an_error_within_the_timeout() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let err = RedisHotStatus::connect(
        &format!("redis://:secret@127.0.0.1:{port}"),
        "p",
        Duration::from_secs(2),
    )
    .await
    .err()
    .expect("no Redis there");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    match &err {
        CoreError::Unavailable { message, .. } => {
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
            assert!(
                !message.contains("secret"),
                "the password is not in messages: {message}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let bad = RedisHotStatus::connect("http://127.0.0.1:1", "p", TIMEOUT)
        .await
        .err()
        .unwrap();
    assert!(matches!(bad, CoreError::Invalid(_)), "{bad:?}");
    let bad = RedisHotStatus::connect(&redis_url(), "has space", TIMEOUT)
        .await
        .err()
        .unwrap();
    assert!(matches!(bad, CoreError::Invalid(_)), "{bad:?}");
}

async fn bmc_readings_and_switch_ports_are_kept(h: Arc<dyn HotStatus>) {
    use fleet_telemetry::health::BmcReading;
    use fleet_telemetry::network::PortStatus;
    let reading = |name: &str, v: f64| BmcReading {
        name: name.into(),
        kind: "temperature".into(),
        reading: Some(v),
        health: Some("OK".into()),
        ..Default::default()
    };
    assert!(h.node("n-bmc").await.unwrap().is_none());
    h.record_node_sensors("n-bmc", 2_000, &[reading("Inlet Temp", 24.0)])
        .await
        .unwrap();
    // An older read arriving late does not replace the newer one.
    h.record_node_sensors("n-bmc", 1_000, &[reading("Inlet Temp", 99.0)])
        .await
        .unwrap();
    let n = h
        .node("n-bmc")
        .await
        .unwrap()
        .expect("the node is known by its sensors");
    assert_eq!(n.sensors.len(), 1);
    assert_eq!(n.sensors[0].reading, Some(24.0));
    assert_eq!(n.sensors_at_ms, Some(2_000));
    // Health recorded later keeps the sensors.
    h.record_health(&[change(
        Subject::Node("n-bmc".into()),
        3_000,
        HealthState::Degraded,
        vec![a_reason()],
    )])
    .await
    .unwrap();
    let n = h.node("n-bmc").await.unwrap().unwrap();
    assert_eq!(n.health.state, HealthState::Degraded);
    assert_eq!(n.sensors.len(), 1);

    let port = |oper: &str| PortStatus {
        admin_up: Some(true),
        oper_status: Some(oper.into()),
        in_errors: Some(3.0),
        ..Default::default()
    };
    assert!(h.ports("sw-x").await.unwrap().is_empty());
    h.record_ports(
        "sw-x",
        &[
            ("Ethernet1".into(), port("UP")),
            ("Ethernet2".into(), port("UP")),
        ],
    )
    .await
    .unwrap();
    h.record_ports("sw-x", &[("Ethernet2".into(), port("DOWN"))])
        .await
        .unwrap();
    h.record_ports("sw-x", &[]).await.unwrap();
    let ports = h.ports("sw-x").await.unwrap();
    assert_eq!(ports.len(), 2);
    assert_eq!(ports["Ethernet1"].oper_status.as_deref(), Some("UP"));
    assert_eq!(ports["Ethernet2"].oper_status.as_deref(), Some("DOWN"));
    assert_eq!(ports["Ethernet2"].in_errors, Some(3.0));
}
