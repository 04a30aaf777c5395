//! The Redis adapter of the [`HotStatus`] port: the latest value of every field per GPU, its
//! health with reasons and last-seen time, and node roll-ups, kept in Redis so that they
//! survive a gpufleet restart and every gpufleet process sharing the Redis reads the same.
//!
//! Layout (every key under a configurable prefix, `gpufleet` by default):
//! - `<prefix>:gpu:<gpu id>` — a hash: `f:<field>` the latest value and `t:<field>` its sample
//!   time (µs), `node`, `last_seen_ms`, `state`, `reasons` (JSON), `since_ms` and `health_at`
//!   (µs);
//! - `<prefix>:node:<node id>` — a hash: `health` (JSON), `since_ms`, `health_at` (µs), and
//!   the BMC readings of the last status sync: `sensors` (JSON), `sensors_ms`;
//! - `<prefix>:switch:<switch id>` — a hash: one field per port name, its status (JSON);
//! - `<prefix>:gpu-states` — a hash: the number of GPUs in each health state.
//!
//! Every write is a Lua script, so "the newer value wins" and the per-state counts hold when
//! several processes write at once; writes of one call go out as one pipeline. Times are
//! compared in microseconds, which Lua's numbers hold exactly. A script Redis does not know (it
//! restarted) is loaded again and the pipeline sent once more.

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_telemetry::health::{BmcReading, Health, HealthChange, HealthState, Subject};
use fleet_telemetry::network::PortStatus;
use fleet_telemetry::Nanos;
use redis::aio::ConnectionManager;

use crate::error::{CoreError, CoreResult};
use crate::telemetry::{GpuStatus, HotStatus, NodeStatus, SampleUpdate};

const SAMPLES_LUA: &str = r#"
local key, counts = KEYS[1], KEYS[2]
local at = tonumber(ARGV[1])
if redis.call('HSETNX', key, 'state', 'unknown') == 1 then
  redis.call('HINCRBY', counts, 'unknown', 1)
end
if ARGV[2] ~= '' then redis.call('HSET', key, 'node', ARGV[2]) end
local seen = redis.call('HGET', key, 'last_seen_ms')
if (not seen) or tonumber(ARGV[3]) > tonumber(seen) then
  redis.call('HSET', key, 'last_seen_ms', ARGV[3])
end
for i = 4, #ARGV, 2 do
  local prev = redis.call('HGET', key, 't:' .. ARGV[i])
  if (not prev) or at >= tonumber(prev) then
    redis.call('HSET', key, 't:' .. ARGV[i], ARGV[1], 'f:' .. ARGV[i], ARGV[i + 1])
  end
end
return 1
"#;

const GPU_HEALTH_LUA: &str = r#"
local key, counts = KEYS[1], KEYS[2]
local prev = redis.call('HGET', key, 'health_at')
if prev and tonumber(ARGV[1]) < tonumber(prev) then return 0 end
local old = redis.call('HGET', key, 'state')
if old ~= ARGV[2] then
  if old then redis.call('HINCRBY', counts, old, -1) end
  redis.call('HINCRBY', counts, ARGV[2], 1)
end
redis.call('HSET', key, 'state', ARGV[2], 'reasons', ARGV[3], 'since_ms', ARGV[4], 'health_at', ARGV[1])
return 1
"#;

const NODE_HEALTH_LUA: &str = r#"
local key = KEYS[1]
local prev = redis.call('HGET', key, 'health_at')
if prev and tonumber(ARGV[1]) < tonumber(prev) then return 0 end
redis.call('HSET', key, 'health', ARGV[2], 'since_ms', ARGV[3], 'health_at', ARGV[1])
return 1
"#;

const NODE_SENSORS_LUA: &str = r#"
local key = KEYS[1]
local prev = redis.call('HGET', key, 'sensors_ms')
if prev and tonumber(ARGV[1]) < tonumber(prev) then return 0 end
redis.call('HSET', key, 'sensors', ARGV[2], 'sensors_ms', ARGV[1])
return 1
"#;

/// Commands per pipeline: large batches go out in pieces of this many scripts.
const PIPELINE_CHUNK: usize = 512;

/// The Redis [`HotStatus`].
pub struct RedisHotStatus {
    conn: ConnectionManager,
    prefix: String,
    samples: redis::Script,
    gpu_health: redis::Script,
    node_health: redis::Script,
    node_sensors: redis::Script,
}

fn unavailable(what: &str, e: redis::RedisError) -> CoreError {
    CoreError::Unavailable {
        title: "Hot status unavailable",
        message: format!("redis: {what}: {e}"),
    }
}

fn micros(at: Nanos) -> i64 {
    at / 1_000
}

fn millis(at: Nanos) -> i64 {
    at / 1_000_000
}

