//! The incremental correlation engine.
//!
//! For every alert the engine finds the *hypotheses* that could explain it: (rule, root asset)
//! pairs reached by walking each rule's relation paths backwards from the alert's asset (for an
//! NCCL timeout, from each rank's node). A hypothesis is *believed* when its root announced the
//! fault (a trigger alert), when its pattern was seen (the ECC chain), or when it is inferred
//! (every asset of its population dark within a short window), in *episodes*: beliefs more than
//! a window apart are separate faults. Each alert then belongs to the best believed episode whose
//! time window (around its anchor, in event time) holds the alert's `startsAt` — lowest rule
//! priority first, then announced before pattern before inferred, then rule order, then root id,
//! then anchor — or, when none does, to an incident of its own.
//!
//! Everything is kept in ordered maps and decided by event time and ids only, so the incidents
//! are a function of the set of alerts: the same alerts give the same incidents whatever their
//! arrival order or speed. A new alert re-examines only the alerts of the hypotheses whose
//! belief it changed.

use std::collections::{BTreeMap, BTreeSet};

use crate::action::Action;
use crate::alert::{Alert, AlertKind, KindPattern, Millis, Severity};
use crate::error::CorrelateError;
use crate::graph::{AssetId, AssetKind, Graph};
use crate::incident::{
    age_factor, Affected, Belief, Evidence, Incident, IncidentChange, IncidentId, Overrides,
    RootCause, SplitGroup,
};
use crate::rules::{Rule, RuleSet};
use crate::xid::XidCatalog;

/// A hypothesis: (rule index, root asset id).
type HypKey = (usize, AssetId);

/// Why an alert is a candidate of a hypothesis.
#[derive(Debug, Default, Clone)]
struct Role {
    trigger: bool,
    step: Option<usize>,
    /// The population member an inference hit counts for.
    hit: Option<AssetId>,
    /// The alert confirms the rule's inference (`infer.confirm`).
    confirm: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Episode {
    belief: Belief,
    anchor: Millis,
    confidence: f64,
    note: String,
}

#[derive(Debug)]
struct Hyp {
    cands: BTreeSet<String>,
    triggers: BTreeSet<(Millis, String)>,
    /// (startsAt, sequence step, kind name, fingerprint).
    seq: BTreeSet<(Millis, usize, String, String)>,
    /// (startsAt, population member, fingerprint) of inference hits.
    hits: BTreeSet<(Millis, AssetId, String)>,
    /// (startsAt, fingerprint) of alerts confirming an inference.
    confirms: BTreeSet<(Millis, String)>,
    population: usize,
    /// The root can speak (an asset at `infer.confirm.path` is monitored): an inference is
    /// believed only with a confirmation.
    needs_confirm: bool,
    /// The episodes in which it is believed, by anchor.
    episodes: Vec<Episode>,
}

/// What one alert contributes to its incident.
#[derive(Debug, Clone, Default)]
struct Contrib {
    gpus: Vec<AssetId>,
    nodes: Vec<AssetId>,
    job: Option<String>,
    kind: String,
}

#[derive(Debug)]
struct Entry {
    alert: Alert,
    cands: Vec<HypKey>,
    contrib: Contrib,
    owner: Option<IncidentId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    /// A believed fault: the hypothesis and the anchor of its episode.
    Hyp(HypKey, Millis),
    Alone(String),
    /// Alerts an operator split off (the group's id).
    Split(IncidentId),
}

#[derive(Debug)]
struct Inc {
    owner: Owner,
    members: BTreeSet<String>,
    starts: BTreeSet<(Millis, String)>,
    gpus: BTreeMap<AssetId, u32>,
    nodes: BTreeMap<AssetId, u32>,
    jobs: BTreeMap<String, u32>,
    kinds: BTreeMap<String, u32>,
    severities: [u32; 3],
}

fn bump<K: Ord + Clone>(map: &mut BTreeMap<K, u32>, k: &K, add: bool) {
    if add {
        *map.entry(k.clone()).or_insert(0) += 1;
    } else if let Some(n) = map.get_mut(k) {
        *n -= 1;
        if *n == 0 {
            map.remove(k);
        }
    }
}

fn sev_index(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Critical => 2,
    }
}

impl Inc {
    fn new(owner: Owner) -> Self {
        Inc {
            owner,
            members: BTreeSet::new(),
            starts: BTreeSet::new(),
            gpus: BTreeMap::new(),
            nodes: BTreeMap::new(),
            jobs: BTreeMap::new(),
            kinds: BTreeMap::new(),
            severities: [0; 3],
        }
    }

    fn apply(&mut self, e: &Entry, add: bool) {
        let fp = &e.alert.fingerprint;
        if add {
            self.members.insert(fp.clone());
            self.starts.insert((e.alert.starts_at, fp.clone()));
            self.severities[sev_index(e.alert.severity)] += 1;
        } else {
            self.members.remove(fp);
            self.starts.remove(&(e.alert.starts_at, fp.clone()));
            self.severities[sev_index(e.alert.severity)] -= 1;
        }
        for g in &e.contrib.gpus {
            bump(&mut self.gpus, g, add);
        }
        for n in &e.contrib.nodes {
            bump(&mut self.nodes, n, add);
        }
        if let Some(j) = &e.contrib.job {
            bump(&mut self.jobs, j, add);
        }
        bump(&mut self.kinds, &e.contrib.kind, add);
    }

    fn severity(&self) -> Severity {
        if self.severities[2] > 0 {
            Severity::Critical
        } else if self.severities[1] > 0 {
            Severity::Warning
        } else {
            Severity::Info
        }
    }
}

