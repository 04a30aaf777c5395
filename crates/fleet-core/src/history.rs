//! GPU telemetry history: the time-series port, its two adapters, and the write buffer that
//! brings samples down to the write resolution.
//!
//! Samples are not stored one by one. [`HistoryBuffer`] keeps, per GPU and field, the open
//! interval of the write resolution ([`HistorySettings::resolution`], 15 s by default) and its
//! mean, minimum, maximum, last value and count; an interval is written as one
//! [`HistoryPoint`] once it has ended and one more resolution has passed (for senders a little
//! behind). The minimum and maximum keep the spikes a coarser resolution would hide, so a query
//! for `max` over any step sees the hottest sample even though 1 Hz samples are not kept.
//!
//! Adapters of the [`TimeSeries`] port:
//! - [`SqliteHistory`]: the embedded default, a SQLite file in the data directory (or in memory).
//!   Raw intervals are kept [`HistorySettings::raw_retention`]; [`TimeSeries::maintain`] rolls
//!   closed windows of [`HistorySettings::rollup_step`] into a second table kept
//!   [`HistorySettings::rollup_retention`], and deletes what is older. A query reads the rollups
//!   below the point up to which raw intervals were deleted, and the raw intervals from there.
//!   Intervals written for a window already rolled up (more than two resolutions late) stay in
//!   the raw table and do not reach the rollup.
//! - [`InfluxHistory`]: an InfluxDB server through its 1.x HTTP API (line protocol on `/write`,
//!   InfluxQL on `/query`; tested with InfluxDB 1.6.7; InfluxDB 3 Core serves the same paths).
//!   The database and a default retention policy of `raw_retention` are created when missing;
//!   the server deletes old points. Downsampling there is left to the server's continuous queries.
//!
//! Both pass one contract suite (`tests/history.rs`). Aggregates over a step: `mean` is the
//! mean of the interval means, `min` the smallest minimum, `max` the largest maximum, `last` the
//! last value of the latest interval. Steps are aligned to the Unix epoch (as InfluxDB's
//! `GROUP BY time()` does); each point carries the start of its step.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use fleet_telemetry::fields::GpuField;
use fleet_telemetry::Nanos;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio::sync::OnceCell;

use crate::error::{CoreError, CoreResult};

/// Write resolution, retention and downsampling of the history.
#[derive(Debug, Clone)]
pub struct HistorySettings {
    /// Length of one stored interval per GPU and field.
    pub resolution: Duration,
    /// How long raw intervals are kept.
    pub raw_retention: Duration,
    /// Window of the rollups (embedded adapter).
    pub rollup_step: Duration,
    /// How long rollups are kept (embedded adapter).
    pub rollup_retention: Duration,
    /// Most points waiting for the store (the store down); beyond it the oldest are dropped
    /// and counted.
    pub max_pending: usize,
    /// How often retention and downsampling run.
    pub maintain_every: Duration,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            resolution: Duration::from_secs(15),
            raw_retention: Duration::from_secs(2 * 24 * 3600),
            rollup_step: Duration::from_secs(300),
            rollup_retention: Duration::from_secs(90 * 24 * 3600),
            max_pending: 2_000_000,
            maintain_every: Duration::from_secs(60),
        }
    }
}

impl HistorySettings {
    pub fn resolution_ms(&self) -> i64 {
        (self.resolution.as_millis() as i64).max(1)
    }
}

/// How the values of one step are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Agg {
    Mean,
    Min,
    Max,
    Last,
}

impl Agg {
    pub const ALL: [Agg; 4] = [Agg::Mean, Agg::Min, Agg::Max, Agg::Last];

    pub fn as_str(self) -> &'static str {
        match self {
            Agg::Mean => "mean",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Last => "last",
        }
    }
}

impl FromStr for Agg {
    type Err = CoreError;
    fn from_str(s: &str) -> CoreResult<Agg> {
        Agg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                CoreError::Invalid(format!(
                    "unknown aggregate '{s}' (use mean, min, max or last)"
                ))
            })
    }
}

/// One field of one GPU over one interval of the write resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPoint {
    pub gpu: String,
    pub node: Option<String>,
    pub field: GpuField,
    /// Start of the interval, Unix milliseconds.
    pub at_ms: i64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub count: u32,
}

/// A series query: one field of some GPUs over `[from_ms, to_ms)` in steps of `step_ms`.
#[derive(Debug, Clone)]
pub struct SeriesQuery {
    pub gpus: Vec<String>,
    pub field: GpuField,
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: i64,
    pub agg: Agg,
}

/// One step of a series: its start (Unix milliseconds) and value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub t_ms: i64,
    pub v: f64,
}

/// The series of one GPU, oldest point first; steps without data have no point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub gpu: String,
    pub points: Vec<SeriesPoint>,
}

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MaintainReport {
    /// Rollup rows written.
    pub rolled_up: u64,
    /// Rows deleted by retention.
    pub deleted: u64,
}

/// Where GPU telemetry history lives. Adapters: [`SqliteHistory`] (embedded) and
/// [`InfluxHistory`]; one contract suite for both (`tests/history.rs`).
#[async_trait::async_trait]
pub trait TimeSeries: Send + Sync {
    /// `sqlite` or `influxdb`.
    fn backend(&self) -> &'static str;
    /// Stores intervals. An interval stored again for the same GPU, field and start is merged
    /// (embedded) or replaced (InfluxDB).
    async fn write(&self, points: &[HistoryPoint]) -> CoreResult<()>;
    /// One series per GPU that has points in the range, sorted by GPU id.
    async fn query(&self, q: &SeriesQuery) -> CoreResult<Vec<Series>>;
    /// Retention and downsampling as of `now_ms`.
    async fn maintain(&self, now_ms: i64) -> CoreResult<MaintainReport>;
}

