//! Progress of copies: `indicatif` bars on a terminal (one per image in flight, with bytes,
//! and an overall bar whose total is known before a byte moves); nothing here when output is
//! not a terminal, where the commands print one plain line per finished image instead.
//! Sizes in decimal units (MB), as everything else ferry prints.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

mod reading;
pub use reading::Reading;

pub use ferry_core::observe::{Observer, Silent};

/// Whether stderr is a terminal that draws bars (not `TERM=dumb`).
pub fn live_terminal() -> bool {
    use std::io::IsTerminal;
    let dumb = std::env::var("TERM").map_or(true, |t| t.is_empty() || t == "dumb");
    std::io::stderr().is_terminal() && !dumb
}

/// Bars on stderr.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    /// The overall total was given up front.
    expected: std::sync::atomic::AtomicBool,
    labels: Vec<String>,
    bars: Mutex<HashMap<usize, ProgressBar>>,
}

pub(crate) fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file; a typo would fail every terminal run at once.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Bars {
    pub fn new(labels: Vec<String>) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        // No bar until the total is known: a `0 B/0 B` bar says nothing true.
        overall.set_style(style("{prefix:>8} {spinner} reading manifests {wide_msg}"));
        overall.set_prefix("total");
        overall.set_message(format!("0/{} images", labels.len()));
        overall.enable_steady_tick(Duration::from_millis(200));
        Bars {
            multi,
            overall,
            expected: Default::default(),
            labels,
            bars: Mutex::default(),
        }
    }

    /// The overall bar, drawn with its total from here on.
    fn show_total(&self) {
        self.overall.set_style(style(
            "{prefix:>8} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} eta {eta} {wide_msg}",
        ));
    }

    /// An image's bar, made with `length` if it is new (so it is never drawn as
    /// `0 B/0 B`); true when it was.
    fn bar(&self, image: usize, length: u64) -> (ProgressBar, bool) {
        // Only bars live in the map: a panic elsewhere cannot leave it inconsistent.
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = bars.get(&image) {
            return (b.clone(), false);
        }
        let b = self
            .multi
            .insert_before(&self.overall, ProgressBar::new(length));
        b.set_style(style(
            "{prefix:>8} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {wide_msg}",
        ));
        b.set_prefix("copy");
        b.set_message(self.labels.get(image).cloned().unwrap_or_default());
        bars.insert(image, b.clone());
        (b, true)
    }

    /// Removes an image's bar and prints its result line above the bars.
    pub fn finish(&self, image: usize, line: &str, done: usize) {
        if let Some(b) = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&image)
        {
            b.finish_and_clear();
        }
        let _ = self.multi.println(line);
        self.overall
            .set_message(format!("{done}/{} images", self.labels.len()));
    }

    /// Prints a line above the bars.
    pub fn println(&self, line: &str) {
        let _ = self.multi.println(line);
    }

    /// Removes every bar.
    pub fn clear(&self) {
        for (_, b) in self.bars.lock().unwrap_or_else(|e| e.into_inner()).drain() {
            b.finish_and_clear();
        }
        self.overall.finish_and_clear();
    }
}

impl Observer for Bars {
    fn expect(&self, bytes: u64) {
        self.expected
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.overall.inc_length(bytes);
        self.show_total();
    }
    fn add_total(&self, image: usize, bytes: u64) {
        let (bar, made) = self.bar(image, bytes);
        if !made {
            bar.inc_length(bytes);
        }
        if !self.expected.load(std::sync::atomic::Ordering::Relaxed) {
            self.overall.inc_length(bytes);
            self.show_total();
        }
    }
    fn settled(&self, _image: usize, bytes: u64) {
        self.overall.inc(bytes);
    }
    fn advance(&self, image: usize, bytes: u64) {
        self.bar(image, 0).0.inc(bytes);
        self.overall.inc(bytes);
    }
    fn rewind(&self, image: usize, bytes: u64) {
        self.bar(image, 0).0.dec(bytes);
        self.overall.dec(bytes);
    }
}
