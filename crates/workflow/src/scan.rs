//! Scanning inputs: every file the paths expand to, each kustomization root rendered by
//! kustomize and its findings traced back to the files that name them; without kustomize,
//! ferry's own pass applies kustomizations to the files they include.

use std::path::PathBuf;

use ferry_scan::inputs;
use ferry_scan::render::{self, Origin, RenderOptions, Source};
use ferry_scan::scan::rendered::ChartValues;
use ferry_scan::scan::{self, FileScan, Report, ScanError, UserRules};

/// What decides what a scan finds: the user's rules and the renderers.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub rules: UserRules,
    pub render: RenderOptions,
}

/// The inputs as a cluster would get them, each kustomization rendered once: what every
/// workflow then scans, checks, bundles or applies.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: Vec<Source>,
    /// What could not be done the real way (no kustomize engine).
    pub notes: Vec<String>,
    /// Inputs that could not be read or rendered (with `keep_going`, all of them).
    pub errors: Vec<ScanError>,
    /// Every file read, covered ones included.
    pub files: Vec<String>,
    /// Each chart's values as ferry reads them (by the chart's label), read while Helm
    /// rendered it.
    pub chart_values: std::collections::BTreeMap<String, Result<ChartValues, ScanError>>,
}

/// Expands, reads and renders the inputs, several renders at once; with `keep_going` a
/// failure is recorded and the rest are loaded, otherwise the first one in input order ends
/// it (what came after it is dropped, rendered or not). While Helm renders a chart, its values
/// files are read and scanned with `rules` (what tracing its output needs), on a thread of
/// their own: that work costs no time beside the render.
pub fn load(
    paths: &[PathBuf],
    render: &RenderOptions,
    rules: &UserRules,
    keep_going: bool,
) -> Loaded {
    if render.per_input.is_empty() {
        return load_group(paths, render, rules, keep_going);
    }
    // Each input with options of its own is loaded alone with them; the rest together.
    let (own, rest): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .iter()
        .cloned()
        .partition(|p| render.per_input.contains_key(p));
    let common = RenderOptions {
        per_input: Default::default(),
        ..render.clone()
    };
    let mut groups = vec![(rest, common.clone())];
    for path in own {
        let helm = render.per_input[&path].clone();
        groups.push((
            vec![path],
            RenderOptions {
                helm,
                ..common.clone()
            },
        ));
    }
    let mut loaded = Loaded::default();
    for (paths, render) in groups.iter().filter(|(p, _)| !p.is_empty()) {
        let part = load_group(paths, render, rules, keep_going);
        let failed = !part.errors.is_empty();
        loaded.absorb(part);
        if failed && !keep_going {
            break;
        }
    }
    loaded
}

impl Loaded {
    /// Adds what another load found.
    fn absorb(&mut self, other: Loaded) {
        self.sources.extend(other.sources);
        for note in other.notes {
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
        self.errors.extend(other.errors);
        self.files.extend(other.files);
        self.chart_values.extend(other.chart_values);
    }
}

fn load_group(
    paths: &[PathBuf],
    render: &RenderOptions,
    rules: &UserRules,
    keep_going: bool,
) -> Loaded {
    let mut loaded = Loaded::default();
    let plan = match render::plan(paths, render) {
        Ok(p) => p,
        Err(e) => {
            loaded.errors.push(e.into());
            return loaded;
        }
    };
    loaded.notes = plan.notes.clone();
    let unit_of = |unit: &render::Unit| match unit {
        render::Unit::Chart(chart) => std::thread::scope(|s| {
            let values = &plan.helm_options.values;
            let read = s.spawn(|| chart_values(chart, values, rules));
            let source = plan.load(unit);
            // A panic there is a bug; the scan then reads the values itself.
            let values = read.join().ok().map(|read| (chart.label(), read));
            (source, values)
        }),
        _ => (plan.load(unit), None),
    };
    for (unit, (source, values)) in plan.units.iter().zip(in_parallel(&plan.units, unit_of)) {
        loaded
            .files
            .extend(unit.files().iter().map(|f| inputs::display(f)));
        loaded.chart_values.extend(values);
        match source {
            Ok(source) => loaded.sources.push(source),
            Err(e) => {
                loaded.errors.push(e.into());
                if !keep_going {
                    break;
                }
            }
        }
    }
    loaded
}

/// `f` of each item, in order, a few items at a time: renders are other processes (Helm,
/// kustomize) that wait on their own work, and several charts or overlays render at once.
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    /// At most this many renders run at once, however many cores there are.
    const MOST: usize = 4;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MOST)
        .min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = f(item);
                    // Each slot is written once, by the one worker that took its index.
                    *done[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    done.into_iter()
        .map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner()))
        // Every index below items.len() was taken by a worker, which filled its slot unless it
        // panicked, and a panic in a scoped thread is raised again when the scope ends.
        .map(|r| r.expect("every item was done"))
        .collect()
}