fn align(t: i64, step: i64) -> i64 {
    t - t.rem_euclid(step)
}

// ---------------------------------------------------------------------------------------------
// Write buffer

#[derive(Debug, Clone)]
struct Acc {
    at_ms: i64,
    sum: f64,
    count: u32,
    min: f64,
    max: f64,
    last: f64,
    last_at: Nanos,
}

impl Acc {
    fn new(at_ms: i64, v: f64, at: Nanos) -> Acc {
        Acc {
            at_ms,
            sum: v,
            count: 1,
            min: v,
            max: v,
            last: v,
            last_at: at,
        }
    }

    fn add(&mut self, v: f64, at: Nanos) {
        self.sum += v;
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if at >= self.last_at {
            self.last = v;
            self.last_at = at;
        }
    }

    fn point(&self, gpu: &str, node: &Option<String>, field: GpuField) -> HistoryPoint {
        HistoryPoint {
            gpu: gpu.to_string(),
            node: node.clone(),
            field,
            at_ms: self.at_ms,
            mean: self.sum / f64::from(self.count),
            min: self.min,
            max: self.max,
            last: self.last,
            count: self.count,
        }
    }
}

#[derive(Debug, Default)]
struct GpuAcc {
    node: Option<String>,
    fields: Vec<(GpuField, Acc)>,
}

/// Counters of the buffer, for the telemetry status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BufferCounters {
    /// Samples that arrived for an interval already written (stored as an interval of their
    /// own, which the embedded store merges and InfluxDB replaces).
    pub late_samples: u64,
    /// Points dropped because the store was unreachable for too long.
    pub dropped_points: u64,
    /// Non-finite values (NaN, ±inf) not kept.
    pub non_finite: u64,
}

/// Brings samples down to the write resolution (see the module documentation).
#[derive(Debug)]
pub struct HistoryBuffer {
    res_ms: i64,
    max_pending: usize,
    open: HashMap<String, GpuAcc>,
    ready: VecDeque<HistoryPoint>,
    counters: BufferCounters,
}

impl HistoryBuffer {
    pub fn new(settings: &HistorySettings) -> HistoryBuffer {
        HistoryBuffer {
            res_ms: settings.resolution_ms(),
            max_pending: settings.max_pending.max(1),
            open: HashMap::new(),
            ready: VecDeque::new(),
            counters: BufferCounters::default(),
        }
    }

    /// Adds the values of one GPU at `at`.
    pub fn add(&mut self, gpu: &str, node: Option<&str>, at: Nanos, values: &[(GpuField, f64)]) {
        let bucket = align(at / 1_000_000, self.res_ms);
        let g = match self.open.get_mut(gpu) {
            Some(g) => g,
            None => self.open.entry(gpu.to_string()).or_default(),
        };
        if let Some(n) = node {
            if g.node.as_deref() != Some(n) {
                g.node = Some(n.to_string());
            }
        }
        for &(f, v) in values {
            if !v.is_finite() {
                self.counters.non_finite += 1;
                continue;
            }
            match g.fields.iter_mut().find(|(k, _)| *k == f) {
                None => g.fields.push((f, Acc::new(bucket, v, at))),
                Some((_, acc)) if acc.at_ms == bucket => acc.add(v, at),
                Some((_, acc)) if bucket > acc.at_ms => {
                    self.ready.push_back(acc.point(gpu, &g.node, f));
                    *acc = Acc::new(bucket, v, at);
                }
                Some(_) => {
                    self.counters.late_samples += 1;
                    self.ready
                        .push_back(Acc::new(bucket, v, at).point(gpu, &g.node, f));
                }
            }
        }
        self.bound();
    }

    /// Closes every interval that ended at least one resolution before `now_ms` and returns
    /// what is ready to be written, oldest first.
    pub fn take_ready(&mut self, now_ms: i64) -> Vec<HistoryPoint> {
        let res = self.res_ms;
        for (gpu, g) in self.open.iter_mut() {
            let node = g.node.clone();
            g.fields.retain(|(f, acc)| {
                if acc.at_ms + 2 * res <= now_ms {
                    self.ready.push_back(acc.point(gpu, &node, *f));
                    false
                } else {
                    true
                }
            });
        }
        self.open.retain(|_, g| !g.fields.is_empty());
        self.ready.drain(..).collect()
    }

    /// Puts back points the store did not take, ahead of newer ones.
    pub fn put_back(&mut self, points: Vec<HistoryPoint>) {
        for p in points.into_iter().rev() {
            self.ready.push_front(p);
        }
        self.bound();
    }

    fn bound(&mut self) {
        while self.ready.len() > self.max_pending {
            self.ready.pop_front();
            self.counters.dropped_points += 1;
        }
    }

    /// Points waiting to be written.
    pub fn pending(&self) -> usize {
        self.ready.len()
    }

    /// Open intervals (GPU × field).
    pub fn open_intervals(&self) -> usize {
        self.open.values().map(|g| g.fields.len()).sum()
    }

    pub fn counters(&self) -> BufferCounters {
        self.counters.clone()
    }
}

