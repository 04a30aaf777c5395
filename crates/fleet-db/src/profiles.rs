//! Expected profiles, versioned by a counter (ETag) and audited.

use fleet_model::profile::ProfileSpec;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::audit::AuditEntry;
use crate::error::{DbError, DbResult};
use crate::now_ms;
use crate::store::{Actor, Store};

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub spec: ProfileSpec,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

fn from_row(r: &sqlx::any::AnyRow) -> DbResult<Profile> {
    Ok(Profile {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        spec: serde_json::from_str(&r.try_get::<String, _>("spec")?)?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    pub async fn create_profile(
        &self,
        actor: &Actor,
        name: &str,
        spec: &ProfileSpec,
    ) -> DbResult<Profile> {
        fleet_model::asset::validate_name(name).map_err(DbError::Invalid)?;
        let id = fleet_model::new_id("prof");
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO profiles (id, name, spec, version, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $4)")
            .bind(&id)
            .bind(name)
            .bind(serde_json::to_string(spec)?)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::from_write(e, &format!("profile '{name}'")))?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "profile.create",
                kind: "profile",
                target: Some(&id),
                before: None,
                after: Some(json!({"name": name, "spec": spec})),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_profile(&id).await
    }

    pub async fn get_profile(&self, id_or_name: &str) -> DbResult<Profile> {
        let r = sqlx::query("SELECT * FROM profiles WHERE id = $1 OR name = $1")
            .bind(id_or_name)
            .fetch_optional(&self.read)
            .await?;
        from_row(
            &r.ok_or_else(|| DbError::NotFound(format!("profile '{id_or_name}' does not exist")))?,
        )
    }

    pub async fn list_profiles(&self) -> DbResult<Vec<Profile>> {
        let rows = sqlx::query("SELECT * FROM profiles ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn update_profile(
        &self,
        actor: &Actor,
        id: &str,
        if_version: Option<i64>,
        spec: &ProfileSpec,
    ) -> DbResult<Profile> {
        let before = self.get_profile(id).await?;
        if let Some(v) = if_version {
            if v != before.version {
                return Err(DbError::Stale {
                    message: format!(
                        "profile '{}' is at version {}, not {v}",
                        before.name, before.version
                    ),
                    current_version: before.version,
                });
            }
        }
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE profiles SET spec = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4")
            .bind(serde_json::to_string(spec)?)
            .bind(now_ms())
            .bind(&before.id)
            .bind(before.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(DbError::Stale {
                message: format!("profile '{}' changed concurrently", before.name),
                current_version: before.version,
            });
        }
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "profile.update",
                kind: "profile",
                target: Some(&before.id),
                before: Some(json!({"spec": before.spec})),
                after: Some(json!({"spec": spec})),
            },
        )
        .await?;
        tx.commit().await?;
        self.get_profile(&before.id).await
    }

    pub async fn delete_profile(&self, actor: &Actor, id: &str) -> DbResult<()> {
        let before = self.get_profile(id).await?;
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM profiles WHERE id = $1")
            .bind(&before.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                DbError::from_write(
                    e,
                    &format!("profile '{}' (assigned to nodes?)", before.name),
                )
            })?;
        self.audit_tx(
            &mut tx,
            actor,
            AuditEntry {
                action: "profile.delete",
                kind: "profile",
                target: Some(&before.id),
                before: Some(json!({"name": before.name})),
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