/// Scans every input; with `keep_going`, a bad file is recorded and the rest are scanned,
/// otherwise the first bad file ends the scan.
pub fn scan_paths(paths: &[PathBuf], opts: &ScanOptions, keep_going: bool) -> Report {
    let loaded = load(paths, &opts.render, &opts.rules, keep_going);
    let mut report = scan_loaded(&loaded, &opts.rules, keep_going);
    report.errors.splice(0..0, loaded.errors);
    report
}

/// Scans loaded inputs: files (a kustomization among them read by ferry's own pass), and
/// rendered output with each finding traced to the source file naming it.
pub fn scan_loaded(loaded: &Loaded, rules: &UserRules, keep_going: bool) -> Report {
    let mut report = Report {
        files: loaded.files.clone(),
        notes: loaded.notes.clone(),
        ..Report::default()
    };
    if !loaded.errors.is_empty() && !keep_going {
        return report;
    }
    let mut plain = Vec::new();
    let mut rendered = Vec::new();
    for source in &loaded.sources {
        let scanned = match &source.origin {
            Origin::File(_) => scan::scan_text(&source.label, &source.text, rules)
                .map(|found| plain.push((source.label.clone(), found))),
            Origin::Rendered { root, engine } => {
                scan_rendered(source, root, engine, rules).map(|found| rendered.push(found))
            }
            Origin::Chart {
                chart,
                command,
                helm,
            } => {
                let values = &helm.values;
                let read_here;
                let read = match loaded.chart_values.get(&chart.label()) {
                    Some(Ok(read)) => Ok(read),
                    _ => match chart_values(chart, values, rules) {
                        Ok(read) => {
                            read_here = read;
                            Ok(&read_here)
                        }
                        Err(e) => Err(e),
                    },
                };
                read.and_then(|read| scan_chart(source, chart, command, read, rules))
                    .map(|found| rendered.push(found))
            }
        };
        if let Err(e) = scanned {
            report.errors.push(e);
            if !keep_going {
                break;
            }
        }
    }
    scan::kustomize::resolve(&mut plain);
    let mut uses = Vec::new();
    for found in plain.into_iter().map(|(_, f)| f).chain(rendered) {
        append(&mut report.hits, found.hits);
        append(&mut report.warnings, found.warnings);
        uses.extend(found.config_map_uses);
    }
    scan::consumers::link(&mut report.hits, &uses);
    report
}

/// Moves `from` into `into` without a second copy of a big first list alive at once.
fn append<T>(into: &mut Vec<T>, from: Vec<T>) {
    if into.is_empty() {
        *into = from;
    } else {
        into.extend(from);
    }
}

/// A kustomization root's output, scanned, each finding traced to the source file naming it.
pub(super) fn scan_rendered(
    source: &Source,
    root: &render::Root,
    engine: &str,
    rules: &UserRules,
) -> Result<FileScan, ScanError> {
    let mut found = scan::scan_text(&source.label, &source.text, rules)?;
    let mut sources = Vec::new();
    for file in &root.covers {
        let label = inputs::display(file);
        // A source ferry's own pass cannot read is no reason to fail: the output is the truth.
        if let Ok(s) = inputs::read_text(file)
            .map_err(ScanError::from)
            .and_then(|text| scan::scan_text(&label, &text, rules))
        {
            sources.push((label, s));
        }
    }
    scan::kustomize::resolve(&mut sources);
    let by = format!("{engine} {}", root.dir.display());
    scan::rendered::attribute(&mut found, &sources, &inputs::display(&root.file), &by);
    Ok(found)
}

