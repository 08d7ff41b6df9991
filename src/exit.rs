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

/// The exit code for an error chain: the first error in it of a type ferry knows decides,
/// else internal.
pub fn code_of(err: &anyhow::Error) -> Exit {
    err.chain().find_map(known).unwrap_or(Exit::Internal)
}

/// An error and its causes on one line, `outer: inner: innermost`, as `{:#}` prints an
/// `anyhow` chain; a cause whose text its parent already shows is not repeated.
pub fn render(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

/// The exit code for an error chain: the first error in it of a type ferry knows decides.
pub fn classify(err: &(dyn std::error::Error + 'static)) -> Exit {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(code) = known(e) {
            return code;
        }
        next = e.source();
    }
    Exit::Internal
}

fn known(e: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    if let Some(f) = e.downcast_ref::<Failure>() {
        return Some(f.code);
    }
    if let Some(g) = e.downcast_ref::<crate::graph::GraphError>() {
        return Some(g.exit_code());
    }
    if let Some(r) = e.downcast_ref::<crate::registry::RegistryError>() {
        return Some(r.exit_code());
    }
    if let Some(b) = e.downcast_ref::<crate::bundle::BundleError>() {
        return Some(b.exit_code());
    }
    if let Some(w) = e.downcast_ref::<crate::workflow::WorkflowError>() {
        return Some(w.exit_code());
    }
    if let Some(c) = e.downcast_ref::<crate::apply::cluster::ClusterError>() {
        return Some(c.exit_code());
    }
    let invalid = e.is::<crate::inputs::InputError>()
        || e.is::<crate::scan::ScanError>()
        || e.is::<crate::apply::plan::PlanError>();
    invalid.then_some(Exit::InvalidInput)
}
