//! One error type for every out-of-band driver, worded for an operator.

use std::time::Duration;

/// What went wrong talking to a BMC or a switch. Messages say what happened and what to check;
/// they never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum BmcError {
    #[error("{endpoint}: no answer within {after:?} (is the BMC reachable and powered? is the address right?)")]
    Timeout { endpoint: String, after: Duration },
    #[error("{endpoint}: TLS certificate rejected: {detail} (install the BMC's CA certificate, or opt this BMC in to self-signed certificates)")]
    TlsCertificate { endpoint: String, detail: String },
    #[error("{endpoint}: authentication failed (HTTP 401 or RAKP rejected): check the BMC user name and password in the credential store")]
    Unauthorized { endpoint: String },
    #[error("{endpoint}: permission denied for {what}: the BMC account lacks the privilege")]
    Forbidden { endpoint: String, what: String },
    #[error("{endpoint}: {what} not found on this BMC")]
    NotFound { endpoint: String, what: String },
    #[error("{endpoint}: BMC server error HTTP {status} on {what}: {message}")]
    Server {
        endpoint: String,
        status: u16,
        what: String,
        message: String,
    },
    #[error("{endpoint}: the BMC refused {what} (HTTP {status}): {message}")]
    Rejected {
        endpoint: String,
        status: u16,
        what: String,
        message: String,
    },
    #[error("{endpoint}: malformed response to {what}: {detail}")]
    Malformed {
        endpoint: String,
        what: String,
        detail: String,
    },
    #[error("{endpoint}: cannot connect: {detail}")]
    Connect { endpoint: String, detail: String },
    #[error("{endpoint}: IPMI command {what} failed with completion code {code:#04x} ({meaning})")]
    Ipmi {
        endpoint: String,
        what: String,
        code: u8,
        meaning: &'static str,
    },
    #[error("{endpoint}: {what} failed: {detail}")]
    Task {
        endpoint: String,
        what: String,
        detail: String,
    },
    #[error("{endpoint}: {what} is not supported by the {driver} driver")]
    Unsupported {
        endpoint: String,
        driver: &'static str,
        what: String,
    },
    #[error("{endpoint}: gNMI {what} failed: {code}: {message}")]
    Gnmi {
        endpoint: String,
        what: String,
        code: String,
        message: String,
    },
    #[error("{endpoint}: the BMC pointed gpufleet to {link}, outside its own scheme, host and port; gpufleet sends no credentials there and did not follow it")]
    ForeignLink { endpoint: String, link: String },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("{endpoint}: {detail}")]
    Other { endpoint: String, detail: String },
}

impl BmcError {
    /// A short machine-readable kind, used in job records and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            BmcError::Timeout { .. } => "timeout",
            BmcError::TlsCertificate { .. } => "tls_certificate",
            BmcError::Unauthorized { .. } => "unauthorized",
            BmcError::Forbidden { .. } => "forbidden",
            BmcError::NotFound { .. } => "not_found",
            BmcError::Server { .. } => "server_error",
            BmcError::Rejected { .. } => "rejected",
            BmcError::Malformed { .. } => "malformed",
            BmcError::Connect { .. } => "connect",
            BmcError::Ipmi { .. } => "ipmi",
            BmcError::Task { .. } => "task_failed",
            BmcError::Unsupported { .. } => "unsupported",
            BmcError::Gnmi { .. } => "gnmi",
            BmcError::ForeignLink { .. } => "foreign_link",
            BmcError::Invalid(_) => "invalid",
            BmcError::Other { .. } => "other",
        }
    }

    /// Whether repeating the same idempotent request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BmcError::Timeout { .. } | BmcError::Server { .. } | BmcError::Connect { .. }
        )
    }
}

pub type Result<T, E = BmcError> = std::result::Result<T, E>;
