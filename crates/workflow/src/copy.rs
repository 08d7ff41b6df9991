//! `mirror` and `push`: plan every image under the target (collisions refused before a byte
//! moves), then copy them through the graph walker, each image reported as it finishes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::ScanOptions;
use super::resolve::pull_from;
use super::{Reporter, Result, WorkflowError};
use ferry_core::error::Category;
use ferry_core::manifest::Descriptor;
use ferry_core::observe::Observer;
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};
use ferry_oci::bundle::archive::Archive;
use ferry_oci::bundle::ends::ArchiveSource;
use ferry_oci::bundle::verify::{Findings, check_graph, check_listing};
use ferry_oci::graph::{
    CopyJob, CopyOptions, CopyReport, Engine, Graph, GraphError, Node, Root, Source,
};
use ferry_oci::registry::Registries;

/// One image of a copy plan: where it is read from and where it goes.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The reference as the user knows it.
    pub source: Reference,
    /// Where it is pulled from (`source`, or its `--source-mirror` name).
    pub pull_from: Reference,
    pub target: Reference,
    /// In an archive: the root's descriptor.
    pub root: Option<Descriptor>,
    /// An artifact attached to another image: copied whole, whatever `--platform` says.
    pub whole: bool,
}

/// What a copy did, image by image.
#[derive(Debug, Default)]
pub struct CopyRun {
    pub reports: Vec<CopyReport>,
    pub seconds: f64,
}

impl CopyRun {
    pub fn failed(&self) -> usize {
        self.reports.iter().filter(|r| r.error.is_some()).count()
    }

