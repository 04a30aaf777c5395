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
        let core = fleet_core::Core::new(
            store.clone(),
            config.operations.core_settings(&config.data_dir),
        );
        AppState(Arc::new(Inner {
            core,
            graphql: crate::graphql::schema(),
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

/// Counts failed logins per key in a sliding window. The login handler uses two keys: the
/// (user name, source address) pair, so that failures from one address lock that user out
/// from that address only (nobody can lock an admin out from everywhere), and the source
/// address, so that one address cannot try many user names (password spraying). A success
/// clears only the pair: one valid account does not reset an address's failures.
pub struct LoginLimiter {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

/// Keys tracked at most; past it, expired keys go first, then the least recently failed.
const LIMITER_MAX_KEYS: usize = 100_000;

impl LoginLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        LoginLimiter {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The keys a login attempt by `username` from `source` counts against.
    pub fn keys(username: &str, source: Option<&str>) -> Vec<String> {
        let addr = source.unwrap_or("-");
        vec![format!("user:{username}@{addr}"), format!("addr:{addr}")]
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
        let now = Instant::now();
        if m.len() >= LIMITER_MAX_KEYS {
            self.prune(&mut m, now);
        }
        for k in keys {
            let v = m.entry(k.clone()).or_default();
            v.push(now);
            // Only the last `max` failures matter for blocking.
            if v.len() > self.max as usize {
                v.remove(0);
            }
        }
    }

    /// Drops expired keys; if that is not enough, keys below the limit, least recently failed
    /// first, down to half the capacity: a flood of new keys cannot erase a block.
    fn prune(&self, m: &mut HashMap<String, Vec<Instant>>, now: Instant) {
        m.retain(|_, v| {
            v.last()
                .is_some_and(|t| now.duration_since(*t) < self.window)
        });
        if m.len() >= LIMITER_MAX_KEYS {
            let max = self.max as usize;
            let mut last: Vec<((bool, Instant), String)> = m
                .iter()
                .filter_map(|(k, v)| v.last().map(|t| ((v.len() >= max, *t), k.clone())))
                .collect();
            last.sort();
            for (_, k) in last.into_iter().take(m.len() - LIMITER_MAX_KEYS / 2) {
                m.remove(&k);
            }
        }
    }

    /// A successful login: clears the (user, address) key only.
    pub fn succeed(&self, keys: &[String]) {
        let mut m = self.failures.lock();
        for k in keys.iter().filter(|k| k.starts_with("user:")) {
            m.remove(k);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.failures.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_max_failures_and_resets_the_pair_on_success() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        let k = LoginLimiter::keys("a", Some("10.0.0.1"));
        for _ in 0..3 {
            assert!(l.blocked(&k).is_none());
            l.fail(&k);
        }
        assert!(l.blocked(&k).unwrap() >= 1);
        l.succeed(&k);
        assert!(l.blocked(&[k[0].clone()]).is_none(), "the pair is cleared");
        assert!(
            l.blocked(&k).is_some(),
            "the address keeps its failures: one valid account does not reset them"
        );
    }

    #[test]
    fn failures_from_one_address_do_not_lock_the_user_out_elsewhere() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        let attacker = LoginLimiter::keys("admin", Some("10.6.6.6"));
        for _ in 0..10 {
            l.fail(&attacker);
        }
        assert!(l.blocked(&attacker).is_some());
        assert!(l
            .blocked(&LoginLimiter::keys("admin", Some("10.0.0.2")))
            .is_none());
        // Spraying many user names from one address is stopped by the address key.
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        for u in ["a", "b", "c"] {
            l.fail(&LoginLimiter::keys(u, Some("10.6.6.6")));
        }
        assert!(l
            .blocked(&LoginLimiter::keys("d", Some("10.6.6.6")))
            .is_some());
    }

    #[test]
    fn a_full_limiter_keeps_recent_failures() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        let victim = LoginLimiter::keys("admin", Some("10.0.0.9"));
        for _ in 0..3 {
            l.fail(&victim);
        }
        for i in 0..LIMITER_MAX_KEYS {
            l.fail(&[format!("addr:flood-{i}")]);
        }
        assert!(l.len() <= LIMITER_MAX_KEYS, "{}", l.len());
        assert!(
            l.blocked(&victim).is_some(),
            "recent failures survive a flood of new keys"
        );
    }
}
