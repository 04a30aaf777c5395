//! Alert rules: the model, a parser for the subset of Prometheus alerting-rule YAML whose
//! expressions the engine supports, and an evaluator over the incoming sample stream.
//!
//! Supported expressions (`metric` is a dcgm-exporter name such as `DCGM_FI_DEV_GPU_TEMP` or a
//! gpufleet field name such as `gpu_temp`, optionally with label matchers
//! `{label="v", label!="v", label=~"a|b.*", label!~"…"}`):
//!
//! - `metric OP number` with `OP` one of `> >= < <= == !=`;
//! - `rate(metric[5m]) OP number` and `increase(metric[1h]) OP number` (counter resets handled);
//! - `absent(metric)` (absent for 5 minutes, Prometheus' staleness) and
//!   `absent_over_time(metric[10m])`;
//! - `health == failed` / `health != healthy` (gpufleet's derived health; states healthy,
//!   unknown, degraded, missing, failed).
//!
//! Anything else (aggregations, `and`/`or`/`unless`, arithmetic, `by`, `offset`, other functions,
//! regular expressions beyond literal alternatives with `.*`) is refused with an error naming the
//! rule and the construct.
//!
//! Per rule and series (a GPU) the state goes inactive → pending → firing → inactive, and the
//! evaluator returns the transitions `raised` (pending → firing, after `for`) and `resolved`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::fields::GpuField;
use crate::health::HealthState;
use crate::{Nanos, SECOND};

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl CmpOp {
    pub fn apply(self, a: f64, b: f64) -> bool {
        match self {
            Self::Gt => a > b,
            Self::Ge => a >= b,
            Self::Lt => a < b,
            Self::Le => a <= b,
            Self::Eq => a == b,
            Self::Ne => a != b,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Eq => "==",
            Self::Ne => "!=",
        }
    }
}

/// Label matcher operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "=~")]
    Re,
    #[serde(rename = "!~")]
    NotRe,
}

/// A label matcher of a rule's scope. Labels are the series' labels: the sample's own labels
/// plus what the resolver adds from the CMDB (`rack`, `model`, `profile`, `node`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
    /// The compiled regular expression of `=~` / `!~` (rebuilt on use after deserialising).
    #[serde(skip)]
    compiled: Option<SimpleRegex>,
}

impl Matcher {
    pub fn new(label: &str, op: MatchOp, value: &str) -> Result<Self, String> {
        let compiled = match op {
            MatchOp::Re | MatchOp::NotRe => Some(SimpleRegex::parse(value)?),
            MatchOp::Eq | MatchOp::Ne => None,
        };
        Ok(Self {
            label: label.into(),
            op,
            value: value.into(),
            compiled,
        })
    }

    /// Whether the labels satisfy the matcher (a missing label is the empty string, as in
    /// Prometheus).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.label).map_or("", String::as_str);
        match self.op {
            MatchOp::Eq => v == self.value,
            MatchOp::Ne => v != self.value,
            MatchOp::Re | MatchOp::NotRe => {
                let hit = match &self.compiled {
                    Some(r) => r.is_match(v),
                    None => SimpleRegex::parse(&self.value).is_ok_and(|r| r.is_match(v)),
                };
                hit == (self.op == MatchOp::Re)
            }
        }
    }
}

/// The regular expressions scopes support: fully anchored alternatives of literals, each with
/// an optional leading and/or trailing `.*` (`H100.*|A100.*`, `.*-r1`, `node-1|node-2`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SimpleRegex {
    alts: Vec<(bool, String, bool)>,
}

impl SimpleRegex {
    fn parse(re: &str) -> Result<Self, String> {
        let mut alts = Vec::new();
        for alt in re.split('|') {
            let (any_start, rest) = match alt.strip_prefix(".*") {
                Some(r) => (true, r),
                None => (false, alt),
            };
            let (any_end, body) = match rest.strip_suffix(".*") {
                Some(r) if !r.ends_with('\\') => (true, r),
                _ => (false, rest),
            };
            let mut lit = String::new();
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some(n) if !n.is_alphanumeric() => lit.push(n),
                        _ => return Err(format!("regular expression {re:?}: only escaped punctuation is supported")),
                    },
                    '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => {
                        return Err(format!(
                            "regular expression {re:?} uses {c:?}: only literal alternatives with a leading or trailing .* are supported"
                        ))
                    }
                    other => lit.push(other),
                }
            }
            alts.push((any_start, lit, any_end));
        }
        Ok(Self { alts })
    }

    fn is_match(&self, s: &str) -> bool {
        self.alts
            .iter()
            .any(|(start, lit, end)| match (start, end) {
                (false, false) => s == lit,
                (false, true) => s.starts_with(lit.as_str()),
                (true, false) => s.ends_with(lit.as_str()),
                (true, true) => s.contains(lit.as_str()),
            })
    }
}

/// What a rule tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expr {
    /// The latest value of a field compared with a number.
    Compare {
        field: GpuField,
        op: CmpOp,
        value: f64,
    },
    /// The per-second rate (or the increase) of a counter over a window compared with a number.
    Rate {
        field: GpuField,
        window_s: u64,
        increase: bool,
        op: CmpOp,
        value: f64,
    },
    /// No sample of the field for the window.
    Absent { field: GpuField, window_s: u64 },
    /// The derived health compared with a state (`==` or `!=`).
    Health { op: CmpOp, state: HealthState },
}

impl Expr {
    pub fn field(&self) -> Option<GpuField> {
        match self {
            Self::Compare { field, .. } | Self::Rate { field, .. } | Self::Absent { field, .. } => {
                Some(*field)
            }
            Self::Health { .. } => None,
        }
    }
}

/// Severity of an alert (the `severity` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

/// One alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    #[serde(default)]
    pub group: String,
    pub expr: Expr,
    /// The expression as written.
    pub expr_text: String,
    /// How long the condition must hold before the alert fires, in seconds.
    #[serde(default)]
    pub for_s: u64,
    /// Series the rule applies to (all matchers must match).
    #[serde(default)]
    pub scope: Vec<Matcher>,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    pub fn in_scope(&self, labels: &BTreeMap<String, String>) -> bool {
        self.scope.iter().all(|m| m.matches(labels))
    }
}

/// A rule file or expression that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    #[error("rule file is not valid YAML: {0}")]
    Yaml(String),
    #[error("group {group:?}, rule {rule:?}: {message}")]
    Rule {
        group: String,
        rule: String,
        message: String,
    },
}

