//! Shared server state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_db::{Store, User};
use fleet_model::lifecycle::Deadlines;
use parking_lot::Mutex;

use crate::config::Config;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub store: Store,
    /// The application core: use cases with their permission checks; the job worker.
    pub core: fleet_core::Core,
    /// The GraphQL schema (built once).
    pub graphql: crate::graphql::FleetSchema,
    pub config: Config,
    pub deadlines: Deadlines,
    pub tokens: TokenCache,
    pub metrics: Metrics,
    /// Published events (from the outbox relay), for in-process subscribers.
    pub events: tokio::sync::broadcast::Sender<Arc<String>>,
    /// The event bus the relay publishes to (in-process or NATS JetStream).
    pub bus: fleet_bus::SharedBus,
    /// The provisioning role (Tinkerbell), once started.
    pub provisioner: crate::provision::Slot,
    /// Cancelled when the server shuts down: ends long-lived responses (event streams).
    pub streams_done: tokio_util::sync::CancellationToken,
    /// Per-token limits of the telemetry write routes.
    pub write_limits: crate::ratelimit::WriteLimits,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// With the in-process bus.
    pub fn new(store: Store, config: Config) -> AppState {
        let bus = Arc::new(fleet_bus::InProcessBus::new(config.bus.topology()));
        Self::with_bus(store, config, bus)
    }

    pub fn with_bus(store: Store, config: Config, bus: fleet_bus::SharedBus) -> AppState {
        Self::with_parts(store, config, bus, None, None)
    }

    /// With the given bus, hot status and history (`None`: the in-memory ones).
    pub fn with_parts(
        store: Store,
        config: Config,
        bus: fleet_bus::SharedBus,
        hot: Option<Arc<dyn fleet_core::telemetry::HotStatus>>,
        history: Option<fleet_core::history::History>,
    ) -> AppState {
        let deadlines = config.deadlines();
        let (events, _) = tokio::sync::broadcast::channel(4096);
        let mut settings = config.operations.core_settings(&config.data_dir);
        settings.identity = fleet_core::identity::IdentitySettings {
            session_ttl: Duration::from_secs(config.session_ttl_secs),
            api_token_ttl: Duration::from_secs(config.api_token_ttl_secs),
            api_token_max_ttl: Duration::from_secs(config.api_token_max_ttl_secs),
            login_max_failures: config.login_max_failures,
            login_window: Duration::from_secs(config.login_window_secs),
        };
        settings.correlation.escalate_after =
            Duration::from_secs(config.correlation.escalate_after_secs);
        settings.correlation.remediation = fleet_core::remediation::RemediationSettings {
            automatic: config.remediation.automatic,
            rails: config.remediation.guard_rails.clone(),
        };
        settings.recovery = fleet_core::recovery::RecoverySettings {
            enabled: config.recovery.enabled,
            max_actions_per_hour: config.recovery.max_actions_per_hour,
            deadlines: deadlines.clone(),
        };
        let hot =
            hot.unwrap_or_else(|| Arc::new(fleet_core::telemetry::MemoryHotStatus::default()));
        let history = history.unwrap_or_else(fleet_core::history::History::in_memory);
        let core = fleet_core::Core::with_ports(store.clone(), settings, hot, history);
        AppState(Arc::new(Inner {
            core,
            graphql: crate::graphql::schema(),
            store,
            deadlines,
            tokens: TokenCache::default(),
            metrics: Metrics::default(),
            events,
            bus,
            provisioner: Default::default(),
            streams_done: tokio_util::sync::CancellationToken::new(),
            write_limits: crate::ratelimit::WriteLimits::new(
                config.telemetry.write_lines_per_sec,
                config.telemetry.write_burst_secs,
            ),
            config,
        }))
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub token_id: String,
}

impl Principal {
    /// The authenticated user as the application core's principal, with what the audit log
    /// records about the request.
    pub fn core(
        &self,
        source: Option<String>,
        request_id: Option<String>,
    ) -> fleet_core::Principal {
        fleet_core::Principal::user(
            self.user.id.clone(),
            self.user.username.clone(),
            self.user.role,
        )
        .with_request(source, request_id)
    }
}

/// Caches token lookups for a few seconds so that a request does not always
/// cost a database round trip. An entry holds only for the core's identity generation it
/// was cached in, so changes of users and tokens through this process end it at once; other
/// replicas see them within the TTL.
#[derive(Default)]
pub struct TokenCache {
    map: Mutex<HashMap<String, (Principal, i64, Instant, u64)>>,
}

pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

impl TokenCache {
    pub fn get(&self, hash: &str, now_ms: i64, generation: u64) -> Option<Principal> {
        let m = self.map.lock();
        m.get(hash).and_then(|(p, expires_at, cached, gen)| {
            (cached.elapsed() < TOKEN_CACHE_TTL && *expires_at > now_ms && *gen == generation)
                .then(|| p.clone())
        })
    }
    pub fn put(&self, hash: String, p: Principal, expires_at: i64, generation: u64) {
        let mut m = self.map.lock();
        if m.len() > 100_000 {
            m.clear();
        }
        m.insert(hash, (p, expires_at, Instant::now(), generation));
    }
    pub fn clear(&self) {
        self.map.lock().clear();
    }
}
