//! gpufleet storage.
//!
//! One repository implementation over `sqlx::Any`, with a PostgreSQL and a
//! SQLite adapter selected by URL. SQL is written once with `$N` placeholders
//! (both backends accept them); the few dialect differences (row locks,
//! upserts) branch on [`Dialect`]. Migrations live in `migrations/<dialect>`.
//!
//! **Invariant**: every state change of an asset is one transaction that also
//! writes its history row (configuration version or lifecycle history), its
//! audit row (hash-chained) and its outbox event.

mod alert_rules;
mod assets;
mod audit;
mod auth;
mod enrich;
mod error;
mod health;
mod import;
mod incidents;
mod jobs;
mod outbox;
mod profiles;
mod provision;
mod query;
mod secrets;
mod seed;
mod store;

pub use alert_rules::{AlertRuleRow, NewRuleVersion};
pub use assets::{AssetFilter, AssetPatch, ConfigVersion, HistoryRow, NewAsset, NewRelation, Page};
pub use audit::{AuditEntry, AuditFilter, AuditRow, VerifyReport};
pub use auth::{hash_token, NewUser, Token, TokenKind, User, UserPatch};
pub use enrich::{
    missing_gpus, normalize_bmc_address, part_present, BmcRegistration, InventoryApply,
    InventoryOutcome, ObservedPart, PartKey, PartMove, Registered, ValidateWhen,
};
pub use error::{DbError, DbResult};
pub use health::{history_key, AssetHealthChange, AssetHealthRow, GpuHealthChange, GpuHealthRow};
pub use import::{ImportSummary, ReferenceError};
pub use incidents::{CorrelationChanges, CorrelationState, OutboxEvent};
pub use jobs::{job_state_is_final, Job, JobFilter, JobLogLine, JobUpdate, NewJob, JOB_STATES};
pub use outbox::{EventFilter, OutboxRow};
pub use profiles::Profile;
pub use provision::{
    provisioning_stage_is_final, InstallPlanRow, NewProvisioning, Provisioning, ProvisioningUpdate,
};
pub use secrets::SecretBox;
pub use seed::SeedSummary;
pub use store::{mask_url, Actor, Dialect, Store, StoreOptions};

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Formats Unix milliseconds as RFC 3339 (UTC, milliseconds): [`fleet_model::timefmt::rfc3339`].
pub fn rfc3339(ms: i64) -> String {
    fleet_model::timefmt::rfc3339(ms)
}