/// Parses a Prometheus duration (`30s`, `5m`, `1h30m`, `1d`, `500ms` rounds up to a second).
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s == "0" {
        return Ok(0);
    }
    let mut total_ms: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration {s:?}: expected e.g. 30s, 5m, 1h30m"
            ));
        }
        let n: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            u => {
                return Err(format!(
                    "invalid duration {s:?}: unknown unit {u:?} (ms, s, m, h, d, w, y)"
                ))
            }
        };
        total_ms = total_ms.saturating_add(n.saturating_mul(ms));
        rest = &rest[unit_len..];
    }
    Ok(u64::try_from(total_ms.div_ceil(1000)).unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------------
// Expression parser
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    Range(String),
    Op(&'static str),
    Punct(char),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'#' => break, // PromQL comment
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
                {
                    i += 1;
                }
                let word = &s[start..i];
                match word {
                    "NaN" | "nan" => out.push(Tok::Num(f64::NAN)),
                    "Inf" | "inf" => out.push(Tok::Num(f64::INFINITY)),
                    _ => out.push(Tok::Ident(word.to_string())),
                }
            }
            b'0'..=b'9' | b'.' => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'.'
                        || ((b[i] == b'+' || b[i] == b'-') && matches!(b[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                let text = &s[start..i];
                let v = if let Some(hex) =
                    text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))
                {
                    i64::from_str_radix(hex, 16).ok().map(|v| v as f64)
                } else if text
                    .bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    text.parse().ok()
                } else {
                    None
                };
                out.push(match v {
                    Some(v) => Tok::Num(v),
                    // Durations and other words starting with a digit: refused where they stand.
                    None => Tok::Ident(text.to_string()),
                });
            }
            b'"' | b'\'' | b'`' => {
                let quote = c;
                i += 1;
                let mut v = String::new();
                loop {
                    let Some(&ch) = b.get(i) else {
                        return Err("unterminated string".into());
                    };
                    if ch == quote {
                        i += 1;
                        break;
                    }
                    if ch == b'\\' && quote != b'`' {
                        let n = b.get(i + 1).copied().ok_or("unterminated string")?;
                        match n {
                            b'n' => v.push('\n'),
                            b't' => v.push('\t'),
                            b'\\' => v.push('\\'),
                            b'"' | b'\'' => v.push(n as char),
                            // Keep other escapes for the regex (`\.`).
                            _ => {
                                v.push('\\');
                                v.push(n as char);
                            }
                        }
                        i += 2;
                        continue;
                    }
                    let len = utf8_len(ch);
                    v.push_str(&s[i..i + len]);
                    i += len;
                }
                out.push(Tok::Str(v));
            }
            b'[' => {
                let end = s[i..].find(']').ok_or("unterminated range [...]")? + i;
                out.push(Tok::Range(s[i + 1..end].trim().to_string()));
                i = end + 1;
            }
            _ => {
                let two = s.get(i..i + 2).unwrap_or("");
                let op = match two {
                    ">=" => Some(">="),
                    "<=" => Some("<="),
                    "==" => Some("=="),
                    "!=" => Some("!="),
                    "=~" => Some("=~"),
                    "!~" => Some("!~"),
                    _ => None,
                };
                if let Some(op) = op {
                    out.push(Tok::Op(op));
                    i += 2;
                    continue;
                }
                let op = match c {
                    b'>' => Some(">"),
                    b'<' => Some("<"),
                    b'=' => Some("="),
                    b'+' => Some("+"),
                    b'-' => Some("-"),
                    b'*' => Some("*"),
                    b'/' => Some("/"),
                    b'%' => Some("%"),
                    b'^' => Some("^"),
                    _ => None,
                };
                if let Some(op) = op {
                    out.push(Tok::Op(op));
                } else if matches!(c, b'(' | b')' | b'{' | b'}' | b',') {
                    out.push(Tok::Punct(c as char));
                } else {
                    return Err(format!(
                        "unexpected character {:?}",
                        s[i..].chars().next().unwrap_or(' ')
                    ));
                }
                i += 1;
            }
        }
    }
    Ok(out)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
];
const AGGREGATIONS: &[&str] = &[
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
];

struct P {
    toks: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }
    fn expect_punct(&mut self, c: char, ctx: &str) -> Result<(), String> {
        match self.next() {
            Some(Tok::Punct(p)) if p == c => Ok(()),
            other => Err(format!(
                "expected {c:?} {ctx}, found {}",
                describe(other.as_ref())
            )),
        }
    }
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "the end of the expression".into(),
        Some(Tok::Ident(s)) => format!("`{s}`"),
        Some(Tok::Num(n)) => format!("number {n}"),
        Some(Tok::Str(s)) => format!("string {s:?}"),
        Some(Tok::Range(r)) => format!("range [{r}]"),
        Some(Tok::Op(o)) => format!("operator `{o}`"),
        Some(Tok::Punct(c)) => format!("`{c}`"),
    }
}

fn unsupported_word(w: &str) -> Option<String> {
    if KEYWORDS.contains(&w) {
        Some(format!(
            "unsupported construct `{w}`: one comparison of one series per rule"
        ))
    } else if AGGREGATIONS.contains(&w) {
        Some(format!(
            "unsupported aggregation `{w}`: rules are evaluated per GPU series"
        ))
    } else {
        None
    }
}

fn cmp_op(t: &Tok) -> Option<CmpOp> {
    match t {
        Tok::Op(">") => Some(CmpOp::Gt),
        Tok::Op(">=") => Some(CmpOp::Ge),
        Tok::Op("<") => Some(CmpOp::Lt),
        Tok::Op("<=") => Some(CmpOp::Le),
        Tok::Op("==") => Some(CmpOp::Eq),
        Tok::Op("!=") => Some(CmpOp::Ne),
        _ => None,
    }
}

/// Parses a selector `metric{...}` → field and matchers.
fn selector(p: &mut P, in_range_function: bool) -> Result<(GpuField, Vec<Matcher>), String> {
    let name = match p.next() {
        Some(Tok::Ident(n)) => n,
        other => {
            return Err(format!(
                "expected a metric name, found {}",
                describe(other.as_ref())
            ))
        }
    };
    if let Some(msg) = unsupported_word(&name) {
        return Err(msg);
    }
    if p.peek() == Some(&Tok::Punct('(')) {
        return Err(format!(
            "unsupported function `{name}`: supported are rate, increase, absent and absent_over_time"
        ));
    }
    let field = GpuField::from_name(&name).ok_or_else(|| {
        format!("unknown metric `{name}`: not a dcgm-exporter or gpufleet GPU field")
    })?;
    let mut matchers = Vec::new();
    if p.peek() == Some(&Tok::Punct('{')) {
        p.next();
        loop {
            match p.next() {
                Some(Tok::Punct('}')) => break,
                Some(Tok::Ident(label)) => {
                    let op = match p.next() {
                        Some(Tok::Op("=")) => MatchOp::Eq,
                        Some(Tok::Op("!=")) => MatchOp::Ne,
                        Some(Tok::Op("=~")) => MatchOp::Re,
                        Some(Tok::Op("!~")) => MatchOp::NotRe,
                        other => {
                            return Err(format!(
                                "expected =, !=, =~ or !~ after label `{label}`, found {}",
                                describe(other.as_ref())
                            ))
                        }
                    };
                    let value = match p.next() {
                        Some(Tok::Str(v)) => v,
                        other => {
                            return Err(format!(
                                "expected a quoted value for label `{label}`, found {}",
                                describe(other.as_ref())
                            ))
                        }
                    };
                    matchers.push(Matcher::new(&label, op, &value)?);
                    match p.next() {
                        Some(Tok::Punct(',')) => {}
                        Some(Tok::Punct('}')) => break,
                        other => {
                            return Err(format!(
                                "expected , or }} in the label matchers, found {}",
                                describe(other.as_ref())
                            ))
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "expected a label name, found {}",
                        describe(other.as_ref())
                    ))
                }
            }
        }
    }
    if let Some(Tok::Range(r)) = p.peek().filter(|_| !in_range_function) {
        return Err(format!(
            "a range [{r}] is only supported inside rate, increase or absent_over_time"
        ));
    }
    Ok((field, matchers))
}

