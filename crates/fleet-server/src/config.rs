//! The typed configuration: defaults, then a TOML file (`--config`), then
//! `GPUFLEET_*` environment variables (nested keys with `__`, e.g.
//! `GPUFLEET_LIFECYCLE__DEADLINES__INSPECTING=600`), then command-line flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Top-level keys of [`Config`], the only `GPUFLEET_*` variables read as configuration.
const CONFIG_KEYS: &[&str] = &[
    "listen",
    "grpc_listen",
    "data_dir",
    "database_url",
    "database_max_connections",
    "secret_key",
    "session_ttl_secs",
    "api_token_ttl_secs",
    "api_token_max_ttl_secs",
    "login_max_failures",
    "login_window_secs",
    "request_timeout_secs",
    "log_format",
    "lifecycle",
    "bus",
    "tinkerbell",
    "enricher",
    "operations",
    "tls",
    "insecure_listen",
    "graphiql_dir",
    "redis_url",
    "redis_prefix",
    "telemetry",
    "history",
    "correlation",
    "remediation",
    "recovery",
];

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: String,
    /// Address the gRPC API listens on (plaintext HTTP/2, with health and reflection); empty:
    /// no gRPC listener. Beyond loopback it needs `insecure_listen`, as plain HTTP does.
    pub grpc_listen: String,
    /// Serve plain HTTP on an address other than loopback (tokens and passwords then cross
    /// the network in clear). Without it, such a `listen` needs `tls`.
    pub insecure_listen: bool,
    /// TLS for the API listener.
    pub tls: TlsConfig,
    /// Directory for the embedded SQLite database and the generated secret key.
    pub data_dir: PathBuf,
    /// `postgres://user:pass@host/db` selects PostgreSQL; empty means SQLite in `data_dir`.
    pub database_url: String,
    /// Maximum database connections.
    pub database_max_connections: u32,
    /// Base64 of 32 bytes: the key that encrypts secrets at rest. Empty: a key is
    /// generated once into `data_dir/secret.key` (mode 0600).
    pub secret_key: String,
    /// Lifetime of a login session, seconds.
    pub session_ttl_secs: u64,
    /// Default lifetime of an API token, seconds.
    pub api_token_ttl_secs: u64,
    /// Longest lifetime an API token may be given, seconds.
    pub api_token_max_ttl_secs: u64,
    /// Failed logins allowed per username and per source address in `login_window_secs`.
    pub login_max_failures: u32,
    pub login_window_secs: u64,
    /// Deadline of each request, seconds.
    pub request_timeout_secs: u64,
    /// `text` or `json` logs.
    pub log_format: String,
    pub lifecycle: LifecycleConfig,
    pub bus: BusConfig,
    pub tinkerbell: TinkerbellConfig,
    pub enricher: EnricherConfig,
    pub operations: OperationsConfig,
    /// Folder with the GraphQL console's browser files (`scripts/graphiql.sh` installs them
    /// and prints it); empty: `/api/v1/graphiql` answers 404 saying so.
    pub graphiql_dir: PathBuf,
    /// `redis://[:password@]host:port[/db]`: GPU hot status (latest values, health,
    /// last-seen) in Redis, shared by every gpufleet process using it and kept across
    /// restarts. Empty: in this process's memory.
    pub redis_url: String,
    /// Prefix of every Redis key gpufleet writes (several installations may share a Redis).
    pub redis_prefix: String,
    pub telemetry: TelemetryConfig,
    pub history: HistoryConfig,
    pub correlation: CorrelationConfig,
    pub remediation: RemediationConfig,
    /// The recovery ladder of nodes stuck past their state's deadline.
    pub recovery: RecoveryConfig,
}

