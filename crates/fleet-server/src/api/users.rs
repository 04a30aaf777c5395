//! Login, tokens and users.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use fleet_db::{Actor, NewUser, Token, TokenKind, User, UserPatch};
use fleet_model::rbac::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Json, Query};
use crate::auth::{
    check_password_policy, hash_password, request_id, source_addr, verify_password, Caller,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
    pub user: User,
}

/// Request parts that are not consumed by the body.
pub struct Origin(Parts);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let (p, _) = axum::http::Request::new(()).into_parts();
        let mut p = p;
        p.headers = parts.headers.clone();
        p.extensions = parts.extensions.clone();
        Ok(Origin(p))
    }
}

/// A real argon2id hash to verify against when the user does not exist, so
/// that an unknown user costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not-a-password").unwrap_or_default())
}

/// Log in with username and password; returns a session token. Failed logins are rate-limited per user and per source address.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest, tag = "auth", security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(st): State<AppState>,
    Origin(parts): Origin,
    Json(b): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let source = source_addr(&parts);
    let keys = crate::state::LoginLimiter::keys(&b.username, source.as_deref());
    if let Some(wait) = st.logins.blocked(&keys) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins",
            format!("too many failed logins; retry in {wait} s"),
        );
        e.headers.push((
            axum::http::header::RETRY_AFTER,
            HeaderValue::from_str(&wait.to_string()).expect("digits"),
        ));
        return Err(e);
    }
    let actor = Actor {
        name: b.username.clone(),
        source,
        request_id: request_id(&parts.headers),
    };
    let user = st.store.find_user(&b.username).await?;
    // Verify against a dummy hash when the user is unknown, so timing does not tell.
    let ok = match &user {
        Some(u) => verify_password(&b.password, &u.password_hash) && !u.disabled,
        None => {
            verify_password(&b.password, dummy_hash());
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        st.logins.fail(&keys);
        st.store
            .audit(
                &actor,
                fleet_db::AuditEntry {
                    action: "auth.login_failed",
                    kind: "auth",
                    target: None,
                    before: None,
                    after: Some(serde_json::json!({"username": b.username})),
                },
            )
            .await?;
        return Err(ApiError::unauthorized(
            "wrong username or password, or the user is disabled",
        ));
    };
    st.logins.succeed(&keys);
    let (tok, clear) = st
        .store
        .create_token(
            &actor,
            &user.id,
            TokenKind::Session,
            None,
            st.config.session_ttl_secs as i64 * 1000,
        )
        .await?;
    Ok(Json(LoginResponse {
        token: clear,
        expires_at: super::rfc3339(tok.expires_at),
        user,
    }))
}

/// End the current session (revokes the token used for this request).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(st): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    st.store
        .revoke_token(&caller.actor, &caller.principal.token_id)
        .await?;
    st.tokens.clear();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    pub user: User,
    pub token_id: String,
}

/// The authenticated user.
#[utoipa::path(get, path = "/api/v1/auth/whoami", tag = "auth", responses((status = 200, body = WhoAmI), (status = 401, body = Problem)))]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI {
        user: caller.principal.user,
        token_id: caller.principal.token_id,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<Token>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// Admins: list every user's tokens.
    pub all: Option<bool>,
}

/// Your active tokens (admins: `?all=true` for everyone's).
#[utoipa::path(get, path = "/api/v1/tokens", params(TokenQuery), tag = "auth", responses((status = 200, body = TokenList)))]
pub async fn list_tokens(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<TokenQuery>,
) -> ApiResult<Json<TokenList>> {
    let all = q.all == Some(true);
    if all && caller.principal.user.role != Role::Admin {
        return Err(ApiError::forbidden(
            "only admins may list every user's tokens",
        ));
    }
    let user = if all {
        None
    } else {
        Some(caller.principal.user.id.as_str())
    };
    Ok(Json(TokenList {
        items: st.store.list_tokens(user).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// Lifetime in seconds (default from configuration, at most 2 years).
    pub ttl_secs: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// Shown once; store it now.
    pub token: String,
    #[serde(flatten)]
    pub info: Token,
}

/// Create an API token for automation, with your role.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = CreateToken, tag = "auth",
    responses((status = 201, body = CreatedToken), (status = 400, body = Problem)))]
pub async fn create_token(
    State(st): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateToken>,
) -> ApiResult<impl IntoResponse> {
    let ttl = b.ttl_secs.unwrap_or(st.config.api_token_ttl_secs);
    let max = st.config.api_token_max_ttl_secs;
    if ttl == 0 || ttl > max {
        return Err(ApiError::bad_request(format!(
            "'ttl_secs' must be between 1 and {max} (api_token_max_ttl_secs)"
        )));
    }
    if b.name.trim().is_empty() {
        return Err(ApiError::bad_request("'name' must not be empty"));
    }
    let (info, token) = st
        .store
        .create_token(
            &caller.actor,
            &caller.principal.user.id,
            TokenKind::Api,
            Some(b.name),
            ttl as i64 * 1000,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, info })))
}