fn range(p: &mut P, func: &str) -> Result<u64, String> {
    match p.next() {
        Some(Tok::Range(r)) => {
            if r.contains(':') {
                return Err(format!("unsupported subquery [{r}] in {func}"));
            }
            let secs = parse_duration(&r)?;
            if secs == 0 {
                return Err(format!("the range of {func} must be longer than 0"));
            }
            Ok(secs)
        }
        other => Err(format!(
            "{func} needs a range such as [5m], found {}",
            describe(other.as_ref())
        )),
    }
}

fn number(p: &mut P, op: CmpOp) -> Result<f64, String> {
    let neg = if p.peek() == Some(&Tok::Op("-")) {
        p.next();
        true
    } else {
        false
    };
    match p.next() {
        Some(Tok::Num(n)) => Ok(if neg { -n } else { n }),
        Some(Tok::Ident(w)) if w == "bool" => Err("unsupported modifier `bool`".into()),
        Some(Tok::Ident(w)) if GpuField::from_name(&w).is_some() => Err(format!(
            "unsupported comparison of two series (`{}` `{w}`): compare with a number",
            op.as_str()
        )),
        other => Err(format!(
            "expected a number after `{}`, found {}",
            op.as_str(),
            describe(other.as_ref())
        )),
    }
}

/// Parses a supported expression; returns it and the matchers it carries (the rule's scope).
pub fn parse_expr(text: &str) -> Result<(Expr, Vec<Matcher>), String> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = P { toks, i: 0 };
    let (expr, matchers) = match p.peek().cloned() {
        Some(Tok::Ident(w)) if w == "health" || w == "gpu_health" => {
            p.next();
            let op = match p.next() {
                Some(Tok::Op("==")) => CmpOp::Eq,
                Some(Tok::Op("!=")) => CmpOp::Ne,
                other => {
                    return Err(format!(
                        "health is compared with == or != and a state, found {}",
                        describe(other.as_ref())
                    ))
                }
            };
            let state = match p.next() {
                Some(Tok::Ident(s)) | Some(Tok::Str(s)) => HealthState::parse(&s).ok_or_else(|| {
                    format!("unknown health state {s:?}: healthy, unknown, degraded, missing or failed")
                })?,
                other => {
                    return Err(format!(
                        "expected a health state, found {}",
                        describe(other.as_ref())
                    ))
                }
            };
            (Expr::Health { op, state }, Vec::new())
        }
        Some(Tok::Ident(f))
            if matches!(f.as_str(), "rate" | "increase")
                && p.toks.get(1) == Some(&Tok::Punct('(')) =>
        {
            p.next();
            p.next();
            let (field, m) = selector(&mut p, true)?;
            let window_s = range(&mut p, &f)?;
            p.expect_punct(')', &format!("to close {f}("))?;
            let op = p.next().as_ref().and_then(cmp_op).ok_or_else(|| {
                format!("{f}(...) must be compared with a number, e.g. {f}(...) > 0")
            })?;
            let value = number(&mut p, op)?;
            (
                Expr::Rate {
                    field,
                    window_s,
                    increase: f == "increase",
                    op,
                    value,
                },
                m,
            )
        }
        Some(Tok::Ident(f))
            if matches!(f.as_str(), "absent" | "absent_over_time")
                && p.toks.get(1) == Some(&Tok::Punct('(')) =>
        {
            p.next();
            p.next();
            let (field, m) = selector(&mut p, f == "absent_over_time")?;
            let window_s = if f == "absent" {
                300
            } else {
                range(&mut p, &f)?
            };
            p.expect_punct(')', &format!("to close {f}("))?;
            (Expr::Absent { field, window_s }, m)
        }
        Some(Tok::Ident(_)) => {
            let (field, m) = selector(&mut p, false)?;
            let op = match p.next() {
                Some(t) => match cmp_op(&t) {
                    Some(op) => op,
                    None => {
                        return Err(match t {
                            Tok::Ident(w) => unsupported_word(&w)
                                .unwrap_or_else(|| format!("unexpected `{w}` after the metric")),
                            Tok::Op(o) => format!("unsupported arithmetic operator `{o}`"),
                            other => format!("unexpected {} after the metric", describe(Some(&other))),
                        })
                    }
                },
                None => {
                    return Err(
                        "a bare metric fires for every sample: compare it with a number, e.g. `metric > 0`"
                            .into(),
                    )
                }
            };
            let value = number(&mut p, op)?;
            (Expr::Compare { field, op, value }, m)
        }
        Some(Tok::Num(_)) => {
            return Err("put the metric on the left of the comparison (`metric > 85`)".into())
        }
        other => {
            return Err(format!(
                "unsupported expression starting with {}",
                describe(other.as_ref())
            ))
        }
    };
    if let Some(t) = p.next() {
        return Err(match t {
            Tok::Ident(w) => unsupported_word(&w)
                .unwrap_or_else(|| format!("unexpected `{w}` after the comparison")),
            Tok::Op(o) => format!("unsupported operator `{o}` after the comparison"),
            other => format!("unexpected {} after the comparison", describe(Some(&other))),
        });
    }
    Ok((expr, matchers))
}

// ---------------------------------------------------------------------------------------------
// YAML rule files
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
struct RawGroup {
    name: String,
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(flatten)]
    _other: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Deserialize)]