/// GPU telemetry history: where it is kept, at which resolution and for how long.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// `http(s)://[user:password@]host:port` of an InfluxDB 1.x server (or one that serves its
    /// `/write` and `/query`, as InfluxDB 3 Core does); empty: SQLite in
    /// `data_dir/history.db`.
    pub influx_url: String,
    /// The InfluxDB database (created when missing).
    pub influx_db: String,
    /// Length of one stored interval (mean, min, max, last and count per GPU and field).
    pub resolution_secs: u64,
    /// How long intervals are kept (InfluxDB: the duration of the retention policy
    /// `gpufleet_raw`, at least 1 hour).
    pub raw_retention_hours: u64,
    /// Window of the rollups (embedded store).
    pub rollup_minutes: u64,
    /// How long rollups are kept (embedded store).
    pub rollup_retention_days: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            influx_url: String::new(),
            influx_db: "gpufleet".into(),
            resolution_secs: 15,
            raw_retention_hours: 48,
            rollup_minutes: 5,
            rollup_retention_days: 90,
        }
    }
}

impl HistoryConfig {
    pub fn settings(&self) -> fleet_core::history::HistorySettings {
        use std::time::Duration;
        fleet_core::history::HistorySettings {
            resolution: Duration::from_secs(self.resolution_secs),
            raw_retention: Duration::from_secs(self.raw_retention_hours * 3600),
            rollup_step: Duration::from_secs(self.rollup_minutes * 60),
            rollup_retention: Duration::from_secs(self.rollup_retention_days * 86_400),
            ..Default::default()
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.resolution_secs == 0 || self.raw_retention_hours == 0 || self.rollup_minutes == 0 {
            anyhow::bail!(
                "history.resolution_secs, raw_retention_hours and rollup_minutes must be at least 1"
            );
        }
        if self.rollup_minutes * 60 < self.resolution_secs {
            anyhow::bail!("history.rollup_minutes must span at least one resolution_secs");
        }
        if !self.influx_url.is_empty() {
            fleet_core::history::InfluxHistory::new(
                &self.influx_url,
                &self.influx_db,
                self.settings(),
                std::time::Duration::from_secs(1),
            )
            .map_err(|e| anyhow::anyhow!("history: {e}"))?;
        }
        Ok(())
    }
}

/// Remediation of incidents within guard rails.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemediationConfig {
    /// Execute the automatic actions (`guard_rails.automatic`, a drain by default) of new
    /// incidents without a person; off: plans are only computed and run by people.
    pub automatic: bool,
    /// Budget, approval threshold and automatic actions.
    pub guard_rails: fleet_correlate::remediate::GuardRails,
}

/// The recovery ladder (retry the step, BMC reset, power cycle, give up) of nodes stuck past
/// their deadline in `discovered`, `inspecting` or `provisioning`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoveryConfig {
    /// Climb ladders at all.
    pub enabled: bool,
    /// Seconds between two rounds over the stuck nodes.
    pub interval_secs: u64,
    /// Rungs fleet-wide per hour, at most; the rest wait for a later round.
    pub max_actions_per_hour: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            enabled: true,
            interval_secs: 60,
            max_actions_per_hour: 20,
        }
    }
}

/// Incidents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// Seconds an incident may stay open (not acknowledged) before it escalates
    /// (`AlertEscalated`), and again after each further period; 0: never.
    pub escalate_after_secs: u64,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            escalate_after_secs: 900,
        }
    }
}

/// Telemetry collection by gpufleet itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Seconds between two scrapes of each node whose configuration names a `metrics_url`
    /// (a dcgm-exporter `/metrics` page); 0: no scraping.
    pub scrape_interval_secs: u64,
    /// Longest wait for one page, seconds.
    pub scrape_timeout_secs: u64,
    /// Scrapes in flight at once.
    pub scrape_concurrency: usize,
    /// Lines (points) per second one token may write through the telemetry write routes; 0: no
    /// limit. Above it the answer is 429 with `Retry-After`.
    pub write_lines_per_sec: u64,
    /// Seconds of `write_lines_per_sec` a token may send at once.
    pub write_burst_secs: u64,
    /// Seconds between two samples of the port error counters asked of every switch with a
    /// gNMI address (port status itself streams on change); 0: no gNMI streams.
    pub gnmi_sample_interval_secs: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            scrape_interval_secs: 15,
            scrape_timeout_secs: 5,
            scrape_concurrency: 64,
            write_lines_per_sec: 200_000,
            write_burst_secs: 2,
            gnmi_sample_interval_secs: 30,
        }
    }
}

