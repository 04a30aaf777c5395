//! The physical graph the engine reasons over: assets and directed, typed edges.
//!
//! Edge directions (the rule paths depend on them):
//! - `contains`: parent → child (rack → pdu, pdu → outlet, rack → node, node → gpu/bmc/nic,
//!   switch → switch_port, rack → switch);
//! - `powered_by`: consumer → supplier (node → outlet, or node → pdu);
//! - `connected_to`: node or nic → switch_port;
//! - `cooled_by`: rack (or node) → cdu;
//! - `nvlink`: gpu ↔ gpu, stored in both directions;
//! - `manages`: bmc → node.
//!
//! The kinds follow `fleet-model`'s names (`outlet`, `nic`, …) and add the two the correlation
//! needs that the CMDB does not have yet (`cdu`, `switch_port`); this crate keeps its own small
//! types so that it stays free of the CMDB's storage concerns.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CorrelateError;

/// An asset id as the CMDB gives it (a UUID in text, or any stable string).
pub type AssetId = String;

/// The kinds of asset the correlation knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Rack,
    Pdu,
    /// A PDU outlet or feed (`pdu_outlet` and `feed` are accepted as names).
    #[serde(alias = "pdu_outlet", alias = "feed")]
    Outlet,
    /// A cooling distribution unit serving one or more racks.
    Cdu,
    Switch,
    SwitchPort,
    Node,
    Bmc,
    Gpu,
    Nic,
}

impl AssetKind {
    pub const ALL: [AssetKind; 10] = [
        AssetKind::Rack,
        AssetKind::Pdu,
        AssetKind::Outlet,
        AssetKind::Cdu,
        AssetKind::Switch,
        AssetKind::SwitchPort,
        AssetKind::Node,
        AssetKind::Bmc,
        AssetKind::Gpu,
        AssetKind::Nic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Rack => "rack",
            AssetKind::Pdu => "pdu",
            AssetKind::Outlet => "outlet",
            AssetKind::Cdu => "cdu",
            AssetKind::Switch => "switch",
            AssetKind::SwitchPort => "switch_port",
            AssetKind::Node => "node",
            AssetKind::Bmc => "bmc",
            AssetKind::Gpu => "gpu",
            AssetKind::Nic => "nic",
        }
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssetKind {
    type Err = CorrelateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pdu_outlet" | "feed" => return Ok(AssetKind::Outlet),
            "cooling_unit" => return Ok(AssetKind::Cdu),
            _ => {}
        }
        AssetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| CorrelateError::UnknownName {
                what: "asset kind",
                name: s.to_string(),
                expected: AssetKind::ALL.iter().map(|k| k.as_str()).collect(),
            })
    }
}

/// The relations between assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Contains,
    PoweredBy,
    ConnectedTo,
    CooledBy,
    Nvlink,
    Manages,
}

impl Relation {
    pub const ALL: [Relation; 6] = [
        Relation::Contains,
        Relation::PoweredBy,
        Relation::ConnectedTo,
        Relation::CooledBy,
        Relation::Nvlink,
        Relation::Manages,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Contains => "contains",
            Relation::PoweredBy => "powered_by",
            Relation::ConnectedTo => "connected_to",
            Relation::CooledBy => "cooled_by",
            Relation::Nvlink => "nvlink",
            Relation::Manages => "manages",
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Relation {
    type Err = CorrelateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Relation::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| CorrelateError::UnknownName {
                what: "relation",
                name: s.to_string(),
                expected: Relation::ALL.iter().map(|r| r.as_str()).collect(),
            })
    }
}

/// One asset of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: AssetId,
    pub name: String,
    pub kind: AssetKind,
    /// Whether the asset is in service (for nodes: lifecycle `in_service`); only in-service
    /// nodes count towards an incident's blast radius.
    #[serde(default = "yes")]
    pub in_service: bool,
    /// Whether gpufleet watches the asset itself (a PDU it polls, a switch it streams), so that
    /// the asset going silent is an alert of its own. An inference with `confirm` needs that
    /// alert from a monitored root (see [`crate::rules::Confirm`]).
    #[serde(default)]
    pub monitored: bool,
}

fn yes() -> bool {
    true
}

/// One directed edge `from --relation--> to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Edge {
    pub from: AssetId,
    pub relation: Relation,
    pub to: AssetId,
}

