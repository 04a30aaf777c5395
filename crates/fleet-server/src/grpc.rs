//! The gRPC face of the application core (`proto/gpufleet/v1/fleet.proto`): assets and
//! configuration versions, the node lifecycle, out-of-band jobs, the event feed, the
//! caller's identity, users, API tokens, provisioning runs, the audit log and dead letters, with gRPC health and server reflection, on its own port
//! (`grpc_listen`). Each method authenticates the bearer token of its metadata, calls the
//! core with that principal and maps the core's errors to status codes; nothing is decided
//! here.

use fleet_model::timefmt::rfc3339;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use fleet_core::ops::{OpSpec, Operation};
use fleet_core::CoreError;
use fleet_db::{AssetFilter, DbError};
use futures::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::state::AppState;

mod nodes;

pub mod pb {
    tonic::include_proto!("gpufleet.v1");
    /// The encoded descriptor set of the API, for server reflection.
    pub const DESCRIPTOR: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/gpufleet_descriptor.bin"));
}

use pb::{
    assets_server::AssetsServer, audit_server::AuditServer, events_server::EventsServer,
    identity_server::IdentityServer, jobs_server::JobsServer, lifecycle_server::LifecycleServer,
    nodes_server::NodesServer, provisioning_server::ProvisioningServer,
    tokens_server::TokensServer, users_server::UsersServer,
};

/// The core's errors as gRPC status codes.
pub fn status(e: CoreError) -> Status {
    match e {
        CoreError::Forbidden(m) => Status::permission_denied(m),
        CoreError::NotFound(m) => Status::not_found(m),
        CoreError::Unauthenticated(m) => Status::unauthenticated(m),
        CoreError::Invalid(m) | CoreError::Unprocessable(m) => Status::invalid_argument(m),
        CoreError::RateLimited { message, .. } => Status::resource_exhausted(message),
        CoreError::Unavailable { title, message } => {
            Status::unavailable(format!("{title}: {message}"))
        }
        CoreError::Conflict { message, job, .. } => match job {
            Some(j) => Status::failed_precondition(format!("{message} (job {j})")),
            None => Status::failed_precondition(message),
        },
        CoreError::Upstream { title, message } => {
            Status::unavailable(format!("{title}: {message}"))
        }
        CoreError::Store(d) => db_status(d),
        CoreError::Internal(m) => Status::internal(m),
    }
}

fn db_status(e: DbError) -> Status {
    match e {
        DbError::NotFound(m) => Status::not_found(m),
        DbError::Conflict(m) => Status::already_exists(m),
        DbError::Stale {
            message,
            current_version,
        } => Status::aborted(format!("{message} (current version {current_version})")),
        DbError::Transition(t) => Status::failed_precondition(t.to_string()),
        DbError::Invalid(m) => Status::invalid_argument(m),
        DbError::Import(errs) => {
            Status::invalid_argument(format!("{} problem(s) found", errs.len()))
        }
        other => {
            tracing::error!(error = %other, "database");
            Status::unavailable("the database failed to answer; retry shortly")
        }
    }
}

fn api_status(e: crate::error::ApiError) -> Status {
    match e.status.as_u16() {
        401 => Status::unauthenticated(e.detail),
        403 => Status::permission_denied(e.detail),
        404 => Status::not_found(e.detail),
        400 | 422 => Status::invalid_argument(e.detail),
        409 => Status::failed_precondition(e.detail),
        412 => Status::aborted(e.detail),
        503 => Status::unavailable(e.detail),
        _ => Status::internal(e.detail),
    }
}

/// The caller of a request: the bearer token of its `authorization` metadata.
async fn principal<T>(st: &AppState, req: &Request<T>) -> Result<fleet_core::Principal, Status> {
    let token = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Status::unauthenticated(
                "missing bearer token: send 'authorization: Bearer <token>' metadata (a session or API token)",
            )
        })?;
    let p = crate::auth::authenticate(st, token)
        .await
        .map_err(api_status)?;
    let request_id = req
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(p.core(req.remote_addr().map(|a| a.ip().to_string()), request_id))
}

fn asset(a: fleet_model::asset::Asset) -> pb::Asset {
    pb::Asset {
        id: a.id,
        kind: a.kind.as_str().to_string(),
        name: a.name,
        parent_id: a.parent_id,
        rack_id: a.rack_id,
        model: a.model,
        serial: a.serial,
        address: a.address,
        labels: a.labels.into_iter().collect(),
        config_json: a.config.to_string(),
        version: a.version,
        state: a.state.map(|s| s.as_str().to_string()),
        state_entered_at: a.state_entered_at.map(rfc3339),
        profile_id: a.profile_id,
        created_at: rfc3339(a.created_at),
        updated_at: rfc3339(a.updated_at),
    }
}