impl TelemetryConfig {
    /// The scraper's settings, or None when scraping is off.
    pub fn scrape_settings(&self) -> Option<fleet_core::scrape::ScrapeSettings> {
        (self.scrape_interval_secs > 0).then(|| fleet_core::scrape::ScrapeSettings {
            interval: std::time::Duration::from_secs(self.scrape_interval_secs),
            timeout: std::time::Duration::from_secs(self.scrape_timeout_secs.max(1)),
            concurrency: self.scrape_concurrency.max(1),
            ..Default::default()
        })
    }

    /// The gNMI switch streams' settings, or None when they are off.
    pub fn network_settings(&self) -> Option<fleet_core::network::NetworkSettings> {
        (self.gnmi_sample_interval_secs > 0).then(|| fleet_core::network::NetworkSettings {
            sample_interval: std::time::Duration::from_secs(self.gnmi_sample_interval_secs),
            ..Default::default()
        })
    }
}

/// TLS of the API listener. With `cert` and `key` set the API speaks HTTPS only; the files are
/// read again on SIGHUP.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first).
    pub cert: String,
    /// PEM private key of the leaf certificate.
    pub key: String,
    /// PEM CA certificates that sign client certificates (node agents); empty: none asked.
    pub client_ca: String,
    /// Refuse clients without a certificate from `client_ca` (default: optional).
    pub require_client_cert: bool,
}

impl TlsConfig {
    pub fn enabled(&self) -> bool {
        !self.cert.is_empty()
    }
}

impl std::fmt::Debug for Config {
    /// The masked configuration: the same text as `gpufleet config show`, so that no secret
    /// reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked_toml())
    }
}

/// Out-of-band operations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperationsConfig {
    /// Largest firmware image accepted by upload, in bytes; larger ones answer 413.
    pub max_upload_bytes: u64,
    /// Run a job worker in this process. Processes sharing one PostgreSQL share the queued
    /// jobs; a process with the worker off only queues them (an API-only replica).
    pub worker: bool,
    /// Jobs this process runs at once.
    pub worker_concurrency: usize,
    /// Seconds a worker's claim on a running job holds without renewal; after that another
    /// process takes the job back (repeats it when that is safe, else fails it).
    pub lease_secs: u64,
    /// Where uploaded firmware images wait for their jobs (default `<data_dir>/uploads`).
    /// With several processes, a directory every worker can read.
    pub upload_dir: Option<PathBuf>,
}

impl Default for OperationsConfig {
    fn default() -> Self {
        OperationsConfig {
            max_upload_bytes: 512 * 1024 * 1024,
            worker: true,
            worker_concurrency: 256,
            lease_secs: 15,
            upload_dir: None,
        }
    }
}

impl OperationsConfig {
    /// The application core's settings for this process.
    pub fn core_settings(&self, data_dir: &std::path::Path) -> fleet_core::CoreSettings {
        let mut s = fleet_core::CoreSettings::new(
            self.upload_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("uploads")),
        );
        s.concurrency = self.worker_concurrency.max(1);
        s.lease = std::time::Duration::from_secs(self.lease_secs.max(1));
        s.renew_every = (s.lease / 5).clamp(
            std::time::Duration::from_millis(200),
            std::time::Duration::from_secs(3),
        );
        s
    }
}

