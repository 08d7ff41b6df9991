//! `ferry inspect` and `ferry verify`: read a bundle in place.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Result;

use crate::cli::{InspectArgs, ReportOutput, VerifyArgs};
use crate::exit::Exit;
use ferry_oci::bundle::Meta;
use ferry_oci::bundle::archive::Archive;
use ferry_oci::bundle::archive::Named;
use ferry_oci::bundle::inspect::Contents;
use ferry_oci::bundle::verify;

fn mb(bytes: u64) -> String {
    crate::output::Bytes(bytes).to_string()
}

pub(super) fn inspect(args: &InspectArgs) -> Result<Exit> {
    let contents = ferry_oci::bundle::inspect::contents(&args.bundle)?;
    let mut out = std::io::stdout().lock();
    if args.output == ReportOutput::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&contents)?)?;
        return Ok(Exit::Success);
    }
    // Every string below comes from the bundle: built first, printed inert.
    let mut text = String::new();
    match &contents.ferry {
        Some(m) => describe(&mut text, &contents, m)?,
        None => {
            writeln!(
                text,
                "{}: OCI layout archive (not a ferry bundle)",
                args.bundle.display()
            )?;
            for n in &contents.index {
                writeln!(
                    text,
                    "  {}  {}  {}",
                    n.name.as_deref().unwrap_or("(unnamed)"),
                    n.digest,
                    n.media_type
                )?;
            }
            writeln!(
                text,
                "{} images, {}",
                contents.index.len(),
                mb(contents.blob_bytes)
            )?;
        }
    }
    write!(out, "{}", crate::output::printable_text(&text, true))?;
    Ok(Exit::Success)
}

/// A ferry bundle in words: the images as `push` will push them (index.json's names, with
/// what ferry.json says of each), what rides along, the proof.
fn describe(text: &mut String, contents: &Contents, m: &Meta) -> Result<()> {
    writeln!(
        text,
        "{}: {} (ferry {}, created {})",
        contents.bundle, m.format, m.ferry_version, m.created
    )?;
    for p in &contents.problems {
        writeln!(text, "WARNING: {p}")?;
    }
    if let Some(p) = &m.product {
        // Outside text: shown as data (check_fields names a bad one as a WARNING above).
        writeln!(
            text,
            "product {}{} (install's release name)",
            crate::output::printable(&p.name),
            p.version
                .as_deref()
                .map(|v| format!(" {}", crate::output::printable(v)))
                .unwrap_or_default()
        )?;
        if let Some(d) = &p.description {
            writeln!(text, "  {}", crate::output::printable(d))?;
        }
    }
    let images = &contents.named;
    describe_images(text, m, images)?;
    describe_charts(text, m, images)?;
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
    describe_files(text, m)?;
    describe_delta(text, m)?;
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

/// A delta bundle: what it left out, expected at the site.
fn describe_delta(text: &mut String, m: &Meta) -> Result<()> {
    if let Some(d) = &m.delta {
        writeln!(
            text,
            "delta on receipt {} ({}): {} blobs, {} left out, expected at the site",
            d.receipt,
            d.receipt_from.join(", "),
            d.expected.len(),
            mb(d.bytes())
        )?;
    }
    Ok(())
}

/// What ferry.json says of an image index.json names (same name, same digest).
fn described<'a>(m: &'a Meta, n: &Named) -> Option<&'a ferry_oci::bundle::ImageMeta> {
    let name = n.name.as_deref().unwrap_or("(unnamed)");
    m.images
        .iter()
        .find(|i| i.source == name && i.digest == n.descriptor.digest)
}

/// The chart ferry.json lists as this entry of index.json.
fn chart_of<'a>(m: &'a Meta, n: &Named) -> Option<&'a ferry_oci::bundle::chart::ChartEntry> {
    m.charts
        .iter()
        .find(|c| Some(&c.source) == n.name.as_ref() && c.digest == n.descriptor.digest)
}

/// Each image as push names it, with what is attached to it listed under it.
fn describe_images(text: &mut String, m: &Meta, images: &[Named]) -> Result<()> {
    writeln!(
        text,
        "{:60}  {:>10}  PLATFORMS / DIGEST",
        "IMAGE (as push names it)", "SIZE"
    )?;
    let attached_to = |n: &Named| described(m, n).and_then(|i| i.attached_to.clone());
    for n in images
        .iter()
        .filter(|n| chart_of(m, n).is_none() && attached_to(n).is_none())
    {
        let name = n.name.as_deref().unwrap_or("(unnamed)");
        let (platforms, size) = match described(m, n) {
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
            let size = described(m, a).map(|i| mb(i.size)).unwrap_or_default();
            writeln!(
                text,
                "  + {kind} {}  {size}  {}{on}",
                a.name.as_deref().unwrap_or_default(),
                a.descriptor.digest
            )?;
        }
    }
    Ok(())
}

/// The OCI charts, with where their output is, the images it names and its `lookup` calls.
fn describe_charts(text: &mut String, m: &Meta, images: &[Named]) -> Result<()> {
    let charts: Vec<_> = images
        .iter()
        .filter_map(|n| Some((n, chart_of(m, n)?)))
        .collect();
    if charts.is_empty() {
        return Ok(());
    }
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
        for at in &c.lookups {
            writeln!(
                text,
                "    calls lookup at {at}: what it keeps is made anew by every render"
            )?;
        }
    }
    Ok(())
}

