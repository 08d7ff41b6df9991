//! Workflows: what each command does, as library calls with typed options. Each takes its
//! `*Options`, sends what happens as it happens to a [`Reporter`], and returns a report;
//! commands only convert arguments, call one workflow and render. Workflows call workflows
//! (`install` is `rewrite` + `push` + `apply`), never commands.

mod bundle;
pub mod catalog;
mod catalog_bundle;
mod catalog_mirror;
mod catalog_site;
mod changes;
mod chart_rewrite;
mod cluster_check;
mod copy;
mod delta;
mod fetch;
mod install;
mod install_charts;
mod preflight;
mod proof;
mod receipt;
pub mod release;
mod rerender;
mod resolve;
mod rewrite;
mod rewrite_out;
mod scan;
pub mod spec;

pub use bundle::{BundleOptions, BundleReport, CatalogInput, bundle};
pub use catalog_mirror::{CatalogMirrorOptions, CatalogMirrorReport, mirror_catalog};
pub use chart_rewrite::{ChartRewriteOptions, ChartRewriteReport, chart_images, rewrite_chart};
pub use cluster_check::check as check_on_cluster;
pub use copy::{
    CopyOutcome, CopyRun, MirrorOptions, Planned, PushOptions, mirror, plan_mirror, push,
    push_archive, push_plan,
};
pub use ferry_apply::run::{
    ApplyEvent, ApplyOptions, ApplyReport, Listener, PullSecret, PullSecretRequest, apply,
    resolve_pull_secret,
};
pub use ferry_oci::graph::attached::Attached;
pub use fetch::{FetchedCharts, any_remote, fetch_charts};
pub use install::{InstallOptions, InstallReport, ReleaseRequest, install};
pub use install_charts::CustomerValues;
pub use preflight::glob_match;
pub use proof::{Held, HeldImage, STAND_IN, prove};
pub use receipt::{RegistryReceiptOptions, registry_receipt};
pub use rewrite::{
    FileChange, RewriteInput, RewriteMode, RewriteOptions, RewriteReport, rewrite, target_digests,
};
pub use scan::{Images, Loaded, ScanOptions, collect_images, load, scan_loaded, scan_paths};

use ferry_core::error::Category;
use ferry_core::observe::Observer;
use ferry_oci::graph::CopyReport;

/// Hears what a workflow does while it runs; the library never prints. Every method has a
/// default that ignores the news, so a reporter implements only what it shows; warnings,
/// information and apply events come through [`Listener`], which apply shares.
pub trait Reporter: Observer + Listener {
    /// A step of a workflow made of several (install) begins.
    fn step(&self, _title: &str) {}
    /// The images a run will move, in the order their `index` counts them.
    fn images(&self, _labels: &[String]) {}
    /// The images a copy would move and where (a dry run's plan, or before the copy).
    fn copy_plan(&self, _planned: &[Planned]) {}
    /// An image finished copying (`index` is its place in the plan).
    fn image(&self, _index: usize, _report: &CopyReport) {}
    /// A long read begins (`what`: `verify`): what hears its bytes, until dropped; none:
    /// nobody listens.
    fn reading(&self, _what: &str) -> Option<Box<dyn Observer>> {
        None
    }
}

/// Runs `read` with what hears the long read `what` (nothing when nobody listens); its
/// progress ends when `read` returns.
pub(crate) fn long_read<T>(
    reporter: &dyn Reporter,
    what: &str,
    read: impl FnOnce(&dyn Observer) -> T,
) -> T {
    let progress = reporter.reading(what);
    read(progress.as_deref().unwrap_or(&ferry_core::observe::Silent))
}

/// Awaits `work` while the reporter shows the phase `what` as alive (a spinner on a
/// terminal: reading every image's manifests before a layer moves takes seconds).
pub(crate) async fn while_waiting<T>(
    reporter: &dyn Reporter,
    what: &str,
    work: impl std::future::Future<Output = T>,
) -> T {
    let _progress = reporter.reading(what);
    work.await
}

/// Hears nothing.
pub struct Quiet;
impl Observer for Quiet {}
impl Listener for Quiet {}
impl Reporter for Quiet {}

