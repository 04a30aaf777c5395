//! Users, tokens and logins. Logging in is the one use case without a principal (it makes
//! one): it checks the password against an argon2id hash in constant-looking time, counts
//! failures in [`LoginLimiter`] and audits them. Every other use case takes the caller's
//! principal: `SelfService` for one's own tokens, `UserAdmin` for users and other users'
//! tokens. Each change of a user or token bumps [`Core::identity_generation`], so that
//! interfaces caching authenticated tokens drop what they hold.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use fleet_db::{Actor, NewUser, Token, TokenKind, User, UserPatch};
use fleet_model::rbac::{Permission, Role};
use parking_lot::Mutex;

use crate::error::{CoreError, CoreResult};
use crate::principal::{Principal, PrincipalKind};
use crate::Core;

/// Lifetimes of tokens and the login limit.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    /// Lifetime of a session token (login).
    pub session_ttl: Duration,
    /// Lifetime of an API token when the request names none.
    pub api_token_ttl: Duration,
    /// Longest lifetime an API token may ask for.
    pub api_token_max_ttl: Duration,
    /// Failed logins allowed per (user, address) and per address within `login_window`.
    pub login_max_failures: u32,
    pub login_window: Duration,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            session_ttl: Duration::from_secs(12 * 3600),
            api_token_ttl: Duration::from_secs(90 * 24 * 3600),
            api_token_max_ttl: Duration::from_secs(90 * 24 * 3600),
            login_max_failures: 10,
            login_window: Duration::from_secs(300),
        }
    }
}

pub fn hash_password(pw: &str) -> CoreResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map_err(|e| CoreError::Internal(format!("hashing password: {e}")))?
        .to_string())
}

pub fn verify_password(pw: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// The password policy, explaining itself.
pub fn check_password_policy(pw: &str) -> CoreResult<()> {
    if pw.chars().count() < 8 {
        return Err(CoreError::Unprocessable(
            "password must have at least 8 characters".into(),
        ));
    }
    Ok(())
}

/// A real argon2id hash to verify against when the user does not exist, so that an unknown
/// user costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not-a-password").unwrap_or_default())
}

/// A new session: the token in clear (shown once), its row and the user.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub info: Token,
    pub user: User,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// A change of a user: a new password, role or disabled flag.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub password: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// The user id of a user principal; system principals hold no tokens.
fn user_id(p: &Principal) -> CoreResult<&str> {
    match &p.kind {
        PrincipalKind::User { id, .. } => Ok(id),
        PrincipalKind::System(r) => Err(CoreError::Forbidden(format!(
            "system role '{}' has no tokens of its own",
            r.name()
        ))),
    }
}

impl Core {
    /// Changes whenever a user or token changes in this process: a cache of authenticated
    /// tokens is valid only for the generation it was filled in.
    pub fn identity_generation(&self) -> u64 {
        self.identity_gen.load(Ordering::Acquire)
    }

    fn identity_changed(&self) {
        self.identity_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// Logs `username` in from `source` (an address, for the rate limit and the audit log):
    /// a session token on success; a failure is counted, audited and told apart from nothing
    /// (unknown user, wrong password and disabled user read the same).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        source: Option<String>,
        request_id: Option<String>,
    ) -> CoreResult<Session> {
        let keys = LoginLimiter::keys(username, source.as_deref());
        if let Some(wait) = self.logins.blocked(&keys) {
            return Err(CoreError::RateLimited {
                title: "Too many failed logins",
                message: format!("too many failed logins; retry in {wait} s"),
                retry_after_secs: wait,
            });
        }
        let actor = Actor {
            name: username.to_string(),
            source,
            request_id,
        };
        let user = self.store.find_user(username).await?;
        let ok = match &user {
            Some(u) => verify_password(password, &u.password_hash) && !u.disabled,
            None => {
                verify_password(password, dummy_hash());
                false
            }
        };
        let Some(user) = user.filter(|_| ok) else {
            self.logins.fail(&keys);
            self.store
                .audit(
                    &actor,
                    fleet_db::AuditEntry {
                        action: "auth.login_failed",
                        kind: "auth",
                        target: None,
                        before: None,
                        after: Some(serde_json::json!({"username": username})),
                    },
                )
                .await?;
            return Err(CoreError::Unauthenticated(
                "wrong username or password, or the user is disabled".into(),
            ));
        };
        self.logins.succeed(&keys);
        let ttl = self.settings.identity.session_ttl.as_millis() as i64;
        let (info, token) = self
            .store
            .create_token(&actor, &user.id, TokenKind::Session, None, ttl)
            .await?;
        Ok(Session { token, info, user })
    }

    /// Ends the session or API token `token_id` of the caller (logout).
    pub async fn logout(&self, p: &Principal, token_id: &str) -> CoreResult<()> {
        p.require(Permission::SelfService, "log out")?;
        let uid = user_id(p)?;
        let t = self.store.get_token(token_id).await?;
        if t.user_id != uid {
            return Err(CoreError::NotFound(format!(
                "token '{token_id}' does not exist"
            )));
        }
        self.store.revoke_token(&p.actor(), token_id).await?;
        self.identity_changed();
        Ok(())
    }

    /// The caller's active tokens, or (`all`, `UserAdmin`) everyone's.
    pub async fn tokens(&self, p: &Principal, all: bool) -> CoreResult<Vec<Token>> {
        p.require(Permission::SelfService, "list tokens")?;
        if all {
            p.require(Permission::UserAdmin, "list every user's tokens")?;
            return Ok(self.store.list_tokens(None).await?);
        }
        Ok(self.store.list_tokens(Some(user_id(p)?)).await?)
    }

