//! The telemetry-history contract: every test runs against the embedded SQLite adapter and the
//! InfluxDB one.
//!
//! InfluxDB comes from `GPUFLEET_TEST_INFLUX_URL` (started by `scripts/services.sh up`, which
//! `scripts/test.sh` runs); each test writes into a database of its own and drops it at the end.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::error::CoreError;
use fleet_core::history::{
    Agg, HistoryPoint, HistorySettings, InfluxHistory, SeriesPoint, SeriesQuery, SqliteHistory,
    TimeSeries,
};
use fleet_telemetry::fields::GpuField;

fn influx_url() -> String {
    std::env::var("GPUFLEET_TEST_INFLUX_URL").expect(
        "GPUFLEET_TEST_INFLUX_URL is not set: run the tests through scripts/test.sh, which starts \
         InfluxDB (scripts/services.sh up influxdb), or point it at an InfluxDB 1.x this test may write to",
    )
}

fn settings() -> HistorySettings {
    HistorySettings {
        resolution: Duration::from_secs(10),
        ..Default::default()
    }
}

/// Drops the test's database when the test ends (also when it fails).
struct DropDb(String);

impl Drop for DropDb {
    fn drop(&mut self) {
        let url = format!("{}/query", influx_url());
        let q = format!("DROP DATABASE \"{}\"", self.0);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _ = reqwest::Client::new()
                    .post(&url)
                    .query(&[("q", q)])
                    .send()
                    .await;
            });
        })
        .join();
    }
}

/// Each test body, on both adapters.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let h = fleet_core::history::SqliteHistory::open(&dir.path().join("history.db"), super::settings());
                    super::$name(std::sync::Arc::new(h)).await;
                }
            )*
        }
        mod influxdb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs InfluxDB: GPUFLEET_TEST_INFLUX_URL from scripts/services.sh up influxdb; scripts/test.sh runs it"]
                async fn $name() {
                    let db = format!("gftest_{}", uuid::Uuid::new_v4().simple());
                    let _drop = super::DropDb(db.clone());
                    let h = super::InfluxHistory::new(&super::influx_url(), &db, super::settings(), std::time::Duration::from_secs(10)).unwrap();
                    super::$name(std::sync::Arc::new(h)).await;
                }
            )*
        }
    };
}

contract!(
    each_aggregate_combines_the_intervals_of_a_step,
    only_the_asked_gpus_field_and_range_come_back,
    many_gpus_in_one_query,
    odd_characters_in_ids_survive_the_round_trip,
    bad_ranges_are_refused,
);

/// A minute boundary an hour ago (inside InfluxDB's retention policy, aligned to any step
/// used here).
fn t0() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t = now - 3_600_000;
    t - t % 60_000
}

fn point(gpu: &str, field: GpuField, at_ms: i64, vals: [f64; 4], count: u32) -> HistoryPoint {
    HistoryPoint {
        gpu: gpu.into(),
        node: Some("node-1".into()),
        field,
        at_ms,
        mean: vals[0],
        min: vals[1],
        max: vals[2],
        last: vals[3],
        count,
    }
}

fn query(gpus: &[&str], field: GpuField, from: i64, to: i64, step: i64, agg: Agg) -> SeriesQuery {
    SeriesQuery {
        gpus: gpus.iter().map(|g| g.to_string()).collect(),
        field,
        from_ms: from,
        to_ms: to,
        step_ms: step,
        agg,
    }
}

fn pts(v: &[(i64, f64)]) -> Vec<SeriesPoint> {
    v.iter().map(|&(t_ms, v)| SeriesPoint { t_ms, v }).collect()
}

async fn each_aggregate_combines_the_intervals_of_a_step(h: Arc<dyn TimeSeries>) {
    let t = t0();
    let f = GpuField::GpuTemp;
    h.write(&[
        point("gpu-a", f, t, [40.0, 35.0, 45.0, 44.0], 10),
        point("gpu-a", f, t + 10_000, [50.0, 41.0, 90.0, 42.0], 10),
        point("gpu-a", f, t + 20_000, [60.0, 20.0, 61.0, 60.0], 10),
        point("gpu-a", f, t + 30_000, [70.0, 65.0, 75.0, 71.0], 10),
    ])
    .await
    .unwrap();
    let ask = |agg| query(&["gpu-a"], f, t, t + 40_000, 20_000, agg);
    let got = |agg| {
        let h = h.clone();
        async move {
            let s = h.query(&ask(agg)).await.unwrap();
            assert_eq!(s.len(), 1, "{agg:?}: {s:?}");
            assert_eq!(s[0].gpu, "gpu-a");
            s[0].points.clone()
        }
    };
    assert_eq!(got(Agg::Mean).await, pts(&[(t, 45.0), (t + 20_000, 65.0)]));
    assert_eq!(got(Agg::Min).await, pts(&[(t, 35.0), (t + 20_000, 20.0)]));
    assert_eq!(got(Agg::Max).await, pts(&[(t, 90.0), (t + 20_000, 75.0)]));
    assert_eq!(got(Agg::Last).await, pts(&[(t, 42.0), (t + 20_000, 71.0)]));
    // A step of the resolution gives the intervals themselves.
    let s = h
        .query(&query(&["gpu-a"], f, t, t + 40_000, 10_000, Agg::Max))
        .await
        .unwrap();
    assert_eq!(
        s[0].points,
        pts(&[
            (t, 45.0),
            (t + 10_000, 90.0),
            (t + 20_000, 61.0),
            (t + 30_000, 75.0)
        ])
    );
}

