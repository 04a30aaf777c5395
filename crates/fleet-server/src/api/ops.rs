//! Out-of-band operations as jobs: power, boot device, virtual media, SEL, reads (operator);
//! BIOS, RAID and firmware (admin). Each request queues a job (audited, published), a task runs
//! it against the node's BMC under a deadline, and results become a new configuration version
//! of the node (`config.oob`). BMC credentials come only from the encrypted secret store and
//! never appear in job parameters, logs or errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use fleet_bmc::{
    BootDevice, BootOverride, FirmwareSource, OutOfBand, PowerAction, PowerState, VolumeSpec,
};
use fleet_db::{Actor, Job, JobFilter, JobLogLine, JobUpdate, NewJob};
use fleet_model::asset::AssetKind;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};

use super::{Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

const DEFAULT_DEADLINE_S: u64 = 600;

fn running() -> &'static parking_lot::Mutex<HashMap<String, CancellationToken>> {
    static R: OnceLock<parking_lot::Mutex<HashMap<String, CancellationToken>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// An operation on one node.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct OpRequest {
    /// Driver: `redfish` or `ipmi` (default: the BMC's protocol), or `ipmitool`.
    pub driver: Option<String>,
    /// Deadline of the whole job in seconds (default 600).
    pub deadline_s: Option<u64>,
    /// Operation parameters (see each route).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    pub job: Job,
    pub log: Vec<JobLogLine>,
}

fn kind_of(group: &str, params: &BTreeMap<String, Value>) -> ApiResult<String> {
    let s = |k: &str| params.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let k = match group {
        "power" => {
            let a = s("action");
            a.parse::<PowerAction>().map_err(|e| ApiError::bad_request(e.to_string()))?;
            format!("power.{a}")
        }
        "boot" => {
            s("device").parse::<BootDevice>().map_err(|e| ApiError::bad_request(e.to_string()))?;
            "boot.set".into()
        }
        "media" => match s("action") {
            "insert" if !s("image").is_empty() => "media.insert".into(),
            "eject" => "media.eject".into(),
            _ => return Err(ApiError::bad_request("media: action is 'insert' (with 'image') or 'eject'")),
        },
        "read" => match s("what") {
            w @ ("power" | "bios" | "raid" | "firmware" | "sel" | "sensors" | "boot" | "media") => format!("read.{w}"),
            _ => {
                return Err(ApiError::bad_request(
                    "read: 'what' is power, boot, bios, raid, firmware, sel, sensors or media",
                ))
            }
        },
        "sel" => "sel.clear".into(),
        "bios" => {
            if params.get("attributes").is_none_or(|a| a.as_object().is_none_or(|o| o.is_empty())) {
                return Err(ApiError::bad_request("bios: 'attributes' must be a non-empty object"));
            }
            "bios.set".into()
        }
        "raid" => match s("action") {
            "create" if !s("controller").is_empty() && params.get("drives").is_some_and(|d| d.is_array()) => {
                "raid.create".into()
            }
            "delete" if !s("controller").is_empty() && !s("volume").is_empty() => "raid.delete".into(),
            _ => {
                return Err(ApiError::bad_request(
                    "raid: action 'create' (controller, raid_type, drives, name) or 'delete' (controller, volume)",
                ))
            }
        },
        "firmware" => {
            if s("url").is_empty() {
                return Err(ApiError::bad_request("firmware: 'url' of the image is required"));
            }
            "firmware.update".into()
        }
        _ => return Err(ApiError::not_found(format!("no operation group {group}"))),
    };
    Ok(k)
}

/// Jobs that reset or reconfigure the node: at most one queued or running per node.
fn exclusive(kind: &str) -> bool {
    kind.starts_with("power.") || kind == "boot.set" || kind == "bios.set"
}

static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Node → its power, boot or BIOS job (id, kind) queued or running in this process.
fn busy() -> &'static parking_lot::Mutex<HashMap<String, (String, String)>> {
    static B: OnceLock<parking_lot::Mutex<HashMap<String, (String, String)>>> = OnceLock::new();
    B.get_or_init(Default::default)
}

/// The job has ended (or never ran): its node takes the next one.
fn release(job: &Job) {
    let mut b = busy().lock();
    if b.get(&job.target).is_some_and(|(id, _)| *id == job.id) {
        b.remove(&job.target);
    }
}

/// The node's queued or running power, boot or BIOS job, if any.
async fn running_exclusive(st: &AppState, node: &str) -> ApiResult<Option<Job>> {
    for state in ["running", "queued"] {
        let jobs = st
            .store
            .list_jobs(&JobFilter {
                target: Some(node.to_string()),
                state: Some(state.into()),
                limit: 100,
                ..Default::default()
            })
            .await?;
        if let Some(j) = jobs.into_iter().find(|j| exclusive(&j.kind)) {
            return Ok(Some(j));
        }
    }
    Ok(None)
}

async fn node_id(st: &AppState, id: &str) -> ApiResult<String> {
    Ok(super::node(st, id).await?.id)
}

async fn queue(
    st: &AppState,
    caller: &Caller,
    node: &str,
    group: &str,
    req: OpRequest,
    batch: Option<String>,
) -> ApiResult<Job> {
    let kind = kind_of(group, &req.params)?;
    if let Some(d) = &req.driver {
        if !matches!(d.as_str(), "redfish" | "ipmi" | "ipmitool") {
            return Err(ApiError::bad_request("driver is redfish, ipmi or ipmitool"));
        }
    }
    let deadline_s = req.deadline_s.unwrap_or(DEFAULT_DEADLINE_S).clamp(1, 7200);
    // One power, boot or BIOS job per node at a time: two would race on the same reset. The
    // check and the creation are one step for this process.
    let _one_at_a_time = match exclusive(&kind) {
        true => Some(EXCLUSIVE.lock().await),
        false => None,
    };
    if exclusive(&kind) {
        let here = busy().lock().get(node).cloned();
        let other = match here {
            Some((id, kind)) => Some((id, kind, "queued or running".to_string())),
            None => running_exclusive(st, node)
                .await?
                .map(|j| (j.id, j.kind, j.state)),
        };
        if let Some((id, kind, state)) = other {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "Job running",
                format!(
                    "node {node} already has {kind} job {id} ({state}); wait for it to end or \
                     cancel it"
                ),
            );
            e.extra.insert("job".into(), json!(id));
            return Err(e);
        }
    }
    let job = st
        .store
        .create_job(
            &caller.actor,
            NewJob {
                kind,
                target: node.to_string(),
                driver: req.driver.clone(),
                params: json!(req.params),
                batch_id: batch,
                deadline_ms: (deadline_s * 1000) as i64,
            },
        )
        .await?;
    if exclusive(&job.kind) {
        busy()
            .lock()
            .insert(node.to_string(), (job.id.clone(), job.kind.clone()));
    }
    spawn(st.clone(), job.clone(), caller.actor.clone());
    Ok(job)
}

