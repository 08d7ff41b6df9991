//! `install`: the customer's one command. Verify the bundle; rewrite its manifests with the
//! bundle's digests pinned and check that every document loads as an object; resolve the
//! pull secret's credentials; push the images; apply. Nothing is pushed when the manifests
//! cannot be applied, nothing applied when a push failed; the first failing step stops it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::copy::{CopyRun, Planned};
use super::install_charts::Landing;
use super::rewrite::{RewriteInput, RewriteMode, RewriteOptions};
use super::{Reporter, Result, WorkflowError};
use ferry_apply::DryRun;
use ferry_apply::plan;
use ferry_apply::release::helm::WrittenBy;
use ferry_apply::release::upgrade::ReleaseOptions;
use ferry_apply::run::{ApplyOptions, ApplyReport, resolve_pull_secret};
use ferry_core::error::Category;
use ferry_core::target::{Layout, Target};
use ferry_oci::bundle::archive::Archive;
use ferry_oci::bundle::verify;
use ferry_oci::graph::CopyOptions;
use ferry_oci::registry::Registries;

#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub bundle: PathBuf,
    pub target: Target,
    pub layout: Layout,
    pub copy: CopyOptions,
    /// Where the rewritten manifests go; default `BUNDLE-NAME.rewritten/` beside the bundle.
    pub workdir: Option<PathBuf>,
    pub pin_digests: bool,
    /// How to apply; its `dry_run` holds for every step (no image pushed under either).
    pub apply: ApplyOptions,
    /// The customer's values for the bundle's charts: given, each chart is rendered again.
    pub charts: super::CustomerValues,
    /// The vendor's keys: given, every image must carry a signature one of them verifies,
    /// or nothing is pushed.
    pub keys: Vec<ferry_oci::bundle::signatures::PublicKey>,
    pub release: ReleaseRequest,
}

/// The release an install makes or upgrades, as asked.
#[derive(Debug, Clone)]
pub struct ReleaseRequest {
    /// Default: the bundle's product name.
    pub name: Option<String>,
    pub prune: bool,
    pub prune_crds: bool,
    pub history_max: u32,
}

impl Default for ReleaseRequest {
    fn default() -> Self {
        ReleaseRequest {
            name: None,
            prune: true,
            prune_crds: false,
            history_max: 10,
        }
    }
}

#[derive(Debug, Default)]
pub struct InstallReport {
    /// Where the rewritten manifests were written (none under a dry run).
    pub workdir: Option<PathBuf>,
    /// The images, as planned (a dry run) or pushed.
    pub planned: Vec<Planned>,
    pub push: Option<CopyRun>,
    pub apply: ApplyReport,
}

/// `BUNDLE-NAME.rewritten/` beside the bundle, or in the scratch directory when the bundle's
/// directory cannot be written (a DVD, a read-only USB stick).
fn default_workdir(bundle: &Path) -> PathBuf {
    let name = bundle
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.split(".tar").next().unwrap_or(&name).to_string();
    let beside = bundle.with_file_name(format!("{stem}.rewritten"));
    if std::fs::create_dir_all(&beside).is_ok() {
        return beside;
    }
    ferry_oci::bundle::scratch_dir().join(format!("{stem}.rewritten-{}", std::process::id()))
}

