//! Stable exit codes (documented in the README), decided here at the edge from the
//! [`Category`] of the first error of ferry's in a chain; nothing below imports this.

use ferry_core::error::Category;

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
    /// Not enough local disk space.
    Space = 7,
}

impl From<Category> for Exit {
    fn from(c: Category) -> Exit {
        match c {
            Category::Internal => Exit::Internal,
            Category::Usage => Exit::Usage,
            Category::InvalidInput => Exit::InvalidInput,
            Category::Registry => Exit::Registry,
            Category::Cluster => Exit::Cluster,
            Category::Integrity => Exit::Integrity,
            Category::Space => Exit::Space,
        }
    }
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
    let category = if let Some(g) = e.downcast_ref::<ferry_oci::graph::GraphError>() {
        g.category()
    } else if let Some(r) = e.downcast_ref::<ferry_oci::registry::RegistryError>() {
        r.category()
    } else if let Some(b) = e.downcast_ref::<ferry_oci::bundle::BundleError>() {
        b.category()
    } else if let Some(w) = e.downcast_ref::<ferry_workflow::WorkflowError>() {
        w.category()
    } else if let Some(c) = e.downcast_ref::<ferry_apply::cluster::ClusterError>() {
        c.category()
    } else if let Some(a) = e.downcast_ref::<ferry_apply::run::ApplyError>() {
        a.category()
    } else if let Some(i) = e.downcast_ref::<ferry_scan::inputs::InputError>() {
        i.category()
    } else if let Some(c) = e.downcast_ref::<ferry_scan::catalog::CatalogError>() {
        c.category()
    } else if e.is::<ferry_scan::scan::ScanError>() || e.is::<ferry_apply::plan::PlanError>() {
        Category::InvalidInput
    } else if let Some(io) = e.downcast_ref::<std::io::Error>() {
        ferry_core::error::io_category(io, Category::Internal)
    } else {
        return None;
    };
    Some(category.into())
}