/// A chart's output, scanned, each finding given its template and the values file that
/// writes it (`values`: those it was rendered with, as [`chart_values`] reads them); plus
/// the images the chart's annotation lists.
pub(super) fn scan_chart(
    source: &Source,
    chart: &render::Chart,
    command: &str,
    values: &scan::rendered::ChartValues,
    rules: &UserRules,
) -> Result<FileScan, ScanError> {
    let mut found = scan::scan_text(&source.label, &source.text, rules)?;
    scan::rendered::attribute_chart(&mut found, &source.text, values, chart, command);
    found.hits.extend(scan::annotated(chart));
    Ok(found)
}

/// The values a chart is rendered with, read by ferry's own pass: the user's files (last
/// given first) and the chart's own (parent first), with every string they hold.
pub(super) fn chart_values(
    chart: &render::Chart,
    values: &[PathBuf],
    rules: &UserRules,
) -> Result<scan::rendered::ChartValues, ScanError> {
    let mut values_read = scan::rendered::ChartValues::default();
    for file in values.iter().rev() {
        let label = inputs::display(file);
        let text = inputs::read_text(file)?;
        values_read
            .user
            .push((label.clone(), scan::scan_text(&label, &text, rules)?));
        values_read
            .places
            .extend(scan::places::places(&label, &text));
    }
    for file in chart.values_files() {
        if !file.inner.ends_with("values.yaml") {
            continue;
        }
        // The chart's own files are Helm's business: one ferry cannot read names nothing.
        if let Ok(s) = scan::scan_text(&file.label, &file.text, rules) {
            values_read.chart.push((file.label.clone(), s));
        }
        values_read
            .places
            .extend(scan::places::places(&file.label, &file.text));
    }
    Ok(values_read)
}

/// The images to copy or bundle, each once, sorted, with where each was first named.
#[derive(Debug, Clone, Default)]
pub struct Images {
    pub list: Vec<ferry_core::reference::Reference>,
    /// `file:line` of the first mention (or `--images FILE`).
    pub origin: std::collections::BTreeMap<ferry_core::reference::Reference, String>,
    /// Artifacts attached to other images, by where each is.
    pub attached: std::collections::BTreeMap<ferry_core::reference::Reference, super::Attached>,
}

impl Images {
    /// Where `r` was named, for messages.
    pub fn origin_of(&self, r: &ferry_core::reference::Reference) -> &str {
        self.origin.get(r).map_or("", String::as_str)
    }
}

/// Every image to copy or bundle: scanned from the loaded inputs plus those of the `images`
/// list. Build outputs (pushed by operators, never pulled) are left out with a note. Notes
/// and scan warnings go to `reporter`; an input that does not load or scan is an error.
pub fn collect_images(
    loaded: &Loaded,
    images: Option<&std::path::Path>,
    listed: &[(ferry_core::reference::Reference, String)],
    rules: &UserRules,
    reporter: &dyn super::Reporter,
) -> super::Result<Images> {
    let mut origin = std::collections::BTreeMap::new();
    if let Some(e) = loaded.errors.first() {
        return Err(super::WorkflowError::Invalid(ferry_core::error::chain(e)));
    }
    let report = scan_loaded(loaded, rules, false);
    for n in &report.notes {
        reporter.warning(n);
    }
    for w in &report.warnings {
        reporter.warning(&w.to_string());
    }
    if let Some(e) = report.errors.into_iter().next() {
        return Err(e.into());
    }
    for h in report.hits {
        if h.output {
            reporter.info(&format!(
                "{}:{}: {} is a build output (pushed by the operator, not pulled): not copied",
                h.file, h.line, h.reference
            ));
            continue;
        }
        origin
            .entry(h.reference)
            .or_insert_with(|| format!("{}:{}", h.file, h.line));
    }
    if let Some(file) = images {
        for r in inputs::read_image_list(file)? {
            origin
                .entry(r)
                .or_insert_with(|| format!("--images {}", inputs::display(file)));
        }
    }
    for (r, from) in listed {
        origin.entry(r.clone()).or_insert_with(|| from.clone());
    }
    Ok(Images {
        list: origin.keys().cloned().collect(),
        origin,
        attached: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::in_parallel;

    #[test]
    fn in_parallel_keeps_the_order_of_its_items() {
        // Earlier items take longer, so they finish last.
        let items: Vec<u64> = (0..12).collect();
        let out = in_parallel(&items, |i| {
            std::thread::sleep(std::time::Duration::from_millis(2 * (12 - i)));
            i * 10
        });
        assert_eq!(out, (0..12).map(|i| i * 10).collect::<Vec<_>>());
    }
}