/// The files ferry.json lists: applied (`manifests/`), carried (`sources/`), chart values.
fn describe_files(text: &mut String, m: &Meta) -> Result<()> {
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
    for (dir, title) in [
        (
            "sources/",
            "sources (kustomizations and charts as given; carried, not applied):",
        ),
        (
            "values/",
            "values (the charts were rendered with; install -f adds to them):",
        ),
    ] {
        let files: Vec<_> = m
            .manifests
            .iter()
            .filter(|f| f.path.starts_with(dir))
            .collect();
        if !files.is_empty() {
            writeln!(text, "{title}")?;
            for f in files {
                writeln!(text, "  {}", f.path)?;
            }
        }
    }
    Ok(())
}

pub(super) fn verify(args: &VerifyArgs) -> Result<Exit> {
    use ferry_oci::bundle::parts::{self, Given};
    let set = match Given::of(&args.bundle) {
        Given::Whole => None,
        Given::Set(index) => Some(index),
        // A part given alone is checked alone.
        Given::Part(index, n) => {
            let checked = parts::check(&index, Some(n))?;
            return parts_table(args, &checked);
        }
    };
    let keys = super::options::keys(&args.key)?;
    let progress = crate::progress::Reading::new("verify", crate::progress::live_terminal());
    let report = Archive::catalog_hashed(&args.bundle, &progress)
        .and_then(|archive| verify::verify_with_keys(&archive, &keys, &progress));
    progress.finish();
    // A split bundle that does not verify: which part is damaged or missing.
    if let Some(index) = set
        && report
            .as_ref()
            .map_or(true, |r| !r.findings.problems.is_empty())
    {
        let checked = parts::check(&index, None)?;
        if checked.iter().any(|c| c.problem.is_some()) {
            return parts_table(args, &checked);
        }
    }
    let report = report?;
    let mut out = std::io::stdout().lock();
    match args.output {
        ReportOutput::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        ReportOutput::Table => write!(out, "{}", verify_table(args, &report)?)?,
    }
    Ok(if report.ok() {
        Exit::Success
    } else {
        Exit::Integrity
    })
}

/// A split bundle's parts as checked: each intact, damaged or missing, named by number.
fn parts_table(args: &VerifyArgs, checked: &[ferry_oci::bundle::parts::PartCheck]) -> Result<Exit> {
    let damaged = checked.iter().any(|c| c.problem.is_some());
    let mut out = std::io::stdout().lock();
    if args.output == ReportOutput::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(checked)?)?;
    } else {
        let mut text = String::new();
        for c in checked {
            match &c.problem {
                None => writeln!(
                    text,
                    "part {} of {} of {} ({}): intact",
                    c.part, c.of, c.bundle, c.name
                )?,
                Some(p) => writeln!(text, "bad: {p}")?,
            }
        }
        if damaged {
            writeln!(
                text,
                "{}: {} of {} parts damaged or missing; the bundle was not read further",
                args.bundle.display(),
                checked.iter().filter(|c| c.problem.is_some()).count(),
                checked.first().map_or(0, |c| c.of)
            )?;
        }
        write!(out, "{}", crate::output::printable_text(&text, true))?;
    }
    Ok(if damaged {
        Exit::Integrity
    } else {
        Exit::Success
    })
}

/// `verify`'s report for people: signatures, each problem, the counts.
fn verify_table(args: &VerifyArgs, report: &verify::Report) -> Result<String> {
    use crate::output::printable;
    use ferry_oci::bundle::seal::Seal;
    use ferry_oci::bundle::signatures::Outcome;
    let mut text = String::new();
    match &report.bundle_signature {
        Some(Seal::Verified { key }) => writeln!(
            text,
            "signed    the bundle as a whole (ferry.json.sig; key {key})"
        )?,
        Some(s) => writeln!(
            text,
            "BAD       {}",
            printable(&s.problem().unwrap_or_default())
        )?,
        None => {}
    }
    let verdicts = report.signatures.as_deref().unwrap_or_default();
    for v in verdicts {
        let image = printable(&v.image);
        match &v.outcome {
            Outcome::Verified { key, identity } => writeln!(
                text,
                "signed    {image} (key {key}; identity {})",
                printable(identity)
            )?,
            Outcome::Unsigned => writeln!(text, "UNSIGNED  {image} ({})", v.digest)?,
            Outcome::Bad { reason } => writeln!(text, "BAD       {image}: {}", printable(reason))?,
        }
    }
    let f = &report.findings;
    for p in &f.problems {
        writeln!(text, "bad: {p}")?;
    }
    writeln!(
        text,
        "{}: {} blobs ({}) and {} manifests checked, {} problems",
        args.bundle.display(),
        f.blobs_checked,
        mb(f.bytes_checked),
        f.manifests_checked,
        f.problems.len()
    )?;
    expected_table(&mut text, f)?;
    if report.signatures.is_some() {
        writeln!(
            text,
            "signatures: {} of {} images verified with the given keys",
            verdicts.len() - report.unverified(),
            verdicts.len()
        )?;
    }
    Ok(text)
}

/// A delta's layers, absent from the bundle and expected at the site.
fn expected_table(text: &mut String, f: &verify::Findings) -> Result<()> {
    if f.expected_blobs > 0 {
        writeln!(
            text,
            "delta: {} blobs ({}) left out, expected at the site (push checks they are there first)",
            f.expected_blobs,
            mb(f.expected_bytes)
        )?;
        for e in &f.expected {
            writeln!(text, "  expected {e}")?;
        }
    }
    Ok(())
}
