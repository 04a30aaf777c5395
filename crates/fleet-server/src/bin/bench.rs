//! API benchmark: seeds a synthetic fleet, serves the API in-process on
//! 127.0.0.1, and drives it with concurrent HTTP clients. Prints p50/p99
//! latency and requests/s for get node, a filtered paginated list, and a
//! lifecycle transition. Figures only: nothing is asserted.
//!
//!   gpufleet-bench --store sqlite
//!   gpufleet-bench --store postgres --database-url postgres://…   (or GPUFLEET_TEST_POSTGRES_URL)
//!
//! With `--seed-into DIR` it only seeds the fleet into the store that `gpufleet serve
//! --data-dir DIR` opens (or into `--database-url`), prints the seeded ids as JSON and exits:
//! `scripts/bench-interfaces.sh` serves that store with the real binary and drives it from
//! separate load-generator processes.

use std::sync::Arc;

// The server allocates many short-lived buffers per request; mimalloc keeps that cheap under concurrency.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use fleet_db::{Actor, NewUser, SecretBox, Store, StoreOptions};
use fleet_model::rbac::Role;
use fleet_server::config::Config;
use fleet_server::state::AppState;
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(about = "Benchmark the gpufleet REST API on a seeded fleet")]
struct Args {
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// PostgreSQL URL whose user may create databases (a fresh database is created and dropped).
    #[arg(long, env = "GPUFLEET_TEST_POSTGRES_URL")]
    database_url: Option<String>,
    #[arg(long, default_value_t = 10_000)]
    nodes: usize,
    #[arg(long, default_value_t = 8)]
    gpus: usize,
    #[arg(long, default_value_t = 100)]
    racks: usize,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Only seed the store of this data directory (with --store postgres: of --database-url),
    /// print the seeded ids as JSON and exit.
    #[arg(long)]
    seed_into: Option<std::path::PathBuf>,
}

/// `--seed-into`: the fleet written into the store a `gpufleet serve` will open.
async fn seed_only(args: &Args, data_dir: &std::path::Path) -> anyhow::Result<()> {
    let cfg = Config {
        data_dir: data_dir.to_path_buf(),
        database_url: match args.store.as_str() {
            "sqlite" => String::new(),
            "postgres" => args
                .database_url
                .clone()
                .context("--store postgres needs --database-url")?,
            other => anyhow::bail!("--store must be sqlite or postgres, not {other}"),
        },
        ..Default::default()
    };
    let store = fleet_server::server::open_store(&cfg).await?;
    let t = Instant::now();
    let seed = store
        .seed_fleet(&Actor::system("bench"), args.racks, args.nodes, args.gpus)
        .await?;
    let in_service: Vec<&String> = seed
        .node_ids
        .iter()
        .zip(&seed.node_states)
        .filter(|(_, s)| **s == "in_service")
        .map(|(id, _)| id)
        .collect();
    println!(
        "{}",
        json!({
            "nodes": seed.node_ids.len(),
            "gpus": seed.gpus,
            "racks": seed.rack_ids,
            "in_service": in_service,
            "seconds": t.elapsed().as_secs_f64(),
        })
    );
    store.close().await;
    Ok(())
}

struct Fixture {
    node_ids: Vec<String>,
    in_service: Vec<String>,
    /// Whether each node of `in_service` is currently draining (kept across runs).
    draining: Vec<std::sync::atomic::AtomicBool>,
    rack_ids: Vec<String>,
}