fn history(h: fleet_db::HistoryRow) -> pb::HistoryEntry {
    pb::HistoryEntry {
        node_id: h.node_id,
        from_state: h.from_state,
        to_state: h.to_state,
        actor: h.actor,
        reason: h.reason,
        request_id: h.request_id,
        at: rfc3339(h.at),
    }
}

fn job(j: fleet_db::Job) -> pb::Job {
    pb::Job {
        id: j.id,
        kind: j.kind,
        target: j.target,
        driver: j.driver,
        params_json: j.params,
        actor: j.actor,
        state: j.state,
        step: j.step,
        progress: j.progress,
        result_json: j.result,
        error: j.error,
        batch_id: j.batch_id,
        deadline_ms: j.deadline_ms,
        created_at: rfc3339(j.created_at),
        started_at: j.started_at.map(rfc3339),
        finished_at: j.finished_at.map(rfc3339),
        updated_at: rfc3339(j.updated_at),
        worker: j.lease_owner,
        attempts: j.attempts as i32,
    }
}

fn json_object(text: &str, what: &str) -> Result<serde_json::Value, Status> {
    if text.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(Status::invalid_argument(format!(
            "{what} must be a JSON object"
        ))),
        Err(e) => Err(Status::invalid_argument(format!("{what} is not JSON: {e}"))),
    }
}

#[derive(Clone)]
struct Api(AppState);

#[tonic::async_trait]
impl pb::assets_server::Assets for Api {
    async fn get_asset(
        &self,
        req: Request<pb::GetAssetRequest>,
    ) -> Result<Response<pb::Asset>, Status> {
        let p = principal(&self.0, &req).await?;
        let id = &req.get_ref().id;
        let a = match self.0.core.asset(&p, id).await {
            // A node may be named instead.
            Err(CoreError::Store(DbError::NotFound(_))) => {
                self.0
                    .core
                    .resolve(&p, fleet_model::asset::AssetKind::Node, id)
                    .await
            }
            other => other,
        }
        .map_err(status)?;
        Ok(Response::new(asset(a)))
    }

    async fn list_assets(
        &self,
        req: Request<pb::ListAssetsRequest>,
    ) -> Result<Response<pb::ListAssetsResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let mut f = AssetFilter {
            limit: if r.page_size == 0 {
                50
            } else {
                r.page_size as i64
            },
            model: r.model,
            parent_id: r.parent_id,
            serial: r.serial,
            name_prefix: r.name,
            labels: r.labels.into_iter().collect(),
            ..Default::default()
        };
        if let Some(k) = r.kind {
            f.kind = Some(k.parse().map_err(|e: String| Status::invalid_argument(e))?);
        }
        if let Some(s) = r.state {
            f.state = Some(
                s.parse()
                    .map_err(|e: fleet_model::lifecycle::UnknownState| {
                        Status::invalid_argument(e.to_string())
                    })?,
            );
        }
        if !r.page_token.is_empty() {
            f.after_id = Some(crate::api::decode_cursor(&r.page_token).map_err(api_status)?);
        }
        let page = self.0.core.assets(&p, &f).await.map_err(status)?;
        Ok(Response::new(pb::ListAssetsResponse {
            assets: page.items.into_iter().map(asset).collect(),
            next_page_token: page
                .next_after
                .as_deref()
                .map(crate::api::encode_cursor)
                .unwrap_or_default(),
        }))
    }

    async fn create_asset(
        &self,
        req: Request<pb::CreateAssetRequest>,
    ) -> Result<Response<pb::Asset>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let kind = r
            .kind
            .parse()
            .map_err(|e: String| Status::invalid_argument(e))?;
        let a = self
            .0
            .core
            .create_asset(
                &p,
                fleet_db::NewAsset {
                    kind,
                    name: r.name,
                    parent_id: r.parent_id,
                    labels: r.labels.into_iter().collect(),
                    config: json_object(&r.config_json, "config_json")?,
                    profile_id: None,
                    reason: r.reason,
                },
            )
            .await
            .map_err(status)?;
        Ok(Response::new(asset(a)))
    }

    async fn put_config(
        &self,
        req: Request<pb::PutConfigRequest>,
    ) -> Result<Response<pb::Asset>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let config = json_object(&r.config_json, "config_json")?;
        let a = self
            .0
            .core
            .put_config(&p, &r.id, r.if_version, config, r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(asset(a)))
    }

    async fn list_versions(
        &self,
        req: Request<pb::ListVersionsRequest>,
    ) -> Result<Response<pb::ListVersionsResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let v = self
            .0
            .core
            .config_versions(&p, &req.get_ref().id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListVersionsResponse {
            versions: v
                .into_iter()
                .map(|v| pb::ConfigVersion {
                    asset_id: v.asset_id,
                    version: v.version,
                    config_json: v.config.to_string(),
                    diff_json: serde_json::to_string(&v.diff).unwrap_or_default(),
                    actor: v.actor,
                    reason: v.reason,
                    created_at: rfc3339(v.created_at),
                })
                .collect(),
        }))
    }

    async fn delete_asset(
        &self,
        req: Request<pb::DeleteAssetRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let p = principal(&self.0, &req).await?;
        self.0
            .core
            .delete_asset(&p, &req.get_ref().id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::Empty {}))
    }
}

