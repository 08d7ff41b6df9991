//! `ferry receipt --to REGISTRY[/PREFIX]`: what the site's registry holds under a prefix,
//! read from the registry itself: its repositories (the catalog where the registry lists
//! it, else those the given bundles name under the target), each tag's image graph
//! (manifests, configs, layers), at most `jobs` reads at once.

use std::collections::BTreeSet;
use std::path::PathBuf;

use futures_util::StreamExt;

use super::{Reporter, Result, WorkflowError};
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};
use ferry_oci::bundle::archive::Archive;
use ferry_oci::bundle::receipt::{Held, Place, Receipt};
use ferry_oci::graph::{CopyOptions, Engine, Repository, Root};
use ferry_oci::registry::Registries;

#[derive(Debug, Clone)]
pub struct RegistryReceiptOptions {
    pub target: Target,
    pub layout: Layout,
    /// Bundles pushed there: their repositories, where the registry lists none.
    pub bundles: Vec<PathBuf>,
    /// Image reads at once.
    pub jobs: usize,
}

/// The receipt of what the target holds, every blob at the repository that holds it.
pub async fn registry_receipt(
    opts: &RegistryReceiptOptions,
    registries: &Registries,
    reporter: &dyn Reporter,
) -> Result<Receipt> {
    // Every tag's graph of every repository: minutes on a large registry, shown as alive.
    let reading = read_registry(opts, registries, reporter);
    super::while_waiting(reporter, "registry", reading).await
}

async fn read_registry(
    opts: &RegistryReceiptOptions,
    registries: &Registries,
    reporter: &dyn Reporter,
) -> Result<Receipt> {
    let repositories = repositories(opts, registries, reporter).await?;
    let host = opts.target.registry().to_string();
    let registry = registries.get(&host)?;
    let mut images = Vec::new();
    for repo in &repositories {
        match registry.tags(repo).await? {
            Some(tags) => images.extend(tags.into_iter().map(|t| (repo.clone(), t))),
            None => reporter.warning(&format!(
                "{host}/{repo}: the registry does not list its tags; left out of the receipt"
            )),
        }
    }
    let engine = Engine::new(CopyOptions::default());
    let reads = images.iter().map(|(repo, tag)| {
        let (engine, host) = (&engine, &host);
        async move {
            let image: Reference = format!("{host}/{repo}:{tag}")
                .parse()
                .map_err(|e| WorkflowError::Invalid(format!("{host}/{repo}:{tag}: {e}")))?;
            let source = Repository::of(registries, &image)?;
            let graph = engine
                .resolve(&source, &Root::of(&image), &image.to_string())
                .await?;
            Ok::<_, WorkflowError>((format!("{host}/{repo}"), graph))
        }
    });
    let graphs: Vec<Result<_>> = futures_util::stream::iter(reads)
        .buffer_unordered(opts.jobs.max(1))
        .collect()
        .await;
    let mut parts = Vec::new();
    for read in graphs {
        let (at, graph) = read?;
        let blobs = graph
            .all_blobs()
            .into_iter()
            .map(|(digest, size)| Held {
                digest,
                size,
                at: Place::Repository(at.clone()),
            })
            .collect();
        parts.push(Receipt {
            schema: ferry_oci::bundle::receipt::SCHEMA.to_string(),
            from: Vec::new(),
            blobs,
        });
    }
    let mut receipt = Receipt::merge(parts);
    receipt.from = vec![format!(
        "registry {}: {} repositories, {} tags",
        opts.target,
        repositories.len(),
        images.len()
    )];
    Ok(receipt)
}

/// The repositories under the target: the registry's catalog, else the bundles'.
async fn repositories(
    opts: &RegistryReceiptOptions,
    registries: &Registries,
    reporter: &dyn Reporter,
) -> Result<BTreeSet<String>> {
    let registry = registries.get(opts.target.registry())?;
    let under = |repo: &str| match opts.target.prefix() {
        Some(p) => repo == p || repo.starts_with(&format!("{p}/")),
        None => true,
    };
    if let Some(all) = registry.catalog().await? {
        return Ok(all.into_iter().filter(|r| under(r)).collect());
    }
    if opts.bundles.is_empty() {
        return Err(WorkflowError::Usage(format!(
            "{} does not list its repositories (its catalog is refused): give --from-bundle \
             with the bundles pushed there, to read the repositories they name",
            opts.target.registry()
        )));
    }
    reporter.info("the registry does not list its repositories: reading those the bundles name");
    let mut repos = BTreeSet::new();
    for bundle in &opts.bundles {
        let archive = Archive::catalog(bundle)?;
        for named in archive.images()? {
            let Some(source) = named.name.and_then(|n| n.parse::<Reference>().ok()) else {
                continue;
            };
            let target = opts
                .target
                .map(&source, opts.layout)
                .map_err(|e| WorkflowError::Invalid(e.to_string()))?;
            repos.insert(target.repository().to_string());
        }
    }
    Ok(repos)
}
