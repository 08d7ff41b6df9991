//! The cluster's preflight: before anything is pushed or applied, the whole revision is sent
//! as a server-side dry run (prune included), so that a forbidden verb, a field-manager
//! conflict, an invalid object or a missing namespace stops the run with nothing changed,
//! each problem named. Objects whose namespace or CRD this revision creates cannot be
//! checked this way and are said to be "not checked", as a dry run says them.

use ferry_apply::DryRun;
use ferry_apply::plan::Object;
use ferry_apply::run::{ApplyEvent, ApplyOptions, ApplyReport, Listener};
use ferry_core::error::Category;

use super::{Result, WorkflowError};

/// Passes on only what would fail (and the server's warnings); the would-be changes of the
/// dry run are not news to someone about to apply them.
struct Problems<'a> {
    reporter: &'a dyn Listener,
}

impl Listener for Problems<'_> {
    fn warning(&self, message: &str) {
        self.reporter.warning(message);
    }

    fn apply(&self, event: &ApplyEvent<'_>) {
        if matches!(event, ApplyEvent::Failed { .. }) {
            self.reporter.apply(event);
        }
    }

    /// Not a problem of the dry run: the apply after it says it.
    fn unserved(&self, _alternatives: &[String]) {}
}

/// The server-side dry run of `objects` as `opts` would apply them; an error naming how
/// many would fail when any would.
pub async fn check(objects: &[Object], opts: &ApplyOptions, reporter: &dyn Listener) -> Result<()> {
    let mut dry = opts.clone();
    dry.dry_run = Some(DryRun::Server);
    dry.wait = false;
    let problems = Problems { reporter };
    let report: ApplyReport = ferry_apply::run::apply(objects.to_vec(), &dry, &problems).await?;
    if report.failed == 0 {
        return Ok(());
    }
    Err(WorkflowError::Incomplete {
        message: format!(
            "nothing pushed or applied: the API server's dry run refused {} of {} objects (above); \
             fix those, or what a conflict names, and run again",
            report.failed, report.objects
        ),
        category: Category::Cluster,
    })
}