struct RawRule {
    alert: Option<String>,
    record: Option<String>,
    expr: serde_yaml::Value,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// Parses a Prometheus alerting-rule file (`groups: - name, rules: - alert, expr, for, labels,
/// annotations`). The `severity` label sets the severity (critical, warning, info).
pub fn parse_rule_file(yaml: &str) -> Result<Vec<Rule>, RuleError> {
    let file: RawFile = serde_yaml::from_str(yaml).map_err(|e| RuleError::Yaml(e.to_string()))?;
    let mut out = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for g in file.groups {
        for (i, r) in g.rules.into_iter().enumerate() {
            let name = r
                .alert
                .clone()
                .or_else(|| r.record.clone())
                .unwrap_or_else(|| format!("#{}", i + 1));
            let err = |message: String| RuleError::Rule {
                group: g.name.clone(),
                rule: name.clone(),
                message,
            };
            if r.record.is_some() {
                return Err(err(
                    "recording rules are not supported, only alerting rules".into(),
                ));
            }
            if r.alert.is_none() {
                return Err(err("missing `alert`".into()));
            }
            if r.keep_firing_for.is_some() {
                return Err(err("`keep_firing_for` is not supported".into()));
            }
            let expr_text = match &r.expr {
                serde_yaml::Value::String(s) => s.clone(),
                serde_yaml::Value::Number(n) => n.to_string(),
                _ => return Err(err("`expr` must be a string".into())),
            };
            if !names.insert(name.clone()) {
                return Err(err("an alert of this name is already defined".into()));
            }
            out.push(compile_rule(
                &g.name,
                &name,
                &expr_text,
                r.for_.as_deref(),
                r.labels,
                r.annotations,
            )?);
        }
    }
    Ok(out)
}

/// One alerting rule as a Prometheus rule file writes it (`alert`, `expr`, `for`, `labels`,
/// `annotations`, in group `group`): the `severity` label sets the severity (critical,
/// warning, info).
pub fn compile_rule(
    group: &str,
    alert: &str,
    expr_text: &str,
    for_: Option<&str>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> Result<Rule, RuleError> {
    let err = |message: String| RuleError::Rule {
        group: group.to_string(),
        rule: alert.to_string(),
        message,
    };
    let (expr, scope) = parse_expr(expr_text)
        .map_err(|m| err(format!("expression `{}`: {m}", expr_text.trim())))?;
    let for_s = match for_ {
        Some(d) => parse_duration(d).map_err(|m| err(format!("`for`: {m}")))?,
        None => 0,
    };
    let severity = match labels.get("severity").map(|s| s.to_ascii_lowercase()) {
        None => Severity::Warning,
        Some(s) => match s.as_str() {
            "critical" | "page" | "error" => Severity::Critical,
            "warning" | "warn" => Severity::Warning,
            "info" | "none" => Severity::Info,
            other => {
                return Err(err(format!(
                    "unknown severity {other:?}: critical, warning or info"
                )))
            }
        },
    };
    Ok(Rule {
        name: alert.to_string(),
        group: group.to_string(),
        expr,
        expr_text: expr_text.trim().to_string(),
        for_s,
        scope,
        severity,
        labels,
        annotations,
    })
}

/// The default rules, from dcgm-exporter's fields and NVIDIA's XID catalog (code, mnemonic and
/// immediate resolution bucket in each XID rule's annotations).
pub const DEFAULT_RULES_YAML: &str = r#"groups:
  - name: gpufleet-gpu-health
    rules:
      - alert: GpuHealthFailed
        expr: health == failed
        labels: {severity: critical}
        annotations:
          summary: "GPU {{ $labels.gpu }} on {{ $labels.node }} is failed"
      - alert: GpuHealthDegraded
        expr: health == degraded
        for: 15m
        labels: {severity: warning}
        annotations:
          summary: "GPU {{ $labels.gpu }} on {{ $labels.node }} has been degraded for 15 minutes"
      - alert: GpuTelemetryMissing
        expr: absent_over_time(DCGM_FI_DEV_GPU_TEMP[2m])
        labels: {severity: warning}
        annotations:
          summary: "No telemetry from GPU {{ $labels.gpu }} for 2 minutes"
  - name: gpufleet-xid
    rules:
      - alert: GpuXid79FallenOffBus
        expr: DCGM_FI_DEV_XID_ERRORS == 79
        labels: {severity: critical, xid: "79", bucket: RESTART_BM}
        annotations:
          summary: "XID 79 ROBUST_CHANNEL_GPU_HAS_FALLEN_OFF_THE_BUS on {{ $labels.node }}"
          resolution: "Restart bare metal; if it recurs, contact support (CONTACT_SUPPORT)."
      - alert: GpuXid48DoubleBitEcc
        expr: DCGM_FI_DEV_XID_ERRORS == 48
        labels: {severity: critical, xid: "48", bucket: WORKFLOW_XID_48}
        annotations:
          summary: "XID 48 ROBUST_CHANNEL_GPU_ECC_DBE (double bit ECC error)"
          resolution: "Reset the GPU; with XID 63/64 drain and reset; run field diagnostics."
      - alert: GpuXid64RemapFailure
        expr: DCGM_FI_DEV_XID_ERRORS == 64
        labels: {severity: critical, xid: "64", bucket: RESET_GPU}
        annotations:
          summary: "XID 64 INFOROM_DRAM_RETIREMENT_FAILURE (memory remapping failure)"
          resolution: "Reset the GPU; contact support if it recurs."
      - alert: GpuXid74NvlinkError
        expr: DCGM_FI_DEV_XID_ERRORS == 74
        labels: {severity: critical, xid: "74", bucket: WORKFLOW_NVLINK_ERR}
        annotations:
          summary: "XID 74 NVLINK_ERROR"
          resolution: "Decode the NVLink registers in the message; reset the GPU or reboot the node."
      - alert: GpuXid95UncontainedError
        expr: DCGM_FI_DEV_XID_ERRORS == 95
        labels: {severity: critical, xid: "95", bucket: RESET_GPU}
        annotations:
          summary: "XID 95 ROBUST_CHANNEL_UNCONTAINED_ERROR (uncontained memory error)"
          resolution: "Reset the GPU before applications restart."
      - alert: GpuXid119GspTimeout
        expr: DCGM_FI_DEV_XID_ERRORS == 119
        labels: {severity: critical, xid: "119", bucket: RESET_GPU}
        annotations:
          summary: "XID 119 GSP_RPC_TIMEOUT"
          resolution: "Reset the GPU or power-cycle the node; follow the GPU debug guidelines if it recurs."
      - alert: GpuXid94ContainedError
        expr: DCGM_FI_DEV_XID_ERRORS == 94
        labels: {severity: warning, xid: "94", bucket: RESTART_APP}
        annotations:
          summary: "XID 94 ROBUST_CHANNEL_CONTAINED_ERROR (contained memory error)"
          resolution: "Restart the application; reset the GPU when convenient."
  - name: gpufleet-dcgm
    rules:
      - alert: GpuTemperatureHigh
        expr: DCGM_FI_DEV_GPU_TEMP > 85
        for: 5m
        labels: {severity: warning}
        annotations:
          summary: "GPU temperature {{ $value }} C above 85 C for 5 minutes"
      - alert: GpuMemoryTemperatureHigh
        expr: DCGM_FI_DEV_MEMORY_TEMP > 95
        for: 5m
        labels: {severity: warning}
        annotations:
          summary: "HBM temperature {{ $value }} C above 95 C for 5 minutes"
      - alert: GpuEccDoubleBitErrors
        expr: increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[10m]) > 0
        labels: {severity: critical}
        annotations:
          summary: "{{ $value }} uncorrectable ECC errors in 10 minutes"
      - alert: GpuEccSingleBitErrorsHigh
        expr: increase(DCGM_FI_DEV_ECC_SBE_VOL_TOTAL[1h]) > 100
        labels: {severity: warning}
        annotations:
          summary: "{{ $value }} correctable ECC errors in an hour"
      - alert: GpuRowRemapFailure
        expr: DCGM_FI_DEV_ROW_REMAP_FAILURE > 0
        labels: {severity: critical}
        annotations:
          summary: "Row remapping failed: the GPU needs service"
      - alert: GpuUncorrectableRowsRemapped
        expr: increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[1h]) > 0
        labels: {severity: warning}
        annotations:
          summary: "Rows remapped for uncorrectable errors: reset the GPU when idle"
      - alert: GpuPcieReplays
        expr: rate(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[10m]) > 0.1
        for: 10m
        labels: {severity: warning}
        annotations:
          summary: "PCIe replays at {{ $value }}/s"
      - alert: GpuNvlinkCrcErrors
        expr: increase(DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL[10m]) > 100
        labels: {severity: warning}
        annotations:
          summary: "{{ $value }} NVLink flit CRC errors in 10 minutes"
      - alert: GpuPowerBrake
        expr: DCGM_FI_DEV_CLOCK_THROTTLE_REASONS >= 128
        for: 2m
        labels: {severity: warning}
        annotations:
          summary: "Clock event reasons {{ $value }} (power brake or higher bits) for 2 minutes"
