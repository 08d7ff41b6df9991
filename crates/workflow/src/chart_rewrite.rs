//! `rewrite CHART --values-out FILE`: a values override that points every image of the chart
//! at the private registry, proven by rendering the chart with it: every image of that
//! render must be under the target, else nothing is written (exit 3) unless the image is
//! allowed to stay (`--allow-unrewritten`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{Result, WorkflowError};
use ferry_core::digest::Digest;
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};
use ferry_scan::render::{self, Chart, Origin, Unit};
use ferry_scan::rewrite::chart::{ValueEdit, override_for, to_yaml};

#[derive(Debug, Clone)]
pub struct ChartRewriteOptions {
    pub paths: Vec<PathBuf>,
    pub target: Target,
    pub layout: Layout,
    pub scan: super::ScanOptions,
    pub values_out: PathBuf,
    /// Images that may stay where they are (normalized).
    pub allow_unrewritten: Vec<Reference>,
    /// The only images the chart may render (a bundle's, at install): any other is an error
    /// before the override is made.
    pub only_from: Option<BTreeSet<Reference>>,
    /// Digests to pin images to (`--pin-digests`), by source name; empty: tags only. An
    /// image given one that no value can carry, or that renders without it, is an error.
    pub digests: BTreeMap<Reference, Digest>,
    /// Images written in a template, which no value sets, are rewritten in the render's
    /// output as a plain manifest's are (an install's render, applied from that output),
    /// instead of failing the override.
    pub rewrite_written: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ChartRewriteReport {
    pub chart: String,
    pub edits: Vec<ValueEdit>,
    /// The render that proved the override, as a person would type it.
    pub proved_by: String,
    /// Images of that render, all under the target or allowed.
    pub images: usize,
    /// Allowed images that stayed where they are.
    pub allowed: Vec<Reference>,
    /// The render with the override: what a cluster gets.
    pub output: String,
    /// Images written in a template that `output` names at the target while the override
    /// does not (`rewrite_written`).
    pub written: Vec<Reference>,
}

fn invalid(message: String) -> WorkflowError {
    WorkflowError::Invalid(message)
}

/// Writes the override for the one chart among `opts.paths`, proven, to `opts.values_out`.
pub fn rewrite_chart(opts: &ChartRewriteOptions) -> Result<ChartRewriteReport> {
    let plan = render::plan(&opts.paths, &opts.scan.render)?;
    let chart = match plan.units.as_slice() {
        [Unit::Chart(chart)] => chart.clone(),
        _ => {
            return Err(WorkflowError::Usage(
                "--values-out takes one chart (a directory with Chart.yaml, or a packaged .tgz)"
                    .into(),
            ));
        }
    };
    let (_, before, values) = render_and_scan(&plan, &chart, &opts.scan.render.helm, opts)?;
    if let Some(held) = &opts.only_from {
        only_held(&chart, &before, held)?;
    }
    let edits = make_override(&chart, &rendered_images(&before), &values, opts)?;
    // Written beside its final name, renamed there once the render with it is proven.
    let out = &opts.values_out;
    let partial = ferry_core::atomic::Partial::beside(out);
    let temp = partial.path().to_path_buf();
    let header = format!(
        "Values override by ferry: the images of {} at {}.\nhelm install ... -f {}",
        chart.meta.name,
        opts.target,
        out.display()
    );
    std::fs::write(&temp, to_yaml(&edits, &header)).map_err(super::io_error(&temp))?;
    let mut with_override = opts.scan.render.clone();
    with_override.helm.values.push(temp.clone());
    let proved = render::plan(&opts.paths, &with_override)
        .map_err(WorkflowError::from)
        .and_then(|plan| render_and_scan(&plan, &chart, &with_override.helm, opts))
        .and_then(|(output, after, _)| {
            let allowed = check_rendered(&chart, &after, opts)?;
            Ok((output, after, allowed))
        });
    // Not proven: the temporary goes with `partial`.
    let (output, after, allowed) = proved?;
    let (output, written) = rewrite_written(&output, &after, opts)?;
    partial.commit().map_err(super::io_error(out))?;
    let helm = with_override.helm.engine(&chart)?;
    let mut shown = with_override.helm.clone();
    if let Some(last) = shown.values.last_mut() {
        *last = out.clone();
    }
    Ok(ChartRewriteReport {
        chart: chart.label(),
        edits,
        proved_by: helm.command_line(&chart, &shown),
        images: rendered_hits(&after)
            .map(|h| &h.reference)
            .collect::<BTreeSet<_>>()
            .len(),
        allowed: allowed.into_iter().collect(),
        output,
        written,
    })
}

/// The images Helm rendered: the annotation lists images for people, and Helm renders none
/// from it.
fn rendered_hits(
    found: &ferry_scan::scan::FileScan,
) -> impl Iterator<Item = &ferry_scan::scan::Hit> {
    found
        .hits
        .iter()
        .filter(|h| h.rule != ferry_scan::scan::Rule::ChartAnnotation)
}

/// Where a rendered image comes from: its template, else the file.
fn template_of(hit: &ferry_scan::scan::Hit) -> String {
    hit.rendered
        .as_ref()
        .and_then(|r| r.template.clone())
        .unwrap_or_else(|| hit.file.clone())
}

/// At install: with the customer's values the chart may run only images the bundle holds.
fn only_held(
    chart: &Chart,
    before: &ferry_scan::scan::FileScan,
    held: &BTreeSet<Reference>,
) -> Result<()> {
    let missing: BTreeSet<String> = rendered_hits(before)
        .filter(|h| !h.output && !held.contains(&h.reference))
        .map(|h| format!("{} ({})", h.reference, template_of(h)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "{}: with these values the chart runs images the bundle does not carry \
         (bundle it with the same values):\n  {}",
        chart.meta.name,
        missing.into_iter().collect::<Vec<_>>().join("\n  ")
    )))
}