fn check_query(q: &SeriesQuery) -> CoreResult<()> {
    if q.step_ms <= 0 {
        return Err(CoreError::Invalid("step must be positive".into()));
    }
    if q.to_ms <= q.from_ms {
        return Err(CoreError::Invalid("'to' must be after 'from'".into()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Embedded adapter: SQLite

/// The embedded [`TimeSeries`]: SQLite tables in a file of the data directory (or in memory).
pub struct SqliteHistory {
    pool: SqlitePool,
    settings: HistorySettings,
    ready: OnceCell<()>,
}

const SQLITE_SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS history_raw (gpu TEXT NOT NULL, field TEXT NOT NULL, at INTEGER NOT NULL, \
     node TEXT, mean REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL, count INTEGER NOT NULL, \
     PRIMARY KEY (gpu, field, at)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS history_rollup (gpu TEXT NOT NULL, field TEXT NOT NULL, at INTEGER NOT NULL, \
     node TEXT, mean REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL, count INTEGER NOT NULL, \
     PRIMARY KEY (gpu, field, at)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS history_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
];

/// Rows per INSERT statement (9 values each, well under SQLite's limit of bound values).
const SQLITE_ROWS_PER_INSERT: usize = 400;

impl SqliteHistory {
    /// The history in `path` (created when missing).
    pub fn open(path: &std::path::Path, settings: HistorySettings) -> SqliteHistory {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(opts);
        SqliteHistory {
            pool,
            settings,
            ready: OnceCell::new(),
        }
    }

    /// A history in memory (tests, and a core built without a data directory).
    pub fn in_memory(settings: HistorySettings) -> SqliteHistory {
        let opts = SqliteConnectOptions::new().in_memory(true);
        // One connection that is never closed: an in-memory database lives with it.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(opts);
        SqliteHistory {
            pool,
            settings,
            ready: OnceCell::new(),
        }
    }

    async fn init(&self) -> CoreResult<()> {
        self.ready
            .get_or_try_init(|| async {
                for s in SQLITE_SCHEMA {
                    sqlx::query(s).execute(&self.pool).await.map_err(db)?;
                }
                Ok::<(), CoreError>(())
            })
            .await
            .map(|_| ())
    }

    async fn meta(&self, key: &str) -> CoreResult<Option<i64>> {
        let row = sqlx::query("SELECT value FROM history_meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.map(|r| r.get::<i64, _>(0)))
    }
}

fn db(e: sqlx::Error) -> CoreError {
    CoreError::unavailable(
        "telemetry history unavailable",
        format!("history store: {e}"),
    )
}

#[async_trait::async_trait]
impl TimeSeries for SqliteHistory {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn write(&self, points: &[HistoryPoint]) -> CoreResult<()> {
        if points.is_empty() {
            return Ok(());
        }
        self.init().await?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        for chunk in points.chunks(SQLITE_ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO history_raw (gpu, field, at, node, mean, min, max, last, count) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str("(?,?,?,?,?,?,?,?,?)");
            }
            sql.push_str(
                " ON CONFLICT (gpu, field, at) DO UPDATE SET \
                 mean = (history_raw.mean * history_raw.count + excluded.mean * excluded.count) \
                        / (history_raw.count + excluded.count), \
                 min = min(history_raw.min, excluded.min), max = max(history_raw.max, excluded.max), \
                 last = excluded.last, count = history_raw.count + excluded.count, \
                 node = coalesce(excluded.node, history_raw.node)",
            );
            let mut q = sqlx::query(&sql);
            for p in chunk {
                q = q
                    .bind(&p.gpu)
                    .bind(p.field.name())
                    .bind(p.at_ms)
                    .bind(&p.node)
                    .bind(p.mean)
                    .bind(p.min)
                    .bind(p.max)
                    .bind(p.last)
                    .bind(i64::from(p.count));
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn query(&self, q: &SeriesQuery) -> CoreResult<Vec<Series>> {
        check_query(q)?;
        if q.gpus.is_empty() {
            return Ok(Vec::new());
        }
        self.init().await?;
        // Rollups stand in for the raw intervals retention has deleted.
        let raw_from = self.meta("raw_from").await?.unwrap_or(i64::MIN);
        let mut out: Vec<Series> = Vec::new();
        // SQLite's bare-column rule: with max(at) the only aggregate, `last` comes from the
        // row holding that maximum.
        let agg = match q.agg {
            Agg::Mean => "avg(mean)",
            Agg::Min => "min(min)",
            Agg::Max => "max(max)",
            Agg::Last => "last, max(at)",
        };
        for chunk in q.gpus.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT gpu, at - (at % ?) AS b, {agg} FROM ( \
                   SELECT gpu, at, mean, min, max, last FROM history_rollup \
                     WHERE field = ? AND at >= ? AND at < ? AND at < ? AND gpu IN ({marks}) \
                   UNION ALL \
                   SELECT gpu, at, mean, min, max, last FROM history_raw \
                     WHERE field = ? AND at >= ? AND at < ? AND at >= ? AND gpu IN ({marks}) \
                 ) GROUP BY gpu, b ORDER BY gpu, b"
            );
            let from = align(q.from_ms, q.step_ms);
            let mut query = sqlx::query(&sql)
                .bind(q.step_ms)
                .bind(q.field.name())
                .bind(from)
                .bind(q.to_ms)
                .bind(raw_from);
            for g in chunk {
                query = query.bind(g);
            }
            query = query
                .bind(q.field.name())
                .bind(from)
                .bind(q.to_ms)
                .bind(raw_from);
            for g in chunk {
                query = query.bind(g);
            }
            let rows = query.fetch_all(&self.pool).await.map_err(db)?;
            for r in rows {
                let gpu: String = r.get(0);
                let point = SeriesPoint {
                    t_ms: r.get(1),
                    v: r.get(2),
                };
                match out.last_mut() {
                    Some(s) if s.gpu == gpu => s.points.push(point),
                    _ => out.push(Series {
                        gpu,
                        points: vec![point],
                    }),
                }
            }
        }
        out.sort_by(|a, b| a.gpu.cmp(&b.gpu));
        Ok(out)
    }

    async fn maintain(&self, now_ms: i64) -> CoreResult<MaintainReport> {
        self.init().await?;
        let s = &self.settings;
        let step = (s.rollup_step.as_millis() as i64).max(1);
        // Windows whose raw intervals can no longer change: ended, plus two resolutions for
        // late senders and the buffer.
        let until = align(now_ms - 2 * s.resolution_ms(), step);
        let mut report = MaintainReport::default();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let rolled: Option<i64> =
            sqlx::query("SELECT value FROM history_meta WHERE key = 'rolled_until'")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .map(|r| r.get(0));
        let start = match rolled {
            Some(r) => Some(r),
            None => sqlx::query("SELECT min(at) FROM history_raw")
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?
                .get::<Option<i64>, _>(0)
                .map(|m| align(m, step)),
        };
        if let Some(start) = start.filter(|s| *s < until) {
            let r = sqlx::query(
                "INSERT OR REPLACE INTO history_rollup (gpu, field, at, node, mean, min, max, last, count) \
                 SELECT gpu, field, at - (at % ?1) AS b, max(node), avg(mean), min(min), max(max), \
                   (SELECT l.last FROM history_raw l WHERE l.gpu = r.gpu AND l.field = r.field \
                      AND l.at >= r.at - (r.at % ?1) AND l.at < r.at - (r.at % ?1) + ?1 \
                      ORDER BY l.at DESC LIMIT 1), \
                   sum(count) \
                 FROM history_raw r WHERE at >= ?2 AND at < ?3 GROUP BY gpu, field, b",
            )
            .bind(step)
            .bind(start)
            .bind(until)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            report.rolled_up = r.rows_affected();
        }
        let set_meta = "INSERT INTO history_meta (key, value) VALUES (?, ?) \
                        ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)";
        if start.is_some() {
            sqlx::query(set_meta)
                .bind("rolled_until")
                .bind(until)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        // Raw intervals go when they are past retention and their windows are rolled up;
        // queries read the rollups below that cut.
        let raw_cut = align(
            (now_ms - s.raw_retention.as_millis() as i64).min(until),
            step,
        );
        let r = sqlx::query("DELETE FROM history_raw WHERE at < ?")
            .bind(raw_cut)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        report.deleted += r.rows_affected();
        sqlx::query(set_meta)
            .bind("raw_from")
            .bind(raw_cut)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let r = sqlx::query("DELETE FROM history_rollup WHERE at < ?")
            .bind(now_ms - s.rollup_retention.as_millis() as i64)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        report.deleted += r.rows_affected();
        tx.commit().await.map_err(db)?;
        Ok(report)
    }
}

// ---------------------------------------------------------------------------------------------
// InfluxDB adapter

/// Measurement of the stored intervals.
pub const INFLUX_MEASUREMENT: &str = "gpu_history";
/// Retention policy gpufleet writes into (the database's default).
pub const INFLUX_RP: &str = "gpufleet_raw";
/// Lines (GPU intervals) per write request.
const INFLUX_LINES_PER_WRITE: usize = 2000;
/// GPUs per InfluxQL statement.
const INFLUX_GPUS_PER_QUERY: usize = 200;

/// The InfluxDB [`TimeSeries`] (1.x HTTP API). The intervals of one GPU that start at the same
/// time are one line: `gpu_history,gpu=<id>,node=<id> <field>_mean=…,<field>_min=…,<field>_max=…,<field>_last=…,<field>_count=…i,… <ms>`.
pub struct InfluxHistory {
    http: reqwest::Client,
    base: reqwest::Url,
    db: String,
    auth: Option<(String, String)>,
    settings: HistorySettings,
    ready: OnceCell<()>,
}

impl InfluxHistory {
    /// `url`: `http(s)://[user:password@]host:port`; `db`: the database (created when
    /// missing). Nothing is sent before the first use.
    pub fn new(
        url: &str,
        db: &str,
        settings: HistorySettings,
        timeout: Duration,
    ) -> CoreResult<InfluxHistory> {
        let mut base = reqwest::Url::parse(url).map_err(|e| {
            CoreError::Invalid(format!("InfluxDB URL '{}': {e}", fleet_db::mask_url(url)))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(CoreError::Invalid(format!(
                "InfluxDB URL '{}' must start with http:// or https://",
                fleet_db::mask_url(url)
            )));
        }
        if db.is_empty() || db.contains(['"', '\\', '\n']) {
            return Err(CoreError::Invalid(format!(
                "InfluxDB database name '{db}' is empty or holds a quote, backslash or newline"
            )));
        }
        let auth = (!base.username().is_empty()).then(|| {
            (
                base.username().to_string(),
                base.password().unwrap_or("").to_string(),
            )
        });
        let _ = base.set_username("");
        let _ = base.set_password(None);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| CoreError::Internal(format!("HTTP client: {e}")))?;
        Ok(InfluxHistory {
            http,
            base,
            db: db.to_string(),
            auth,
            settings,
            ready: OnceCell::new(),
        })
    }

    fn endpoint(&self, path: &str) -> reqwest::Url {
        let mut u = self.base.clone();
        u.set_path(path);
        u
    }

    fn with_auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Some((u, p)) => rb.basic_auth(u, Some(p)),
            None => rb,
        }
    }

    /// Runs InfluxQL statements; returns the JSON answer, or the first statement's error.
    async fn influxql(&self, q: &str, read: bool) -> CoreResult<serde_json::Value> {
        let mut url = self.endpoint("/query");
        url.query_pairs_mut()
            .append_pair("db", &self.db)
            .append_pair("epoch", "ms");
        // InfluxDB 1.x takes reads by GET and writes (CREATE, ALTER) by POST; the statement
        // travels in the URL either way.
        url.query_pairs_mut().append_pair("q", q);
        let rb = if read {
            self.http.get(url)
        } else {
            self.http.post(url)
        };
        let resp = self.with_auth(rb).send().await.map_err(unreachable)?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.map_err(unreachable)?;
        if let Some(e) = body.get("error").and_then(|e| e.as_str()) {
            return Err(influx_error(status, e));
        }
        let first_error = body["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|r| r.get("error").and_then(|e| e.as_str()));
        if let Some(e) = first_error {
            return Err(influx_error(status, e));
        }
        if !status.is_success() {
            return Err(influx_error(status, "no error text"));
        }
        Ok(body)
    }

    async fn init(&self) -> CoreResult<()> {
        self.ready
            .get_or_try_init(|| async {
                let db = &self.db;
                let secs = self.settings.raw_retention.as_secs().max(3600);
                self.influxql(&format!("CREATE DATABASE \"{db}\""), false)
                    .await?;
                let create = format!(
                    "CREATE RETENTION POLICY \"{INFLUX_RP}\" ON \"{db}\" DURATION {secs}s REPLICATION 1 DEFAULT"
                );
                if self.influxql(&create, false).await.is_err() {
                    // It exists with other settings: bring it to ours.
                    self.influxql(
                        &format!(
                            "ALTER RETENTION POLICY \"{INFLUX_RP}\" ON \"{db}\" DURATION {secs}s DEFAULT"
                        ),
                        false,
                    )
                    .await?;
                }
                Ok::<(), CoreError>(())
            })
            .await
            .map(|_| ())
    }
}

fn unreachable(e: reqwest::Error) -> CoreError {
    CoreError::unavailable("telemetry history unavailable", format!("InfluxDB: {e}"))
}

fn influx_error(status: reqwest::StatusCode, e: &str) -> CoreError {
    CoreError::unavailable(
        "telemetry history unavailable",
        format!("InfluxDB answered {status}: {e}"),
    )
}

/// Escapes a tag value of line protocol: commas, equals signs and spaces. InfluxDB 1.x keeps
/// a backslash before any other character as it is, so backslashes are written unchanged.
fn lp_tag(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, ',' | '=' | ' ') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// An InfluxQL string literal.
fn ql_str(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Writes a float so that line protocol reads it back exactly.
fn lp_float(v: f64) -> String {
    format!("{v:?}")
}

#[async_trait::async_trait]
impl TimeSeries for InfluxHistory {
    fn backend(&self) -> &'static str {
        "influxdb"
    }

    async fn write(&self, points: &[HistoryPoint]) -> CoreResult<()> {
        if points.is_empty() {
            return Ok(());
        }
        self.init().await?;
        let mut url = self.endpoint("/write");
        url.query_pairs_mut()
            .append_pair("db", &self.db)
            .append_pair("rp", INFLUX_RP)
            .append_pair("precision", "ms");
        // One line per GPU and interval with every field of it: InfluxDB's cost is mostly per
        // line (series key) and per value.
        let mut order: Vec<&HistoryPoint> = points.iter().collect();
        order.sort_by(|a, b| (&a.gpu, a.at_ms, &a.node).cmp(&(&b.gpu, b.at_ms, &b.node)));
        let mut lines: Vec<String> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let head = order[i];
            let mut line = String::with_capacity(600);
            line.push_str(INFLUX_MEASUREMENT);
            line.push_str(",gpu=");
            line.push_str(&lp_tag(&head.gpu));
            if let Some(n) = head.node.as_deref().filter(|n| !n.is_empty()) {
                line.push_str(",node=");
                line.push_str(&lp_tag(n));
            }
            let mut sep = ' ';
            while i < order.len()
                && order[i].gpu == head.gpu
                && order[i].at_ms == head.at_ms
                && order[i].node == head.node
            {
                let p = order[i];
                let f = p.field.name();
                let _ = write!(
                    line,
                    "{sep}{f}_mean={},{f}_min={},{f}_max={},{f}_last={},{f}_count={}i",
                    lp_float(p.mean),
                    lp_float(p.min),
                    lp_float(p.max),
                    lp_float(p.last),
                    p.count
                );
                sep = ',';
                i += 1;
            }
            let _ = write!(line, " {}", head.at_ms);
            lines.push(line);
        }
        for chunk in lines.chunks(INFLUX_LINES_PER_WRITE) {
            let body = chunk.join("\n");
            let resp = self
                .with_auth(self.http.post(url.clone()).body(body))
                .send()
                .await
                .map_err(unreachable)?;
            let status = resp.status();
            if !status.is_success() {
                let text = resp.text().await.unwrap_or_default();
                return Err(influx_error(status, text.trim()));
            }
        }
        Ok(())
    }

    async fn query(&self, q: &SeriesQuery) -> CoreResult<Vec<Series>> {
        check_query(q)?;
        if q.gpus.is_empty() {
            return Ok(Vec::new());
        }
        self.init().await?;
        let f = q.field.name();
        let sel = match q.agg {
            Agg::Mean => format!("mean(\"{f}_mean\")"),
            Agg::Min => format!("min(\"{f}_min\")"),
            Agg::Max => format!("max(\"{f}_max\")"),
            Agg::Last => format!("last(\"{f}_last\")"),
        };
        let from = align(q.from_ms, q.step_ms);
        let mut out = Vec::new();
        for chunk in q.gpus.chunks(INFLUX_GPUS_PER_QUERY) {
            let gpus = chunk
                .iter()
                .map(|g| format!("\"gpu\" = {}", ql_str(g)))
                .collect::<Vec<_>>()
                .join(" OR ");
            let stmt = format!(
                "SELECT {sel} FROM \"{INFLUX_RP}\".\"{INFLUX_MEASUREMENT}\" \
                 WHERE ({gpus}) AND time >= {from}ms AND time < {to}ms \
                 GROUP BY time({step}ms), \"gpu\" fill(none)",
                to = q.to_ms,
                step = q.step_ms
            );
            let body = self.influxql(&stmt, true).await?;
            for s in body["results"][0]["series"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let gpu = s["tags"]["gpu"].as_str().unwrap_or_default().to_string();
                let points = s["values"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|row| {
                        Some(SeriesPoint {
                            t_ms: row.get(0)?.as_i64()?,
                            v: row.get(1)?.as_f64()?,
                        })
                    })
                    .collect::<Vec<_>>();
                if !points.is_empty() {
                    out.push(Series { gpu, points });
                }
            }
        }
        out.sort_by(|a, b| a.gpu.cmp(&b.gpu));
        Ok(out)
    }

    async fn maintain(&self, _now_ms: i64) -> CoreResult<MaintainReport> {
        // The server's retention policy deletes old points.
        Ok(MaintainReport::default())
    }
}

/// The adapter for a configuration: InfluxDB when `influx_url` is set, else SQLite in `path`
/// (in memory when `path` is None).
pub fn open(
    influx_url: &str,
    influx_db: &str,
    path: Option<&std::path::Path>,
    settings: HistorySettings,
) -> CoreResult<Arc<dyn TimeSeries>> {
    if !influx_url.is_empty() {
        return Ok(Arc::new(InfluxHistory::new(
            influx_url,
            influx_db,
            settings,
            Duration::from_secs(10),
        )?));
    }
    Ok(match path {
        Some(p) => Arc::new(SqliteHistory::open(p, settings)),
        None => Arc::new(SqliteHistory::in_memory(settings)),
    })
}

// ---------------------------------------------------------------------------------------------
// The history service of one process, and its use case

/// What the history of this process has done.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryStatus {
    /// `sqlite` or `influxdb`.
    pub backend: String,
    pub resolution_ms: i64,
    /// Intervals written to the store.
    pub points_written: u64,
    /// Writes the store refused or did not answer (their points wait and are tried again).
    pub write_errors: u64,
    pub last_error: Option<String>,
    /// Intervals waiting for the store.
    pub pending_points: usize,
    /// Intervals still open (GPU × field).
    pub open_intervals: usize,
    #[serde(flatten)]
    pub buffer: BufferCounters,
    /// The last retention and downsampling pass.
    pub last_maintenance: Option<MaintainReport>,
}

#[derive(Default)]
struct HistoryCounters {
    points_written: u64,
    write_errors: u64,
    last_error: Option<String>,
    last_maintenance: Option<MaintainReport>,
}

/// The buffer, the store and their counters (part of the telemetry service of [`crate::Core`]).
pub struct History {
    store: Arc<dyn TimeSeries>,
    settings: HistorySettings,
    buffer: parking_lot::Mutex<HistoryBuffer>,
    counters: parking_lot::Mutex<HistoryCounters>,
    /// One flush at a time, so intervals reach the store in order.
    flushing: tokio::sync::Mutex<()>,
}

impl History {
    pub fn new(store: Arc<dyn TimeSeries>, settings: HistorySettings) -> History {
        History {
            buffer: parking_lot::Mutex::new(HistoryBuffer::new(&settings)),
            store,
            settings,
            counters: Default::default(),
            flushing: tokio::sync::Mutex::new(()),
        }
    }

    /// An embedded history in memory with default settings.
    pub fn in_memory() -> History {
        let settings = HistorySettings::default();
        History::new(
            Arc::new(SqliteHistory::in_memory(settings.clone())),
            settings,
        )
    }

    pub fn settings(&self) -> &HistorySettings {
        &self.settings
    }

    pub fn store(&self) -> &dyn TimeSeries {
        self.store.as_ref()
    }

    /// Adds the samples of one ingest (GPU, node, sample time, values) to the open intervals.
    pub fn record<'a>(
        &self,
        samples: impl IntoIterator<Item = (&'a str, Option<&'a str>, Nanos, &'a [(GpuField, f64)])>,
    ) {
        let mut b = self.buffer.lock();
        for (gpu, node, at, values) in samples {
            b.add(gpu, node, at, values);
        }
    }

    /// Writes the intervals that have closed by `now_ms`; on failure they wait for the next
    /// flush. Returns how many were written.
    pub async fn flush(&self, now_ms: i64) -> CoreResult<usize> {
        let _one = self.flushing.lock().await;
        let points = self.buffer.lock().take_ready(now_ms);
        if points.is_empty() {
            return Ok(0);
        }
        match self.store.write(&points).await {
            Ok(()) => {
                self.counters.lock().points_written += points.len() as u64;
                Ok(points.len())
            }
            Err(e) => {
                {
                    let mut c = self.counters.lock();
                    c.write_errors += 1;
                    c.last_error = Some(e.to_string());
                }
                self.buffer.lock().put_back(points);
                Err(e)
            }
        }
    }

    /// Retention and downsampling.
    pub async fn maintain(&self, now_ms: i64) -> CoreResult<MaintainReport> {
        let r = self.store.maintain(now_ms).await?;
        self.counters.lock().last_maintenance = Some(r.clone());
        Ok(r)
    }

    pub fn status(&self) -> HistoryStatus {
        let (pending_points, open_intervals, buffer) = {
            let b = self.buffer.lock();
            (b.pending(), b.open_intervals(), b.counters())
        };
        let c = self.counters.lock();
        HistoryStatus {
            backend: self.store.backend().to_string(),
            resolution_ms: self.settings.resolution_ms(),
            points_written: c.points_written,
            write_errors: c.write_errors,
            last_error: c.last_error.clone(),
            pending_points,
            open_intervals,
            buffer,
            last_maintenance: c.last_maintenance.clone(),
        }
    }

    /// Flushes every `resolution / 2` (between 200 ms and 5 s) and maintains every
    /// `maintain_every`, until `shutdown`; on the way out every interval is written, the open
    /// ones as far as they got.
    pub(crate) fn start(self: &Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        let h = self.clone();
        let every = (self.settings.resolution / 2)
            .clamp(Duration::from_millis(200), Duration::from_secs(5));
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(every);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut maintained = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        if let Err(e) = h.flush(i64::MAX).await {
                            tracing::warn!(error = %e, "telemetry history: last intervals not written");
                        }
                        break;
                    }
                    _ = iv.tick() => {
                        if let Err(e) = h.flush(fleet_db::now_ms()).await {
                            tracing::warn!(error = %e, "telemetry history: intervals not written (kept for the next try)");
                        }
                        if maintained.elapsed() >= h.settings.maintain_every {
                            maintained = tokio::time::Instant::now();
                            if let Err(e) = h.maintain(fleet_db::now_ms()).await {
                                tracing::warn!(error = %e, "telemetry history: retention and downsampling");
                            }
                        }
                    }
                }
            }
        });
    }
}

