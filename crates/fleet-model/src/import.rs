//! Parsing and validation of inventory files (YAML or CSV).
//!
//! Import is all-or-nothing: [`parse`] reports every problem it finds, each with
//! the line of the item it belongs to, and the caller writes nothing unless the
//! list is empty. References to racks, PDUs and switches that are neither in the
//! file nor in the inventory are checked by the caller against the store.
//!
//! YAML layout:
//! ```yaml
//! racks:    [{name, location?, labels?}]
//! pdus:     [{name, rack, outlets, address?, username?, password?, accept_self_signed?, model?, labels?}]
//!           # address: the PDU's Redfish controller (`http(s)://host[:port]`), polled for its
//!           # outlets when given; the password goes to the secret store like a BMC's
//! switches: [{name, rack, address?, model?, ports?, labels?, power?: {pdu, outlet}}]
//! cdus:     [{name, racks: [r1, r2], rack?, address?, username?, password?, model?, labels?}]
//!           # a coolant distribution unit and the racks it cools (`cooled_by`); `rack` when
//!           # it stands in one of them
//! nodes:
//!   - name: r1-n01
//!     rack: r1
//!     model: HGX-H100
//!     serial: SN123
//!     profile: HGX-H100-8GPU        # optional, must exist
//!     labels: {team: ml}
//!     config: {driver: "550.90.07"} # extra configuration, optional
//!     bmc: {address: 127.0.10.1, protocol: redfish, username: admin, password: secret}
//!     # bmc.accept_self_signed: true accepts a self-signed certificate (as in discovery;
//!     # the old name insecure_tls is read too, with a note in the result)
//!     power: {pdu: pdu-r1, outlet: 3}
//!     nics: [{mac: "0c:42:a1:00:00:01", switch: leaf-r1, port: Ethernet1}]
//!     gpus: [{serial: "1650…", uuid: "GPU-…", model: "NVIDIA H100 80GB HBM3", pci_address: "0000:18:00.0"}]
//!     disks: [{serial: "S6…", model: "Samsung PM9A3", size_bytes: 3840000000000}]
//! ```
//! CSV: one node per row, header
//! `name,rack,model,serial,profile,labels,bmc_address,bmc_protocol,bmc_username,bmc_password,pdu,outlet,mac,switch,port`
//! (`labels` as `k=v;k=v`). Racks, PDUs and switches named in a CSV are created
//! when they do not exist yet.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

