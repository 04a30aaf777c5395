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
    pub config: Config,
    pub deadlines: Deadlines,
    pub tokens: TokenCache,
    pub logins: LoginLimiter,
    pub metrics: Metrics,
    /// Published events (from the outbox relay), for in-process subscribers.
    pub events: tokio::sync::broadcast::Sender<Arc<String>>,
    /// The event bus the relay publishes to (in-process or NATS JetStream).
    pub bus: fleet_bus::SharedBus,
    /// The provisioning role (Tinkerbell), once started.
    pub provisioner: crate::provision::Slot,
    /// Cancelled when the server shuts down: ends long-lived responses (event streams).
    pub streams_done: tokio_util::sync::CancellationToken,
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
        let deadlines = config.deadlines();
        let logins = LoginLimiter::new(
            config.login_max_failures,
            Duration::from_secs(config.login_window_secs),
        );
        let (events, _) = tokio::sync::broadcast::channel(4096);
        AppState(Arc::new(Inner {
            store,
            config,
            deadlines,
            tokens: TokenCache::default(),
            logins,
            metrics: Metrics::default(),
            events,
            bus,
            provisioner: Default::default(),
            streams_done: tokio_util::sync::CancellationToken::new(),
        }))
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub token_id: String,
}

/// Caches token lookups for a few seconds so that a request does not always
/// cost a database round trip. Revocations through this process clear it at
/// once; other replicas see them within the TTL.
#[derive(Default)]
pub struct TokenCache {
    map: Mutex<HashMap<String, (Principal, i64, Instant)>>,
}

pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

impl TokenCache {
    pub fn get(&self, hash: &str, now_ms: i64) -> Option<Principal> {
        let m = self.map.lock();
        m.get(hash).and_then(|(p, expires_at, cached)| {
            (cached.elapsed() < TOKEN_CACHE_TTL && *expires_at > now_ms).then(|| p.clone())
        })
    }
    pub fn put(&self, hash: String, p: Principal, expires_at: i64) {
        let mut m = self.map.lock();
        if m.len() > 100_000 {
            m.clear();
        }
        m.insert(hash, (p, expires_at, Instant::now()));
    }
    pub fn clear(&self) {
        self.map.lock().clear();
    }
}

/// Counts failed logins per key (username, source address) in a sliding window.
pub struct LoginLimiter {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        LoginLimiter {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait when any of the keys is over its limit.
    pub fn blocked(&self, keys: &[String]) -> Option<u64> {
        let mut m = self.failures.lock();
        let now = Instant::now();
        let mut wait = None;
        for k in keys {
            if let Some(v) = m.get_mut(k) {
                v.retain(|t| now.duration_since(*t) < self.window);
                if v.len() as u32 >= self.max {
                    let oldest = v[0];
                    let secs = self
                        .window
                        .saturating_sub(now.duration_since(oldest))
                        .as_secs()
                        .max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait
    }

    pub fn fail(&self, keys: &[String]) {
        let mut m = self.failures.lock();
        if m.len() > 100_000 {
            m.clear();
        }
        for k in keys {
            m.entry(k.clone()).or_default().push(Instant::now());
        }
    }

    pub fn succeed(&self, keys: &[String]) {
        let mut m = self.failures.lock();
        for k in keys {
            m.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_max_failures_and_resets_on_success() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        let k = vec!["user:a".to_string()];
        for _ in 0..3 {
            assert!(l.blocked(&k).is_none());
            l.fail(&k);
        }
        assert!(l.blocked(&k).unwrap() >= 1);
        l.succeed(&k);
        assert!(l.blocked(&k).is_none());
    }
}
