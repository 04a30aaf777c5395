//! InfluxDB line protocol: a parser for whole request bodies (partial writes: the good points plus
//! one error per bad line, naming the line) and a writer that serialises points back.
//!
//! Syntax (InfluxDB 1.x/2.x "line protocol" reference):
//!
//! ```text
//! measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]
//! ```
//!
//! - Measurement: `,` and space are escaped with a backslash.
//! - Tag keys, tag values, field keys: `,`, `=` and space are escaped with a backslash.
//! - Field values: float (`1`, `1.5`, `-2e3`), integer (`1i`), unsigned (`1u`), string
//!   (`"..."`, with `\"` and `\\`), boolean (`t`, `T`, `true`, `True`, `TRUE`, `f`, `F`, `false`,
//!   `False`, `FALSE`).
//! - Timestamp: an integer in the request's precision (ns, us, ms, s), stored here in ns.
//! - Lines starting with `#` and blank lines are skipped.
//!
//! A backslash before any other character is a literal backslash; `\\` is one backslash (the
//! writer always writes a backslash as `\\`, so every written point parses back to itself).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Timestamp precision of a write request (`precision=` of `/write` and `/api/v2/write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Ns,
    Us,
    Ms,
    S,
}

impl Precision {
    /// Parses the `precision` query parameter. v1 also names `n`, `u`, `µ` and `h`/`m` (hours and
    /// minutes are not accepted here).
    pub fn parse(s: &str) -> Result<Self, LineProtocolError> {
        match s {
            "ns" | "n" => Ok(Self::Ns),
            "us" | "u" | "µ" | "µs" => Ok(Self::Us),
            "ms" => Ok(Self::Ms),
            "s" => Ok(Self::S),
            other => Err(LineProtocolError::Precision(other.to_string())),
        }
    }

    fn multiplier(self) -> i64 {
        match self {
            Self::Ns => 1,
            Self::Us => 1_000,
            Self::Ms => 1_000_000,
            Self::S => 1_000_000_000,
        }
    }
}

/// A field value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    String(String),
    Boolean(bool),
}

impl FieldValue {
    /// The value as a number (booleans as 0/1); strings have none.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(v) => Some(*v),
            Self::Integer(v) => Some(*v as f64),
            Self::Unsigned(v) => Some(*v as f64),
            Self::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
            Self::String(_) => None,
        }
    }
}

/// One point: a measurement, its tags and fields and an optional timestamp in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub measurement: String,
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, FieldValue)>,
    /// Nanoseconds since the Unix epoch; `None` when the line had none (the receiver then uses
    /// its own receive time).
    pub timestamp: Option<i64>,
}

impl Point {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Limits applied while parsing a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Longest accepted line in bytes (default 64 KiB).
    pub max_line_bytes: usize,
    /// Most fields on one line (default 256).
    pub max_fields: usize,
    /// Most tags on one line (default 64).
    pub max_tags: usize,
    /// Most per-line errors kept; further errors are only counted (default 100).
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line_bytes: 64 * 1024,
            max_fields: 256,
            max_tags: 64,
            max_errors: 100,
        }
    }
}

/// Why one line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("line {line}: {message}")]
pub struct LineError {
    /// 1-based line number in the body.
    pub line: usize,
    pub message: String,
}

/// The result of parsing a body: the accepted points and the rejected lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedBody {
    pub points: Vec<Point>,
    /// The first `max_errors` rejected lines.
    pub errors: Vec<LineError>,
    /// All rejected lines, including those beyond `max_errors`.
    pub rejected_lines: usize,
}

