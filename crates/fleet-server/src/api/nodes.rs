//! Nodes: lifecycle, profiles, validation; GPUs; expected profiles.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use fleet_model::asset::AssetKind;
use fleet_model::lifecycle::{allowed_from, NodeState, TRANSITIONS};
use fleet_model::profile::{validate, ActualNode, ProfileSpec, ValidationReport};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::assets::{build_filter, list_page, ListQuery};
use super::dto::{HistoryEntry, ProfileView, RelationView};
use super::{etag, if_match, node, AssetPage, AssetView, Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// A node of a list, with the parts asked for by `include`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeListItem {
    #[serde(flatten)]
    pub node: AssetView,
    /// The node's GPUs (with `include=gpus`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpus: Option<Vec<AssetView>>,
}

/// Parts embedded in each node of a list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NodeInclude {
    /// `gpus`: each node's GPUs.
    pub include: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodePage {
    pub items: Vec<NodeListItem>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// List nodes (filters: state, model, rack, label, profile, stuck, name); `include=gpus`
/// embeds each node's GPUs (one more statement for the whole page).
#[utoipa::path(get, path = "/api/v1/nodes", params(ListQuery, NodeInclude), tag = "nodes",
    responses((status = 200, body = NodePage), (status = 400, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
    Query(inc): Query<NodeInclude>,
) -> ApiResult<Json<NodePage>> {
    let mut with_gpus = false;
    for part in inc.include.iter().flat_map(|s| s.split(',')) {
        match part.trim() {
            "gpus" => with_gpus = true,
            "" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "'include' takes gpus, not '{other}'"
                )))
            }
        }
    }
    let f = build_filter(&st, q, Some(AssetKind::Node)).await?;
    let page = list_page(&st, f).await?;
    let mut gpus: BTreeMap<String, Vec<AssetView>> = BTreeMap::new();
    if with_gpus && !page.items.is_empty() {
        let ids: Vec<String> = page.items.iter().map(|n| n.id.clone()).collect();
        for g in st
            .core
            .children_of(&caller.core_principal(), &ids, Some(AssetKind::Gpu))
            .await?
        {
            if let Some(parent) = g.parent_id.clone() {
                gpus.entry(parent)
                    .or_default()
                    .push(AssetView::from(g, &st.deadlines));
            }
        }
    }
    Ok(Json(NodePage {
        items: page
            .items
            .into_iter()
            .map(|n| NodeListItem {
                gpus: with_gpus.then(|| gpus.remove(&n.id).unwrap_or_default()),
                node: n,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// List GPUs (filters: model, serial, parent node, rack, label).
#[utoipa::path(get, path = "/api/v1/gpus", params(ListQuery), tag = "nodes",
    responses((status = 200, body = AssetPage), (status = 400, body = Problem)))]
pub async fn gpus(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<AssetPage>> {
    let f = build_filter(&st, q, Some(AssetKind::Gpu)).await?;
    Ok(Json(list_page(&st, f).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeDetail {
    #[serde(flatten)]
    pub node: AssetView,
    /// Contained assets by kind (gpu, nic, disk, bmc).
    pub components: BTreeMap<String, Vec<AssetView>>,
    pub relations: Vec<RelationView>,
    /// States this node may move to next.
    pub allowed_transitions: Vec<NodeState>,
}

/// A node with its GPUs, NICs, disks, BMC and relations. Accepts an id or a name.
#[utoipa::path(get, path = "/api/v1/nodes/{id}", params(("id" = String, Path)), tag = "nodes",
    responses((status = 200, body = NodeDetail, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let (n, children) = match st.store.get_with_children(&id).await {
        Ok((n, c)) if n.kind == AssetKind::Node => (n, c),
        _ => {
            let n = node(&st, &id).await?;
            let c = st.store.children(&n.id, None).await?;
            (n, c)
        }
    };
    let mut components: BTreeMap<String, Vec<AssetView>> = BTreeMap::new();
    for c in children {
        components
            .entry(c.kind.as_str().into())
            .or_default()
            .push(AssetView::from(c, &st.deadlines));
    }
    let relations = st.store.relations_of(&n.id).await?;
    let allowed = allowed_from(n.state.unwrap_or(NodeState::Discovered));
    let v = n.version;
    let failure = st
        .store
        .lifecycle_history(&n.id)
        .await?
        .into_iter()
        .rev()
        .find(|h| h.to_state == NodeState::InspectionFailed.as_str())
        .map(|h| super::InspectionFailure {
            reason: h.reason.unwrap_or_default(),
            at: super::rfc3339(h.at),
            actor: h.actor,
        });
    let mut view = AssetView::from(n, &st.deadlines);
    view.status.last_inspection_failure = failure;
    Ok((
        [etag(v)],
        Json(NodeDetail {
            node: view,
            components,
            relations: relations.into_iter().map(Into::into).collect(),
            allowed_transitions: allowed,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub to: NodeState,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionResult {
    pub node: AssetView,
    pub history: HistoryEntry,
}

/// Move a node through its lifecycle. An illegal transition answers 409 and lists the allowed targets in `allowed`.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/transition", params(("id" = String, Path)), request_body = TransitionRequest, tag = "nodes",
    responses((status = 200, body = TransitionResult), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "An illegal or guarded transition; `allowed` lists the targets"), (status = 422, body = Problem)))]
pub async fn transition(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<TransitionRequest>,
) -> ApiResult<Json<TransitionResult>> {
    let (a, h) = st
        .core
        .transition(&caller.core_principal(), &id, b.to, b.reason)
        .await?;
    Ok(Json(TransitionResult {
        node: AssetView::from(a, &st.deadlines),
        history: h.into(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryList {
    pub items: Vec<HistoryEntry>,
}

/// Lifecycle history of a node, oldest first.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/history", params(("id" = String, Path)), tag = "nodes",
    responses((status = 200, body = HistoryList), (status = 404, body = Problem)))]
pub async fn history(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<HistoryList>> {
    let n = node(&st, &id).await?;
    Ok(Json(HistoryList {
        items: st
            .store
            .lifecycle_history(&n.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignProfile {
    /// Profile id or name; `null` clears.
    pub profile: Option<String>,
}

/// Assign an expected profile to a node (or clear it).
#[utoipa::path(put, path = "/api/v1/nodes/{id}/profile", params(("id" = String, Path)), request_body = AssignProfile, tag = "nodes",
    responses((status = 200, body = AssetView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn assign_profile(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<AssignProfile>,
) -> ApiResult<Json<AssetView>> {
    let n = node(&st, &id).await?;
    let pid = super::profile_id(&st, b.profile.as_deref()).await?;
    let a = st
        .store
        .assign_profile(&caller.actor, &n.id, pid.as_deref())
        .await?;
    Ok(Json(AssetView::from(a, &st.deadlines)))
}

/// Validate a node's actual configuration against its expected profile.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/validation", params(("id" = String, Path)), tag = "nodes",
    responses((status = 200, body = ValidationReport), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The node has no expected profile")))]
pub async fn validation(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ValidationReport>> {
    let n = node(&st, &id).await?;
    let Some(pid) = &n.profile_id else {
        return Err(ApiError::new(StatusCode::CONFLICT, "No profile", format!("node '{}' has no expected profile; assign one with PUT /api/v1/nodes/{{id}}/profile", n.name)));
    };
    let p = st.store.get_profile(pid).await?;
    let gpus = st.store.children(&n.id, Some(AssetKind::Gpu)).await?;
    let actual = ActualNode {
        config: n.config.clone(),
        gpu_models: gpus
            .into_iter()
            .filter(fleet_db::part_present)
            .map(|g| g.model)
            .collect(),
    };
    Ok(Json(validate(&p.name, &p.spec, &actual)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LifecycleTable {
    pub states: Vec<StateInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateInfo {
    pub state: NodeState,
    /// Deadline in seconds (absent: none).
    pub deadline_secs: Option<u64>,
    pub transitions: Vec<TransitionInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionInfo {
    pub to: NodeState,
    /// What the guard needs: none, bmc, profile or reason.
    pub guard: String,
}

/// The lifecycle transition table, guards and configured deadlines.
#[utoipa::path(get, path = "/api/v1/lifecycle", tag = "nodes", responses((status = 200, body = LifecycleTable)))]
pub async fn lifecycle(State(st): State<AppState>) -> Json<LifecycleTable> {
    use fleet_model::lifecycle::Guard;
    let states = NodeState::ALL
        .iter()
        .map(|s| StateInfo {
            state: *s,
            deadline_secs: st.deadlines.get(*s),
            transitions: TRANSITIONS
                .iter()
                .filter(|(f, _, _)| f == s)
                .map(|(_, t, g)| TransitionInfo {
                    to: *t,
                    guard: match g {
                        Guard::None => "none",
                        Guard::NeedsBmc => "bmc",
                        Guard::NeedsProfile => "profile",
                        Guard::NeedsReason => "reason",
                    }
                    .into(),
                })
                .collect(),
        })
        .collect();
    Json(LifecycleTable { states })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileList {
    pub items: Vec<ProfileView>,
}

/// List expected profiles.
#[utoipa::path(get, path = "/api/v1/profiles", tag = "profiles", responses((status = 200, body = ProfileList)))]
pub async fn list_profiles(State(st): State<AppState>) -> ApiResult<Json<ProfileList>> {
    Ok(Json(ProfileList {
        items: st
            .store
            .list_profiles()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProfile {
    pub name: String,
    pub spec: ProfileSpec,
}

/// Create an expected profile, e.g. HGX-H100-8GPU.
#[utoipa::path(post, path = "/api/v1/profiles", request_body = CreateProfile, tag = "profiles",
    responses((status = 201, body = ProfileView, headers(("ETag" = String))), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_profile(
    State(st): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateProfile>,
) -> ApiResult<impl IntoResponse> {
    let p = st
        .store
        .create_profile(&caller.actor, &b.name, &b.spec)
        .await?;
    let v = p.version;
    Ok((StatusCode::CREATED, [etag(v)], Json(ProfileView::from(p))))
}

/// Get a profile by id or name.
#[utoipa::path(get, path = "/api/v1/profiles/{id}", params(("id" = String, Path)), tag = "profiles",
    responses((status = 200, body = ProfileView, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get_profile(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let p = st.store.get_profile(&id).await?;
    let v = p.version;
    Ok(([etag(v)], Json(ProfileView::from(p))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    pub spec: ProfileSpec,
}

/// Replace a profile's spec. Honours `If-Match`.
#[utoipa::path(put, path = "/api/v1/profiles/{id}", params(("id" = String, Path)), request_body = UpdateProfile, tag = "profiles",
    responses((status = 200, body = ProfileView, headers(("ETag" = String))), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_profile(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(b): Json<UpdateProfile>,
) -> ApiResult<impl IntoResponse> {
    let p = st
        .store
        .update_profile(&caller.actor, &id, if_match(&headers)?, &b.spec)
        .await?;
    let v = p.version;
    Ok(([etag(v)], Json(ProfileView::from(p))))
}

/// Delete a profile no node uses.
#[utoipa::path(delete, path = "/api/v1/profiles/{id}", params(("id" = String, Path)), tag = "profiles",
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem), (status = 409, body = Problem, description = "A node uses the profile")))]
pub async fn delete_profile(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.store.delete_profile(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
