//! Login, tokens and users.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fleet_core::identity::{UserChange, UserSpec};
use fleet_db::{Token, User};
use fleet_model::rbac::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Json, Query};
use crate::auth::{request_id, source_addr, Caller};
use crate::error::{ApiResult, Problem};
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

/// Log in with username and password; returns a session token. Failed logins are rate-limited per user and per source address.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest, tag = "auth", security(()),
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(st): State<AppState>,
    Origin(parts): Origin,
    Json(b): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let session = st
        .core
        .login(
            &b.username,
            &b.password,
            source_addr(&parts),
            request_id(&parts.headers),
        )
        .await?;
    Ok(Json(LoginResponse {
        token: session.token,
        expires_at: super::rfc3339(session.info.expires_at),
        user: session.user,
    }))
}

/// End the current session (revokes the token used for this request).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(st): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    st.core
        .logout(&caller.core_principal(), &caller.principal.token_id)
        .await?;
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
    Ok(Json(TokenList {
        items: st
            .core
            .tokens(&caller.core_principal(), q.all == Some(true))
            .await?,
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
    let (info, token) = st
        .core
        .create_token(
            &caller.core_principal(),
            &b.name,
            b.ttl_secs.map(std::time::Duration::from_secs),
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
    st.core.revoke_token(&caller.core_principal(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
}

/// List users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = UserList)))]
pub async fn list_users(State(st): State<AppState>, caller: Caller) -> ApiResult<Json<UserList>> {
    Ok(Json(UserList {
        items: st.core.users(&caller.core_principal()).await?,
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
    let u = st
        .core
        .create_user(
            &caller.core_principal(),
            UserSpec {
                username: b.username,
                password: b.password,
                role: b.role,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// Get a user by id or username.
#[utoipa::path(get, path = "/api/v1/users/{id}", params(("id" = String, Path)), tag = "users",
    responses((status = 200, body = User), (status = 404, body = Problem)))]
pub async fn get_user(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<User>> {
    Ok(Json(st.core.user(&caller.core_principal(), &id).await?))
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
    let u = st
        .core
        .update_user(
            &caller.core_principal(),
            &id,
            UserChange {
                password: b.password,
                role: b.role,
                disabled: b.disabled,
            },
        )
        .await?;
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
    st.core.delete_user(&caller.core_principal(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