    /// None when every image was copied; an integrity failure when any image's bytes did
    /// not verify; else, when any image failed, a transfer failure.
    pub fn failure(&self) -> Option<Category> {
        match (
            self.failed(),
            self.reports.iter().any(|r| r.integrity_failure),
        ) {
            (0, _) => None,
            (_, true) => Some(Category::Integrity),
            _ => Some(Category::Registry),
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> WorkflowError {
    WorkflowError::Invalid(e.to_string())
}

/// Maps every image under `target`; `mirrors` says where each host's images are pulled from.
pub fn plan_mirror(
    images: &[Reference],
    target: &Target,
    layout: Layout,
    mirrors: &BTreeMap<String, Target>,
) -> Result<Vec<Planned>> {
    let mapped = target.map_all(images, layout).map_err(invalid)?;
    let mut planned = Vec::with_capacity(mapped.len());
    for (source, target) in mapped {
        let pull_from = pull_from(&source, mirrors)?;
        planned.push(Planned {
            source,
            pull_from,
            target,
            root: None,
            whole: false,
        });
    }
    Ok(planned)
}

/// Adds what is attached to `images` (signatures, attestations, SBOMs, referrers; of the
/// platform children `platforms` keeps) to them, each named as the image it belongs to was
/// named, and tells `reporter` what it found.
pub(super) async fn with_attached(
    images: &mut super::Images,
    mirrors: &BTreeMap<String, Target>,
    platforms: &ferry_core::manifest::PlatformFilter,
    registries: &Registries,
    reporter: &dyn Reporter,
    require_signed: bool,
) -> Result<()> {
    let pairs = images
        .list
        .iter()
        .map(|r| Ok((r.clone(), pull_from(r, mirrors)?)))
        .collect::<Result<Vec<_>>>()?;
    let attached = ferry_oci::graph::attached::discover(&pairs, platforms, registries).await;
    adopt_attached(images, attached, reporter, require_signed)
}

/// Adds artifacts found attached to `images` to them, telling `reporter` of each; with
/// `require_signed`, an image without a cosign signature of its own stops the run.
pub(super) fn adopt_attached(
    images: &mut super::Images,
    attached: impl IntoIterator<Item = super::Attached>,
    reporter: &dyn Reporter,
    require_signed: bool,
) -> Result<()> {
    let attached: Vec<super::Attached> = attached.into_iter().collect();
    if require_signed {
        let unsigned: Vec<String> = images
            .list
            .iter()
            .filter(|i| !attached.iter().any(|a| &a.of == *i && a.signs_the_image()))
            .map(|i| format!("{i} ({})", images.origin_of(i)))
            .collect();
        if !unsigned.is_empty() {
            return Err(WorkflowError::Incomplete {
                message: format!(
                    "--signatures=require: {} of {} images have no cosign signature; nothing \
                     copied:\n  {}",
                    unsigned.len(),
                    images.list.len(),
                    unsigned.join("\n  ")
                ),
                category: Category::Integrity,
            });
        }
    }
    for a in attached {
        let on = a
            .subject
            .as_ref()
            .map(|s| format!(" (on {s})"))
            .unwrap_or_default();
        reporter.info(&format!("{} of {}{on}: {}", a.kind, a.of, a.reference));
        images
            .origin
            .entry(a.reference.clone())
            .or_insert_with(|| format!("{} of {}", a.kind, a.of));
        images.attached.insert(a.reference.clone(), a);
    }
    images.list = images.origin.keys().cloned().collect();
    Ok(())
}

/// A `ref.name` that is a full reference (it names a repository), not a bare tag.
fn full_reference(name: &str) -> Option<Reference> {
    name.contains('/')
        .then(|| Reference::parse(name).ok())
        .flatten()
}

/// Plans a push of every image an archive names; everything they need must be in it.
/// `name` names an archive's single unnamed image.
pub fn push_plan(
    archive: &Archive,
    name: Option<&Reference>,
    target: &Target,
    layout: Layout,
) -> Result<Vec<Planned>> {
    archive.meta()?;
    let mut findings = Findings::default();
    check_graph(archive, &mut findings)?;
    check_listing(archive, &mut findings)?;
    if !findings.problems.is_empty() {
        return Err(WorkflowError::Incomplete {
            message: format!(
                "{}: nothing pushed, the bundle is incomplete:\n  {}",
                archive.path.display(),
                findings.problems.join("\n  ")
            ),
            category: Category::Integrity,
        });
    }
    let attachments: std::collections::BTreeSet<String> = archive
        .meta()?
        .map(|m| m.images)
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.attached_to.is_some())
        .map(|i| i.source)
        .collect();
    let named = archive.images()?;
    let mut sources = Vec::new();
    for (i, n) in named.iter().enumerate() {
        let source = match (n.name.as_deref().and_then(full_reference), name) {
            (Some(r), _) => r,
            (None, Some(given)) if named.len() == 1 => given.clone(),
            (None, _) => {
                return Err(invalid(format!(
                    "{}: image {i} ({}) has no full reference in org.opencontainers.image.ref.name{}; \
                     give one with --name REF (single-image archives)",
                    archive.path.display(),
                    n.descriptor.digest,
                    n.name
                        .as_deref()
                        .map(|t| format!(" (it says {t:?})"))
                        .unwrap_or_default()
                )));
            }
        };
        sources.push((source, n.descriptor.clone()));
    }
    let mapped = target
        .map_all(sources.iter().map(|(r, _)| r), layout)
        .map_err(invalid)?;
    Ok(sources
        .into_iter()
        .map(|(source, root)| Planned {
            target: mapped[&source].clone(),
            pull_from: source.clone(),
            whole: attachments.contains(&source.to_string()),
            source,
            root: Some(root),
        })
        .collect())
}

/// What `mirror` copies and where.
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    pub paths: Vec<PathBuf>,
    /// A list of more images (`-`: stdin).
    pub images: Option<PathBuf>,
    /// More images, each with where it is named (a release spec's `images`).
    pub listed: Vec<(Reference, String)>,
    pub scan: ScanOptions,
    pub target: Target,
    pub layout: Layout,
    /// `HOST` → the registry its images are pulled from instead.
    pub mirrors: BTreeMap<String, Target>,
    pub copy: CopyOptions,
    /// Plan only.
    pub dry_run: bool,
    /// Also copy what is attached to each image (signatures, attestations, SBOMs, referrers).
    pub signatures: bool,
    /// An image without a cosign signature stops the run before anything is copied.
    pub require_signed: bool,
}

/// What `push` copies and where.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub bundle: PathBuf,
    /// The source name of an archive's single unnamed image.
    pub name: Option<Reference>,
    pub target: Target,
    pub layout: Layout,
    pub copy: CopyOptions,
    /// Plan only.
    pub dry_run: bool,
}

