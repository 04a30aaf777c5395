//! Roles and permissions. The matrix here is the only place that says who may
//! do what; every route names one permission.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    PartialOrd,
    Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role '{s}'; roles are viewer, operator, admin"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// Any authenticated user: who am I, log out, my own API tokens.
    SelfService,
    /// Read inventory, configuration, versions, history, profiles.
    InventoryRead,
    /// Create, change and delete assets, relations and labels; import inventory.
    InventoryWrite,
    /// Move nodes through the lifecycle; assign profiles.
    LifecycleWrite,
    /// Create, change and delete expected profiles.
    ProfileWrite,
    /// Manage users and other users' tokens.
    UserAdmin,
    /// Read and verify the audit log.
    AuditRead,
    /// Out-of-band operations: power, boot device, virtual media, SEL, reads; cancel jobs.
    OobOperate,
    /// Out-of-band configuration: BIOS, RAID, firmware.
    OobAdmin,
    /// Event backbone administration: read and re-drive dead letters.
    EventAdmin,
    /// Move a stored out-of-band credential's endpoint: change the address, port, protocol or
    /// TLS setting of a BMC, switch or PDU whose password is stored without giving a new one
    /// (the stored password is then cleared). Checked by the handlers that can do it.
    CredentialAdmin,
    /// Push telemetry (line protocol, Prometheus text): node agents, Telegraf, collectors.
    TelemetryWrite,
    /// Send alerts (Alertmanager API v2 and webhook bodies) to the correlation.
    AlertWrite,
    /// Acknowledge, resolve and remediate incidents (run a remediation plan, approve its steps).
    IncidentManage,
    /// Switch automatic and manual remediation off and on (the kill switch).
    RemediationAdmin,
}

impl Permission {
    pub const ALL: [Permission; 15] = [
        Permission::SelfService,
        Permission::InventoryRead,
        Permission::InventoryWrite,
        Permission::LifecycleWrite,
        Permission::ProfileWrite,
        Permission::UserAdmin,
        Permission::AuditRead,
        Permission::OobOperate,
        Permission::OobAdmin,
        Permission::EventAdmin,
        Permission::CredentialAdmin,
        Permission::TelemetryWrite,
        Permission::AlertWrite,
        Permission::IncidentManage,
        Permission::RemediationAdmin,
    ];
}

/// The permission matrix.
pub fn allows(role: Role, perm: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => true,
        Role::Operator => matches!(
            perm,
            SelfService
                | InventoryRead
                | InventoryWrite
                | LifecycleWrite
                | OobOperate
                | TelemetryWrite
                | AlertWrite
                | IncidentManage
        ),
        Role::Viewer => matches!(perm, SelfService | InventoryRead),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        for p in Permission::ALL {
            if allows(Role::Viewer, p) {
                assert!(allows(Role::Operator, p));
            }
            if allows(Role::Operator, p) {
                assert!(allows(Role::Admin, p));
            }
        }
        assert!(!allows(Role::Viewer, Permission::InventoryWrite));
        assert!(!allows(Role::Operator, Permission::UserAdmin));
        assert!(!allows(Role::Operator, Permission::AuditRead));
        assert!(allows(Role::Operator, Permission::OobOperate));
        assert!(!allows(Role::Operator, Permission::OobAdmin));
        assert!(!allows(Role::Viewer, Permission::OobOperate));
        assert!(!allows(Role::Operator, Permission::EventAdmin));
        assert!(!allows(Role::Operator, Permission::CredentialAdmin));
        assert!(allows(Role::Admin, Permission::EventAdmin));
        assert!(allows(Role::Operator, Permission::TelemetryWrite));
        assert!(!allows(Role::Viewer, Permission::TelemetryWrite));
        assert!(allows(Role::Operator, Permission::AlertWrite));
        assert!(allows(Role::Operator, Permission::IncidentManage));
        assert!(!allows(Role::Viewer, Permission::AlertWrite));
        assert!(!allows(Role::Viewer, Permission::IncidentManage));
    }
}
