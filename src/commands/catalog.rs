//! `ferry scan CATALOG [--package P [--channel C] [--versions V]]`: what an OLM catalog holds,
//! or the images a selection from it needs, each with the bundle that needs it.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::options::usage;
use crate::cli::{CatalogArgs, ScanOutput};
use crate::exit::Exit;
use crate::output::printable;
use ferry_scan::catalog::select::{Selection, Versions};
use ferry_workflow::catalog::{CatalogSelection, read_catalog, select_from, summarize};

pub(super) fn run(path: &Path, args: &CatalogArgs, output: ScanOutput, why: bool) -> Result<Exit> {
    let catalog = read_catalog(path)?;
    let mut out = std::io::stdout().lock();
    let Some(package) = &args.package else {
        let summary = summarize(&catalog);
        if output == ScanOutput::Json {
            let doc = serde_json::json!({"schema": "ferry.catalog/v1", "packages": summary});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
            return Ok(Exit::Success);
        }
        for p in summary {
            writeln!(
                out,
                "package {} (default channel {}): {} bundles",
                printable(&p.name),
                printable(p.default_channel.as_deref().unwrap_or("none")),
                p.bundles
            )?;
            for c in p.channels {
                writeln!(
                    out,
                    "  channel {}: {} entries, head {}",
                    printable(&c.name),
                    c.entries,
                    printable(&c.heads.join(", "))
                )?;
            }
        }
        return Ok(Exit::Success);
    };
    let versions: Versions = args
        .versions
        .parse()
        .map_err(|e: String| usage(format!("--versions {e}")))?;
    let selection = Selection {
        package: package.clone(),
        channel: args.channel.clone(),
        versions,
    };
    let chosen = select_from(&catalog, &selection)?;
    for note in chosen.selected.notes.iter().chain(&chosen.filtered.notes) {
        eprintln!("note: {}", printable(note));
    }
    if let Some(file) = &args.filtered_catalog {
        ferry_core::atomic::write(file, &chosen.filtered.to_json())
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        eprintln!(
            "wrote {}: the catalog reduced to {} bundles",
            file.display(),
            chosen.selected.bundles.len()
        );
    }
    render(&mut out, &chosen, output, why)?;
    Ok(Exit::Success)
}

