//! Workflow templates: rendering and validation before anything is created in the cluster.
//!
//! tink-controller renders a Template's `data` as a Go text/template with the Workflow's
//! `hardwareMap` (plus a `.Hardware` object), parses the result as YAML and validates it; a
//! mistake surfaces only as `templateRending: failed` on a Workflow that already exists. This
//! module does the same checks up front so that a bad install plan or a provisioning request
//! with a missing key fails with a clear error and nothing is written to the cluster.
//!
//! The renderer supports what gpufleet's templates use: `{{.key}}` / `{{ .key }}` from the
//! hardware map, `{{- … -}}` whitespace trimming and `{{/* comments */}}`. Any other action
//! (pipelines, functions, `.Hardware.…`) is reported as unsupported rather than guessed at.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};

/// Why a template could not be rendered or is not a valid tink workflow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template line {line}: '{{{{' is never closed by '}}}}'")]
    Unclosed { line: usize },
    #[error("template line {line}: '{{{{.{key}}}}}' has no value in the hardware map (keys given: {available}); add it to the provisioning request's hardware map")]
    MissingKey {
        key: String,
        line: usize,
        available: String,
    },
    #[error("template line {line}: '{{{{{action}}}}}' is not supported; use '{{{{.key}}}}' with a key of the hardware map")]
    Unsupported { action: String, line: usize },
    #[error("rendered template is not valid workflow YAML: {0}")]
    Yaml(String),
    #[error("invalid workflow template: {0}")]
    Invalid(String),
}

/// A tink workflow as its template describes it (the `data` of a Template, after rendering).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDoc {
    pub version: String,
    pub name: String,
    pub global_timeout: u64,
    pub tasks: Vec<TaskDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDoc {
    pub name: String,
    pub worker: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "scalar_map"
    )]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub actions: Vec<ActionDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionDoc {
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub timeout: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "scalar_map"
    )]
    pub environment: BTreeMap<String, String>,
}

/// Environment values may be any YAML scalar (`COMPRESSED: true`, `UID: 0`); tink reads them
/// as strings.
fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: BTreeMap<String, serde_yaml::Value> = BTreeMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let s = match v {
                serde_yaml::Value::String(s) => s,
                serde_yaml::Value::Bool(b) => b.to_string(),
                serde_yaml::Value::Number(n) => n.to_string(),
                serde_yaml::Value::Null => String::new(),
                _ => {
                    return Err(serde::de::Error::custom(format!(
                        "environment variable {k} must be a string, number or boolean"
                    )))
                }
            };
            Ok((k, s))
        })
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Every `{{.key}}` the template uses, in order of first use.
pub fn referenced_keys(data: &str) -> Result<Vec<String>, TemplateError> {
    let mut keys = Vec::new();
    let mut seen = BTreeSet::new();
    walk(data, &mut |action, line| match classify(action) {
        Action::Comment => Ok(None),
        Action::Key(k) => {
            if seen.insert(k.to_string()) {
                keys.push(k.to_string());
            }
            Ok(None)
        }
        Action::Other => Err(TemplateError::Unsupported {
            action: action.trim().to_string(),
            line,
        }),
    })?;
    Ok(keys)
}

enum Action<'a> {
    Comment,
    Key(&'a str),
    Other,
}

fn classify(inner: &str) -> Action<'_> {
    let t = inner.trim();
    if t.starts_with("/*") && t.ends_with("*/") {
        return Action::Comment;
    }
    if let Some(k) = t.strip_prefix('.') {
        let mut chars = k.chars();
        let ok_first = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if ok_first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Action::Key(k);
        }
    }
    Action::Other
}

/// Called for each action with its inner text and line; returns the replacement text.
type ActionFn<'a> = dyn FnMut(&str, usize) -> Result<Option<String>, TemplateError> + 'a;

/// Walk the template, calling `f` with each action's inner text (trim markers removed) and its
/// line; `f` returns the text to put in its place. Returns the output text.
fn walk(data: &str, f: &mut ActionFn<'_>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(data.len());
    let mut rest = 0;
    let mut trim_next = false;
    while let Some(start_rel) = data[rest..].find("{{") {
        let start = rest + start_rel;
        let mut text = &data[rest..start];
        if trim_next {
            text = text.trim_start();
        }
        let body_start = start + 2;
        let end = data[body_start..]
            .find("}}")
            .map(|e| body_start + e)
            .ok_or(TemplateError::Unclosed {
                line: line_of(data, start),
            })?;
        let mut inner = &data[body_start..end];
        if let Some(s) = inner.strip_prefix("- ") {
            text = text.trim_end();
            inner = s;
        }
        trim_next = false;
        if let Some(s) = inner.strip_suffix(" -") {
            trim_next = true;
            inner = s;
        }
        out.push_str(text);
        if let Some(v) = f(inner, line_of(data, start))? {
            out.push_str(&v);
        }
        rest = end + 2;
    }
    let tail = &data[rest..];
    out.push_str(if trim_next { tail.trim_start() } else { tail });
    Ok(out)
}

