//! Coolant distribution units over Redfish (DMTF `ThermalEquipment`, `CoolingUnit`).
//!
//! A CDU's controller serves `/redfish/v1/ThermalEquipment/CDUs/{id}` (and, for other cooling
//! equipment, `ImmersionUnits` and `HeatExchangers`). Its `Status` says whether it works:
//! `Health` for the unit itself, `HealthRollup` for it with its pumps, filters, reservoirs and
//! coolant connectors, and `Conditions` name what is wrong (a failed pump, a leak).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{BmcError, Result};
use crate::redfish::{members, odata_id, str_of, RedfishClient};

/// One cooling unit as its controller describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CduReading {
    /// The resource path (`/redfish/v1/ThermalEquipment/CDUs/1`).
    pub path: String,
    pub id: String,
    pub name: Option<String>,
    /// `CDU`, `ImmersionUnit`, `HeatExchanger`, …
    pub equipment_type: Option<String>,
    pub serial: Option<String>,
    /// `Status.Health`, `Status.HealthRollup` and `Status.State`.
    pub health: Option<String>,
    pub health_rollup: Option<String>,
    pub state: Option<String>,
    /// The messages of its `Conditions` whose severity is not `OK`, worst first (in the
    /// service's order within a severity).
    pub conditions: Vec<String>,
}

impl CduReading {
    /// The unit, or a part it rolls up, is `Critical`: it is failing to cool.
    pub fn failed(&self) -> bool {
        let critical = |h: &Option<String>| h.as_deref() == Some("Critical");
        critical(&self.health) || critical(&self.health_rollup)
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "Critical" => 0,
        "Warning" => 1,
        _ => 2,
    }
}

pub(crate) fn cdu_of(v: &Value, path: &str) -> CduReading {
    let status = v.get("Status");
    let mut conditions: Vec<(u8, String)> = status
        .and_then(|s| s.get("Conditions"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    let sev = c.get("Severity").and_then(Value::as_str).unwrap_or("OK");
                    let msg = c.get("Message").and_then(Value::as_str)?;
                    (sev != "OK").then(|| (severity_rank(sev), msg.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    conditions.sort_by_key(|c| c.0);
    CduReading {
        path: path.to_string(),
        id: str_of(v, "Id").unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).into()),
        name: str_of(v, "Name"),
        equipment_type: str_of(v, "EquipmentType"),
        serial: str_of(v, "SerialNumber"),
        health: status.and_then(|s| str_of(s, "Health")),
        health_rollup: status.and_then(|s| str_of(s, "HealthRollup")),
        state: status.and_then(|s| str_of(s, "State")),
        conditions: conditions.into_iter().map(|(_, m)| m).collect(),
    }
}

impl RedfishClient {
    /// Every cooling unit the service describes (CDUs, immersion units, heat exchangers). A
    /// service without `ThermalEquipment` (a server's BMC given as a CDU's address) is an error
    /// that says so.
    pub async fn cooling_units(&self) -> Result<Vec<CduReading>> {
        let root = self.get("/redfish/v1").await?;
        let equipment = root
            .get("ThermalEquipment")
            .and_then(odata_id)
            .ok_or_else(|| BmcError::NotFound {
                endpoint: self.address().to_string(),
                what: "ThermalEquipment in the service root (is this a Redfish CDU?)".into(),
            })?;
        let eq = self.get(&equipment).await?;
        let mut out = Vec::new();
        for kind in ["CDUs", "ImmersionUnits", "HeatExchangers"] {
            let Some(coll) = eq.get(kind).and_then(odata_id) else {
                continue;
            };
            for path in members(&self.get(&coll).await?) {
                let v = self.get(&path).await?;
                out.push(cdu_of(&v, &path));
            }
        }
        if out.is_empty() {
            return Err(BmcError::NotFound {
                endpoint: self.address().to_string(),
                what: "a cooling unit under ThermalEquipment".into(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn health_and_conditions_are_read_worst_first() {
        let r = cdu_of(
            &json!({"Id": "1", "Name": "CDU", "Status": {"State": "Enabled", "Health": "Warning",
                "HealthRollup": "Critical", "Conditions": [
                    {"Severity": "OK", "Message": "filters fine"},
                    {"Severity": "Warning", "Message": "coolant low"},
                    {"Severity": "Critical", "Message": "Pump '2' has failed."}]}}),
            "/redfish/v1/ThermalEquipment/CDUs/1",
        );
        assert!(r.failed());
        assert_eq!(r.conditions, ["Pump '2' has failed.", "coolant low"]);
        let ok = cdu_of(
            &json!({"Status": {"Health": "OK", "HealthRollup": "Warning"}}),
            "/x/CDUs/7",
        );
        assert_eq!(ok.id, "7");
        assert!(!ok.failed());
        assert!(ok.conditions.is_empty());
    }
}
