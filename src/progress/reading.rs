//! Progress of one long phase that is not a copy (verify's hashing, a decompression, the
//! bundle's tar write, reading inputs or manifests): a bar on a terminal (a spinner until
//! its total is known); elsewhere a plain line every 10 seconds from a thread of its own,
//! so a CI log shows the run is alive even while the phase has no bytes to tell, or stalls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget};

use super::{Observer, style};
use ferry_core::text::Bytes;

/// How often a phase says it is alive where no bar is drawn.
const EVERY: Duration = Duration::from_secs(10);

pub struct Reading {
    bar: Option<ProgressBar>,
    counts: Arc<Counts>,
    _ticker: Option<Ticker>,
}

/// Bytes the phase will read (0: not known) and has read.
#[derive(Default)]
struct Counts {
    total: AtomicU64,
    done: AtomicU64,
}

/// The thread that prints the plain lines; stopped and joined when dropped.
struct Ticker {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Reading {
    pub fn new(what: &str, terminal: bool) -> Reading {
        let counts = Arc::new(Counts::default());
        if !terminal {
            let said = |line: &str| eprintln!("{line}");
            let ticker = Ticker::start(what, counts.clone(), EVERY, said);
            return Reading {
                bar: None,
                counts,
                _ticker: Some(ticker),
            };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        // No bar until the total is known: a `0 B/0 B` bar says nothing true.
        bar.set_style(style("{prefix:>8} {spinner} reading"));
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Reading {
            bar: Some(bar),
            counts,
            _ticker: None,
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// Its bar (on a terminal), to print lines above while it is drawn.
    pub fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Observer for Reading {
    fn expect(&self, bytes: u64) {
        self.counts.total.fetch_add(bytes, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_style(style(
                "{prefix:>8} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} eta {eta}",
            ));
            b.inc_length(bytes);
        }
    }
    fn advance(&self, _image: usize, bytes: u64) {
        self.counts.done.fetch_add(bytes, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }
}

impl Ticker {
    /// Says `what`'s progress through `say` every `every` until dropped.
    fn start(
        what: &str,
        counts: Arc<Counts>,
        every: Duration,
        say: impl Fn(&str) + Send + 'static,
    ) -> Ticker {
        let (stop, stopped) = std::sync::mpsc::channel();
        let what = what.to_string();
        let thread = std::thread::spawn(move || tick(&what, &counts, every, &stopped, say));
        Ticker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // The sender gone, the thread's wait ends at once.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn tick(what: &str, counts: &Counts, every: Duration, stopped: &Receiver<()>, say: impl Fn(&str)) {
    let started = Instant::now();
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
        say(&line(what, counts, started.elapsed()));
    }
}

/// `verify: 1.2 GB of 30.0 GB`; a phase with no bytes to tell: how long it has run.
fn line(what: &str, counts: &Counts, elapsed: Duration) -> String {
    match counts.total.load(Ordering::Relaxed) {
        0 => format!("{what}: still at it after {} s", elapsed.as_secs()),
        total => format!(
            "{what}: {} of {}",
            Bytes(counts.done.load(Ordering::Relaxed)),
            Bytes(total)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Waits (at most 5 s: a loaded machine may not run the thread at once) until `said`
    /// holds a line `wanted` accepts.
    fn until(said: &Mutex<Vec<String>>, wanted: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if said.lock().unwrap().iter().any(|l| wanted(l)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_phase_says_it_is_alive_every_interval_until_it_ends() {
        let counts = Arc::new(Counts::default());
        let said = Arc::new(Mutex::new(Vec::<String>::new()));
        let to = said.clone();
        let ticker = Ticker::start(
            "inputs",
            counts.clone(),
            Duration::from_millis(20),
            move |l| to.lock().unwrap().push(l.to_string()),
        );
        // No bytes to tell yet: how long it has run.
        assert!(until(&said, |l| l.starts_with("inputs: still at it after ")));
        counts.total.store(3_000_000, Ordering::Relaxed);
        counts.done.store(1_000_000, Ordering::Relaxed);
        assert!(
            until(&said, |l| l == "inputs: 1.0 MB of 3.0 MB"),
            "{:?}",
            said.lock()
        );
        drop(ticker);
        // Dropped: joined, and no line after.
        let count = said.lock().unwrap().len();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(said.lock().unwrap().len(), count);
    }
}