/// The CMDB-Enricher: inspects discovered nodes over Redfish and re-reads the inventory of
/// nodes in service periodically (status sync), gently on the BMCs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnricherConfig {
    /// Run the enricher role in this process.
    pub enabled: bool,
    /// Inspections running at once from discovery events (consumers sharing one durable).
    pub workers: usize,
    /// BMCs read at once by this process, inspections and status sync together.
    pub max_concurrent_bmc: usize,
    /// Deadline of one BMC request, seconds (a BMC's own `timeout_s` wins).
    pub bmc_timeout_secs: u64,
    /// Deadline of one whole inventory read, seconds.
    pub inventory_timeout_secs: u64,
    /// Seconds between two status-sync rounds over every node in `sync_states` (0: off).
    pub sync_interval_secs: u64,
    /// Each node's read is spread over this many seconds of the round (per-node jitter).
    pub sync_jitter_secs: u64,
    /// Lifecycle states whose nodes the status sync re-reads.
    pub sync_states: Vec<String>,
    /// Seconds between two liveness probes of every BMC of a node in `sync_states` (its power
    /// state, one request; spread over the first half of the interval): a BMC that stops
    /// answering is `bmc_unreachable` within about this long, not only at the next status
    /// sync. 0: no probes.
    pub liveness_interval_secs: u64,
    /// Deliveries of one event before it goes to the dead-letter stream.
    pub max_attempts: u32,
    /// Durable consumer name prefix on the bus.
    pub consumer: String,
    /// BMC user name registered for nodes that announce themselves
    /// (`POST /api/v1/discovery/announce`); empty: self-announcement is refused.
    pub announce_username: String,
    /// Its password (masked by `config show`; best given as
    /// `GPUFLEET_ENRICHER__ANNOUNCE_PASSWORD`).
    pub announce_password: String,
    /// Accept self-signed certificates from BMCs of announced nodes.
    pub announce_accept_self_signed: bool,
    /// The BMC networks (CIDR, e.g. `10.0.8.0/22`) an announced BMC address must lie in; the
    /// announcement credentials are sent to no other address. Empty: self-announcement is
    /// refused. Host names are refused (their answer can change).
    pub announce_networks: Vec<String>,
}

impl Default for EnricherConfig {
    fn default() -> Self {
        EnricherConfig {
            enabled: true,
            workers: 8,
            max_concurrent_bmc: 16,
            bmc_timeout_secs: 15,
            inventory_timeout_secs: 120,
            sync_interval_secs: 3600,
            sync_jitter_secs: 600,
            sync_states: ["ready", "in_service", "draining", "maintenance"]
                .map(String::from)
                .to_vec(),
            liveness_interval_secs: 60,
            max_attempts: 5,
            consumer: "enricher".into(),
            announce_username: String::new(),
            announce_password: String::new(),
            announce_accept_self_signed: false,
            announce_networks: Vec::new(),
        }
    }
}

/// Provisioning through Tinkerbell (`[tinkerbell]`). Off while `kubeconfig` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TinkerbellConfig {
    /// Path of a kubeconfig for the cluster that runs tink and Rufio, or `in-cluster` for the
    /// service account gpufleet runs as; empty: provisioning is off.
    pub kubeconfig: String,
    /// Namespace of the Hardware, Template, Workflow and Rufio objects.
    pub namespace: String,
    /// tink-server's gRPC address as the workers reach it (shown with each provisioning).
    pub tink_server: String,
    /// Who does the one-time PXE boot and power cycle: `gpufleet` (its own operations, as jobs)
    /// or `rufio` (a Rufio Job on the node's Machine; the BMC credentials are in the Secret
    /// `<node>-bmc` of the namespace).
    pub power_via: String,
    /// Nodes being installed at once (bulk requests may set a lower limit).
    pub concurrency: usize,
    /// How often each Workflow's status is read, milliseconds.
    pub poll_interval_ms: u64,
    /// Deadline of the PXE boot and power cycle, seconds.
    pub power_deadline_s: u64,
    /// Deadline of a Workflow once the node is booted, seconds.
    pub workflow_deadline_s: u64,
    /// The one-time PXE boot is a UEFI boot.
    pub efi_boot: bool,
}

impl Default for TinkerbellConfig {
    fn default() -> Self {
        TinkerbellConfig {
            kubeconfig: String::new(),
            namespace: "default".into(),
            tink_server: String::new(),
            power_via: "gpufleet".into(),
            concurrency: 50,
            poll_interval_ms: 1000,
            power_deadline_s: 300,
            workflow_deadline_s: 4 * 3600,
            efi_boot: true,
        }
    }
}