/// Most points one series may have.
pub const MAX_POINTS: i64 = 11_000;
/// Most GPUs one query may cover.
pub const MAX_GPUS: usize = 4096;

/// A series request as an interface receives it.
#[derive(Debug, Clone, Default)]
pub struct SeriesRequest {
    /// A GPU (id, name or serial), a node or a rack (id or name).
    pub asset: String,
    /// A GPU field by its gpufleet name (`gpu_temp`) or its dcgm-exporter name.
    pub field: String,
    /// Default: `to` minus one hour.
    pub from_ms: Option<i64>,
    /// Default: now.
    pub to_ms: Option<i64>,
    /// Default: the range divided into about 300 steps, at least the write resolution.
    pub step_ms: Option<i64>,
    /// Default: mean.
    pub agg: Option<Agg>,
}

/// One GPU's series in a [`SeriesView`].
#[derive(Debug, Clone, Serialize)]
pub struct GpuSeries {
    pub gpu: String,
    pub name: String,
    /// The node the CMDB puts it in now.
    pub node: Option<String>,
    pub points: Vec<SeriesPoint>,
}

/// The answer to a [`SeriesRequest`]: every GPU of the asset, those without data with no
/// points.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesView {
    pub asset: String,
    pub asset_name: String,
    pub asset_kind: fleet_model::asset::AssetKind,
    /// The field's gpufleet name.
    pub field: &'static str,
    pub agg: Agg,
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: i64,
    pub backend: &'static str,
    pub resolution_ms: i64,
    pub series: Vec<GpuSeries>,
}