/// Incidents touched by one step, for the change list.
#[derive(Default)]
struct Touched {
    ids: BTreeSet<IncidentId>,
    created: BTreeSet<IncidentId>,
    /// old incident → (new incident → alerts moved there).
    moved: BTreeMap<IncidentId, BTreeMap<IncidentId, u32>>,
}

/// Does a kind name (`xid:79`, `node_down`) match a rule's kind pattern?
fn name_matches(p: &KindPattern, name: &str) -> bool {
    match p {
        KindPattern::Simple(s) => s == name,
        KindPattern::Xid(c) => {
            name.strip_prefix("xid:")
                .and_then(|n| n.parse::<u32>().ok())
                == Some(*c)
        }
        KindPattern::AnyXid => name.starts_with("xid:"),
        KindPattern::Other(n) => name.strip_prefix("other:") == Some(n.as_str()),
    }
}

fn push_unique(v: &mut Vec<Action>, add: impl IntoIterator<Item = Action>) {
    for a in add {
        if !v.contains(&a) {
            v.push(a);
        }
    }
}

/// The actions for an alert no rule explains.
fn lone_actions(kind: &str, xids: &XidCatalog) -> Vec<Action> {
    if let Some(code) = kind
        .strip_prefix("xid:")
        .and_then(|c| c.parse::<u32>().ok())
    {
        return xids
            .get(code)
            .map(|x| x.actions())
            .unwrap_or_else(|| vec![Action::DrainAndDiagnose]);
    }
    match kind {
        "node_down" => vec![Action::DrainAndDiagnose, Action::RebootNode],
        "bmc_unreachable" => vec![Action::CheckCabling],
        "nic_link_down" | "switch_port_down" => vec![Action::CheckCabling],
        "switch_down" => vec![Action::CheckCabling, Action::DrainAndDiagnose],
        "ecc_sbe" | "throttle" | "gpu_thermal" | "telemetry_missing" => vec![Action::Observe],
        "ecc_dbe" | "row_remap_pending" => vec![Action::DrainAndDiagnose, Action::ResetGpu],
        "row_remap_failed" => vec![Action::DrainAndDiagnose, Action::Rma],
        "pdu_feed_lost" | "pdu_down" => vec![Action::FacilitiesPower],
        "cdu_fault" => vec![Action::FacilitiesCooling],
        "nccl_timeout" => vec![Action::RestartApplication],
        _ => vec![Action::Observe],
    }
}

fn seconds(ms: i64) -> i64 {
    ms / 1000
}

fn kinds_text(list: &[KindPattern], sep: &str) -> String {
    list.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Splits event times into clusters: a cluster starts at its first time and holds every later
/// time up to `span` after it.
fn clusters<T>(items: &[T], time: impl Fn(&T) -> Millis, span: i64) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=items.len() {
        if i == items.len() || time(&items[i]) > time(&items[start]).saturating_add(span) {
            out.push(&items[start..i]);
            start = i;
        }
    }
    out
}

/// The longest in-order chain of distinct sequence steps in `seq` (equal times count as in
/// order): (length, first time, kind names).
fn chain(rule: &Rule, seq: &[&(Millis, usize, String, String)]) -> (usize, Millis, Vec<String>) {
    let mut best: (usize, Millis, Vec<String>) = (0, 0, Vec::new());
    for start in 0..rule.sequence.len() {
        let mut prev = Millis::MIN;
        let mut names: Vec<String> = Vec::new();
        let mut first = None;
        for step in start..rule.sequence.len() {
            if let Some((t, _, name, _)) = seq.iter().find(|(t, s, _, _)| *s == step && *t >= prev)
            {
                prev = *t;
                first.get_or_insert(*t);
                names.push(name.clone());
            }
        }
        if names.len() > best.0 {
            best = (names.len(), first.unwrap_or(0), names);
        }
    }
    best
}