#[tonic::async_trait]
impl pb::lifecycle_server::Lifecycle for Api {
    async fn transition(
        &self,
        req: Request<pb::TransitionRequest>,
    ) -> Result<Response<pb::TransitionResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let to =
            r.to.parse()
                .map_err(|e: fleet_model::lifecycle::UnknownState| {
                    Status::invalid_argument(e.to_string())
                })?;
        let (a, h) = self
            .0
            .core
            .transition(&p, &r.id, to, r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::TransitionResponse {
            node: Some(asset(a)),
            entry: Some(history(h)),
        }))
    }

    async fn history(
        &self,
        req: Request<pb::HistoryRequest>,
    ) -> Result<Response<pb::HistoryResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let h = self
            .0
            .core
            .lifecycle_history(&p, &req.get_ref().id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::HistoryResponse {
            entries: h.into_iter().map(history).collect(),
        }))
    }
}

#[tonic::async_trait]
impl pb::jobs_server::Jobs for Api {
    async fn submit(&self, req: Request<pb::SubmitRequest>) -> Result<Response<pb::Job>, Status> {
        use pb::submit_request::Operation as O;
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let (group, params) = match r.operation {
            Some(O::Power(x)) => ("power".to_string(), serde_json::json!({"action": x.action})),
            Some(O::Boot(x)) => (
                "boot".to_string(),
                serde_json::json!({"device": x.device, "persistent": x.persistent}),
            ),
            Some(O::Read(x)) => ("read".to_string(), serde_json::json!({"what": x.what})),
            Some(O::Generic(x)) => (x.group, json_object(&x.params_json, "params_json")?),
            None => {
                return Err(Status::invalid_argument(
                    "an operation is required (power, boot, read or generic)",
                ))
            }
        };
        let params =
            serde_json::from_value(params).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let spec = OpSpec {
            operation: Operation::from_request(&group, &params).map_err(status)?,
            driver: r.driver,
            deadline_s: r.deadline_s,
        };
        let j = self
            .0
            .core
            .submit(&p, &r.node, spec)
            .await
            .map_err(status)?;
        Ok(Response::new(job(j)))
    }