fn render(
    out: &mut impl Write,
    chosen: &CatalogSelection,
    output: ScanOutput,
    why: bool,
) -> Result<()> {
    match output {
        ScanOutput::Json => {
            let images: Vec<_> = chosen
                .images
                .iter()
                .map(|n| serde_json::json!({"image": n.image, "bundle": n.bundle, "why": n.why}))
                .collect();
            let doc = serde_json::json!({
                "schema": "ferry.catalog-selection/v1",
                "package": chosen.selected.package,
                "channels": chosen.selected.channels,
                "bundles": chosen.selected.bundles,
                "images": images,
                "notes": chosen.selected.notes.iter().chain(&chosen.filtered.notes).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        ScanOutput::List if !why => {
            for n in &chosen.images {
                writeln!(out, "{}", printable(&n.image))?;
            }
        }
        _ => {
            writeln!(
                out,
                "package {}: {} bundles ({})",
                printable(&chosen.selected.package),
                chosen.selected.bundles.len(),
                printable(&chosen.selected.bundles.join(", "))
            )?;
            for n in &chosen.images {
                writeln!(out, "{}", printable(&n.image))?;
                if why {
                    writeln!(
                        out,
                        "    {} of bundle {}",
                        printable(&n.why),
                        printable(&n.bundle)
                    )?;
                }
            }
            writeln!(out, "{} images", chosen.images.len())?;
        }
    }
    Ok(())
}

/// `CATALOG --package ...`: the catalog (the one input) and what to take from it.
pub(super) fn selected(
    paths: &[std::path::PathBuf],
    c: &CatalogArgs,
) -> Result<Option<ferry_workflow::CatalogInput>> {
    let Some(package) = &c.package else {
        return Ok(None);
    };
    if super::spec::given(paths)?.is_some() {
        return Err(usage(
            "--package selects from a catalog given as PATH; a ferry.yaml says its selections \
             under catalogs:",
        ));
    }
    let [catalog] = paths else {
        return Err(usage(
            "--package selects from one OLM catalog: give it as the only PATH",
        ));
    };
    let versions: Versions = c
        .versions
        .parse()
        .map_err(|e: String| usage(format!("--versions {e}")))?;
    Ok(Some(ferry_workflow::CatalogInput {
        name: package.clone(),
        catalog: catalog.clone(),
        selections: vec![Selection {
            package: package.clone(),
            channel: c.channel.clone(),
            versions,
        }],
        namespace: c.catalog_namespace.clone(),
    }))
}

/// `ferry mirror` of catalog selections (`CATALOG --package ...`, or a release spec's
/// `catalogs:` beside its other inputs): their images, each catalog image reduced to its
/// selection, and the site's manifests (`DIR/` for `--package`, `DIR/NAME/` for a spec's).
pub(super) fn mirror(
    args: &crate::cli::MirrorArgs,
    catalogs: Vec<ferry_workflow::CatalogInput>,
    opts: ferry_workflow::MirrorOptions,
) -> Result<Exit> {
    let by_name = args.catalog.package.is_none();
    let options = ferry_workflow::CatalogMirrorOptions {
        catalogs,
        mirror: opts,
    };
    let printer = std::sync::Arc::new(super::report::Printer::new(args.copy.output));
    let registries = super::options::registries(&args.registry);
    let report = super::options::runtime()?.block_on(ferry_workflow::mirror_catalog(
        &options,
        &registries,
        printer.clone(),
    ));
    printer.finish();
    let report = report?;
    for note in &report.notes {
        eprintln!("note: {}", printable(note));
    }
    let dir = (args.catalog.catalog_manifests.clone())
        .unwrap_or_else(|| std::path::PathBuf::from("catalog-manifests"));
    let json = args.copy.output == crate::cli::CopyOutput::Json;
    for catalog in &report.catalogs {
        // Names from a spec (checked as DNS labels there) or a package of the catalog.
        let dir = match by_name {
            true => dir.join(&catalog.name),
            false => dir.clone(),
        };
        let files = match args.copy.dry_run.is_some() {
            // A dry run writes nothing: it says where the files would go.
            true => would_write(&dir, &catalog.manifests, !json),
            false => write_manifests(&dir, &catalog.manifests, !json)?,
        };
        let image = catalog.catalog_image.as_ref().map(ToString::to_string);
        if json {
            crate::events::emit(&crate::events::Event::Catalog {
                name: &catalog.name,
                bundles: &catalog.bundles,
                image,
                files,
            });
        } else if let Some(image) = image {
            let bundles = catalog.bundles.len();
            eprintln!("catalog image: {} ({bundles} bundles)", printable(&image));
        }
    }
    match &report.outcome.run {
        Some(run) => super::options::print_summary(run, args.copy.output),
        None => Ok(Exit::Success),
    }
}

/// Where the site's files would go (said when `say`).
fn would_write(dir: &Path, manifests: &[(String, String)], say: bool) -> Vec<String> {
    let paths: Vec<String> = manifests
        .iter()
        .map(|(name, _)| dir.join(name).display().to_string())
        .collect();
    if say {
        for path in &paths {
            eprintln!("would write {path}");
        }
    }
    paths
}

/// Writes the site's files into `dir` (said when `say`); their paths.
fn write_manifests(dir: &Path, manifests: &[(String, String)], say: bool) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let mut written = Vec::with_capacity(manifests.len());
    for (name, yaml) in manifests {
        let path = dir.join(name);
        ferry_core::atomic::write(&path, yaml.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if say {
            eprintln!("wrote {}", path.display());
        }
        written.push(path.display().to_string());
    }
    Ok(written)
}
