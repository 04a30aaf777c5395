//! Start-up: configuration → store → secrets → first admin → relay → HTTP.

use std::path::Path;

use anyhow::Context;
use fleet_db::{Actor, NewUser, SecretBox, Store, StoreOptions};
use fleet_model::rbac::Role;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::state::AppState;

/// Loads the secret key from configuration, or from `data_dir/secret.key`,
/// generating that file (mode 0600) on first start.
pub fn secret_box(cfg: &Config) -> anyhow::Result<SecretBox> {
    if !cfg.secret_key.is_empty() {
        return SecretBox::from_base64(&cfg.secret_key, 1).context("secret_key");
    }
    let path = cfg.data_dir.join("secret.key");
    if !path.exists() {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
        write_private(&path, &SecretBox::generate_key())?;
        tracing::warn!(path = %path.display(), "generated a new secret key; back it up: encrypted BMC credentials cannot be read without it");
    }
    let key =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    SecretBox::from_base64(&key, 1).with_context(|| format!("secret key in {}", path.display()))
}

pub(crate) fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}

pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    if cfg.database_url.is_empty() {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("creating data directory {}", cfg.data_dir.display()))?;
    }
    let mut opts = StoreOptions::new(cfg.database_url());
    opts.max_connections = cfg.database_max_connections;
    let store = tokio::time::timeout(std::time::Duration::from_secs(30), Store::connect(&opts))
        .await
        .context("the database did not answer within 30 s")?
        .with_context(|| {
            format!(
                "opening the database {}",
                fleet_db::mask_url(&cfg.database_url())
            )
        })?;
    Ok(store.with_secrets(secret_box(cfg)?))
}

/// The GPU hot status: Redis when `redis_url` is set (refusing to start when it does not
/// answer within 5 s), else `None` (in memory).
pub async fn open_hot_status(
    cfg: &Config,
) -> anyhow::Result<Option<std::sync::Arc<dyn fleet_core::telemetry::HotStatus>>> {
    if cfg.redis_url.is_empty() {
        return Ok(None);
    }
    let hot = fleet_core::hot_redis::RedisHotStatus::connect(
        &cfg.redis_url,
        &cfg.redis_prefix,
        std::time::Duration::from_secs(5),
    )
    .await
    .map_err(|e| anyhow::anyhow!("hot status (redis_url): {e}"))?;
    tracing::info!(redis = %fleet_db::mask_url(&cfg.redis_url), prefix = %cfg.redis_prefix, "GPU hot status in Redis");
    Ok(Some(std::sync::Arc::new(hot)))
}

/// The GPU telemetry history from `[history]`: InfluxDB when `history.influx_url` is set,
/// else SQLite in `data_dir/history.db`. Nothing is contacted before the first write or query.
pub fn open_history(cfg: &Config) -> anyhow::Result<fleet_core::history::History> {
    let settings = cfg.history.settings();
    let path = cfg.data_dir.join("history.db");
    if cfg.history.influx_url.is_empty() {
        std::fs::create_dir_all(&cfg.data_dir)
            .map_err(|e| anyhow::anyhow!("data_dir {}: {e}", cfg.data_dir.display()))?;
    }
    let store = fleet_core::history::open(
        &cfg.history.influx_url,
        &cfg.history.influx_db,
        Some(&path),
        settings.clone(),
    )
    .map_err(|e| anyhow::anyhow!("history: {e}"))?;
    if cfg.history.influx_url.is_empty() {
        tracing::info!(path = %path.display(), "GPU telemetry history in SQLite");
    } else {
        tracing::info!(influx = %fleet_db::mask_url(&cfg.history.influx_url), db = %cfg.history.influx_db, "GPU telemetry history in InfluxDB");
    }
    Ok(fleet_core::history::History::new(store, settings))
}

/// The event bus from `[bus]`: NATS JetStream when `nats_url` is set (its
/// streams are created when missing), else the in-process bus.
pub async fn open_bus(cfg: &Config) -> anyhow::Result<fleet_bus::SharedBus> {
    let topo = cfg.bus.topology();
    if cfg.bus.nats_url.is_empty() {
        return Ok(std::sync::Arc::new(fleet_bus::InProcessBus::new(topo)));
    }
    let bus = fleet_bus::JetStreamBus::connect(
        &cfg.bus.nats_url,
        topo,
        std::time::Duration::from_secs(cfg.bus.connect_timeout_secs.max(1)),
    )
    .await
    .context("event bus (bus.nats_url)")?;
    Ok(std::sync::Arc::new(bus))
}

/// Creates user `admin` when there are no users: with `GPUFLEET_ADMIN_PASSWORD`,
/// or a random one-time password printed once.
pub async fn bootstrap_admin(store: &Store) -> anyhow::Result<()> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let (pw, generated) = match std::env::var("GPUFLEET_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => {
            use rand::Rng;
            let p: String = rand::thread_rng()
                .sample_iter(&rand::distributions::Alphanumeric)
                .take(20)
                .map(char::from)
                .collect();
            (p, true)
        }
    };
    let hash = crate::auth::hash_password(&pw)?;
    store
        .create_user(
            &Actor::system("gpufleet"),
            NewUser {
                username: "admin".into(),
                password_hash: hash,
                role: Role::Admin,
            },
        )
        .await?;
    if generated {
        println!("created user 'admin' with one-time password: {pw}");
        println!("(it is shown only now; change it with: gpufleet user passwd admin)");
    } else {
        println!("created user 'admin' with the password from GPUFLEET_ADMIN_PASSWORD");
    }
    Ok(())
}