/// The event bus the outbox relay publishes to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// `nats://host:4222` selects NATS JetStream; empty means the in-process bus.
    pub nats_url: String,
    /// First token of every subject (`<prefix>.<domain>.<type>.<asset>`); streams
    /// are named after it in upper case (`GPUFLEET_HARDWARE`, ...).
    pub subject_prefix: String,
    /// Seconds in which JetStream drops a republished event id (`Nats-Msg-Id`).
    pub duplicate_window_secs: u64,
    /// Seconds events are kept in the streams (0: forever).
    pub max_age_secs: u64,
    /// Seconds to wait for the NATS server at start-up.
    pub connect_timeout_secs: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            nats_url: String::new(),
            subject_prefix: "gpufleet".into(),
            duplicate_window_secs: 600,
            max_age_secs: 7 * 24 * 3600,
            connect_timeout_secs: 30,
        }
    }
}

impl BusConfig {
    pub fn topology(&self) -> fleet_bus::Topology {
        let mut t = fleet_bus::Topology::new(&self.subject_prefix);
        t.duplicate_window = std::time::Duration::from_secs(self.duplicate_window_secs.max(1));
        t.max_age = std::time::Duration::from_secs(self.max_age_secs);
        t
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// Per-state deadline overrides in seconds (`0` removes the deadline),
    /// e.g. `inspecting = 1800`.
    pub deadlines: BTreeMap<String, u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            grpc_listen: "127.0.0.1:8081".into(),
            insecure_listen: false,
            tls: TlsConfig::default(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            database_max_connections: 16,
            secret_key: String::new(),
            session_ttl_secs: 12 * 3600,
            api_token_ttl_secs: 90 * 24 * 3600,
            api_token_max_ttl_secs: 90 * 24 * 3600,
            login_max_failures: 10,
            login_window_secs: 300,
            request_timeout_secs: 30,
            log_format: "text".into(),
            lifecycle: LifecycleConfig::default(),
            bus: BusConfig::default(),
            tinkerbell: TinkerbellConfig::default(),
            enricher: EnricherConfig::default(),
            operations: OperationsConfig::default(),
            graphiql_dir: PathBuf::new(),
            redis_url: String::new(),
            redis_prefix: "gpufleet".into(),
            telemetry: TelemetryConfig::default(),
            history: HistoryConfig::default(),
            correlation: CorrelationConfig::default(),
            remediation: RemediationConfig::default(),
            recovery: RecoveryConfig::default(),
        }
    }
}

