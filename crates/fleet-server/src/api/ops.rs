//! REST face of the out-of-band operations: request and response shapes, and the mapping
//! to the application core (`fleet_core::ops`), which checks permissions, queues the jobs and
//! runs them. Nothing here decides anything the core decides.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use fleet_core::ops::{FirmwareImage, NodeSelection, OpSpec, Operation, DEFAULT_DEADLINE_S};
use fleet_db::JobFilter;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::dto::{JobDetail, JobView};
use super::{Json, Query};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

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

impl OpRequest {
    fn spec(self, group: &str) -> ApiResult<OpSpec> {
        Ok(OpSpec {
            operation: Operation::from_request(group, &self.params)?,
            driver: self.driver,
            deadline_s: self.deadline_s,
        })
    }
}

macro_rules! op_route {
    ($fn:ident, $group:literal, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, params(("id" = String, Path)), request_body = OpRequest, tag = "operations",
            responses((status = 202, body = JobView, description = "The job, queued"), (status = 400, body = Problem), (status = 404, body = Problem),
                (status = 409, body = Problem, description = "Another power, boot or BIOS job of the node is in the way (`job`), or the node cannot take the operation")))]
        pub async fn $fn(
            State(st): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            Json(req): Json<OpRequest>,
        ) -> ApiResult<(StatusCode, Json<JobView>)> {
            let spec = req.spec($group)?;
            let job = st.core.submit(&caller.core_principal(), &id, spec).await?;
            Ok((StatusCode::ACCEPTED, Json(job.into())))
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
    bmc_reset,
    "bmc",
    "/api/v1/nodes/{id}/bmc/reset",
    "Restart the node's BMC (Redfish `Manager.Reset` of the system's manager, GracefulRestart where offered; IPMI cold reset) and wait until it answers again (`back_after_s`); the host keeps running. A BMC without the action answers `unsupported` in the job's error."
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
    pub expected: Value,
    /// The value in effect now; absent when the BMC does not report the attribute.
    pub actual: Option<Value>,
    /// A value written but not yet applied (takes effect at the next reset).
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
    responses((status = 200, body = BiosDiffView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The node has no expected profile, or no BMC"), (status = 502, body = Problem)))]
pub async fn bios_diff(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<BiosDiffQuery>,
) -> ApiResult<Json<BiosDiffView>> {
    let d = st
        .core
        .bios_diff(&caller.core_principal(), &id, q.driver.as_deref())
        .await?;
    Ok(Json(BiosDiffView {
        node: d.node,
        profile: d.profile,
        profile_version: d.profile_version,
        matches: d.differences.is_empty(),
        differences: d
            .differences
            .into_iter()
            .map(|x| BiosDifference {
                attribute: x.attribute,
                expected: x.expected,
                actual: x.actual,
                pending: x.pending,
            })
            .collect(),
        pending: d.pending,
    }))
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
    responses((status = 202, body = JobView, description = "The job, queued"), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem)))]
pub async fn firmware_upload(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    use futures::StreamExt;
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;

    let principal = caller.core_principal();
    let node = st.core.node(&id).await?.id;
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
    let incoming = st
        .core
        .upload_path(&format!("incoming-{}", uuid::Uuid::now_v7()));
    let dir = incoming
        .parent()
        .map(|d| d.to_path_buf())
        .unwrap_or_default();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::internal(format!("cannot create the upload directory: {e}")))?;
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
    let spec = OpSpec {
        operation: Operation::Firmware {
            image: FirmwareImage::Upload {
                filename: name.to_string(),
                size,
                sha256,
            },
            targets,
            expect_version: q.expect_version,
        },
        driver: None,
        deadline_s: Some(q.deadline_s.unwrap_or(DEFAULT_DEADLINE_S)),
    };
    let job = st
        .core
        .submit_upload(&principal, &node, spec, &incoming)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
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
    /// Jobs of this batch running at once, across every gpufleet process (default 50).
    pub concurrency: Option<usize>,
    /// Deadline per node in seconds (default 600).
    pub node_deadline_s: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    pub batch_id: String,
    pub jobs: Vec<JobView>,
}