impl crate::Core {
    /// A field's history for a GPU, or every GPU of a node or rack, over a time range in steps.
    pub async fn telemetry_series(
        &self,
        p: &crate::principal::Principal,
        req: SeriesRequest,
    ) -> CoreResult<SeriesView> {
        use fleet_db::AssetFilter;
        use fleet_model::asset::AssetKind;
        p.require(
            fleet_model::rbac::Permission::InventoryRead,
            "read telemetry history",
        )?;
        let field = GpuField::from_name(&req.field).ok_or_else(|| {
            CoreError::Invalid(format!(
                "unknown field '{}'; fields: {} (or their dcgm-exporter names)",
                req.field,
                GpuField::ALL
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let h = &self.telemetry.history;
        let res = h.settings.resolution_ms();
        let to_ms = req.to_ms.unwrap_or_else(fleet_db::now_ms);
        let from_ms = req.from_ms.unwrap_or(to_ms - 3_600_000);
        if to_ms <= from_ms {
            return Err(CoreError::Invalid(format!(
                "'from' ({}) must be before 'to' ({})",
                fleet_model::timefmt::rfc3339(from_ms),
                fleet_model::timefmt::rfc3339(to_ms)
            )));
        }
        let step_ms = match req.step_ms {
            Some(s) if s <= 0 => return Err(CoreError::Invalid("'step' must be positive".into())),
            Some(s) => s,
            None => (((to_ms - from_ms) / 300).max(res) + 999) / 1000 * 1000,
        };
        let points = (to_ms - from_ms + step_ms - 1) / step_ms;
        if points > MAX_POINTS {
            return Err(CoreError::Invalid(format!(
                "{points} steps of {step_ms} ms in the range; at most {MAX_POINTS}: use a larger 'step' or a shorter range"
            )));
        }
        // The asset: a GPU, else a node, else a rack.
        let (asset, gpus) = match self.find_gpu(&req.asset).await {
            Ok(g) => (g.clone(), vec![g]),
            Err(CoreError::NotFound(_)) => {
                let mut found = None;
                for kind in [AssetKind::Node, AssetKind::Rack] {
                    match self.store.resolve(kind, &req.asset).await {
                        Ok(a) => {
                            found = Some(a);
                            break;
                        }
                        Err(fleet_db::DbError::NotFound(_) | fleet_db::DbError::Invalid(_)) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                let a = found.ok_or_else(|| {
                    CoreError::NotFound(format!(
                        "no GPU, node or rack with id, name or serial '{}'",
                        req.asset
                    ))
                })?;
                let mut filter = AssetFilter {
                    kind: Some(AssetKind::Gpu),
                    ..Default::default()
                };
                if a.kind == AssetKind::Node {
                    filter.parent_id = Some(a.id.clone());
                } else {
                    filter.rack_id = Some(a.id.clone());
                }
                let gpus = self.assets_where(filter, MAX_GPUS + 1).await?;
                if gpus.len() > MAX_GPUS {
                    return Err(CoreError::Invalid(format!(
                        "{} '{}' holds more than {MAX_GPUS} GPUs; ask for its nodes one by one",
                        a.kind.as_str(),
                        a.name
                    )));
                }
                (a, gpus)
            }
            Err(e) => return Err(e),
        };
        let agg = req.agg.unwrap_or(Agg::Mean);
        let mut found: HashMap<String, Vec<SeriesPoint>> = h
            .store
            .query(&SeriesQuery {
                gpus: gpus.iter().map(|g| g.id.clone()).collect(),
                field,
                from_ms,
                to_ms,
                step_ms,
                agg,
            })
            .await?
            .into_iter()
            .map(|s| (s.gpu, s.points))
            .collect();
        let mut series: Vec<GpuSeries> = gpus
            .into_iter()
            .map(|g| GpuSeries {
                points: found.remove(&g.id).unwrap_or_default(),
                gpu: g.id,
                name: g.name,
                node: g.parent_id,
            })
            .collect();
        series.sort_by(|a, b| a.name.cmp(&b.name).then(a.gpu.cmp(&b.gpu)));
        Ok(SeriesView {
            asset: asset.id,
            asset_name: asset.name,
            asset_kind: asset.kind,
            field: field.name(),
            agg,
            from_ms,
            to_ms,
            step_ms,
            backend: h.store.backend(),
            resolution_ms: res,
            series,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(res_s: u64) -> HistorySettings {
        HistorySettings {
            resolution: Duration::from_secs(res_s),
            ..Default::default()
        }
    }

    const MS: Nanos = 1_000_000;

    #[test]
    fn the_buffer_keeps_mean_min_max_last_and_count_per_interval() {
        let mut b = HistoryBuffer::new(&settings(10));
        let t0 = 1_700_000_000_000i64; // a multiple of 10 s
        b.add("g1", Some("n1"), t0 * MS, &[(GpuField::GpuTemp, 40.0)]);
        b.add(
            "g1",
            Some("n1"),
            (t0 + 4000) * MS,
            &[(GpuField::GpuTemp, 70.0)],
        );
        // Out of order inside the interval: counts, but is not the last value.
        b.add(
            "g1",
            Some("n1"),
            (t0 + 2000) * MS,
            &[(GpuField::GpuTemp, 10.0)],
        );
        assert!(
            b.take_ready(t0 + 19_999).is_empty(),
            "closes one resolution after its end"
        );
        let pts = b.take_ready(t0 + 20_000);
        assert_eq!(pts.len(), 1);
        let p = &pts[0];
        assert_eq!(
            (p.at_ms, p.count, p.min, p.max, p.last),
            (t0, 3, 10.0, 70.0, 70.0)
        );
        assert_eq!(p.mean, 40.0);
        assert_eq!(p.node.as_deref(), Some("n1"));
        assert_eq!(b.open_intervals(), 0);
    }

    #[test]
    fn a_new_interval_closes_the_previous_and_late_samples_are_counted() {
        let mut b = HistoryBuffer::new(&settings(10));
        let t0 = 1_700_000_000_000i64;
        b.add(
            "g1",
            None,
            t0 * MS,
            &[(GpuField::PowerUsage, 300.0), (GpuField::GpuTemp, f64::NAN)],
        );
        b.add(
            "g1",
            None,
            (t0 + 10_000) * MS,
            &[(GpuField::PowerUsage, 310.0)],
        );
        assert_eq!(b.pending(), 1, "the first interval is ready");
        b.add(
            "g1",
            None,
            (t0 + 1000) * MS,
            &[(GpuField::PowerUsage, 305.0)],
        );
        let c = b.counters();
        assert_eq!((c.late_samples, c.non_finite), (1, 1));
        let pts = b.take_ready(t0 + 10_000);
        assert_eq!(pts.len(), 2);
        assert_eq!((pts[0].at_ms, pts[0].last), (t0, 300.0));
        assert_eq!((pts[1].at_ms, pts[1].last, pts[1].count), (t0, 305.0, 1));
    }

    #[test]
    fn pending_points_are_bounded_and_put_back_first() {
        let mut s = settings(1);
        s.max_pending = 3;
        let mut b = HistoryBuffer::new(&s);
        for i in 0..6i64 {
            b.add(
                "g1",
                None,
                (i * 1000) * MS,
                &[(GpuField::GpuUtil, i as f64)],
            );
        }
        // Five intervals closed by newer ones; three are kept.
        assert_eq!(b.pending(), 3);
        assert_eq!(b.counters().dropped_points, 2);
        let pts = b.take_ready(0);
        assert_eq!(
            pts.iter().map(|p| p.last).collect::<Vec<_>>(),
            vec![2.0, 3.0, 4.0]
        );
        b.put_back(pts);
        b.add("g1", None, 6000 * MS, &[(GpuField::GpuUtil, 6.0)]);
        let pts = b.take_ready(0);
        assert_eq!(
            pts.iter().map(|p| p.last).collect::<Vec<_>>(),
            vec![3.0, 4.0, 5.0]
        );
        assert_eq!(b.counters().dropped_points, 3);
    }

    #[test]
    fn aggregates_parse_and_escaping_holds() {
        assert_eq!("max".parse::<Agg>().unwrap(), Agg::Max);
        assert!("median"
            .parse::<Agg>()
            .unwrap_err()
            .to_string()
            .contains("mean, min, max or last"));
        assert_eq!(lp_tag("a b,c=d\\e"), "a\\ b\\,c\\=d\\e");
        assert_eq!(ql_str("it's"), "'it\\'s'");
        assert_eq!(lp_float(1.0), "1.0");
        assert_eq!(lp_float(0.1).parse::<f64>().unwrap(), 0.1);
        assert_eq!(align(-1, 10), -10);
        assert_eq!(align(25, 10), 20);
    }
}