/// Values given on the command line; they win over file and environment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_listen: Option<bool>,
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("configuration file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig
            .merge(
                // Only configuration keys: other GPUFLEET_* variables (client,
                // scripts, tests) are not configuration and must not be refused.
                Env::prefixed("GPUFLEET_")
                    .filter(|k| {
                        let first = k.as_str().split("__").next().unwrap_or("");
                        CONFIG_KEYS.iter().any(|c| c.eq_ignore_ascii_case(first))
                    })
                    .split("__"),
            )
            .merge(Serialized::defaults(overrides));
        let cfg: Config = fig
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let listen = self.listen.parse::<std::net::SocketAddr>().map_err(|_| {
            anyhow::anyhow!(
                "listen address '{}' is not HOST:PORT (e.g. 127.0.0.1:8080)",
                self.listen
            )
        })?;
        if self.api_token_ttl_secs == 0 || self.api_token_ttl_secs > self.api_token_max_ttl_secs {
            anyhow::bail!(
                "api_token_ttl_secs ({}) must be between 1 and api_token_max_ttl_secs ({})",
                self.api_token_ttl_secs,
                self.api_token_max_ttl_secs
            );
        }
        if self.tls.cert.is_empty() != self.tls.key.is_empty() {
            anyhow::bail!("tls.cert and tls.key go together: set both or neither");
        }
        if !self.tls.enabled() && (!self.tls.client_ca.is_empty() || self.tls.require_client_cert) {
            anyhow::bail!("tls.client_ca and tls.require_client_cert need tls.cert and tls.key");
        }
        if self.tls.require_client_cert && self.tls.client_ca.is_empty() {
            anyhow::bail!("tls.require_client_cert needs tls.client_ca");
        }
        if !listen.ip().is_loopback() && !self.tls.enabled() && !self.insecure_listen {
            anyhow::bail!(
                "refusing to serve plain HTTP on {listen}, beyond this machine: tokens and passwords would cross the network in clear. Set tls.cert and tls.key (GPUFLEET_TLS__CERT, GPUFLEET_TLS__KEY), or pass --insecure-listen (insecure_listen = true) to accept that"
            );
        }
        if !self.grpc_listen.is_empty() {
            let g = self.grpc_listen.parse::<std::net::SocketAddr>().map_err(|_| {
                anyhow::anyhow!(
                    "grpc_listen address '{}' is not HOST:PORT (e.g. 127.0.0.1:8081); empty turns gRPC off",
                    self.grpc_listen
                )
            })?;
            if !g.ip().is_loopback() && !self.insecure_listen {
                anyhow::bail!(
                    "refusing to serve plaintext gRPC on {g}, beyond this machine: bearer tokens would cross the network in clear. Keep grpc_listen on loopback behind a TLS-terminating proxy, or pass --insecure-listen to accept that"
                );
            }
        }
        for k in self.lifecycle.deadlines.keys() {
            k.parse::<fleet_model::lifecycle::NodeState>()
                .map_err(|e| anyhow::anyhow!("lifecycle.deadlines: {e}"))?;
        }
        if !self.database_url.is_empty()
            && !self.database_url.starts_with("postgres://")
            && !self.database_url.starts_with("postgresql://")
            && !self.database_url.starts_with("sqlite:")
        {
            anyhow::bail!("database_url must start with postgres:// or sqlite:");
        }
        if !self.redis_url.is_empty() && !self.redis_url.starts_with("redis://") {
            anyhow::bail!("redis_url must start with redis://");
        }
        if self.redis_prefix.is_empty() || self.redis_prefix.contains(char::is_whitespace) {
            anyhow::bail!("redis_prefix must be a non-empty name without spaces");
        }
        self.history.validate()?;
        for s in &self.enricher.sync_states {
            s.parse::<fleet_model::lifecycle::NodeState>()
                .map_err(|e| anyhow::anyhow!("enricher.sync_states: {e}"))?;
        }
        if self.enricher.workers == 0 || self.enricher.max_concurrent_bmc == 0 {
            anyhow::bail!("enricher.workers and enricher.max_concurrent_bmc must be at least 1");
        }
        let t = &self.tinkerbell;
        if !matches!(t.power_via.as_str(), "gpufleet" | "rufio") {
            anyhow::bail!(
                "tinkerbell.power_via is 'gpufleet' or 'rufio', not '{}'",
                t.power_via
            );
        }
        if t.concurrency == 0 || t.poll_interval_ms == 0 || t.power_deadline_s == 0 {
            anyhow::bail!(
                "tinkerbell.concurrency, poll_interval_ms and power_deadline_s must be at least 1"
            );
        }
        fleet_tinkerbell::build::check_name(&t.namespace)
            .map_err(|e| anyhow::anyhow!("tinkerbell.namespace: {e}"))?;
        if !matches!(self.log_format.as_str(), "text" | "json") {
            anyhow::bail!("log_format must be 'text' or 'json'");
        }
        Ok(())
    }

    /// The effective database URL.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("gpufleet.db").display()
            )
        } else {
            self.database_url.clone()
        }
    }

    pub fn deadlines(&self) -> fleet_model::lifecycle::Deadlines {
        let mut d = fleet_model::lifecycle::Deadlines::default();
        for (k, v) in &self.lifecycle.deadlines {
            if let Ok(s) = k.parse() {
                d.set(s, *v);
            }
        }
        d
    }

    /// The configuration as TOML with secrets masked.
    pub fn masked_toml(&self) -> String {
        let mut c = self.clone();
        c.database_url = fleet_db::mask_url(&c.database_url);
        c.bus.nats_url = fleet_db::mask_url(&c.bus.nats_url);
        c.redis_url = fleet_db::mask_url(&c.redis_url);
        c.history.influx_url = fleet_db::mask_url(&c.history.influx_url);
        if !c.secret_key.is_empty() {
            c.secret_key = "***".into();
        }
        if !c.enricher.announce_password.is_empty() {
            c.enricher.announce_password = "***".into();
        }
        let mut out = toml_string(&c);
        out.push_str(&format!(
            "# effective database: {}\n",
            fleet_db::mask_url(&self.database_url())
        ));
        out
    }
}