/// Start one operation on many nodes (by ids, labels, rack or lifecycle state).
#[utoipa::path(post, path = "/api/v1/ops/bulk", request_body = BulkRequest, tag = "operations",
    responses((status = 202, body = BulkResponse), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn bulk(
    State(st): State<AppState>,
    caller: Caller,
    Json(req): Json<BulkRequest>,
) -> ApiResult<(StatusCode, Json<BulkResponse>)> {
    if !matches!(
        req.group.as_str(),
        "power" | "boot" | "media" | "bios" | "firmware"
    ) {
        return Err(ApiError::bad_request(
            "bulk operations are power, boot, media, bios or firmware",
        ));
    }
    let state = match &req.state {
        Some(x) => Some(
            serde_json::from_value::<fleet_model::lifecycle::NodeState>(json!(x))
                .map_err(|_| ApiError::bad_request(format!("unknown lifecycle state {x}")))?,
        ),
        None => None,
    };
    let spec = OpSpec {
        operation: Operation::from_request(&req.group, &req.params)?,
        driver: req.driver,
        deadline_s: req.node_deadline_s,
    };
    let sel = NodeSelection {
        ids: req.ids,
        labels: req.labels,
        rack: req.rack,
        state,
    };
    let (batch_id, jobs) = st
        .core
        .bulk(
            &caller.core_principal(),
            &sel,
            spec,
            req.concurrency.unwrap_or(50),
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(BulkResponse {
            batch_id,
            jobs: jobs.into_iter().map(Into::into).collect(),
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

/// Port status of a switch, read live over gNMI (all ports, or `port`).
#[utoipa::path(get, path = "/api/v1/switches/{id}/ports", params(("id" = String, Path), PortsQuery), tag = "operations",
    responses((status = 200, body = Vec<PortView>), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn switch_ports(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PortsQuery>,
) -> ApiResult<Json<Vec<PortView>>> {
    let ports = st
        .core
        .switch_ports(&caller.core_principal(), &id, q.port.as_deref())
        .await?;
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
    responses((status = 202, body = JobView, description = "The job, queued"), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn port_admin(
    State(st): State<AppState>,
    caller: Caller,
    Path((id, port)): Path<(String, String)>,
    Json(req): Json<PortAdminRequest>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let params: BTreeMap<String, Value> = BTreeMap::from([
        ("port".into(), json!(port)),
        ("enabled".into(), json!(req.enabled)),
    ]);
    let spec = OpSpec {
        operation: Operation::from_request("port", &params)?,
        driver: None,
        deadline_s: req.deadline_s,
    };
    let job = st.core.submit(&caller.core_principal(), &id, spec).await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
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
    responses((status = 200, body = Vec<JobView>), (status = 400, body = Problem)))]
pub async fn list_jobs(
    State(st): State<AppState>,
    caller: Caller,
    Query(q): Query<JobQuery>,
) -> ApiResult<Json<Vec<JobView>>> {
    Ok(Json(
        st.core
            .jobs(
                &caller.core_principal(),
                &JobFilter {
                    target: q.target,
                    state: q.state,
                    batch_id: q.batch_id,
                    kind: q.kind,
                    limit: q.limit.unwrap_or(100),
                },
            )
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
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
    responses((status = 200, body = JobDetail), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn get_job(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<FollowQuery>,
) -> ApiResult<Json<JobDetail>> {
    let j = st
        .core
        .follow_job(
            &caller.core_principal(),
            &id,
            q.after.unwrap_or(0),
            Duration::from_secs(q.wait_s.unwrap_or(0)),
        )
        .await?;
    Ok(Json(j.into()))
}

/// Cancel a queued or running job, from any gpufleet process. BIOS, RAID, firmware and
/// switch-port jobs need the admin permission that starting them needs.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", params(("id" = String, Path)), tag = "operations",
    responses((status = 200, body = JobView), (status = 404, body = Problem), (status = 409, body = Problem, description = "The job has ended")))]
pub async fn cancel_job(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(
        st.core.cancel(&caller.core_principal(), &id).await?.into(),
    ))
}

/// The operation log of a node: its jobs, newest first, with their log lines.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/oplog", params(("id" = String, Path)), tag = "operations",
    responses((status = 200, body = Vec<JobDetail>), (status = 404, body = Problem)))]
pub async fn oplog(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<JobDetail>>> {
    Ok(Json(
        st.core
            .oplog(&caller.core_principal(), &id)
            .await?
            .into_iter()
            .map(JobDetail::from)
            .collect(),
    ))
}