macro_rules! op_route {
    ($fn:ident, $group:literal, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, params(("id" = String, Path)), request_body = OpRequest, tag = "operations",
            responses((status = 202, body = Job), (status = 400, body = Problem), (status = 404, body = Problem)))]
        pub async fn $fn(
            State(st): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            Json(req): Json<OpRequest>,
        ) -> ApiResult<(StatusCode, Json<Job>)> {
            let node = node_id(&st, &id).await?;
            Ok((StatusCode::ACCEPTED, Json(queue(&st, &caller, &node, $group, req, None).await?)))
        }
    };
}

op_route!(
    power,
    "power",
    "/api/v1/nodes/{id}/power",
    "Power on, off, graceful_shutdown, cycle or reset a node (`action`)."
);
op_route!(
    boot,
    "boot",
    "/api/v1/nodes/{id}/boot",
    "Set the boot device (`device`: pxe, disk, cd, bios_setup, none; `persistent`)."
);
op_route!(
    media,
    "media",
    "/api/v1/nodes/{id}/media",
    "Insert (`image`) or eject virtual media (`action`)."
);
op_route!(
    read,
    "read",
    "/api/v1/nodes/{id}/read",
    "Read power, boot, BIOS, RAID, firmware, SEL, sensors or media state (`what`)."
);
op_route!(
    clear_sel,
    "sel",
    "/api/v1/nodes/{id}/sel/clear",
    "Clear the system event log."
);
op_route!(
    bios,
    "bios",
    "/api/v1/nodes/{id}/bios",
    "Set BIOS `attributes` (pending until reset); `apply: true` resets the node and verifies them."
);
op_route!(raid, "raid", "/api/v1/nodes/{id}/raid", "Create (`controller`, `name`, `raid_type`, `drives`) or delete (`controller`, `volume`) a RAID volume.");
op_route!(
    firmware,
    "firmware",
    "/api/v1/nodes/{id}/firmware",
    "Update firmware from `url` (`targets`: inventory ids); the version is verified afterwards."
);

#[derive(Debug, Deserialize, IntoParams)]
pub struct BiosDiffQuery {
    /// Driver to read with (default: the BMC's protocol; BIOS attributes need Redfish).
    pub driver: Option<String>,
}

/// One attribute where the node differs from its expected profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct BiosDifference {
    pub attribute: String,
    #[schema(value_type = Object)]
    pub expected: Value,
    /// The value in effect now; absent when the BMC does not report the attribute.
    #[schema(value_type = Object)]
    pub actual: Option<Value>,
    /// A value written but not yet applied (takes effect at the next reset).
    #[schema(value_type = Object)]
    pub pending: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BiosDiffView {
    pub node: String,
    pub profile: String,
    pub profile_version: i64,
    /// True when every attribute of the profile's `bios` map is in effect.
    pub matches: bool,
    pub differences: Vec<BiosDifference>,
    /// Every attribute pending on the BMC.
    #[schema(value_type = Object)]
    pub pending: BTreeMap<String, Value>,
}

/// The node's BIOS attributes, read live from its BMC, against the `bios` map of its expected
/// profile: exactly the attributes that differ.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/bios/diff", params(("id" = String, Path), BiosDiffQuery), tag = "operations",
    responses((status = 200, body = BiosDiffView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 502, body = Problem)))]
pub async fn bios_diff(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<BiosDiffQuery>,
) -> ApiResult<Json<BiosDiffView>> {
    let node = node_id(&st, &id).await?;
    let asset = st.store.get_asset(&node).await?;
    let Some(pid) = asset.profile_id.clone() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "No expected profile",
            format!("node {id} has no expected profile to compare its BIOS with"),
        ));
    };
    let profile = st.store.get_profile(&pid).await?;
    if let Some(d) = &q.driver {
        if !matches!(d.as_str(), "redfish" | "ipmi" | "ipmitool") {
            return Err(ApiError::bad_request("driver is redfish, ipmi or ipmitool"));
        }
    }
    let bmc_err =
        |e: String| ApiError::new(StatusCode::BAD_GATEWAY, "BMC unreachable or failed", e);
    let bmc = bmc_for(&st, &node, q.driver.as_deref())
        .await
        .map_err(bmc_err)?;
    let deadline = Duration::from_secs(60);
    let b = fleet_bmc::with_deadline(bmc.endpoint(), deadline, bmc.bios())
        .await
        .map_err(|e| bmc_err(e.to_string()))?;
    let differences: Vec<BiosDifference> = fleet_bmc::bios_diff(&profile.spec.bios, &b.current)
        .into_iter()
        .map(|d| BiosDifference {
            pending: b.pending.get(&d.attribute).cloned(),
            attribute: d.attribute,
            expected: d.expected,
            actual: d.actual,
        })
        .collect();
    Ok(Json(BiosDiffView {
        node,
        profile: profile.name,
        profile_version: profile.version,
        matches: differences.is_empty(),
        differences,
        pending: b.pending,
    }))
}

