//! Rendering what workflows report: progress bars on a terminal, plain lines otherwise,
//! NDJSON events with `--output json`.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cli::CopyOutput;
use crate::events::{Event, emit};
use crate::output::Bytes;
use crate::progress::{Bars, Observer};
use ferry_apply::cluster::Outcome;
use ferry_oci::graph::CopyReport;
use ferry_workflow::{ApplyEvent, Listener, Planned, Reporter};

/// Prints a workflow's events as they come.
pub(super) struct Printer {
    output: CopyOutput,
    /// Draw bars (a terminal that can show them, text output).
    live: bool,
    bars: OnceLock<Bars>,
    /// The bar of the long read under way, if any: lines go above it, not into it.
    reading: std::sync::Mutex<Option<indicatif::ProgressBar>>,
    done: AtomicUsize,
}

impl Printer {
    pub(super) fn new(output: CopyOutput) -> Printer {
        Printer {
            output,
            live: output == CopyOutput::Text && crate::progress::live_terminal(),
            bars: OnceLock::new(),
            reading: Default::default(),
            done: AtomicUsize::new(0),
        }
    }

    /// Removes the bars, if any were drawn.
    pub(super) fn finish(&self) {
        if let Some(b) = self.bars.get() {
            b.clear();
        }
    }

    /// A line on stdout, above the bars when they are drawn.
    fn line(&self, text: &str) {
        // Names come from manifests and bundles: never let them drive the terminal.
        let text = crate::output::printable_text(text, true);
        let text = text.as_ref();
        self.above_bars(text, || {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        });
    }

    /// A line on stderr, above the bars when they are drawn.
    fn note(&self, text: &str) {
        let text = crate::output::printable_text(text, true);
        let text = text.as_ref();
        self.above_bars(text, || eprintln!("{text}"));
    }

    /// Prints `text` (through `print` where no bar is drawn) above what is drawn: the long
    /// read's bar while one runs, else the copy's bars.
    fn above_bars(&self, text: &str, print: impl FnOnce()) {
        let reading = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        match (
            reading.as_ref().filter(|b| !b.is_finished()),
            self.bars.get(),
        ) {
            (Some(bar), _) => bar.suspend(print),
            (None, Some(bars)) => bars.println(text),
            (None, None) => print(),
        }
    }
}

/// The line for a finished image; `short` digests (12 hex digits, as `docker images` shows
/// them) keep it on one line of a terminal, where bars are drawn.
pub(super) fn image_line(r: &CopyReport, short: bool) -> String {
    let shown = |d: &ferry_core::digest::Digest| match short {
        true => d.short().to_string(),
        false => d.to_string(),
    };
    let digest = r.digest.as_ref().map(shown).unwrap_or_default();
    if r.target.is_empty() {
        // Into a bundle's cache.
        return match &r.error {
            Some(e) => format!("failed  {}: {e}", r.source),
            None => format!(
                "pulled  {}@{digest} ({} downloaded, {} cached)",
                r.source,
                Bytes(r.bytes_copied),
                Bytes(r.bytes_skipped)
            ),
        };
    }
    match (&r.error, r.up_to_date) {
        (Some(e), _) => format!("failed  {} -> {}: {e}", r.source, r.target),
        (None, true) => format!("present {} -> {} (up to date)", r.source, r.target),
        (None, false) => {
            let filtered = r
                .source_digest
                .as_ref()
                .map(|s| format!(", filtered from {}", shown(s)))
                .unwrap_or_default();
            format!(
                "copied  {} -> {}@{digest} ({} copied, {} already there{filtered})",
                r.source,
                r.target,
                Bytes(r.bytes_copied),
                Bytes(r.bytes_skipped)
            )
        }
    }
}

fn verb(outcome: Outcome, dry_run: bool) -> &'static str {
    match (outcome, dry_run) {
        (Outcome::Created, false) => "created",
        (Outcome::Configured, false) => "configured",
        (Outcome::Unchanged, _) => "unchanged",
        (Outcome::Applied, false) => "applied",
        (Outcome::Applied, true) => "would be applied",
        (Outcome::Created, true) => "would be created",
        (Outcome::Configured, true) => "would be configured",
    }
}

impl Observer for Printer {
    fn expect(&self, bytes: u64) {
        if let Some(b) = self.bars.get() {
            b.expect(bytes);
        }
    }
    fn add_total(&self, image: usize, bytes: u64) {
        if let Some(b) = self.bars.get() {
            b.add_total(image, bytes);
        }
    }
    fn settled(&self, image: usize, bytes: u64) {
        if let Some(b) = self.bars.get() {
            b.settled(image, bytes);
        }
    }
    fn advance(&self, image: usize, bytes: u64) {
        if let Some(b) = self.bars.get() {
            b.advance(image, bytes);
        }
    }
    fn rewind(&self, image: usize, bytes: u64) {
        if let Some(b) = self.bars.get() {
            b.rewind(image, bytes);
        }
    }
}

impl Listener for Printer {
    fn warning(&self, message: &str) {
        self.note(&format!("warning: {message}"));
    }

    fn info(&self, message: &str) {
        self.note(message);
    }

    fn apply(&self, event: &ApplyEvent<'_>) {
        if self.output == CopyOutput::Json {
            emit(&apply_json(event));
            return;
        }
        match apply_text(event) {
            Said::Line(line) => self.line(&line),
            Said::Note(note) => self.note(&note),
        }
    }
}

impl Reporter for Printer {
    fn step(&self, title: &str) {
        self.note(&format!("== {title}"));
    }