    /// An API token for automation with the caller's role; `ttl` defaults from the settings
    /// and is bounded by them. Returns the row and the token in clear (shown once).
    pub async fn create_token(
        &self,
        p: &Principal,
        name: &str,
        ttl: Option<Duration>,
    ) -> CoreResult<(Token, String)> {
        p.require(Permission::SelfService, "create API tokens")?;
        let s = &self.settings.identity;
        let ttl = ttl.unwrap_or(s.api_token_ttl);
        let max = s.api_token_max_ttl.as_secs();
        if ttl.is_zero() || ttl.as_secs() > max {
            return Err(CoreError::Invalid(format!(
                "'ttl_secs' must be between 1 and {max} (api_token_max_ttl_secs)"
            )));
        }
        if name.trim().is_empty() {
            return Err(CoreError::Invalid("'name' must not be empty".into()));
        }
        let uid = user_id(p)?.to_string();
        let t = self
            .store
            .create_token(
                &p.actor(),
                &uid,
                TokenKind::Api,
                Some(name.to_string()),
                ttl.as_millis() as i64,
            )
            .await?;
        Ok(t)
    }

    /// Revokes a token: the caller's own, or anyone's with `UserAdmin`. Someone else's token
    /// is not found for a caller who may not revoke it (its existence is not told).
    pub async fn revoke_token(&self, p: &Principal, id: &str) -> CoreResult<()> {
        p.require(Permission::SelfService, "revoke tokens")?;
        let t = self.store.get_token(id).await?;
        let own = matches!(&p.kind, PrincipalKind::User { id: uid, .. } if *uid == t.user_id);
        if !own && !p.allows(Permission::UserAdmin) {
            return Err(CoreError::NotFound(format!("token '{id}' does not exist")));
        }
        self.store.revoke_token(&p.actor(), id).await?;
        self.identity_changed();
        Ok(())
    }

    pub async fn users(&self, p: &Principal) -> CoreResult<Vec<User>> {
        p.require(Permission::UserAdmin, "list users")?;
        Ok(self.store.list_users().await?)
    }

    /// The user `id` (an id or a user name).
    pub async fn user(&self, p: &Principal, id: &str) -> CoreResult<User> {
        p.require(Permission::UserAdmin, "read users")?;
        self.user_by_id_or_name(id).await
    }

    async fn user_by_id_or_name(&self, id: &str) -> CoreResult<User> {
        match self.store.get_user(id).await {
            Ok(u) => Ok(u),
            Err(fleet_db::DbError::NotFound(_)) => self
                .store
                .find_user(id)
                .await?
                .ok_or_else(|| CoreError::NotFound(format!("user '{id}' does not exist"))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn create_user(&self, p: &Principal, u: UserSpec) -> CoreResult<User> {
        p.require(Permission::UserAdmin, "create users")?;
        check_password_policy(&u.password)?;
        let password_hash = hash_password(&u.password)?;
        Ok(self
            .store
            .create_user(
                &p.actor(),
                NewUser {
                    username: u.username,
                    password_hash,
                    role: u.role,
                },
            )
            .await?)
    }

    /// Changes a user's password, role or disabled flag; disabling revokes the user's tokens.
    /// Nobody disables themselves or drops their own admin role (another admin must).
    pub async fn update_user(&self, p: &Principal, id: &str, c: UserChange) -> CoreResult<User> {
        p.require(Permission::UserAdmin, "change users")?;
        let u = self.user_by_id_or_name(id).await?;
        let is_self = matches!(&p.kind, PrincipalKind::User { id: uid, .. } if *uid == u.id);
        if is_self && (c.disabled == Some(true) || c.role.is_some_and(|r| r != Role::Admin)) {
            return Err(CoreError::conflict(
                "Conflict",
                "you cannot disable yourself or drop your own admin role; ask another admin",
            ));
        }
        let password_hash = match &c.password {
            Some(pw) => {
                check_password_policy(pw)?;
                Some(hash_password(pw)?)
            }
            None => None,
        };
        let u = self
            .store
            .update_user(
                &p.actor(),
                &u.id,
                UserPatch {
                    password_hash,
                    role: c.role,
                    disabled: c.disabled,
                },
            )
            .await?;
        self.identity_changed();
        Ok(u)
    }

    /// Deletes a user and its tokens; nobody deletes themselves.
    pub async fn delete_user(&self, p: &Principal, id: &str) -> CoreResult<()> {
        p.require(Permission::UserAdmin, "delete users")?;
        let u = self.user_by_id_or_name(id).await?;
        if matches!(&p.kind, PrincipalKind::User { id: uid, .. } if *uid == u.id) {
            return Err(CoreError::conflict(
                "Conflict",
                "you cannot delete yourself",
            ));
        }
        self.store.delete_user(&p.actor(), &u.id).await?;
        self.identity_changed();
        Ok(())
    }
}

/// Counts failed logins per key in a sliding window. A login attempt counts against two keys:
/// the (user name, source address) pair, so that failures from one address lock that user
/// out from that address only (nobody can lock an admin out from everywhere), and the source
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
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(matches!(
            check_password_policy("short"),
            Err(CoreError::Unprocessable(_))
        ));
    }

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