"#;

/// The default rules, parsed.
pub fn default_rules() -> Result<Vec<Rule>, RuleError> {
    parse_rule_file(DEFAULT_RULES_YAML)
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// Raised or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransitionKind {
    Raised,
    Resolved,
}

/// An alert that started firing or stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTransition {
    pub kind: TransitionKind,
    pub rule: String,
    /// The series (GPU) it is about.
    pub series: String,
    pub severity: Severity,
    /// `alertname`, the rule's labels and the series' labels.
    pub labels: BTreeMap<String, String>,
    /// The rule's annotations with `{{ $labels.x }}` and `{{ $value }}` filled in.
    pub annotations: BTreeMap<String, String>,
    pub value: Option<f64>,
    /// When the condition became true (start of pending).
    pub active_since: Nanos,
    /// When it fired (for `resolved`, when it had fired).
    pub fired_at: Option<Nanos>,
    pub at: Nanos,
}

/// Phase of an active alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertPhase {
    Pending,
    Firing,
}

/// A pending or firing alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAlert {
    pub rule: String,
    pub series: String,
    pub phase: AlertPhase,
    pub since: Nanos,
    pub fired_at: Option<Nanos>,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, Default)]
struct RuleState {
    /// Start of the current true run (pending or firing).
    since: Option<Nanos>,
    fired_at: Option<Nanos>,
    value: Option<f64>,
    /// Last sample of the field (absent rules).
    last_seen: Nanos,
    /// `(at, value)` within the window (rate rules).
    window: VecDeque<(Nanos, f64)>,
}

/// The states of one series, by rule index: a handful per series, so a small vector beats a
/// hash map.
#[derive(Debug, Clone, Default)]
struct RuleStates(Vec<(usize, RuleState)>);

