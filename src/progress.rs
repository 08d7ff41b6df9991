//! Progress of copies: `indicatif` bars on a terminal (one per image in flight, with bytes,
//! and an overall bar); nothing here when output is not a terminal, where the commands print
//! one plain line per finished image instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Receives byte counts from the copy engine; `image` is the job's index.
pub trait Observer: Send + Sync {
    /// More bytes this image will account for (learned as manifests are read).
    fn add_total(&self, _image: usize, _bytes: u64) {}
    /// Bytes done: transferred, or found already present.
    fn advance(&self, _image: usize, _bytes: u64) {}
    /// Bytes of a failed attempt, to be transferred again.
    fn rewind(&self, _image: usize, _bytes: u64) {}
}

/// Reports nothing.
pub struct Silent;
impl Observer for Silent {}

/// Bars on stderr.
pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    labels: Vec<String>,
    bars: Mutex<HashMap<usize, ProgressBar>>,
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this file; a typo would fail every terminal run at once.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Bars {
    pub fn new(labels: Vec<String>) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(style(
            "{prefix:>8} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
        ));
        overall.set_prefix("total");
        overall.set_message(format!("0/{} images", labels.len()));
        overall.enable_steady_tick(Duration::from_millis(200));
        Bars {
            multi,
            overall,
            labels,
            bars: Mutex::default(),
        }
    }

    fn bar(&self, image: usize) -> ProgressBar {
        // Only bars live in the map: a panic elsewhere cannot leave it inconsistent.
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry(image)
            .or_insert_with(|| {
                let b = self.multi.insert_before(&self.overall, ProgressBar::new(0));
                b.set_style(style(
                    "{prefix:>8} [{bar:30}] {binary_bytes}/{binary_total_bytes} {wide_msg}",
                ));
                b.set_prefix("copy");
                b.set_message(self.labels.get(image).cloned().unwrap_or_default());
                b
            })
            .clone()
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
    fn add_total(&self, image: usize, bytes: u64) {
        self.bar(image).inc_length(bytes);
        self.overall.inc_length(bytes);
    }
    fn advance(&self, image: usize, bytes: u64) {
        self.bar(image).inc(bytes);
        self.overall.inc(bytes);
    }
    fn rewind(&self, image: usize, bytes: u64) {
        self.bar(image).dec(bytes);
        self.overall.dec(bytes);
    }
}