pub async fn install(
    opts: &InstallOptions,
    registries: &Registries,
    reporter: Arc<dyn Reporter>,
) -> Result<InstallReport> {
    let planning = opts.apply.dry_run.is_some();
    let mut report = InstallReport::default();
    let archive = Arc::new(open_checked(opts, reporter.as_ref())?);
    let mut release = release_options(opts, &archive)?;
    let workdir = match &opts.workdir {
        Some(w) => w.clone(),
        None if planning => PathBuf::from("(dry run)"),
        None => default_workdir(&opts.bundle),
    };
    if !planning {
        report.workdir = Some(workdir.clone());
    }
    let mut rewritten = rewrite_manifests(opts, &archive, &workdir, registries, &reporter).await?;
    let landing = super::install_charts::landing_namespace(&opts.apply).await;
    let to = Landing {
        workdir: &workdir,
        charts: beside(&workdir, ".charts"),
        namespace: &landing,
    };
    let site_render =
        !opts.charts.is_empty() || super::install_charts::render_for_site(&archive, &landing)?;
    if site_render {
        render_charts(opts, &archive, &to, &mut rewritten, reporter.as_ref())?;
    }
    let mut objects = load_objects(opts, &archive, &workdir, &rewritten, reporter.as_ref())?;
    let mut apply_opts = opts.apply.clone();
    apply_opts.helm_files =
        super::install_charts::helm_owned(&archive, &mut objects, &landing, &workdir)?;
    if let Some(request) = &mut apply_opts.pull_secret {
        request
            .registry
            .get_or_insert_with(|| opts.target.registry().to_string());
        // Credentials that cannot be found fail now, before anything is pushed.
        resolve_pull_secret(request, &objects)?;
    }
    if !planning {
        // Before a byte is pushed: would the cluster take every object?
        reporter.step("check with the API server (dry run)");
        let mut check = apply_opts.clone();
        check.release = Some(release.clone());
        super::cluster_check::check(&objects, &check, reporter.as_ref()).await?;
    }
    push(opts, archive.clone(), registries, &reporter, &mut report).await?;
    if !planning {
        write_mirror_config(
            opts,
            &archive,
            &beside(&workdir, ".mirrors"),
            reporter.as_ref(),
        )?;
    }
    release.images = report.planned.iter().map(pinned).collect();
    apply_opts.release = Some(release);
    reporter.step(match opts.apply.dry_run {
        Some(DryRun::Client) => "apply (plan only)",
        Some(DryRun::Server) => "apply (server dry run)",
        None => "apply",
    });
    let applied = objects.clone();
    report.apply = super::apply(objects, &apply_opts, reporter.as_ref()).await?;
    if !planning && report.apply.failed == 0 {
        if !site_render {
            super::install_charts::overrides_for_records(
                &archive,
                opts,
                &to.charts,
                &landing,
                reporter.as_ref(),
            );
        }
        // The revision the apply wrote, so that a rollback to it finds these versions.
        let by = apply_opts
            .release
            .as_ref()
            .zip(report.apply.revision)
            .map(|(r, revision)| WrittenBy {
                release: &r.name,
                revision,
            });
        super::install_charts::record_helm_releases(
            &archive,
            &applied,
            opts,
            &to,
            by,
            reporter.as_ref(),
        )
        .await?;
    }
    Ok(report)
}

/// For each OLM catalog selection the bundle carries, the mirror configuration of clusters
/// that redirect pulls (the catalog's bundles name the vendor's registries by digest): an
/// ImageDigestMirrorSet, a registries.conf snippet, containerd hosts.toml files, written
/// into `dir/NAME/` for the site to put in place (which one depends on the cluster).
fn write_mirror_config(
    opts: &InstallOptions,
    archive: &Archive,
    dir: &Path,
    reporter: &dyn Reporter,
) -> Result<()> {
    let Some(meta) = archive.meta()? else {
        return Ok(());
    };
    for c in &meta.catalogs {
        let images: std::collections::BTreeSet<ferry_core::reference::Reference> =
            c.images.iter().filter_map(|i| i.parse().ok()).collect();
        let files =
            super::catalog_site::mirror_config(&c.name, &images, &opts.target, opts.layout)?;
        for (name, text) in &files {
            let path = dir.join(&c.name).join(name);
            ferry_core::atomic::write(&path, text.as_bytes()).map_err(super::io_error(&path))?;
        }
        if !files.is_empty() {
            reporter.info(&format!(
                "catalog {}: its bundles name {} images at the vendor's registries by digest; for a cluster that redirects pulls, the mirror configuration is in {} (ImageDigestMirrorSet, registries.conf, containerd hosts.toml)",
                c.name,
                images.len(),
                dir.join(&c.name).display()
            ));
        }
    }
    Ok(())
}