/// The values that point every image at the target (and carry its digest when pinning).
fn make_override(
    chart: &Chart,
    images: &[Reference],
    values: &ferry_scan::scan::rendered::ChartValues,
    opts: &ChartRewriteOptions,
) -> Result<Vec<ValueEdit>> {
    let prefixes = subchart_prefixes(chart);
    let user: BTreeSet<String> = opts
        .scan
        .render
        .helm
        .values
        .iter()
        .map(|f| ferry_scan::inputs::display(f))
        .collect();
    let prefix_of = |file: &str| -> Option<Vec<String>> {
        if user.contains(file) {
            return Some(Vec::new());
        }
        prefixes.get(file).cloned()
    };
    let made = override_for(
        images,
        &values.places,
        &prefix_of,
        &opts.target,
        opts.layout,
        &opts.digests,
    );
    if !made.unpinned.is_empty() {
        return Err(invalid(format!(
            "{}: nothing written: --pin-digests: no value of the chart can carry the digest \
             of (no `digest` or `tag` value beside its name, no tag written with it):\n  {}",
            chart.label(),
            made.unpinned
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        )));
    }
    Ok(made.edits)
}

/// Every image of the render with the override is under the target (pinned where asked) or
/// allowed to stay; the allowed ones that stayed.
fn check_rendered(
    chart: &Chart,
    after: &ferry_scan::scan::FileScan,
    opts: &ChartRewriteOptions,
) -> Result<BTreeSet<Reference>> {
    // Each image pinned renders with its digest, under its target name.
    let pinned: BTreeMap<String, &Digest> = opts
        .digests
        .iter()
        .filter_map(|(source, d)| {
            let mapped = opts.target.map(source, opts.layout).ok()?;
            Some((format!("{}/{}", mapped.registry(), mapped.repository()), d))
        })
        .collect();
    let mut left = Vec::new();
    let mut allowed = BTreeSet::new();
    for hit in rendered_hits(after) {
        let name = format!(
            "{}/{}",
            hit.reference.registry(),
            hit.reference.repository()
        );
        if let Some(d) = pinned.get(&name)
            && hit.reference.digest() != Some(d.as_str())
        {
            left.push(format!(
                "{} ({}): not pinned to {d}",
                hit.reference,
                template_of(hit)
            ));
        } else if opts.allow_unrewritten.contains(&hit.reference)
            && !opts.target.holds(&hit.reference)
        {
            allowed.insert(hit.reference.clone());
        } else if !opts.target.holds(&hit.reference) && !rewritten_in_output(hit, opts) {
            left.push(outside(hit));
        }
    }
    if left.is_empty() {
        return Ok(allowed);
    }
    left.sort();
    left.dedup();
    Err(invalid(format!(
        "{}: nothing written: with the override, the chart still names images outside {} \
         (give --allow-unrewritten REF for one that may stay):\n  {}",
        chart.label(),
        opts.target,
        left.join("\n  ")
    )))
}

