//! The GraphQL face of the application core: one graph over nodes → GPUs / BMC / NICs / disks
//! → rack, configuration versions, lifecycle history and jobs, and incidents with their root
//! cause (linked to its CMDB asset), alerts and timeline; with mutations for the
//! configuration, transitions, operations and incidents (acknowledge, resolve). `POST /api/v1/graphql` (the REST route table lets
//! any authenticated caller in; every field and mutation asks the core, which checks the
//! caller's permission). Related assets load through per-request DataLoaders, so a page of
//! nodes with their GPUs, BMC and rack costs a constant number of SQL statements. Depth and
//! complexity are limited. The schema's SDL is kept in `docs/schema.graphql` (a test fails when
//! the served schema drifts from it).

use fleet_model::timefmt::rfc3339;
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, ErrorExtensions, Json, Object, Schema, SimpleObject, Subscription, ID,
};
use fleet_core::correlation::{IncidentFilter, IncidentState, IncidentView};
use fleet_core::ops::{OpSpec, Operation};
use fleet_core::{CoreError, Principal};
use fleet_model::asset::{Asset as CoreAsset, AssetKind};
use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::state::AppState;

pub type FleetSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// How long a loader collects keys before it queries: long enough for the items of one list
/// to be batched on a busy 2-core machine, short against a database round trip.
const LOADER_DELAY: std::time::Duration = std::time::Duration::from_millis(20);

/// Deepest query accepted, and the most complex.
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 5_000;