/// The episodes in which the hypothesis is believed, by anchor. Each way of believing (announced,
/// pattern, inferred) gives episodes at most one window apart; an episode whose anchor falls in
/// the window of a better-believed one is the same fault and is dropped.
fn episodes_of(rule: &Rule, h: &Hyp) -> Vec<Episode> {
    let mut found: Vec<Episode> = Vec::new();
    let triggers: Vec<&(Millis, String)> = h.triggers.iter().collect();
    for c in clusters(&triggers, |t| t.0, rule.after_ms) {
        found.push(Episode {
            belief: Belief::Announced,
            anchor: c[0].0,
            confidence: rule.confidence,
            note: format!(
                "announced: {} alert(s) on the {} itself name the fault (trigger {})",
                c.len(),
                rule.root,
                kinds_text(&rule.trigger, ", ")
            ),
        });
    }
    if !rule.sequence.is_empty() {
        let seq: Vec<&(Millis, usize, String, String)> = h.seq.iter().collect();
        for c in clusters(&seq, |x| x.0, rule.after_ms) {
            let (len, first, names) = chain(rule, c);
            if len >= rule.min_steps {
                let total = rule.sequence.len();
                found.push(Episode {
                    belief: Belief::Pattern,
                    anchor: first,
                    confidence: rule.confidence * (len as f64 / total as f64).sqrt(),
                    note: format!(
                        "pattern: {} ({len} of {total} steps, in event-time order, on one {})",
                        names.join(" → "),
                        rule.root
                    ),
                });
            }
        }
    }
    if let Some(inf) = &rule.infer {
        let need = inf
            .min_count
            .max((inf.min_fraction * h.population as f64 - 1e-9).ceil() as usize);
        if h.population > 0 && need <= h.population {
            let ev: Vec<&(Millis, AssetId, String)> = h.hits.iter().collect();
            let mut i = 0;
            while i < ev.len() {
                let start = ev[i].0;
                let covered: BTreeSet<&AssetId> = ev[i..]
                    .iter()
                    .take_while(|(t, _, _)| *t <= start.saturating_add(inf.within_ms))
                    .map(|(_, m, _)| m)
                    .collect();
                if covered.len() < need {
                    i += 1;
                    continue;
                }
                // A root that can speak must have gone silent too, around the same time.
                let confirmed = inf.confirm.as_ref().and_then(|c| {
                    h.confirms
                        .iter()
                        .find(|(t, _)| {
                            *t >= start.saturating_sub(inf.within_ms)
                                && *t <= start.saturating_add(inf.within_ms)
                        })
                        .map(|_| c)
                });
                if h.needs_confirm && confirmed.is_none() {
                    i += 1;
                    continue;
                }
                let fraction = covered.len() as f64 / h.population as f64;
                let silent = match confirmed.filter(|_| h.needs_confirm) {
                    Some(c) => format!(
                        "and the {} itself stopped answering ({})",
                        rule.root,
                        kinds_text(&c.alerts, " or ")
                    ),
                    None => format!("while the {} itself raised no alert", rule.root),
                };
                found.push(Episode {
                    belief: Belief::Inferred,
                    anchor: start,
                    confidence: inf.confidence * fraction.min(1.0),
                    note: format!(
                        "inferred: {} of the {} {}s at '{}' raised {} within {} s of each other, \
                         {silent}",
                        covered.len(),
                        h.population,
                        inf.of,
                        inf.population,
                        kinds_text(&inf.alerts, " or "),
                        seconds(inf.within_ms),
                    ),
                });
                // The next episode starts after this one's window.
                while i < ev.len() && ev[i].0 <= start.saturating_add(rule.after_ms) {
                    i += 1;
                }
            }
        }
    }
    found.sort_by(|a, b| a.belief.cmp(&b.belief).then(a.anchor.cmp(&b.anchor)));
    let mut kept: Vec<Episode> = Vec::new();
    for e in found {
        if !kept.iter().any(|k| {
            e.anchor >= k.anchor.saturating_sub(rule.before_ms)
                && e.anchor <= k.anchor.saturating_add(rule.after_ms)
        }) {
            kept.push(e);
        }
    }
    kept.sort_by_key(|e| e.anchor);
    kept
}

/// The correlation engine. Feed it alerts with [`Engine::ingest`]; read incidents with
/// [`Engine::incidents`]. `now` is always passed in; the engine reads no clock.
#[derive(Debug)]
pub struct Engine {
    graph: Graph,
    rules: RuleSet,
    xids: XidCatalog,
    alerts: BTreeMap<String, Entry>,
    hyps: BTreeMap<HypKey, Hyp>,
    incidents: BTreeMap<IncidentId, Inc>,
    overrides: Overrides,
    /// Alert fingerprint → the split-off group it is pinned to (from `overrides.splits`).
    pins: BTreeMap<String, IncidentId>,
}

/// Most merge hops followed from one incident id.
const MAX_HOPS: usize = 32;

impl Engine {
    pub fn new(graph: Graph, rules: RuleSet, xids: XidCatalog) -> Self {
        Engine {
            graph,
            rules,
            xids,
            alerts: BTreeMap::new(),
            hyps: BTreeMap::new(),
            incidents: BTreeMap::new(),
            overrides: Overrides::default(),
            pins: BTreeMap::new(),
        }
    }

    /// The operators' merges and splits.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// Takes merges and splits saved earlier, before the alerts are fed (an engine rebuilt on a
    /// new graph, or in a new process, then builds the same incidents).
    pub fn set_overrides(&mut self, o: Overrides) {
        self.pins = o
            .splits
            .iter()
            .flat_map(|(id, g)| g.alerts.iter().map(move |fp| (fp.clone(), id.clone())))
            .collect();
        self.overrides = o;
        let all: Vec<String> = self.alerts.keys().cloned().collect();
        let mut touched = Touched::default();
        for fp in all {
            self.assign(&fp, &mut touched);
        }
    }

    /// Where an incident id leads after the merges (itself when not merged).
    fn redirect(&self, id: &str) -> IncidentId {
        let mut id = id.to_string();
        for _ in 0..MAX_HOPS {
            match self.overrides.merged.get(&id) {
                Some(next) => id = next.clone(),
                None => break,
            }
        }
        id
    }

    /// The owner an incident id stands for: a split-off group, a lone alert, or a rule's
    /// episode (`<rule>:<root>@<anchor>`).
    fn owner_of(&self, id: &str) -> Option<Owner> {
        if self.overrides.splits.contains_key(id) {
            return Some(Owner::Split(id.to_string()));
        }
        if let Some(fp) = id.strip_prefix("alert:") {
            return Some(Owner::Alone(fp.to_string()));
        }
        let (rule, rest) = id.split_once(':')?;
        let (root, anchor) = rest.rsplit_once('@')?;
        let ri = self.rules.rules.iter().position(|r| r.name == rule)?;
        Some(Owner::Hyp((ri, root.to_string()), anchor.parse().ok()?))
    }

