//! `ferry inspect` and `ferry verify`: read a bundle in place.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Result;

use crate::cli::{InspectArgs, ReportOutput, VerifyArgs};
use crate::exit::Exit;
use ferry_oci::bundle::archive::Archive;
use ferry_oci::bundle::verify;

fn mb(bytes: u64) -> String {
    crate::output::Bytes(bytes).to_string()
}

pub(super) fn inspect(args: &InspectArgs) -> Result<Exit> {
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
    // Every string below comes from the bundle: built first, printed inert.
    let mut text = String::new();
    match &meta {
        Some(m) => describe(&mut text, args, m, &images, &archive)?,
        None => {
            writeln!(
                text,
                "{}: OCI layout archive (not a ferry bundle)",
                args.bundle.display()
            )?;
            for n in &images {
                writeln!(
                    text,
                    "  {}  {}  {}",
                    n.name.as_deref().unwrap_or("(unnamed)"),
                    n.descriptor.digest,
                    n.descriptor.media_type
                )?;
            }
            writeln!(text, "{} images, {}", images.len(), mb(blob_bytes))?;
        }
    }
    write!(out, "{}", crate::output::printable_text(&text, true))?;
    Ok(Exit::Success)
}

/// A ferry bundle in words: the images as `push` will push them (index.json's names, with
/// what ferry.json says of each), what rides along, the proof.
fn describe(
    text: &mut String,
    args: &InspectArgs,
    m: &ferry_oci::bundle::Meta,
    images: &[ferry_oci::bundle::archive::Named],
    archive: &Archive,
) -> Result<()> {
    writeln!(
        text,
        "{}: {} (ferry {}, created {})",
        args.bundle.display(),
        m.format,
        m.ferry_version,
        m.created
    )?;
    let mut findings = verify::Findings::default();
    verify::check_listing(archive, &mut findings)?;
    for p in &findings.problems {
        writeln!(text, "WARNING: {p}")?;
    }
    writeln!(
        text,
        "{:60}  {:>10}  PLATFORMS / DIGEST",
        "IMAGE (as push names it)", "SIZE"
    )?;
    let is_chart = |n: &ferry_oci::bundle::archive::Named| {
        m.charts
            .iter()
            .find(|c| Some(&c.source) == n.name.as_ref() && c.digest == n.descriptor.digest)
    };
    let described = |n: &ferry_oci::bundle::archive::Named| {
        let name = n.name.as_deref().unwrap_or("(unnamed)");
        m.images
            .iter()
            .find(|i| i.source == name && i.digest == n.descriptor.digest)
    };
    // What is attached to an image is listed under it, not as an image of its own.
    let attached_to =
        |n: &ferry_oci::bundle::archive::Named| described(n).and_then(|i| i.attached_to.clone());
    for n in images
        .iter()
        .filter(|n| is_chart(n).is_none() && attached_to(n).is_none())
    {
        let name = n.name.as_deref().unwrap_or("(unnamed)");
        let (platforms, size) = match described(n) {
            Some(i) if i.platforms.is_empty() => ("single".to_string(), mb(i.size)),
            Some(i) => (i.platforms.join(","), mb(i.size)),
            None => ("(not in ferry.json)".to_string(), String::new()),
        };
        writeln!(text, "{name:60}  {size:>10}  {platforms}")?;
        writeln!(text, "{:60}  {:>10}  {}", "", "", n.descriptor.digest)?;
        for a in images
            .iter()
            .filter(|a| attached_to(a).is_some_and(|t| t.image == name))
        {
            let (kind, on) = attached_to(a)
                .map(|t| {
                    let on = t.subject.map(|s| format!("  (on {s})"));
                    (t.kind, on.unwrap_or_default())
                })
                .unwrap_or_default();
            let size = described(a).map(|i| mb(i.size)).unwrap_or_default();
            writeln!(
                text,
                "  + {kind} {}  {size}  {}{on}",
                a.name.as_deref().unwrap_or_default(),
                a.descriptor.digest
            )?;
        }
    }
    let charts: Vec<_> = images
        .iter()
        .filter_map(|n| Some((n, is_chart(n)?)))
        .collect();
    if !charts.is_empty() {
        writeln!(
            text,
            "charts (OCI charts; push names them as it names images):"
        )?;
        for (n, c) in charts {
            writeln!(
                text,
                "  {} {}{}  as {}  {}",
                c.name,
                c.version,
                c.app_version
                    .as_deref()
                    .map(|v| format!(" (app {v})"))
                    .unwrap_or_default(),
                n.name.as_deref().unwrap_or_default(),
                n.descriptor.digest
            )?;
            if let Some(out) = &c.output {
                writeln!(text, "    rendered as {out}")?;
            }
            for image in &c.images {
                writeln!(text, "    image {image}")?;
            }
        }
    }
    if !m.excluded.is_empty() {
        writeln!(text, "left out on purpose (--exclude):")?;
        for e in &m.excluded {
            writeln!(
                text,
                "  {}  ({}, named at {})",
                e.reference, e.pattern, e.named_at
            )?;
        }
    }
    match &m.proof {
        Some(p) => writeln!(text, "proof: {p}")?,
        None => writeln!(
            text,
            "proof: none (made by a ferry without the completeness proof)"
        )?,
    }
    writeln!(text, "manifests (applied by install):")?;
    for f in m
        .manifests
        .iter()
        .filter(|f| f.path.starts_with("manifests/"))
    {
        match &f.rendered {
            Some(r) => writeln!(
                text,
                "  {}  (rendered by {}{} from {})",
                f.path,
                r.by,
                r.version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default(),
                r.from
            )?,
            None => writeln!(text, "  {}", f.path)?,
        }
    }
    let sources: Vec<_> = m
        .manifests
        .iter()
        .filter(|f| f.path.starts_with("sources/"))
        .collect();
    if !sources.is_empty() {
        writeln!(
            text,
            "sources (kustomizations and charts as given; carried, not applied):"
        )?;
        for f in sources {
            writeln!(text, "  {}", f.path)?;
        }
    }
    let values: Vec<_> = m
        .manifests
        .iter()
        .filter(|f| f.path.starts_with("values/"))
        .collect();
    if !values.is_empty() {
        writeln!(
            text,
            "values (the charts were rendered with; install -f adds to them):"
        )?;
        for f in values {
            writeln!(text, "  {}", f.path)?;
        }
    }
    writeln!(
        text,
        "{} images, {} unique blobs, {}; {} manifest files",
        m.totals.images,
        m.totals.blobs,
        mb(m.totals.blob_bytes),
        m.totals.manifest_files
    )?;
    Ok(())
}

