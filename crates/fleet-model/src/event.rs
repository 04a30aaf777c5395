//! Events written to the transactional outbox, in a CloudEvents 1.0 JSON
//! envelope. The relay publishes them to the event bus after commit.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Event types (the `type` attribute), `io.gpufleet.<topic>.<name>.v<N>`.
/// A breaking change to an event's `data` gets a new version suffix; both
/// versions are then listed in [`CATALOG`]. `docs/EVENTS.md` documents each one.
pub mod types {
    pub const HARDWARE_DISCOVERED: &str = "io.gpufleet.hardware.discovered.v1";
    pub const HARDWARE_PROVISIONED: &str = "io.gpufleet.hardware.provisioned.v1";
    pub const HARDWARE_FAILED: &str = "io.gpufleet.hardware.failed.v1";
    pub const HARDWARE_DECOMMISSIONED: &str = "io.gpufleet.hardware.decommissioned.v1";
    pub const GPU_STATUS_CHANGED: &str = "io.gpufleet.gpu.status_changed.v1";
    pub const SYSTEM_STATUS_CHANGED: &str = "io.gpufleet.system.status_changed.v1";
    pub const NETWORK_STATUS_CHANGED: &str = "io.gpufleet.network.status_changed.v1";
    pub const ALERT_RAISED: &str = "io.gpufleet.alert.raised.v1";
    pub const ALERT_RESOLVED: &str = "io.gpufleet.alert.resolved.v1";
    pub const ALERT_ESCALATED: &str = "io.gpufleet.alert.escalated.v1";
    pub const ASSET_CREATED: &str = "io.gpufleet.asset.created.v1";
    pub const ASSET_DELETED: &str = "io.gpufleet.asset.deleted.v1";
    pub const CONFIG_CHANGED: &str = "io.gpufleet.config.changed.v1";
    pub const CONFIG_VALIDATED: &str = "io.gpufleet.config.validated.v1";
    pub const CONFIG_CONFLICT: &str = "io.gpufleet.config.conflict.v1";
    pub const LABELS_CHANGED: &str = "io.gpufleet.labels.changed.v1";
    pub const LIFECYCLE_CHANGED: &str = "io.gpufleet.lifecycle.changed.v1";
    pub const RELATION_CHANGED: &str = "io.gpufleet.relation.changed.v1";
    pub const PROFILE_ASSIGNED: &str = "io.gpufleet.profile.assigned.v1";
    pub const JOB_STARTED: &str = "io.gpufleet.job.started.v1";
    pub const JOB_SUCCEEDED: &str = "io.gpufleet.job.succeeded.v1";
    pub const JOB_FAILED: &str = "io.gpufleet.job.failed.v1";
    pub const JOB_QUEUED: &str = "io.gpufleet.job.queued.v1";
    pub const JOB_CANCELLED: &str = "io.gpufleet.job.cancelled.v1";
    pub const INCIDENT_OPENED: &str = "io.gpufleet.incident.opened.v1";
    pub const INCIDENT_UPDATED: &str = "io.gpufleet.incident.updated.v1";
    pub const INCIDENT_RESOLVED: &str = "io.gpufleet.incident.resolved.v1";
}

/// One entry of the event catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EventKind {
    /// The CloudEvents `type`.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// The name the requirements use (e.g. `HardwareDiscovered`).
    pub name: &'static str,
    /// The bus domain, one stream per domain (see [`DOMAINS`]).
    pub domain: &'static str,
    /// Version of the `data` schema.
    pub version: u32,
    pub description: &'static str,
}

/// Bus domains; the bus keeps one stream per domain.
pub const DOMAINS: &[&str] = &[
    "hardware",
    "gpu",
    "system",
    "network",
    "alert",
    "config",
    "asset",
    "lifecycle",
    "job",
];

macro_rules! kind {
    ($ty:expr, $name:expr, $domain:expr, $desc:expr) => {
        EventKind {
            ty: $ty,
            name: $name,
            domain: $domain,
            version: 1,
            description: $desc,
        }
    };
}