/// An image written in a template: no value sets it, so no override moves it.
fn is_written(hit: &ferry_scan::scan::Hit) -> bool {
    !hit.rendered.as_ref().is_some_and(|r| r.located)
}

/// An image the output names at the target although the override does not move it.
fn rewritten_in_output(hit: &ferry_scan::scan::Hit, opts: &ChartRewriteOptions) -> bool {
    opts.rewrite_written && is_written(hit)
}

/// `output` with the images its templates write (which no value sets) pointed at the target
/// (pinned where a digest is known), when `opts.rewrite_written` asks, and those images;
/// as it is otherwise.
fn rewrite_written(
    output: &str,
    after: &ferry_scan::scan::FileScan,
    opts: &ChartRewriteOptions,
) -> Result<(String, Vec<Reference>)> {
    let written: BTreeSet<&Reference> = rendered_hits(after)
        .filter(|h| rewritten_in_output(h, opts) && !opts.target.holds(&h.reference))
        .map(|h| &h.reference)
        .collect();
    if written.is_empty() {
        return Ok((output.to_string(), Vec::new()));
    }
    let mut mapping = BTreeMap::new();
    for source in &written {
        let mut to = opts
            .target
            .map(source, opts.layout)
            .map_err(|e| invalid(format!("{source}: {e}")))?;
        if let Some(d) = opts.digests.get(*source) {
            to = to
                .with_digest(d.as_str())
                .map_err(|e| invalid(format!("{source}: {e}")))?;
        }
        mapping.insert((*source).clone(), to);
    }
    // The output read as the plain manifest it is, as the bundle's own output is rewritten:
    // the render's hits point into the templates.
    let plain = ferry_scan::scan::scan_str("(render)", output, &opts.scan.rules)
        .map_err(|e| invalid(e.to_string()))?;
    let hits: Vec<&ferry_scan::scan::Hit> = plain
        .hits
        .iter()
        .filter(|h| mapping.contains_key(&h.reference))
        .collect();
    let text = ferry_scan::rewrite::rewrite_text(output, &hits, &mapping)
        .map_err(|e| invalid(e.to_string()))?;
    Ok((text, mapping.into_keys().collect()))
}

/// An image the override did not move, with where and why.
fn outside(hit: &ferry_scan::scan::Hit) -> String {
    format!(
        "{} ({} {}/{}, {}): {}",
        hit.reference,
        template_of(hit),
        hit.kind.as_deref().unwrap_or("?"),
        hit.name.as_deref().unwrap_or("?"),
        hit.rendered
            .as_ref()
            .and_then(|r| r.yaml_path.clone())
            .unwrap_or_else(|| hit.yaml_path.clone()),
        if hit.rendered.as_ref().is_some_and(|r| r.located) {
            "its values could not all be overridden"
        } else {
            "written in the template, no value sets it"
        }
    )
}