pub(super) fn verify(args: &VerifyArgs) -> Result<Exit> {
    let keys = super::options::keys(&args.key)?;
    let archive = Archive::catalog_hashed(&args.bundle)?;
    let findings = verify::verify(&archive)?;
    let (seal, verdicts) = if keys.is_empty() {
        (None, Vec::new())
    } else {
        (
            Some(ferry_oci::bundle::seal::check(&archive, &keys)?),
            ferry_oci::bundle::signatures::check(&archive, &keys)?,
        )
    };
    let unverified = verdicts.iter().filter(|v| !v.ok()).count();
    let sealed = seal.as_ref().is_none_or(|s| s.ok());
    let mut out = std::io::stdout().lock();
    match args.output {
        ReportOutput::Json => {
            let mut v = serde_json::to_value(&findings)?;
            if !keys.is_empty() {
                v["bundle_signature"] = serde_json::to_value(&seal)?;
                v["signatures"] = serde_json::to_value(&verdicts)?;
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?
        }
        ReportOutput::Table => {
            use ferry_oci::bundle::signatures::Outcome;
            match &seal {
                Some(ferry_oci::bundle::seal::Seal::Verified { key }) => writeln!(
                    out,
                    "signed    the bundle as a whole (ferry.json.sig; key {key})"
                )?,
                Some(s) => {
                    let problem = s.problem().unwrap_or_default();
                    writeln!(out, "BAD       {}", crate::output::printable(&problem))?
                }
                None => {}
            }
            for v in &verdicts {
                let image = crate::output::printable(&v.image);
                match &v.outcome {
                    Outcome::Verified { key, identity } => writeln!(
                        out,
                        "signed    {image} (key {key}; identity {})",
                        crate::output::printable(identity)
                    )?,
                    Outcome::Unsigned => writeln!(out, "UNSIGNED  {image} ({})", v.digest)?,
                    Outcome::Bad { reason } => writeln!(
                        out,
                        "BAD       {image}: {}",
                        crate::output::printable(reason)
                    )?,
                }
            }
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
    if !keys.is_empty() && matches!(args.output, ReportOutput::Table) {
        writeln!(
            out,
            "signatures: {} of {} images verified with the given keys",
            verdicts.len() - unverified,
            verdicts.len()
        )?;
    }
    Ok(
        if findings.problems.is_empty() && unverified == 0 && sealed {
            Exit::Success
        } else {
            Exit::Integrity
        },
    )
}
