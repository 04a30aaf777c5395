//! The core's errors: one enum that every interface maps once (REST to problem+json, later
//! gRPC status and GraphQL errors). Interfaces never look at message text.

use fleet_db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The principal may not do this; the message names the permission.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// No valid credentials (a failed login); nothing was changed.
    #[error("{0}")]
    Unauthenticated(String),
    /// The request itself is wrong (bad parameters); nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// The request is well formed but its content is refused (a password shorter than the
    /// policy, a plan that does not render); nothing was changed.
    #[error("{0}")]
    Unprocessable(String),
    /// Too many attempts (failed logins); try again after `retry_after_secs`.
    #[error("{message}")]
    RateLimited {
        title: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// The request conflicts with the current state; `job` names the job in the way, if any.
    #[error("{message}")]
    Conflict {
        title: &'static str,
        message: String,
        job: Option<String>,
    },
    /// A BMC or switch did not answer or refused.
    #[error("{message}")]
    Upstream {
        title: &'static str,
        message: String,
    },
    /// A part this process depends on is off or does not answer (provisioning not
    /// configured, the event bus down).
    #[error("{message}")]
    Unavailable {
        title: &'static str,
        message: String,
    },
    /// Anything the store reports (not found, stale version, conflict, database failure).
    #[error(transparent)]
    Store(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    pub fn conflict(title: &'static str, message: impl Into<String>) -> Self {
        CoreError::Conflict {
            title,
            message: message.into(),
            job: None,
        }
    }

    pub fn unavailable(title: &'static str, message: impl Into<String>) -> Self {
        CoreError::Unavailable {
            title,
            message: message.into(),
        }
    }

    pub fn upstream(title: &'static str, message: impl std::fmt::Display) -> Self {
        CoreError::Upstream {
            title,
            message: message.to_string(),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