use crate::asset::{normalize_mac, validate_config, validate_label, validate_name, AssetKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportError {
    /// 1-based line in the file where the offending item starts (0 when unknown).
    pub line: usize,
    /// The item, e.g. `nodes[3]` or `row 7`.
    pub item: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RackItem {
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PduItem {
    pub name: String,
    pub rack: String,
    #[serde(default = "default_outlets")]
    pub outlets: u32,
    #[serde(default)]
    pub address: Option<String>,
    /// The account gpufleet reads the PDU's Redfish service with.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub accept_self_signed: Option<bool>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_outlets() -> u32 {
    24
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CduItem {
    pub name: String,
    /// The racks it cools.
    pub racks: Vec<String>,
    /// The rack it stands in, when it stands in one.
    #[serde(default)]
    pub rack: Option<String>,
    /// Its Redfish service (`CoolingUnit`), when it has one.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchItem {
    pub name: String,
    pub rack: String,
    #[serde(default)]
    pub address: Option<String>,
    /// The outlet that powers the switch.
    #[serde(default)]
    pub power: Option<PowerItem>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub ports: Option<u32>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BmcItem {
    pub address: String,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Accept the BMC's self-signed TLS certificate (the same name as in discovery requests).
    #[serde(default)]
    pub accept_self_signed: Option<bool>,
    /// The old name of `accept_self_signed`, still accepted (with a note in the import's
    /// result).
    #[serde(default)]
    pub insecure_tls: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerItem {
    pub pdu: String,
    pub outlet: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicItem {
    #[serde(default)]
    pub name: Option<String>,
    pub mac: String,
    #[serde(default)]
    pub switch: Option<String>,
    #[serde(default)]
    pub port: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeItem {
    pub name: String,
    #[serde(default)]
    pub rack: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub config: Option<Value>,
    #[serde(default)]
    pub bmc: Option<BmcItem>,
    #[serde(default)]
    pub power: Option<PowerItem>,
    #[serde(default)]
    pub nics: Vec<NicItem>,
    #[serde(default)]
    pub gpus: Vec<Value>,
    #[serde(default)]
    pub disks: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlFile {
    #[serde(default)]
    racks: Vec<Value>,
    #[serde(default)]
    pdus: Vec<Value>,
    #[serde(default)]
    switches: Vec<Value>,
    #[serde(default)]
    cdus: Vec<Value>,
    #[serde(default)]
    nodes: Vec<Value>,
}

/// One asset to create, in dependency order (parents before children).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAsset {
    pub line: usize,
    pub kind: AssetKind,
    pub name: String,
    /// Parent by (kind, name); resolved by the caller.
    pub parent: Option<(AssetKind, String)>,
    pub labels: BTreeMap<String, String>,
    pub config: Value,
    /// Expected profile name (nodes only).
    pub profile: Option<String>,
}

/// A relation to create between two assets named by (kind, name).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRelation {
    pub line: usize,
    pub kind: crate::asset::RelationKind,
    pub from: (AssetKind, String),
    pub to: (AssetKind, String),
    pub attrs: Value,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportPlan {
    pub assets: Vec<PlannedAsset>,
    pub relations: Vec<PlannedRelation>,
    /// Containers referenced but not declared: the caller checks they exist
    /// (YAML) or creates them (CSV).
    pub referenced: BTreeSet<(AssetKind, String)>,
    /// Whether referenced containers that do not exist may be created (CSV).
    pub create_missing: bool,
    /// Things worth saying that are not errors (deprecated field names), with their line.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Csv,
}

impl Format {
    /// Guesses the format from a file name or content type.
    pub fn guess(name_or_type: &str) -> Format {
        let l = name_or_type.to_ascii_lowercase();
        if l.ends_with(".csv") || l.contains("text/csv") {
            Format::Csv
        } else {
            Format::Yaml
        }
    }
}

/// Parses and validates an inventory file. Returns the plan, or every error found.
pub fn parse(text: &str, format: Format) -> Result<ImportPlan, Vec<ImportError>> {
    match format {
        Format::Yaml => parse_yaml(text),
        Format::Csv => parse_csv(text),
    }
}

/// Start lines (1-based) of the list items under each top-level key of a YAML document.
fn yaml_item_lines(text: &str) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut section: Option<String> = None;
    let mut item_indent: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.starts_with('-') {
            if let Some((k, _)) = trimmed.split_once(':') {
                section = Some(k.trim().to_string());
                item_indent = None;
                continue;
            }
        }
        if let Some(sec) = &section {
            if trimmed.starts_with("- ") || trimmed == "-" {
                let ind = *item_indent.get_or_insert(indent);
                if indent == ind {
                    out.entry(sec.clone()).or_default().push(i + 1);
                }
            }
        }
    }
    out
}

struct Ctx {
    errors: Vec<ImportError>,
    plan: ImportPlan,
    names: BTreeSet<(AssetKind, String)>,
}

impl Ctx {
    fn err(&mut self, line: usize, item: &str, message: impl Into<String>) {
        self.errors.push(ImportError {
            line,
            item: item.to_string(),
            message: message.into(),
        });
    }

    fn add(&mut self, a: PlannedAsset, item: &str) {
        if let Err(e) = validate_name(&a.name) {
            self.err(a.line, item, e);
        }
        for (k, v) in &a.labels {
            if let Err(e) = validate_label(k, v) {
                self.err(a.line, item, e);
            }
        }
        if !self.names.insert((a.kind, a.name.clone())) {
            self.err(
                a.line,
                item,
                format!("{} '{}' appears more than once in the file", a.kind, a.name),
            );
        }
        match validate_config(a.kind, &a.config) {
            Ok(cfg) => self.plan.assets.push(PlannedAsset { config: cfg, ..a }),
            Err(errs) => {
                for e in errs {
                    self.err(a.line, item, format!("{} '{}': {e}", a.kind, a.name));
                }
            }
        }
    }

    fn reference(&mut self, kind: AssetKind, name: &str) {
        if !self.names.contains(&(kind, name.to_string())) {
            self.plan.referenced.insert((kind, name.to_string()));
        }
    }
}

fn obj(pairs: &[(&str, Option<Value>)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            if !v.is_null() {
                m.insert(k.to_string(), v.clone());
            }
        }
    }
    Value::Object(m)
}

fn s(v: &Option<String>) -> Option<Value> {
    v.clone().map(Value::String)
}

fn parse_yaml(text: &str) -> Result<ImportPlan, Vec<ImportError>> {
    let file: YamlFile = match serde_yaml::from_str::<Option<YamlFile>>(text) {
        Ok(Some(f)) => f,
        Ok(None) => YamlFile::default(),
        Err(e) => {
            let line = e.location().map(|l| l.line()).unwrap_or(0);
            return Err(vec![ImportError {
                line,
                item: "file".into(),
                message: format!("not a valid inventory YAML document: {e}"),
            }]);
        }
    };
    let lines = yaml_item_lines(text);
    let line_of = |sec: &str, i: usize| lines.get(sec).and_then(|v| v.get(i)).copied().unwrap_or(0);
    let mut ctx = Ctx {
        errors: vec![],
        plan: ImportPlan::default(),
        names: BTreeSet::new(),
    };

    fn typed<T: serde::de::DeserializeOwned>(
        v: &Value,
        ctx: &mut Ctx,
        line: usize,
        item: &str,
    ) -> Option<T> {
        match serde_json::from_value::<T>(v.clone()) {
            Ok(t) => Some(t),
            Err(e) => {
                ctx.err(line, item, e.to_string());
                None
            }
        }
    }

    let mut racks = Vec::new();
    for (i, v) in file.racks.iter().enumerate() {
        let (line, item) = (line_of("racks", i), format!("racks[{i}]"));
        if let Some(r) = typed::<RackItem>(v, &mut ctx, line, &item) {
            racks.push((line, item, r));
        }
    }
    for (line, item, r) in racks {
        ctx.add(
            PlannedAsset {
                line,
                kind: AssetKind::Rack,
                name: r.name.clone(),
                parent: None,
                labels: r.labels,
                config: obj(&[("location", s(&r.location))]),
                profile: None,
            },
            &item,
        );
    }
    for (i, v) in file.pdus.iter().enumerate() {
        let (line, item) = (line_of("pdus", i), format!("pdus[{i}]"));
        let Some(p) = typed::<PduItem>(v, &mut ctx, line, &item) else {
            continue;
        };
        add_pdu(&mut ctx, line, &item, p);
    }
    for (i, v) in file.switches.iter().enumerate() {
        let (line, item) = (line_of("switches", i), format!("switches[{i}]"));
        let Some(sw) = typed::<SwitchItem>(v, &mut ctx, line, &item) else {
            continue;
        };
        add_switch(&mut ctx, line, &item, sw);
    }
    for (i, v) in file.cdus.iter().enumerate() {
        let (line, item) = (line_of("cdus", i), format!("cdus[{i}]"));
        let Some(c) = typed::<CduItem>(v, &mut ctx, line, &item) else {
            continue;
        };
        add_cdu(&mut ctx, line, &item, c);
    }
    for (i, v) in file.nodes.iter().enumerate() {
        let (line, item) = (line_of("nodes", i), format!("nodes[{i}]"));
        let Some(n) = typed::<NodeItem>(v, &mut ctx, line, &item) else {
            continue;
        };
        add_node(&mut ctx, line, &item, n);
    }
    finish(ctx)
}

fn add_pdu(ctx: &mut Ctx, line: usize, item: &str, p: PduItem) {
    ctx.reference(AssetKind::Rack, &p.rack);
    if p.outlets == 0 || p.outlets > 128 {
        ctx.err(
            line,
            item,
            format!("pdu '{}': outlets must be between 1 and 128", p.name),
        );
    }
    ctx.add(
        PlannedAsset {
            line,
            kind: AssetKind::Pdu,
            name: p.name.clone(),
            parent: Some((AssetKind::Rack, p.rack.clone())),
            labels: p.labels,
            config: obj(&[
                ("address", s(&p.address)),
                ("username", s(&p.username)),
                ("password", s(&p.password)),
                ("accept_self_signed", p.accept_self_signed.map(Value::Bool)),
                ("model", s(&p.model)),
                ("outlets", Some(json!(p.outlets))),
            ]),
            profile: None,
        },
        item,
    );
    for n in 1..=p.outlets.min(128) {
        ctx.add(
            PlannedAsset {
                line,
                kind: AssetKind::Outlet,
                name: outlet_name(&p.name, n),
                parent: Some((AssetKind::Pdu, p.name.clone())),
                labels: BTreeMap::new(),
                config: json!({ "number": n }),
                profile: None,
            },
            item,
        );
    }
}

/// The asset name of outlet `n` of PDU `pdu`.
pub fn outlet_name(pdu: &str, n: u32) -> String {
    format!("{pdu}-o{n}")
}

fn add_cdu(ctx: &mut Ctx, line: usize, item: &str, c: CduItem) {
    if c.racks.is_empty() {
        ctx.err(
            line,
            item,
            format!(
                "cdu '{}': 'racks' must name at least one rack it cools",
                c.name
            ),
        );
    }
    if let Some(r) = &c.rack {
        ctx.reference(AssetKind::Rack, r);
    }
    for r in &c.racks {
        ctx.reference(AssetKind::Rack, r);
        ctx.plan.relations.push(PlannedRelation {
            line,
            kind: crate::asset::RelationKind::CooledBy,
            from: (AssetKind::Rack, r.clone()),
            to: (AssetKind::Cdu, c.name.clone()),
            attrs: json!({}),
        });
    }
    ctx.add(
        PlannedAsset {
            line,
            kind: AssetKind::Cdu,
            name: c.name.clone(),
            parent: c.rack.clone().map(|r| (AssetKind::Rack, r)),
            labels: c.labels,
            config: obj(&[
                ("address", s(&c.address)),
                ("username", s(&c.username)),
                ("password", s(&c.password)),
                ("model", s(&c.model)),
            ]),
            profile: None,
        },
        item,
    );
}

fn add_switch(ctx: &mut Ctx, line: usize, item: &str, sw: SwitchItem) {
    ctx.reference(AssetKind::Rack, &sw.rack);
    if let Some(p) = &sw.power {
        ctx.reference(AssetKind::Pdu, &p.pdu);
        ctx.plan.relations.push(PlannedRelation {
            line,
            kind: crate::asset::RelationKind::PoweredBy,
            from: (AssetKind::Switch, sw.name.clone()),
            to: (AssetKind::Outlet, outlet_name(&p.pdu, p.outlet)),
            attrs: json!({}),
        });
    }
    ctx.add(
        PlannedAsset {
            line,
            kind: AssetKind::Switch,
            name: sw.name.clone(),
            parent: Some((AssetKind::Rack, sw.rack.clone())),
            labels: sw.labels,
            config: obj(&[
                ("address", s(&sw.address)),
                ("model", s(&sw.model)),
                ("ports", sw.ports.map(|p| json!(p))),
            ]),
            profile: None,
        },
        item,
    );
}

fn add_node(ctx: &mut Ctx, line: usize, item: &str, n: NodeItem) {
    let mut config = match n.config.clone() {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => {
            ctx.err(
                line,
                item,
                format!("node '{}': 'config' must be a mapping", n.name),
            );
            Map::new()
        }
    };
    if let Some(m) = &n.model {
        config.insert("model".into(), json!(m));
    }
    if let Some(sn) = &n.serial {
        config.insert("serial".into(), json!(sn));
    }
    if let Some(r) = &n.rack {
        ctx.reference(AssetKind::Rack, r);
    }
    ctx.add(
        PlannedAsset {
            line,
            kind: AssetKind::Node,
            name: n.name.clone(),
            parent: n.rack.clone().map(|r| (AssetKind::Rack, r)),
            labels: n.labels.clone(),
            config: Value::Object(config),
            profile: n.profile.clone(),
        },
        item,
    );
    let parent = Some((AssetKind::Node, n.name.clone()));
    if let Some(b) = &n.bmc {
        if b.insecure_tls.is_some() {
            ctx.plan.notes.push(format!(
                "line {line}: node {}: bmc.insecure_tls is deprecated; it is read as \
                 bmc.accept_self_signed, the name discovery uses",
                n.name
            ));
        }
        let bmc_name = format!("{}-bmc", n.name);
        ctx.add(
            PlannedAsset {
                line,
                kind: AssetKind::Bmc,
                name: bmc_name.clone(),
                parent: parent.clone(),
                labels: BTreeMap::new(),
                config: obj(&[
                    ("address", Some(json!(b.address))),
                    ("protocol", s(&b.protocol)),
                    ("username", s(&b.username)),
                    ("password", s(&b.password)),
                    (
                        "accept_self_signed",
                        b.accept_self_signed.or(b.insecure_tls).map(Value::Bool),
                    ),
                ]),
                profile: None,
            },
            item,
        );
        ctx.plan.relations.push(PlannedRelation {
            line,
            kind: crate::asset::RelationKind::Manages,
            from: (AssetKind::Bmc, bmc_name),
            to: (AssetKind::Node, n.name.clone()),
            attrs: json!({}),
        });
    }
    if let Some(p) = &n.power {
        ctx.reference(AssetKind::Pdu, &p.pdu);
        ctx.plan.relations.push(PlannedRelation {
            line,
            kind: crate::asset::RelationKind::PoweredBy,
            from: (AssetKind::Node, n.name.clone()),
            to: (AssetKind::Outlet, outlet_name(&p.pdu, p.outlet)),
            attrs: json!({}),
        });
    }
    for (i, nic) in n.nics.iter().enumerate() {
        let name = nic
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-nic{i}", n.name));
        let mac = match normalize_mac(&nic.mac) {
            Ok(m) => m,
            Err(e) => {
                ctx.err(line, item, format!("node '{}' nics[{i}]: {e}", n.name));
                continue;
            }
        };
        ctx.add(
            PlannedAsset {
                line,
                kind: AssetKind::Nic,
                name: name.clone(),
                parent: parent.clone(),
                labels: BTreeMap::new(),
                config: json!({ "mac": mac }),
                profile: None,
            },
            item,
        );
        match (&nic.switch, &nic.port) {
            (Some(sw), port) => {
                ctx.reference(AssetKind::Switch, sw);
                ctx.plan.relations.push(PlannedRelation {
                    line,
                    kind: crate::asset::RelationKind::ConnectedTo,
                    from: (AssetKind::Nic, name),
                    to: (AssetKind::Switch, sw.clone()),
                    attrs: obj(&[("port", s(port))]),
                });
            }
            (None, Some(_)) => ctx.err(
                line,
                item,
                format!("node '{}' nics[{i}]: 'port' given without 'switch'", n.name),
            ),
            (None, None) => {}
        }
    }
    for (kind, list, word) in [
        (AssetKind::Gpu, &n.gpus, "gpu"),
        (AssetKind::Disk, &n.disks, "disk"),
    ] {
        for (i, cfg) in list.iter().enumerate() {
            let name = cfg
                .get("name")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}-{word}{i}", n.name));
            let mut cfg = cfg.clone();
            if let Some(o) = cfg.as_object_mut() {
                o.remove("name");
            }
            ctx.add(
                PlannedAsset {
                    line,
                    kind,
                    name,
                    parent: parent.clone(),
                    labels: BTreeMap::new(),
                    config: cfg,
                    profile: None,
                },
                item,
            );
        }
    }
}

fn finish(ctx: Ctx) -> Result<ImportPlan, Vec<ImportError>> {
    if ctx.errors.is_empty() {
        Ok(ctx.plan)
    } else {
        let mut e = ctx.errors;
        e.sort_by_key(|e| e.line);
        Err(e)
    }
}

const CSV_COLUMNS: [&str; 15] = [
    "name",
    "rack",
    "model",
    "serial",
    "profile",
    "labels",
    "bmc_address",
    "bmc_protocol",
    "bmc_username",
    "bmc_password",
    "pdu",
    "outlet",
    "mac",
    "switch",
    "port",
];

fn parse_csv(text: &str) -> Result<ImportPlan, Vec<ImportError>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![ImportError {
                line: 1,
                item: "header".into(),
                message: format!("unreadable CSV header: {e}"),
            }])
        }
    };
    let unknown: Vec<&str> = headers
        .iter()
        .filter(|h| !CSV_COLUMNS.contains(h))
        .collect();
    if !unknown.is_empty() || !headers.iter().any(|h| h == "name") {
        return Err(vec![ImportError {
            line: 1,
            item: "header".into(),
            message: format!(
                "CSV header must include 'name' and only known columns ({}); unknown: {}",
                CSV_COLUMNS.join(","),
                unknown.join(",")
            ),
        }]);
    }
    let mut ctx = Ctx {
        errors: vec![],
        plan: ImportPlan {
            create_missing: true,
            ..Default::default()
        },
        names: BTreeSet::new(),
    };
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                ctx.err(
                    line,
                    &format!("row {line}"),
                    format!("unreadable CSV row: {e}"),
                );
                continue;
            }
        };
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let item = format!("row {line}");
        let get = |col: &str| -> Option<String> {
            headers
                .iter()
                .position(|h| h == col)
                .and_then(|i| rec.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mut labels = BTreeMap::new();
        if let Some(l) = get("labels") {
            for pair in l.split(';').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some((k, v)) => {
                        labels.insert(k.trim().to_string(), v.trim().to_string());
                    }
                    None => ctx.err(line, &item, format!("label '{pair}' must be key=value")),
                }
            }
        }
        let Some(name) = get("name") else {
            ctx.err(line, &item, "'name' is empty");
            continue;
        };
        let power = match (get("pdu"), get("outlet")) {
            (Some(pdu), Some(o)) => match o.parse::<u32>() {
                Ok(outlet) => Some(PowerItem { pdu, outlet }),
                Err(_) => {
                    ctx.err(line, &item, format!("outlet '{o}' is not a number"));
                    None
                }
            },
            (None, None) => None,
            _ => {
                ctx.err(line, &item, "'pdu' and 'outlet' must be given together");
                None
            }
        };
        let node = NodeItem {
            name,
            rack: get("rack"),
            model: get("model"),
            serial: get("serial"),
            profile: get("profile"),
            labels,
            config: None,
            bmc: get("bmc_address").map(|address| BmcItem {
                address,
                protocol: get("bmc_protocol"),
                username: get("bmc_username"),
                password: get("bmc_password"),
                accept_self_signed: None,
                insecure_tls: None,
            }),
            power,
            nics: get("mac")
                .map(|mac| {
                    vec![NicItem {
                        name: None,
                        mac,
                        switch: get("switch"),
                        port: get("port"),
                    }]
                })
                .unwrap_or_default(),
            gpus: vec![],
            disks: vec![],
        };
        add_node(&mut ctx, line, &item, node);
    }
    finish(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
racks:
  - name: r1
    location: dc1/a
pdus:
  - name: pdu1
    rack: r1
    outlets: 4
switches:
  - name: leaf1
    rack: r1
nodes:
  - name: n1
    rack: r1
    model: HGX-H100
    bmc: {address: 127.0.10.1, username: admin, password: pw}
    power: {pdu: pdu1, outlet: 2}
    nics: [{mac: "0C:42:A1:00:00:01", switch: leaf1, port: Ethernet1}]
    gpus:
      - {serial: "S1", uuid: "GPU-1", model: "H100"}
      - {serial: "S2", uuid: "GPU-2", model: "H100"}
"#;

    #[test]
    fn yaml_plan_has_everything_in_dependency_order() {
        let p = parse(GOOD, Format::Yaml).unwrap();
        let kinds: Vec<AssetKind> = p.assets.iter().map(|a| a.kind).collect();
        assert_eq!(kinds.first(), Some(&AssetKind::Rack));
        assert_eq!(kinds.iter().filter(|k| **k == AssetKind::Outlet).count(), 4);
        assert_eq!(kinds.iter().filter(|k| **k == AssetKind::Gpu).count(), 2);
        assert_eq!(p.relations.len(), 3);
        let nic = p.assets.iter().find(|a| a.kind == AssetKind::Nic).unwrap();
        assert_eq!(nic.config["mac"], "0c:42:a1:00:00:01");
        assert!(p.referenced.is_empty(), "{:?}", p.referenced);
        let node = p.assets.iter().find(|a| a.kind == AssetKind::Node).unwrap();
        assert_eq!(node.line, 13);
    }

    #[test]
    fn the_self_signed_setting_has_the_discovery_name_and_the_old_one_still_works() {
        let bmc_of = |p: &ImportPlan| {
            p.assets
                .iter()
                .find(|a| a.kind == AssetKind::Bmc)
                .unwrap()
                .config
                .clone()
        };
        let new =
            "nodes:\n  - name: n1\n    bmc: {address: 127.0.10.1, accept_self_signed: true}\n";
        let p = parse(new, Format::Yaml).unwrap();
        assert_eq!(bmc_of(&p)["accept_self_signed"], true);
        assert!(bmc_of(&p).get("insecure_tls").is_none());
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        let old = "nodes:\n  - name: n1\n    bmc: {address: 127.0.10.1, insecure_tls: true}\n";
        let p = parse(old, Format::Yaml).unwrap();
        assert_eq!(bmc_of(&p)["accept_self_signed"], true);
        assert_eq!(p.notes.len(), 1);
        assert!(
            p.notes[0].contains("insecure_tls is deprecated")
                && p.notes[0].contains("accept_self_signed"),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn a_cdu_cools_the_racks_it_names() {
        let doc = "racks: [{name: r1}, {name: r2}]\ncdus:\n  - {name: cdu1, racks: [r1, r2], address: \"https://10.9.0.1\"}\n";
        let p = parse(doc, Format::Yaml).unwrap();
        let cdu = p.assets.iter().find(|a| a.kind == AssetKind::Cdu).unwrap();
        assert_eq!(cdu.config["address"], "https://10.9.0.1");
        assert!(cdu.parent.is_none());
        let cooled: Vec<_> = p
            .relations
            .iter()
            .filter(|r| r.kind == crate::asset::RelationKind::CooledBy)
            .map(|r| (r.from.1.as_str(), r.to.1.as_str()))
            .collect();
        assert_eq!(cooled, [("r1", "cdu1"), ("r2", "cdu1")]);
        let e = parse("cdus:\n  - {name: c, racks: []}\n", Format::Yaml).unwrap_err();
        assert!(
            e.iter()
                .any(|e| e.message.contains("at least one rack") && e.line == 2),
            "{e:?}"
        );
    }

    #[test]
    fn a_pdu_may_carry_its_redfish_controller_and_account() {
        let doc = "racks: [{name: r1}]\npdus:\n  - {name: pdu1, rack: r1, outlets: 2, address: \"http://127.40.0.1:8000\", username: admin, password: secret, accept_self_signed: true}\n";
        let p = parse(doc, Format::Yaml).unwrap();
        let pdu = p.assets.iter().find(|a| a.kind == AssetKind::Pdu).unwrap();
        assert_eq!(pdu.config["address"], "http://127.40.0.1:8000");
        assert_eq!(pdu.config["username"], "admin");
        assert_eq!(pdu.config["password"], "secret");
        assert_eq!(pdu.config["accept_self_signed"], true);
        let bad = "racks: [{name: r1}]\npdus: [{name: pdu1, rack: r1, passwd: x}]\n";
        assert!(parse(bad, Format::Yaml).is_err());
    }

    #[test]
    fn a_switch_may_name_the_outlet_that_powers_it() {
        let doc = "racks: [{name: r1}]\npdus: [{name: pdu1, rack: r1, outlets: 2}]\nswitches:\n  - {name: leaf1, rack: r1, power: {pdu: pdu1, outlet: 1}}\n";
        let p = parse(doc, Format::Yaml).unwrap();
        let r = p
            .relations
            .iter()
            .find(|r| r.kind == crate::asset::RelationKind::PoweredBy)
            .expect("a powered_by relation");
        assert_eq!(r.from, (AssetKind::Switch, "leaf1".to_string()));
        assert_eq!(r.to, (AssetKind::Outlet, outlet_name("pdu1", 1)));
        assert!(p.referenced.is_empty(), "{:?}", p.referenced);
        // A PDU not in the file is one the CMDB must have.
        let other = "racks: [{name: r1}]\nswitches:\n  - {name: leaf1, rack: r1, power: {pdu: pdu9, outlet: 1}}\n";
        let p = parse(other, Format::Yaml).unwrap();
        assert!(p.referenced.contains(&(AssetKind::Pdu, "pdu9".to_string())));
    }

    #[test]
    fn yaml_errors_carry_lines() {
        let bad = r#"nodes:
  - name: ok
  - name: n2
    bmc: {address: 1.2.3.4, protocol: telnet}
    nics: [{mac: nonsense}]
  - name: ok
  - nmae: typo
"#;
        let errs = parse(bad, Format::Yaml).unwrap_err();
        let summary: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.item.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (3, "nodes[1]"),
                (3, "nodes[1]"),
                (6, "nodes[2]"),
                (7, "nodes[3]")
            ],
            "{errs:?}"
        );
        assert!(errs[3].message.contains("nmae"), "{:?}", errs[3]);
        assert!(errs[2].message.contains("more than once"));
    }

    #[test]
    fn yaml_syntax_error_has_a_line() {
        let errs = parse("nodes:\n  - name: [unclosed\n", Format::Yaml).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].line >= 2, "{errs:?}");
    }

    #[test]
    fn undeclared_containers_are_reported_as_references() {
        let p = parse(
            "nodes:\n  - name: n1\n    rack: r9\n    power: {pdu: p9, outlet: 1}\n",
            Format::Yaml,
        )
        .unwrap();
        assert!(p.referenced.contains(&(AssetKind::Rack, "r9".into())));
        assert!(p.referenced.contains(&(AssetKind::Pdu, "p9".into())));
        assert!(!p.create_missing);
    }

    #[test]
    fn csv_rows_and_errors() {
        let csv = "name,rack,bmc_address,mac,labels,pdu,outlet\n\
                   n1,r1,127.0.0.2,0c:42:a1:00:00:01,team=ml;tier=1,p1,3\n\
                   n2,r1,,bad-mac,,p1,\n\
                   n1,r2,,,,,\n";
        let errs = parse(csv, Format::Csv).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 3, 4], "{errs:?}");
        let ok = parse(
            "name,rack,mac,labels\nn1,r1,0c:42:a1:00:00:01,team=ml\n",
            Format::Csv,
        )
        .unwrap();
        assert!(ok.create_missing);
        assert_eq!(ok.assets[0].labels["team"], "ml");
        assert!(ok.referenced.contains(&(AssetKind::Rack, "r1".into())));
    }

    #[test]
    fn csv_unknown_column_is_rejected() {
        let errs = parse("name,colour\nn1,red\n", Format::Csv).unwrap_err();
        assert!(errs[0].message.contains("colour"));
    }

    #[test]
    fn format_guess() {
        assert_eq!(Format::guess("fleet.CSV"), Format::Csv);
        assert_eq!(Format::guess("text/csv; charset=utf-8"), Format::Csv);
        assert_eq!(Format::guess("fleet.yaml"), Format::Yaml);
    }
}