/// The release to install: `--release`, else the bundle's product; its version and the
/// bundle's digest from `ferry.json`.
fn release_options(opts: &InstallOptions, archive: &Archive) -> Result<ReleaseOptions> {
    let meta = archive.meta()?;
    let product = meta.as_ref().and_then(|m| m.product.clone());
    let name = match (&opts.release.name, &product) {
        (Some(n), _) => n.clone(),
        (None, Some(p)) => p.name.clone(),
        (None, None) => {
            return Err(WorkflowError::Usage(format!(
                "{} names no product: name the release with --release NAME (a vendor names it with ferry bundle --product NAME)",
                opts.bundle.display()
            )));
        }
    };
    ferry_apply::release::check_name(&name)
        .map_err(|why| WorkflowError::Usage(format!("--release: {why}")))?;
    let bundle = archive
        .read("ferry.json")
        .ok()
        .map(|b| ferry_core::digest::Digest::of(&b).to_string());
    Ok(ReleaseOptions {
        name,
        namespace: None,
        version: product.and_then(|p| p.version),
        bundle,
        images: Vec::new(),
        history_max: opts.release.history_max,
        prune: opts.release.prune,
        prune_crds: opts.release.prune_crds,
        pull_secret: None,
        description: None,
    })
}

/// An image as the site's registry holds it: its target name, pinned to the bundle's digest.
fn pinned(p: &Planned) -> String {
    p.root
        .as_ref()
        .and_then(|root| p.target.with_digest(&root.digest.to_string()).ok())
        .unwrap_or_else(|| p.target.clone())
        .to_string()
}

/// The bundle, its signature checked (with `--key`) before anything else and every byte
/// verified, read as a stream (a compressed bundle hashed on the way, writing nothing); a
/// real run then decompresses what the images use for rewriting and pushing.
fn open_checked(opts: &InstallOptions, reporter: &dyn Reporter) -> Result<Archive> {
    reporter.step(&format!("verify {}", opts.bundle.display()));
    let (catalog, findings) = crate::long_read(reporter, "verify", |observer| {
        let catalog = Archive::catalog_hashed(&opts.bundle, observer)?;
        if !opts.keys.is_empty() {
            check_seal(&catalog, &opts.keys, reporter)?;
        }
        let findings = verify::verify_observed(&catalog, observer)?;
        Ok::<_, WorkflowError>((catalog, findings))
    })?;
    if !findings.problems.is_empty() {
        return Err(WorkflowError::Incomplete {
            message: format!(
                "{}: nothing installed, the bundle is damaged:\n  {}",
                opts.bundle.display(),
                findings.problems.join("\n  ")
            ),
            category: Category::Integrity,
        });
    }
    reporter.info(&format!(
        "{} blobs and {} manifests verified",
        findings.blobs_checked, findings.manifests_checked
    ));
    for chart in catalog.meta()?.map(|m| m.charts).unwrap_or_default() {
        if let Some(warning) = chart.lookup_warning() {
            reporter.warning(&ferry_core::text::printable(&warning));
        }
    }
    // A dry run reads nothing more; a plain tar has random access already.
    if opts.apply.dry_run.is_some() || !catalog.streamed_compressed() {
        return Ok(catalog);
    }
    let opened = crate::long_read(reporter, "decompress", |o| catalog.materialize_observed(o));
    Ok(opened?)
}

/// `NAME` + `suffix` beside `workdir`: what install keeps next to the manifests (not in
/// their directory: apply reads every file in it as an object).
fn beside(workdir: &Path, suffix: &str) -> PathBuf {
    let name = workdir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    workdir.with_file_name(format!("{name}{suffix}"))
}

