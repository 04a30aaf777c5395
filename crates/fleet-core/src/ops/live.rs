//! Reads that go to a BMC or switch while the caller waits (no job): the BIOS against the
//! node's expected profile, and switch ports over gNMI.

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_model::rbac::Permission;
use serde_json::Value;

use crate::error::{CoreError, CoreResult};
use crate::principal::Principal;
use crate::Core;

/// One attribute where the node differs from its expected profile.
#[derive(Debug, Clone)]
pub struct BiosDifference {
    pub attribute: String,
    pub expected: Value,
    /// The value in effect now; None when the BMC does not report the attribute.
    pub actual: Option<Value>,
    /// A value written but not yet applied (takes effect at the next reset).
    pub pending: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct BiosDiff {
    pub node: String,
    pub profile: String,
    pub profile_version: i64,
    pub differences: Vec<BiosDifference>,
    /// Every attribute pending on the BMC.
    pub pending: BTreeMap<String, Value>,
}

fn bmc_failed(e: impl std::fmt::Display) -> CoreError {
    CoreError::upstream("BMC unreachable or failed", e)
}

fn switch_failed(e: impl std::fmt::Display) -> CoreError {
    CoreError::upstream("Switch unreachable or failed", e)
}

impl Core {
    /// The node's BIOS attributes, read live from its BMC, against the `bios` map of its
    /// expected profile: exactly the attributes that differ.
    pub async fn bios_diff(
        &self,
        p: &Principal,
        id: &str,
        driver: Option<&str>,
    ) -> CoreResult<BiosDiff> {
        p.require(Permission::OobOperate, "read a node's BIOS from its BMC")?;
        let asset = self.node(id).await?;
        let Some(pid) = asset.profile_id.clone() else {
            return Err(CoreError::conflict(
                "No expected profile",
                format!("node {id} has no expected profile to compare its BIOS with"),
            ));
        };
        let profile = self.store.get_profile(&pid).await?;
        if let Some(d) = driver {
            if !matches!(d, "redfish" | "ipmi" | "ipmitool") {
                return Err(CoreError::Invalid(
                    "driver is redfish, ipmi or ipmitool".into(),
                ));
            }
        }
        let bmc = self.bmc_for(&asset.id, driver).await.map_err(bmc_failed)?;
        let b = fleet_bmc::with_deadline(bmc.endpoint(), Duration::from_secs(60), bmc.bios())
            .await
            .map_err(bmc_failed)?;
        let differences = fleet_bmc::bios_diff(&profile.spec.bios, &b.current)
            .into_iter()
            .map(|d| BiosDifference {
                pending: b.pending.get(&d.attribute).cloned(),
                attribute: d.attribute,
                expected: d.expected,
                actual: d.actual,
            })
            .collect();
        Ok(BiosDiff {
            node: asset.id,
            profile: profile.name,
            profile_version: profile.version,
            differences,
            pending: b.pending,
        })
    }

    /// Port status of a switch, read live over gNMI (all ports, or `port`).
    pub async fn switch_ports(
        &self,
        p: &Principal,
        id: &str,
        port: Option<&str>,
    ) -> CoreResult<Vec<fleet_bmc::gnmi::PortStatus>> {
        p.require(Permission::OobOperate, "read switch ports")?;
        let sw = self.switch(id).await?;
        let g = self.gnmi_for(&sw.id).await.map_err(switch_failed)?;
        Ok(match port {
            Some(port) => vec![g.port(port).await.map_err(|e| match &e {
                fleet_bmc::BmcError::NotFound { .. } => {
                    CoreError::NotFound(format!("switch {id} has no port {port}"))
                }
                fleet_bmc::BmcError::Gnmi { code, .. } if code == "NotFound" => {
                    CoreError::NotFound(format!("switch {id} has no port {port}: {e}"))
                }
                _ => switch_failed(e),
            })?],
            None => g.ports().await.map_err(switch_failed)?,
        })
    }
}
