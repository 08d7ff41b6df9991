//! Why a cluster operation failed; below both the client and the cluster, which share it.

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("kubeconfig: {0}")]
    Config(String),
    /// No answer at all: the server's URL and why.
    #[error("cannot reach the API server {server}: {cause}")]
    Unreachable { server: String, cause: String },
    #[error("{0}")]
    Api(String),
    /// The API server refused a read (403).
    #[error("{0}")]
    Forbidden(String),
    #[error("{what}: {message}")]
    Object { what: String, message: String },
    /// The API server refused a request about an object, with its `Status`.
    #[error("{what}: {status}")]
    Refused { what: String, status: ApiStatus },
    #[error("timed out after {seconds}s waiting for {what}: {state}")]
    Timeout {
        what: String,
        seconds: u64,
        state: String,
    },
}

impl ClusterError {
    /// What kind of failure this is: a bad kubeconfig is bad input, anything the cluster
    /// did is a cluster failure.
    pub fn category(&self) -> ferry_core::error::Category {
        match self {
            ClusterError::Config(_) => ferry_core::error::Category::InvalidInput,
            _ => ferry_core::error::Category::Cluster,
        }
    }
}

/// What the API server said when it refused a request: its `Status` object (code, reason,
/// message and causes), kept as values so that decisions match on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStatus {
    pub code: u16,
    /// `Conflict`, `Forbidden`, `NotFound`, `Invalid`, ...
    pub reason: Option<String>,
    pub message: String,
    pub causes: Vec<StatusCause>,
}

/// One of a `Status`'s `details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCause {
    pub reason: Option<String>,
    pub message: String,
    pub field: Option<String>,
}

impl ApiStatus {
    /// A server-side apply that other field managers' fields stopped (409 Conflict).
    pub fn is_apply_conflict(&self) -> bool {
        self.code == 409 && self.reason.as_deref() == Some("Conflict")
    }
}

impl std::fmt::Display for ApiStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match http::StatusCode::from_u16(self.code) {
            Ok(code) => write!(f, "{code}: {}", self.message)?,
            Err(_) => write!(f, "{}: {}", self.code, self.message)?,
        }
        if self.is_apply_conflict() {
            // What to do about it, as kubectl says it.
            write!(
                f,
                " (--force-conflicts takes these fields over from their manager)"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_the_servers_status_and_a_conflict_says_what_to_do() {
        let conflict = ApiStatus {
            code: 409,
            reason: Some("Conflict".into()),
            message: "Apply failed with 1 conflict: conflict with \"kubectl\": .data.enabled"
                .into(),
            causes: vec![StatusCause {
                reason: Some("FieldManagerConflict".into()),
                message: "conflict with \"kubectl\"".into(),
                field: Some(".data.enabled".into()),
            }],
        };
        assert!(conflict.is_apply_conflict());
        let e = ClusterError::Refused {
            what: "ConfigMap cfg".into(),
            status: conflict,
        };
        assert_eq!(
            e.to_string(),
            "ConfigMap cfg: 409 Conflict: Apply failed with 1 conflict: conflict with \"kubectl\": \
             .data.enabled (--force-conflicts takes these fields over from their manager)"
        );
        let forbidden = ApiStatus {
            code: 403,
            reason: Some("Forbidden".into()),
            message: "no".into(),
            causes: Vec::new(),
        };
        assert!(!forbidden.is_apply_conflict());
        assert_eq!(forbidden.to_string(), "403 Forbidden: no");
    }
}
