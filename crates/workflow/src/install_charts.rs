//! `install -f/--set`, or a chart bundled for no namespace installed into one: a bundle's
//! charts rendered again at the customer's site, with the values the bundle was made with
//! and the customer's on top, for the namespace they land in, pointed at the private
//! registry by a values override (as `rewrite CHART --values-out` makes it) and proven, in
//! place of the output the bundle carries. The render may only run images the bundle holds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::chart_rewrite::{ChartRewriteOptions, rewrite_chart};
use super::{Reporter, Result, WorkflowError};
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};
use ferry_oci::bundle::archive::Archive;
use ferry_oci::bundle::chart::ChartEntry;
use ferry_scan::render::{HelmOptions, RenderOptions};

/// The customer's values for the bundle's charts (`-f`, `--set`, `--set-string`, `--helm`).
#[derive(Debug, Clone, Default)]
pub struct CustomerValues {
    pub helm: HelmOptions,
}

impl CustomerValues {
    pub fn is_empty(&self) -> bool {
        self.helm.values.is_empty() && self.helm.set.is_empty() && self.helm.set_string.is_empty()
    }
}

/// Each chart's output, rendered again with the customer's values and the override: `(path
/// under manifests/, text)`. The overrides are written under `overrides` (kept, for a site
/// that later installs the chart with Helm).
pub(crate) fn render_charts(
    archive: &Archive,
    site: &SiteRender,
    reporter: &dyn Reporter,
) -> Result<Vec<(String, String)>> {
    let SiteRender {
        customer,
        target,
        layout,
        overrides,
        pin_digests,
        namespace,
        rewrite_written,
    } = *site;
    let no_charts = || {
        WorkflowError::Usage(
            "-f/--values, --set and --set-string are for charts, and the bundle holds none".into(),
        )
    };
    let meta = archive.meta()?.ok_or_else(no_charts)?;
    // What reaches Helm and the file names below has its shape, whoever called this.
    let mut problems = Vec::new();
    ferry_oci::bundle::trust::check_fields(&meta, &mut problems);
    if !problems.is_empty() {
        return Err(WorkflowError::Incomplete {
            message: format!(
                "{}: no chart rendered, ferry.json is not acceptable:\n  {}",
                archive.path.display(),
                problems.join("\n  ")
            ),
            category: ferry_core::error::Category::Integrity,
        });
    }
    let (charts, images) = (meta.charts, meta.images);
    if charts.is_empty() {
        return Err(no_charts());
    }
    let held: BTreeSet<Reference> = images
        .iter()
        .filter_map(|i| i.source.parse().ok())
        .collect();
    // The digests the images are pushed with, as the plain manifests are pinned to them.
    let digests: std::collections::BTreeMap<Reference, ferry_core::digest::Digest> = if pin_digests
    {
        images
            .iter()
            .filter(|i| i.attached_to.is_none())
            .filter_map(|i| Some((i.source.parse().ok()?, i.digest.clone())))
            .collect()
    } else {
        Default::default()
    };
    let scratch = ferry_core::scratch::ScratchDir::new("charts")
        .map_err(super::io_error(&ferry_core::scratch::dir()))?;
    let mut out = Vec::new();
    for (n, chart) in charts.iter().enumerate() {
        let Some(output) = chart.output.as_deref() else {
            continue;
        };
        let (package, values) = extract(archive, chart, &scratch.join(format!("chart-{n}")))?;
        std::fs::create_dir_all(overrides).map_err(super::io_error(overrides))?;
        let override_file = overrides.join(format!("{}.airgap-values.yaml", chart.name));
        let report = rewrite_chart(&ChartRewriteOptions {
            paths: vec![package],
            target: target.clone(),
            layout,
            scan: super::ScanOptions {
                rules: Default::default(),
                render: RenderOptions {
                    kustomize: Default::default(),
                    helm: helm_options(chart, values, customer, namespace),
                    ..RenderOptions::default()
                },
            },
            values_out: override_file.clone(),
            allow_unrewritten: Vec::new(),
            only_from: Some(held.clone()),
            digests: digests.clone(),
            rewrite_written,
        })
        .map_err(|e| e.in_step(format!("chart {} {}", chart.name, chart.version)))?;
        let why = match (&chart.render.namespace, customer.is_empty()) {
            (None, true) => format!("for namespace {namespace} (it was bundled for none)"),
            (None, false) => format!("with the customer's values, for namespace {namespace}"),
            (Some(_), _) => "with the customer's values".to_string(),
        };
        reporter.info(&format!(
            "chart {} {} rendered {why}: {} images, all under {}; override {}",
            chart.name,
            chart.version,
            report.images,
            target,
            override_file.display()
        ));
        if !report.written.is_empty() {
            reporter.warning(&format!(
                "chart {} {}: its templates write {} (no value sets them): the objects \
                 applied name them under {target}, but the override in Helm's record does \
                 not, so a `helm upgrade` of the release would name them where they came from",
                chart.name,
                chart.version,
                report
                    .written
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let relative = output.strip_prefix("manifests/").unwrap_or(output);
        out.push((relative.to_string(), report.output));
    }
    Ok(out)
}

/// What a render at the site is given: the customer's values, where the images are, and the
/// namespace a chart bundled for none lands in.
pub(crate) struct SiteRender<'a> {
    pub customer: &'a CustomerValues,
    pub target: &'a Target,
    pub layout: Layout,
    pub overrides: &'a Path,
    pub pin_digests: bool,
    pub namespace: &'a str,
    /// Images written in a template are pointed at the target in the output (an install
    /// applies it); else they fail the render (an override for Helm's records only).
    pub rewrite_written: bool,
}

/// Whether a chart of the bundle must be rendered again at the site: it was bundled for no
/// namespace (so rendered for `default`) and lands in another, whose name its templates may
/// write (`.Release.Namespace`), as `helm install -n` would render them.
pub(crate) fn render_for_site(archive: &Archive, landing: &str) -> Result<bool> {
    let Some(meta) = archive.meta()? else {
        return Ok(false);
    };
    Ok(landing != ferry_scan::render::helm::DEFAULT_NAMESPACE
        && meta
            .charts
            .iter()
            .any(|c| c.output.is_some() && c.render.namespace.is_none()))
}

/// The bundle's values first (in their order), then the customer's: a later file wins.
fn helm_options(
    chart: &ChartEntry,
    values: Vec<PathBuf>,
    customer: &CustomerValues,
    landing: &str,
) -> HelmOptions {
    let r = &chart.render;
    let c = &customer.helm;
    HelmOptions {
        program: c.program.clone(),
        values: values.into_iter().chain(c.values.iter().cloned()).collect(),
        set: r.set.iter().chain(&c.set).cloned().collect(),
        set_string: r.set_string.iter().chain(&c.set_string).cloned().collect(),
        namespace: Some(r.namespace.clone().unwrap_or_else(|| landing.to_string())),
        release_name: Some(r.release_name.clone()),
        kube_version: r.kube_version.clone(),
        api_versions: r.api_versions.clone(),
        skip_crds: false,
    }
}

/// The chart's package and the bundle's values files, written into `dir` under names ferry
/// chooses (never the bundle's).
fn extract(archive: &Archive, chart: &ChartEntry, dir: &Path) -> Result<(PathBuf, Vec<PathBuf>)> {
    std::fs::create_dir_all(dir).map_err(super::io_error(dir))?;
    let package = dir.join("chart.tgz");
    let bytes = archive.read(&format!("blobs/sha256/{}", chart.package.hex()))?;
    std::fs::write(&package, bytes).map_err(super::io_error(&package))?;
    let mut values = Vec::new();
    for (i, name) in chart.render.values.iter().enumerate() {
        let path = dir.join(format!("values-{i}.yaml"));
        std::fs::write(&path, archive.read(name)?).map_err(super::io_error(&path))?;
        values.push(path);
    }
    Ok((package, values))
}

/// The airgap override of each chart rendered at bundle time, for Helm's record only, when
/// the customer gave no values (with values, [`render_charts`] made it). Without it Helm's
/// record holds the values the chart was bundled with, which name the upstream registries:
/// a `helm upgrade --reuse-values` would render those. Best effort: the objects are applied
/// already; a site without Helm, or a chart no value of which can carry a digest (then the
/// override pins tags), is told, not failed.
pub(crate) fn overrides_for_records(
    archive: &Archive,
    opts: &super::InstallOptions,
    overrides: &Path,
    namespace: &str,
    reporter: &dyn Reporter,
) {
    let has_outputs = archive
        .meta()
        .ok()
        .flatten()
        .is_some_and(|m| m.charts.iter().any(|c| c.output.is_some()));
    if !has_outputs {
        return;
    }
    let customer = CustomerValues {
        helm: HelmOptions {
            program: opts.charts.helm.program.clone(),
            ..HelmOptions::default()
        },
    };
    let mut pins = vec![opts.pin_digests];
    if opts.pin_digests {
        pins.push(false);
    }
    let mut failure = None;
    for pin in pins {
        let site = SiteRender {
            customer: &customer,
            target: &opts.target,
            layout: opts.layout,
            overrides,
            pin_digests: pin,
            namespace,
            rewrite_written: false,
        };
        let made = render_charts(archive, &site, &super::Quiet);
        match made {
            Ok(_) => {
                let by = if pin { "digest" } else { "tag" };
                return reporter.info(&format!(
                    "Helm's records of the charts hold an airgap override (their images at {}, by {by}): {}",
                    opts.target,
                    overrides.display()
                ));
            }
            Err(e) => failure = Some(e),
        }
    }
    if let Some(e) = failure {
        reporter.warning(&format!(
            "Helm's records of the bundle's charts hold the values they were bundled with, \
             which name the upstream registries ({}); before `helm upgrade --reuse-values`, \
             make an override: ferry rewrite CHART --values-out FILE --to {}",
            ferry_core::error::chain(&e),
            opts.target
        ));
    }
}

/// Each chart of the bundle recorded as a Helm release of its render's name, so Helm reads
/// it as its own (`helm list`, `history`, `get`): its objects as applied (from the rewritten
/// output), its chart from the bundle, and as its values the bundle's values files, the
/// customer's and the airgap override (in that order, a later one winning).
pub(crate) async fn record_helm_releases(
    archive: &Archive,
    objects: &[ferry_apply::plan::Object],
    opts: &super::InstallOptions,
    to: &Landing<'_>,
    by: Option<ferry_apply::release::helm::WrittenBy<'_>>,
    reporter: &dyn Reporter,
) -> Result<()> {
    let (workdir, landing, overrides) = (to.workdir, to.namespace, to.charts.as_path());
    let Some(meta) = archive.meta()? else {
        return Ok(());
    };
    if meta.charts.iter().all(|c| c.output.is_none()) {
        return Ok(());
    }
    let (cluster, _) = super::release::connect(&opts.apply).await?;
    for chart in &meta.charts {
        let Some(output) = chart.output.as_deref() else {
            continue;
        };
        let relative = output.strip_prefix("manifests/").unwrap_or(output);
        let mine: Vec<ferry_apply::plan::Object> = objects
            .iter()
            .filter(|o| is_output(o, relative, workdir))
            .cloned()
            .collect();
        let namespace = helm_namespace(chart, landing);
        let package = archive.read(&format!("blobs/sha256/{}", chart.package.hex()))?;
        let mut config = serde_json::Value::Null;
        let mut layers: Vec<Vec<u8>> = Vec::new();
        for name in &chart.render.values {
            layers.push(archive.read(name)?);
        }
        for f in opts
            .charts
            .helm
            .values
            .iter()
            .cloned()
            .chain([overrides.join(format!("{}.airgap-values.yaml", chart.name))])
        {
            if let Ok(bytes) = std::fs::read(&f) {
                layers.push(bytes);
            }
        }
        for bytes in layers {
            if let Ok(v) =
                serde_saphyr::from_str::<serde_json::Value>(&String::from_utf8_lossy(&bytes))
            {
                merge(&mut config, v);
            }
        }
        let release = ferry_apply::release::helm::HelmRelease {
            name: &chart.render.release_name,
            namespace: &namespace,
            chart: ferry_oci::bundle::chart_json::chart_json(&package)?,
            config: if config.is_null() {
                serde_json::json!({})
            } else {
                config
            },
            objects: &mine,
        };
        let version = ferry_apply::release::helm::record(&cluster, &release, by).await?;
        reporter.info(&format!(
            "chart {} {}: recorded as Helm release {} version {version} in {namespace} (helm list -n {namespace})",
            chart.name, chart.version, chart.render.release_name
        ));
    }
    Ok(())
}

/// Where an install's files and objects land: its work directory, the directory of its
/// charts' airgap overrides beside it, and the namespace of what names none (`-n`, else the
/// kubeconfig context's).
pub(crate) struct Landing<'a> {
    pub workdir: &'a Path,
    pub charts: PathBuf,
    pub namespace: &'a str,
}

/// Helm's merge of values: maps merge key by key, anything else is replaced.
fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// The namespace of a chart's Helm release: the one it was rendered for, else the one its
/// objects land in (`-n`, else the context's).
fn helm_namespace(chart: &ChartEntry, landing: &str) -> String {
    chart
        .render
        .namespace
        .clone()
        .unwrap_or_else(|| landing.to_string())
}

/// The namespace objects that name none land in, as kubectl chooses it: `-n`, else the
/// kubeconfig context's, else `default`. Reading the kubeconfig asks the server nothing.
pub(crate) async fn landing_namespace(apply: &ferry_apply::run::ApplyOptions) -> String {
    if let Some(ns) = &apply.namespace {
        return ns.clone();
    }
    ferry_apply::cluster::Cluster::connect(apply.kubeconfig.as_deref(), apply.context.as_deref())
        .await
        .map(|c| c.default_namespace().to_string())
        .unwrap_or_else(|_| "default".to_string())
}

/// The files of the bundle's chart outputs (as `load_objects` names them), each of their
/// objects but hooks given Helm's ownership metadata (the label
/// `app.kubernetes.io/managed-by: Helm`, the annotations `meta.helm.sh/release-name` and
/// `meta.helm.sh/release-namespace`), as `helm install` leaves them: applied with Helm's field
/// manager, they are Helm's to upgrade.
pub(crate) fn helm_owned(
    archive: &Archive,
    objects: &mut [ferry_apply::plan::Object],
    landing: &str,
    workdir: &Path,
) -> Result<BTreeSet<String>> {
    use ferry_apply::release::labels::{with_annotation, with_label};
    let mut files = BTreeSet::new();
    let Some(meta) = archive.meta()? else {
        return Ok(files);
    };
    let release_err = |e| WorkflowError::from(ferry_apply::release::ReleaseError::Label(e));
    for chart in &meta.charts {
        let Some(output) = chart.output.as_deref() else {
            continue;
        };
        // As `load_objects` names them: the workdir's file, or the bundle's under a dry run.
        let relative = output.strip_prefix("manifests/").unwrap_or(output);
        let namespace = helm_namespace(chart, landing);
        for o in objects
            .iter_mut()
            .filter(|o| is_output(o, relative, workdir))
        {
            files.insert(o.file.clone());
            // As Helm does: what names no namespace lands in the release's, whatever `-n` is
            // for the other manifests (the apply writes it into the objects of namespaced
            // kinds, and takes it from cluster-scoped ones, once the server says which).
            if o.namespace.is_none()
                && !ferry_apply::plan::CLUSTER_SCOPED_KINDS.contains(&o.kind.as_str())
            {
                o.namespace = Some(namespace.clone());
            }
            if o.is_hook() {
                continue;
            }
            let mut text = with_label(&o.file, &o.yaml, "app.kubernetes.io/managed-by", "Helm")
                .map_err(release_err)?;
            text = with_annotation(
                &o.file,
                &text,
                "meta.helm.sh/release-name",
                &chart.render.release_name,
            )
            .map_err(release_err)?;
            text = with_annotation(&o.file, &text, "meta.helm.sh/release-namespace", &namespace)
                .map_err(release_err)?;
            o.yaml = text;
        }
    }
    Ok(files)
}

/// Whether `o` comes from the chart output `relative` (under `manifests/`).
fn is_output(o: &ferry_apply::plan::Object, relative: &str, workdir: &Path) -> bool {
    o.file == workdir.join(relative).display().to_string()
        || o.file.ends_with(&format!("manifests/{relative}"))
}