/// Every event type gpufleet emits.
pub const CATALOG: &[EventKind] = &[
    kind!(
        types::HARDWARE_DISCOVERED,
        "HardwareDiscovered",
        "hardware",
        "A node was found (import, discovery scan or BMC) and entered the inventory."
    ),
    kind!(
        types::HARDWARE_PROVISIONED,
        "HardwareProvisioned",
        "hardware",
        "A node finished provisioning (OS, driver, CUDA) and is ready."
    ),
    kind!(
        types::HARDWARE_FAILED,
        "HardwareFailed",
        "hardware",
        "A node or one of its parts failed (health check, BMC, XID)."
    ),
    kind!(
        types::HARDWARE_DECOMMISSIONED,
        "HardwareDecommissioned",
        "hardware",
        "A node was retired from the fleet."
    ),
    kind!(
        types::GPU_STATUS_CHANGED,
        "GPUStatusChanged",
        "gpu",
        "A GPU's health or state changed (temperature, ECC, XID, utilisation band)."
    ),
    kind!(
        types::SYSTEM_STATUS_CHANGED,
        "SystemStatusChanged",
        "system",
        "A node's power or system health changed."
    ),
    kind!(
        types::NETWORK_STATUS_CHANGED,
        "NetworkStatusChanged",
        "network",
        "A link, port or switch changed state."
    ),
    kind!(
        types::ALERT_RAISED,
        "AlertRaised",
        "alert",
        "An alert started firing."
    ),
    kind!(
        types::ALERT_RESOLVED,
        "AlertResolved",
        "alert",
        "An alert stopped firing."
    ),
    kind!(
        types::ALERT_ESCALATED,
        "AlertEscalated",
        "alert",
        "An alert or incident moved up its escalation ladder."
    ),
    kind!(
        types::ASSET_CREATED,
        "AssetCreated",
        "asset",
        "An asset (node, GPU, rack, switch, ...) was created."
    ),
    kind!(
        types::ASSET_DELETED,
        "AssetDeleted",
        "asset",
        "An asset was deleted."
    ),
    kind!(
        types::LABELS_CHANGED,
        "LabelsChanged",
        "asset",
        "An asset's labels changed."
    ),
    kind!(
        types::RELATION_CHANGED,
        "RelationChanged",
        "asset",
        "An asset moved (parent) or a relation between assets changed."
    ),
    kind!(
        types::PROFILE_ASSIGNED,
        "ProfileAssigned",
        "asset",
        "An expected hardware profile was assigned to a node."
    ),
    kind!(
        types::CONFIG_CHANGED,
        "ConfigChanged",
        "config",
        "A new configuration version of an asset was stored."
    ),
    kind!(
        types::CONFIG_VALIDATED,
        "ConfigValidated",
        "config",
        "Actual configuration was checked against the expected profile."
    ),
    kind!(
        types::CONFIG_CONFLICT,
        "ConfigConflict",
        "config",
        "Actual configuration differs from what is expected, or two changes conflict."
    ),
    kind!(
        types::LIFECYCLE_CHANGED,
        "LifecycleChanged",
        "lifecycle",
        "A node moved to another lifecycle state."
    ),
    kind!(
        types::JOB_STARTED,
        "JobStarted",
        "job",
        "A background job (provisioning workflow, firmware upgrade, batch operation) started."
    ),
    kind!(
        types::JOB_SUCCEEDED,
        "JobSucceeded",
        "job",
        "A background job finished successfully."
    ),
    kind!(
        types::JOB_FAILED,
        "JobFailed",
        "job",
        "A background job failed (including timed out and interrupted jobs)."
    ),
    kind!(
        types::JOB_QUEUED,
        "JobQueued",
        "job",
        "A background job (an out-of-band operation) was queued."
    ),
    kind!(
        types::JOB_CANCELLED,
        "JobCancelled",
        "job",
        "A background job was cancelled."
    ),
    kind!(
        types::INCIDENT_OPENED,
        "IncidentOpened",
        "alert",
        "Correlated alerts opened an incident (root cause, priority, members)."
    ),
    kind!(
        types::INCIDENT_UPDATED,
        "IncidentUpdated",
        "alert",
        "An incident changed: alerts joined, its root cause moved, it merged into another, or it was acknowledged."
    ),
    kind!(
        types::INCIDENT_RESOLVED,
        "IncidentResolved",
        "alert",
        "An incident was resolved: by hand, or because every alert in it ended."
    ),
];