/// Render the template with the hardware map, as tink-controller would (missing keys are errors).
pub fn render(data: &str, values: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    walk(data, &mut |action, line| match classify(action) {
        Action::Comment => Ok(None),
        Action::Key(k) => {
            values
                .get(k)
                .cloned()
                .map(Some)
                .ok_or_else(|| TemplateError::MissingKey {
                    key: k.to_string(),
                    line,
                    available: if values.is_empty() {
                        "none".to_string()
                    } else {
                        values.keys().cloned().collect::<Vec<_>>().join(", ")
                    },
                })
        }
        Action::Other => Err(TemplateError::Unsupported {
            action: action.trim().to_string(),
            line,
        }),
    })
}

/// Render, parse and validate: what tink-controller does before it writes a Workflow's tasks.
pub fn render_workflow(
    data: &str,
    values: &BTreeMap<String, String>,
) -> Result<WorkflowDoc, TemplateError> {
    let text = render(data, values)?;
    let doc: WorkflowDoc =
        serde_yaml::from_str(&text).map_err(|e| TemplateError::Yaml(e.to_string()))?;
    validate(&doc)?;
    Ok(doc)
}

/// Check that template data is well formed whatever the hardware map: every key it uses gets a
/// placeholder MAC, then the result must be a valid workflow.
pub fn check_template(data: &str) -> Result<WorkflowDoc, TemplateError> {
    let values = referenced_keys(data)?
        .into_iter()
        .map(|k| (k, "00:00:00:00:00:00".to_string()))
        .collect();
    render_workflow(data, &values)
}

fn valid_len(s: &str) -> bool {
    !s.is_empty() && s.len() < 200
}

/// tink's rules (name lengths, at least one task, unique task and action names, image
/// references, a worker for every task) plus gpufleet's: every action has a timeout.
pub fn validate(doc: &WorkflowDoc) -> Result<(), TemplateError> {
    let bad = |m: String| Err(TemplateError::Invalid(m));
    if !valid_len(&doc.name) {
        return bad(format!(
            "workflow name '{}' must have 1 to 199 characters",
            doc.name
        ));
    }
    if doc.tasks.is_empty() {
        return bad("a template must have at least one task".into());
    }
    let mut tasks = BTreeSet::new();
    for task in &doc.tasks {
        if !valid_len(&task.name) {
            return bad(format!(
                "task name '{}' must have 1 to 199 characters",
                task.name
            ));
        }
        if !tasks.insert(task.name.as_str()) {
            return bad(format!("two tasks are named '{}'", task.name));
        }
        if task.worker.trim().is_empty() {
            return bad(format!(
                "task '{}' has an empty worker after rendering",
                task.name
            ));
        }
        let mut actions = BTreeSet::new();
        for action in &task.actions {
            if !valid_len(&action.name) {
                return bad(format!(
                    "action name '{}' in task '{}' must have 1 to 199 characters",
                    action.name, task.name
                ));
            }
            if !actions.insert(action.name.as_str()) {
                return bad(format!(
                    "two actions in task '{}' are named '{}'",
                    task.name, action.name
                ));
            }
            if let Err(why) = check_image(&action.image) {
                return bad(format!(
                    "action '{}': image '{}' is not a valid image reference: {why}",
                    action.name, action.image
                ));
            }
            if action.timeout == 0 {
                return bad(format!(
                    "action '{}' in task '{}' needs a timeout in seconds greater than 0",
                    action.name, task.name
                ));
            }
        }
    }
    Ok(())
}

