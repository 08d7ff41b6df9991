//! What an apply tells while it runs and what it did: the [`Listener`] the library reports
//! to (it never prints), the events, and the totals. Apart from the executor so that the
//! release steps it calls report the same way without depending on it.

use crate::cluster::Outcome;
use crate::plan::{Object, Phase};

/// Hears what an apply does while it runs; the library never prints. Every method has a
/// default that ignores the news.
pub trait Listener: Send + Sync {
    /// Something that did not stop the run.
    fn warning(&self, _message: &str) {}
    /// A line of information.
    fn info(&self, _message: &str) {}
    /// An object was planned, applied, waited for, or failed.
    fn apply(&self, _event: &ApplyEvent<'_>) {}
    /// Every object marked to be applied where its kind is served was left out: nothing
    /// here serves what was written for `alternatives` (`OLM v0`, `OLM v1`).
    fn unserved(&self, alternatives: &[String]) {
        self.warning(&format!(
            "this cluster runs none of {}: nothing here serves what ferry wrote for them \
             (install one, or apply the skipped files where one runs)",
            alternatives.join(", ")
        ));
    }
}

/// What happened to one object.
#[derive(Debug)]
pub enum ApplyEvent<'a> {
    /// In the client-side plan: its phase and the namespace it lands in.
    Planned {
        phase: Phase,
        object: &'a Object,
        namespace: &'a str,
    },
    Applied {
        object: &'a Object,
        outcome: Outcome,
        dry_run: bool,
        /// One of the pull secret's objects.
        pull_secret: bool,
    },
    /// The server's `Warning` about an object it accepted.
    Warned {
        object: &'a Object,
        message: String,
    },
    /// A server dry run could not check it: it needs something this input creates first.
    NotChecked {
        object: &'a Object,
        needs: String,
    },
    Failed {
        object: &'a Object,
        message: String,
    },
    Ready {
        object: &'a Object,
    },
    /// Pruned: a member of the release that the new revision does not have.
    Deleted {
        object: &'a Object,
        why: String,
        dry_run: bool,
    },
    /// Dropped by the new revision, but prune does not delete its kind unless asked.
    Kept {
        object: &'a Object,
        why: String,
    },
    /// Not applied by this run: a Helm hook of another event, or after a hook that failed.
    Skipped {
        object: &'a Object,
        why: String,
    },
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApplyReport {
    /// Objects of the input.
    pub objects: usize,
    pub changed: usize,
    pub failed: usize,
    /// Not checked by a server dry run (they need what the input creates first).
    pub not_checked: usize,
    /// The pull secret's own objects (Secrets, ServiceAccount additions), apart.
    pub pull_secret_objects: usize,
    /// Members of earlier revisions deleted (or, in a dry run, that would be).
    pub pruned: usize,
    pub dry_run: bool,
    /// The release's revision this run wrote (a release's run that was not a dry run).
    #[serde(skip)]
    pub revision: Option<u32>,
}