/// A copy's plan, and what the copy did (none under a dry run).
#[derive(Debug, Default)]
pub struct CopyOutcome {
    pub planned: Vec<Planned>,
    pub run: Option<CopyRun>,
}

/// Scans, plans and copies every image the inputs name into the target registry.
pub async fn mirror(
    opts: &MirrorOptions,
    registries: &Registries,
    reporter: Arc<dyn Reporter>,
) -> Result<CopyOutcome> {
    // An `oci://` chart is copied itself (digest unchanged), with every image it renders.
    let loading = super::fetch::fetch_and_load(&opts.paths, &opts.scan, registries, false);
    let (fetched, loaded) = super::while_waiting(reporter.as_ref(), "inputs", loading).await?;
    let mut images = super::collect_images(
        &loaded,
        opts.images.as_deref(),
        &opts.listed,
        &opts.scan.rules,
        reporter.as_ref(),
    )?;
    for chart in &fetched.references {
        images
            .origin
            .entry(chart.clone())
            .or_insert_with(|| format!("oci://{chart}"));
    }
    images.list = images.origin.keys().cloned().collect();
    check_sources(&images.list, &opts.mirrors, registries).await?;
    if opts.dry_run || images.list.is_empty() {
        if opts.signatures {
            with_attached(
                &mut images,
                &opts.mirrors,
                &opts.copy.platforms,
                registries,
                reporter.as_ref(),
                opts.require_signed,
            )
            .await?;
        }
        let planned = plan_mirror(&images.list, &opts.target, opts.layout, &opts.mirrors)?;
        reporter.copy_plan(&planned);
        return Ok(CopyOutcome { planned, run: None });
    }
    let observer: Arc<dyn Observer> = reporter.clone();
    let engine = Engine::new(opts.copy.clone()).with_observer(observer);
    // The target is checked while the images are read: neither waits for the other.
    let resolving = futures_util::future::try_join(
        super::resolve::resolve_all(
            &images.list,
            &opts.mirrors,
            registries,
            &engine,
            opts.signatures,
        ),
        check_targets([opts.target.registry()], registries),
    );
    let (resolved, _) = super::while_waiting(reporter.as_ref(), "manifests", resolving).await?;
    adopt_attached(
        &mut images,
        resolved.iter().filter_map(|r| r.attached.clone()),
        reporter.as_ref(),
        opts.require_signed,
    )?;
    let mut planned = plan_mirror(&images.list, &opts.target, opts.layout, &opts.mirrors)?;
    for p in &mut planned {
        p.whole = images.attached.contains_key(&p.source);
    }
    let mut graphs: std::collections::HashMap<Reference, _> =
        resolved.into_iter().map(|r| (r.source, r.graph)).collect();
    let mut jobs = Vec::with_capacity(planned.len());
    let mut read = Vec::with_capacity(planned.len());
    for p in &planned {
        let mut job = CopyJob::pull(registries, &p.pull_from, p.source.clone(), p.target.clone())?;
        job.root.whole = p.whole;
        read.push(match graphs.remove(&p.source) {
            Some(graph) => graph,
            // Not reached today: `resolved` holds every image of the list and every
            // attachment adopt_attached added. Read here should the two lists ever part.
            None => {
                engine
                    .resolve(&job.from, &job.root, &p.source.to_string())
                    .await
            }
        });
        jobs.push(job);
    }
    let run = run(&engine, jobs, Some(read), registries, reporter).await;
    Ok(CopyOutcome {
        planned,
        run: Some(run),
    })
}