#[derive(Clone, Copy)]
enum Scenario {
    GetNode,
    ListFiltered,
    Transition,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::GetNode => "GET /nodes/{id} (node + 8 GPUs + relations)",
            Scenario::ListFiltered => "GET /nodes?state&rack&label&limit=50 (+ next page)",
            Scenario::Transition => "POST /nodes/{id}/transition (in_service <-> draining)",
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn run_scenario(
    sc: Scenario,
    base: &str,
    token: &str,
    fx: Arc<Fixture>,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<(Vec<f64>, usize, f64)> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let http = http.clone();
        let base = base.to_string();
        let token = token.to_string();
        let fx = fx.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = worker * 7919;
            // Each worker owns a disjoint slice of in-service nodes for transitions.
            let mine: Vec<usize> = (worker..fx.in_service.len()).step_by(concurrency).collect();
            while Instant::now() < deadline {
                i = i.wrapping_mul(1103515245).wrapping_add(12345) % (1 << 31);
                let t0 = Instant::now();
                let ok = match sc {
                    Scenario::GetNode => {
                        let id = &fx.node_ids[i % fx.node_ids.len()];
                        http.get(format!("{base}/api/v1/nodes/{id}")).bearer_auth(&token).send().await.map(|r| r.status().is_success()).unwrap_or(false)
                    }
                    Scenario::ListFiltered => {
                        let rack = &fx.rack_ids[i % fx.rack_ids.len()];
                        let url = format!("{base}/api/v1/nodes?state=in_service&rack={rack}&label=tier=std&limit=50");
                        match http.get(&url).bearer_auth(&token).send().await {
                            Ok(r) if r.status().is_success() => {
                                // Every fourth request also fetches the next page.
                                if i % 4 == 0 {
                                    let v: serde_json::Value = r.json().await.unwrap_or_default();
                                    match v["next_cursor"].as_str() {
                                        Some(c) => http.get(format!("{url}&cursor={c}")).bearer_auth(&token).send().await.map(|r| r.status().is_success()).unwrap_or(false),
                                        None => true,
                                    }
                                } else {
                                    r.bytes().await.is_ok()
                                }
                            }
                            _ => false,
                        }
                    }
                    Scenario::Transition => {
                        if mine.is_empty() {
                            break;
                        }
                        let k = mine[i % mine.len()];
                        let is_draining = fx.draining[k].load(std::sync::atomic::Ordering::Relaxed);
                        let to = if is_draining { "in_service" } else { "draining" };
                        let ok = http
                            .post(format!("{base}/api/v1/nodes/{}/transition", fx.in_service[k]))
                            .bearer_auth(&token)
                            .json(&json!({"to": to, "reason": "benchmark"}))
                            .send()
                            .await
                            .map(|r| r.status().is_success())
                            .unwrap_or(false);
                        if ok {
                            fx.draining[k].store(!is_draining, std::sync::atomic::Ordering::Relaxed);
                        }
                        ok
                    }
                };
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                if ok {
                    lat.push(ms);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Ok((all, errors, elapsed))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sqlx::any::install_default_drivers();
    if let Some(dir) = &args.seed_into {
        return seed_only(&args, dir).await;
    }
    let dir = tempfile_dir()?;
    let (url, pg_cleanup) = match args.store.as_str() {
        "sqlite" => (
            format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
            None,
        ),
        "postgres" => {
            use sqlx::Connection;
            let base = args.database_url.clone().context("--store postgres needs --database-url or GPUFLEET_TEST_POSTGRES_URL (scripts/services.sh up prints it)")?;
            let name = format!("gpufleet_bench_{}", std::process::id());
            let mut c = sqlx::AnyConnection::connect(&base)
                .await
                .context("connecting to PostgreSQL")?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&mut c)
                .await?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .await?;
            let (prefix, _) = base.rsplit_once('/').context("URL without a database")?;
            (format!("{prefix}/{name}"), Some((base, name)))
        }
        other => anyhow::bail!("--store must be sqlite or postgres, not {other}"),
    };
    let mut opts = StoreOptions::new(url);
    opts.max_connections = 32;
    let store = Store::connect(&opts)
        .await?
        .with_secrets(SecretBox::from_base64(&SecretBox::generate_key(), 1)?);
    let t = Instant::now();
    let seed = store
        .seed_fleet(&Actor::system("bench"), args.racks, args.nodes, args.gpus)
        .await?;
    let seed_secs = t.elapsed().as_secs_f64();
    store
        .create_user(
            &Actor::system("bench"),
            NewUser {
                username: "bench".into(),
                password_hash: fleet_server::auth::hash_password("bench-password")?,
                role: Role::Admin,
            },
        )
        .await?;

    let cfg = Config {
        data_dir: dir.clone(),
        ..Default::default()
    };
    let st = AppState::new(store.clone(), cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    tokio::spawn(fleet_server::relay::run(st.clone(), shutdown.clone()));
    let server = tokio::spawn(fleet_server::app::serve(st, listener, shutdown.clone()));
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "bench", "password": "bench-password"}))
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?["token"]
        .as_str()
        .context("login")?
        .to_string();
    let in_service: Vec<String> = seed
        .node_ids
        .iter()
        .zip(&seed.node_states)
        .filter(|(_, s)| **s == "in_service")
        .map(|(id, _)| id.clone())
        .collect();
    let draining = in_service
        .iter()
        .map(|_| std::sync::atomic::AtomicBool::new(false))
        .collect();
    let fx = Arc::new(Fixture {
        node_ids: seed.node_ids.clone(),
        in_service,
        draining,
        rack_ids: seed.rack_ids.clone(),
    });

    println!("gpufleet API benchmark");
    println!(
        "  store: {}   fleet: {} racks, {} nodes, {} GPUs (seeded in {seed_secs:.1} s)",
        args.store, args.racks, args.nodes, seed.gpus
    );
    println!("  clients: {} concurrent, {} s per scenario, server and clients in one process on {} cores", args.concurrency, args.seconds, std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0));
    println!();
    println!(
        "  {:<56} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "scenario", "p50 ms", "p99 ms", "req/s", "ok", "errors"
    );
    for sc in [
        Scenario::GetNode,
        Scenario::ListFiltered,
        Scenario::Transition,
    ] {
        // Short warm-up, then the measured run.
        run_scenario(sc, &base, &token, fx.clone(), args.concurrency, 1).await?;
        let (lat, errors, secs) = run_scenario(
            sc,
            &base,
            &token,
            fx.clone(),
            args.concurrency,
            args.seconds,
        )
        .await?;
        println!(
            "  {:<56} {:>9.2} {:>9.2} {:>9.0} {:>8} {:>7}",
            sc.name(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.len() as f64 / secs,
            lat.len(),
            errors
        );
    }
    println!();
    println!(
        "  peak resident memory of the process: {:.0} MiB",
        rss_mib()
    );
    let v = store.verify_audit().await?;
    println!(
        "  audit chain after the run: {} ({} rows)",
        if v.ok { "intact" } else { "BROKEN" },
        v.rows_checked
    );
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    store.close().await;
    if let Some((base, name)) = pg_cleanup {
        use sqlx::Connection;
        let mut c = sqlx::AnyConnection::connect(&base).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c)
            .await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("gpufleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