/// The images a chart renders (without those its annotation lists for people), sorted.
fn rendered_images(found: &ferry_scan::scan::FileScan) -> Vec<Reference> {
    found
        .hits
        .iter()
        .filter(|h| h.rule != ferry_scan::scan::Rule::ChartAnnotation)
        .map(|h| h.reference.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The images the one chart among `opts.paths` renders with its options: what
/// `--pin-digests` needs digests for before the override is made.
pub fn chart_images(opts: &ChartRewriteOptions) -> Result<Vec<Reference>> {
    let plan = render::plan(&opts.paths, &opts.scan.render)?;
    let [Unit::Chart(chart)] = plan.units.as_slice() else {
        return Err(WorkflowError::Usage(
            "--values-out takes one chart (a directory with Chart.yaml, or a packaged .tgz)".into(),
        ));
    };
    let (_, found, _) = render_and_scan(&plan, chart, &opts.scan.render.helm, opts)?;
    Ok(rendered_images(&found))
}

/// The chart rendered with `helm` options and scanned; also the values it was rendered
/// with, as ferry reads them (read once, for the scan and for the override).
fn render_and_scan(
    plan: &render::Plan,
    chart: &Chart,
    helm: &render::HelmOptions,
    opts: &ChartRewriteOptions,
) -> Result<(
    String,
    ferry_scan::scan::FileScan,
    ferry_scan::scan::rendered::ChartValues,
)> {
    let source = plan.load(&Unit::Chart(chart.clone()))?;
    let Origin::Chart { command, .. } = &source.origin else {
        return Err(invalid(format!(
            "{}: not rendered as a chart",
            chart.label()
        )));
    };
    let values = super::scan::chart_values(chart, &helm.values, &opts.scan.rules)?;
    let found = super::scan::scan_chart(&source, chart, command, &values, &opts.scan.rules)?;
    Ok((source.text, found, values))
}

/// The keys each values file of the chart sits under in the chart's values: its own file
/// none, a subchart's its name (or the alias the parent gives it), nested as subcharts nest.
fn subchart_prefixes(chart: &Chart) -> BTreeMap<String, Vec<String>> {
    #[derive(serde::Deserialize, Default)]
    struct Meta {
        #[serde(default)]
        name: String,
        #[serde(default)]
        dependencies: Vec<Dependency>,
    }
    #[derive(serde::Deserialize)]
    struct Dependency {
        name: String,
        #[serde(default)]
        alias: Option<String>,
    }
    let files = chart.values_files();
    let meta_of = |dir: &str| -> Meta {
        let inner = if dir.is_empty() {
            "Chart.yaml".to_string()
        } else {
            format!("{dir}/Chart.yaml")
        };
        files
            .iter()
            .find(|f| f.inner == inner)
            .and_then(|f| serde_saphyr::from_str(&f.text).ok())
            .unwrap_or_default()
    };
    let mut out = BTreeMap::new();
    for file in files.iter().filter(|f| f.inner.ends_with("values.yaml")) {
        let dir = file
            .inner
            .trim_end_matches("values.yaml")
            .trim_end_matches('/');
        let mut keys = Vec::new();
        let mut parent = String::new();
        let mut ok = true;
        let parts: Vec<&str> = if dir.is_empty() {
            Vec::new()
        } else {
            dir.split('/').collect()
        };
        for pair in parts.chunks(2) {
            let [charts, sub] = pair else {
                ok = false;
                break;
            };
            if *charts != "charts" {
                ok = false;
                break;
            }
            let here = if parent.is_empty() {
                format!("charts/{sub}")
            } else {
                format!("{parent}/charts/{sub}")
            };
            let name = meta_of(&here).name;
            let alias = meta_of(&parent)
                .dependencies
                .into_iter()
                .filter(|d| d.name == name)
                .find_map(|d| d.alias);
            keys.push(alias.unwrap_or(if name.is_empty() {
                sub.to_string()
            } else {
                name
            }));
            parent = here;
        }
        if ok {
            out.insert(file.label.clone(), keys);
        }
    }
    out
}