/// Revoke a token (yours, or anyone's for admins).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = String, Path)), tag = "auth",
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let t = st.store.get_token(&id).await?;
    if t.user_id != caller.principal.user.id && caller.principal.user.role != Role::Admin {
        return Err(ApiError::not_found(format!("token '{id}' does not exist")));
    }
    st.store.revoke_token(&caller.actor, &id).await?;
    st.tokens.clear();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
}

/// List users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = UserList)))]
pub async fn list_users(State(st): State<AppState>) -> ApiResult<Json<UserList>> {
    Ok(Json(UserList {
        items: st.store.list_users().await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", request_body = CreateUser, tag = "users",
    responses((status = 201, body = User), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(st): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateUser>,
) -> ApiResult<impl IntoResponse> {
    check_password_policy(&b.password)?;
    let hash = hash_password(&b.password).map_err(|e| ApiError::internal(e.to_string()))?;
    let u = st
        .store
        .create_user(
            &caller.actor,
            NewUser {
                username: b.username,
                password_hash: hash,
                role: b.role,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

async fn user_by_id_or_name(st: &AppState, id: &str) -> ApiResult<User> {
    match st.store.get_user(id).await {
        Ok(u) => Ok(u),
        Err(fleet_db::DbError::NotFound(_)) => st
            .store
            .find_user(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("user '{id}' does not exist"))),
        Err(e) => Err(e.into()),
    }
}

/// Get a user by id or username.
#[utoipa::path(get, path = "/api/v1/users/{id}", params(("id" = String, Path)), tag = "users",
    responses((status = 200, body = User), (status = 404, body = Problem)))]
pub async fn get_user(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<User>> {
    Ok(Json(user_by_id_or_name(&st, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    pub password: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Change a user's password, role or disabled flag. Disabling revokes every token of the user.
#[utoipa::path(patch, path = "/api/v1/users/{id}", params(("id" = String, Path)), request_body = PatchUser, tag = "users",
    responses((status = 200, body = User), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn patch_user(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<PatchUser>,
) -> ApiResult<Json<User>> {
    let u = user_by_id_or_name(&st, &id).await?;
    if u.id == caller.principal.user.id
        && (b.disabled == Some(true) || b.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            "you cannot disable yourself or drop your own admin role; ask another admin",
        ));
    }
    let password_hash = match &b.password {
        Some(p) => {
            check_password_policy(p)?;
            Some(hash_password(p).map_err(|e| ApiError::internal(e.to_string()))?)
        }
        None => None,
    };
    let u = st
        .store
        .update_user(
            &caller.actor,
            &u.id,
            UserPatch {
                password_hash,
                role: b.role,
                disabled: b.disabled,
            },
        )
        .await?;
    st.tokens.clear();
    Ok(Json(u))
}

/// Delete a user and its tokens.
#[utoipa::path(delete, path = "/api/v1/users/{id}", params(("id" = String, Path)), tag = "users",
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_user(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let u = user_by_id_or_name(&st, &id).await?;
    if u.id == caller.principal.user.id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            "you cannot delete yourself",
        ));
    }
    st.store.delete_user(&caller.actor, &u.id).await?;
    st.tokens.clear();
    Ok(StatusCode::NO_CONTENT)
}