/// The bundle's manifests rewritten to the target with the bundle's digests pinned: into
/// `workdir`, or in memory under a dry run.
async fn rewrite_manifests(
    opts: &InstallOptions,
    archive: &Archive,
    workdir: &Path,
    registries: &Registries,
    reporter: &Arc<dyn Reporter>,
) -> Result<super::RewriteReport> {
    let planning = opts.apply.dry_run.is_some();
    let mode = if planning {
        reporter.step("rewrite manifests (in memory: dry run)");
        RewriteMode::Diff
    } else {
        reporter.step(&format!("rewrite manifests into {}", workdir.display()));
        RewriteMode::Out(workdir.to_path_buf())
    };
    let options = RewriteOptions {
        target: opts.target.clone(),
        layout: opts.layout,
        scan: super::ScanOptions::default(),
        mode,
        lock: (!planning).then(|| beside(workdir, ".lock.json")),
        pin_digests: opts.pin_digests,
        pull_secret: None,
    };
    super::rewrite(
        RewriteInput::Bundle(archive),
        &options,
        registries,
        reporter.as_ref(),
    )
    .await
}

/// `-f/--set`: each chart rendered again with the customer's values, in place of the output
/// the bundle carries (and of its rewritten file in `workdir`).
fn render_charts(
    opts: &InstallOptions,
    archive: &Archive,
    to: &Landing,
    rewritten: &mut super::RewriteReport,
    reporter: &dyn Reporter,
) -> Result<()> {
    let planning = opts.apply.dry_run.is_some();
    reporter.step(&if opts.charts.is_empty() {
        format!(
            "render charts for namespace {} (bundled for none, they were rendered for default)",
            to.namespace
        )
    } else {
        "render charts with the customer's values".to_string()
    });
    // A dry run's overrides go when it ends; a real run keeps them for a site that later
    // installs the charts with Helm.
    let dry = if planning {
        Some(
            ferry_core::scratch::ScratchDir::new("overrides")
                .map_err(super::io_error(&ferry_core::scratch::dir()))?,
        )
    } else {
        None
    };
    let overrides = match &dry {
        Some(d) => d.path().to_path_buf(),
        None => to.charts.clone(),
    };
    let renders = super::install_charts::render_charts(
        archive,
        &super::install_charts::SiteRender {
            customer: &opts.charts,
            target: &opts.target,
            layout: opts.layout,
            overrides: &overrides,
            pin_digests: opts.pin_digests,
            namespace: to.namespace,
            rewrite_written: true,
        },
        reporter,
    )
    .map_err(|e| {
        e.in_step(if opts.charts.is_empty() {
            // Rendered only for the namespace: say how to do without.
            "nothing pushed (a chart bundled for no namespace is rendered again with Helm \
             for the one it lands in; -n default installs it as it was rendered)"
        } else {
            "nothing pushed"
        })
    })?;
    for (relative, text) in renders {
        let Some(f) = rewritten
            .files
            .iter_mut()
            .find(|f| f.relative == Path::new(&relative))
        else {
            continue;
        };
        if !planning {
            let path = to.workdir.join(&f.relative);
            std::fs::write(&path, &text).map_err(super::io_error(&path))?;
        }
        f.after = text;
    }
    Ok(())
}

/// Every manifest loaded as objects (none twice), images signed where `--key` asks, Helm
/// tests set aside: all before a byte is pushed.
fn load_objects(
    opts: &InstallOptions,
    archive: &Archive,
    workdir: &Path,
    rewritten: &super::RewriteReport,
    reporter: &dyn Reporter,
) -> Result<Vec<plan::Object>> {
    let planning = opts.apply.dry_run.is_some();
    let mut objects = Vec::new();
    for f in rewritten
        .files
        .iter()
        .filter(|f| !ferry_scan::inputs::is_values_file(&f.relative))
    {
        let label = if planning {
            f.label.clone()
        } else {
            workdir.join(&f.relative).display().to_string()
        };
        objects.extend(plan::load_text(&label, &f.after).map_err(|e| {
            WorkflowError::from(e).in_step("nothing pushed, the manifests cannot be applied")
        })?);
    }
    plan::check_duplicates(&objects)
        .map_err(|e| WorkflowError::from(e).in_step("nothing pushed"))?;
    if !opts.keys.is_empty() {
        check_signatures(archive, &opts.keys, &rewritten.files, reporter)?;
    }
    let (objects, tests) = plan::without_helm_tests(objects);
    for note in &tests {
        reporter.warning(note);
    }
    Ok(objects)
}