impl RedisHotStatus {
    /// Connects to `url` (`redis://host:port/db`), waiting at most `timeout` for the
    /// connection and for each answer later, and loads the scripts. Keys are written under
    /// `prefix` (several gpufleet installations may share one Redis with different prefixes).
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> CoreResult<RedisHotStatus> {
        if prefix.is_empty() || prefix.contains(char::is_whitespace) {
            return Err(CoreError::Invalid(format!(
                "redis key prefix '{prefix}': give a non-empty name without spaces"
            )));
        }
        let client = redis::Client::open(url).map_err(|e| {
            CoreError::Invalid(format!("redis URL '{}': {e}", fleet_db::mask_url(url)))
        })?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2);
        let conn = tokio::time::timeout(
            timeout + Duration::from_secs(1),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| CoreError::Unavailable {
            title: "Hot status unavailable",
            message: format!(
                "redis at {}: no connection within {} s",
                fleet_db::mask_url(url),
                timeout.as_secs_f64()
            ),
        })?
        .map_err(|e| unavailable(&format!("connect to {}", fleet_db::mask_url(url)), e))?;
        let hot = RedisHotStatus {
            conn,
            prefix: prefix.to_string(),
            samples: redis::Script::new(SAMPLES_LUA),
            gpu_health: redis::Script::new(GPU_HEALTH_LUA),
            node_health: redis::Script::new(NODE_HEALTH_LUA),
            node_sensors: redis::Script::new(NODE_SENSORS_LUA),
        };
        hot.load_scripts().await?;
        Ok(hot)
    }

    async fn load_scripts(&self) -> CoreResult<()> {
        let mut c = self.conn.clone();
        for (name, s) in [
            ("samples", SAMPLES_LUA),
            ("gpu health", GPU_HEALTH_LUA),
            ("node health", NODE_HEALTH_LUA),
            ("node sensors", NODE_SENSORS_LUA),
        ] {
            let _: String = redis::cmd("SCRIPT")
                .arg("LOAD")
                .arg(s)
                .query_async(&mut c)
                .await
                .map_err(|e| unavailable(&format!("load the {name} script"), e))?;
        }
        Ok(())
    }

    fn gpu_key(&self, gpu: &str) -> String {
        format!("{}:gpu:{gpu}", self.prefix)
    }

    fn node_key(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    fn switch_key(&self, switch: &str) -> String {
        format!("{}:switch:{switch}", self.prefix)
    }

    fn counts_key(&self) -> String {
        format!("{}:gpu-states", self.prefix)
    }

    /// Runs the script calls as pipelines of [`PIPELINE_CHUNK`], loading the scripts again
    /// once when Redis does not know them.
    async fn run(&self, what: &str, calls: Vec<redis::Cmd>) -> CoreResult<()> {
        for chunk in calls.chunks(PIPELINE_CHUNK) {
            let mut pipe = redis::pipe();
            for c in chunk {
                pipe.add_command(c.clone()).ignore();
            }
            let mut conn = self.conn.clone();
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => {}
                Err(e)
                    if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                {
                    self.load_scripts().await?;
                    pipe.query_async::<()>(&mut conn)
                        .await
                        .map_err(|e| unavailable(what, e))?;
                }
                Err(e) => return Err(unavailable(what, e)),
            }
        }
        Ok(())
    }

    fn evalsha(script: &redis::Script, keys: &[String]) -> redis::Cmd {
        let mut c = redis::cmd("EVALSHA");
        c.arg(script.get_hash()).arg(keys.len());
        for k in keys {
            c.arg(k);
        }
        c
    }
}

#[async_trait::async_trait]
impl HotStatus for RedisHotStatus {
    async fn record_samples(&self, updates: &[SampleUpdate]) -> CoreResult<()> {
        let counts = self.counts_key();
        let calls = updates
            .iter()
            .map(|u| {
                let mut c = Self::evalsha(&self.samples, &[self.gpu_key(&u.gpu), counts.clone()]);
                c.arg(micros(u.at))
                    .arg(u.node.as_deref().unwrap_or(""))
                    .arg(millis(u.at));
                for &(f, v) in &u.values {
                    c.arg(f.name()).arg(v);
                }
                c
            })
            .collect();
        self.run("record samples", calls).await
    }

    async fn record_health(&self, changes: &[HealthChange]) -> CoreResult<()> {
        let counts = self.counts_key();
        let mut calls = Vec::with_capacity(changes.len());
        for ch in changes {
            let c = match &ch.subject {
                Subject::Gpu(id) => {
                    let reasons = serde_json::to_string(&ch.new.reasons)
                        .map_err(|e| CoreError::Internal(format!("health reasons: {e}")))?;
                    let mut c =
                        Self::evalsha(&self.gpu_health, &[self.gpu_key(id), counts.clone()]);
                    c.arg(micros(ch.at))
                        .arg(ch.new.state.as_str())
                        .arg(reasons)
                        .arg(millis(ch.at));
                    c
                }
                Subject::Node(id) => {
                    let health = serde_json::to_string(&ch.new)
                        .map_err(|e| CoreError::Internal(format!("node health: {e}")))?;
                    let mut c = Self::evalsha(&self.node_health, &[self.node_key(id)]);
                    c.arg(micros(ch.at)).arg(health).arg(millis(ch.at));
                    c
                }
            };
            calls.push(c);
        }
        self.run("record health", calls).await
    }

