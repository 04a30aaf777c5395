//! Events written to the transactional outbox, in a CloudEvents 1.0 JSON
//! envelope. The relay publishes them to the event bus after commit.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Event types (the `type` attribute). Versioned with a `.v1` suffix.
pub mod types {
    pub const HARDWARE_DISCOVERED: &str = "io.gpufleet.hardware.discovered.v1";
    pub const HARDWARE_DECOMMISSIONED: &str = "io.gpufleet.hardware.decommissioned.v1";
    pub const ASSET_CREATED: &str = "io.gpufleet.asset.created.v1";
    pub const ASSET_DELETED: &str = "io.gpufleet.asset.deleted.v1";
    pub const CONFIG_CHANGED: &str = "io.gpufleet.config.changed.v1";
    pub const LABELS_CHANGED: &str = "io.gpufleet.labels.changed.v1";
    pub const LIFECYCLE_CHANGED: &str = "io.gpufleet.lifecycle.changed.v1";
    pub const RELATION_CHANGED: &str = "io.gpufleet.relation.changed.v1";
    pub const PROFILE_ASSIGNED: &str = "io.gpufleet.profile.assigned.v1";
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