/// An OCI image reference: `[host[:port]/]path[:tag][@digest]`, path components lower-case.
pub fn check_image(image: &str) -> Result<(), &'static str> {
    if image.is_empty() {
        return Err("it is empty");
    }
    if image.chars().any(|c| c.is_whitespace()) {
        return Err("it contains whitespace");
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let (alg, hex) = d.split_once(':').ok_or("the digest has no algorithm")?;
        if alg.is_empty() || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("the digest is malformed");
        }
    }
    let (path, tag) = match name.rfind(':') {
        Some(i) if !name[i + 1..].contains('/') => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    };
    if let Some(t) = tag {
        if t.is_empty()
            || t.len() > 128
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err("the tag is malformed");
        }
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        parts.remove(0); // registry host
    }
    for p in parts {
        if p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            || !p.starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            return Err("a path component is empty or not lower-case alphanumeric");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const TEMPLATE: &str = r#"version: "0.1"
name: debian
global_timeout: 1800
tasks:
  - name: "os-installation"
    worker: "{{.device_1}}"
    volumes:
      - /dev:/dev
    actions:
      - name: "stream-image"
        image: quay.io/tinkerbell-actions/image2disk:v1.0.0
        timeout: 600
        environment:
          DEST_DISK: /dev/nvme0n1
          COMPRESSED: true
          UID: 0
"#;

    #[test]
    fn renders_and_parses_a_template() {
        let doc = render_workflow(TEMPLATE, &map(&[("device_1", "3c:ec:ef:4c:4f:54")])).unwrap();
        assert_eq!(doc.tasks[0].worker, "3c:ec:ef:4c:4f:54");
        assert_eq!(doc.tasks[0].actions[0].environment["COMPRESSED"], "true");
        assert_eq!(doc.tasks[0].actions[0].environment["UID"], "0");
        assert_eq!(doc.global_timeout, 1800);
    }

    #[test]
    fn missing_key_names_the_key_and_line() {
        let err = render_workflow(TEMPLATE, &map(&[("device_2", "x")])).unwrap_err();
        assert_eq!(
            err,
            TemplateError::MissingKey {
                key: "device_1".into(),
                line: 6,
                available: "device_2".into()
            }
        );
        assert!(err.to_string().contains("{{.device_1}}"), "{err}");
    }

    #[test]
    fn unsupported_and_unclosed_actions_are_errors() {
        assert!(matches!(
            render("a {{ .Hardware.Disks }}", &map(&[])),
            Err(TemplateError::Unsupported { .. })
        ));
        assert!(matches!(
            render("a {{ printf \"x\" }}", &map(&[])),
            Err(TemplateError::Unsupported { .. })
        ));
        assert_eq!(
            render("x\n{{ .a", &map(&[("a", "1")])),
            Err(TemplateError::Unclosed { line: 2 })
        );
    }

    #[test]
    fn trim_markers_and_comments() {
        let out = render("a  {{- .k -}}  b{{/* note */}}c", &map(&[("k", "K")])).unwrap();
        assert_eq!(out, "aKbc");
        assert_eq!(
            referenced_keys("{{.a}} {{ .b }} {{.a}}").unwrap(),
            vec!["a", "b"]
        );
    }

    #[test]
    fn validation_mirrors_tink() {
        let dup = TEMPLATE.replace("os-installation", "t").replace(
            "    actions:\n",
            "    actions:\n      - name: \"stream-image\"\n        image: alpine\n        timeout: 1\n",
        );
        let err = render_workflow(&dup, &map(&[("device_1", "m")])).unwrap_err();
        assert!(err.to_string().contains("two actions"), "{err}");

        let bad_image = TEMPLATE.replace("quay.io/tinkerbell-actions/image2disk", "Quay.io/UPPER");
        let err = render_workflow(&bad_image, &map(&[("device_1", "m")])).unwrap_err();
        assert!(err.to_string().contains("image"), "{err}");

        let empty_worker = render_workflow(TEMPLATE, &map(&[("device_1", "")])).unwrap_err();
        assert!(empty_worker.to_string().contains("empty worker"));

        let no_timeout = TEMPLATE.replace("        timeout: 600\n", "");
        let err = check_template(&no_timeout).unwrap_err();
        assert!(err.to_string().contains("timeout"), "{err}");

        let not_yaml = render_workflow("tasks: [", &map(&[])).unwrap_err();
        assert!(matches!(not_yaml, TemplateError::Yaml(_)));
    }

    #[test]
    fn image_references() {
        for ok in [
            "alpine",
            "alpine:3.20",
            "quay.io/tinkerbell-actions/image2disk:v1.0.0",
            "localhost:5000/a/b:tag",
            "ghcr.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a b", "UPPER/x", "x:", "x@sha256:zz", "a//b"] {
            assert!(check_image(bad).is_err(), "{bad}");
        }
    }
}