/// The physical graph: assets by id, edges indexed both ways.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    assets: BTreeMap<AssetId, Asset>,
    by_name: BTreeMap<String, AssetId>,
    out: BTreeMap<AssetId, Vec<(Relation, AssetId)>>,
    inc: BTreeMap<AssetId, Vec<(Relation, AssetId)>>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an asset.
    pub fn add_asset(&mut self, asset: Asset) {
        self.by_name.insert(asset.name.clone(), asset.id.clone());
        self.assets.insert(asset.id.clone(), asset);
    }

    /// Shorthand for an in-service asset whose name is its id.
    pub fn add(&mut self, id: &str, kind: AssetKind) {
        self.add_asset(Asset {
            id: id.to_string(),
            name: id.to_string(),
            kind,
            in_service: true,
            monitored: false,
        });
    }

    /// Adds an edge. Both ends must exist. `nvlink` is stored in both directions.
    pub fn add_edge(
        &mut self,
        from: &str,
        relation: Relation,
        to: &str,
    ) -> Result<(), CorrelateError> {
        for end in [from, to] {
            if !self.assets.contains_key(end) {
                return Err(CorrelateError::UnknownAsset {
                    id: end.to_string(),
                    context: format!("edge {from} {relation} {to}"),
                });
            }
        }
        self.link(from, relation, to);
        if relation == Relation::Nvlink {
            self.link(to, relation, from);
        }
        Ok(())
    }

    fn link(&mut self, from: &str, relation: Relation, to: &str) {
        let out = self.out.entry(from.to_string()).or_default();
        if !out.iter().any(|(r, t)| *r == relation && t == to) {
            out.push((relation, to.to_string()));
            self.inc
                .entry(to.to_string())
                .or_default()
                .push((relation, from.to_string()));
        }
    }

    /// Builds a graph from assets and edges (for example decoded from JSON).
    pub fn from_parts(assets: Vec<Asset>, edges: Vec<Edge>) -> Result<Self, CorrelateError> {
        let mut g = Graph::new();
        for a in assets {
            g.add_asset(a);
        }
        for e in edges {
            g.add_edge(&e.from, e.relation, &e.to)?;
        }
        Ok(g)
    }

    pub fn asset(&self, id: &str) -> Option<&Asset> {
        self.assets.get(id)
    }

    /// Looks an asset up by id, else by name.
    pub fn resolve(&self, id_or_name: &str) -> Option<&Asset> {
        self.assets.get(id_or_name).or_else(|| {
            self.by_name
                .get(id_or_name)
                .and_then(|id| self.assets.get(id))
        })
    }

    pub fn len(&self) -> usize {
        self.assets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    pub fn assets(&self) -> impl Iterator<Item = &Asset> {
        self.assets.values()
    }

    /// Neighbours along `relation`, forward (`from → to`) or reverse.
    pub fn neighbours(
        &self,
        id: &str,
        relation: Relation,
        reverse: bool,
    ) -> impl Iterator<Item = &AssetId> {
        let table = if reverse { &self.inc } else { &self.out };
        table.get(id).into_iter().flat_map(move |v| {
            v.iter()
                .filter(move |(r, _)| *r == relation)
                .map(|(_, t)| t)
        })
    }

    /// The assets reachable from `start` along `path`.
    pub fn follow(&self, start: &str, path: &Path) -> BTreeSet<AssetId> {
        let mut current: BTreeSet<AssetId> = BTreeSet::new();
        if self.assets.contains_key(start) {
            current.insert(start.to_string());
        }
        for step in &path.steps {
            current = self.step(&current, step);
            if current.is_empty() {
                break;
            }
        }
        current
    }

    fn step(&self, from: &BTreeSet<AssetId>, step: &Step) -> BTreeSet<AssetId> {
        let mut next = BTreeSet::new();
        if step.repeat {
            // Zero or more: the start set and everything reachable from it.
            let mut frontier: Vec<AssetId> = from.iter().cloned().collect();
            next.extend(from.iter().cloned());
            while let Some(id) = frontier.pop() {
                for n in self.neighbours(&id, step.relation, step.reverse) {
                    if next.insert(n.clone()) {
                        frontier.push(n.clone());
                    }
                }
            }
        } else {
            for id in from {
                next.extend(self.neighbours(id, step.relation, step.reverse).cloned());
            }
        }
        next
    }

    /// The first ancestor (by reverse `contains`, then reverse `manages`' target) of the given kind,
    /// the asset itself included.
    pub fn enclosing(&self, id: &str, kind: AssetKind) -> Option<&Asset> {
        let mut seen = BTreeSet::new();
        let mut cur = id.to_string();
        loop {
            let a = self.assets.get(&cur)?;
            if a.kind == kind {
                return Some(a);
            }
            if !seen.insert(cur.clone()) {
                return None;
            }
            let parent = self
                .neighbours(&cur, Relation::Contains, true)
                .next()
                .or_else(|| self.neighbours(&cur, Relation::Manages, false).next())?;
            cur = parent.clone();
        }
    }

    /// The assets of `kind` contained (transitively) in `id`.
    pub fn contained(&self, id: &str, kind: AssetKind) -> Vec<AssetId> {
        let all = self.step(
            &BTreeSet::from([id.to_string()]),
            &Step {
                relation: Relation::Contains,
                reverse: false,
                repeat: true,
            },
        );
        all.into_iter()
            .filter(|a| self.assets.get(a).map(|x| x.kind) == Some(kind))
            .collect()
    }
}