async fn only_the_asked_gpus_field_and_range_come_back(h: Arc<dyn TimeSeries>) {
    let t = t0();
    let mut batch = Vec::new();
    for g in ["g1", "g2", "g3"] {
        for i in 0..6 {
            let v = f64::from(i) + if g == "g3" { 100.0 } else { 0.0 };
            batch.push(point(
                g,
                GpuField::PowerUsage,
                t + i64::from(i) * 10_000,
                [v; 4],
                1,
            ));
            batch.push(point(
                g,
                GpuField::GpuUtil,
                t + i64::from(i) * 10_000,
                [-v; 4],
                1,
            ));
        }
    }
    h.write(&batch).await.unwrap();
    let s = h
        .query(&query(
            &["g1", "g3", "g-without-data"],
            GpuField::PowerUsage,
            t + 20_000,
            t + 40_000,
            10_000,
            Agg::Last,
        ))
        .await
        .unwrap();
    assert_eq!(
        s.iter().map(|s| s.gpu.as_str()).collect::<Vec<_>>(),
        ["g1", "g3"],
        "a GPU without data has no series; g2 was not asked for"
    );
    assert_eq!(s[0].points, pts(&[(t + 20_000, 2.0), (t + 30_000, 3.0)]));
    assert_eq!(
        s[1].points,
        pts(&[(t + 20_000, 102.0), (t + 30_000, 103.0)])
    );
    // Another field of the same GPUs is another series.
    let u = h
        .query(&query(
            &["g1"],
            GpuField::GpuUtil,
            t,
            t + 60_000,
            60_000,
            Agg::Min,
        ))
        .await
        .unwrap();
    assert_eq!(u[0].points, pts(&[(t, -5.0)]));
    // A field nobody wrote.
    let none = h
        .query(&query(
            &["g1"],
            GpuField::FanSpeed,
            t,
            t + 60_000,
            10_000,
            Agg::Mean,
        ))
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    // An empty GPU list asks for nothing.
    let none = h
        .query(&query(
            &[],
            GpuField::PowerUsage,
            t,
            t + 60_000,
            10_000,
            Agg::Mean,
        ))
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn many_gpus_in_one_query(h: Arc<dyn TimeSeries>) {
    let t = t0();
    let gpus: Vec<String> = (0..450).map(|i| format!("gpu-{i:04}")).collect();
    let batch: Vec<HistoryPoint> = gpus
        .iter()
        .enumerate()
        .map(|(i, g)| point(g, GpuField::SmClock, t, [i as f64; 4], 3))
        .collect();
    h.write(&batch).await.unwrap();
    let names: Vec<&str> = gpus.iter().map(String::as_str).collect();
    let s = h
        .query(&query(
            &names,
            GpuField::SmClock,
            t,
            t + 10_000,
            10_000,
            Agg::Mean,
        ))
        .await
        .unwrap();
    assert_eq!(s.len(), 450);
    for (i, series) in s.iter().enumerate() {
        assert_eq!(series.gpu, gpus[i], "sorted by GPU id");
        assert_eq!(series.points, pts(&[(t, i as f64)]));
    }
}

async fn odd_characters_in_ids_survive_the_round_trip(h: Arc<dyn TimeSeries>) {
    let t = t0();
    let odd = "GPU a,b=c 'd\" \\e";
    let mut p = point(odd, GpuField::GpuTemp, t, [1.5, 1.0, 2.0, 1.25], 2);
    p.node = Some("node x,y=z".into());
    h.write(&[p, point("plain", GpuField::GpuTemp, t, [9.0; 4], 1)])
        .await
        .unwrap();
    let s = h
        .query(&query(
            &[odd],
            GpuField::GpuTemp,
            t,
            t + 10_000,
            10_000,
            Agg::Last,
        ))
        .await
        .unwrap();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].gpu, odd);
    assert_eq!(s[0].points, pts(&[(t, 1.25)]));
}

