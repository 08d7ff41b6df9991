//! `ferry inspect` and `ferry verify`: read a bundle in place.

use std::io::Write;

use anyhow::Result;

use crate::bundle::archive::Archive;
use crate::bundle::verify;
use crate::cli::{InspectArgs, ReportOutput, VerifyArgs};
use crate::exit::Exit;

fn mb(bytes: u64) -> String {
    crate::output::Bytes(bytes).to_string()
}

pub fn inspect(args: &InspectArgs) -> Result<Exit> {
    let archive = Archive::catalog(&args.bundle)?;
    let meta = archive.meta()?;
    let images = archive.images()?;
    let blob_bytes: u64 = archive
        .entries
        .iter()
        .filter(|(k, _)| k.starts_with("blobs/"))
        .map(|(_, e)| e.size)
        .sum();
    let mut out = std::io::stdout().lock();
    if args.output == ReportOutput::Json {
        let doc = serde_json::json!({
            "bundle": args.bundle.display().to_string(),
            "ferry": meta,
            "index": images.iter().map(|n| serde_json::json!({
                "name": n.name,
                "digest": n.descriptor.digest,
                "media_type": n.descriptor.media_type,
                "size": n.descriptor.size,
            })).collect::<Vec<_>>(),
            "entries": archive.entries.len(),
            "blob_bytes": blob_bytes,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Exit::Success);
    }
    match &meta {
        Some(m) => {
            writeln!(
                out,
                "{}: {} (ferry {}, created {})",
                args.bundle.display(),
                m.format,
                m.ferry_version,
                m.created
            )?;
            writeln!(out, "{:60}  {:>10}  PLATFORMS / DIGEST", "IMAGE", "SIZE")?;
            for i in &m.images {
                let platforms = if i.platforms.is_empty() {
                    "single".to_string()
                } else {
                    i.platforms.join(",")
                };
                writeln!(out, "{:60}  {:>10}  {platforms}", i.source, mb(i.size))?;
                writeln!(out, "{:60}  {:>10}  {}", "", "", i.digest)?;
            }
            if !m.excluded.is_empty() {
                writeln!(out, "left out on purpose (--exclude):")?;
                for e in &m.excluded {
                    writeln!(
                        out,
                        "  {}  ({}, named at {})",
                        e.reference, e.pattern, e.named_at
                    )?;
                }
            }
            match &m.proof {
                Some(p) => writeln!(out, "proof: {p}")?,
                None => writeln!(
                    out,
                    "proof: none (made by a ferry without the completeness proof)"
                )?,
            }
            writeln!(out, "manifests (applied by install):")?;
            for f in m
                .manifests
                .iter()
                .filter(|f| f.path.starts_with("manifests/"))
            {
                match &f.rendered {
                    Some(r) => writeln!(
                        out,
                        "  {}  (rendered by {}{} from {})",
                        f.path,
                        r.by,
                        r.version
                            .as_deref()
                            .map(|v| format!(" {v}"))
                            .unwrap_or_default(),
                        r.from
                    )?,
                    None => writeln!(out, "  {}", f.path)?,
                }
            }
            let sources: Vec<_> = m
                .manifests
                .iter()
                .filter(|f| f.path.starts_with("sources/"))
                .collect();
            if !sources.is_empty() {
                writeln!(
                    out,
                    "sources (kustomizations as given; carried, not applied):"
                )?;
                for f in sources {
                    writeln!(out, "  {}", f.path)?;
                }
            }
            writeln!(
                out,
                "{} images, {} unique blobs, {}; {} manifest files",
                m.totals.images,
                m.totals.blobs,
                mb(m.totals.blob_bytes),
                m.totals.manifest_files
            )?;
        }
        None => {
            writeln!(
                out,
                "{}: OCI layout archive (not a ferry bundle)",
                args.bundle.display()
            )?;
            for n in &images {
                writeln!(
                    out,
                    "  {}  {}  {}",
                    n.name.as_deref().unwrap_or("(unnamed)"),
                    n.descriptor.digest,
                    n.descriptor.media_type
                )?;
            }
            writeln!(out, "{} images, {}", images.len(), mb(blob_bytes))?;
        }
    }
    Ok(Exit::Success)
}

pub fn verify(args: &VerifyArgs) -> Result<Exit> {
    let archive = Archive::catalog_hashed(&args.bundle)?;
    let findings = verify::verify(&archive)?;
    let mut out = std::io::stdout().lock();
    match args.output {
        ReportOutput::Json => writeln!(out, "{}", serde_json::to_string_pretty(&findings)?)?,
        ReportOutput::Table => {
            for p in &findings.problems {
                writeln!(out, "bad: {p}")?;
            }
            writeln!(
                out,
                "{}: {} blobs ({}) and {} manifests checked, {} problems",
                args.bundle.display(),
                findings.blobs_checked,
                mb(findings.bytes_checked),
                findings.manifests_checked,
                findings.problems.len()
            )?;
        }
    }
    Ok(if findings.problems.is_empty() {
        Exit::Success
    } else {
        Exit::Integrity
    })
}