/// A bundle opened for pushing; a compressed one's decompression is shown as it goes.
pub(crate) fn open_bundle(path: &std::path::Path, reporter: &dyn Reporter) -> Result<Archive> {
    if !Archive::is_compressed(path)? {
        return Ok(Archive::open(path)?);
    }
    let opened = super::long_read(reporter, "decompress", |o| Archive::open_observed(path, o));
    Ok(opened?)
}

/// Pushes a bundle's images (checked complete first) into the target registry.
pub async fn push(
    opts: &PushOptions,
    registries: &Registries,
    reporter: Arc<dyn Reporter>,
) -> Result<CopyOutcome> {
    let archive = Arc::new(open_bundle(&opts.bundle, reporter.as_ref())?);
    let planned = push_plan(&archive, opts.name.as_ref(), &opts.target, opts.layout)?;
    if opts.dry_run {
        reporter.copy_plan(&planned);
        return Ok(CopyOutcome { planned, run: None });
    }
    let site = (&opts.target, opts.layout);
    let run = push_archive(
        archive,
        &planned,
        site,
        opts.copy.clone(),
        registries,
        reporter,
    )
    .await?;
    Ok(CopyOutcome {
        planned,
        run: Some(run),
    })
}

/// One ping of each source registry before anything is looked up or queued: one that
/// cannot be reached is said once, with the images that come from it, and nothing is
/// copied. Credentials are not checked here: registries serve anonymous pulls of public
/// repositories and may still refuse an anonymous `GET /v2/`.
pub(super) async fn check_sources(
    images: &[Reference],
    mirrors: &BTreeMap<String, Target>,
    registries: &Registries,
) -> Result<()> {
    let mut by_host: BTreeMap<String, Vec<&Reference>> = BTreeMap::new();
    for image in images {
        let from = pull_from(image, mirrors)?;
        by_host
            .entry(from.registry().to_string())
            .or_default()
            .push(image);
    }
    // Every registry is asked at once: one run says all that cannot be reached.
    let pings = by_host.into_iter().map(|(host, images)| async move {
        let reached = match registries.get(&host) {
            Ok(registry) => registry.reach().await,
            Err(e) => Err(e),
        };
        reached.err().map(|error| super::UnreachableSource {
            images: images.iter().map(|i| i.to_string()).collect(),
            host,
            error,
        })
    });
    let unreachable: Vec<super::UnreachableSource> = futures_util::future::join_all(pings)
        .await
        .into_iter()
        .flatten()
        .collect();
    match unreachable.len() {
        0 => Ok(()),
        1 => {
            let one = unreachable.into_iter().next().expect("one");
            let step = format!(
                "cannot pull from {}, where {} of the images are ({}): nothing copied",
                one.host,
                one.images.len(),
                one.named()
            );
            Err(WorkflowError::from(one.error).in_step(step))
        }
        _ => Err(WorkflowError::Unreachable(unreachable)),
    }
}

/// One check of each target registry before any image is queued (as `docker login` checks:
/// reached, and the credentials accepted): a registry that is down or refuses the
/// credentials is said once, with what to do, instead of once per image.
async fn check_targets(
    hosts: impl IntoIterator<Item = &str>,
    registries: &Registries,
) -> Result<()> {
    let hosts: std::collections::BTreeSet<&str> = hosts.into_iter().collect();
    for host in hosts {
        let checked = match registries.get(host) {
            Ok(registry) => registry.check_credentials().await,
            Err(e) => Err(e),
        };
        match checked {
            Ok(()) => {}
            Err(ferry_oci::registry::RegistryError::Unauthorized { message, sent, .. }) => {
                // Refused credentials are not missing ones: say where they came from.
                let next = match sent {
                    Some(from) => {
                        format!("the credentials from {from} were refused; run: ferry login {host}")
                    }
                    None => format!("no credentials were found; run: ferry login {host}"),
                };
                return Err(WorkflowError::Incomplete {
                    message: format!(
                        "cannot push to {host}: authentication required ({message}); nothing \
                         copied ({next})"
                    ),
                    category: Category::Registry,
                });
            }
            Err(e) => {
                return Err(WorkflowError::from(e)
                    .in_step(format!("cannot push to {host}: nothing copied")));
            }
        }
    }
    Ok(())
}