    async fn get_job(
        &self,
        req: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::JobWithLog>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let j = self
            .0
            .core
            .follow_job(&p, &r.id, r.after, Duration::from_secs(r.wait_s as u64))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::JobWithLog {
            job: Some(job(j.job)),
            log: j
                .log
                .into_iter()
                .map(|l| pb::JobLogLine {
                    id: l.id,
                    at: rfc3339(l.at),
                    line: l.line,
                })
                .collect(),
        }))
    }

    async fn list_jobs(
        &self,
        req: Request<pb::ListJobsRequest>,
    ) -> Result<Response<pb::ListJobsResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let jobs = self
            .0
            .core
            .jobs(
                &p,
                &fleet_db::JobFilter {
                    target: r.target,
                    state: r.state,
                    batch_id: r.batch_id,
                    kind: r.kind,
                    limit: if r.limit == 0 { 100 } else { r.limit as i64 },
                },
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListJobsResponse {
            jobs: jobs.into_iter().map(job).collect(),
        }))
    }

    async fn cancel_job(
        &self,
        req: Request<pb::CancelJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        let p = principal(&self.0, &req).await?;
        let j = self
            .0
            .core
            .cancel(&p, &req.get_ref().id)
            .await
            .map_err(status)?;
        Ok(Response::new(job(j)))
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

#[tonic::async_trait]
impl pb::events_server::Events for Api {
    type WatchStream = EventStream;

    async fn watch(&self, req: Request<pb::WatchRequest>) -> Result<Response<EventStream>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let st = &self.0;
        let mut rows = st
            .core
            .watch_events(
                &p,
                fleet_core::feed::Watch {
                    after_sequence: r.after_sequence,
                    types: r.types,
                    subject: r.subject,
                },
                st.events.subscribe(),
                st.streams_done.clone(),
            )
            .await
            .map_err(status)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::Event, Status>>(256);
        tokio::spawn(async move {
            while let Some(row) = rows.recv().await {
                let item = row.map_err(status).map(|row| {
                    let ev: serde_json::Value =
                        serde_json::from_str(&row.payload).unwrap_or_default();
                    pb::Event {
                        sequence: row.seq,
                        id: row.event_id,
                        r#type: row.ty,
                        subject: row.subject,
                        time: rfc3339(row.created_at),
                        cloudevent_json: ev.to_string(),
                    }
                });
                if tx.send(item).await.is_err() {
                    return; // the caller went away
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

#[tonic::async_trait]
impl pb::identity_server::Identity for Api {
    async fn who_am_i(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let (user_id, role) = match &p.kind {
            fleet_core::PrincipalKind::User { id, role } => (id.clone(), role.as_str().to_string()),
            fleet_core::PrincipalKind::System(r) => (String::new(), format!("system:{}", r.name())),
        };
        Ok(Response::new(pb::WhoAmIResponse {
            user_id,
            username: p.name,
            role,
        }))
    }
}

fn user(u: fleet_db::User) -> pb::User {
    pb::User {
        id: u.id,
        username: u.username,
        role: u.role.as_str().to_string(),
        disabled: u.disabled,
        created_at: rfc3339(u.created_at),
        updated_at: rfc3339(u.updated_at),
    }
}

fn token(t: fleet_db::Token) -> pb::Token {
    pb::Token {
        id: t.id,
        user_id: t.user_id,
        kind: match t.kind {
            fleet_db::TokenKind::Session => "session",
            fleet_db::TokenKind::Api => "api",
        }
        .to_string(),
        name: t.name,
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
    }
}

fn role(s: &str) -> Result<fleet_model::rbac::Role, Status> {
    s.parse().map_err(|e: String| Status::invalid_argument(e))
}

/// `page_size` of a request: 0 is the default, anything outside 1-1000 is refused.
fn page_size(n: i32, default: usize) -> Result<usize, Status> {
    match n {
        0 => Ok(default),
        1..=1000 => Ok(n as usize),
        _ => Err(Status::invalid_argument(
            "'page_size' must be between 1 and 1000",
        )),
    }
}

/// A sequence number carried in a page token.
fn seq_token(t: &str) -> Result<Option<i64>, Status> {
    if t.is_empty() {
        return Ok(None);
    }
    crate::api::decode_cursor(t)
        .map_err(api_status)?
        .parse::<i64>()
        .map(Some)
        .map_err(|_| Status::invalid_argument("'page_token' is not a token returned by this API"))
}

fn seq_page_token(seq: Option<i64>) -> String {
    seq.map(|s| crate::api::encode_cursor(&s.to_string()))
        .unwrap_or_default()
}

#[tonic::async_trait]
impl pb::users_server::Users for Api {
    async fn list_users(
        &self,
        req: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let size = page_size(r.page_size, 100)?;
        let after = if r.page_token.is_empty() {
            None
        } else {
            Some(crate::api::decode_cursor(&r.page_token).map_err(api_status)?)
        };
        let mut users: Vec<fleet_db::User> = self
            .0
            .core
            .users(&p)
            .await
            .map_err(status)?
            .into_iter()
            .filter(|u| after.as_deref().is_none_or(|a| u.username.as_str() > a))
            .collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        let next = if users.len() > size {
            users.truncate(size);
            users
                .last()
                .map(|u| crate::api::encode_cursor(&u.username))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListUsersResponse {
            users: users.into_iter().map(user).collect(),
            next_page_token: next,
        }))
    }

    async fn get_user(
        &self,
        req: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let p = principal(&self.0, &req).await?;
        let u = self
            .0
            .core
            .user(&p, &req.get_ref().id)
            .await
            .map_err(status)?;
        Ok(Response::new(user(u)))
    }

    async fn create_user(
        &self,
        req: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let spec = fleet_core::identity::UserSpec {
            username: r.username,
            password: r.password,
            role: role(&r.role)?,
        };
        let u = self.0.core.create_user(&p, spec).await.map_err(status)?;
        Ok(Response::new(user(u)))
    }

    async fn update_user(
        &self,
        req: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let change = fleet_core::identity::UserChange {
            password: r.password,
            role: r.role.as_deref().map(role).transpose()?,
            disabled: r.disabled,
        };
        let u = self
            .0
            .core
            .update_user(&p, &r.id, change)
            .await
            .map_err(status)?;
        Ok(Response::new(user(u)))
    }

    async fn delete_user(
        &self,
        req: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let p = principal(&self.0, &req).await?;
        self.0
            .core
            .delete_user(&p, &req.get_ref().id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::Empty {}))
    }
}

#[tonic::async_trait]
impl pb::tokens_server::Tokens for Api {
    async fn list_tokens(
        &self,
        req: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let t = self
            .0
            .core
            .tokens(&p, req.get_ref().all)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: t.into_iter().map(token).collect(),
        }))
    }

    async fn create_token(
        &self,
        req: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreatedToken>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let (info, clear) = self
            .0
            .core
            .create_token(&p, &r.name, r.ttl_s.map(Duration::from_secs))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CreatedToken {
            token: clear,
            info: Some(token(info)),
        }))
    }

    async fn revoke_token(
        &self,
        req: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::Empty>, Status> {
        let p = principal(&self.0, &req).await?;
        self.0
            .core
            .revoke_token(&p, &req.get_ref().id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::Empty {}))
    }
}

