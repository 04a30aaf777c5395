//! Expected hardware profiles (e.g. "HGX-H100-8GPU") and the validation of a
//! node's actual configuration against its profile.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a node assigned to this profile is expected to look like.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda: Option<String>,
    /// Expected BIOS attributes (name → value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub bios: BTreeMap<String, Value>,
    /// Expected firmware versions (component → version).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub firmware: BTreeMap<String, String>,
}

/// What the validation looks at on a node.
#[derive(Debug, Clone, Default)]
pub struct ActualNode {
    /// Node configuration document (driver, cuda, bios, firmware …).
    pub config: Value,
    /// Models of the GPUs contained in the node.
    pub gpu_models: Vec<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Check {
    /// What was checked, e.g. `gpu_count`, `bios/SriovEnable`, `firmware/BMC`.
    pub field: String,
    #[schema(value_type = Object)]
    pub expected: Value,
    #[schema(value_type = Object)]
    pub actual: Value,
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidationReport {
    pub profile: String,
    pub passed: bool,
    pub checks: Vec<Check>,
}

impl ValidationReport {
    pub fn mismatches(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

fn check(field: String, expected: Value, actual: Value) -> Check {
    let ok = expected == actual;
    Check {
        field,
        expected,
        actual,
        ok,
    }
}

/// Validates `actual` against `spec`; every expectation becomes one check.
pub fn validate(profile_name: &str, spec: &ProfileSpec, actual: &ActualNode) -> ValidationReport {
    let mut checks = Vec::new();
    let cfg = &actual.config;
    if let Some(n) = spec.gpu_count {
        checks.push(check(
            "gpu_count".into(),
            Value::from(n),
            Value::from(actual.gpu_models.len() as u64),
        ));
    }
    if let Some(model) = &spec.gpu_model {
        let wrong: Vec<Value> = actual
            .gpu_models
            .iter()
            .filter(|m| m.as_deref() != Some(model.as_str()))
            .map(|m| m.clone().map(Value::String).unwrap_or(Value::Null))
            .collect();
        let actual_v = if wrong.is_empty() {
            Value::String(model.clone())
        } else {
            Value::Array(wrong)
        };
        checks.push(check(
            "gpu_model".into(),
            Value::String(model.clone()),
            actual_v,
        ));
    }
    for (field, expected) in [("driver", &spec.driver), ("cuda", &spec.cuda)] {
        if let Some(e) = expected {
            checks.push(check(
                field.into(),
                Value::String(e.clone()),
                cfg.get(field).cloned().unwrap_or(Value::Null),
            ));
        }
    }
    for (k, v) in &spec.bios {
        checks.push(check(
            format!("bios/{k}"),
            v.clone(),
            cfg.get("bios")
                .and_then(|b| b.get(k))
                .cloned()
                .unwrap_or(Value::Null),
        ));
    }
    for (k, v) in &spec.firmware {
        checks.push(check(
            format!("firmware/{k}"),
            Value::String(v.clone()),
            cfg.get("firmware")
                .and_then(|b| b.get(k))
                .cloned()
                .unwrap_or(Value::Null),
        ));
    }
    ValidationReport {
        profile: profile_name.to_string(),
        passed: checks.iter().all(|c| c.ok),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hgx() -> ProfileSpec {
        serde_json::from_value(json!({
            "gpu_count": 8, "gpu_model": "NVIDIA H100 80GB HBM3",
            "driver": "550.90.07", "cuda": "12.4",
            "bios": {"SriovEnable": "Enabled"}, "firmware": {"BMC": "1.2.3"}
        }))
        .unwrap()
    }

    #[test]
    fn matching_node_passes() {
        let actual = ActualNode {
            config: json!({"driver": "550.90.07", "cuda": "12.4", "bios": {"SriovEnable": "Enabled", "Other": 1}, "firmware": {"BMC": "1.2.3"}}),
            gpu_models: vec![Some("NVIDIA H100 80GB HBM3".into()); 8],
        };
        let r = validate("HGX-H100-8GPU", &hgx(), &actual);
        assert!(r.passed, "{r:?}");
        assert_eq!(r.checks.len(), 6);
    }

    #[test]
    fn mismatches_name_the_field() {
        let mut models = vec![Some("NVIDIA H100 80GB HBM3".to_string()); 7];
        models.push(Some("NVIDIA A100".into()));
        let actual = ActualNode {
            config: json!({"driver": "535.0", "bios": {"SriovEnable": "Disabled"}}),
            gpu_models: models,
        };
        let r = validate("HGX-H100-8GPU", &hgx(), &actual);
        assert!(!r.passed);
        let bad: Vec<&str> = r.mismatches().map(|c| c.field.as_str()).collect();
        assert_eq!(
            bad,
            vec![
                "gpu_model",
                "driver",
                "cuda",
                "bios/SriovEnable",
                "firmware/BMC"
            ]
        );
        assert_eq!(r.checks[1].actual, json!(["NVIDIA A100"]));
    }

    #[test]
    fn unknown_profile_fields_are_rejected() {
        let e = serde_json::from_value::<ProfileSpec>(json!({"gpu_cnt": 8})).unwrap_err();
        assert!(e.to_string().contains("gpu_cnt"));
    }
}