/// The bundle's images pushed (planned only under a dry run); any image not pushed stops
/// the install before anything is applied.
async fn push(
    opts: &InstallOptions,
    archive: Arc<Archive>,
    registries: &Registries,
    reporter: &Arc<dyn Reporter>,
    report: &mut InstallReport,
) -> Result<()> {
    let planning = opts.apply.dry_run.is_some();
    reporter.step(&format!(
        "push to {}{}",
        opts.target,
        if planning { " (dry run)" } else { "" }
    ));
    report.planned = super::push_plan(&archive, None, &opts.target, opts.layout)?;
    if planning {
        reporter.copy_plan(&report.planned);
        return Ok(());
    }
    let run = super::push_archive(
        archive,
        &report.planned,
        (&opts.target, opts.layout),
        opts.copy.clone(),
        registries,
        reporter.clone(),
    )
    .await?;
    let failed = run.failed();
    let failure = run.failure();
    report.push = Some(run);
    match failure {
        Some(category) => Err(WorkflowError::Incomplete {
            message: format!("{failed} images were not pushed: nothing applied"),
            category,
        }),
        None => Ok(()),
    }
}

/// `--key`: the bundle signed as a whole by one of the vendor's keys, before anything of it
/// is read for action.
fn check_seal(
    archive: &Archive,
    keys: &[ferry_oci::bundle::signatures::PublicKey],
    reporter: &dyn Reporter,
) -> Result<()> {
    let seal = ferry_oci::bundle::seal::check(archive, keys)?;
    match (&seal, seal.problem()) {
        (ferry_oci::bundle::seal::Seal::Verified { key }, _) => {
            reporter.info(&format!(
                "the bundle is signed as a whole (ferry.json.sig; key {key})"
            ));
            Ok(())
        }
        (_, problem) => Err(WorkflowError::Incomplete {
            message: format!(
                "{}: nothing installed: {}",
                archive.path.display(),
                problem.unwrap_or_default()
            ),
            category: Category::Integrity,
        }),
    }
}

/// `--key`: every image of the bundle signed by one of the vendor's keys, or nothing is
/// pushed; each image that is not is named with where the manifests use it.
fn check_signatures(
    archive: &Archive,
    keys: &[ferry_oci::bundle::signatures::PublicKey],
    files: &[super::FileChange],
    reporter: &dyn Reporter,
) -> Result<()> {
    use ferry_oci::bundle::signatures::Outcome;
    let verdicts = ferry_oci::bundle::signatures::check(archive, keys)?;
    let mut refused = Vec::new();
    for v in &verdicts {
        let why = match &v.outcome {
            Outcome::Verified { key, identity } => {
                reporter.info(&format!(
                    "signed {} (key {key}; identity {identity})",
                    v.image
                ));
                continue;
            }
            Outcome::Unsigned => "unsigned".to_string(),
            Outcome::Bad { reason } => format!("bad signature: {reason}"),
        };
        let used_at = uses(&v.image, files);
        refused.push(format!(
            "{} ({why}){}",
            v.image,
            if used_at.is_empty() {
                String::new()
            } else {
                format!(", used at {}", used_at.join(", "))
            }
        ));
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(WorkflowError::Incomplete {
        message: format!(
            "nothing pushed: {} of {} images are not signed by the given keys:\n  {}",
            refused.len(),
            verdicts.len(),
            refused.join("\n  ")
        ),
        category: Category::Integrity,
    })
}

/// `FILE:LINE` of each place the bundle's manifests name `image` (as they were bundled).
fn uses(image: &str, files: &[super::FileChange]) -> Vec<String> {
    let Ok(image) = image.parse::<ferry_core::reference::Reference>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in files {
        let Ok(found) = ferry_scan::scan::scan_text(&f.label, &f.before, &Default::default())
        else {
            continue;
        };
        out.extend(
            found
                .hits
                .iter()
                .filter(|h| h.reference == image)
                .map(|h| format!("{}:{}", h.file, h.line)),
        );
    }
    out
}