pub fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GPUFLEET_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

/// Runs every role in this process until SIGTERM or Ctrl-C.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    // A bad certificate or key stops start-up before anything runs.
    let tls = if cfg.tls.enabled() {
        Some(crate::tls::server_config(&cfg.tls)?)
    } else {
        None
    };
    let store = open_store(&cfg).await?;
    bootstrap_admin(&store).await?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let grpc_listener = match cfg.grpc_listen.as_str() {
        "" => None,
        g => Some(
            tokio::net::TcpListener::bind(g)
                .await
                .with_context(|| format!("gRPC listening on {g}"))?,
        ),
    };
    let bus = open_bus(&cfg).await?;
    let hot = open_hot_status(&cfg).await?;
    let history = open_history(&cfg)?;
    let st = AppState::with_parts(store.clone(), cfg.clone(), bus, hot, Some(history));
    let shutdown = CancellationToken::new();
    crate::provision::start(&st, shutdown.clone()).await?;
    let relay = tokio::spawn(crate::relay::run(st.clone(), shutdown.clone()));
    let enricher = cfg
        .enricher
        .enabled
        .then(|| crate::enricher::start(st.clone(), shutdown.clone()));
    // Correlation: graph refresh, incidents resolving as their alerts end, old alerts forgotten.
    {
        let (core, done) = (st.core.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
            loop {
                tokio::select! {
                    _ = done.cancelled() => break,
                    _ = every.tick() => {
                        if let Err(e) = core.correlation_tick().await {
                            tracing::warn!(error = %e, "correlation tick");
                        }
                    }
                }
            }
        });
    }
    // The recovery ladder of nodes stuck past their state's deadline, and the automatic
    // diagnosis of nodes remediation drained (both need the provisioning engine).
    {
        let (st, done) = (st.clone(), shutdown.clone());
        let period = std::time::Duration::from_secs(cfg.recovery.interval_secs.max(1));
        let ladder = cfg.recovery.enabled && cfg.recovery.interval_secs > 0;
        tokio::spawn(async move {
            let mut every = tokio::time::interval(period);
            every.tick().await;
            loop {
                tokio::select! {
                    _ = done.cancelled() => break,
                    _ = every.tick() => {
                        let engine = crate::api::provision::engine(&st);
                        let started = st.core.diagnose_drained(engine.as_ref()).await;
                        if !started.is_empty() {
                            tracing::info!(diagnoses = started.len(), "diagnoses started");
                        }
                        if !ladder {
                            continue;
                        }
                        match st.core.recovery_round(engine.as_ref()).await {
                            Ok(r) if !r.actions.is_empty() || r.deferred > 0 => tracing::info!(
                                stuck = r.stuck, acted = r.actions.len(), deferred = r.deferred,
                                "recovery round"
                            ),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "recovery round"),
                        }
                    }
                }
            }
        });
    }
    let sig = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: draining requests");
        sig.cancel();
    });
    let grpc = match grpc_listener {
        Some(l) => {
            let at = l.local_addr()?;
            let task = tokio::spawn(crate::grpc::serve(st.clone(), l, shutdown.clone()));
            Some((at, task))
        }
        None => None,
    };
    let backend = match store.dialect() {
        fleet_db::Dialect::Postgres => "PostgreSQL".to_string(),
        fleet_db::Dialect::Sqlite => format!("SQLite in {}", cfg.data_dir.display()),
    };
    if let Some((tls, certs)) = tls {
        crate::tls::reload_on_sighup(certs, shutdown.clone());
        println!("gpufleet listening on https://{addr} (API docs: https://{addr}/api/v1/docs/; store: {backend})");
        announce_grpc(&grpc);
        let l = crate::tls::TlsListener::new(listener, tls, shutdown.clone());
        crate::app::serve_on(st, l, shutdown.clone()).await?;
    } else {
        println!("gpufleet listening on http://{addr} (API docs: http://{addr}/api/v1/docs/; store: {backend})");
        announce_grpc(&grpc);
        crate::app::serve(st, listener, shutdown.clone()).await?;
    }
    shutdown.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), relay).await;
    if let Some((_, task)) = grpc {
        match tokio::time::timeout(std::time::Duration::from_secs(5), task).await {
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "gRPC server failed"),
            Ok(_) => {}
            Err(_) => tracing::warn!("gRPC server did not stop within 5 s"),
        }
    }
    if let Some(e) = enricher {
        e.join(std::time::Duration::from_secs(5)).await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Printed after the HTTP line, which scripts read for the API address.
fn announce_grpc(
    grpc: &Option<(
        std::net::SocketAddr,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
) {
    if let Some((at, _)) = grpc {
        println!("gpufleet gRPC API at {at} (plaintext HTTP/2; health and reflection served)");
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