/// After a job that reboots the node: when a BIOS change is recorded as pending
/// (`config.oob.bios_pending`), re-reads the attributes and verifies them. Returns the fields
/// to merge into the job's `config.oob` patch, or None when nothing was pending.
async fn verify_pending_bios(
    st: &AppState,
    job: &Job,
    bmc: &Arc<dyn OutOfBand>,
) -> Option<serde_json::Map<String, Value>> {
    let a = st.store.get_asset(&job.target).await.ok()?;
    let pending = a.config.get("oob")?.get("bios_pending")?;
    let attrs: BTreeMap<String, Value> =
        serde_json::from_value(pending.get("attributes")?.clone()).ok()?;
    if attrs.is_empty() {
        return None;
    }
    let id = job.id.as_str();
    log(
        st,
        id,
        format!(
            "verifying pending BIOS attributes: {}",
            attrs.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    )
    .await;
    // IPMI reads no BIOS attributes: read them over the BMC's Redfish face then.
    let reader: Result<Arc<dyn OutOfBand>, String> = match bmc.bios().await {
        Err(fleet_bmc::BmcError::Unsupported { .. }) => {
            bmc_for(st, &job.target, Some("redfish")).await
        }
        _ => Ok(bmc.clone()),
    };
    let mut out = serde_json::Map::new();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let reader = match reader {
        Ok(r) => r,
        Err(e) => {
            log(
                st,
                id,
                format!("cannot verify the pending BIOS attributes: {e}"),
            )
            .await;
            return None;
        }
    };
    // The BMC may take a moment after power-on to report the applied settings.
    let start = tokio::time::Instant::now();
    let outcome = loop {
        match reader.bios().await {
            Ok(b) => {
                let diff = fleet_bmc::bios_diff(&attrs, &b.current);
                if diff.is_empty() || start.elapsed() > Duration::from_secs(20) {
                    break Ok((b, diff));
                }
            }
            Err(e) if start.elapsed() > Duration::from_secs(20) || !e.is_transient() => {
                break Err(e)
            }
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    match outcome {
        Ok((b, diff)) if diff.is_empty() => {
            log(
                st,
                id,
                "pending BIOS attributes applied and verified after the reset",
            )
            .await;
            out.insert("bios".into(), json!(b.current));
            out.insert("bios_pending".into(), Value::Null);
            out.insert(
                "bios_verified".into(),
                json!({"ok": true, "attributes": attrs, "job": id, "at_ms": now,
                       "set_by_job": pending.get("job")}),
            );
        }
        Ok((b, diff)) => {
            log(
                st,
                id,
                format!(
                    "pending BIOS attributes NOT applied after the reset: {}",
                    json!(diff)
                ),
            )
            .await;
            out.insert("bios".into(), json!(b.current));
            out.insert(
                "bios_verified".into(),
                json!({"ok": false, "differences": diff, "job": id, "at_ms": now,
                       "set_by_job": pending.get("job")}),
            );
        }
        Err(e) => {
            log(
                st,
                id,
                format!("cannot verify the pending BIOS attributes: {e}"),
            )
            .await;
            return None;
        }
    }
    Some(out)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadQuery {
    /// File name of the image, as the BMC is to see it (BMCs may read the version from it).
    pub filename: String,
    /// Firmware inventory ids to update, comma-separated (default: what the BMC chooses).
    pub targets: Option<String>,
    /// The version every target must report afterwards.
    pub expect_version: Option<String>,
    /// Deadline of the whole job in seconds (default 600).
    pub deadline_s: Option<u64>,
}

/// Where an uploaded image waits for its job: `<data_dir>/uploads/<job id>`.
fn upload_dir(st: &AppState) -> std::path::PathBuf {
    st.config.data_dir.join("uploads")
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Image too large",
        format!("the image is larger than {max} bytes (operations.max_upload_bytes)"),
    )
}

/// Update firmware from an uploaded image: the body is the image (`application/octet-stream`).
/// The image is kept in a file owned by the job (removed when the job ends), pushed to the BMC
/// (Redfish multipart push) and the versions are read back into the CMDB.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/firmware/upload", params(("id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"), tag = "operations",
    responses((status = 202, body = Job), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem)))]
pub async fn firmware_upload(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Json<Job>)> {
    use futures::StreamExt;
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;

    let node = node_id(&st, &id).await?;
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/octet-stream") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "send the image as the request body with Content-Type: application/octet-stream",
        ));
    }
    let name = q.filename.trim();
    if name.is_empty()
        || name.len() > 255
        || name.contains(['/', '\\', '"'])
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "'filename' must be a plain file name (no path, quotes or control characters, at most 255 bytes)",
        ));
    }
    let max = st.config.operations.max_upload_bytes;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let targets: Vec<String> = q
        .targets
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let dir = upload_dir(&st);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::internal(format!("cannot create the upload directory: {e}")))?;
    let incoming = dir.join(format!("incoming-{}", uuid::Uuid::now_v7()));
    let result: ApiResult<(u64, String)> = async {
        // Images are readable by gpufleet's user only.
        let mut opts = tokio::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let mut f = opts
            .open(&incoming)
            .await
            .map_err(|e| ApiError::internal(format!("cannot store the image: {e}")))?;
        let mut size = 0u64;
        let mut hash = sha2::Sha256::new();
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::bad_request(format!("the upload broke off: {e}")))?;
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large(max));
            }
            hash.update(&chunk);
            f.write_all(&chunk)
                .await
                .map_err(|e| ApiError::internal(format!("cannot store the image: {e}")))?;
        }
        f.flush()
            .await
            .map_err(|e| ApiError::internal(format!("cannot store the image: {e}")))?;
        if size == 0 {
            return Err(ApiError::bad_request("the request carries no image"));
        }
        Ok((size, hex::encode(hash.finalize())))
    }
    .await;
    let (size, sha256) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = tokio::fs::remove_file(&incoming).await;
            return Err(e);
        }
    };
    let deadline_s = q.deadline_s.unwrap_or(DEFAULT_DEADLINE_S).clamp(1, 7200);
    let mut params = json!({
        "upload": {"filename": name, "size": size, "sha256": sha256},
        "targets": targets,
    });
    if let Some(v) = &q.expect_version {
        params["expect_version"] = json!(v);
    }
    let job = match st
        .store
        .create_job(
            &caller.actor,
            NewJob {
                kind: "firmware.update".into(),
                target: node,
                driver: Some("redfish".into()),
                params,
                batch_id: None,
                deadline_ms: (deadline_s * 1000) as i64,
            },
        )
        .await
    {
        Ok(j) => j,
        Err(e) => {
            let _ = tokio::fs::remove_file(&incoming).await;
            return Err(e.into());
        }
    };
    if let Err(e) = tokio::fs::rename(&incoming, dir.join(&job.id)).await {
        let _ = tokio::fs::remove_file(&incoming).await;
        return Err(ApiError::internal(format!("cannot store the image: {e}")));
    }
    spawn(st.clone(), job.clone(), caller.actor.clone());
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Removes a job's uploaded image when the job ends, whichever way it ends.
struct UploadGuard(Option<std::path::PathBuf>);

