//! Assets, configuration versions and relations.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use fleet_db::{AssetFilter, AssetPatch, NewAsset, NewRelation};
use fleet_model::asset::{AssetKind, RelationKind};
use fleet_model::diff::{diff, Change};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::dto::{ConfigVersionView, RelationView};
use super::{decode_cursor, encode_cursor, etag, if_match, AssetPage, AssetView, Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Asset kind (rack, node, gpu, bmc, nic, disk, switch, pdu, outlet).
    pub kind: Option<String>,
    /// Lifecycle state (nodes).
    pub state: Option<String>,
    pub model: Option<String>,
    /// Rack id or name.
    pub rack: Option<String>,
    /// Parent asset id.
    pub parent: Option<String>,
    /// Profile id or name.
    pub profile: Option<String>,
    pub serial: Option<String>,
    /// MAC (NICs) or network address (BMCs, switches, PDUs).
    pub address: Option<String>,
    /// Name prefix.
    pub name: Option<String>,
    /// Labels that must all match: `key=value,key2=value2`.
    pub label: Option<String>,
    /// Only nodes past their state deadline.
    pub stuck: Option<bool>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

pub(crate) async fn build_filter(
    st: &AppState,
    q: ListQuery,
    kind: Option<AssetKind>,
) -> ApiResult<AssetFilter> {
    let mut f = AssetFilter {
        kind,
        limit: q.limit.unwrap_or(50),
        ..Default::default()
    };
    if !(1..=1000).contains(&f.limit) {
        return Err(ApiError::bad_request("'limit' must be between 1 and 1000"));
    }
    if let Some(k) = q.kind {
        let k: AssetKind = k.parse().map_err(ApiError::bad_request)?;
        if kind.is_some_and(|fixed| fixed != k) {
            return Err(ApiError::bad_request("'kind' conflicts with the resource"));
        }
        f.kind = Some(k);
    }
    if let Some(s) = q.state {
        f.state = Some(
            s.parse()
                .map_err(|e: fleet_model::lifecycle::UnknownState| {
                    ApiError::bad_request(e.to_string())
                })?,
        );
    }
    if let Some(r) = q.rack {
        f.rack_id = Some(match st.store.resolve(AssetKind::Rack, &r).await {
            Ok(a) => a.id,
            Err(fleet_db::DbError::NotFound(_)) => {
                return Err(ApiError::bad_request(format!("rack '{r}' does not exist")))
            }
            Err(e) => return Err(e.into()),
        });
    }
    if let Some(p) = q.profile {
        f.profile_id = Some(match st.store.get_profile(&p).await {
            Ok(p) => p.id,
            Err(fleet_db::DbError::NotFound(_)) => {
                return Err(ApiError::bad_request(format!(
                    "profile '{p}' does not exist"
                )))
            }
            Err(e) => return Err(e.into()),
        });
    }
    if let Some(l) = q.label {
        for pair in l.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                ApiError::bad_request(format!("label filter '{pair}' must be key=value"))
            })?;
            f.labels.push((k.trim().into(), v.trim().into()));
        }
    }
    if q.stuck == Some(true) {
        f.stuck_at = Some((fleet_db::now_ms(), st.deadlines.clone()));
    }
    f.model = q.model;
    f.parent_id = q.parent;
    f.serial = q.serial;
    f.address = q.address;
    f.name_prefix = q.name;
    f.after_id = q.cursor.as_deref().map(decode_cursor).transpose()?;
    Ok(f)
}

pub(crate) async fn list_page(st: &AppState, f: AssetFilter) -> ApiResult<AssetPage> {
    let page = st.store.list_assets(&f).await?;
    Ok(AssetPage {
        items: page
            .items
            .into_iter()
            .map(|a| AssetView::from(a, &st.deadlines))
            .collect(),
        next_cursor: page.next_after.as_deref().map(encode_cursor),
    })
}