/// Pushes an archive's planned images, blobs read from the tar by offset.
pub async fn push_archive(
    archive: Arc<Archive>,
    planned: &[Planned],
    site: (&Target, Layout),
    copy: CopyOptions,
    registries: &Registries,
    reporter: Arc<dyn Reporter>,
) -> Result<CopyRun> {
    check_targets(planned.iter().map(|p| p.target.registry()), registries).await?;
    let mut jobs = Vec::with_capacity(planned.len());
    for p in planned {
        let root = p
            .root
            .as_ref()
            .ok_or_else(|| invalid(format!("{}: not an image of the archive", p.source)))?;
        jobs.push(CopyJob {
            from: ArchiveSource(archive.clone()),
            root: Root {
                whole: p.whole,
                ..Root::descriptor(root)
            },
            source: p.source.clone(),
            target: p.target.clone(),
        });
    }
    let observer: Arc<dyn Observer> = reporter.clone();
    let engine = Engine::new(copy).with_observer(observer);
    let Some(delta) = archive.meta()?.and_then(|m| m.delta) else {
        return Ok(run(&engine, jobs, None, registries, reporter).await);
    };
    // A delta: every layer it left out is at the site before anything is written.
    let graphs = engine.resolve_all(&jobs).await;
    let checking = super::delta::check_site(&delta, &jobs, &graphs, site, registries);
    let mounted = super::while_waiting(reporter.as_ref(), "site", checking).await?;
    reporter.info(&format!(
        "delta on receipt {}: the {} layers it left out are at the site ({mounted} mounted from where the receipt names them)",
        delta.receipt,
        delta.expected.len()
    ));
    Ok(run(&engine, jobs, Some(graphs), registries, reporter).await)
}

/// Copies `jobs` (their graphs read already when `graphs` is given), then lists what was
/// pushed with a subject where the target has no referrers API.
async fn run<S: Source>(
    engine: &Engine,
    jobs: Vec<CopyJob<S>>,
    graphs: Option<Vec<std::result::Result<Graph, GraphError>>>,
    registries: &Registries,
    reporter: Arc<dyn Reporter>,
) -> CopyRun {
    reporter.images(
        &jobs
            .iter()
            .map(|j| j.source.to_string())
            .collect::<Vec<_>>(),
    );
    let started = std::time::Instant::now();
    let on_done = |i, r: &CopyReport| reporter.image(i, r);
    let graphs = match graphs {
        Some(graphs) => graphs,
        None => engine.resolve_all(&jobs).await,
    };
    // What each root is, as pushed: a referrer's subject is read from it after the copy.
    let roots: Vec<Option<Node>> = graphs
        .iter()
        .map(|g| g.as_ref().ok().map(|g| g.root.clone()))
        .collect();
    let mut reports = engine
        .copy_resolved(registries, &jobs, graphs, on_done)
        .await;
    let targets: Vec<&Reference> = jobs.iter().map(|j| &j.target).collect();
    for problem in
        ferry_oci::graph::referrers::list_without_api(&mut reports, &targets, &roots, registries)
            .await
    {
        reporter.warning(&problem);
    }
    CopyRun {
        reports,
        seconds: started.elapsed().as_secs_f64(),
    }
}
