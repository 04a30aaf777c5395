//! The command line: `gpufleet serve`, administration commands that open the
//! store directly (`config show`, `audit verify`), and client commands that
//! talk to the REST API (`node`, `jobs`, `user`, `token`, `import`, `login`).

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::config::{Config, Overrides};

#[derive(Parser, Debug)]
#[command(
    name = "gpufleet",
    version,
    about = "Run and manage a fleet of bare-metal GPU servers"
)]
pub struct Cli {
    /// Configuration file (TOML). Environment variables GPUFLEET_* override it.
    #[arg(long, global = true, env = "GPUFLEET_CONFIG")]
    pub config: Option<PathBuf>,
    /// API server for client commands.
    #[arg(
        long,
        global = true,
        env = "GPUFLEET_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// Bearer token for client commands (default: the one saved by `gpufleet login`).
    #[arg(long, global = true, env = "GPUFLEET_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Output format of client commands.
    #[arg(long, short, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum Output {
    Table,
    Json,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ServerFlags {
    /// Listen address (GPUFLEET_LISTEN; default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// gRPC listen address (GPUFLEET_GRPC_LISTEN; default 127.0.0.1:8081; empty: no gRPC).
    #[arg(long)]
    pub grpc_listen: Option<String>,
    /// Data directory for the embedded store (GPUFLEET_DATA_DIR; default ./data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (GPUFLEET_INSECURE_LISTEN); without TLS
    /// such a listen address is refused.
    #[arg(long)]
    pub insecure_listen: bool,
}

impl ServerFlags {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            grpc_listen: self.grpc_listen.clone(),
            data_dir: self.data_dir.clone(),
            insecure_listen: self.insecure_listen.then_some(true),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every role of the server in this process.
    Serve(ServerFlags),
    /// Show configuration.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Audit log administration (opens the store directly).
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Log in and save the session token for later commands.
    Login {
        #[arg(long, env = "GPUFLEET_USERNAME", default_value = "admin")]
        username: String,
        /// Read from GPUFLEET_PASSWORD or, when unset, one line of standard input.
        #[arg(skip)]
        _p: (),
    },
    /// End the saved session.
    Logout,
    /// Nodes and their lifecycle.
    Node {
        #[command(subcommand)]
        cmd: NodeCmd,
    },
    /// Out-of-band operation jobs: list, show, follow, cancel.
    Jobs {
        #[command(subcommand)]
        cmd: JobsCmd,
    },
    /// Users (admin).
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Alert rules evaluated on the telemetry stream (built in and stored).
    Rule {
        #[command(subcommand)]
        cmd: RuleCmd,
    },
    /// Incidents: list, show, acknowledge, resolve, merge, split, and their remediation plans.
    Incident {
        #[command(subcommand)]
        cmd: IncidentCmd,
    },
    /// Remediation's guard rails, latest actions and kill switch.
    Remediation {
        #[command(subcommand)]
        cmd: RemediationCmd,
    },
    /// Register BMCs (addresses, a file, or a sweep of a network for Redfish services); each
    /// becomes a node that the enricher inspects. The BMC password is read from
    /// GPUFLEET_BMC_PASSWORD or, when unset, one line of standard input.
    Discover(DiscoverArgs),
    /// Import an inventory file (YAML or CSV); all or nothing.
    Import {
        file: PathBuf,
        /// Validate only.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Args, Debug)]
pub struct DiscoverArgs {
    /// BMC addresses: host, host:port or URL.
    pub addresses: Vec<String>,
    /// JSON file with a list of BMCs: [{"address", "username", "password", ...}].
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Sweep this IPv4 network (e.g. 10.0.8.0/24) for Redfish services.
    #[arg(long)]
    pub cidr: Option<String>,
    /// Port to probe in a sweep (repeat for several; default 443, or 80 with --scheme http).
    #[arg(long = "port")]
    pub ports: Vec<u16>,
    /// Scheme of a sweep: https or http.
    #[arg(long, default_value = "https")]
    pub scheme: String,
    #[arg(long, env = "GPUFLEET_BMC_USERNAME", default_value = "admin")]
    pub username: String,
    /// redfish or ipmi.
    #[arg(long, default_value = "redfish")]
    pub protocol: String,
    /// Accept self-signed TLS certificates from these BMCs.
    #[arg(long)]
    pub accept_self_signed: bool,
    /// Rack (id or name) for the new nodes.
    #[arg(long)]
    pub rack: Option<String>,
    /// Expected profile (id or name) for the new nodes.
    #[arg(long)]
    pub profile: Option<String>,
    /// Wait up to this many seconds for the nodes to be inspected (ready or inspection_failed).
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Print the effective configuration, secrets masked.
    Show(ServerFlags),
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Recompute the audit hash chain; exits 1 when a row was altered, inserted or deleted.
    Verify(ServerFlags),
}

#[derive(Subcommand, Debug)]
pub enum NodeCmd {
    /// List nodes.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        rack: Option<String>,
        /// key=value[,key=value]
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        profile: Option<String>,
        /// Only nodes past their state deadline.
        #[arg(long)]
        stuck: bool,
        /// Page size; all pages are fetched.
        #[arg(long, default_value_t = 500)]
        limit: u32,
    },
    /// Show a node with its components.
    Show { node: String },
    /// Move a node to another lifecycle state.
    Transition {
        node: String,
        state: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Power a node on, off, graceful_shutdown, cycle or reset through its BMC (a job).
    Power {
        node: String,
        action: String,
        #[command(flatten)]
        op: OpFlags,
    },
    /// Diagnose a drained node: re-provisioned for its install plan's GPU validation; it returns
    /// to service, or goes to maintenance (with an RMA record on the incident's GPU).
    Diagnose {
        node: String,
        /// The incident it diagnoses.
        #[arg(long)]
        incident: Option<String>,
    },
    /// Restart a node's BMC (the host keeps running) and wait until it answers again (a job).
    BmcReset {
        node: String,
        #[command(flatten)]
        op: OpFlags,
    },
    /// Set a node's boot device (pxe, disk, cd, bios_setup, none) for the next boot, or for
    /// every boot with --persistent (a job).
    Boot {
        node: String,
        device: String,
        #[arg(long)]
        persistent: bool,
        #[command(flatten)]
        op: OpFlags,
    },
}

#[derive(Args, Debug)]
pub struct OpFlags {
    /// Driver: redfish, ipmi or ipmitool (default: the BMC's protocol).
    #[arg(long)]
    pub driver: Option<String>,
    /// Deadline of the job in seconds (the server's default when unset).
    #[arg(long)]
    pub deadline: Option<u64>,
    /// Follow the job until it ends; exit 1 unless it succeeded.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up following after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
}

#[derive(Subcommand, Debug)]
pub enum JobsCmd {
    /// List jobs, newest first.
    List {
        /// Jobs of this node (id or name).
        #[arg(long)]
        node: Option<String>,
        /// Jobs of this target asset id (a node or a switch).
        #[arg(long, conflicts_with = "node")]
        target: Option<String>,
        /// queued, running, succeeded, failed, cancelled or timed_out.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        batch: Option<String>,
        /// e.g. power.cycle, boot.set, firmware.update.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show a job with its log.
    Show { id: String },
    /// Print a job's log as it grows until the job ends; exit 1 unless it succeeded.
    Follow {
        id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
    },
    /// Cancel a queued or running job.
    Cancel { id: String },
}

const FINAL_JOB_STATES: &[&str] = &["succeeded", "failed", "cancelled", "timed_out"];

fn job_line(j: &Value) -> String {
    let mut l = format!(
        "{} {} {} on {}: {}",
        s(&j["id"]),
        s(&j["kind"]),
        s(&j["driver"]),
        s(&j["target"]),
        s(&j["state"])
    );
    if let Some(e) = j["error"].as_str() {
        l.push_str(&format!(" ({e})"));
    }
    l
}

/// Follows job `id`, printing each new log line (or the job as JSON at the end with -o json);
/// returns the exit code: 0 when it succeeded, 1 otherwise.
async fn follow_job(c: &Client, id: &str, timeout: u64, out: Output) -> anyhow::Result<i32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
    let mut after = 0i64;
    loop {
        let v = c
            .get(&format!(
                "/api/v1/jobs/{}?after={after}&wait_s=10",
                urlencode(id)
            ))
            .await?;
        for l in v["log"].as_array().into_iter().flatten() {
            after = after.max(l["id"].as_i64().unwrap_or(after));
            if out == Output::Table {
                println!("  {}", s(&l["line"]));
            }
        }
        let state = v["state"].as_str().unwrap_or("");
        if FINAL_JOB_STATES.contains(&state) {
            match out {
                Output::Json => {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                Output::Table => println!("{}", job_line(&v)),
            }
            return Ok(if state == "succeeded" { 0 } else { 1 });
        }
        if std::time::Instant::now() >= deadline {
            bail!("job {id} is still {state} after {timeout} s; follow it again with `gpufleet jobs follow {id}`");
        }
    }
}

/// Starts an operation on a node; prints the job, or follows it with --wait.
async fn node_op(
    c: &Client,
    node: &str,
    group: &str,
    mut body: Value,
    op: OpFlags,
    out: Output,
) -> anyhow::Result<i32> {
    if let Some(d) = op.driver {
        body["driver"] = json!(d);
    }
    if let Some(d) = op.deadline {
        body["deadline_s"] = json!(d);
    }
    let j = c
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/nodes/{}/{group}", urlencode(node)),
            Some(body),
        )
        .await?;
    let id = j["id"]
        .as_str()
        .context("no job id in the answer")?
        .to_string();
    if op.wait {
        if out == Output::Table {
            println!("{}", job_line(&j));
        }
        return follow_job(c, &id, op.timeout, out).await;
    }
    match out {
        Output::Json => println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default()),
        Output::Table => {
            println!("{}", job_line(&j));
            eprintln!("follow it with `gpufleet jobs follow {id}`");
        }
    }
    Ok(0)
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    List,
    /// Create a user; the password comes from GPUFLEET_NEW_PASSWORD or standard input.
    Create {
        username: String,
        #[arg(long, default_value = "viewer")]
        role: String,
    },
    SetRole {
        username: String,
        role: String,
    },
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    /// Set a new password (from GPUFLEET_NEW_PASSWORD or standard input).
    Passwd {
        username: String,
    },
    Delete {
        username: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    List,
    Create {
        name: String,
        #[arg(long, default_value_t = 90)]
        ttl_days: u64,
    },
    Revoke {
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RuleCmd {
    /// Every effective rule with its source, severity and active alerts.
    List,
    /// One rule with its stored versions.
    Show { name: String },
    /// Store a rule (new, changed, or overriding a built-in one).
    Put {
        name: String,
        /// `DCGM_FI_DEV_GPU_TEMP > 85`, `health == failed`, `increase(FIELD[10m]) > 0`, …
        #[arg(long)]
        expr: String,
        /// How long the condition must hold before the alert fires (`5m`).
        #[arg(long = "for")]
        for_: Option<String>,
        /// critical, warning or info.
        #[arg(long)]
        severity: Option<String>,
        /// Extra label, KEY=VALUE (repeatable).
        #[arg(long = "label")]
        labels: Vec<String>,
        /// Annotation, KEY=VALUE (repeatable); `summary=...` is shown with the alert.
        #[arg(long = "annotation")]
        annotations: Vec<String>,
        /// Store it switched off (a built-in rule of that name is then not evaluated).
        #[arg(long)]
        disabled: bool,
        /// Only if the stored version is still this one (0: only if not stored yet).
        #[arg(long)]
        if_version: Option<i64>,
    },
    /// Import a Prometheus alerting-rule file; all or nothing.
    Import { file: PathBuf },
    /// Delete a stored rule (a built-in rule of that name applies again).
    Delete { name: String },
}

#[derive(Subcommand, Debug)]
pub enum IncidentCmd {
    /// Incidents, highest priority first.
    List {
        /// open, acknowledged or resolved.
        #[arg(long)]
        state: Option<String>,
        /// An asset id or name the incident touches.
        #[arg(long)]
        asset: Option<String>,
    },
    /// One incident with its root cause, alerts, timeline and suggested actions.
    Show { id: String },
    /// Acknowledge (someone is on it).
    Ack {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Resolve by hand.
    Resolve {
        id: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Merge other incidents into this one (their alerts, and alerts that would have opened
    /// them later, join it).
    Merge {
        id: String,
        /// The incidents to merge into ID (repeat, or comma-separated).
        #[arg(long = "with", value_delimiter = ',', required = true)]
        with: Vec<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Split alerts off this incident into a new one.
    Split {
        id: String,
        /// Fingerprints of the alerts to move (repeat, or comma-separated).
        #[arg(long = "alert", value_delimiter = ',', required = true)]
        alerts: Vec<String>,
        /// The new incident's root cause (asset id or name); default: the earliest alert's asset.
        #[arg(long)]
        root: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// The remediation plan and what the guard rails decide (nothing is done).
    Plan { id: String },
    /// Run the remediation plan with your permissions.
    Remediate {
        id: String,
        /// Execute the steps that need approval too.
        #[arg(long)]
        approve: bool,
        /// Only show what would be done.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RemediationCmd {
    /// Guard rails, kill switch and the latest actions.
    Status,
    /// Switch every remediation step off (`on`) or back on (`off`); admin.
    KillSwitch {
        /// on or off.
        state: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

fn plan_table(v: &Value) -> String {
    let rows: Vec<Vec<String>> = v["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|st| {
            vec![
                s(&st["action"]),
                s(&st["node_name"]),
                s(&st["decision"]),
                s(&st["outcome"]),
                s(&st["reason"]),
            ]
        })
        .collect();
    table(&rows, &["ACTION", "NODE", "DECISION", "OUTCOME", "REASON"])
}

fn key_values(items: &[String], what: &str) -> anyhow::Result<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    for kv in items {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("{what} '{kv}': write KEY=VALUE"))?;
        out.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    Ok(out)
}

fn token_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/gpufleet/token"))
}

fn read_secret(env: &str, what: &str) -> anyhow::Result<String> {
    if let Ok(v) = std::env::var(env) {
        if !v.is_empty() {
            return Ok(v);
        }
    }
    eprintln!("{what} (one line on standard input; or set {env}):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let v = line.trim_end_matches(['\n', '\r']).to_string();
    if v.is_empty() {
        bail!("no {what} given");
    }
    Ok(v)
}

/// A thin REST client with a deadline on every request.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(server: &str, token: Option<String>) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let token = token.or_else(|| {
            token_path()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .map(|s| s.trim().to_string())
        });
        Ok(Client {
            http,
            base: server.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("cannot reach the gpufleet server at {} (is `gpufleet serve` running? set --server or GPUFLEET_SERVER)", self.base))?;
        Self::decode(resp).await
    }

    async fn decode(resp: reqwest::Response) -> anyhow::Result<Value> {
        let status = resp.status();
        let text = resp.text().await?;
        let v: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(v);
        }
        let mut msg = format!(
            "{} {}",
            status.as_u16(),
            v.get("detail")
                .and_then(|d| d.as_str())
                .unwrap_or(status.canonical_reason().unwrap_or(""))
        );
        if status.as_u16() == 401 {
            msg.push_str(" (log in with `gpufleet login`, or set GPUFLEET_TOKEN)");
        }
        if let Some(errs) = v.get("errors").and_then(|e| e.as_array()) {
            for e in errs {
                msg.push_str(&format!(
                    "\n  line {}: {}: {}",
                    e["line"],
                    e["item"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                ));
            }
        }
        if let Some(allowed) = v.get("allowed").and_then(|a| a.as_array()) {
            if !allowed.is_empty() {
                msg.push_str(&format!(
                    "\n  allowed: {}",
                    allowed
                        .iter()
                        .filter_map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        bail!(msg)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Sends a request built on `self.http` with the token, and decodes the answer as `call`.
    async fn send(&self, mut req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach the gpufleet server at {}", self.base))?;
        Self::decode(resp).await
    }
}

fn table(rows: &[Vec<String>], header: &[&str]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let out = cli.output;
    let print = |v: &Value| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    match cli.command {
        Command::Serve(f) => {
            let cfg = Config::load(cli.config.as_deref(), &f.overrides())?;
            crate::server::init_logging(&cfg.log_format);
            crate::server::run(cfg).await?;
        }
        Command::Config {
            cmd: ConfigCmd::Show(f),
        } => {
            let cfg = Config::load(cli.config.as_deref(), &f.overrides())?;
            print!("{}", cfg.masked_toml());
        }
        Command::Audit {
            cmd: AuditCmd::Verify(f),
        } => {
            let cfg = Config::load(cli.config.as_deref(), &f.overrides())?;
            let store = crate::server::open_store(&cfg).await?;
            let r = store.verify_audit().await?;
            if out == Output::Json {
                print(&serde_json::to_value(&r)?);
            } else if r.ok {
                println!(
                    "audit log intact: {} rows, chain verified up to row {}",
                    r.rows_checked, r.head_seq
                );
            } else {
                println!(
                    "AUDIT LOG TAMPERED: {} problem(s) in {} rows",
                    r.problems.len(),
                    r.rows_checked
                );
                for p in &r.problems {
                    println!("  {p}");
                }
            }
            return Ok(if r.ok { 0 } else { 1 });
        }
        Command::Login { username, .. } => {
            let password = read_secret("GPUFLEET_PASSWORD", "password")?;
            let c = Client::new(&cli.server, None)?;
            let v = c
                .call(
                    reqwest::Method::POST,
                    "/api/v1/auth/login",
                    Some(json!({"username": username, "password": password})),
                )
                .await?;
            let token = v["token"].as_str().context("no token in the answer")?;
            let path = token_path().context("HOME is not set; use GPUFLEET_TOKEN instead")?;
            std::fs::create_dir_all(path.parent().expect("parent"))?;
            let _ = std::fs::remove_file(&path);
            crate::server::write_private(&path, token)?;
            println!(
                "logged in as {username}; session saved to {} (expires {})",
                path.display(),
                s(&v["expires_at"])
            );
        }
        Command::Logout => {
            let c = Client::new(&cli.server, cli.token)?;
            c.call(reqwest::Method::POST, "/api/v1/auth/logout", None)
                .await?;
            if let Some(p) = token_path() {
                let _ = std::fs::remove_file(p);
            }
            println!("logged out");
        }
        Command::Node { cmd } => {
            let c = Client::new(&cli.server, cli.token)?;
            match cmd {
                NodeCmd::List {
                    state,
                    model,
                    rack,
                    label,
                    profile,
                    stuck,
                    limit,
                } => {
                    let mut q = vec![format!("limit={limit}")];
                    for (k, v) in [
                        ("state", state),
                        ("model", model),
                        ("rack", rack),
                        ("label", label),
                        ("profile", profile),
                    ] {
                        if let Some(v) = v {
                            q.push(format!("{k}={}", urlencode(&v)));
                        }
                    }
                    if stuck {
                        q.push("stuck=true".into());
                    }
                    let mut items = Vec::new();
                    let mut cursor: Option<String> = None;
                    loop {
                        let mut qs = q.clone();
                        if let Some(c) = &cursor {
                            qs.push(format!("cursor={}", urlencode(c)));
                        }
                        let page = c.get(&format!("/api/v1/nodes?{}", qs.join("&"))).await?;
                        items.extend(page["items"].as_array().cloned().unwrap_or_default());
                        match page["next_cursor"].as_str() {
                            Some(n) => cursor = Some(n.to_string()),
                            None => break,
                        }
                    }
                    if out == Output::Json {
                        print(&Value::Array(items));
                    } else {
                        let rows: Vec<Vec<String>> = items
                            .iter()
                            .map(|n| {
                                vec![
                                    s(&n["name"]),
                                    s(&n["status"]["state"]),
                                    s(&n["status"]["model"]),
                                    if n["status"]["stuck"] == json!(true) {
                                        "STUCK".into()
                                    } else {
                                        "".into()
                                    },
                                    s(&n["id"]),
                                ]
                            })
                            .collect();
                        print!("{}", table(&rows, &["NAME", "STATE", "MODEL", "", "ID"]));
                        eprintln!("{} node(s)", rows.len());
                    }
                }
                NodeCmd::Show { node } => {
                    let v = c
                        .get(&format!("/api/v1/nodes/{}", urlencode(&node)))
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!("{} ({})\n  state:   {}{}\n  model:   {}\n  serial:  {}\n  version: {}\n  labels:  {}",
                            s(&v["name"]), s(&v["id"]), s(&v["status"]["state"]), if v["status"]["stuck"] == json!(true) { " (STUCK: past its deadline)" } else { "" },
                            s(&v["status"]["model"]), s(&v["status"]["serial"]), s(&v["metadata"]["version"]), v["metadata"]["labels"]);
                        if let Some(f) = v["status"]["last_inspection_failure"].as_object() {
                            println!(
                                "  last inspection failure: {} ({} by {})",
                                s(&f["reason"]),
                                s(&f["at"]),
                                s(&f["actor"])
                            );
                        }
                        println!(
                            "  next:    {}",
                            v["allowed_transitions"]
                                .as_array()
                                .map(|a| a.iter().map(s).collect::<Vec<_>>().join(", "))
                                .unwrap_or_default()
                        );
                        if let Some(comps) = v["components"].as_object() {
                            for (kind, list) in comps {
                                for a in list.as_array().into_iter().flatten() {
                                    println!(
                                        "  {kind:<5} {:<24} model={} serial={} {}",
                                        s(&a["name"]),
                                        s(&a["status"]["model"]),
                                        s(&a["status"]["serial"]),
                                        s(&a["status"]["address"])
                                    );
                                }
                            }
                        }
                    }
                }
                NodeCmd::Power { node, action, op } => {
                    return node_op(&c, &node, "power", json!({"action": action}), op, out).await;
                }
                NodeCmd::Diagnose { node, incident } => {
                    let v = c
                        .call(
                            reqwest::Method::POST,
                            &format!("/api/v1/nodes/{}/diagnose", urlencode(&node)),
                            Some(json!({"incident": incident})),
                        )
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!(
                            "{}: diagnosis started: provisioning {} (workflow {})",
                            node,
                            s(&v["id"]),
                            s(&v["workflow"])
                        );
                    }
                }
                NodeCmd::BmcReset { node, op } => {
                    return node_op(&c, &node, "bmc/reset", json!({}), op, out).await;
                }
                NodeCmd::Boot {
                    node,
                    device,
                    persistent,
                    op,
                } => {
                    return node_op(
                        &c,
                        &node,
                        "boot",
                        json!({"device": device, "persistent": persistent}),
                        op,
                        out,
                    )
                    .await;
                }
                NodeCmd::Transition {
                    node,
                    state,
                    reason,
                } => {
                    let v = c
                        .call(
                            reqwest::Method::POST,
                            &format!("/api/v1/nodes/{}/transition", urlencode(&node)),
                            Some(json!({"to": state, "reason": reason})),
                        )
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!(
                            "{}: {} -> {}",
                            s(&v["node"]["name"]),
                            s(&v["history"]["from_state"]),
                            s(&v["history"]["to_state"])
                        );
                    }
                }
            }
        }
        Command::Jobs { cmd } => {
            let c = Client::new(&cli.server, cli.token)?;
            match cmd {
                JobsCmd::List {
                    node,
                    target,
                    state,
                    batch,
                    kind,
                    limit,
                } => {
                    let mut q = vec![format!("limit={limit}")];
                    let target = match node {
                        Some(n) => Some(s(&c
                            .get(&format!("/api/v1/nodes/{}", urlencode(&n)))
                            .await?["id"])),
                        None => target,
                    };
                    for (k, v) in [
                        ("target", target),
                        ("state", state),
                        ("batch_id", batch),
                        ("kind", kind),
                    ] {
                        if let Some(v) = v {
                            q.push(format!("{k}={}", urlencode(&v)));
                        }
                    }
                    let v = c.get(&format!("/api/v1/jobs?{}", q.join("&"))).await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        let rows: Vec<Vec<String>> = v
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|j| {
                                vec![
                                    s(&j["id"]),
                                    s(&j["kind"]),
                                    s(&j["state"]),
                                    format!("{}%", j["progress"].as_i64().unwrap_or(0)),
                                    s(&j["target"]),
                                    s(&j["actor"]),
                                ]
                            })
                            .collect();
                        print!(
                            "{}",
                            table(
                                &rows,
                                &["ID", "KIND", "STATE", "PROGRESS", "TARGET", "ACTOR"]
                            )
                        );
                        eprintln!("{} job(s)", rows.len());
                    }
                }
                JobsCmd::Show { id } => {
                    let v = c.get(&format!("/api/v1/jobs/{}", urlencode(&id))).await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!("{}", job_line(&v));
                        println!(
                            "  actor: {}  step: {}  progress: {}%",
                            s(&v["actor"]),
                            s(&v["step"]),
                            v["progress"].as_i64().unwrap_or(0)
                        );
                        println!("  params: {}", s(&v["params"]));
                        if !v["result"].is_null() {
                            println!("  result: {}", s(&v["result"]));
                        }
                        for l in v["log"].as_array().into_iter().flatten() {
                            println!("  {}", s(&l["line"]));
                        }
                    }
                }
                JobsCmd::Follow { id, timeout } => {
                    return follow_job(&c, &id, timeout, out).await;
                }
                JobsCmd::Cancel { id } => {
                    let v = c
                        .call(
                            reqwest::Method::POST,
                            &format!("/api/v1/jobs/{}/cancel", urlencode(&id)),
                            None,
                        )
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!("{}", job_line(&v));
                    }
                }
            }
        }
        Command::User { cmd } => {
            let c = Client::new(&cli.server, cli.token)?;
            let v = match cmd {
                UserCmd::List => {
                    let v = c.get("/api/v1/users").await?;
                    if out == Output::Table {
                        let rows: Vec<Vec<String>> = v["items"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|u| {
                                vec![
                                    s(&u["username"]),
                                    s(&u["role"]),
                                    if u["disabled"] == json!(true) {
                                        "disabled".into()
                                    } else {
                                        "active".into()
                                    },
                                    s(&u["id"]),
                                ]
                            })
                            .collect();
                        print!("{}", table(&rows, &["USERNAME", "ROLE", "STATUS", "ID"]));
                        return Ok(0);
                    }
                    v
                }
                UserCmd::Create { username, role } => {
                    let pw = read_secret("GPUFLEET_NEW_PASSWORD", "new password")?;
                    c.call(
                        reqwest::Method::POST,
                        "/api/v1/users",
                        Some(json!({"username": username, "password": pw, "role": role})),
                    )
                    .await?
                }
                UserCmd::SetRole { username, role } => {
                    c.call(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/users/{}", urlencode(&username)),
                        Some(json!({"role": role})),
                    )
                    .await?
                }
                UserCmd::Disable { username } => {
                    c.call(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/users/{}", urlencode(&username)),
                        Some(json!({"disabled": true})),
                    )
                    .await?
                }
                UserCmd::Enable { username } => {
                    c.call(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/users/{}", urlencode(&username)),
                        Some(json!({"disabled": false})),
                    )
                    .await?
                }
                UserCmd::Passwd { username } => {
                    let pw = read_secret("GPUFLEET_NEW_PASSWORD", "new password")?;
                    c.call(
                        reqwest::Method::PATCH,
                        &format!("/api/v1/users/{}", urlencode(&username)),
                        Some(json!({"password": pw})),
                    )
                    .await?
                }
                UserCmd::Delete { username } => {
                    c.call(
                        reqwest::Method::DELETE,
                        &format!("/api/v1/users/{}", urlencode(&username)),
                        None,
                    )
                    .await?
                }
            };
            if out == Output::Json
                || !v.is_null() && out == Output::Table && v.get("username").is_none()
            {
                print(&v);
            } else if let Some(u) = v.get("username") {
                println!(
                    "{}: role {}, {}",
                    s(u),
                    s(&v["role"]),
                    if v["disabled"] == json!(true) {
                        "disabled"
                    } else {
                        "active"
                    }
                );
            } else {
                println!("done");
            }
        }
        Command::Token { cmd } => {
            let c = Client::new(&cli.server, cli.token)?;
            match cmd {
                TokenCmd::List => {
                    let v = c.get("/api/v1/tokens").await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        let rows: Vec<Vec<String>> = v["items"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|t| {
                                vec![
                                    s(&t["id"]),
                                    s(&t["kind"]),
                                    s(&t["name"]),
                                    crate::api::rfc3339(t["expires_at"].as_i64().unwrap_or(0)),
                                ]
                            })
                            .collect();
                        print!("{}", table(&rows, &["ID", "KIND", "NAME", "EXPIRES"]));
                    }
                }
                TokenCmd::Create { name, ttl_days } => {
                    let v = c
                        .call(
                            reqwest::Method::POST,
                            "/api/v1/tokens",
                            Some(json!({"name": name, "ttl_secs": ttl_days * 86400})),
                        )
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!(
                            "{}\n(token {}; shown only now)",
                            s(&v["token"]),
                            s(&v["id"])
                        );
                    }
                }
                TokenCmd::Revoke { id } => {
                    c.call(
                        reqwest::Method::DELETE,
                        &format!("/api/v1/tokens/{}", urlencode(&id)),
                        None,
                    )
                    .await?;
                    println!("revoked {id}");
                }
            }
        }
        Command::Rule { cmd } => {
            let c = Client::new(&cli.server, cli.token)?;
            match cmd {
                RuleCmd::List => {
                    let v = c.get("/api/v1/alert-rules").await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        let rows: Vec<Vec<String>> = v
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|r| {
                                let firing = r["active"].as_array().map_or(0, |a| {
                                    a.iter().filter(|x| x["phase"] == "firing").count()
                                });
                                vec![
                                    s(&r["name"]),
                                    s(&r["source"]),
                                    if r["enabled"] == true { "yes" } else { "no" }.into(),
                                    s(&r["severity"]),
                                    firing.to_string(),
                                    s(&r["expr"]),
                                ]
                            })
                            .collect();
                        print!(
                            "{}",
                            table(
                                &rows,
                                &["NAME", "SOURCE", "ENABLED", "SEVERITY", "FIRING", "EXPR"]
                            )
                        );
                    }
                }
                RuleCmd::Show { name } => {
                    let v = c
                        .get(&format!("/api/v1/alert-rules/{}", urlencode(&name)))
                        .await?;
                    print(&v);
                }
                RuleCmd::Put {
                    name,
                    expr,
                    for_,
                    severity,
                    labels,
                    annotations,
                    disabled,
                    if_version,
                } => {
                    let mut labels = key_values(&labels, "label")?;
                    if let Some(sev) = severity {
                        labels.insert("severity".into(), Value::String(sev));
                    }
                    let body = json!({
                        "expr": expr,
                        "for": for_,
                        "labels": labels,
                        "annotations": key_values(&annotations, "annotation")?,
                        "enabled": !disabled,
                    });
                    let mut req = c
                        .http
                        .put(format!(
                            "{}/api/v1/alert-rules/{}",
                            c.base,
                            urlencode(&name)
                        ))
                        .json(&body);
                    if let Some(v) = if_version {
                        req = req.header("if-match", format!("\"{v}\""));
                    }
                    let v = c.send(req).await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!(
                            "stored alert rule {} version {}",
                            s(&v["rule"]["name"]),
                            v["rule"]["version"]
                        );
                    }
                }
                RuleCmd::Import { file } => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let req = c
                        .http
                        .post(format!("{}/api/v1/alert-rules/import", c.base))
                        .header("content-type", "application/yaml")
                        .body(text);
                    let v = c.send(req).await.map_err(|e| {
                        anyhow::anyhow!("{}: rules refused, none stored:\n{e}", file.display())
                    })?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        let names: Vec<String> = v["imported"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(s)
                            .collect();
                        println!("imported {} rule(s): {}", names.len(), names.join(", "));
                    }
                }
                RuleCmd::Delete { name } => {
                    c.call(
                        reqwest::Method::DELETE,
                        &format!("/api/v1/alert-rules/{}", urlencode(&name)),
                        None,
                    )
                    .await?;
                    println!("deleted alert rule {name}");
                }
            }
        }
        Command::Incident { cmd } => {
            let c = Client::new(&cli.server, cli.token)?;
            let path = |id: &str, tail: &str| format!("/api/v1/incidents/{}{tail}", urlencode(id));
            let verb = match &cmd {
                IncidentCmd::Ack { .. } => "ack",
                _ => "resolve",
            };
            match cmd {
                IncidentCmd::List { state, asset } => {
                    let mut q = vec![];
                    if let Some(st) = state {
                        q.push(format!("state={}", urlencode(&st)));
                    }
                    if let Some(a) = asset {
                        q.push(format!("asset={}", urlencode(&a)));
                    }
                    let v = c.get(&format!("/api/v1/incidents?{}", q.join("&"))).await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        let rows: Vec<Vec<String>> = v
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|i| {
                                vec![
                                    s(&i["id"]),
                                    s(&i["state"]),
                                    s(&i["severity"]),
                                    format!("{:.1}", i["priority"].as_f64().unwrap_or(0.0)),
                                    format!(
                                        "{} {}",
                                        s(&i["root_cause"]["fault"]),
                                        s(&i["root_cause"]["asset_name"])
                                    ),
                                    i["alert_count"].to_string(),
                                ]
                            })
                            .collect();
                        print!(
                            "{}",
                            table(
                                &rows,
                                &[
                                    "ID",
                                    "STATE",
                                    "SEVERITY",
                                    "PRIORITY",
                                    "ROOT CAUSE",
                                    "ALERTS"
                                ]
                            )
                        );
                    }
                }
                IncidentCmd::Show { id } => print(&c.get(&path(&id, "")).await?),
                IncidentCmd::Ack { id, note } | IncidentCmd::Resolve { id, note } => {
                    let v = c
                        .call(
                            reqwest::Method::POST,
                            &path(&id, &format!("/{verb}")),
                            Some(json!({"note": note})),
                        )
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!("incident {} is {}", s(&v["id"]), s(&v["state"]));
                    }
                }
                IncidentCmd::Merge { id, with, note } => {
                    let v = c
                        .call(
                            reqwest::Method::POST,
                            &path(&id, "/merge"),
                            Some(json!({"incidents": with, "note": note})),
                        )
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!(
                            "incident {} now holds {} alert(s)",
                            s(&v["id"]),
                            v["alert_count"]
                        );
                    }
                }
                IncidentCmd::Split {
                    id,
                    alerts,
                    root,
                    note,
                } => {
                    let v = c
                        .call(
                            reqwest::Method::POST,
                            &path(&id, "/split"),
                            Some(json!({"alerts": alerts, "root_asset": root, "note": note})),
                        )
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        println!(
                            "incident {} opened with {} alert(s), root cause {} {}",
                            s(&v["id"]),
                            v["alert_count"],
                            s(&v["root_cause"]["kind"]),
                            s(&v["root_cause"]["asset_name"])
                        );
                    }
                }
                IncidentCmd::Plan { id } => {
                    let v = c.get(&path(&id, "/plan")).await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        print!("{}", plan_table(&v));
                    }
                }
                IncidentCmd::Remediate {
                    id,
                    approve,
                    dry_run,
                } => {
                    let v = c
                        .call(
                            reqwest::Method::POST,
                            &path(&id, "/remediate"),
                            Some(json!({"approve": approve, "dry_run": dry_run})),
                        )
                        .await?;
                    if out == Output::Json {
                        print(&v);
                    } else {
                        print!("{}", plan_table(&v));
                    }
                }
            }
        }
        Command::Remediation { cmd } => {
            let c = Client::new(&cli.server, cli.token)?;
            let v = match cmd {
                RemediationCmd::Status => c.get("/api/v1/remediation").await?,
                RemediationCmd::KillSwitch { state, reason } => {
                    let on = match state.as_str() {
                        "on" => true,
                        "off" => false,
                        other => anyhow::bail!("kill-switch {other:?}: say 'on' or 'off'"),
                    };
                    c.call(
                        reqwest::Method::PUT,
                        "/api/v1/remediation/kill-switch",
                        Some(json!({"on": on, "reason": reason})),
                    )
                    .await?
                }
            };
            print(&v);
        }
        Command::Discover(a) => {
            let c = Client::new(&cli.server, cli.token)?;
            return discover(&c, a, out).await;
        }
        Command::Import { file, dry_run } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let fmt = if fleet_model::import::Format::guess(&file.to_string_lossy())
                == fleet_model::import::Format::Csv
            {
                "csv"
            } else {
                "yaml"
            };
            let c = Client::new(&cli.server, cli.token)?;
            let req = c
                .http
                .post(format!(
                    "{}/api/v1/import?format={fmt}&dry_run={dry_run}",
                    c.base
                ))
                .body(text)
                .header(
                    "content-type",
                    if fmt == "csv" {
                        "text/csv"
                    } else {
                        "application/yaml"
                    },
                );
            let v = c.send(req).await.map_err(|e| {
                anyhow::anyhow!(
                    "{}: import rejected, nothing was written:\n{e}",
                    file.display()
                )
            })?;
            if out == Output::Json {
                print(&v);
            } else {
                let created: Vec<String> = v["created"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect();
                println!(
                    "{}{}: {} and {} relation(s)",
                    if dry_run {
                        "dry run, nothing written: would import "
                    } else {
                        "imported "
                    },
                    file.display(),
                    created.join(", "),
                    s(&v["relations"])
                );
            }
        }
    }
    Ok(0)
}

