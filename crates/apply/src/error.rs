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