    fn reading(&self, what: &str) -> Option<Box<dyn ferry_core::observe::Observer>> {
        // A new phase: the copy's bars (all done) make way for the read's.
        self.finish();
        if self.output != CopyOutput::Text {
            return None;
        }
        let reading = crate::progress::Reading::new(what, self.live);
        *self.reading.lock().unwrap_or_else(|e| e.into_inner()) = reading.bar();
        Some(Box::new(reading))
    }

    fn images(&self, labels: &[String]) {
        if self.live {
            let _ = self.bars.set(Bars::new(labels.to_vec()));
        }
    }

    fn copy_plan(&self, planned: &[Planned]) {
        for j in planned {
            match self.output {
                CopyOutput::Json => emit(&Event::ImagePlan {
                    source: j.source.to_string(),
                    pull_from: j.pull_from.to_string(),
                    target: j.target.to_string(),
                }),
                CopyOutput::Text if j.pull_from != j.source => self.line(&format!(
                    "{} -> {} (pull from {})",
                    j.source, j.target, j.pull_from
                )),
                CopyOutput::Text => self.line(&format!("{} -> {}", j.source, j.target)),
            }
        }
    }

    fn image(&self, index: usize, report: &CopyReport) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match (self.output, self.bars.get()) {
            (CopyOutput::Json, _) => emit(&Event::Image(report)),
            (CopyOutput::Text, Some(b)) => b.finish(index, &image_line(report, true), n),
            // A failure is an error: stderr, where scripts and people look for them.
            (CopyOutput::Text, None) if report.error.is_some() => {
                self.note(&image_line(report, false))
            }
            (CopyOutput::Text, None) => self.line(&image_line(report, false)),
        }
    }
}

/// A line for stdout, or a note (an error, a warning) for stderr.
enum Said {
    Line(String),
    Note(String),
}

/// An apply event for people.
fn apply_text(event: &ApplyEvent<'_>) -> Said {
    match event {
        ApplyEvent::Planned {
            phase,
            object: o,
            namespace,
        } => Said::Line(format!(
            "{:<16} {}/{} {} ({}:{})",
            phase.to_string(),
            o.kind,
            o.name,
            namespace,
            o.file,
            o.line
        )),
        ApplyEvent::Applied {
            object: o,
            outcome,
            pull_secret: true,
            dry_run,
        } => Said::Line(format!(
            "{}/{} in {} {} (pull secret)",
            o.kind,
            o.name,
            o.namespace.as_deref().unwrap_or(""),
            verb(*outcome, *dry_run)
        )),
        ApplyEvent::Applied {
            object: o,
            outcome,
            dry_run,
            ..
        } => Said::Line(format!(
            "{}/{} {}",
            o.kind,
            o.name,
            verb(*outcome, *dry_run)
        )),
        ApplyEvent::Failed { object: o, message } => Said::Note(format!(
            "error: {}/{} ({}:{}): {message}",
            o.kind, o.name, o.file, o.line
        )),
        ApplyEvent::Warned { object: o, message } => {
            Said::Note(format!("Warning: {}/{}: {message}", o.kind, o.name))
        }
        ApplyEvent::NotChecked { object: o, needs } => {
            Said::Line(format!("{}/{} not checked: needs {needs}", o.kind, o.name))
        }
        ApplyEvent::Ready { object: o } => Said::Line(format!("{}/{} ready", o.kind, o.name)),
        ApplyEvent::Deleted { .. } | ApplyEvent::Kept { .. } => prune_text(event),
        ApplyEvent::Skipped { object: o, why } => {
            Said::Line(format!("{}/{} skipped ({why})", o.kind, o.name))
        }
    }
}

/// A pruned or kept object for people.
fn prune_text(event: &ApplyEvent<'_>) -> Said {
    match event {
        ApplyEvent::Deleted {
            object: o,
            why,
            dry_run,
        } => Said::Line(format!(
            "{}/{} {} ({why})",
            o.kind,
            o.name,
            if *dry_run {
                "would be deleted"
            } else {
                "deleted"
            }
        )),
        ApplyEvent::Kept { object: o, why } => {
            Said::Note(format!("note: {}/{} {why}", o.kind, o.name))
        }
        _ => unreachable!("only prune events come here"),
    }
}

/// An apply event as the typed event `--output json` writes.
fn apply_json<'a>(event: &'a ApplyEvent<'a>) -> Event<'a> {
    match event {
        ApplyEvent::Planned { phase, object, .. } => Event::ObjectPlan {
            phase: *phase,
            object: (*object).into(),
        },
        ApplyEvent::Applied {
            object,
            outcome,
            dry_run,
            pull_secret,
        } => Event::Applied {
            object: (*object).into(),
            outcome: *outcome,
            dry_run: *dry_run,
            pull_secret: *pull_secret,
        },
        ApplyEvent::Failed { object, message } => Event::Error {
            object: (*object).into(),
            message,
        },
        ApplyEvent::Warned { object, message } => Event::Warning {
            object: (*object).into(),
            message,
        },
        ApplyEvent::NotChecked { object, needs } => Event::NotChecked {
            object: (*object).into(),
            needs,
        },
        ApplyEvent::Ready { object } => Event::Ready {
            object: (*object).into(),
        },
        ApplyEvent::Deleted {
            object,
            why,
            dry_run,
        } => Event::Deleted {
            object: (*object).into(),
            why,
            dry_run: *dry_run,
        },
        ApplyEvent::Kept { object, why } => Event::Kept {
            object: (*object).into(),
            why,
        },
        ApplyEvent::Skipped { object, why } => Event::Skipped {
            object: (*object).into(),
            why,
        },
    }
}