pub fn schema() -> FleetSchema {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The core's errors as GraphQL errors with `extensions.code`.
fn gql(e: CoreError) -> async_graphql::Error {
    use fleet_db::DbError;
    let code = match &e {
        CoreError::Forbidden(_) => "FORBIDDEN",
        CoreError::NotFound(_) | CoreError::Store(DbError::NotFound(_)) => "NOT_FOUND",
        CoreError::Invalid(_)
        | CoreError::Unprocessable(_)
        | CoreError::Store(DbError::Invalid(_)) => "BAD_USER_INPUT",
        CoreError::Unauthenticated(_) => "UNAUTHENTICATED",
        CoreError::RateLimited { .. } => "RATE_LIMITED",
        CoreError::Conflict { .. }
        | CoreError::Store(DbError::Conflict(_) | DbError::Transition(_)) => "CONFLICT",
        CoreError::Store(DbError::Stale { .. }) => "STALE_VERSION",
        CoreError::Upstream { .. } | CoreError::Unavailable { .. } => "UPSTREAM_UNAVAILABLE",
        _ => "INTERNAL",
    };
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", code))
}

/// What a request carries: the state and the caller.
pub struct Caller {
    pub st: AppState,
    pub principal: Principal,
}

fn caller<'a>(ctx: &'a Context<'_>) -> &'a Caller {
    ctx.data_unchecked::<Caller>()
}

/// Assets by id.
pub struct AssetsById(pub AppState, pub Principal);

impl Loader<String> for AssetsById {
    type Value = CoreAsset;
    type Error = Arc<async_graphql::Error>;
    async fn load(&self, keys: &[String]) -> Result<HashMap<String, CoreAsset>, Self::Error> {
        let found = self
            .0
            .core
            .assets_by_ids(&self.1, keys)
            .await
            .map_err(|e| Arc::new(gql(e)))?;
        Ok(found.into_iter().map(|a| (a.id.clone(), a)).collect())
    }
}

/// Children of a parent, by kind: key (parent id, kind name).
pub struct ChildrenOf(pub AppState, pub Principal);

impl Loader<(String, String)> for ChildrenOf {
    type Value = Vec<CoreAsset>;
    type Error = Arc<async_graphql::Error>;
    async fn load(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), Vec<CoreAsset>>, Self::Error> {
        let mut by_kind: HashMap<String, Vec<String>> = HashMap::new();
        for (p, k) in keys {
            by_kind.entry(k.clone()).or_default().push(p.clone());
        }
        let mut out: HashMap<(String, String), Vec<CoreAsset>> =
            keys.iter().map(|k| (k.clone(), vec![])).collect();
        for (k, parents) in by_kind {
            let kind: AssetKind = k
                .parse()
                .map_err(|e: String| Arc::new(async_graphql::Error::new(e)))?;
            let children = self
                .0
                .core
                .children_of(&self.1, &parents, Some(kind))
                .await
                .map_err(|e| Arc::new(gql(e)))?;
            for c in children {
                if let Some(p) = c.parent_id.clone() {
                    out.entry((p, k.clone())).or_default().push(c);
                }
            }
        }
        Ok(out)
    }
}

/// The per-request data: the caller and fresh loaders (nothing is cached across requests).
pub fn request_data(
    st: &AppState,
    principal: Principal,
) -> (Caller, DataLoader<AssetsById>, DataLoader<ChildrenOf>) {
    (
        Caller {
            st: st.clone(),
            principal: principal.clone(),
        },
        DataLoader::new(AssetsById(st.clone(), principal.clone()), tokio::spawn)
            .delay(LOADER_DELAY),
        DataLoader::new(ChildrenOf(st.clone(), principal), tokio::spawn).delay(LOADER_DELAY),
    )
}

/// Any asset: a rack, node, GPU, BMC, NIC, disk, switch, PDU or outlet.
pub struct Asset(pub CoreAsset);

async fn children(
    ctx: &Context<'_>,
    parent: &str,
    kind: &'static str,
) -> async_graphql::Result<Vec<Asset>> {
    let l = ctx.data_unchecked::<DataLoader<ChildrenOf>>();
    Ok(l.load_one((parent.to_string(), kind.to_string()))
        .await
        .map_err(|e| (*e).clone())?
        .unwrap_or_default()
        .into_iter()
        .map(Asset)
        .collect())
}

#[Object]
impl Asset {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn kind(&self) -> &str {
        self.0.kind.as_str()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    async fn serial(&self) -> Option<&str> {
        self.0.serial.as_deref()
    }
    /// MAC for NICs, network address for BMCs, switches and PDUs.
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    async fn labels(&self) -> Json<Value> {
        Json(serde_json::to_value(&self.0.labels).unwrap_or_default())
    }
    /// The versioned configuration document; stored credentials never appear in it.
    async fn config(&self) -> Json<Value> {
        Json(self.0.config.clone())
    }
    /// Configuration version (send it back as `ifVersion`).
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// Lifecycle state (nodes).
    async fn state(&self) -> Option<&str> {
        self.0.state.map(|s| s.as_str())
    }
    async fn created_at(&self) -> String {
        rfc3339(self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(self.0.updated_at)
    }
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Asset>> {
        let Some(p) = &self.0.parent_id else {
            return Ok(None);
        };
        let l = ctx.data_unchecked::<DataLoader<AssetsById>>();
        Ok(l.load_one(p.clone())
            .await
            .map_err(|e| (*e).clone())?
            .map(Asset))
    }
    /// The rack the asset is in.
    async fn rack(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Asset>> {
        let Some(r) = &self.0.rack_id else {
            return Ok(None);
        };
        let l = ctx.data_unchecked::<DataLoader<AssetsById>>();
        Ok(l.load_one(r.clone())
            .await
            .map_err(|e| (*e).clone())?
            .map(Asset))
    }
    async fn gpus(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Asset>> {
        children(ctx, &self.0.id, "gpu").await
    }
    async fn nics(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Asset>> {
        children(ctx, &self.0.id, "nic").await
    }
    async fn disks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Asset>> {
        children(ctx, &self.0.id, "disk").await
    }
    async fn bmc(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Asset>> {
        Ok(children(ctx, &self.0.id, "bmc").await?.into_iter().next())
    }
    /// Every configuration version, oldest first.
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ConfigVersion>> {
        let c = caller(ctx);
        let v =
            c.st.core
                .config_versions(&c.principal, &self.0.id)
                .await
                .map_err(gql)?;
        Ok(v.into_iter()
            .map(|v| ConfigVersion {
                version: v.version,
                config: Json(v.config),
                diff: Json(serde_json::to_value(v.diff).unwrap_or_default()),
                actor: v.actor,
                reason: v.reason,
                created_at: rfc3339(v.created_at),
            })
            .collect())
    }
    /// Lifecycle history (nodes), oldest first.
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HistoryEntry>> {
        if self.0.kind != AssetKind::Node {
            return Ok(vec![]);
        }
        let c = caller(ctx);
        let h =
            c.st.core
                .lifecycle_history(&c.principal, &self.0.id)
                .await
                .map_err(gql)?;
        Ok(h.into_iter().map(HistoryEntry::from).collect())
    }
    /// The node's jobs, newest first.
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] limit: i64,
    ) -> async_graphql::Result<Vec<Job>> {
        let c = caller(ctx);
        let jobs =
            c.st.core
                .jobs(
                    &c.principal,
                    &fleet_db::JobFilter {
                        target: Some(self.0.id.clone()),
                        limit: limit.clamp(1, 1000),
                        ..Default::default()
                    },
                )
                .await
                .map_err(gql)?;
        Ok(jobs.into_iter().map(Job::from).collect())
    }
}

#[derive(SimpleObject)]
pub struct ConfigVersion {
    pub version: i64,
    pub config: Json<Value>,
    /// Changes against the previous version.
    pub diff: Json<Value>,
    pub actor: String,
    pub reason: Option<String>,
    pub created_at: String,
}

#[derive(SimpleObject)]
pub struct HistoryEntry {
    pub from_state: String,
    pub to_state: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: String,
}

impl From<fleet_db::HistoryRow> for HistoryEntry {
    fn from(h: fleet_db::HistoryRow) -> Self {
        HistoryEntry {
            from_state: h.from_state,
            to_state: h.to_state,
            actor: h.actor,
            reason: h.reason,
            at: rfc3339(h.at),
        }
    }
}

/// An out-of-band job.
#[derive(SimpleObject)]
pub struct Job {
    pub id: ID,
    pub kind: String,
    pub target: String,
    pub driver: Option<String>,
    pub params: Json<Value>,
    pub actor: String,
    pub state: String,
    pub step: Option<String>,
    pub progress: i64,
    pub result: Option<Json<Value>>,
    pub error: Option<String>,
    pub batch_id: Option<String>,
    pub worker: Option<String>,
    pub attempts: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<fleet_db::Job> for Job {
    fn from(j: fleet_db::Job) -> Self {
        Job {
            id: ID(j.id),
            kind: j.kind,
            target: j.target,
            driver: j.driver,
            params: Json(serde_json::from_str(&j.params).unwrap_or_default()),
            actor: j.actor,
            state: j.state,
            step: j.step,
            progress: j.progress,
            result: j
                .result
                .and_then(|r| serde_json::from_str(&r).ok())
                .map(Json),
            error: j.error,
            batch_id: j.batch_id,
            worker: j.lease_owner,
            attempts: j.attempts,
            created_at: rfc3339(j.created_at),
            finished_at: j.finished_at.map(rfc3339),
        }
    }
}

#[derive(SimpleObject)]
pub struct AssetPage {
    pub items: Vec<Asset>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct Me {
    pub username: String,
    pub role: String,
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> Me {
        let p = &caller(ctx).principal;
        let role = match &p.kind {
            fleet_core::PrincipalKind::User { role, .. } => role.as_str().to_string(),
            fleet_core::PrincipalKind::System(r) => format!("system:{}", r.name()),
        };
        Me {
            username: p.name.clone(),
            role,
        }
    }

    /// An asset by id.
    async fn asset(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Asset>> {
        let c = caller(ctx);
        match c.st.core.asset(&c.principal, &id).await {
            Ok(a) => Ok(Some(Asset(a))),
            Err(CoreError::Store(fleet_db::DbError::NotFound(_))) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// A node by id or name.
    async fn node(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<Asset>> {
        let c = caller(ctx);
        match c.st.core.resolve(&c.principal, AssetKind::Node, &id).await {
            Ok(a) => Ok(Some(Asset(a))),
            Err(CoreError::NotFound(_) | CoreError::Store(fleet_db::DbError::NotFound(_))) => {
                Ok(None)
            }
            Err(e) => Err(gql(e)),
        }
    }

    /// Assets of a kind (default: nodes), filtered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn assets(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "String::from(\"node\")")] kind: String,
        state: Option<String>,
        model: Option<String>,
        rack: Option<String>,
        name_prefix: Option<String>,
        #[graphql(default = 50)] first: i64,
        after: Option<String>,
    ) -> async_graphql::Result<AssetPage> {
        let c = caller(ctx);
        let mut f = fleet_db::AssetFilter {
            kind: Some(
                kind.parse()
                    .map_err(|e: String| gql(CoreError::Invalid(e)))?,
            ),
            model,
            name_prefix,
            limit: first,
            ..Default::default()
        };
        if let Some(s) = state {
            f.state = Some(
                s.parse()
                    .map_err(|e: fleet_model::lifecycle::UnknownState| {
                        gql(CoreError::Invalid(e.to_string()))
                    })?,
            );
        }
        if let Some(r) = rack {
            f.rack_id = Some(
                c.st.core
                    .resolve(&c.principal, AssetKind::Rack, &r)
                    .await
                    .map_err(gql)?
                    .id,
            );
        }
        if let Some(a) = after {
            f.after_id =
                Some(crate::api::decode_cursor(&a).map_err(|e| gql(CoreError::Invalid(e.detail)))?);
        }
        let page = c.st.core.assets(&c.principal, &f).await.map_err(gql)?;
        Ok(AssetPage {
            items: page.items.into_iter().map(Asset).collect(),
            next_cursor: page.next_after.as_deref().map(crate::api::encode_cursor),
        })
    }

    /// Incidents, highest priority first: optionally in one state (`open`, `acknowledged`,
    /// `resolved`) and touching one asset (id or name: the root cause, an affected node or GPU,
    /// or an alert's asset).
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        state: Option<String>,
        asset: Option<String>,
        #[graphql(default = 50)] first: i64,
    ) -> async_graphql::Result<Vec<Incident>> {
        let c = caller(ctx);
        let state = match state {
            Some(s) => Some(IncidentState::parse(&s).map_err(gql)?),
            None => None,
        };
        let f = IncidentFilter {
            state,
            asset,
            since: None,
            limit: Some(first.clamp(1, 1000) as usize),
        };
        let list =
            c.st.core
                .list_incidents(&c.principal, &f)
                .await
                .map_err(gql)?;
        Ok(list.into_iter().map(Incident).collect())
    }

    /// An incident by id (an id it was merged away from answers with the one it went into).
    async fn incident(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Incident>> {
        let c = caller(ctx);
        match c.st.core.get_incident(&c.principal, &id).await {
            Ok(i) => Ok(Some(Incident(i))),
            Err(CoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }

    /// A job by id.
    async fn job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Job>> {
        let c = caller(ctx);
        match c.st.core.job(&c.principal, &id).await {
            Ok(j) => Ok(Some(j.into())),
            Err(CoreError::Store(fleet_db::DbError::NotFound(_))) => Ok(None),
            Err(e) => Err(gql(e)),
        }
    }
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Creates an asset (configuration version 1).
    async fn create_asset(
        &self,
        ctx: &Context<'_>,
        kind: String,
        name: String,
        parent_id: Option<String>,
        config: Option<Json<Value>>,
        reason: Option<String>,
    ) -> async_graphql::Result<Asset> {
        let c = caller(ctx);
        let a =
            c.st.core
                .create_asset(
                    &c.principal,
                    fleet_db::NewAsset {
                        kind: kind
                            .parse()
                            .map_err(|e: String| gql(CoreError::Invalid(e)))?,
                        name,
                        parent_id,
                        labels: Default::default(),
                        config: config.map(|j| j.0).unwrap_or_else(|| serde_json::json!({})),
                        profile_id: None,
                        reason,
                    },
                )
                .await
                .map_err(gql)?;
        Ok(Asset(a))
    }

    /// Replaces an asset's configuration as a new version; with `ifVersion`, only if that is
    /// still the current version (else `STALE_VERSION`).
    async fn put_config(
        &self,
        ctx: &Context<'_>,
        id: ID,
        config: Json<Value>,
        if_version: Option<i64>,
        reason: Option<String>,
    ) -> async_graphql::Result<Asset> {
        let c = caller(ctx);
        let a =
            c.st.core
                .put_config(&c.principal, &id, if_version, config.0, reason)
                .await
                .map_err(gql)?;
        Ok(Asset(a))
    }

    /// Moves a node (id or name) through its lifecycle.
    async fn transition(
        &self,
        ctx: &Context<'_>,
        id: String,
        to: String,
        reason: Option<String>,
    ) -> async_graphql::Result<Asset> {
        let c = caller(ctx);
        let to = to
            .parse()
            .map_err(|e: fleet_model::lifecycle::UnknownState| {
                gql(CoreError::Invalid(e.to_string()))
            })?;
        let (a, _) =
            c.st.core
                .transition(&c.principal, &id, to, reason)
                .await
                .map_err(gql)?;
        Ok(Asset(a))
    }

    /// Queues an out-of-band operation on a node: `group` is power, boot, media, read, sel,
    /// bmc (a BMC reset), bios, raid or firmware, with the parameters of its REST route.
    async fn submit_operation(
        &self,
        ctx: &Context<'_>,
        node: String,
        group: String,
        params: Option<Json<Value>>,
        driver: Option<String>,
        deadline_s: Option<u64>,
    ) -> async_graphql::Result<Job> {
        let c = caller(ctx);
        let params: std::collections::BTreeMap<String, Value> =
            serde_json::from_value(params.map(|p| p.0).unwrap_or_else(|| serde_json::json!({})))
                .map_err(|e| gql(CoreError::Invalid(format!("params must be an object: {e}"))))?;
        let spec = OpSpec {
            operation: Operation::from_request(&group, &params).map_err(gql)?,
            driver,
            deadline_s,
        };
        Ok(c.st
            .core
            .submit(&c.principal, &node, spec)
            .await
            .map_err(gql)?
            .into())
    }

    /// Cancels a queued or running job.
    async fn cancel_job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        let c = caller(ctx);
        Ok(c.st
            .core
            .cancel(&c.principal, &id)
            .await
            .map_err(gql)?
            .into())
    }

    /// Acknowledges an incident (someone is on it; escalation stops). Twice changes nothing.
    async fn acknowledge_incident(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<Incident> {
        let c = caller(ctx);
        incident(
            c.st.core
                .acknowledge_incident(&c.principal, &id, note)
                .await,
        )
    }

    /// Resolves an incident by hand; a member alert firing again reopens it.
    async fn resolve_incident(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<Incident> {
        let c = caller(ctx);
        incident(c.st.core.resolve_incident(&c.principal, &id, note).await)
    }

    /// Merges incidents into `into` by hand: their alerts (and alerts that would have opened
    /// them later) join it; the merged ids then name it. Audited; kept across restarts.
    async fn merge_incidents(
        &self,
        ctx: &Context<'_>,
        into: ID,
        incidents: Vec<ID>,
        note: Option<String>,
    ) -> async_graphql::Result<Incident> {
        let c = caller(ctx);
        let from: Vec<String> = incidents.into_iter().map(|i| i.0).collect();
        incident(
            c.st.core
                .merge_incidents(&c.principal, &into, &from, note)
                .await,
        )
    }

    /// Splits alerts (by fingerprint) off an incident into a new one, rooted at `rootAsset`
    /// (an asset id or name) when given, else at the earliest alert's own asset. Returns the
    /// new incident. Audited; kept across restarts.
    async fn split_incident(
        &self,
        ctx: &Context<'_>,
        id: ID,
        alerts: Vec<String>,
        root_asset: Option<String>,
        note: Option<String>,
    ) -> async_graphql::Result<Incident> {
        let c = caller(ctx);
        incident(
            c.st.core
                .split_incident(&c.principal, &id, &alerts, root_asset.as_deref(), note)
                .await,
        )
    }
}

fn incident(r: fleet_core::CoreResult<IncidentView>) -> async_graphql::Result<Incident> {
    r.map(Incident).map_err(gql)
}

/// An incident: alerts of one physical fault, with the asset that failed. Its changes are
/// `io.gpufleet.incident.*` events on the `events` subscription.
pub struct Incident(pub IncidentView);

#[Object]
impl Incident {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// `open`, `acknowledged` or `resolved`.
    async fn state(&self) -> &str {
        self.0.state.as_str()
    }
    /// Severity weight × (1 + blast radius) × age factor; lists are sorted by it.
    async fn priority(&self) -> f64 {
        self.0.priority
    }
    /// `info`, `warning` or `critical`: the highest member severity.
    async fn severity(&self) -> &str {
        &self.0.severity
    }
    /// The causal rule that grouped the alerts (none for a lone alert).
    async fn rule(&self) -> Option<&str> {
        self.0.rule.as_deref()
    }
    async fn root_cause(&self) -> RootCause {
        RootCause(self.0.root_cause.clone())
    }
    /// Affected GPU and node ids, and jobs.
    async fn affected_gpus(&self) -> &[String] {
        &self.0.affected.gpus
    }
    async fn affected_nodes(&self) -> &[String] {
        &self.0.affected.nodes
    }
    async fn affected_jobs(&self) -> &[String] {
        &self.0.affected.jobs
    }
    /// Affected GPUs plus affected in-service nodes.
    async fn blast_radius(&self) -> u32 {
        self.0.blast_radius
    }
    async fn alert_count(&self) -> usize {
        self.0.alert_count
    }
    async fn alerts_firing(&self) -> usize {
        self.0.alerts_firing
    }
    /// Suggested actions (`facilities_power`, `check_cabling`, `drain_and_diagnose`, ...).
    async fn actions(&self) -> &[String] {
        &self.0.actions
    }
    /// Earliest and latest member `startsAt` (RFC 3339).
    async fn started_at(&self) -> &str {
        &self.0.started_at
    }
    async fn last_alert_at(&self) -> &str {
        &self.0.last_alert_at
    }
    async fn opened_at(&self) -> &str {
        &self.0.opened_at
    }
    async fn updated_at(&self) -> &str {
        &self.0.updated_at
    }
    async fn acknowledged_by(&self) -> Option<&str> {
        self.0.acknowledged_by.as_deref()
    }
    async fn resolved_by(&self) -> Option<&str> {
        self.0.resolved_by.as_deref()
    }
    /// The member alerts, each with its full label set as received.
    async fn alerts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<IncidentAlert>> {
        let list = match &self.0.alerts {
            Some(a) => a.clone(),
            None => self.detail(ctx).await?.alerts.unwrap_or_default(),
        };
        Ok(list.into_iter().map(IncidentAlert::from).collect())
    }
    /// What happened to it, oldest first.
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TimelineLine>> {
        let list = match &self.0.timeline {
            Some(t) => t.clone(),
            None => self.detail(ctx).await?.timeline.unwrap_or_default(),
        };
        Ok(list
            .into_iter()
            .map(|t| TimelineLine {
                at: t.at,
                event: t.event,
                by: t.by,
                detail: t.detail,
            })
            .collect())
    }
}

impl Incident {
    /// The detail (alerts and timeline), for an incident that came from a list.
    async fn detail(&self, ctx: &Context<'_>) -> async_graphql::Result<IncidentView> {
        let c = caller(ctx);
        c.st.core
            .get_incident(&c.principal, &self.0.id)
            .await
            .map_err(gql)
    }
}

/// The asset that failed, and why.
pub struct RootCause(fleet_core::correlation::RootCauseView);

#[Object]
impl RootCause {
    /// The CMDB asset (none only for a lone alert no asset matched).
    async fn asset(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Asset>> {
        let Some(id) = &self.0.asset_id else {
            return Ok(None);
        };
        // Switch ports are graph-only assets (`<switch>/port/<n>`): no CMDB row.
        Ok(ctx
            .data_unchecked::<DataLoader<AssetsById>>()
            .load_one(id.clone())
            .await
            .map_err(|e| (*e).clone())?
            .map(Asset))
    }
    async fn asset_id(&self) -> Option<&str> {
        self.0.asset_id.as_deref()
    }
    async fn asset_name(&self) -> Option<&str> {
        self.0.asset_name.as_deref()
    }
    /// Asset kind (`pdu`, `outlet`, `switch`, `switch_port`, `node`, `gpu`, ...).
    async fn kind(&self) -> Option<&str> {
        self.0.kind.as_deref()
    }
    /// `power_feed_lost`, `switch_failed`, `gpu_fallen_off_bus`, ... or a lone alert's kind.
    async fn fault(&self) -> &str {
        &self.0.fault
    }
    /// `announced`, `pattern`, `inferred`, `alone`, or `manual` (alerts split off by hand).
    async fn belief(&self) -> &str {
        &self.0.belief
    }
    async fn confidence(&self) -> f64 {
        self.0.confidence
    }
    /// What led there.
    async fn evidence(&self) -> Vec<Evidence> {
        self.0
            .evidence
            .iter()
            .map(|e| Evidence {
                code: e.code.clone(),
                detail: e.detail.clone(),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct Evidence {
    /// `announced`, `pattern`, `inferred`, `explained`, `xid`, `alone`.
    pub code: String,
    pub detail: String,
}

#[derive(SimpleObject)]
pub struct TimelineLine {
    pub at: String,
    /// `opened`, `alerts_added`, `root_cause_changed`, `merged`, `split`, `note`,
    /// `acknowledged`, `resolved`, `reopened`, `escalated`, `remediation`, `remediation_waits`.
    pub event: String,
    pub by: String,
    pub detail: String,
}

/// An alert as held, with its full label set as received.
#[derive(SimpleObject)]
pub struct IncidentAlert {
    pub fingerprint: String,
    pub labels: Json<Value>,
    pub annotations: Json<Value>,
    pub starts_at: String,
    pub ends_at: Option<String>,
    /// `firing` or `resolved`.
    pub status: String,
    /// The CMDB asset its labels resolved to.
    pub asset_id: Option<String>,
    /// The kind the correlation derived (`node_down`, `xid:79`, ...).
    pub kind: String,
}

impl From<fleet_core::correlation::AlertView> for IncidentAlert {
    fn from(a: fleet_core::correlation::AlertView) -> Self {
        IncidentAlert {
            fingerprint: a.fingerprint,
            labels: Json(serde_json::to_value(a.labels).unwrap_or_default()),
            annotations: Json(serde_json::to_value(a.annotations).unwrap_or_default()),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            status: a.status,
            asset_id: a.asset_id,
            kind: a.kind,
        }
    }
}

/// A published event (a CloudEvent of docs/EVENTS.md) with its feed sequence.
#[derive(SimpleObject)]
pub struct Event {
    /// Position in the feed; pass it as `afterSequence` to resume after this event.
    pub sequence: i64,
    pub id: ID,
    /// CloudEvents type, e.g. `io.gpufleet.asset.updated.v1`.
    #[graphql(name = "type")]
    pub ty: String,
    /// The asset or job the event is about.
    pub subject: String,
    pub time: String,
    /// The whole CloudEvent.
    pub cloudevent: Json<Value>,
}

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Published events after `afterSequence` (or, without it, from now on), then new ones as
    /// any gpufleet process publishes them; optionally only some types or one subject.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after_sequence: Option<i64>,
        types: Option<Vec<String>>,
        subject: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Event>>> {
        let c = caller(ctx);
        let rows =
            c.st.core
                .watch_events(
                    &c.principal,
                    fleet_core::feed::Watch {
                        after_sequence,
                        types: types.unwrap_or_default(),
                        subject,
                    },
                    c.st.events.subscribe(),
                    c.st.streams_done.clone(),
                )
                .await
                .map_err(gql)?;
        Ok(
            tokio_stream::wrappers::ReceiverStream::new(rows).map(|row| {
                let row = row.map_err(gql)?;
                Ok(Event {
                    sequence: row.seq,
                    id: ID(row.event_id),
                    ty: row.ty,
                    subject: row.subject,
                    time: rfc3339(row.created_at),
                    cloudevent: Json(serde_json::from_str(&row.payload).unwrap_or_default()),
                })
            }),
        )
    }
}

/// Executes one GraphQL request for `principal`.
pub async fn execute(
    st: &AppState,
    principal: Principal,
    req: async_graphql::Request,
) -> async_graphql::Response {
    let (caller, by_id, children) = request_data(st, principal);
    st.graphql
        .execute(req.data(caller).data(by_id).data(children))
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_schema_graphql_is_the_served_schema() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema.graphql");
        let want = super::schema().sdl();
        assert!(
            want.contains("type Asset") && want.contains("putConfig"),
            "{want}"
        );
        if std::env::var("GPUFLEET_UPDATE_DOCS").as_deref() == Ok("1") {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/schema.graphql differs from the served schema; run GPUFLEET_UPDATE_DOCS=1 cargo test -p fleet-server --lib graphql"
        );
    }
}