impl ParsedBody {
    /// InfluxDB's partial-write message: the first error and how many lines were dropped.
    pub fn partial_write_message(&self) -> Option<String> {
        let first = self.errors.first()?;
        Some(format!(
            "partial write: {first} dropped={}",
            self.rejected_lines
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineProtocolError {
    #[error("unknown precision {0:?}: use ns, us, ms or s")]
    Precision(String),
    #[error("cannot write {what}: {why}")]
    Write { what: String, why: &'static str },
}

/// Parses a whole body. Bad lines do not stop the parse; each is reported with its line number.
pub fn parse_body(body: &[u8], precision: Precision, limits: &Limits) -> ParsedBody {
    let mut out = ParsedBody::default();
    for (idx, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line_no = idx + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let result = if raw.len() > limits.max_line_bytes {
            Err(format!(
                "line is {} bytes, longer than the limit of {} bytes",
                raw.len(),
                limits.max_line_bytes
            ))
        } else {
            match std::str::from_utf8(raw) {
                Err(e) => Err(format!("not valid UTF-8 at byte {}", e.valid_up_to())),
                Ok(text) => parse_line(text, precision, limits),
            }
        };
        match result {
            Ok(Some(p)) => out.points.push(p),
            Ok(None) => {}
            Err(message) => {
                out.rejected_lines += 1;
                if out.errors.len() < limits.max_errors {
                    out.errors.push(LineError {
                        line: line_no,
                        message,
                    });
                }
            }
        }
    }
    out
}

/// Parses one line; `Ok(None)` for a blank line or a comment.
pub fn parse_line(
    line: &str,
    precision: Precision,
    limits: &Limits,
) -> Result<Option<Point>, String> {
    let trimmed = line.trim_start_matches([' ', '\t']);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let mut c = Cursor {
        s: trimmed.as_bytes(),
        text: trimmed,
        pos: 0,
    };

    // measurement
    let measurement = c.read_escaped(b", ", b", ")?;
    if measurement.is_empty() {
        return Err("missing measurement name".into());
    }

    // tags
    let mut tags = Vec::new();
    while c.peek() == Some(b',') {
        c.pos += 1;
        let key = c.read_escaped(b"=, ", b",= ")?;
        if key.is_empty() {
            return Err(format!("empty tag key at column {}", c.pos + 1));
        }
        if c.peek() != Some(b'=') {
            return Err(format!("tag {key:?} has no value (expected '=')"));
        }
        c.pos += 1;
        let value = c.read_escaped(b", ", b",= ")?;
        if value.is_empty() {
            return Err(format!("tag {key:?} has an empty value"));
        }
        tags.push((key, value));
        if tags.len() > limits.max_tags {
            return Err(format!("more than {} tags", limits.max_tags));
        }
    }

    // fields
    if c.peek() != Some(b' ') {
        return Err(format!(
            "expected a space before the fields at column {}",
            c.pos + 1
        ));
    }
    c.skip_spaces();
    if c.at_end() {
        return Err("missing fields".into());
    }
    let mut fields = Vec::new();
    loop {
        let key = c.read_escaped(b"=, ", b",= ")?;
        if key.is_empty() {
            return Err(format!("empty field key at column {}", c.pos + 1));
        }
        if c.peek() != Some(b'=') {
            return Err(format!("field {key:?} has no value (expected '=')"));
        }
        c.pos += 1;
        let value = c.read_field_value(&key)?;
        let next = c.peek();
        if let Some(other) = next.filter(|b| *b != b',' && *b != b' ') {
            return Err(format!(
                "unexpected {:?} after field {key:?} at column {}",
                other as char,
                c.pos + 1
            ));
        }
        fields.push((key, value));
        if fields.len() > limits.max_fields {
            return Err(format!("more than {} fields", limits.max_fields));
        }
        if next == Some(b',') {
            c.pos += 1;
        } else {
            break;
        }
    }

    // timestamp
    c.skip_spaces();
    let timestamp = if c.at_end() {
        None
    } else {
        let rest = c.text[c.pos..].trim_end_matches([' ', '\t']);
        let raw: i64 = rest
            .parse()
            .map_err(|_| format!("invalid timestamp {rest:?}: expected an integer"))?;
        Some(
            raw.checked_mul(precision.multiplier())
                .ok_or_else(|| format!("timestamp {raw} out of range for precision"))?,
        )
    };

    Ok(Some(Point {
        measurement,
        tags,
        fields,
        timestamp,
    }))
}

struct Cursor<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Reads up to an unescaped stop byte; `escapable` are the bytes a backslash escapes (plus
    /// the backslash itself).
    fn read_escaped(&mut self, stops: &[u8], escapable: &[u8]) -> Result<String, String> {
        let start = self.pos;
        let mut out: Option<String> = None;
        let mut seg = start;
        while let Some(b) = self.peek() {
            if b == b'\\' {
                if let Some(n) = self.s.get(self.pos + 1).copied() {
                    if n == b'\\' || escapable.contains(&n) {
                        let o = out.get_or_insert_with(String::new);
                        o.push_str(&self.text[seg..self.pos]);
                        o.push(n as char);
                        self.pos += 2;
                        seg = self.pos;
                        continue;
                    }
                }
                self.pos += 1;
                continue;
            }
            if stops.contains(&b) {
                break;
            }
            self.pos += 1;
        }
        Ok(match out {
            Some(mut o) => {
                o.push_str(&self.text[seg..self.pos]);
                o
            }
            None => self.text[start..self.pos].to_string(),
        })
    }

    fn read_field_value(&mut self, key: &str) -> Result<FieldValue, String> {
        if self.peek() == Some(b'"') {
            self.pos += 1;
            let mut out = String::new();
            let mut seg = self.pos;
            loop {
                match self.peek() {
                    None => return Err(format!("unterminated string value for field {key:?}")),
                    Some(b'"') => {
                        out.push_str(&self.text[seg..self.pos]);
                        self.pos += 1;
                        break;
                    }
                    Some(b'\\') => match self.s.get(self.pos + 1).copied() {
                        Some(n @ (b'"' | b'\\')) => {
                            out.push_str(&self.text[seg..self.pos]);
                            out.push(n as char);
                            self.pos += 2;
                            seg = self.pos;
                        }
                        _ => self.pos += 1,
                    },
                    Some(_) => self.pos += 1,
                }
            }
            return Ok(FieldValue::String(out));
        }
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b',' || b == b' ' {
                break;
            }
            self.pos += 1;
        }
        let raw = &self.text[start..self.pos];
        parse_scalar(raw).ok_or_else(|| {
            if raw.is_empty() {
                format!("field {key:?} has an empty value")
            } else {
                format!(
                    "invalid value {raw:?} for field {key:?}: expected a float, an integer \
                     (1i), an unsigned (1u), a quoted string or a boolean"
                )
            }
        })
    }
}

fn parse_scalar(raw: &str) -> Option<FieldValue> {
    match raw {
        "t" | "T" | "true" | "True" | "TRUE" => return Some(FieldValue::Boolean(true)),
        "f" | "F" | "false" | "False" | "FALSE" => return Some(FieldValue::Boolean(false)),
        _ => {}
    }
    if let Some(num) = raw.strip_suffix('i') {
        return num.parse().ok().map(FieldValue::Integer);
    }
    if let Some(num) = raw.strip_suffix('u') {
        return num.parse().ok().map(FieldValue::Unsigned);
    }
    // Floats: digits, sign, point and exponent only (Rust would also accept "inf" and "NaN",
    // which line protocol does not).
    if raw.is_empty()
        || !raw
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        || !raw.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    raw.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(FieldValue::Float)
}

fn escape_into(out: &mut String, s: &str, special: &[char]) {
    for ch in s.chars() {
        if ch == '\\' || special.contains(&ch) {
            out.push('\\');
        }
        out.push(ch);
    }
}

fn check_text(what: &str, s: &str) -> Result<(), LineProtocolError> {
    if s.is_empty() {
        return Err(LineProtocolError::Write {
            what: what.to_string(),
            why: "empty",
        });
    }
    if s.contains(['\n', '\r']) {
        return Err(LineProtocolError::Write {
            what: what.to_string(),
            why: "contains a line break",
        });
    }
    Ok(())
}

/// Appends one point as a line (without the trailing newline). The timestamp is written in
/// `precision` (truncated towards zero).
pub fn write_point(
    out: &mut String,
    p: &Point,
    precision: Precision,
) -> Result<(), LineProtocolError> {
    check_text("measurement", &p.measurement)?;
    if p.measurement.starts_with('#') {
        return Err(LineProtocolError::Write {
            what: p.measurement.clone(),
            why: "a measurement starting with '#' reads as a comment",
        });
    }
    if p.fields.is_empty() {
        return Err(LineProtocolError::Write {
            what: p.measurement.clone(),
            why: "a point needs at least one field",
        });
    }
    escape_into(out, &p.measurement, &[',', ' ']);
    for (k, v) in &p.tags {
        check_text("tag key", k)?;
        check_text("tag value", v)?;
        out.push(',');
        escape_into(out, k, &[',', '=', ' ']);
        out.push('=');
        escape_into(out, v, &[',', '=', ' ']);
    }
    out.push(' ');
    for (i, (k, v)) in p.fields.iter().enumerate() {
        check_text("field key", k)?;
        if i > 0 {
            out.push(',');
        }
        escape_into(out, k, &[',', '=', ' ']);
        out.push('=');
        match v {
            FieldValue::Float(f) => {
                if !f.is_finite() {
                    return Err(LineProtocolError::Write {
                        what: k.clone(),
                        why: "NaN and infinities cannot be written",
                    });
                }
                let _ = write!(out, "{f:?}");
            }
            FieldValue::Integer(i) => {
                let _ = write!(out, "{i}i");
            }
            FieldValue::Unsigned(u) => {
                let _ = write!(out, "{u}u");
            }
            FieldValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
            FieldValue::String(s) => {
                if s.contains(['\n', '\r']) {
                    return Err(LineProtocolError::Write {
                        what: k.clone(),
                        why: "contains a line break",
                    });
                }
                out.push('"');
                escape_into(out, s, &['"']);
                out.push('"');
            }
        }
    }
    if let Some(ts) = p.timestamp {
        let _ = write!(out, " {}", ts / precision.multiplier());
    }
    Ok(())
}

/// Serialises points, one line each, newline-terminated.
pub fn write_points(points: &[Point], precision: Precision) -> Result<String, LineProtocolError> {
    let mut out = String::with_capacity(points.len() * 96);
    for p in points {
        write_point(&mut out, p, precision)?;
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Point {
        parse_line(line, Precision::Ns, &Limits::default())
            .expect("parses")
            .expect("a point")
    }

    #[test]
    fn parses_all_value_kinds_and_escapes() {
        let p = one(
            r#"my\ meas\,x,host=node\ 1,path=a\=b f=1.5,i=-3i,u=7u,s="say \"hi\" \\ ok",b=t,B=FALSE 1700000000000000000"#,
        );
        assert_eq!(p.measurement, "my meas,x");
        assert_eq!(p.tag("host"), Some("node 1"));
        assert_eq!(p.tag("path"), Some("a=b"));
        assert_eq!(
            p.fields,
            vec![
                ("f".into(), FieldValue::Float(1.5)),
                ("i".into(), FieldValue::Integer(-3)),
                ("u".into(), FieldValue::Unsigned(7)),
                ("s".into(), FieldValue::String(r#"say "hi" \ ok"#.into())),
                ("b".into(), FieldValue::Boolean(true)),
                ("B".into(), FieldValue::Boolean(false)),
            ]
        );
        assert_eq!(p.timestamp, Some(1_700_000_000_000_000_000));
    }

    #[test]
    fn string_field_may_hold_separators() {
        let p = one(r#"m msg="a, b=c d" 5"#);
        assert_eq!(p.fields[0].1, FieldValue::String("a, b=c d".into()));
        assert_eq!(p.timestamp, Some(5));
    }

    #[test]
    fn precision_scales_timestamps() {
        for (prec, want) in [
            (Precision::S, 1_000_000_000),
            (Precision::Ms, 1_000_000),
            (Precision::Us, 1_000),
            (Precision::Ns, 1),
        ] {
            let p = parse_line("m v=1 1", prec, &Limits::default())
                .unwrap()
                .unwrap();
            assert_eq!(p.timestamp, Some(want));
        }
        assert!(parse_line(
            "m v=1 9223372036854775807",
            Precision::S,
            &Limits::default()
        )
        .is_err());
        assert_eq!(Precision::parse("u").unwrap(), Precision::Us);
        assert!(Precision::parse("h").is_err());
    }

    #[test]
    fn partial_write_names_bad_lines() {
        let body = b"# comment\nm,a=1 v=1 10\nm v=\n\nm,a v=1\nm v=abc\nm v=1 notatime\n m2 v=2i\nm v=\"open\n";
        let parsed = parse_body(body, Precision::Ns, &Limits::default());
        assert_eq!(parsed.points.len(), 2);
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 5, 6, 7, 9]);
        assert!(parsed.errors[0].message.contains("empty value"));
        assert!(parsed.errors[1].message.contains("has no value"));
        assert!(parsed.errors[2].message.contains("\"abc\""));
        assert!(parsed.errors[3].message.contains("timestamp"));
        assert!(parsed.errors[4].message.contains("unterminated"));
        assert_eq!(parsed.rejected_lines, 5);
        assert!(parsed
            .partial_write_message()
            .unwrap()
            .starts_with("partial write: line 3:"));
    }

    #[test]
    fn rejects_missing_parts() {
        let l = Limits::default();
        for bad in [
            "m", "m ", "m,t=1", ",t=1 v=1", "m =1", "m v=1,", "m v=inf", "m v=NaN", "m v=1x",
            "m,=x v=1", "m,t= v=1",
        ] {
            assert!(
                parse_line(bad, Precision::Ns, &l).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn limits_apply() {
        let limits = Limits {
            max_line_bytes: 20,
            max_fields: 2,
            max_tags: 1,
            max_errors: 1,
        };
        let body = b"m a=1,b=2,c=3\nm,x=1,y=2 a=1\nm a=1 12345678901234567\n";
        let parsed = parse_body(body, Precision::Ns, &limits);
        assert_eq!(parsed.points.len(), 0);
        assert_eq!(parsed.rejected_lines, 3);
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].message.contains("more than 2 fields"));
        let parsed = parse_body(b"m,x=1,y=2 a=1", Precision::Ns, &limits);
        assert!(parsed.errors[0].message.contains("more than 1 tags"));
        let parsed = parse_body(b"m a=1 12345678901234567", Precision::Ns, &limits);
        assert!(parsed.errors[0].message.contains("longer than the limit"));
    }

    #[test]
    fn invalid_utf8_is_a_line_error() {
        let parsed = parse_body(b"m v=1\nm s=\"\xff\"\n", Precision::Ns, &Limits::default());
        assert_eq!(parsed.points.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
        assert!(parsed.errors[0].message.contains("UTF-8"));
    }

    #[test]
    fn crlf_and_trailing_spaces() {
        let parsed = parse_body(b"m v=1 5  \r\nm v=2\r\n", Precision::Ns, &Limits::default());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.points[0].timestamp, Some(5));
    }

    #[test]
    fn writer_output_and_errors() {
        let p = Point {
            measurement: "gpu stats".into(),
            tags: vec![("host".into(), "n,1".into())],
            fields: vec![
                ("temp".into(), FieldValue::Float(45.0)),
                ("xid".into(), FieldValue::Integer(79)),
                ("msg".into(), FieldValue::String("a \"b\"".into())),
            ],
            timestamp: Some(2_000_000_000),
        };
        let s = write_points(std::slice::from_ref(&p), Precision::S).unwrap();
        assert_eq!(
            s,
            "gpu\\ stats,host=n\\,1 temp=45.0,xid=79i,msg=\"a \\\"b\\\"\" 2\n"
        );
        let mut bad = p.clone();
        bad.fields = vec![("v".into(), FieldValue::Float(f64::NAN))];
        assert!(write_points(&[bad], Precision::Ns).is_err());
        let mut bad = p;
        bad.fields.clear();
        assert!(write_points(&[bad], Precision::Ns).is_err());
    }
}
