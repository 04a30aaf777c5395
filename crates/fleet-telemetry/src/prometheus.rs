//! Prometheus text exposition format (version 0.0.4), as served by dcgm-exporter's `/metrics`.
//!
//! ```text
//! # HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).
//! # TYPE DCGM_FI_DEV_GPU_TEMP gauge
//! DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-…",Hostname="node1"} 41 1700000000000
//! ```
//!
//! Label values escape `\\`, `\"` and `\n`; HELP text escapes `\\` and `\n`. Values are Go floats
//! including `NaN`, `+Inf` and `-Inf`; the optional timestamp is milliseconds since the epoch.
//! A bad line is reported with its number and does not stop the parse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::line_protocol::LineError;

/// The declared type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl MetricType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => Self::Counter,
            "gauge" => Self::Gauge,
            "histogram" => Self::Histogram,
            "summary" => Self::Summary,
            "untyped" => Self::Untyped,
            _ => return None,
        })
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromSample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// Milliseconds since the epoch, when the line had one.
    pub timestamp_ms: Option<i64>,
}

/// HELP and TYPE of a family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyMeta {
    pub help: Option<String>,
    pub metric_type: Option<MetricType>,
}

/// The result of parsing an exposition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposition {
    pub samples: Vec<PromSample>,
    pub families: BTreeMap<String, FamilyMeta>,
    pub errors: Vec<LineError>,
}

impl Exposition {
    pub fn metric_type(&self, name: &str) -> Option<MetricType> {
        self.families.get(name).and_then(|f| f.metric_type)
    }
}

/// Longest line accepted (dcgm-exporter lines are a few hundred bytes).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Parses a whole exposition.
pub fn parse(text: &str) -> Exposition {
    let mut out = Exposition::default();
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx + 1;
        let result = if line.len() > MAX_LINE_BYTES {
            Err(format!(
                "line is {} bytes, longer than the limit of {MAX_LINE_BYTES}",
                line.len()
            ))
        } else {
            parse_line(line, &mut out)
        };
        if let Err(message) = result {
            out.errors.push(LineError {
                line: line_no,
                message,
            });
        }
    }
    out
}

fn parse_line(line: &str, out: &mut Exposition) -> Result<(), String> {
    let line = line.trim_start_matches([' ', '\t']);
    if line.is_empty() {
        return Ok(());
    }
    if let Some(comment) = line.strip_prefix('#') {
        let comment = comment.trim_start_matches([' ', '\t']);
        let (kind, rest) = split_word(comment);
        if kind != "HELP" && kind != "TYPE" {
            return Ok(()); // an ordinary comment
        }
        let (name, rest) = split_word(rest);
        if !is_metric_name(name) {
            return Err(format!("{kind} line names an invalid metric {name:?}"));
        }
        let meta = out.families.entry(name.to_string()).or_default();
        if kind == "HELP" {
            meta.help = Some(unescape_help(rest));
        } else {
            let t = rest.trim();
            meta.metric_type = Some(MetricType::parse(t).ok_or_else(|| {
                format!(
                    "unknown metric type {t:?} for {name}: expected counter, gauge, histogram, summary or untyped"
                )
            })?);
        }
        return Ok(());
    }

    let bytes = line.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() && is_name_byte(bytes[pos], pos == 0) {
        pos += 1;
    }
    let name = &line[..pos];
    if name.is_empty() {
        return Err(format!(
            "expected a metric name at the start of the line, found {:?}",
            line.chars().next().unwrap_or(' ')
        ));
    }
    let mut labels = BTreeMap::new();
    if bytes.get(pos) == Some(&b'{') {
        pos += 1;
        loop {
            while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                pos += 1;
            }
            if bytes.get(pos) == Some(&b'}') {
                pos += 1;
                break;
            }
            let start = pos;
            while pos < bytes.len() && is_label_byte(bytes[pos], pos == start) {
                pos += 1;
            }
            let key = &line[start..pos];
            if key.is_empty() {
                return Err(format!(
                    "expected a label name in {name} at column {}",
                    pos + 1
                ));
            }
            while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                pos += 1;
            }
            if bytes.get(pos) != Some(&b'=') || bytes.get(pos + 1) != Some(&b'"') {
                return Err(format!(
                    "label {key:?} of {name} must be followed by =\"value\""
                ));
            }
            pos += 2;
            let mut value = String::new();
            let mut seg = pos;
            loop {
                match bytes.get(pos) {
                    None => return Err(format!("unterminated value of label {key:?} in {name}")),
                    Some(b'"') => {
                        value.push_str(&line[seg..pos]);
                        pos += 1;
                        break;
                    }
                    Some(b'\\') => {
                        value.push_str(&line[seg..pos]);
                        match bytes.get(pos + 1) {
                            Some(b'n') => value.push('\n'),
                            Some(b'\\') => value.push('\\'),
                            Some(b'"') => value.push('"'),
                            other => {
                                return Err(format!(
                                    "invalid escape \\{} in label {key:?} of {name}: only \\\\, \\\" and \\n",
                                    other.map(|b| *b as char).unwrap_or(' ')
                                ))
                            }
                        }
                        pos += 2;
                        seg = pos;
                    }
                    Some(_) => pos += 1,
                }
            }
            if labels.insert(key.to_string(), value).is_some() {
                return Err(format!("label {key:?} repeated in {name}"));
            }
            while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                pos += 1;
            }
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b'}') => {
                    pos += 1;
                    break;
                }
                _ => {
                    return Err(format!(
                        "expected ',' or '}}' after label {key:?} of {name}"
                    ))
                }
            }
        }
    }
    let rest = line[pos..].trim();
    if rest.len() == line[pos..].len() && !rest.is_empty() {
        return Err(format!("expected a space after {name}"));
    }
    let mut parts = rest.split_ascii_whitespace();
    let raw_value = parts
        .next()
        .ok_or_else(|| format!("sample {name} has no value"))?;
    let value =
        parse_value(raw_value).ok_or_else(|| format!("invalid value {raw_value:?} for {name}"))?;
    let timestamp_ms =
        match parts.next() {
            None => None,
            Some(t) => Some(t.parse::<i64>().map_err(|_| {
                format!("invalid timestamp {t:?} for {name}: expected milliseconds")
            })?),
        };
    if let Some(extra) = parts.next() {
        return Err(format!(
            "unexpected {extra:?} after the timestamp of {name}"
        ));
    }
    out.samples.push(PromSample {
        name: name.to_string(),
        labels,
        value,
        timestamp_ms,
    });
    Ok(())
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], s[i + 1..].trim_start_matches([' ', '\t'])),
        None => (s, ""),
    }
}