impl Drop for UploadGuard {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A bulk operation: one job per selected node, run with a concurrency limit.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkRequest {
    /// `power`, `boot` or `media` (operator); `bios` or `firmware` (admin).
    pub group: String,
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, Value>,
    pub driver: Option<String>,
    /// Node ids or names.
    #[serde(default)]
    pub ids: Vec<String>,
    /// Nodes with all of these labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub rack: Option<String>,
    pub state: Option<String>,
    /// Jobs running at once (default 50).
    pub concurrency: Option<usize>,
    /// Deadline per node in seconds (default 600).
    pub node_deadline_s: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    pub batch_id: String,
    pub jobs: Vec<Job>,
}

/// Start one operation on many nodes (by ids, labels, rack or lifecycle state).
#[utoipa::path(post, path = "/api/v1/ops/bulk", request_body = BulkRequest, tag = "operations",
    responses((status = 202, body = BulkResponse), (status = 400, body = Problem)))]
pub async fn bulk(
    State(st): State<AppState>,
    caller: Caller,
    Json(req): Json<BulkRequest>,
) -> ApiResult<(StatusCode, Json<BulkResponse>)> {
    // The route lets operators in; BIOS and firmware need what their single-node routes need,
    // so that a bulk request is no way around the permission table.
    let needed = match req.group.as_str() {
        "power" | "boot" | "media" => fleet_model::rbac::Permission::OobOperate,
        "bios" | "firmware" => fleet_model::rbac::Permission::OobAdmin,
        _ => {
            return Err(ApiError::bad_request(
                "bulk operations are power, boot, media, bios or firmware",
            ))
        }
    };
    let role = caller.principal.user.role;
    if !fleet_model::rbac::allows(role, needed) {
        return Err(ApiError::forbidden(format!(
            "role '{}' may not start bulk {} operations; this needs the {needed:?} permission",
            role.as_str(),
            req.group
        )));
    }
    kind_of(&req.group, &req.params)?;
    let state = match &req.state {
        Some(x) => Some(
            serde_json::from_value::<fleet_model::lifecycle::NodeState>(json!(x))
                .map_err(|_| ApiError::bad_request(format!("unknown lifecycle state {x}")))?,
        ),
        None => None,
    };
    let nodes: Vec<String> =
        super::select_nodes(&st, &req.ids, &req.labels, req.rack.as_deref(), state)
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
    let batch = uuid::Uuid::now_v7().to_string();
    let sem = Arc::new(tokio::sync::Semaphore::new(
        req.concurrency.unwrap_or(50).clamp(1, 1000),
    ));
    let mut jobs = vec![];
    for n in nodes {
        let params = req.params.clone();
        let op = OpRequest {
            driver: req.driver.clone(),
            deadline_s: req.node_deadline_s,
            params,
        };
        let kind = kind_of(&req.group, &op.params)?;
        let job = st
            .store
            .create_job(
                &caller.actor,
                NewJob {
                    kind,
                    target: n,
                    driver: op.driver.clone(),
                    params: json!(op.params),
                    batch_id: Some(batch.clone()),
                    deadline_ms: (op.deadline_s.unwrap_or(DEFAULT_DEADLINE_S).clamp(1, 7200) * 1000)
                        as i64,
                },
            )
            .await?;
        let (st2, job2, actor, sem) = (st.clone(), job.clone(), caller.actor.clone(), sem.clone());
        let token = register(&job.id);
        tokio::spawn(async move {
            let _permit = tokio::select! {
                p = sem.acquire_owned() => p.ok(),
                _ = token.cancelled() => None,
            };
            run(st2, job2, actor, token).await;
        });
        jobs.push(job);
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(BulkResponse {
            batch_id: batch,
            jobs,
        }),
    ))
}

/// A switch port as its gNMI target reports it (OpenConfig interfaces).
#[derive(Debug, Serialize, ToSchema)]
pub struct PortView {
    pub name: String,
    pub admin_up: bool,
    /// `UP`, `DOWN`, ... as the target reports it.
    pub oper_status: String,
    pub description: Option<String>,
    pub mtu: Option<u64>,
}

impl From<fleet_bmc::gnmi::PortStatus> for PortView {
    fn from(p: fleet_bmc::gnmi::PortStatus) -> Self {
        PortView {
            name: p.name,
            admin_up: p.admin_up,
            oper_status: p.oper_status,
            description: p.description,
            mtu: p.mtu,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PortsQuery {
    /// Only this port.
    pub port: Option<String>,
}

async fn switch_id(st: &AppState, id: &str) -> ApiResult<String> {
    Ok(st
        .store
        .resolve(AssetKind::Switch, id)
        .await
        .map_err(|e| match e {
            fleet_db::DbError::Invalid(m) => ApiError::not_found(m),
            other => other.into(),
        })?
        .id)
}

/// The gNMI client of a switch: `address` (host:port) from its configuration, `username`
/// (default `admin`) and the password from the encrypted store when one is set.
async fn gnmi_for(st: &AppState, switch: &str) -> Result<fleet_bmc::gnmi::GnmiClient, String> {
    let a = st
        .store
        .get_asset(switch)
        .await
        .map_err(|e| e.to_string())?;
    let cfg = &a.config;
    let address = cfg
        .get("gnmi_address")
        .or_else(|| cfg.get("address"))
        .and_then(|v| v.as_str())
        .filter(|v| !v.trim().is_empty())
        .ok_or("the switch has no gNMI address ('address' in its configuration)")?;
    let timeout = Duration::from_secs(cfg.get("timeout_s").and_then(|v| v.as_u64()).unwrap_or(10));
    let mut client =
        fleet_bmc::gnmi::GnmiClient::new(address, timeout).map_err(|e| e.to_string())?;
    let binding = fleet_model::asset::credential_binding(a.kind, cfg).unwrap_or_default();
    let password = st
        .store
        .get_secret_for(switch, "password", &binding)
        .await
        .map_err(|e| format!("cannot read the switch password: {e}"))?;
    if let Some(p) = password {
        // gNMI sends the password as call metadata: never over plaintext gRPC unless this
        // switch is explicitly opted in (`gnmi_plaintext: true`, which is part of the
        // credential's endpoint binding, so setting it needs the password again).
        // This build's gNMI client speaks plaintext gRPC only (see GnmiClient::new).
        let tls = false;
        let plaintext_ok = cfg.get("gnmi_plaintext").and_then(|v| v.as_bool()) == Some(true);
        if !tls && !plaintext_ok {
            return Err(format!(
                "switch {}: gNMI to {address} is plaintext gRPC and a password is stored; gpufleet does not send the password in clear. Set 'gnmi_plaintext': true in the switch's configuration (with the password) to accept that risk on this switch",
                a.name
            ));
        }
        let user = cfg
            .get("username")
            .or_else(|| cfg.get("user"))
            .and_then(|u| u.as_str())
            .unwrap_or("admin");
        client = client.with_credentials(user, &p);
    }
    Ok(client)
}

fn upstream(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "Switch unreachable or failed",
        e.to_string(),
    )
}

/// Port status of a switch, read live over gNMI (all ports, or `port`).
#[utoipa::path(get, path = "/api/v1/switches/{id}/ports", params(("id" = String, Path), PortsQuery), tag = "operations",
    responses((status = 200, body = Vec<PortView>), (status = 404, body = Problem), (status = 502, body = Problem)))]
