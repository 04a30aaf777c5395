//! The crate's one error type.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CorrelateError {
    #[error("unknown {what} '{name}' (expected one of: {})", expected.join(", "))]
    UnknownName {
        what: &'static str,
        name: String,
        expected: Vec<&'static str>,
    },
    #[error("unknown asset '{id}' in {context}")]
    UnknownAsset { id: String, context: String },
    #[error("bad relation path '{path}': {reason}")]
    BadPath { path: String, reason: String },
    #[error("rules document is not valid YAML: {0}")]
    RulesSyntax(String),
    #[error("rule {index} ('{rule}'), field {field}: {reason}")]
    Rule {
        index: usize,
        rule: String,
        field: String,
        reason: String,
    },
    #[error("{file}, line {line}: {reason}")]
    Csv {
        file: &'static str,
        line: u64,
        reason: String,
    },
    /// A merge or split that cannot be done (the message says why).
    #[error("{0}")]
    Grouping(String),
    /// A merge or split names an incident that does not exist.
    #[error("incident '{0}' does not exist")]
    NoIncident(String),
}