async fn bad_ranges_are_refused(h: Arc<dyn TimeSeries>) {
    let t = t0();
    for (from, to, step) in [(t, t, 1000), (t + 1, t, 1000), (t, t + 1000, 0)] {
        let e = h
            .query(&query(&["g"], GpuField::GpuTemp, from, to, step, Agg::Mean))
            .await
            .unwrap_err();
        assert!(matches!(e, CoreError::Invalid(_)), "{e:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The embedded adapter's own duties: merging, rollups and retention.

#[tokio::test]
async fn sqlite_merges_an_interval_written_twice() {
    let h = SqliteHistory::in_memory(settings());
    let t = t0();
    let f = GpuField::GpuTemp;
    h.write(&[point("g", f, t, [40.0, 30.0, 50.0, 45.0], 3)])
        .await
        .unwrap();
    h.write(&[point("g", f, t, [80.0, 70.0, 90.0, 75.0], 1)])
        .await
        .unwrap();
    let get = |agg| query(&["g"], f, t, t + 10_000, 10_000, agg);
    assert_eq!(
        h.query(&get(Agg::Mean)).await.unwrap()[0].points,
        pts(&[(t, 50.0)])
    );
    assert_eq!(
        h.query(&get(Agg::Min)).await.unwrap()[0].points,
        pts(&[(t, 30.0)])
    );
    assert_eq!(
        h.query(&get(Agg::Max)).await.unwrap()[0].points,
        pts(&[(t, 90.0)])
    );
    assert_eq!(
        h.query(&get(Agg::Last)).await.unwrap()[0].points,
        pts(&[(t, 75.0)])
    );
}

#[tokio::test]
async fn sqlite_rollups_stand_in_for_raw_intervals_past_retention() {
    let s = HistorySettings {
        resolution: Duration::from_secs(10),
        raw_retention: Duration::from_secs(3600),
        rollup_step: Duration::from_secs(300),
        rollup_retention: Duration::from_secs(24 * 3600),
        ..Default::default()
    };
    let h = SqliteHistory::in_memory(s);
    let f = GpuField::PowerUsage;
    // Two hours of 10 s intervals from a 5-minute boundary: values 0, 1, 2, …
    let t = 1_800_000_000_000i64;
    let batch: Vec<HistoryPoint> = (0..720)
        .map(|i| {
            let v = f64::from(i);
            point(
                "g",
                f,
                t + i64::from(i) * 10_000,
                [v, v - 0.5, v + 0.5, v],
                1,
            )
        })
        .collect();
    h.write(&batch).await.unwrap();
    let end = t + 7_200_000;
    let r = h.maintain(end + 60_000).await.unwrap();
    // 24 windows of 5 minutes rolled up; raw intervals older than an hour (cut at a window
    // boundary) deleted.
    assert_eq!(r.rolled_up, 24);
    assert_eq!(r.deleted, 360, "{r:?}");
    // The first window now comes from its rollup: 30 intervals, values 0..29.
    let q = |agg, from, to, step| query(&["g"], f, from, to, step, agg);
    let first = |agg| q(agg, t, t + 300_000, 300_000);
    assert_eq!(
        h.query(&first(Agg::Mean)).await.unwrap()[0].points,
        pts(&[(t, 14.5)])
    );
    assert_eq!(
        h.query(&first(Agg::Min)).await.unwrap()[0].points,
        pts(&[(t, -0.5)])
    );
    assert_eq!(
        h.query(&first(Agg::Max)).await.unwrap()[0].points,
        pts(&[(t, 29.5)])
    );
    assert_eq!(
        h.query(&first(Agg::Last)).await.unwrap()[0].points,
        pts(&[(t, 29.0)])
    );
    // A query over the whole range at 10 s: rollup points where raw is gone, raw after.
    let all = h.query(&q(Agg::Last, t, end, 10_000)).await.unwrap();
    let p = &all[0].points;
    assert_eq!(p.len(), 12 + 360, "12 rollups, then the raw intervals kept");
    assert_eq!(p[0], SeriesPoint { t_ms: t, v: 29.0 });
    assert_eq!(
        p[11],
        SeriesPoint {
            t_ms: t + 3_300_000,
            v: 359.0
        }
    );
    assert_eq!(
        p[12],
        SeriesPoint {
            t_ms: t + 3_600_000,
            v: 360.0
        }
    );
    // Over 5-minute steps the two meet without counting anything twice.
    let coarse = h.query(&q(Agg::Mean, t, end, 300_000)).await.unwrap();
    let c = &coarse[0].points;
    assert_eq!(c.len(), 24);
    assert_eq!(c[11].v, 344.5);
    assert_eq!(c[12].v, 374.5);
    // A second pass has nothing new to roll up; rollups past their retention go.
    assert_eq!(h.maintain(end + 60_000).await.unwrap().rolled_up, 0);
    let r = h.maintain(end + 25 * 3600 * 1000).await.unwrap();
    assert!(r.deleted > 0);
    let gone = h.query(&q(Agg::Mean, t, end, 10_000)).await.unwrap();
    assert!(gone.is_empty(), "{gone:?}");
}