fn toml_string(c: &Config) -> String {
    // A small writer for this flat structure keeps a TOML serializer out of the build.
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => format!("{s:?}"),
            serde_json::Value::Array(a) => {
                format!("[{}]", a.iter().map(scalar).collect::<Vec<_>>().join(", "))
            }
            other => other.to_string(),
        }
    }
    /// The table at `path`: its values first, then its sub-tables, as TOML requires.
    fn table(path: &str, o: &serde_json::Map<String, serde_json::Value>, out: &mut String) {
        let (subs, values): (Vec<_>, Vec<_>) = o.iter().partition(|(_, v)| v.is_object());
        if !path.is_empty() && (!values.is_empty() || subs.is_empty()) {
            out.push_str(&format!("\n[{path}]\n"));
        }
        for (k, v) in values {
            if !v.is_null() {
                out.push_str(&format!("{k} = {}\n", scalar(v)));
            }
        }
        for (k, v) in subs {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            table(&p, v.as_object().expect("object"), out);
        }
    }
    let v = serde_json::to_value(c).expect("config serialises");
    let mut out = String::new();
    table("", v.as_object().expect("object"), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_mask_secrets() {
        let mut c = Config::default();
        c.validate().unwrap();
        assert!(c.database_url().starts_with("sqlite://data/gpufleet.db"));
        c.database_url = "postgres://u:hunter2@db/x".into();
        c.secret_key = "abc".into();
        c.enricher.announce_password = "bmc-secret-9".into();
        c.redis_url = "redis://:redis-pw-7@cache:6379/0".into();
        c.validate().unwrap();
        let shown = c.masked_toml();
        assert!(!shown.contains("redis-pw-7"), "{shown}");
        assert!(shown.contains("@cache:6379/0"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("abc"), "{shown}");
        assert!(!shown.contains("bmc-secret-9"), "{shown}");
        assert!(shown.contains("listen = \"127.0.0.1:8080\""), "{shown}");
    }

    #[test]
    fn redis_settings_are_checked() {
        let mut c = Config {
            redis_url: "http://cache:6379".into(),
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("redis_url must start with redis://"), "{e}");
        c.redis_url = "redis://127.0.0.1:6379".into();
        c.redis_prefix = "two words".into();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("redis_prefix"), "{e}");
        c.redis_prefix = "site-b".into();
        c.validate().unwrap();
    }

    #[test]
    fn the_shown_configuration_is_toml_that_reads_back_the_same() {
        let c = Config::default();
        let shown = c.masked_toml();
        assert!(
            shown.contains("\n[bus]\nconnect_timeout_secs = 30\n"),
            "every section with its values: {shown}"
        );
        let back: Config = Figment::from(Toml::string(&shown)).extract().unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&c).unwrap(),
            "{shown}"
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let c = Config {
            listen: "nonsense".into(),
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("HOST:PORT"));
        let mut c = Config::default();
        c.lifecycle.deadlines.insert("bogus".into(), 5);
        assert!(c.validate().unwrap_err().to_string().contains("bogus"));
    }

    #[test]
    fn every_field_is_a_known_environment_key() {
        let v = serde_json::to_value(Config::default()).unwrap();
        let fields: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut known = CONFIG_KEYS.to_vec();
        known.sort();
        let mut f = fields.clone();
        f.sort();
        assert_eq!(f, known);
    }

    #[test]
    fn deadlines_override() {
        let mut c = Config::default();
        c.lifecycle.deadlines.insert("in_service".into(), 60);
        assert_eq!(
            c.deadlines()
                .get(fleet_model::lifecycle::NodeState::InService),
            Some(60)
        );
    }
}
