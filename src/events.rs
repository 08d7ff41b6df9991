//! `--output json`: one typed event per line (NDJSON), each naming the schema it follows,
//! so a machine reading ferry's output knows what it reads and when it changed.

use std::io::Write as _;

use serde::Serialize;

use ferry_apply::cluster::Outcome;
use ferry_apply::plan::{Object, Phase};
use ferry_oci::graph::CopyReport;

/// The version of the events; bumped on incompatible changes.
pub const EVENTS_SCHEMA: &str = "ferry.events/v1";

/// What an event is about: an object of the manifests, named as the cluster names it and as
/// the file has it.
#[derive(Serialize)]
pub(crate) struct ObjectRef<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    file: &'a str,
    line: usize,
}

impl<'a> From<&'a Object> for ObjectRef<'a> {
    fn from(o: &'a Object) -> Self {
        ObjectRef {
            api_version: &o.api_version,
            kind: &o.kind,
            namespace: o.namespace.as_deref(),
            name: &o.name,
            file: &o.file,
            line: o.line,
        }
    }
}

/// Every event ferry writes, by its `event` name.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub(crate) enum Event<'a> {
    /// An image a copy will move, and from where (a dry run's plan, or before the copy).
    ImagePlan {
        source: String,
        pull_from: String,
        target: String,
    },
    /// An image finished copying (or failed: `error`).
    Image(&'a CopyReport),
    /// A copy's totals.
    CopySummary {
        images: usize,
        failed: usize,
        bytes_copied: u64,
        bytes_skipped: u64,
        blobs_copied: u64,
        blobs_mounted: u64,
        blobs_skipped: u64,
        seconds: f64,
    },
    /// A catalog mirrored: its selection's bundles, the catalog image reduced to them at
    /// the target (by digest; none for a file-based catalog) and the site's files written.
    Catalog {
        name: &'a str,
        bundles: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        image: Option<String>,
        files: Vec<String>,
    },
    /// An object in the client-side plan, with its phase.
    ObjectPlan {
        phase: Phase,
        #[serde(flatten)]
        object: ObjectRef<'a>,
    },
    Applied {
        #[serde(flatten)]
        object: ObjectRef<'a>,
        outcome: Outcome,
        dry_run: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pull_secret: bool,
    },
    Error {
        #[serde(flatten)]
        object: ObjectRef<'a>,
        message: &'a str,
    },
    Warning {
        #[serde(flatten)]
        object: ObjectRef<'a>,
        message: &'a str,
    },
    /// A server dry run could not check it: it needs what the input creates first.
    NotChecked {
        #[serde(flatten)]
        object: ObjectRef<'a>,
        needs: &'a str,
    },
    Ready {
        #[serde(flatten)]
        object: ObjectRef<'a>,
    },
    /// Pruned: a member of an earlier revision the new one does not have.
    Deleted {
        #[serde(flatten)]
        object: ObjectRef<'a>,
        why: &'a str,
        dry_run: bool,
    },
    /// Dropped by the new revision and kept: prune does not delete its kind unless asked.
    Kept {
        #[serde(flatten)]
        object: ObjectRef<'a>,
        why: &'a str,
    },
    /// Not applied by this run: a Helm hook of another event, or after a hook that failed.
    Skipped {
        #[serde(flatten)]
        object: ObjectRef<'a>,
        why: &'a str,
    },
    /// An apply's totals.
    ApplySummary(&'a ferry_workflow::ApplyReport),
    /// An uninstall's totals.
    UninstallSummary(&'a ferry_apply::release::uninstall::UninstallReport),
}

#[derive(Serialize)]
struct Line<'a> {
    schema: &'static str,
    /// When it happened: RFC 3339, UTC, milliseconds.
    time: String,
    #[serde(flatten)]
    event: &'a Event<'a>,
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Writes `event` as one line on stdout.
pub(crate) fn emit(event: &Event<'_>) {
    if let Ok(text) = serde_json::to_string(&Line {
        schema: EVENTS_SCHEMA,
        time: now(),
        event,
    }) {
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_names_its_schema_and_kind() {
        let report = CopyReport {
            source: "quay.io/a/b:1".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(Line {
            schema: EVENTS_SCHEMA,
            time: now(),
            event: &Event::Image(&report),
        })
        .unwrap();
        assert_eq!(v["schema"], EVENTS_SCHEMA);
        let time = v["time"].as_str().unwrap();
        assert!(
            time.len() == 24 && time.ends_with('Z') && time.parse::<jiff::Timestamp>().is_ok(),
            "{time}"
        );
        assert_eq!(v["event"], "image");
        assert_eq!(v["source"], "quay.io/a/b:1");
        let plan = serde_json::to_value(Line {
            schema: EVENTS_SCHEMA,
            time: now(),
            event: &Event::ImagePlan {
                source: "a".into(),
                pull_from: "a".into(),
                target: "b".into(),
            },
        })
        .unwrap();
        assert_eq!(plan["event"], "image-plan");
    }
}
