//! Power distribution units over Redfish (DMTF `PowerEquipment`, `PowerDistribution`, `Outlet`).
//!
//! A rack PDU's management controller serves `/redfish/v1/PowerEquipment/RackPDUs/{id}` with
//! its `Outlets`; each outlet says whether it is switched on (`PowerState`) and what it draws
//! (`PowerWatts.Reading`). Floor PDUs (`FloorPDUs`) are read the same way. An outlet that is
//! neither switched nor metered (the DMTF mockup's "un-managed, un-monitored" outlet) has no
//! `PowerState`: it is read as unknown, not as off.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{BmcError, Result};
use crate::redfish::{members, odata_id, str_of, RedfishClient};

/// One PDU as its controller describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PduReading {
    /// The resource path (`/redfish/v1/PowerEquipment/RackPDUs/1`).
    pub path: String,
    pub id: String,
    pub name: Option<String>,
    /// `RackPDU`, `FloorPDU`, …
    pub equipment_type: Option<String>,
    pub serial: Option<String>,
    /// `Status.Health` and `Status.State`.
    pub health: Option<String>,
    pub state: Option<String>,
    pub outlets: Vec<OutletReading>,
}

/// One outlet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutletReading {
    /// The outlet's `Id` (`1`, `A1`, …).
    pub id: String,
    pub name: Option<String>,
    /// `PowerState` `On` → true, `Off` → false; none when the outlet does not report it.
    pub power_on: Option<bool>,
    pub watts: Option<f64>,
    pub health: Option<String>,
}

impl OutletReading {
    /// Whether this outlet is the CMDB's outlet `number`: its `Id` is the number, or ends in it
    /// after a branch letter (`A3` for 3 is not taken: letters name branches, whose numbering
    /// restarts), or its `Name` is `Outlet <number>`.
    pub fn is_number(&self, number: u32) -> bool {
        let n = number.to_string();
        self.id == n
            || self.name.as_deref().is_some_and(|name| {
                name.split(|c: char| !c.is_ascii_alphanumeric())
                    .collect::<Vec<_>>()
                    .windows(2)
                    .any(|w| w[0].eq_ignore_ascii_case("outlet") && w[1] == n)
            })
    }
}

fn reading(v: &Value) -> Option<f64> {
    v.get("Reading").and_then(Value::as_f64)
}

fn outlet_of(v: &Value, path: &str) -> OutletReading {
    let id = str_of(v, "Id").unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).to_string());
    let power_on = match v.get("PowerState").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("on") || s.eq_ignore_ascii_case("poweringoff") => {
            Some(true)
        }
        Some(s) if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("poweringon") => {
            Some(false)
        }
        _ => None,
    };
    OutletReading {
        id,
        name: str_of(v, "Name"),
        power_on,
        watts: v.get("PowerWatts").and_then(reading),
        health: v
            .get("Status")
            .and_then(|s| s.get("Health"))
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

impl RedfishClient {
    /// Every rack and floor PDU the service describes, with its outlets. A service without
    /// `PowerEquipment` (a server's BMC given as a PDU's address) is an error that says so.
    pub async fn power_distribution(&self) -> Result<Vec<PduReading>> {
        let root = self.get("/redfish/v1").await?;
        let equipment = root
            .get("PowerEquipment")
            .and_then(odata_id)
            .ok_or_else(|| BmcError::NotFound {
                endpoint: self.address().to_string(),
                what: "PowerEquipment in the service root (is this a Redfish PDU?)".into(),
            })?;
        let eq = self.get(&equipment).await?;
        let mut out = Vec::new();
        for kind in ["RackPDUs", "FloorPDUs"] {
            let Some(coll) = eq.get(kind).and_then(odata_id) else {
                continue;
            };
            for path in members(&self.get(&coll).await?) {
                out.push(self.read_pdu(&path).await?);
            }
        }
        if out.is_empty() {
            return Err(BmcError::NotFound {
                endpoint: self.address().to_string(),
                what: "a rack or floor PDU under PowerEquipment".into(),
            });
        }
        Ok(out)
    }

    async fn read_pdu(&self, path: &str) -> Result<PduReading> {
        let v = self.get(path).await?;
        let status = v.get("Status");
        let mut outlets = Vec::new();
        if let Some(coll) = v.get("Outlets").and_then(odata_id) {
            for o in members(&self.get(&coll).await?) {
                let ov = self.get(&o).await?;
                outlets.push(outlet_of(&ov, &o));
            }
        }
        Ok(PduReading {
            path: path.to_string(),
            id: str_of(&v, "Id").unwrap_or_else(|| path.rsplit('/').next().unwrap_or(path).into()),
            name: str_of(&v, "Name"),
            equipment_type: str_of(&v, "EquipmentType"),
            serial: str_of(&v, "SerialNumber"),
            health: status.and_then(|s| str_of(s, "Health")),
            state: status.and_then(|s| str_of(s, "State")),
            outlets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outlet_states_are_read_and_unknown_stays_unknown() {
        let on = outlet_of(
            &json!({"Id": "A1", "Name": "Outlet A1, Branch Circuit A", "PowerState": "On",
                    "PowerWatts": {"Reading": 197.4}, "Status": {"Health": "OK"}}),
            "/x/Outlets/A1",
        );
        assert_eq!(on.power_on, Some(true));
        assert_eq!(on.watts, Some(197.4));
        let off = outlet_of(&json!({"Id": "3", "PowerState": "Off"}), "/x/Outlets/3");
        assert_eq!(off.power_on, Some(false));
        let unmanaged = outlet_of(&json!({"Name": "Un-managed outlet"}), "/x/Outlets/A5");
        assert_eq!((unmanaged.id.as_str(), unmanaged.power_on), ("A5", None));
    }

    #[test]
    fn outlets_match_cmdb_numbers_by_id_or_name() {
        let o = |id: &str, name: &str| OutletReading {
            id: id.into(),
            name: Some(name.into()),
            power_on: None,
            watts: None,
            health: None,
        };
        assert!(o("3", "x").is_number(3));
        assert!(o("O-03x", "Outlet 3").is_number(3));
        assert!(!o("A3", "Outlet A3, Branch Circuit A").is_number(3));
        assert!(!o("13", "Outlet 13").is_number(3));
    }
}