    /// Merges incidents into `into`: their alerts join it, and so do alerts that would have
    /// opened them later. The merged incidents close (`merged_into`).
    pub fn merge(
        &mut self,
        into: &str,
        from: &[IncidentId],
        now: Millis,
    ) -> Result<Vec<IncidentChange>, CorrelateError> {
        if !self.incidents.contains_key(into) {
            return Err(CorrelateError::NoIncident(into.to_string()));
        }
        if from.is_empty() {
            return Err(CorrelateError::Grouping(
                "name at least one incident to merge into this one".into(),
            ));
        }
        let mut members: Vec<String> = Vec::new();
        for id in from {
            if id == into {
                return Err(CorrelateError::Grouping(format!(
                    "incident '{into}' cannot be merged into itself"
                )));
            }
            let inc = self
                .incidents
                .get(id)
                .ok_or_else(|| CorrelateError::NoIncident(id.clone()))?;
            members.extend(inc.members.iter().cloned());
        }
        for id in from {
            self.overrides.merged.insert(id.clone(), into.to_string());
        }
        let mut touched = Touched::default();
        for fp in members {
            self.assign(&fp, &mut touched);
        }
        Ok(self.changes(touched, now))
    }

    /// Splits alerts off their incident into one of their own (`split:<fingerprint of the
    /// earliest>`), whose root cause is `root` when given, else the earliest alert's asset.
    /// Returns the new incident's id.
    pub fn split(
        &mut self,
        from: &str,
        alerts: &[String],
        root: Option<AssetId>,
        by: &str,
        now: Millis,
    ) -> Result<(IncidentId, Vec<IncidentChange>), CorrelateError> {
        let inc = self
            .incidents
            .get(from)
            .ok_or_else(|| CorrelateError::NoIncident(from.to_string()))?;
        let chosen: BTreeSet<String> = alerts.iter().cloned().collect();
        if chosen.is_empty() {
            return Err(CorrelateError::Grouping(
                "name at least one alert (by fingerprint) to split off".into(),
            ));
        }
        if let Some(fp) = chosen.iter().find(|fp| !inc.members.contains(*fp)) {
            return Err(CorrelateError::Grouping(format!(
                "alert '{fp}' is not in incident '{from}'"
            )));
        }
        if chosen.len() == inc.members.len() {
            return Err(CorrelateError::Grouping(format!(
                "that is every alert of incident '{from}'; split off some and leave the rest"
            )));
        }
        if let Some(r) = &root {
            if self.graph.asset(r).is_none() {
                return Err(CorrelateError::UnknownAsset {
                    id: r.clone(),
                    context: "the split's root cause".into(),
                });
            }
        }
        let first = chosen
            .iter()
            .filter_map(|fp| self.alerts.get(fp).map(|e| (e.alert.starts_at, fp)))
            .min()
            .map(|(_, fp)| fp.clone())
            .unwrap_or_default();
        let base = format!("split:{first}");
        let mut id = base.clone();
        let mut n = 1;
        while self.overrides.splits.contains_key(&id)
            || self.overrides.merged.contains_key(&id)
            || self.incidents.contains_key(&id)
        {
            n += 1;
            id = format!("{base}.{n}");
        }
        for fp in &chosen {
            if let Some(old) = self.pins.insert(fp.clone(), id.clone()) {
                self.unpin(&old, fp);
            }
        }
        self.overrides.splits.insert(
            id.clone(),
            SplitGroup {
                alerts: chosen.clone(),
                from: from.to_string(),
                root,
                by: by.to_string(),
                at: now,
            },
        );
        let mut touched = Touched::default();
        for fp in &chosen {
            self.assign(fp, &mut touched);
        }
        Ok((id, self.changes(touched, now)))
    }

    /// Takes an alert out of a split-off group (the group goes when it is empty).
    fn unpin(&mut self, group: &str, fp: &str) {
        if let Some(g) = self.overrides.splits.get_mut(group) {
            g.alerts.remove(fp);
            if g.alerts.is_empty() {
                self.overrides.splits.remove(group);
            }
        }
    }