impl RuleStates {
    fn entry(&mut self, rule: usize) -> &mut RuleState {
        let pos = match self.0.iter().position(|(r, _)| *r == rule) {
            Some(p) => p,
            None => {
                self.0.push((rule, RuleState::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[pos].1
    }
    fn get_mut(&mut self, rule: &usize) -> Option<&mut RuleState> {
        self.0.iter_mut().find(|(r, _)| r == rule).map(|(_, s)| s)
    }
    fn insert(&mut self, rule: usize, state: RuleState) {
        *self.entry(rule) = state;
    }
    fn iter(&self) -> impl Iterator<Item = (&usize, &RuleState)> {
        self.0.iter().map(|(r, s)| (r, s))
    }
}

#[derive(Debug, Clone, Default)]
struct Series {
    labels: BTreeMap<String, String>,
    states: RuleStates,
    /// The absent rules watching this series (their states are in `states`).
    absent: Vec<usize>,
}

/// Evaluates rules on the stream of samples and health changes; see the module documentation.
#[derive(Debug, Clone)]
pub struct AlertEvaluator {
    rules: Vec<Rule>,
    by_field: HashMap<GpuField, Vec<usize>>,
    health_rules: Vec<usize>,
    absent_rules: Vec<usize>,
    series: HashMap<String, Series>,
    /// `(series, rule)` of pending alerts, for `tick` to promote without visiting every series.
    pending: BTreeSet<(String, usize)>,
}

impl AlertEvaluator {
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut by_field: HashMap<GpuField, Vec<usize>> = HashMap::new();
        let mut health_rules = Vec::new();
        let mut absent_rules = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match &r.expr {
                Expr::Health { .. } => health_rules.push(i),
                Expr::Absent { field, .. } => {
                    absent_rules.push(i);
                    by_field.entry(*field).or_default().push(i);
                }
                e => {
                    if let Some(f) = e.field() {
                        by_field.entry(f).or_default().push(i);
                    }
                }
            }
        }
        Self {
            rules,
            by_field,
            health_rules,
            absent_rules,
            series: HashMap::new(),
            pending: BTreeSet::new(),
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    fn touch_series(&mut self, series: &str, labels: &BTreeMap<String, String>, at: Nanos) {
        if let Some(s) = self.series.get_mut(series) {
            if &s.labels != labels {
                s.labels = labels.clone();
            }
            return;
        }
        let mut s = Series {
            labels: labels.clone(),
            states: RuleStates::default(),
            absent: Vec::new(),
        };
        for &i in &self.absent_rules {
            if self.rules[i].in_scope(labels) {
                s.absent.push(i);
                s.states.insert(
                    i,
                    RuleState {
                        last_seen: at,
                        ..Default::default()
                    },
                );
            }
        }
        self.series.insert(series.to_string(), s);
    }

    /// Takes one series' values at `at`. `labels` are the series' labels (sample labels plus
    /// the CMDB's rack, model, profile, node, gpu).
    pub fn observe(
        &mut self,
        series: &str,
        labels: &BTreeMap<String, String>,
        at: Nanos,
        values: &[(GpuField, f64)],
    ) -> Vec<AlertTransition> {
        self.touch_series(series, labels, at);
        let mut out = Vec::new();
        let Some(s) = self.series.get_mut(series) else {
            return out;
        };
        for &(field, v) in values {
            let Some(idxs) = self.by_field.get(&field) else {
                continue;
            };
            for &i in idxs {
                let rule = &self.rules[i];
                if !rule.in_scope(&s.labels) {
                    continue;
                }
                let st = s.states.entry(i);
                let cond = match &rule.expr {
                    Expr::Compare { op, value, .. } => {
                        st.value = Some(v);
                        op.apply(v, *value)
                    }
                    Expr::Rate {
                        window_s,
                        increase,
                        op,
                        value,
                        ..
                    } => {
                        let horizon = at.saturating_sub(*window_s as i64 * SECOND);
                        st.window.push_back((at, v));
                        while st.window.front().is_some_and(|(t, _)| *t < horizon) {
                            st.window.pop_front();
                        }
                        match window_increase(&st.window) {
                            Some((inc, secs)) => {
                                let x = if *increase {
                                    inc
                                } else if secs > 0.0 {
                                    inc / secs
                                } else {
                                    0.0
                                };
                                st.value = Some(x);
                                op.apply(x, *value)
                            }
                            None => false,
                        }
                    }
                    Expr::Absent { .. } => {
                        st.last_seen = st.last_seen.max(at);
                        st.value = None;
                        false
                    }
                    Expr::Health { .. } => continue,
                };
                let before = is_pending(st);
                step(rule, series, &s.labels, st, cond, at, &mut out);
                track(&mut self.pending, series, i, before, st);
            }
        }
        out
    }

    /// Takes a series' derived health.
    pub fn observe_health(
        &mut self,
        series: &str,
        labels: &BTreeMap<String, String>,
        at: Nanos,
        state: HealthState,
    ) -> Vec<AlertTransition> {
        self.touch_series(series, labels, at);
        let mut out = Vec::new();
        let Some(s) = self.series.get_mut(series) else {
            return out;
        };
        for &i in &self.health_rules {
            let rule = &self.rules[i];
            if !rule.in_scope(&s.labels) {
                continue;
            }
            let Expr::Health { op, state: want } = &rule.expr else {
                continue;
            };
            let cond = match op {
                CmpOp::Ne => state != *want,
                _ => state == *want,
            };
            let st = s.states.entry(i);
            let before = is_pending(st);
            step(rule, series, &s.labels, st, cond, at, &mut out);
            track(&mut self.pending, series, i, before, st);
        }
        out
    }

    /// Advances time: absent rules and pending alerts whose `for` has run out. Output sorted by
    /// rule, then series.
    pub fn tick(&mut self, now: Nanos) -> Vec<AlertTransition> {
        let mut out = Vec::new();
        for (id, s) in self.series.iter_mut() {
            for &i in &s.absent {
                let rule = &self.rules[i];
                let (Expr::Absent { window_s, .. }, Some(st)) = (&rule.expr, s.states.get_mut(&i))
                else {
                    continue;
                };
                let cond = now.saturating_sub(st.last_seen) >= *window_s as i64 * SECOND;
                let before = is_pending(st);
                step(rule, id, &s.labels, st, cond, now, &mut out);
                track(&mut self.pending, id, i, before, st);
            }
        }
        let due: Vec<(String, usize)> = self.pending.iter().cloned().collect();
        for (id, i) in due {
            let rule = &self.rules[i];
            if matches!(rule.expr, Expr::Absent { .. }) {
                continue; // stepped above with its own condition
            }
            let Some(s) = self.series.get_mut(&id) else {
                continue;
            };
            let Some(st) = s.states.get_mut(&i) else {
                continue;
            };
            let before = is_pending(st);
            step(rule, &id, &s.labels, st, true, now, &mut out);
            track(&mut self.pending, &id, i, before, st);
        }
        out.sort_by(|a, b| (&a.rule, &a.series).cmp(&(&b.rule, &b.series)));
        out
    }

    /// Pending and firing alerts, sorted by rule and series.
    pub fn active(&self) -> Vec<ActiveAlert> {
        let mut out: Vec<ActiveAlert> = self
            .series
            .iter()
            .flat_map(|(id, s)| {
                s.states.iter().filter_map(move |(&i, st)| {
                    st.since.map(|since| ActiveAlert {
                        rule: self.rules[i].name.clone(),
                        series: id.clone(),
                        phase: if st.fired_at.is_some() {
                            AlertPhase::Firing
                        } else {
                            AlertPhase::Pending
                        },
                        since,
                        fired_at: st.fired_at,
                        value: st.value,
                    })
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.rule, &a.series).cmp(&(&b.rule, &b.series)));
        out
    }

    /// Ends evaluation: a `resolved` transition at `now` for every firing alert (sorted by
    /// rule, then series), and no state left.
    pub fn resolve_all(&mut self, now: Nanos) -> Vec<AlertTransition> {
        let mut out = Vec::new();
        for (id, s) in &self.series {
            for (&i, st) in s.states.iter() {
                if st.fired_at.is_some() {
                    out.push(transition(
                        &self.rules[i],
                        id,
                        &s.labels,
                        st,
                        TransitionKind::Resolved,
                        now,
                    ));
                }
            }
        }
        self.series.clear();
        self.pending.clear();
        out.sort_by(|a, b| (&a.rule, &a.series).cmp(&(&b.rule, &b.series)));
        out
    }
}

/// Sum of increases (counter resets count the value after the reset) and the time spanned.
fn window_increase(w: &VecDeque<(Nanos, f64)>) -> Option<(f64, f64)> {
    if w.len() < 2 {
        return None;
    }
    let mut inc = 0.0;
    let mut prev = w.front()?.1;
    for &(_, v) in w.iter().skip(1) {
        inc += if v >= prev { v - prev } else { v };
        prev = v;
    }
    let secs = (w.back()?.0 - w.front()?.0) as f64 / SECOND as f64;
    Some((inc, secs))
}

fn is_pending(st: &RuleState) -> bool {
    st.since.is_some() && st.fired_at.is_none()
}

/// Keeps the pending index in step with a state that may have changed.
fn track(
    pending: &mut BTreeSet<(String, usize)>,
    series: &str,
    rule: usize,
    before: bool,
    st: &RuleState,
) {
    match (before, is_pending(st)) {
        (false, true) => {
            pending.insert((series.to_string(), rule));
        }
        (true, false) => {
            pending.remove(&(series.to_string(), rule));
        }
        _ => {}
    }
}

fn step(
    rule: &Rule,
    series: &str,
    labels: &BTreeMap<String, String>,
    st: &mut RuleState,
    cond: bool,
    at: Nanos,
    out: &mut Vec<AlertTransition>,
) {
    if cond {
        let since = *st.since.get_or_insert(at);
        if st.fired_at.is_none() && at.saturating_sub(since) >= rule.for_s as i64 * SECOND {
            st.fired_at = Some(at);
            out.push(transition(
                rule,
                series,
                labels,
                st,
                TransitionKind::Raised,
                at,
            ));
        }
    } else if st.since.is_some() {
        if st.fired_at.is_some() {
            out.push(transition(
                rule,
                series,
                labels,
                st,
                TransitionKind::Resolved,
                at,
            ));
        }
        st.since = None;
        st.fired_at = None;
    }
}

fn transition(
    rule: &Rule,
    series: &str,
    series_labels: &BTreeMap<String, String>,
    st: &RuleState,
    kind: TransitionKind,
    at: Nanos,
) -> AlertTransition {
    let mut labels = series_labels.clone();
    labels.extend(rule.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert("alertname".into(), rule.name.clone());
    let annotations = rule
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), render(v, &labels, st.value)))
        .collect();
    AlertTransition {
        kind,
        rule: rule.name.clone(),
        series: series.to_string(),
        severity: rule.severity,
        labels,
        annotations,
        value: st.value,
        active_since: st.since.unwrap_or(at),
        fired_at: st.fired_at,
        at,
    }
}

/// Fills `{{ $labels.x }}` and `{{ $value }}` (other template syntax is left as written).
fn render(template: &str, labels: &BTreeMap<String, String>, value: Option<f64>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = rest[start + 2..start + end].trim();
        if inner == "$value" {
            match value {
                Some(v) => out.push_str(&v.to_string()),
                None => out.push_str("none"),
            }
        } else if let Some(l) = inner.strip_prefix("$labels.") {
            out.push_str(labels.get(l).map_or("", String::as_str));
        } else {
            out.push_str(&rest[start..start + end + 2]);
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Nanos = 1_700_000_000 * SECOND;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m").unwrap(), 300);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400);
        assert_eq!(parse_duration("500ms").unwrap(), 1);
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn parses_supported_forms() {
        let (e, m) = parse_expr(
            r#"DCGM_FI_DEV_GPU_TEMP{modelName=~"NVIDIA H100.*|A100.*", rack!="r9"} > 85"#,
        )
        .unwrap();
        assert_eq!(
            e,
            Expr::Compare {
                field: GpuField::GpuTemp,
                op: CmpOp::Gt,
                value: 85.0
            }
        );
        assert_eq!(m.len(), 2);
        assert!(m[0].matches(&labels(&[("modelName", "NVIDIA H100 80GB HBM3")])));
        assert!(!m[0].matches(&labels(&[("modelName", "NVIDIA L40S")])));
        assert!(m[1].matches(&labels(&[])));
        let (e, _) = parse_expr("rate(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[5m]) > 0").unwrap();
        assert!(matches!(
            e,
            Expr::Rate {
                window_s: 300,
                increase: false,
                ..
            }
        ));
        let (e, _) = parse_expr("absent_over_time(gpu_temp[10m])").unwrap();
        assert_eq!(
            e,
            Expr::Absent {
                field: GpuField::GpuTemp,
                window_s: 600
            }
        );
        let (e, _) = parse_expr("absent(DCGM_FI_DEV_GPU_TEMP{gpu=\"0\"})").unwrap();
        assert_eq!(
            e,
            Expr::Absent {
                field: GpuField::GpuTemp,
                window_s: 300
            }
        );
        let (e, _) = parse_expr("health == \"failed\"").unwrap();
        assert_eq!(
            e,
            Expr::Health {
                op: CmpOp::Eq,
                state: HealthState::Failed
            }
        );
        let (e, _) = parse_expr("DCGM_FI_DEV_CLOCK_THROTTLE_REASONS >= 0x80").unwrap();
        assert!(matches!(e, Expr::Compare { value, .. } if value == 128.0));
        let (e, _) = parse_expr("gpu_temp < -5").unwrap();
        assert!(matches!(e, Expr::Compare { value, .. } if value == -5.0));
    }

    #[test]
    fn rules_serialise_and_scopes_still_match() {
        let rules = parse_rule_file("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: gpu_temp{model=~\"H100.*\", rack!~\"r9|r8\"} > 1\n").unwrap();
        let json = serde_json::to_string(&rules).unwrap();
        let back: Vec<Rule> = serde_json::from_str(&json).unwrap();
        for r in [&rules[0], &back[0]] {
            assert!(r.in_scope(&labels(&[("model", "H100 SXM"), ("rack", "r1")])));
            assert!(!r.in_scope(&labels(&[("model", "H100 SXM"), ("rack", "r9")])));
            assert!(!r.in_scope(&labels(&[("model", "A100"), ("rack", "r1")])));
        }
    }

    #[test]
    fn refuses_unsupported_with_the_construct() {
        for (expr, needle) in [
            ("sum(DCGM_FI_DEV_GPU_TEMP) > 1", "aggregation `sum`"),
            (
                "avg by (Hostname) (DCGM_FI_DEV_GPU_TEMP) > 1",
                "aggregation `avg`",
            ),
            (
                "DCGM_FI_DEV_GPU_TEMP > 85 and DCGM_FI_DEV_POWER_USAGE > 1",
                "`and`",
            ),
            ("DCGM_FI_DEV_GPU_TEMP * 2 > 85", "arithmetic operator `*`"),
            ("DCGM_FI_DEV_GPU_TEMP", "bare metric"),
            (
                "DCGM_FI_DEV_GPU_TEMP > DCGM_FI_DEV_MEMORY_TEMP",
                "two series",
            ),
            (
                "irate(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[5m]) > 1",
                "unsupported function `irate`",
            ),
            ("DCGM_FI_DEV_GPU_TEMP[5m] > 1", "only supported inside"),
            (
                "rate(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[5m:1m]) > 1",
                "subquery",
            ),
            (
                "rate(DCGM_FI_DEV_PCIE_REPLAY_COUNTER[5m])",
                "compared with a number",
            ),
            ("DCGM_FI_NOT_A_FIELD > 1", "unknown metric"),
            (
                "DCGM_FI_DEV_GPU_TEMP{a=~\"x[0-9]\"} > 1",
                "regular expression",
            ),
            ("85 < DCGM_FI_DEV_GPU_TEMP", "on the left"),
            ("health > failed", "== or !="),
            ("health == sad", "unknown health state"),
            ("DCGM_FI_DEV_GPU_TEMP > bool 1", "`bool`"),
            ("DCGM_FI_DEV_GPU_TEMP > 1 offset 5m", "`offset`"),
        ] {
            let err = parse_expr(expr).unwrap_err();
            assert!(err.contains(needle), "{expr}: {err}");
        }
    }

    #[test]
    fn yaml_errors_name_rule_and_construct() {
        let y = "groups:\n  - name: g1\n    rules:\n      - alert: Ok\n        expr: gpu_temp > 1\n      - alert: Bad\n        expr: sum(gpu_temp) > 1\n";
        let err = parse_rule_file(y).unwrap_err();
        assert_eq!(
            err.to_string(),
            "group \"g1\", rule \"Bad\": expression `sum(gpu_temp) > 1`: unsupported aggregation `sum`: rules are evaluated per GPU series"
        );
        let y = "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: gpu_temp\n";
        assert!(parse_rule_file(y)
            .unwrap_err()
            .to_string()
            .contains("recording rules"));
        let y = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: gpu_temp > 1\n        for: soon\n";
        assert!(parse_rule_file(y)
            .unwrap_err()
            .to_string()
            .contains("`for`"));
        assert!(matches!(
            parse_rule_file("groups: [").unwrap_err(),
            RuleError::Yaml(_)
        ));
        let y = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: gpu_temp > 1\n        labels: {severity: dire}\n";
        assert!(parse_rule_file(y)
            .unwrap_err()
            .to_string()
            .contains("unknown severity"));
    }

    #[test]
    fn default_rules_parse() {
        let rules = default_rules().unwrap();
        assert!(rules.len() >= 15);
        assert!(rules
            .iter()
            .any(|r| r.name == "GpuXid79FallenOffBus" && r.severity == Severity::Critical));
    }

    #[test]
    fn threshold_with_for_pending_firing_resolved() {
        let rules = parse_rule_file("groups:\n  - name: g\n    rules:\n      - alert: Hot\n        expr: DCGM_FI_DEV_GPU_TEMP{rack=\"r1\"} > 85\n        for: 1m\n        labels: {severity: warning}\n        annotations: {summary: \"{{ $labels.node }} at {{ $value }} C\"}\n").unwrap();
        let mut ev = AlertEvaluator::new(rules);
        let l = labels(&[("rack", "r1"), ("node", "n1")]);
        let other = labels(&[("rack", "r2")]);
        assert!(ev
            .observe("g0", &l, T0, &[(GpuField::GpuTemp, 90.0)])
            .is_empty());
        assert!(ev
            .observe("g9", &other, T0, &[(GpuField::GpuTemp, 99.0)])
            .is_empty());
        assert_eq!(ev.active()[0].phase, AlertPhase::Pending);
        assert!(ev
            .observe("g0", &l, T0 + 30 * SECOND, &[(GpuField::GpuTemp, 91.0)])
            .is_empty());
        let t = ev.tick(T0 + 60 * SECOND);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].kind, TransitionKind::Raised);
        assert_eq!(t[0].annotations["summary"], "n1 at 91 C");
        assert_eq!(t[0].labels["alertname"], "Hot");
        assert_eq!(t[0].active_since, T0);
        assert!(ev.tick(T0 + 61 * SECOND).is_empty());
        let t = ev.observe("g0", &l, T0 + 90 * SECOND, &[(GpuField::GpuTemp, 70.0)]);
        assert_eq!(t[0].kind, TransitionKind::Resolved);
        assert_eq!(t[0].fired_at, Some(T0 + 60 * SECOND));
        assert!(ev.active().is_empty());
        // A short spike below `for` never fires.
        ev.observe("g0", &l, T0 + 100 * SECOND, &[(GpuField::GpuTemp, 90.0)]);
        assert!(ev
            .observe("g0", &l, T0 + 110 * SECOND, &[(GpuField::GpuTemp, 70.0)])
            .is_empty());
    }

    #[test]
    fn rate_and_increase_handle_resets() {
        let rules = parse_rule_file("groups:\n  - name: g\n    rules:\n      - alert: Dbe\n        expr: rate(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[5m]) > 0\n      - alert: Sbe\n        expr: increase(ecc_sbe_vol_total[10m]) >= 10\n").unwrap();
        let mut ev = AlertEvaluator::new(rules);
        let l = labels(&[]);
        let f = GpuField::EccDbeVolTotal;
        assert!(ev.observe("g", &l, T0, &[(f, 3.0)]).is_empty());
        assert!(ev
            .observe("g", &l, T0 + 30 * SECOND, &[(f, 3.0)])
            .is_empty());
        let t = ev.observe("g", &l, T0 + 60 * SECOND, &[(f, 4.0)]);
        assert_eq!(t[0].kind, TransitionKind::Raised);
        assert!((t[0].value.unwrap() - 1.0 / 60.0).abs() < 1e-9);
        // After the window passes with no new errors it resolves.
        let t = ev.observe("g", &l, T0 + 400 * SECOND, &[(f, 4.0)]);
        assert_eq!(t[0].kind, TransitionKind::Resolved);
        let s = GpuField::EccSbeVolTotal;
        ev.observe("g", &l, T0, &[(s, 100.0)]);
        ev.observe("g", &l, T0 + 60 * SECOND, &[(s, 105.0)]);
        // Reset to 0 then 6: increase = 5 + 6 = 11.
        ev.observe("g", &l, T0 + 120 * SECOND, &[(s, 0.0)]);
        let t = ev.observe("g", &l, T0 + 180 * SECOND, &[(s, 6.0)]);
        assert_eq!(t[0].rule, "Sbe");
        assert_eq!(t[0].value, Some(11.0));
    }

    #[test]
    fn absent_and_health_rules() {
        let rules = parse_rule_file("groups:\n  - name: g\n    rules:\n      - alert: Gone\n        expr: absent_over_time(DCGM_FI_DEV_GPU_TEMP[2m])\n      - alert: Failed\n        expr: health == failed\n        for: 30s\n").unwrap();
        let mut ev = AlertEvaluator::new(rules);
        let l = labels(&[("gpu", "0")]);
        ev.observe("g", &l, T0, &[(GpuField::GpuTemp, 40.0)]);
        assert!(ev.tick(T0 + 119 * SECOND).is_empty());
        let t = ev.tick(T0 + 120 * SECOND);
        assert_eq!(
            (t[0].rule.as_str(), t[0].kind),
            ("Gone", TransitionKind::Raised)
        );
        let t = ev.observe("g", &l, T0 + 130 * SECOND, &[(GpuField::GpuTemp, 40.0)]);
        assert_eq!(t[0].kind, TransitionKind::Resolved);
        // A series first seen through another field is watched from then on.
        ev.observe("h", &l, T0, &[(GpuField::PowerUsage, 100.0)]);
        assert!(ev.tick(T0 + 125 * SECOND).iter().any(|t| t.series == "h"));

        assert!(ev
            .observe_health("g", &l, T0, HealthState::Failed)
            .is_empty());
        let t = ev.tick(T0 + 30 * SECOND);
        assert!(t
            .iter()
            .any(|t| t.rule == "Failed" && t.kind == TransitionKind::Raised));
        let t = ev.observe_health("g", &l, T0 + 40 * SECOND, HealthState::Healthy);
        assert_eq!(t[0].kind, TransitionKind::Resolved);
    }

    #[test]
    fn render_templates() {
        let l = labels(&[("node", "n1")]);
        assert_eq!(
            render("{{ $labels.node }}/{{$value}}/{{ .Other }}", &l, Some(2.5)),
            "n1/2.5/{{ .Other }}"
        );
        assert_eq!(render("x {{ $value }} {{", &l, None), "x none {{");
    }
}