fn is_name_byte(b: u8, first: bool) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || (!first && b.is_ascii_digit())
}

fn is_label_byte(b: u8, first: bool) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || (!first && b.is_ascii_digit())
}

fn is_metric_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().enumerate().all(|(i, b)| is_name_byte(b, i == 0))
}

fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a sample value: Go float syntax plus `NaN`, `+Inf`, `-Inf`, `Inf`.
pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => {
            if s.bytes()
                .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
            {
                return None; // reject Rust's own "inf"/"infinity"/"nan" spellings
            }
            s.parse().ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DCGM: &str = r#"# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).
# TYPE DCGM_FI_DEV_GPU_TEMP gauge
DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-5fb0f0ab-1b4c-2c4d-8e4f-0123456789ab",pci_bus_id="00000000:3B:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="node-001",DCGM_FI_DRIVER_VERSION="550.54.15"} 41
# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-5fb0f0ab-1b4c-2c4d-8e4f-0123456789ab"} 69.742000 1700000000123
"#;

    #[test]
    fn parses_dcgm_exporter_output() {
        let e = parse(DCGM);
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        assert_eq!(e.samples.len(), 2);
        assert_eq!(e.samples[0].labels["modelName"], "NVIDIA H100 80GB HBM3");
        assert_eq!(e.samples[0].value, 41.0);
        assert_eq!(e.samples[1].timestamp_ms, Some(1_700_000_000_123));
        assert_eq!(
            e.metric_type("DCGM_FI_DEV_GPU_TEMP"),
            Some(MetricType::Gauge)
        );
        assert_eq!(
            e.families["DCGM_FI_DEV_POWER_USAGE"].help.as_deref(),
            Some("Power draw (in W).")
        );
    }

    #[test]
    fn special_values_escapes_and_spacing() {
        let e = parse(
            "a NaN\nb +Inf\nc -Inf\nd{x=\"q\\\"u\\\\o\\nte\" , y=\"\",} 1.5e3\ne{} 2 -5\n# HELP f multi\\nline \\\\ x\n",
        );
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        assert!(e.samples[0].value.is_nan());
        assert_eq!(e.samples[1].value, f64::INFINITY);
        assert_eq!(e.samples[2].value, f64::NEG_INFINITY);
        assert_eq!(e.samples[3].labels["x"], "q\"u\\o\nte");
        assert_eq!(e.samples[3].labels["y"], "");
        assert_eq!(e.samples[3].value, 1500.0);
        assert_eq!(e.samples[4].timestamp_ms, Some(-5));
        assert_eq!(e.families["f"].help.as_deref(), Some("multi\nline \\ x"));
    }

    #[test]
    fn bad_lines_are_reported_with_numbers() {
        let e = parse(
            "ok 1\nbad{a=1} 2\nbad{a=\"x} 3\nbad 1 2 3\n# TYPE t wrongtype\n{a=\"1\"} 2\nbad inf\nbad{a=\"1\",a=\"2\"} 1\nbad{a=\"\\t\"} 1\nnovalue\nok2 2\n",
        );
        assert_eq!(e.samples.len(), 2);
        let lines: Vec<usize> = e.errors.iter().map(|x| x.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert!(e.errors[3].message.contains("unknown metric type"));
        assert!(e.errors[6].message.contains("repeated"));
    }
}