/// The catalogue entry of an event type.
pub fn kind_of(ty: &str) -> Option<&'static EventKind> {
    CATALOG.iter().find(|k| k.ty == ty)
}

/// Splits `io.gpufleet.<topic>.<name>.v<N>` into the bus domain and the
/// subject token naming the type: `hardware.discovered` → (`hardware`,
/// `discovered`); `labels.changed` (domain `asset`) → (`asset`, `labels_changed`).
/// Types outside the catalogue use their topic as the domain.
pub fn route(ty: &str) -> Option<(&'static str, String)> {
    let rest = ty.strip_prefix("io.gpufleet.")?;
    let mut parts: Vec<&str> = rest.split('.').collect();
    if parts.len() >= 2
        && parts.last().is_some_and(|v| {
            v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit())
        })
    {
        parts.pop();
    }
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let domain: &'static str = match kind_of(ty) {
        Some(k) => k.domain,
        None => DOMAINS.iter().copied().find(|d| *d == parts[0])?,
    };
    if parts[0] == domain {
        parts.remove(0);
    }
    Some((domain, parts.join("_")))
}

/// A CloudEvents 1.0 envelope (JSON format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// The asset the event is about.
    pub subject: String,
    /// RFC 3339 time.
    pub time: String,
    pub datacontenttype: String,
    /// Correlates events caused by one request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlationid: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

impl CloudEvent {
    pub fn new(ty: &str, subject: &str, time_rfc3339: String, data: Value) -> Self {
        CloudEvent {
            specversion: "1.0".into(),
            id: uuid::Uuid::now_v7().to_string(),
            source: "/gpufleet".into(),
            ty: ty.into(),
            subject: subject.into(),
            time: time_rfc3339,
            datacontenttype: "application/json".into(),
            correlationid: None,
            data,
        }
    }

    pub fn with_correlation(mut self, id: Option<String>) -> Self {
        self.correlationid = id;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for k in CATALOG {
            assert!(seen.insert(k.ty), "{} listed twice", k.ty);
            assert!(
                DOMAINS.contains(&k.domain),
                "{} has unknown domain {}",
                k.ty,
                k.domain
            );
            assert!(k.ty.ends_with(&format!(".v{}", k.version)), "{}", k.ty);
            assert!(route(k.ty).is_some(), "{} does not route", k.ty);
        }
        for name in [
            "HardwareDiscovered",
            "HardwareProvisioned",
            "HardwareFailed",
            "HardwareDecommissioned",
            "GPUStatusChanged",
            "SystemStatusChanged",
            "NetworkStatusChanged",
            "AlertRaised",
            "AlertResolved",
            "AlertEscalated",
            "ConfigChanged",
            "ConfigValidated",
            "ConfigConflict",
        ] {
            assert!(CATALOG.iter().any(|k| k.name == name), "{name} missing");
        }
    }

    #[test]
    fn routes_types_to_domain_and_token() {
        assert_eq!(
            route(types::HARDWARE_DISCOVERED),
            Some(("hardware", "discovered".to_string()))
        );
        assert_eq!(
            route(types::LABELS_CHANGED),
            Some(("asset", "labels_changed".to_string()))
        );
        assert_eq!(
            route(types::GPU_STATUS_CHANGED),
            Some(("gpu", "status_changed".to_string()))
        );
        assert_eq!(
            route("io.gpufleet.alert.silenced.v2"),
            Some(("alert", "silenced".to_string()))
        );
        assert_eq!(
            route(types::INCIDENT_OPENED),
            Some(("alert", "incident_opened".to_string()))
        );
        assert_eq!(route("io.gpufleet.unknown.thing.v1"), None);
        assert_eq!(route("com.example.x.y"), None);
        assert_eq!(route("io.gpufleet.hardware"), None);
    }

    #[test]
    fn envelope_has_cloudevents_attributes() {
        let e = CloudEvent::new(
            types::CONFIG_CHANGED,
            "node-1",
            "2026-01-01T00:00:00Z".into(),
            serde_json::json!({"v": 2}),
        );
        let v = serde_json::to_value(&e).unwrap();
        for k in [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "data",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["specversion"], "1.0");
        assert!(v.get("correlationid").is_none());
    }
}
