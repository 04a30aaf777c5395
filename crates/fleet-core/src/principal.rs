//! Who acts: an authenticated user with a role, or one of gpufleet's own background roles.
//! Every use case of the core takes a principal and checks its permission itself, so REST,
//! gRPC, GraphQL and the background roles share one permission model. System principals are
//! named `system:<role>` in the audit log; user names cannot contain ':' (fleet-db checks
//! them), so the two never mix.

use fleet_db::Actor;
use fleet_model::rbac::{allows, Permission, Role};

use crate::error::{CoreError, CoreResult};

/// gpufleet's own roles acting without a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemRole {
    /// Runs queued out-of-band jobs and takes back jobs whose worker died.
    Operations,
    /// Inspects discovered nodes and syncs their inventory.
    Enricher,
    /// Drives nodes through Tinkerbell installs (PXE boot, power, RAID, reads).
    Provisioner,
    /// Automatic remediation of incidents (drain, power-cycle, the outcome of a diagnosis),
    /// within its guard rails.
    Remediation,
    /// Evaluates alert rules on the telemetry stream and sends what fires to the correlation.
    Alerting,
    /// Scrapes dcgm-exporter pages of the nodes that name one and ingests them.
    Scraper,
    /// Climbs the recovery ladder of nodes stuck past their state's deadline.
    Recovery,
}

impl SystemRole {
    pub fn name(self) -> &'static str {
        match self {
            SystemRole::Operations => "operations",
            SystemRole::Enricher => "enricher",
            SystemRole::Provisioner => "provisioning",
            SystemRole::Remediation => "remediation",
            SystemRole::Alerting => "alerting",
            SystemRole::Scraper => "scraper",
            SystemRole::Recovery => "recovery",
        }
    }

    /// What the role may do: only what its work needs.
    pub fn permits(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            SystemRole::Operations => {
                matches!(p, InventoryRead | InventoryWrite | OobOperate | OobAdmin)
            }
            SystemRole::Enricher => matches!(
                p,
                InventoryRead | InventoryWrite | LifecycleWrite | OobOperate
            ),
            SystemRole::Provisioner => {
                matches!(p, InventoryRead | LifecycleWrite | OobOperate | OobAdmin)
            }
            // InventoryWrite: the RMA record on a GPU a diagnosis failed.
            SystemRole::Remediation => matches!(
                p,
                InventoryRead | InventoryWrite | LifecycleWrite | OobOperate
            ),
            SystemRole::Alerting => matches!(p, InventoryRead | AlertWrite),
            SystemRole::Scraper => matches!(p, InventoryRead | TelemetryWrite),
            SystemRole::Recovery => matches!(p, InventoryRead | LifecycleWrite | OobOperate),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    User { id: String, role: Role },
    System(SystemRole),
}

/// The caller of a use case, with what the audit log records about the request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The user name, or `system:<role>`.
    pub name: String,
    /// Source address of the request, when there was one.
    pub source: Option<String>,
    /// Request id (REST `x-request-id`, gRPC metadata), when there was one.
    pub request_id: Option<String>,
}

impl Principal {
    pub fn user(id: impl Into<String>, username: impl Into<String>, role: Role) -> Principal {
        Principal {
            kind: PrincipalKind::User {
                id: id.into(),
                role,
            },
            name: username.into(),
            source: None,
            request_id: None,
        }
    }

    pub fn system(role: SystemRole) -> Principal {
        Principal {
            kind: PrincipalKind::System(role),
            name: format!("system:{}", role.name()),
            source: None,
            request_id: None,
        }
    }

    pub fn with_request(mut self, source: Option<String>, request_id: Option<String>) -> Self {
        self.source = source;
        self.request_id = request_id;
        self
    }

    pub fn allows(&self, p: Permission) -> bool {
        match &self.kind {
            PrincipalKind::User { role, .. } => allows(*role, p),
            PrincipalKind::System(r) => r.permits(p),
        }
    }

    /// `Forbidden` naming the permission unless the principal has it; `what` says what was
    /// asked ("start a bios.set job").
    pub fn require(&self, p: Permission, what: &str) -> CoreResult<()> {
        if self.allows(p) {
            return Ok(());
        }
        let who = match &self.kind {
            PrincipalKind::User { role, .. } => format!("role '{}'", role.as_str()),
            PrincipalKind::System(r) => format!("system role '{}'", r.name()),
        };
        Err(CoreError::Forbidden(format!(
            "{who} may not {what}; this needs the {p:?} permission"
        )))
    }

    /// The audit actor of this principal.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.name.clone(),
            source: self.source.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_principals_are_named_as_such_and_limited_to_their_work() {
        let p = Principal::system(SystemRole::Provisioner);
        assert_eq!(p.actor().name, "system:provisioning");
        assert!(
            p.allows(Permission::OobAdmin),
            "provisioning builds RAID volumes"
        );
        assert!(!p.allows(Permission::UserAdmin));
        assert!(!p.allows(Permission::CredentialAdmin));
        let r = Principal::system(SystemRole::Remediation);
        assert!(
            !r.allows(Permission::OobAdmin),
            "remediation never flashes or reconfigures"
        );
        let e = r
            .require(Permission::OobAdmin, "start a bios.set job")
            .unwrap_err();
        assert!(e.to_string().contains("system role 'remediation'"), "{e}");
    }

    #[test]
    fn users_get_what_their_role_allows() {
        let v = Principal::user("u1", "vera", Role::Viewer);
        assert!(v.allows(Permission::InventoryRead));
        let e = v
            .require(Permission::OobOperate, "start a power.on job")
            .unwrap_err();
        assert!(matches!(e, CoreError::Forbidden(_)));
        assert!(e.to_string().contains("role 'viewer'"), "{e}");
    }
}