    /// An engine with the default rules and the built-in XID table.
    pub fn with_defaults(graph: Graph) -> Result<Self, CorrelateError> {
        Ok(Engine::new(
            graph,
            RuleSet::default_rules()?,
            XidCatalog::builtin(),
        ))
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn xids(&self) -> &XidCatalog {
        &self.xids
    }

    /// How many alerts the engine holds.
    pub fn alert_count(&self) -> usize {
        self.alerts.len()
    }

    /// The incident an alert belongs to.
    pub fn incident_of(&self, fingerprint: &str) -> Option<&str> {
        self.alerts
            .get(fingerprint)
            .and_then(|e| e.owner.as_deref())
    }

    /// Takes one alert and returns what changed. An alert whose fingerprint is known updates its
    /// `endsAt` (resolution, re-notification); its correlation does not change.
    pub fn ingest(&mut self, alert: Alert, now: Millis) -> Vec<IncidentChange> {
        let mut touched = Touched::default();
        self.ingest_inner(alert, &mut touched);
        self.changes(touched, now)
    }

    /// Takes many alerts; returns the incidents afterwards (the intermediate changes are not
    /// built).
    pub fn ingest_all(
        &mut self,
        alerts: impl IntoIterator<Item = Alert>,
        now: Millis,
    ) -> Vec<Incident> {
        for a in alerts {
            let mut touched = Touched::default();
            self.ingest_inner(a, &mut touched);
        }
        self.incidents(now)
    }

    /// All incidents, highest priority first (ties by id).
    pub fn incidents(&self, now: Millis) -> Vec<Incident> {
        let mut v: Vec<Incident> = self
            .incidents
            .iter()
            .map(|(id, inc)| self.snapshot(id, inc, now))
            .collect();
        v.sort_by(|a, b| {
            b.priority
                .total_cmp(&a.priority)
                .then_with(|| a.id.cmp(&b.id))
        });
        v
    }

    /// One incident.
    pub fn incident(&self, id: &str, now: Millis) -> Option<Incident> {
        self.incidents
            .get(id)
            .map(|inc| self.snapshot(id, inc, now))
    }

    fn ingest_inner(&mut self, alert: Alert, touched: &mut Touched) {
        if let Some(e) = self.alerts.get_mut(&alert.fingerprint) {
            if e.alert.ends_at != alert.ends_at {
                e.alert.ends_at = alert.ends_at;
                if let Some(o) = e.owner.clone() {
                    touched.ids.insert(o);
                }
            }
            return;
        }
        let rank_nodes = self.rank_nodes(&alert);
        let cands = self.candidates(&alert, &rank_nodes);
        let contrib = self.contrib(&alert, &rank_nodes);
        let fp = alert.fingerprint.clone();
        let t = alert.starts_at;
        let kind_name = contrib.kind.clone();
        self.alerts.insert(
            fp.clone(),
            Entry {
                alert,
                cands: cands.iter().map(|(k, _)| k.clone()).collect(),
                contrib,
                owner: None,
            },
        );
        let mut dirty: Vec<HypKey> = Vec::new();
        for (key, role) in cands {
            if !self.hyps.contains_key(&key) {
                let population = self.population(&key);
                let needs_confirm = self.needs_confirm(&key);
                self.hyps.insert(
                    key.clone(),
                    Hyp {
                        cands: BTreeSet::new(),
                        triggers: BTreeSet::new(),
                        seq: BTreeSet::new(),
                        hits: BTreeSet::new(),
                        confirms: BTreeSet::new(),
                        population,
                        needs_confirm,
                        episodes: Vec::new(),
                    },
                );
            }
            let rule = &self.rules.rules[key.0];
            let Some(h) = self.hyps.get_mut(&key) else {
                continue;
            };
            h.cands.insert(fp.clone());
            let mut changed = false;
            if role.trigger {
                h.triggers.insert((t, fp.clone()));
                changed = true;
            }
            if let Some(step) = role.step {
                h.seq.insert((t, step, kind_name.clone(), fp.clone()));
                changed = true;
            }
            if let Some(m) = role.hit {
                changed |= h.hits.insert((t, m, fp.clone()));
            }
            if role.confirm {
                changed |= h.confirms.insert((t, fp.clone()));
            }
            if changed {
                let eps = episodes_of(rule, h);
                if eps != h.episodes {
                    h.episodes = eps;
                    dirty.push(key);
                }
            }
        }
        let mut again: BTreeSet<String> = BTreeSet::new();
        again.insert(fp);
        for key in &dirty {
            if let Some(h) = self.hyps.get(key) {
                again.extend(h.cands.iter().cloned());
                for ep in &h.episodes {
                    let id = self.episode_id(key, ep.anchor);
                    if self.incidents.contains_key(&id) {
                        touched.ids.insert(id);
                    }
                }
            }
        }
        for a in again {
            self.assign(&a, touched);
        }
    }

    /// Forgets the alerts that ended at or before `cutoff` (event time) and the hypotheses left
    /// with no alert; the alerts whose beliefs that changes are placed again. A long-running
    /// engine calls this periodically (for example with `cutoff` an hour before `now`).
    pub fn prune(&mut self, cutoff: Millis, now: Millis) -> Vec<IncidentChange> {
        let gone: Vec<String> = self
            .alerts
            .iter()
            .filter(|(_, e)| e.alert.ends_at.is_some_and(|t| t <= cutoff))
            .map(|(k, _)| k.clone())
            .collect();
        let changes = self.remove_all(gone, now);
        // A merge whose target no longer exists has nothing left to send alerts to.
        let dead: Vec<IncidentId> = self
            .overrides
            .merged
            .keys()
            .filter(|id| !self.incidents.contains_key(&self.redirect(id)))
            .cloned()
            .collect();
        for id in dead {
            self.overrides.merged.remove(&id);
        }
        changes
    }

    /// Forgets one alert (an ended alert that fires again is a new occurrence: the caller
    /// forgets the old one and ingests the new); the alerts whose beliefs that changes are
    /// placed again.
    pub fn forget(&mut self, fingerprint: &str, now: Millis) -> Vec<IncidentChange> {
        self.remove_all(vec![fingerprint.to_string()], now)
    }

    fn remove_all(&mut self, gone: Vec<String>, now: Millis) -> Vec<IncidentChange> {
        let mut touched = Touched::default();
        let mut dirty: BTreeSet<HypKey> = BTreeSet::new();
        for fp in &gone {
            let Some(e) = self.alerts.remove(fp) else {
                continue;
            };
            if let Some(g) = self.pins.remove(fp) {
                self.unpin(&g, fp);
            }
            if let Some(id) = &e.owner {
                if let Some(inc) = self.incidents.get_mut(id) {
                    inc.apply(&e, false);
                    if inc.members.is_empty() {
                        self.incidents.remove(id);
                    }
                }
                touched.ids.insert(id.clone());
            }
            for key in &e.cands {
                if let Some(h) = self.hyps.get_mut(key) {
                    h.cands.remove(fp);
                    h.triggers.retain(|(_, f)| f != fp);
                    h.seq.retain(|(_, _, _, f)| f != fp);
                    h.hits.retain(|(_, _, f)| f != fp);
                    h.confirms.retain(|(_, f)| f != fp);
                    dirty.insert(key.clone());
                }
            }
        }
        let mut again: BTreeSet<String> = BTreeSet::new();
        for key in dirty {
            let rule = &self.rules.rules[key.0];
            let Some(h) = self.hyps.get_mut(&key) else {
                continue;
            };
            if h.cands.is_empty() {
                self.hyps.remove(&key);
                continue;
            }
            let eps = episodes_of(rule, h);
            if eps != h.episodes {
                h.episodes = eps;
                again.extend(h.cands.iter().cloned());
                let anchors: Vec<Millis> = h.episodes.iter().map(|e| e.anchor).collect();
                for a in anchors {
                    let id = self.episode_id(&key, a);
                    if self.incidents.contains_key(&id) {
                        touched.ids.insert(id);
                    }
                }
            }
        }
        for a in again {
            self.assign(&a, &mut touched);
        }
        self.changes(touched, now)
    }

    /// `<rule>:<root>@<anchor>`: the fault of one rule at one asset, starting at its anchor.
    fn episode_id(&self, key: &HypKey, anchor: Millis) -> IncidentId {
        format!("{}:{}@{}", self.rules.rules[key.0].name, key.1, anchor)
    }

    fn rank_nodes(&self, alert: &Alert) -> Vec<AssetId> {
        match &alert.kind {
            AlertKind::NcclTimeout { nodes, .. } => {
                let set: BTreeSet<AssetId> = nodes
                    .iter()
                    .filter_map(|n| self.graph.resolve(n))
                    .map(|a| a.id.clone())
                    .collect();
                set.into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    fn candidates(&self, alert: &Alert, rank_nodes: &[AssetId]) -> Vec<(HypKey, Role)> {
        let mut out: BTreeMap<HypKey, Role> = BTreeMap::new();
        let own = alert.asset.as_deref().and_then(|id| self.graph.asset(id));
        let mut subjects: Vec<&str> = Vec::new();
        if let Some(a) = own {
            subjects.push(&a.id);
        }
        subjects.extend(rank_nodes.iter().map(String::as_str));
        let kind = &alert.kind;
        for (ri, rule) in self.rules.rules.iter().enumerate() {
            if let Some(a) = own.filter(|a| a.kind == rule.root) {
                if rule.is_trigger(kind) {
                    out.entry((ri, a.id.clone())).or_default().trigger = true;
                }
                if let Some(step) = rule.sequence_step(kind) {
                    out.entry((ri, a.id.clone())).or_default().step = Some(step);
                }
            }
            for e in &rule.explains {
                if !e.alerts.iter().any(|p| p.matches(kind)) {
                    continue;
                }
                for s in &subjects {
                    for root in self.graph.follow(s, &e.back) {
                        if self.graph.asset(&root).map(|a| a.kind) == Some(rule.root) {
                            out.entry((ri, root)).or_default();
                        }
                    }
                }
            }
            if let (Some(c), Some(a)) = (rule.infer.as_ref().and_then(|i| i.confirm.as_ref()), own)
            {
                if rule.confirms_from(kind) {
                    for root in self.graph.follow(&a.id, &c.back) {
                        if self.graph.asset(&root).map(|a| a.kind) == Some(rule.root) {
                            out.entry((ri, root)).or_default().confirm = true;
                        }
                    }
                }
            }
            if let (Some(inf), Some(a)) = (&rule.infer, own) {
                if rule.infers_from(kind) {
                    if let Some(m) = self.graph.enclosing(&a.id, inf.of) {
                        for root in self.graph.follow(&m.id, &inf.back) {
                            if self.graph.asset(&root).map(|a| a.kind) == Some(rule.root) {
                                out.entry((ri, root)).or_default().hit = Some(m.id.clone());
                            }
                        }
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    fn population(&self, key: &HypKey) -> usize {
        match &self.rules.rules[key.0].infer {
            Some(inf) => self
                .graph
                .follow(&key.1, &inf.population)
                .iter()
                .filter_map(|id| self.graph.enclosing(id, inf.of))
                .map(|a| &a.id)
                .collect::<BTreeSet<_>>()
                .len(),
            None => 0,
        }
    }

    /// Whether the hypothesis' root can speak: an asset at its rule's `infer.confirm.path`
    /// is monitored.
    fn needs_confirm(&self, key: &HypKey) -> bool {
        match self.rules.rules[key.0]
            .infer
            .as_ref()
            .and_then(|i| i.confirm.as_ref())
        {
            Some(c) => self
                .graph
                .follow(&key.1, &c.path)
                .iter()
                .any(|id| self.graph.asset(id).is_some_and(|a| a.monitored)),
            None => false,
        }
    }

    fn contrib(&self, alert: &Alert, rank_nodes: &[AssetId]) -> Contrib {
        let mut c = Contrib {
            kind: alert.kind.rule_name(),
            job: alert.job().map(String::from),
            ..Contrib::default()
        };
        if let Some(a) = alert.asset.as_deref().and_then(|id| self.graph.asset(id)) {
            match a.kind {
                AssetKind::Node => {
                    c.nodes.push(a.id.clone());
                    c.gpus = self.graph.contained(&a.id, AssetKind::Gpu);
                }
                AssetKind::Gpu => {
                    c.gpus.push(a.id.clone());
                    if let Some(n) = self.graph.enclosing(&a.id, AssetKind::Node) {
                        c.nodes.push(n.id.clone());
                    }
                }
                AssetKind::Bmc | AssetKind::Nic => {
                    if let Some(n) = self.graph.enclosing(&a.id, AssetKind::Node) {
                        c.nodes.push(n.id.clone());
                    }
                }
                _ => {}
            }
        }
        for n in rank_nodes {
            if !c.nodes.contains(n) {
                c.nodes.push(n.clone());
            }
        }
        c
    }

    /// Puts one alert where it now belongs.
    fn assign(&mut self, fp: &str, touched: &mut Touched) {
        let Some(e) = self.alerts.get(fp) else { return };
        let t = e.alert.starts_at;
        let best = e
            .cands
            .iter()
            .filter_map(|k| self.hyps.get(k).map(|h| (k, h)))
            .flat_map(|(k, h)| {
                let r = &self.rules.rules[k.0];
                h.episodes
                    .iter()
                    .filter(move |ep| {
                        t >= ep.anchor.saturating_sub(r.before_ms)
                            && t <= ep.anchor.saturating_add(r.after_ms)
                    })
                    .map(move |ep| ((r.priority, ep.belief, k.0, &k.1, ep.anchor), k))
            })
            .min_by(|a, b| a.0.cmp(&b.0))
            .map(|((.., anchor), k)| (k.clone(), anchor));
        let (computed, mut owner) = match (self.pins.get(fp), best) {
            (Some(g), _) => (g.clone(), Owner::Split(g.clone())),
            (None, Some((k, anchor))) => (self.episode_id(&k, anchor), Owner::Hyp(k, anchor)),
            (None, None) => (format!("alert:{fp}"), Owner::Alone(fp.to_string())),
        };
        let new_id = self.redirect(&computed);
        if new_id != computed {
            if let Some(o) = self.owner_of(&new_id) {
                owner = o;
            }
        }
        if e.owner.as_deref() == Some(new_id.as_str()) {
            return;
        }
        let old = e.owner.clone();
        if let Some(old_id) = &old {
            if let (Some(inc), Some(e)) = (self.incidents.get_mut(old_id), self.alerts.get(fp)) {
                inc.apply(e, false);
                if inc.members.is_empty() {
                    self.incidents.remove(old_id);
                }
            }
            touched.ids.insert(old_id.clone());
            *touched
                .moved
                .entry(old_id.clone())
                .or_default()
                .entry(new_id.clone())
                .or_insert(0) += 1;
        }
        if !self.incidents.contains_key(&new_id) {
            self.incidents.insert(new_id.clone(), Inc::new(owner));
            touched.created.insert(new_id.clone());
        }
        if let (Some(inc), Some(e)) = (self.incidents.get_mut(&new_id), self.alerts.get_mut(fp)) {
            inc.apply(e, true);
            e.owner = Some(new_id.clone());
        }
        touched.ids.insert(new_id);
    }

    fn changes(&self, touched: Touched, now: Millis) -> Vec<IncidentChange> {
        let mut open = Vec::new();
        let mut closed = Vec::new();
        for id in &touched.ids {
            match self.incidents.get(id) {
                Some(inc) => {
                    let incident = Box::new(self.snapshot(id, inc, now));
                    if touched.created.contains(id) {
                        open.push(IncidentChange::Opened { incident });
                    } else {
                        open.push(IncidentChange::Updated { incident });
                    }
                }
                None if touched.created.contains(id) => {}
                None => {
                    let merged_into = touched.moved.get(id).and_then(|m| {
                        m.iter()
                            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                            .map(|(k, _)| k.clone())
                    });
                    closed.push(IncidentChange::Closed {
                        id: id.clone(),
                        merged_into,
                    });
                }
            }
        }
        open.extend(closed);
        open
    }

    fn xid_evidence(&self, inc: &Inc) -> Vec<Evidence> {
        inc.kinds
            .keys()
            .filter_map(|k| k.strip_prefix("xid:").and_then(|c| c.parse::<u32>().ok()))
            .map(|code| match self.xids.get(code) {
                Some(x) => Evidence {
                    code: "xid",
                    detail: format!(
                        "XID {code} {} ({}): resolution bucket {}{}",
                        x.mnemonic,
                        x.description.lines().next().unwrap_or(""),
                        x.bucket,
                        match x.fatal {
                            Some(true) => ", fatal",
                            Some(false) => ", not fatal",
                            None => "",
                        }
                    ),
                },
                None => Evidence {
                    code: "xid",
                    detail: format!("XID {code}: not in the XID catalog loaded"),
                },
            })
            .collect()
    }

    fn snapshot(&self, id: &str, inc: &Inc, now: Millis) -> Incident {
        let started_at = inc.starts.first().map(|s| s.0).unwrap_or(now);
        let last_alert_at = inc.starts.last().map(|s| s.0).unwrap_or(now);
        let in_service_nodes = inc
            .nodes
            .keys()
            .filter(|n| self.graph.asset(n).is_none_or(|a| a.in_service))
            .count();
        let blast_radius = (inc.gpus.len() + in_service_nodes) as u32;
        let severity = inc.severity();
        let priority =
            severity.weight() * (1.0 + blast_radius as f64) * age_factor(started_at, now);
        let kinds_text = inc
            .kinds
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let (rule_name, root_cause, actions) = match &inc.owner {
            Owner::Hyp(key, anchor) => {
                let rule = &self.rules.rules[key.0];
                let asset = self.graph.asset(&key.1);
                let episode = self
                    .hyps
                    .get(key)
                    .and_then(|h| h.episodes.iter().find(|e| e.anchor == *anchor).cloned());
                let (belief, confidence, note) = match episode {
                    Some(s) => (s.belief, s.confidence, s.note),
                    None => (Belief::Inferred, 0.0, String::new()),
                };
                let mut evidence = vec![Evidence {
                    code: match belief {
                        Belief::Announced => "announced",
                        Belief::Pattern => "pattern",
                        Belief::Inferred => "inferred",
                        Belief::Alone => "alone",
                        Belief::Manual => "manual",
                    },
                    detail: note,
                }];
                evidence.push(Evidence {
                    code: "explained",
                    detail: format!(
                        "rule {} explains {} alert(s) on {} node(s) and {} GPU(s): {}",
                        rule.name,
                        inc.members.len(),
                        inc.nodes.len(),
                        inc.gpus.len(),
                        kinds_text
                    ),
                });
                evidence.extend(self.xid_evidence(inc));
                let mut actions = rule.actions.clone();
                if rule.xid_actions {
                    for k in inc.kinds.keys() {
                        if rule.trigger.iter().any(|p| name_matches(p, k)) {
                            if let Some(x) = k
                                .strip_prefix("xid:")
                                .and_then(|c| c.parse::<u32>().ok())
                                .and_then(|c| self.xids.get(c))
                            {
                                push_unique(&mut actions, x.actions());
                            }
                        }
                    }
                }
                for (when, acts) in &rule.escalate {
                    if inc
                        .kinds
                        .keys()
                        .any(|k| when.iter().any(|p| name_matches(p, k)))
                    {
                        push_unique(&mut actions, acts.iter().copied());
                    }
                }
                (
                    Some(rule.name.clone()),
                    RootCause {
                        asset_id: Some(key.1.clone()),
                        asset_name: asset.map(|a| a.name.clone()),
                        kind: Some(rule.root),
                        fault: rule.fault.clone(),
                        belief,
                        confidence,
                        evidence,
                    },
                    actions,
                )
            }
            Owner::Split(g) => {
                let group = self.overrides.splits.get(g);
                let first = inc.starts.first().and_then(|(_, fp)| self.alerts.get(fp));
                let kind = first.map(|e| e.contrib.kind.clone()).unwrap_or_default();
                let named = group.and_then(|g| g.root.clone());
                let given = named
                    .clone()
                    .or_else(|| first.and_then(|e| e.alert.asset.clone()));
                let asset = given.as_deref().and_then(|id| self.graph.asset(id));
                let mut evidence = vec![Evidence {
                    code: "manual",
                    detail: match group {
                        Some(g) => format!(
                            "{} alert(s) split off incident {} by {}; the root cause is {}",
                            g.alerts.len(),
                            g.from,
                            g.by,
                            if named.is_some() {
                                "the asset they named"
                            } else {
                                "the earliest alert's own asset"
                            }
                        ),
                        None => "alerts split off by hand".to_string(),
                    },
                }];
                evidence.extend(self.xid_evidence(inc));
                (
                    None,
                    RootCause {
                        asset_id: given.clone(),
                        asset_name: asset.map(|a| a.name.clone()),
                        kind: asset.map(|a| a.kind),
                        fault: kind.clone(),
                        belief: Belief::Manual,
                        confidence: match (named.is_some(), asset.is_some()) {
                            (true, _) => 1.0,
                            (false, true) => 0.5,
                            (false, false) => 0.2,
                        },
                        evidence,
                    },
                    lone_actions(&kind, &self.xids),
                )
            }
            Owner::Alone(fp) => {
                let e = self.alerts.get(fp);
                let given = e.and_then(|e| e.alert.asset.clone());
                let asset = given.as_deref().and_then(|id| self.graph.asset(id));
                let kind = e.map(|e| e.contrib.kind.clone()).unwrap_or_default();
                let mut evidence = vec![Evidence {
                    code: "alone",
                    detail: match (asset, &given) {
                        (Some(a), _) => format!(
                            "no believed fault explains this {kind} alert at this time; the {} it names is its own root cause",
                            a.kind
                        ),
                        (None, Some(id)) => format!(
                            "no believed fault explains this {kind} alert; its asset {id} is not in the graph"
                        ),
                        (None, None) => format!(
                            "no believed fault explains this {kind} alert, and its labels name no known asset"
                        ),
                    },
                }];
                evidence.extend(self.xid_evidence(inc));
                (
                    None,
                    RootCause {
                        asset_id: given.clone(),
                        asset_name: asset.map(|a| a.name.clone()),
                        kind: asset.map(|a| a.kind),
                        fault: kind.clone(),
                        belief: Belief::Alone,
                        confidence: match (asset, &given) {
                            (Some(_), _) => 0.5,
                            (None, Some(_)) => 0.3,
                            (None, None) => 0.2,
                        },
                        evidence,
                    },
                    lone_actions(&kind, &self.xids),
                )
            }
        };
        Incident {
            id: id.to_string(),
            rule: rule_name,
            root_cause,
            members: inc.members.iter().cloned().collect(),
            affected: Affected {
                gpus: inc.gpus.keys().cloned().collect(),
                nodes: inc.nodes.keys().cloned().collect(),
                jobs: inc.jobs.keys().cloned().collect(),
            },
            severity,
            started_at,
            last_alert_at,
            resolved: inc.members.iter().all(|m| {
                self.alerts
                    .get(m)
                    .and_then(|e| e.alert.ends_at)
                    .is_some_and(|end| end <= now)
            }),
            blast_radius,
            priority,
            actions,
        }
    }
}

/// Correlates a batch of alerts in one go: sorted by (`startsAt`, fingerprint) first, so the
/// result does not depend on the order they are given in.
pub fn correlate(
    graph: Graph,
    rules: RuleSet,
    xids: XidCatalog,
    mut alerts: Vec<Alert>,
    now: Millis,
) -> Vec<Incident> {
    alerts.sort_by(|a, b| {
        a.starts_at
            .cmp(&b.starts_at)
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    let mut engine = Engine::new(graph, rules, xids);
    engine.ingest_all(alerts, now)
}
