//! `ferry push`: the customer side. Pushes a bundle's images into the private registry with
//! no other network, blobs read from the tar by offset and verified on the way.

use std::sync::Arc;

use anyhow::Result;

use super::bundle::failure;
use super::copying;
use crate::bundle::archive::Archive;
use crate::bundle::ends::ArchiveSource;
use crate::bundle::verify::{Findings, check_graph};
use crate::cli::PushArgs;
use crate::exit::{Exit, Failure, invalid};
use crate::graph::{CopyJob, Root};
use crate::reference::Reference;
use crate::registry::Registries;
use crate::target::Target;

/// A `ref.name` that is a full reference (it names a repository), not a bare tag.
fn full_reference(name: &str) -> Option<Reference> {
    name.contains('/')
        .then(|| Reference::parse(name).ok())
        .flatten()
}

pub fn run(args: &PushArgs) -> Result<Exit> {
    if !args.copy.source_mirror.is_empty() {
        return Err(Failure::new(
            Exit::Usage,
            "--source-mirror does not apply to push: the bundle is the source",
        )
        .into());
    }
    let archive = Arc::new(Archive::open(&args.bundle).map_err(failure)?);
    archive.meta().map_err(failure)?;
    // Everything the images need must be in the bundle before anything is pushed.
    let mut findings = Findings::default();
    check_graph(&archive, &mut findings).map_err(failure)?;
    if !findings.problems.is_empty() {
        let list = findings.problems.join("\n  ");
        return Err(Failure::new(
            Exit::Integrity,
            format!(
                "{}: nothing pushed, the bundle is incomplete:\n  {list}",
                args.bundle.display()
            ),
        )
        .into());
    }
    let named = archive.images().map_err(failure)?;
    let mut sources = Vec::new();
    for (i, n) in named.iter().enumerate() {
        let name = match (n.name.as_deref().and_then(full_reference), &args.name) {
            (Some(r), _) => r,
            (None, Some(given)) if named.len() == 1 => {
                Reference::parse(given).map_err(|e| invalid(format!("--name {given:?}: {e}")))?
            }
            (None, _) => {
                return Err(invalid(format!(
                    "{}: image {i} ({}) has no full reference in org.opencontainers.image.ref.name{}; \
                     give one with --name REF (single-image archives)",
                    args.bundle.display(),
                    n.descriptor.digest,
                    n.name
                        .as_deref()
                        .map(|t| format!(" (it says {t:?})"))
                        .unwrap_or_default()
                )));
            }
        };
        sources.push((name, n.descriptor.clone()));
    }
    let target: Target = args
        .copy
        .to
        .parse()
        .map_err(|e| invalid(format!("--to: {e}")))?;
    let mapped = target
        .map_all(sources.iter().map(|(r, _)| r), args.copy.layout)
        .map_err(|e| invalid(e.to_string()))?;
    if args.copy.dry_run {
        let planned: Vec<copying::Planned> = sources
            .iter()
            .map(|(source, _)| copying::Planned {
                source: source.clone(),
                pull_from: source.clone(),
                target: mapped[source].clone(),
            })
            .collect();
        copying::print_plan(&planned, args.copy.output)?;
        return Ok(Exit::Success);
    }
    let jobs: Vec<CopyJob<ArchiveSource>> = sources
        .into_iter()
        .map(|(source, root)| CopyJob {
            from: ArchiveSource(archive.clone()),
            root: Root::descriptor(&root),
            target: mapped[&source].clone(),
            source,
        })
        .collect();
    let registries = Registries::new(copying::registry_options(&args.registry));
    copying::run_copy(registries, jobs, &args.copy)
}
