//! The CMDB's use cases: assets, their configuration versions and the node lifecycle, each
//! checking the principal's permission. Writes that touch a stored credential (replace it,
//! move its endpoint, delete its owner) need `CredentialAdmin` on top of `InventoryWrite`.

use fleet_db::{AssetFilter, AssetPatch, ConfigVersion, HistoryRow, NewAsset, Page};
use fleet_model::asset::{Asset, AssetKind};
use fleet_model::lifecycle::NodeState;
use fleet_model::rbac::Permission;
use serde_json::Value;

use crate::error::{CoreError, CoreResult};
use crate::principal::Principal;
use crate::Core;

/// A write that replaces a stored credential, or moves its endpoint (address, port,
/// protocol, TLS setting), needs `CredentialAdmin`: moving it without a new credential clears
/// the stored one, and even with one it re-points whatever else holds the BMC's credentials
/// at the new address. Setting a credential on an asset that has none is an ordinary write.
fn check_credential_change(p: &Principal, before: &Asset, config: &Value) -> CoreResult<()> {
    use fleet_model::asset::credential_binding;
    let Some(field) = before.kind.secret_field() else {
        return Ok(());
    };
    if before.config.get("credential_set").is_none() {
        return Ok(());
    }
    let replaces = config.get(field).is_some_and(|v| v.is_string());
    let moves =
        credential_binding(before.kind, &before.config) != credential_binding(before.kind, config);
    if !replaces && !moves {
        return Ok(());
    }
    p.require(
        Permission::CredentialAdmin,
        &format!(
            "replace the stored {field} of {} '{}' or move the endpoint it is bound to (its address, port, protocol and TLS setting; a move without a new {field} clears the stored one)",
            before.kind, before.name
        ),
    )
}

impl Core {
    pub async fn asset(&self, p: &Principal, id: &str) -> CoreResult<Asset> {
        p.require(Permission::InventoryRead, "read assets")?;
        Ok(self.store.get_asset(id).await?)
    }

    /// The asset `id_or_name` of `kind`.
    pub async fn resolve(
        &self,
        p: &Principal,
        kind: AssetKind,
        id_or_name: &str,
    ) -> CoreResult<Asset> {
        p.require(Permission::InventoryRead, "read assets")?;
        self.store
            .resolve(kind, id_or_name)
            .await
            .map_err(|e| match e {
                fleet_db::DbError::Invalid(m) => CoreError::NotFound(m),
                other => other.into(),
            })
    }

    pub async fn assets(&self, p: &Principal, f: &AssetFilter) -> CoreResult<Page<Asset>> {
        p.require(Permission::InventoryRead, "read assets")?;
        if !(1..=1000).contains(&f.limit) {
            return Err(CoreError::Invalid(
                "'limit' must be between 1 and 1000".into(),
            ));
        }
        Ok(self.store.list_assets(f).await?)
    }

    /// The assets with these ids (missing ones are left out); one statement per 500 ids.
    pub async fn assets_by_ids(&self, p: &Principal, ids: &[String]) -> CoreResult<Vec<Asset>> {
        p.require(Permission::InventoryRead, "read assets")?;
        Ok(self.store.assets_by_ids(ids).await?)
    }

    /// The children (of `kind`) of all `parents`; one statement per 500 parents.
    pub async fn children_of(
        &self,
        p: &Principal,
        parents: &[String],
        kind: Option<AssetKind>,
    ) -> CoreResult<Vec<Asset>> {
        p.require(Permission::InventoryRead, "read assets")?;
        Ok(self.store.children_of(parents, kind).await?)
    }

    pub async fn create_asset(&self, p: &Principal, new: NewAsset) -> CoreResult<Asset> {
        p.require(Permission::InventoryWrite, "create assets")?;
        let a = self.store.create_asset(&p.actor(), new).await?;
        self.telemetry.cmdb_changed();
        Ok(a)
    }

    pub async fn patch_asset(
        &self,
        p: &Principal,
        id: &str,
        if_version: Option<i64>,
        patch: AssetPatch,
    ) -> CoreResult<Asset> {
        p.require(Permission::InventoryWrite, "change assets")?;
        let a = self
            .store
            .patch_asset(&p.actor(), id, if_version, patch)
            .await?;
        self.telemetry.cmdb_changed();
        Ok(a)
    }

    /// Deletes an asset that contains nothing. Deleting a BMC, switch or PDU deletes its
    /// stored credential: that needs `CredentialAdmin`.
    pub async fn delete_asset(&self, p: &Principal, id: &str) -> CoreResult<()> {
        p.require(Permission::InventoryWrite, "delete assets")?;
        let a = self.store.get_asset(id).await?;
        if a.kind.secret_field().is_some() && a.config.get("credential_set").is_some() {
            p.require(
                Permission::CredentialAdmin,
                &format!(
                    "delete {} '{}', which holds a stored credential",
                    a.kind, a.name
                ),
            )?;
        }
        self.store.delete_asset(&p.actor(), id).await?;
        self.telemetry.cmdb_changed();
        Ok(())
    }

    /// Replaces an asset's configuration as a new version; `if_version` makes it
    /// conditional (a stale version changes nothing).
    pub async fn put_config(
        &self,
        p: &Principal,
        id: &str,
        if_version: Option<i64>,
        config: Value,
        reason: Option<String>,
    ) -> CoreResult<Asset> {
        p.require(Permission::InventoryWrite, "change configurations")?;
        let before = self.store.get_asset(id).await?;
        check_credential_change(p, &before, &config)?;
        let a = self
            .store
            .update_config(&p.actor(), id, if_version, config, reason)
            .await?;
        self.telemetry.cmdb_changed();
        Ok(a)
    }

    /// Restores configuration `version` as a new version (conditional on `if_version`).
    pub async fn restore_version(
        &self,
        p: &Principal,
        id: &str,
        version: i64,
        if_version: Option<i64>,
    ) -> CoreResult<Asset> {
        p.require(Permission::InventoryWrite, "change configurations")?;
        let before = self.store.get_asset(id).await?;
        let old = self.store.get_version(id, version).await?;
        check_credential_change(p, &before, &old.config)?;
        let a = self
            .store
            .restore_version(&p.actor(), id, version, if_version)
            .await?;
        self.telemetry.cmdb_changed();
        Ok(a)
    }

    pub async fn config_versions(&self, p: &Principal, id: &str) -> CoreResult<Vec<ConfigVersion>> {
        p.require(Permission::InventoryRead, "read configuration versions")?;
        self.store.get_asset(id).await?;
        Ok(self.store.list_versions(id).await?)
    }

    /// Moves node `id` (an id or a name) through its lifecycle.
    pub async fn transition(
        &self,
        p: &Principal,
        id: &str,
        to: NodeState,
        reason: Option<String>,
    ) -> CoreResult<(Asset, HistoryRow)> {
        p.require(
            Permission::LifecycleWrite,
            "move nodes through the lifecycle",
        )?;
        let n = self.node(id).await?;
        Ok(self.store.transition(&p.actor(), &n.id, to, reason).await?)
    }

    pub async fn lifecycle_history(&self, p: &Principal, id: &str) -> CoreResult<Vec<HistoryRow>> {
        p.require(Permission::InventoryRead, "read lifecycle history")?;
        let n = self.node(id).await?;
        Ok(self.store.lifecycle_history(&n.id).await?)
    }
}