pub async fn switch_ports(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PortsQuery>,
) -> ApiResult<Json<Vec<PortView>>> {
    let sw = switch_id(&st, &id).await?;
    let g = gnmi_for(&st, &sw).await.map_err(upstream)?;
    let ports = match &q.port {
        Some(p) => vec![g.port(p).await.map_err(|e| match &e {
            fleet_bmc::BmcError::NotFound { .. } => {
                ApiError::not_found(format!("switch {id} has no port {p}"))
            }
            fleet_bmc::BmcError::Gnmi { code, .. } if code == "NotFound" => {
                ApiError::not_found(format!("switch {id} has no port {p}: {e}"))
            }
            _ => upstream(e),
        })?],
        None => g.ports().await.map_err(upstream)?,
    };
    Ok(Json(ports.into_iter().map(PortView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PortAdminRequest {
    /// true: administratively up; false: down.
    pub enabled: bool,
    /// Deadline of the job in seconds (default 600).
    pub deadline_s: Option<u64>,
}

/// Set a switch port administratively up or down over gNMI, as an audited job; the port's
/// status afterwards becomes a new configuration version of the switch (`config.oob.ports`).
#[utoipa::path(post, path = "/api/v1/switches/{id}/ports/{port}/admin", params(("id" = String, Path), ("port" = String, Path)),
    request_body = PortAdminRequest, tag = "operations",
    responses((status = 202, body = Job), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn port_admin(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, port)): Path<(String, String)>,
    Json(req): Json<PortAdminRequest>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    let sw = switch_id(&st, &id).await?;
    if port.trim().is_empty() || port.contains(['[', ']', '/']) {
        return Err(ApiError::bad_request(format!(
            "'{port}' is not a port name"
        )));
    }
    let deadline_s = req.deadline_s.unwrap_or(DEFAULT_DEADLINE_S).clamp(1, 7200);
    let job = st
        .store
        .create_job(
            &caller.actor,
            NewJob {
                kind: "port.admin".into(),
                target: sw,
                driver: Some("gnmi".into()),
                params: json!({"port": port, "enabled": req.enabled}),
                batch_id: None,
                deadline_ms: (deadline_s * 1000) as i64,
            },
        )
        .await?;
    spawn(st.clone(), job.clone(), caller.actor.clone());
    Ok((StatusCode::ACCEPTED, Json(job)))
}

async fn execute_port_admin(
    st: &AppState,
    job: &Job,
    params: &BTreeMap<String, Value>,
) -> Result<Value, String> {
    let port = params
        .get("port")
        .and_then(|v| v.as_str())
        .ok_or("port.admin needs 'port'")?;
    let enabled = params
        .get("enabled")
        .and_then(|v| v.as_bool())
        .ok_or("port.admin needs 'enabled'")?;
    let g = gnmi_for(st, &job.target).await?;
    log(
        st,
        &job.id,
        format!(
            "port {port} admin {} via gnmi",
            if enabled { "up" } else { "down" }
        ),
    )
    .await;
    let e = |e: fleet_bmc::BmcError| e.to_string();
    g.set_admin(port, enabled).await.map_err(e)?;
    let p = g.port(port).await.map_err(e)?;
    if p.admin_up != enabled {
        return Err(format!(
            "port {port} reads admin {} after the change",
            if p.admin_up { "up" } else { "down" }
        ));
    }
    log(
        st,
        &job.id,
        format!(
            "port {port}: admin {}, oper {}",
            if p.admin_up { "up" } else { "down" },
            p.oper_status
        ),
    )
    .await;
    let v = json!({"admin_up": p.admin_up, "oper_status": p.oper_status});
    record_merge(st, &job.target, "port.admin", "ports", port, v.clone()).await?;
    Ok(json!({"port": port, "status": v}))
}

/// Writes `config.oob.<map>.<key> = value` as a new configuration version, keeping the map's
/// other entries.
async fn record_merge(
    st: &AppState,
    asset: &str,
    kind: &str,
    map: &str,
    key: &str,
    value: Value,
) -> Result<(), String> {
    let a = st.store.get_asset(asset).await.map_err(|e| e.to_string())?;
    let mut m = a
        .config
        .get("oob")
        .and_then(|o| o.get(map))
        .and_then(|m| m.as_object())
        .cloned()
        .unwrap_or_default();
    m.insert(key.to_string(), value);
    record(st, asset, kind, json!({ map: m })).await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct JobQuery {
    pub target: Option<String>,
    pub state: Option<String>,
    pub batch_id: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<i64>,
}

/// List jobs, newest first (filters: target node, state, batch, kind).
#[utoipa::path(get, path = "/api/v1/jobs", params(JobQuery), tag = "operations",
    responses((status = 200, body = Vec<Job>)))]
pub async fn list_jobs(
    State(st): State<AppState>,
    Query(q): Query<JobQuery>,
) -> ApiResult<Json<Vec<Job>>> {
    Ok(Json(
        st.store
            .list_jobs(&JobFilter {
                target: q.target,
                state: q.state,
                batch_id: q.batch_id,
                kind: q.kind,
                limit: q.limit.unwrap_or(100),
            })
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FollowQuery {
    /// Only log lines after this line id (follow a job by passing the last id seen).
    pub after: Option<i64>,
    /// Wait up to this many seconds (max 30) for the job to change before answering.
    pub wait_s: Option<u64>,
}

/// A job with its log lines; `wait_s` long-polls until the job changes.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", params(("id" = String, Path), FollowQuery), tag = "operations",
    responses((status = 200, body = JobView), (status = 404, body = Problem)))]
pub async fn get_job(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<FollowQuery>,
) -> ApiResult<Json<JobView>> {
    let mut job = st.store.get_job(&id).await?;
    let wait = Duration::from_secs(q.wait_s.unwrap_or(0).min(30));
    let start = tokio::time::Instant::now();
    while !fleet_db::job_state_is_final(&job.state) && start.elapsed() < wait {
        let after = q.after.unwrap_or(0);
        if !st.store.job_log(&id, after).await?.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let j = st.store.get_job(&id).await?;
        if j.updated_at != job.updated_at {
            job = j;
            break;
        }
        job = j;
    }
    let log = st.store.job_log(&id, q.after.unwrap_or(0)).await?;
    Ok(Json(JobView { job, log }))
}

/// The permission that starting (and so cancelling) a job of `kind` needs.
pub fn job_permission(kind: &str) -> fleet_model::rbac::Permission {
    use fleet_model::rbac::Permission;
    let admin = kind.starts_with("bios.")
        || kind.starts_with("raid.")
        || kind.starts_with("firmware.")
        || kind == "port.admin";
    if admin {
        Permission::OobAdmin
    } else {
        Permission::OobOperate
    }
}

/// Cancel a queued or running job. BIOS, RAID, firmware and switch-port jobs need the admin
/// permission that starting them needs.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", params(("id" = String, Path)), tag = "operations",
    responses((status = 200, body = Job), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel_job(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    let job = st.store.get_job(&id).await?;
    // Cancelling needs the power that starting it needed: an operator cannot stop an
    // admin's BIOS, RAID, firmware or switch-port job half-way.
    let needed = job_permission(&job.kind);
    let role = caller.principal.user.role;
    if !fleet_model::rbac::allows(role, needed) {
        return Err(ApiError::forbidden(format!(
            "role '{}' may not cancel a {} job; starting or stopping it needs the {needed:?} permission",
            role.as_str(),
            job.kind
        )));
    }
    if let Some(t) = running().lock().get(&id) {
        t.cancel();
    }
    let j = st
        .store
        .update_job(
            &caller.actor,
            &job.id,
            JobUpdate {
                state: Some("cancelled".into()),
                error: Some(format!("cancelled by {}", caller.actor.name)),
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(j))
}

/// The operation log of a node: its jobs, newest first, with their log lines.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/oplog", params(("id" = String, Path)), tag = "operations",
    responses((status = 200, body = Vec<JobView>), (status = 404, body = Problem)))]
pub async fn oplog(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<JobView>>> {
    let node = node_id(&st, &id).await?;
    let jobs = st
        .store
        .list_jobs(&JobFilter {
            target: Some(node),
            limit: 100,
            ..Default::default()
        })
        .await?;
    let mut out = vec![];
    for job in jobs {
        let log = st.store.job_log(&job.id, 0).await?;
        out.push(JobView { job, log });
    }
    Ok(Json(out))
}

fn register(id: &str) -> CancellationToken {
    let t = CancellationToken::new();
    running().lock().insert(id.to_string(), t.clone());
    t
}

fn spawn(st: AppState, job: Job, actor: Actor) {
    let token = register(&job.id);
    tokio::spawn(run(st, job, actor, token));
}

/// At start-up: fail jobs interrupted by the restart, resume queued ones.
pub async fn recover(st: &AppState) -> anyhow::Result<()> {
    let actor = Actor::system("operations");
    let (failed, queued) = st.store.recover_jobs(&actor).await?;
    if !failed.is_empty() || !queued.is_empty() {
        tracing::info!(
            failed = failed.len(),
            resumed = queued.len(),
            "recovered operation jobs"
        );
    }
    // Uploaded images belong to queued jobs only; the rest (interrupted uploads, jobs that
    // ended while the server was down) are removed.
    if let Ok(mut rd) = tokio::fs::read_dir(upload_dir(st)).await {
        while let Ok(Some(e)) = rd.next_entry().await {
            let name = e.file_name().to_string_lossy().to_string();
            if !queued.iter().any(|j| j.id == name) {
                let _ = tokio::fs::remove_file(e.path()).await;
            }
        }
    }
    for j in queued {
        spawn(st.clone(), j, actor.clone());
    }
    Ok(())
}

async fn log(st: &AppState, id: &str, line: impl Into<String>) {
    let line = line.into();
    if let Err(e) = st.store.append_job_log(id, &line).await {
        tracing::warn!(job = id, error = %e, "cannot write job log");
    }
}

/// Releases the job's node when `run` returns, however it returns.
struct Release<'a>(&'a Job);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        release(self.0);
    }
}

async fn run(st: AppState, job: Job, actor: Actor, token: CancellationToken) {
    let id = job.id.clone();
    let _upload = UploadGuard(
        serde_json::from_str::<Value>(&job.params)
            .ok()
            .filter(|p| p.get("upload").is_some())
            .map(|_| upload_dir(&st).join(&id)),
    );
    let _release = Release(&job);
    if token.is_cancelled() {
        running().lock().remove(&id);
        return;
    }
    if st
        .store
        .update_job(
            &actor,
            &id,
            JobUpdate {
                state: Some("running".into()),
                ..Default::default()
            },
        )
        .await
        .is_err()
    {
        running().lock().remove(&id);
        return; // cancelled meanwhile
    }
    let deadline = Duration::from_millis(job.deadline_ms.max(1000) as u64);
    let outcome = tokio::select! {
        r = tokio::time::timeout(deadline, execute(&st, &job)) => match r {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => Err(("failed", e)),
            Err(_) => Err(("timed_out", format!("the job did not finish within its deadline of {deadline:?}"))),
        },
        _ = token.cancelled() => Err(("cancelled", "cancelled".to_string())),
    };
    running().lock().remove(&id);
    let update = match outcome {
        Ok(result) => {
            log(&st, &id, "done").await;
            JobUpdate {
                state: Some("succeeded".into()),
                result: Some(result),
                progress: Some(100),
                ..Default::default()
            }
        }
        Err(("cancelled", _)) => return, // the cancel request recorded the state
        Err((state, e)) => {
            log(&st, &id, format!("error: {e}")).await;
            JobUpdate {
                state: Some(state.into()),
                error: Some(e),
                ..Default::default()
            }
        }
    };
    if let Err(e) = st.store.update_job(&actor, &id, update).await {
        tracing::warn!(job = %id, error = %e, "cannot record job result");
    }
}

/// After an update the BMC called complete: every target reports the expected version, or
/// (none expected) a version other than before; with no targets, some component changed.
/// Otherwise the update did not happen, whatever the BMC's task said.
pub fn verify_firmware(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    targets: &[String],
    expect: Option<&str>,
) -> Result<(), String> {
    let seen = |t: &str| match after.get(t) {
        Some(v) => format!("{t} reports version {v}"),
        None => format!("{t} is not in the firmware inventory"),
    };
    if targets.is_empty() {
        if let Some(v) = expect {
            if !after.values().any(|x| x == v) {
                return Err(format!(
                    "no firmware component reports version {v} after the update"
                ));
            }
        } else if before == after {
            return Err(
                "the BMC reported the update complete but no firmware version changed; the \
                 image was probably not fetched or not applied"
                    .into(),
            );
        }
        return Ok(());
    }
    for t in targets {
        let now = after.get(t).map(String::as_str);
        match expect {
            Some(v) if now != Some(v) => {
                return Err(format!("{} after the update, expected {v}", seen(t)));
            }
            None if now.is_none() || now == before.get(t).map(String::as_str) => {
                return Err(format!(
                    "the BMC reported the update complete but {} after it, as before; the \
                     image was probably not fetched or not applied",
                    seen(t)
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The node's BMC client, with credentials from the encrypted store.
async fn bmc_for(
    st: &AppState,
    node: &str,
    driver: Option<&str>,
) -> Result<Arc<dyn OutOfBand>, String> {
    let b = crate::bmc::node_bmc(st, node, driver, Duration::from_secs(15)).await?;
    Ok(match b.protocol.as_str() {
        "ipmi" => Arc::new(fleet_bmc::ipmi::IpmiClient::new(b.endpoint)),
        "ipmitool" => Arc::new(fleet_bmc::ipmitool::IpmitoolClient::new(b.endpoint)),
        _ => {
            Arc::new(fleet_bmc::redfish::RedfishClient::new(b.endpoint).map_err(|e| e.to_string())?)
        }
    })
}

/// Writes `patch` under the node's `config.oob` as a new configuration version.
async fn record(st: &AppState, node: &str, kind: &str, patch: Value) -> Result<(), String> {
    let a = st.store.get_asset(node).await.map_err(|e| e.to_string())?;
    let mut config = a.config.clone();
    let obj = config
        .as_object_mut()
        .ok_or("node configuration is not an object")?;
    let oob = obj.entry("oob").or_insert_with(|| json!({}));
    if let (Some(o), Some(p)) = (oob.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            o.insert(k.clone(), v.clone());
        }
    }
    st.store
        .update_config(
            &Actor::system("operations"),
            node,
            None,
            config,
            Some(format!("out-of-band {kind}")),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

async fn execute(st: &AppState, job: &Job) -> Result<Value, String> {
    let params: BTreeMap<String, Value> = serde_json::from_str(&job.params).unwrap_or_default();
    let s = |k: &str| {
        params
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let id = job.id.as_str();
    if job.kind == "port.admin" {
        return execute_port_admin(st, job, &params).await;
    }
    let bmc = bmc_for(st, &job.target, job.driver.as_deref()).await?;
    log(
        st,
        id,
        format!("{} via {} at {}", job.kind, bmc.driver(), bmc.endpoint()),
    )
    .await;
    let e = |e: fleet_bmc::BmcError| e.to_string();
    let step = |name: &str, progress: i64| {
        let st = st.clone();
        let (id, name) = (id.to_string(), name.to_string());
        async move {
            let _ = st
                .store
                .update_job(
                    &Actor::system("operations"),
                    &id,
                    JobUpdate {
                        step: Some(name.clone()),
                        progress: Some(progress),
                        ..Default::default()
                    },
                )
                .await;
            log(&st, &id, name).await;
        }
    };
    let wait = Duration::from_secs(120);
    match job.kind.as_str() {
        k if k.starts_with("power.") => {
            let action: PowerAction = k.trim_start_matches("power.").parse().map_err(e)?;
            let want = match action {
                PowerAction::Off | PowerAction::GracefulShutdown => PowerState::Off,
                _ => PowerState::On,
            };
            if matches!(
                action,
                PowerAction::On | PowerAction::Off | PowerAction::GracefulShutdown
            ) && bmc.power_state().await.map_err(e)? == want
            {
                let note = format!("the node is already {}; no request sent", want.as_str());
                log(st, id, note.clone()).await;
                record(st, &job.target, k, json!({"power": want.as_str()})).await?;
                return Ok(json!({"power": want.as_str(), "note": note}));
            }
            step("sending power request", 10).await;
            bmc.power(action).await.map_err(e)?;
            if action == PowerAction::Cycle {
                step("waiting for the node to go off and come back on", 50).await;
                fleet_bmc::wait_power_cycle(bmc.as_ref(), wait)
                    .await
                    .map_err(e)?;
            } else {
                step(&format!("waiting for power {}", want.as_str()), 50).await;
                fleet_bmc::wait_power(bmc.as_ref(), want, wait)
                    .await
                    .map_err(e)?;
            }
            let mut patch = json!({"power": want.as_str()});
            let mut result = patch.clone();
            if matches!(action, PowerAction::Cycle | PowerAction::Reset) {
                if let Some(v) = verify_pending_bios(st, job, &bmc).await {
                    result["bios_verified"] = v.get("bios_verified").cloned().unwrap_or_default();
                    patch.as_object_mut().expect("object").extend(v);
                }
            }
            record(st, &job.target, k, patch).await?;
            Ok(result)
        }
        "boot.set" => {
            let device: BootDevice = s("device").parse().map_err(e)?;
            let persistent = params
                .get("persistent")
                .and_then(|p| p.as_bool())
                .unwrap_or(false);
            bmc.set_boot(BootOverride { device, persistent })
                .await
                .map_err(e)?;
            let now = bmc.boot().await.map_err(e)?;
            if now.device != device {
                return Err(format!(
                    "boot device reads {} after setting {}",
                    json!(now.device).as_str().unwrap_or("unknown"),
                    json!(device).as_str().unwrap_or("unknown")
                ));
            }
            let v = json!({"device": device, "persistent": persistent});
            record(st, &job.target, "boot.set", json!({"boot": v})).await?;
            Ok(v)
        }
        "media.insert" => {
            bmc.insert_media(&s("image")).await.map_err(e)?;
            Ok(json!({"media": bmc.media().await.map_err(e)?}))
        }
        "media.eject" => {
            bmc.eject_media().await.map_err(e)?;
            Ok(json!({"media": bmc.media().await.map_err(e)?}))
        }
        "sel.clear" => {
            bmc.clear_sel().await.map_err(e)?;
            Ok(json!({"cleared": true}))
        }
        "bios.set" => {
            let attrs: BTreeMap<String, Value> = params
                .get("attributes")
                .and_then(|a| serde_json::from_value(a.clone()).ok())
                .ok_or("attributes must be an object")?;
            step("writing pending BIOS attributes", 10).await;
            bmc.set_bios(&attrs).await.map_err(e)?;
            if !params
                .get("apply")
                .and_then(|a| a.as_bool())
                .unwrap_or(false)
            {
                let b = bmc.bios().await.map_err(e)?;
                // Recorded so that the next reset, whichever job makes it, verifies them.
                record(
                    st,
                    &job.target,
                    "bios.set",
                    json!({"bios_pending": {"attributes": attrs, "job": id}}),
                )
                .await?;
                return Ok(json!({"pending": b.pending, "applied": false}));
            }
            step("resetting to apply", 40).await;
            bmc.power(PowerAction::Reset).await.map_err(e)?;
            step("verifying attributes", 70).await;
            let start = tokio::time::Instant::now();
            loop {
                let b = bmc.bios().await.map_err(e)?;
                let diff = fleet_bmc::bios_diff(&attrs, &b.current);
                if diff.is_empty() {
                    record(
                        st,
                        &job.target,
                        "bios.set",
                        json!({"bios": b.current, "bios_pending": null,
                               "bios_verified": {"ok": true, "attributes": attrs, "job": id}}),
                    )
                    .await?;
                    return Ok(json!({"applied": true, "bios": attrs}));
                }
                if start.elapsed() > wait {
                    return Err(format!(
                        "BIOS attributes not applied after reset: {}",
                        json!(diff)
                    ));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        "raid.create" => {
            let drives: Vec<String> = params
                .get("drives")
                .and_then(|d| serde_json::from_value(d.clone()).ok())
                .unwrap_or_default();
            let raid_type = if s("raid_type").is_empty() {
                "RAID1".to_string()
            } else {
                s("raid_type")
            };
            let v = bmc
                .create_volume(&VolumeSpec {
                    controller: s("controller"),
                    name: s("name"),
                    raid_type,
                    drives,
                })
                .await
                .map_err(e)?;
            let storage = bmc.storage().await.map_err(e)?;
            record(st, &job.target, "raid.create", json!({"storage": storage})).await?;
            Ok(json!({"volume": v}))
        }
        "raid.delete" => {
            bmc.delete_volume(&s("controller"), &s("volume"))
                .await
                .map_err(e)?;
            let storage = bmc.storage().await.map_err(e)?;
            record(st, &job.target, "raid.delete", json!({"storage": storage})).await?;
            Ok(json!({"deleted": s("volume")}))
        }
        "firmware.update" => {
            let targets: Vec<String> = params
                .get("targets")
                .and_then(|d| serde_json::from_value(d.clone()).ok())
                .unwrap_or_default();
            let before: BTreeMap<String, String> = bmc
                .firmware()
                .await
                .map_err(e)?
                .into_iter()
                .map(|f| (f.id, f.version))
                .collect();
            step("transferring image", 5).await;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<fleet_bmc::TaskProgress>();
            let progress = move |p: fleet_bmc::TaskProgress| {
                let _ = tx.send(p);
            };
            let st2 = st.clone();
            let id2 = id.to_string();
            let reporter = tokio::spawn(async move {
                while let Some(p) = rx.recv().await {
                    let _ = st2
                        .store
                        .update_job(
                            &Actor::system("operations"),
                            &id2,
                            JobUpdate {
                                step: Some(format!("BMC task {}", p.state)),
                                progress: p.percent.map(|x| x as i64),
                                ..Default::default()
                            },
                        )
                        .await;
                }
            });
            let source = match params.get("upload") {
                Some(u) => {
                    let filename = u
                        .get("filename")
                        .and_then(|f| f.as_str())
                        .unwrap_or("image.bin")
                        .to_string();
                    let bytes = tokio::fs::read(upload_dir(st).join(id))
                        .await
                        .map_err(|e| format!("the uploaded image is not available: {e}"))?;
                    log(
                        st,
                        id,
                        format!("pushing {filename} ({} bytes) to the BMC", bytes.len()),
                    )
                    .await;
                    FirmwareSource::Upload { filename, bytes }
                }
                None => FirmwareSource::Url(s("url")),
            };
            let r = bmc
                .update_firmware(source, &targets, Duration::from_secs(1800), &progress)
                .await;
            drop(progress);
            let _ = reporter.await;
            r.map_err(e)?;
            step("verifying versions", 90).await;
            let inv = bmc.firmware().await.map_err(e)?;
            let versions: BTreeMap<String, String> = inv
                .iter()
                .map(|f| (f.id.clone(), f.version.clone()))
                .collect();
            let expect = params.get("expect_version").and_then(|v| v.as_str());
            verify_firmware(&before, &versions, &targets, expect)?;
            record(
                st,
                &job.target,
                "firmware.update",
                json!({"firmware": versions}),
            )
            .await?;
            Ok(json!({"firmware": versions}))
        }
        k if k.starts_with("read.") => {
            let what = k.trim_start_matches("read.");
            let v = match what {
                "power" => json!({"power": bmc.power_state().await.map_err(e)?.as_str()}),
                "boot" => json!({"boot": bmc.boot().await.map_err(e)?}),
                "bios" => json!({"bios": bmc.bios().await.map_err(e)?}),
                "raid" => json!({"storage": bmc.storage().await.map_err(e)?}),
                "firmware" => {
                    let inv = bmc.firmware().await.map_err(e)?;
                    json!({"firmware": inv.iter().map(|f| (f.id.clone(), f.version.clone())).collect::<BTreeMap<_, _>>()})
                }
                "sel" => json!({"sel": bmc.sel().await.map_err(e)?}),
                "sensors" => json!({"sensors": bmc.sensors().await.map_err(e)?}),
                "media" => json!({"media": bmc.media().await.map_err(e)?}),
                _ => return Err(format!("unknown read {what}")),
            };
            if matches!(what, "power" | "firmware") {
                record(st, &job.target, k, v.clone()).await?;
            } else if what == "bios" {
                record(st, &job.target, k, json!({"bios": v["bios"]["current"]})).await?;
            }
            Ok(v)
        }
        other => Err(format!("unknown operation {other}")),
    }
}