fn run(
    r: fleet_db::Provisioning,
    node_state: Option<fleet_model::lifecycle::NodeState>,
) -> pb::ProvisioningRun {
    pb::ProvisioningRun {
        id: r.id,
        node_id: r.node_id,
        attempt: r.attempt,
        plan_name: r.plan_name,
        plan_version: r.plan_version,
        workflow: r.workflow,
        power_via: r.power_via,
        stage: r.stage,
        progress_json: r.progress,
        failure: r.failure,
        batch_id: r.batch_id,
        actor: r.actor,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        finished_at: r.finished_at.map(rfc3339),
        node_state: node_state.map(|s| s.as_str().to_string()),
    }
}

fn run_view(r: fleet_core::provisioning::Run) -> pb::ProvisioningRun {
    run(r.provisioning, r.node_state)
}

#[tonic::async_trait]
impl pb::provisioning_server::Provisioning for Api {
    async fn list_install_plans(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::ListInstallPlansResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let plans = self.0.core.install_plans(&p).await.map_err(status)?;
        Ok(Response::new(pb::ListInstallPlansResponse {
            plans: plans
                .into_iter()
                .map(|x| pb::InstallPlan {
                    id: x.id,
                    name: x.name,
                    version: x.version,
                    profile_id: x.profile_id,
                    spec_json: x.spec,
                    comment: x.comment,
                    actor: x.actor,
                    created_at: rfc3339(x.created_at),
                })
                .collect(),
        }))
    }

    async fn list_runs(
        &self,
        req: Request<pb::ListRunsRequest>,
    ) -> Result<Response<pb::ListRunsResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let runs = self
            .0
            .core
            .provisionings(&p, &req.get_ref().node)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListRunsResponse {
            runs: runs.into_iter().map(|r| run(r, None)).collect(),
        }))
    }

    async fn get_run(
        &self,
        req: Request<pb::GetRunRequest>,
    ) -> Result<Response<pb::ProvisioningRun>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let v = match (r.id.is_empty(), r.node.is_empty()) {
            (false, _) => self.0.core.provisioning_run(&p, &r.id).await,
            (true, false) => self.0.core.provisioning(&p, &r.node).await,
            (true, true) => return Err(Status::invalid_argument("give 'id' or 'node'")),
        }
        .map_err(status)?;
        Ok(Response::new(run_view(v)))
    }

    async fn start_run(
        &self,
        req: Request<pb::StartRunRequest>,
    ) -> Result<Response<pb::ProvisioningRun>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let spec = fleet_core::provisioning::ProvisionSpec {
            plan: r.plan,
            plan_version: r.plan_version,
            reason: r.reason,
        };
        let v = self
            .0
            .core
            .provision(
                &p,
                crate::api::provision::engine(&self.0).as_ref(),
                &r.node,
                &spec,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(run_view(v)))
    }

    async fn cancel_run(
        &self,
        req: Request<pb::CancelRunRequest>,
    ) -> Result<Response<pb::ProvisioningRun>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let v = self
            .0
            .core
            .cancel_provisioning(
                &p,
                crate::api::provision::engine(&self.0).as_ref(),
                &r.node,
                r.reason,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(run_view(v)))
    }
}