/// List assets with filters and cursor pagination.
#[utoipa::path(get, path = "/api/v1/assets", params(ListQuery), tag = "assets",
    responses((status = 200, body = AssetPage), (status = 400, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<AssetPage>> {
    let f = build_filter(&st, q, None).await?;
    Ok(Json(list_page(&st, f).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAsset {
    pub kind: AssetKind,
    pub name: String,
    pub parent_id: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Configuration document. A `password` field (BMC, switch, PDU) is stored encrypted, never versioned.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub config: Value,
    /// Expected profile id or name (nodes).
    pub profile: Option<String>,
    pub reason: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Create an asset (configuration version 1).
#[utoipa::path(post, path = "/api/v1/assets", request_body = CreateAsset, tag = "assets",
    responses((status = 201, body = AssetView, headers(("ETag" = String))), (status = 400, body = Problem), (status = 404, body = Problem, description = "The parent does not exist"),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateAsset>,
) -> ApiResult<impl IntoResponse> {
    let profile_id = super::profile_id(&st, b.profile.as_deref()).await?;
    let a = st
        .core
        .create_asset(
            &caller.core_principal(),
            NewAsset {
                kind: b.kind,
                name: b.name,
                parent_id: b.parent_id,
                labels: b.labels,
                config: b.config,
                profile_id,
                reason: b.reason,
            },
        )
        .await?;
    let v = a.version;
    Ok((
        StatusCode::CREATED,
        [etag(v)],
        Json(AssetView::from(a, &st.deadlines)),
    ))
}

/// Get an asset. The `ETag` is its configuration version.
#[utoipa::path(get, path = "/api/v1/assets/{id}", params(("id" = String, Path)), tag = "assets",
    responses((status = 200, body = AssetView, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let a = st.store.get_asset(&id).await?;
    let v = a.version;
    Ok(([etag(v)], Json(AssetView::from(a, &st.deadlines))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAsset {
    pub name: Option<String>,
    /// New parent id; `null` detaches.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<String>>,
    /// Replaces all labels.
    pub labels: Option<BTreeMap<String, String>>,
}

/// Rename, move or relabel an asset. Honours `If-Match`.
#[utoipa::path(patch, path = "/api/v1/assets/{id}", params(("id" = String, Path)), request_body = PatchAsset, tag = "assets",
    responses((status = 200, body = AssetView, headers(("ETag" = String))), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn patch(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(b): Json<PatchAsset>,
) -> ApiResult<impl IntoResponse> {
    let a = st
        .core
        .patch_asset(
            &caller.core_principal(),
            &id,
            if_match(&headers)?,
            AssetPatch {
                name: b.name,
                parent_id: b.parent_id,
                labels: b.labels,
            },
        )
        .await?;
    let v = a.version;
    Ok(([etag(v)], Json(AssetView::from(a, &st.deadlines))))
}

/// Delete an asset that contains nothing.
#[utoipa::path(delete, path = "/api/v1/assets/{id}", params(("id" = String, Path)), tag = "assets",
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.core.delete_asset(&caller.core_principal(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutConfig {
    #[schema(value_type = Object)]
    pub config: Value,
    /// Why the configuration changes; kept with the version.
    pub reason: Option<String>,
}

/// Replace an asset's configuration, creating a new version. Send `If-Match` with the ETag you read: a stale one gets 412.
#[utoipa::path(put, path = "/api/v1/assets/{id}/config", params(("id" = String, Path), ("If-Match" = Option<String>, Header)), request_body = PutConfig, tag = "assets",
    responses((status = 200, body = AssetView, headers(("ETag" = String))), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn put_config(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(b): Json<PutConfig>,
) -> ApiResult<impl IntoResponse> {
    let a = st
        .core
        .put_config(
            &caller.core_principal(),
            &id,
            if_match(&headers)?,
            b.config,
            b.reason,
        )
        .await?;
    let v = a.version;
    Ok(([etag(v)], Json(AssetView::from(a, &st.deadlines))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub items: Vec<ConfigVersionView>,
}

/// All configuration versions of an asset, oldest first.
#[utoipa::path(get, path = "/api/v1/assets/{id}/versions", params(("id" = String, Path)), tag = "assets",
    responses((status = 200, body = VersionList), (status = 404, body = Problem)))]
pub async fn versions(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<VersionList>> {
    Ok(Json(VersionList {
        items: st
            .store
            .list_versions(&id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

/// One configuration version.
#[utoipa::path(get, path = "/api/v1/assets/{id}/versions/{version}", params(("id" = String, Path), ("version" = i64, Path)), tag = "assets",
    responses((status = 200, body = ConfigVersionView), (status = 404, body = Problem)))]
pub async fn version(
    State(st): State<AppState>,
    Path((id, version)): Path<(String, i64)>,
) -> ApiResult<Json<ConfigVersionView>> {
    Ok(Json(st.store.get_version(&id, version).await?.into()))
}

/// Restore an old configuration as a new version. Honours `If-Match`.
#[utoipa::path(post, path = "/api/v1/assets/{id}/versions/{version}/restore", params(("id" = String, Path), ("version" = i64, Path)), tag = "assets",
    responses((status = 200, body = AssetView, headers(("ETag" = String))), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn restore(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, i64)>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let a = st
        .core
        .restore_version(&caller.core_principal(), &id, version, if_match(&headers)?)
        .await?;
    let v = a.version;
    Ok(([etag(v)], Json(AssetView::from(a, &st.deadlines))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    pub from: i64,
    /// Defaults to the current version.
    pub to: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiffView {
    pub from: i64,
    pub to: i64,
    pub changes: Vec<Change>,
}

/// Differences between two configuration versions.
#[utoipa::path(get, path = "/api/v1/assets/{id}/diff", params(("id" = String, Path), DiffQuery), tag = "assets",
    responses((status = 200, body = DiffView), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn diff_versions(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Json<DiffView>> {
    let to = match q.to {
        Some(t) => t,
        None => st.store.get_asset(&id).await?.version,
    };
    let a = st.store.get_version(&id, q.from).await?;
    let b = st.store.get_version(&id, to).await?;
    Ok(Json(DiffView {
        from: q.from,
        to,
        changes: diff(&a.config, &b.config),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RelationList {
    pub items: Vec<RelationView>,
}

/// Relations touching an asset (either end).
#[utoipa::path(get, path = "/api/v1/assets/{id}/relations", params(("id" = String, Path)), tag = "assets",
    responses((status = 200, body = RelationList), (status = 404, body = Problem)))]
pub async fn relations(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<RelationList>> {
    st.store.get_asset(&id).await?;
    Ok(Json(RelationList {
        items: st
            .store
            .relations_of(&id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRelation {
    pub kind: RelationKind,
    pub from_id: String,
    pub to_id: String,
    /// E.g. `{"port": "Ethernet1"}` for `connected_to`.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub attrs: Value,
}

/// Create a relation (powered_by, connected_to, nvlink, manages).
#[utoipa::path(post, path = "/api/v1/relations", request_body = CreateRelation, tag = "assets",
    responses((status = 201, body = RelationView), (status = 404, body = Problem, description = "An end does not exist"),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_relation(
    State(st): State<AppState>,
    caller: Caller,
    Json(b): Json<CreateRelation>,
) -> ApiResult<impl IntoResponse> {
    let r = st
        .store
        .create_relation(
            &caller.actor,
            NewRelation {
                kind: b.kind,
                from_id: b.from_id,
                to_id: b.to_id,
                attrs: b.attrs,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(RelationView::from(r))))
}

/// Delete a relation.
#[utoipa::path(delete, path = "/api/v1/relations/{id}", params(("id" = String, Path)), tag = "assets",
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem)))]
pub async fn delete_relation(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    st.store.delete_relation(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