/// Why a workflow stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The input is not acceptable (exit 3).
    #[error("{0}")]
    Invalid(String),
    /// An option the workflow cannot honour (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Input(#[from] ferry_scan::inputs::InputError),
    #[error(transparent)]
    Scan(#[from] ferry_scan::scan::ScanError),
    #[error(transparent)]
    Render(#[from] ferry_scan::render::RenderError),
    #[error(transparent)]
    Catalog(#[from] ferry_scan::catalog::CatalogError),
    #[error(transparent)]
    Credentials(#[from] ferry_oci::registry::config::ConfigError),
    #[error(transparent)]
    Graph(#[from] ferry_oci::graph::GraphError),
    #[error(transparent)]
    Registry(#[from] ferry_oci::registry::RegistryError),
    #[error(transparent)]
    Bundle(#[from] ferry_oci::bundle::BundleError),
    #[error(transparent)]
    Plan(#[from] ferry_apply::plan::PlanError),
    #[error(transparent)]
    Cluster(#[from] ferry_apply::cluster::ClusterError),
    #[error(transparent)]
    Apply(#[from] ferry_apply::run::ApplyError),
    /// A step failed; the step's own error is the source.
    #[error("{step}")]
    Step {
        step: String,
        #[source]
        source: Box<WorkflowError>,
    },
    /// Source registries that could not be reached, each with its images and why; nothing
    /// was copied.
    #[error(
        "cannot pull from {} registries, nothing copied:\n  {}\n(a mirror inside the network: \
         --source-mirror HOST=REGISTRY; a proxy: HTTPS_PROXY)",
        .0.len(),
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    Unreachable(Vec<UnreachableSource>),
    /// The run went to the end, but not everything succeeded (the report says what).
    #[error("{message}")]
    Incomplete { message: String, category: Category },
}

impl WorkflowError {
    /// Wraps `self` as the cause of a failed step.
    pub fn in_step(self, step: impl Into<String>) -> WorkflowError {
        WorkflowError::Step {
            step: step.into(),
            source: Box::new(self),
        }
    }

    /// What kind of failure this is (the edge maps it to an exit code).
    pub fn category(&self) -> Category {
        match self {
            WorkflowError::Invalid(_)
            | WorkflowError::Scan(_)
            | WorkflowError::Plan(_)
            | WorkflowError::Credentials(_) => Category::InvalidInput,
            WorkflowError::Render(ferry_scan::render::RenderError::Input(e)) => e.category(),
            WorkflowError::Render(_) => Category::InvalidInput,
            WorkflowError::Usage(_) => Category::Usage,
            WorkflowError::Catalog(e) => e.category(),
            WorkflowError::Input(e) => e.category(),
            WorkflowError::Graph(e) => e.category(),
            WorkflowError::Registry(e) => e.category(),
            WorkflowError::Bundle(e) => e.category(),
            WorkflowError::Cluster(e) => e.category(),
            WorkflowError::Apply(e) => e.category(),
            WorkflowError::Step { source, .. } => source.category(),
            WorkflowError::Unreachable(_) => Category::Registry,
            WorkflowError::Incomplete { category, .. } => *category,
        }
    }
}

impl From<ferry_apply::release::ReleaseError> for WorkflowError {
    fn from(e: ferry_apply::release::ReleaseError) -> Self {
        WorkflowError::Apply(ferry_apply::run::ApplyError::Release(e))
    }
}

pub type Result<T> = std::result::Result<T, WorkflowError>;

/// A source registry that could not be reached, the images that come from it, and why.
#[derive(Debug)]
pub struct UnreachableSource {
    pub host: String,
    pub images: Vec<String>,
    pub error: ferry_oci::registry::RegistryError,
}

impl UnreachableSource {
    /// The first few images, the rest counted.
    fn named(&self) -> String {
        /// Images named in a message; more are counted.
        const NAMED: usize = 5;
        let mut named: Vec<&str> = self.images.iter().take(NAMED).map(String::as_str).collect();
        let more = self.images.len().saturating_sub(NAMED);
        let rest = format!("and {more} more");
        if more > 0 {
            named.push(&rest);
        }
        named.join(", ")
    }
}

impl std::fmt::Display for UnreachableSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} of the images: {}): {}",
            self.host,
            self.images.len(),
            self.named(),
            ferry_core::error::chain(&self.error)
        )
    }
}

/// An I/O failure on `path`, as a workflow error (the file named).
fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> WorkflowError + '_ {
    move |source| ferry_scan::inputs::InputError::read(path)(source).into()
}