#[tonic::async_trait]
impl pb::audit_server::Audit for Api {
    async fn list_audit(
        &self,
        req: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let f = fleet_db::AuditFilter {
            target: r.target,
            actor: r.actor,
            kind: r.kind,
            after_seq: seq_token(&r.page_token)?,
            limit: page_size(r.page_size, 100)? as i64,
            ..Default::default()
        };
        let page = self.0.core.audit_log(&p, &f).await.map_err(status)?;
        Ok(Response::new(pb::ListAuditResponse {
            entries: page
                .items
                .into_iter()
                .map(|a| pb::AuditEntry {
                    seq: a.seq,
                    at: rfc3339(a.at),
                    actor: a.actor,
                    action: a.action,
                    kind: a.kind,
                    target: a.target,
                    before_json: a.before_doc,
                    after_json: a.after_doc,
                    source: a.source,
                    request_id: a.request_id,
                    prev_hash: a.prev_hash,
                    hash: a.hash,
                })
                .collect(),
            next_page_token: seq_page_token(page.next),
        }))
    }

    async fn verify_audit(
        &self,
        req: Request<pb::Empty>,
    ) -> Result<Response<pb::VerifyAuditResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let v = self.0.core.verify_audit(&p).await.map_err(status)?;
        Ok(Response::new(pb::VerifyAuditResponse {
            ok: v.ok,
            rows_checked: v.rows_checked,
            head_seq: v.head_seq,
            problems: v.problems,
        }))
    }

    async fn list_dead_letters(
        &self,
        req: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        let p = principal(&self.0, &req).await?;
        let r = req.into_inner();
        let after = seq_token(&r.page_token)?.unwrap_or(0).max(0) as u64;
        let page = self
            .0
            .core
            .dead_letters(
                &p,
                &*self.0.bus,
                r.consumer.as_deref(),
                after,
                page_size(r.page_size, 100)?,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListDeadLettersResponse {
            dead_letters: page
                .items
                .into_iter()
                .map(|d| pb::DeadLetter {
                    seq: d.seq,
                    consumer: d.consumer,
                    subject: d.subject,
                    stream: d.stream,
                    stream_seq: d.stream_seq,
                    event_id: d.event_id,
                    error: d.error,
                    attempts: d.attempts,
                    failed_at: d.failed_at,
                    event_json: d.event.to_string(),
                })
                .collect(),
            next_page_token: seq_page_token(page.next.map(|s| s as i64)),
        }))
    }
}

/// Serves the gRPC API on `listener` until `shutdown`.
pub async fn serve(
    st: AppState,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in [
        "gpufleet.v1.Assets",
        "gpufleet.v1.Nodes",
        "gpufleet.v1.Lifecycle",
        "gpufleet.v1.Jobs",
        "gpufleet.v1.Events",
        "gpufleet.v1.Identity",
        "gpufleet.v1.Users",
        "gpufleet.v1.Tokens",
        "gpufleet.v1.Provisioning",
        "gpufleet.v1.Audit",
    ] {
        reporter
            .set_service_status(name, tonic_health::ServingStatus::Serving)
            .await;
    }
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::DESCRIPTOR)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let api = Api(st);
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tonic::transport::Server::builder()
        .timeout(Duration::from_secs(
            api.0.config.request_timeout_secs.max(1),
        ))
        .add_service(health)
        .add_service(reflection)
        .add_service(AssetsServer::new(api.clone()))
        .add_service(NodesServer::new(api.clone()))
        .add_service(LifecycleServer::new(api.clone()))
        .add_service(JobsServer::new(api.clone()))
        .add_service(EventsServer::new(api.clone()))
        .add_service(IdentityServer::new(api.clone()))
        .add_service(UsersServer::new(api.clone()))
        .add_service(TokensServer::new(api.clone()))
        .add_service(ProvisioningServer::new(api.clone()))
        .add_service(AuditServer::new(api))
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await?;
    Ok(())
}

/// The address gRPC listens on when it was given as `host:port`.
pub fn parse_listen(s: &str) -> anyhow::Result<SocketAddr> {
    s.parse()
        .map_err(|e| anyhow::anyhow!("grpc_listen '{s}' is not host:port: {e}"))
}