/// One step of a relation path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub relation: Relation,
    /// Follow the edge against its direction (`^relation`).
    pub reverse: bool,
    /// Zero or more times (`relation*`).
    pub repeat: bool,
}

/// A relation path: steps separated by `/`; `^relation` walks an edge backwards, `relation*`
/// zero or more times; `.` (or an empty string) is the asset itself.
///
/// `^powered_by/contains*` from an outlet: the nodes powered by it, and everything they contain.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Path {
    pub steps: Vec<Step>,
}

impl Path {
    /// The identity path.
    pub fn itself() -> Self {
        Path::default()
    }

    /// The same walk backwards: from an end asset to the possible start assets.
    pub fn reversed(&self) -> Path {
        Path {
            steps: self
                .steps
                .iter()
                .rev()
                .map(|s| Step {
                    relation: s.relation,
                    reverse: !s.reverse,
                    repeat: s.repeat,
                })
                .collect(),
        }
    }
}

impl FromStr for Path {
    type Err = CorrelateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || s == "." {
            return Ok(Path::itself());
        }
        let mut steps = Vec::new();
        for raw in s.split('/') {
            let raw = raw.trim();
            let (reverse, rest) = match raw.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, raw),
            };
            let (repeat, name) = match rest.strip_suffix('*') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            if name.is_empty() {
                return Err(CorrelateError::BadPath {
                    path: s.to_string(),
                    reason: "empty step (two '/' in a row, or a lone '^' or '*')".into(),
                });
            }
            let relation = name
                .parse::<Relation>()
                .map_err(|e| CorrelateError::BadPath {
                    path: s.to_string(),
                    reason: e.to_string(),
                })?;
            steps.push(Step {
                relation,
                reverse,
                repeat,
            });
        }
        Ok(Path { steps })
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return f.write_str(".");
        }
        for (i, s) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            if s.reverse {
                f.write_str("^")?;
            }
            f.write_str(s.relation.as_str())?;
            if s.repeat {
                f.write_str("*")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_print_and_reverse() {
        let p: Path = "^powered_by/contains*".parse().unwrap();
        assert_eq!(p.to_string(), "^powered_by/contains*");
        assert_eq!(p.reversed().to_string(), "^contains*/powered_by");
        assert_eq!(".".parse::<Path>().unwrap(), Path::itself());
        let e = "^powerd_by".parse::<Path>().unwrap_err().to_string();
        assert!(e.contains("powerd_by") && e.contains("powered_by"), "{e}");
        assert!("contains//nvlink".parse::<Path>().is_err());
    }

    #[test]
    fn graph_from_json_parts() {
        let assets: Vec<Asset> = serde_json::from_str(
            r#"[{"id": "o1", "name": "pdu-a outlet 1", "kind": "pdu_outlet"},
                {"id": "n1", "name": "node-1", "kind": "node", "in_service": false}]"#,
        )
        .unwrap();
        let edges: Vec<Edge> =
            serde_json::from_str(r#"[{"from": "n1", "relation": "powered_by", "to": "o1"}]"#)
                .unwrap();
        let g = Graph::from_parts(assets, edges).unwrap();
        assert_eq!(
            g.resolve("pdu-a outlet 1").map(|a| a.kind),
            Some(AssetKind::Outlet)
        );
        assert!(!g.asset("n1").unwrap().in_service);
        let bad = vec![Edge {
            from: "n1".into(),
            relation: Relation::PoweredBy,
            to: "o9".into(),
        }];
        let e = Graph::from_parts(Vec::new(), bad).unwrap_err().to_string();
        assert!(e.contains("n1") && e.contains("powered_by"), "{e}");
    }

    #[test]
    fn follow_walks_both_ways() {
        let mut g = Graph::new();
        g.add("o1", AssetKind::Outlet);
        g.add("n1", AssetKind::Node);
        g.add("g1", AssetKind::Gpu);
        g.add_edge("n1", Relation::PoweredBy, "o1").unwrap();
        g.add_edge("n1", Relation::Contains, "g1").unwrap();
        let p: Path = "^powered_by/contains*".parse().unwrap();
        let r = g.follow("o1", &p);
        assert_eq!(r, BTreeSet::from(["n1".to_string(), "g1".to_string()]));
        assert_eq!(
            g.follow("g1", &p.reversed()),
            BTreeSet::from(["o1".to_string()])
        );
        assert_eq!(
            g.enclosing("g1", AssetKind::Node).map(|a| a.id.as_str()),
            Some("n1")
        );
        assert!(g.add_edge("n1", Relation::Contains, "nope").is_err());
    }
}