    async fn gpu(&self, gpu: &str) -> CoreResult<Option<GpuStatus>> {
        let mut conn = self.conn.clone();
        let h: BTreeMap<String, String> = redis::cmd("HGETALL")
            .arg(self.gpu_key(gpu))
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable("read a GPU", e))?;
        if h.is_empty() {
            return Ok(None);
        }
        let mut st = GpuStatus {
            gpu: gpu.to_string(),
            ..Default::default()
        };
        for (k, v) in &h {
            if let Some(name) = k.strip_prefix("f:") {
                if let Ok(x) = v.parse::<f64>() {
                    st.fields.insert(name.to_string(), x);
                }
            }
        }
        st.node = h.get("node").cloned();
        st.state = h
            .get("state")
            .and_then(|s| HealthState::parse(s))
            .unwrap_or_default();
        st.reasons = match h.get("reasons") {
            Some(r) => serde_json::from_str(r).map_err(|e| {
                CoreError::Internal(format!("hot status of GPU {gpu}: reasons unreadable: {e}"))
            })?,
            None => Vec::new(),
        };
        st.last_seen_ms = h.get("last_seen_ms").and_then(|v| v.parse().ok());
        st.since_ms = h.get("since_ms").and_then(|v| v.parse().ok());
        Ok(Some(st))
    }

    async fn node(&self, node: &str) -> CoreResult<Option<NodeStatus>> {
        let mut conn = self.conn.clone();
        type Row = (Option<String>, Option<i64>, Option<String>, Option<i64>);
        let (health, since, sensors, sensors_ms): Row = redis::cmd("HMGET")
            .arg(self.node_key(node))
            .arg("health")
            .arg("since_ms")
            .arg("sensors")
            .arg("sensors_ms")
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable("read a node", e))?;
        if health.is_none() && sensors.is_none() {
            return Ok(None);
        }
        let unreadable = |what: &str, e: serde_json::Error| {
            CoreError::Internal(format!("hot status of node {node}: {what} unreadable: {e}"))
        };
        let health: Health = match health {
            Some(h) => serde_json::from_str(&h).map_err(|e| unreadable("health", e))?,
            None => Health::default(),
        };
        let sensors: Vec<BmcReading> = match sensors {
            Some(s) => serde_json::from_str(&s).map_err(|e| unreadable("sensors", e))?,
            None => Vec::new(),
        };
        Ok(Some(NodeStatus {
            node: node.to_string(),
            health,
            since_ms: since,
            sensors,
            sensors_at_ms: sensors_ms,
        }))
    }

    async fn record_node_sensors(
        &self,
        node: &str,
        at_ms: i64,
        readings: &[BmcReading],
    ) -> CoreResult<()> {
        let json = serde_json::to_string(readings)
            .map_err(|e| CoreError::Internal(format!("BMC readings: {e}")))?;
        let mut c = Self::evalsha(&self.node_sensors, &[self.node_key(node)]);
        c.arg(at_ms).arg(json);
        self.run("record BMC readings", vec![c]).await
    }

    async fn record_ports(&self, switch: &str, ports: &[(String, PortStatus)]) -> CoreResult<()> {
        if ports.is_empty() {
            return Ok(());
        }
        let mut c = redis::cmd("HSET");
        c.arg(self.switch_key(switch));
        for (name, st) in ports {
            let json = serde_json::to_string(st)
                .map_err(|e| CoreError::Internal(format!("port status: {e}")))?;
            c.arg(name).arg(json);
        }
        self.run("record port status", vec![c]).await
    }

    async fn ports(&self, switch: &str) -> CoreResult<BTreeMap<String, PortStatus>> {
        let mut conn = self.conn.clone();
        let h: BTreeMap<String, String> = redis::cmd("HGETALL")
            .arg(self.switch_key(switch))
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable("read a switch", e))?;
        h.into_iter()
            .map(|(k, v)| {
                let st = serde_json::from_str(&v).map_err(|e| {
                    CoreError::Internal(format!(
                        "hot status of switch {switch} port {k}: unreadable: {e}"
                    ))
                })?;
                Ok((k, st))
            })
            .collect()
    }

    async fn gpu_counts(&self) -> CoreResult<BTreeMap<String, u64>> {
        let mut conn = self.conn.clone();
        let h: BTreeMap<String, i64> = redis::cmd("HGETALL")
            .arg(self.counts_key())
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable("read the state counts", e))?;
        Ok(h.into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k, n as u64))
            .collect())
    }
}
