//! Stable exit codes (documented in the README).

/// Process exit codes; the numbers are part of ferry's interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Success = 0,
    /// An unexpected internal error.
    Internal = 1,
    /// Bad command-line usage (clap's own code).
    Usage = 2,
    /// Invalid input: YAML, reference, rules, bundle.
    InvalidInput = 3,
    /// Registry or transfer failure after retries.
    Registry = 4,
    /// Cluster failure.
    Cluster = 5,
    /// Integrity failure: a digest or size mismatch.
    Integrity = 6,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

/// An error that carries the exit code it must end the process with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

/// An invalid-input error (exit 3) with `message`.
pub fn invalid(message: impl Into<String>) -> anyhow::Error {
    Failure::new(Exit::InvalidInput, message).into()
}

/// The exit code for an error chain: the first [`Failure`] in it decides, else internal.
pub fn code_of(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|e| e.downcast_ref::<Failure>().map(|f| f.code))
        .unwrap_or(Exit::Internal)
}
