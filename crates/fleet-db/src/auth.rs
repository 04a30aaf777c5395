//! Users and bearer tokens. Passwords are hashed by the caller (argon2id);
//! tokens are stored as SHA-256 hashes, never in clear.

use fleet_model::rbac::Role;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::error::{DbError, DbResult};
use crate::now_ms;
use crate::store::{Actor, Store};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// From a login; short-lived.
    Session,
    /// Created explicitly for automation; named, longer-lived.
    Api,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Token {
    pub id: String,
    pub user_id: String,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn user_from_row(r: &sqlx::any::AnyRow) -> DbResult<User> {
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        password_hash: r.try_get("password_hash")?,
        role: r
            .try_get::<String, _>("role")?
            .parse()
            .map_err(DbError::Invalid)?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn token_from_row(r: &sqlx::any::AnyRow) -> DbResult<Token> {
    Ok(Token {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        kind: if r.try_get::<String, _>("kind")? == "api" {
            TokenKind::Api
        } else {
            TokenKind::Session
        },
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn validate_username(u: &str) -> DbResult<()> {
    if u.is_empty()
        || u.len() > 64
        || !u
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        return Err(DbError::Invalid(format!(
            "username '{u}' is invalid: 1-64 characters of letters, digits, '-', '_', '.', '@'"
        )));
    }
    Ok(())
}

impl Store {
    pub async fn create_user(&self, actor: &Actor, u: NewUser) -> DbResult<User> {
        validate_username(&u.username)?;
        let mut tx = self.write.begin().await?;
        let id = fleet_model::new_id("user");
        let now = now_ms();
        sqlx::query("INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $5)")
            .bind(&id)
            .bind(&u.username)
            .bind(&u.password_hash)
            .bind(u.role.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::from_write(e, &format!("user '{}'", u.username)))?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "user.create",
                kind: "user",
                target: Some(&id),
                before: None,
                after: Some(json!({"username": u.username, "role": u.role})),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_user(&id).await
    }

    pub async fn get_user(&self, id: &str) -> DbResult<User> {
        let r = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        user_from_row(&r.ok_or_else(|| DbError::NotFound(format!("user '{id}' does not exist")))?)
    }

    pub async fn find_user(&self, username: &str) -> DbResult<Option<User>> {
        let r = sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(user_from_row).transpose()
    }

    pub async fn list_users(&self) -> DbResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY username")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn count_users(&self) -> DbResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?)
    }

    pub async fn update_user(&self, actor: &Actor, id: &str, p: UserPatch) -> DbResult<User> {
        let before = self.get_user(id).await?;
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        if let Some(h) = &p.password_hash {
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(h)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // A new password ends every session and API token of the user: whoever knew the
            // old one may have minted tokens with it.
            sqlx::query(
                "UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(r) = p.role {
            sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
                .bind(r.as_str())
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(d) = p.disabled {
            sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
                .bind(d as i64)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if d {
                sqlx::query(
                    "UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        self.audit_tx(&mut tx, actor, AuditEntry {
            action: "user.update",
            kind: "user",
            target: Some(id),
            before: Some(json!({"role": before.role, "disabled": before.disabled})),
            after: Some(json!({"role": p.role.unwrap_or(before.role), "disabled": p.disabled.unwrap_or(before.disabled), "password_changed": p.password_hash.is_some()})),
        })
        .await?;
        tx.commit().await?;
        self.get_user(id).await
    }

    pub async fn delete_user(&self, actor: &Actor, id: &str) -> DbResult<()> {
        let before = self.get_user(id).await?;
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "user.delete",
                kind: "user",
                target: Some(id),
                before: Some(json!({"username": before.username, "role": before.role})),
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a token and returns it with its clear value, which is shown once.
    pub async fn create_token(
        &self,
        actor: &Actor,
        user_id: &str,
        kind: TokenKind,
        name: Option<String>,
        ttl_ms: i64,
    ) -> DbResult<(Token, String)> {
        use rand::RngCore;
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let prefix = if kind == TokenKind::Api {
            "gfa_"
        } else {
            "gfs_"
        };
        let clear = format!("{prefix}{}", hex::encode(raw));
        let id = fleet_model::new_id("tok");
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO tokens (id, user_id, token_hash, kind, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(user_id)
            .bind(hash_token(&clear))
            .bind(if kind == TokenKind::Api { "api" } else { "session" })
            .bind(&name)
            .bind(now)
            .bind(now + ttl_ms)
            .execute(&mut *tx)
            .await?;
        let action = if kind == TokenKind::Api {
            "token.create"
        } else {
            "auth.login"
        };
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action,
                kind: if kind == TokenKind::Api {
                    "token"
                } else {
                    "auth"
                },
                target: Some(&id),
                before: None,
                after: Some(json!({"user_id": user_id, "name": name, "expires_at": now + ttl_ms})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((
            Token {
                id,
                user_id: user_id.into(),
                kind,
                name,
                created_at: now,
                expires_at: now + ttl_ms,
                revoked_at: None,
            },
            clear,
        ))
    }

    /// Looks a presented bearer token up; `None` when unknown, expired, revoked or its user disabled.
    pub async fn authenticate_token(&self, clear: &str) -> DbResult<Option<(User, Token)>> {
        let r = sqlx::query("SELECT * FROM tokens WHERE token_hash = $1")
            .bind(hash_token(clear))
            .fetch_optional(&self.read)
            .await?;
        let Some(r) = r else { return Ok(None) };
        let t = token_from_row(&r)?;
        if t.revoked_at.is_some() || t.expires_at <= now_ms() {
            return Ok(None);
        }
        let u = self.get_user(&t.user_id).await?;
        if u.disabled {
            return Ok(None);
        }
        Ok(Some((u, t)))
    }

    pub async fn list_tokens(&self, user_id: Option<&str>) -> DbResult<Vec<Token>> {
        let rows = match user_id {
            Some(u) => sqlx::query("SELECT * FROM tokens WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY id").bind(u).bind(now_ms()).fetch_all(&self.read).await?,
            None => sqlx::query("SELECT * FROM tokens WHERE revoked_at IS NULL AND expires_at > $1 ORDER BY id").bind(now_ms()).fetch_all(&self.read).await?,
        };
        rows.iter().map(token_from_row).collect()
    }

    pub async fn get_token(&self, id: &str) -> DbResult<Token> {
        let r = sqlx::query("SELECT * FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        token_from_row(&r.ok_or_else(|| DbError::NotFound(format!("token '{id}' does not exist")))?)
    }

    pub async fn revoke_token(&self, actor: &Actor, id: &str) -> DbResult<()> {
        let t = self.get_token(id).await?;
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let action = if t.kind == TokenKind::Api {
            "token.revoke"
        } else {
            "auth.logout"
        };
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action,
                kind: if t.kind == TokenKind::Api {
                    "token"
                } else {
                    "auth"
                },
                target: Some(id),
                before: None,
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