/// `gpufleet discover`: registers BMCs and, with `--wait`, follows their inspection.
async fn discover(c: &Client, a: DiscoverArgs, out: Output) -> anyhow::Result<i32> {
    let mut bmcs: Vec<Value> = match &a.file {
        Some(f) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let v: Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", f.display()))?;
            v.as_array()
                .cloned()
                .with_context(|| format!("{}: expected a JSON list of BMCs", f.display()))?
        }
        None => vec![],
    };
    if bmcs.is_empty() && a.addresses.is_empty() && a.cidr.is_none() {
        anyhow::bail!("give BMC addresses, --file or --cidr");
    }
    let needs_password = !a.addresses.is_empty() || a.cidr.is_some();
    let password = if needs_password {
        read_secret("GPUFLEET_BMC_PASSWORD", "BMC password")?
    } else {
        String::new()
    };
    for addr in &a.addresses {
        bmcs.push(json!({
            "address": addr, "protocol": a.protocol, "username": a.username, "password": password,
            "accept_self_signed": a.accept_self_signed, "rack": a.rack, "profile": a.profile,
        }));
    }
    let mut body = json!({ "bmcs": bmcs });
    if let Some(cidr) = &a.cidr {
        body["sweep"] = json!({
            "cidr": cidr, "ports": a.ports, "scheme": a.scheme, "username": a.username,
            "password": password, "accept_self_signed": a.accept_self_signed,
            "rack": a.rack, "profile": a.profile,
        });
    }
    let v = c
        .call(reqwest::Method::POST, "/api/v1/discovery", Some(body))
        .await?;
    let results = v["results"].as_array().cloned().unwrap_or_default();
    if out == Output::Json && a.wait == 0 {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if out != Output::Json {
        if a.cidr.is_some() {
            println!(
                "probed {} addresses, found {} Redfish services",
                s(&v["probed"]),
                s(&v["found"])
            );
        }
        for r in &results {
            match r["error"].as_str() {
                Some(e) => println!("{:<32} FAILED: {e}", s(&r["address"])),
                None => println!(
                    "{:<32} {} {} ({})",
                    s(&r["address"]),
                    if r["created"] == true {
                        "new node"
                    } else {
                        "known node"
                    },
                    s(&r["node_name"]),
                    s(&r["state"])
                ),
            }
        }
        println!(
            "{} created, {} already known, {} failed",
            s(&v["created"]),
            s(&v["existing"]),
            s(&v["failed"])
        );
    }
    let failed = v["failed"].as_u64().unwrap_or(0) > 0;
    if a.wait == 0 {
        return Ok(if failed { 1 } else { 0 });
    }
    let ids: Vec<String> = results
        .iter()
        .filter_map(|r| r["node_id"].as_str().map(str::to_string))
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(a.wait);
    let mut states: Vec<(String, Value, String)> = ids
        .iter()
        .map(|id| (id.clone(), Value::Null, "discovered".to_string()))
        .collect();
    loop {
        for (id, name, st) in states.iter_mut() {
            if st == "discovered" || st == "inspecting" {
                let n = c.get(&format!("/api/v1/nodes/{}", urlencode(id))).await?;
                *name = n["name"].clone();
                *st = n["status"]["state"].as_str().unwrap_or("").to_string();
            }
        }
        let busy = states
            .iter()
            .filter(|(_, _, st)| st == "discovered" || st == "inspecting")
            .count();
        if busy == 0 || std::time::Instant::now() >= deadline {
            if out == Output::Json {
                let list: Vec<Value> = states
                    .iter()
                    .map(|(id, name, st)| json!({"id": id, "name": name, "state": st}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"discovery": v, "nodes": list}))
                        .unwrap_or_default()
                );
            } else {
                let ready = states.iter().filter(|(_, _, st)| st == "ready").count();
                let bad: Vec<String> = states
                    .iter()
                    .filter(|(_, _, st)| st == "inspection_failed")
                    .map(|(_, n, _)| s(n))
                    .collect();
                println!(
                    "{ready} of {} node(s) ready; {} inspection failed{}",
                    ids.len(),
                    bad.len(),
                    if bad.is_empty() {
                        String::new()
                    } else {
                        format!(" ({}); see `gpufleet node show NAME`", bad.join(", "))
                    }
                );
                if busy > 0 {
                    println!("{busy} node(s) still being inspected after {} s", a.wait);
                }
            }
            let all_ready = states.iter().all(|(_, _, st)| st == "ready");
            return Ok(if all_ready && !failed { 0 } else { 1 });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
