//! `verify`: re-hash every blob, check every descriptor (size and digest) from `index.json`
//! down to configs and layers, and the manifest checksums in `ferry.json`. Every problem is
//! collected, not just the first.

use std::collections::BTreeSet;

use super::archive::{Archive, blob_digest};
use super::{BundleError, Meta};
use ferry_core::digest::{Digest, Verifier};
use ferry_core::observe::{Counting, Observer, Silent};

/// What verification found.
#[derive(Debug, Default, serde::Serialize)]
pub struct Findings {
    pub blobs_checked: usize,
    pub bytes_checked: u64,
    pub manifests_checked: usize,
    /// Each bad entry, named.
    pub problems: Vec<String>,
    /// A delta's layers, absent and expected at the site (receipt `delta.receipt`).
    pub expected_blobs: usize,
    pub expected_bytes: u64,
    /// Each of them: `sha256:... (12.0 MB, image quay.io/acme/op:1)`.
    pub expected: Vec<String>,
}

fn hash_entry(
    archive: &Archive,
    name: &str,
    digest: &Digest,
    observer: &dyn Observer,
) -> Result<Result<u64, String>, BundleError> {
    let Some(e) = archive.entries.get(name).copied() else {
        return Ok(Err(format!("{name}: missing")));
    };
    // A streamed catalog: blobs were hashed on the way, small files kept.
    if let Some(result) = archive.hashed(name) {
        return Ok(result.clone());
    }
    let verifier = Verifier::new(digest.clone(), Some(e.size));
    let checked = match archive.kept(name) {
        Some(mut bytes) => verifier.read_all(&mut bytes, None),
        None => {
            let mut counted = Counting {
                inner: archive.open_at(e)?,
                observer,
            };
            verifier.read_all(&mut counted, None)
        }
    };
    Ok(checked
        .map_err(super::io_err(&archive.path))?
        .map_err(|m| format!("{name}: {m}")))
}

/// Checks the whole archive; structural errors (unreadable file) end it early.
pub fn verify(archive: &Archive) -> Result<Findings, BundleError> {
    verify_observed(archive, &Silent)
}

/// As [`verify`], telling `observer` the bytes hashed (those not hashed while streaming).
pub fn verify_observed(
    archive: &Archive,
    observer: &dyn Observer,
) -> Result<Findings, BundleError> {
    let unhashed: u64 = archive
        .entries
        .iter()
        .filter(|(name, _)| name.starts_with("blobs/") && archive.hashed(name).is_none())
        .map(|(_, e)| e.size)
        .sum();
    if unhashed > 0 {
        observer.expect(unhashed);
    }
    let mut f = Findings::default();
    for name in archive.entries.keys() {
        let Some(rest) = name.strip_prefix("blobs/") else {
            continue;
        };
        let digest = match rest.split_once('/') {
            Some(("sha256", hex)) => match format!("sha256:{hex}").parse::<Digest>() {
                Ok(d) => d,
                Err(_) => {
                    f.problems.push(format!("{name}: not a sha256 blob name"));
                    continue;
                }
            },
            _ => {
                f.problems
                    .push(format!("{name}: unsupported digest algorithm"));
                continue;
            }
        };
        match hash_entry(archive, name, &digest, observer)? {
            Ok(n) => {
                f.blobs_checked += 1;
                f.bytes_checked += n;
            }
            Err(p) => f.problems.push(p),
        }
    }

    check_graph(archive, &mut f)?;
    // ferry.json read once for every check that looks at it.
    let meta = archive.meta()?;
    listing(archive, meta.as_ref(), &mut f)?;
    if let Some(meta) = &meta {
        check_meta(archive, meta, &mut f)?;
    }
    Ok(f)
}

/// What can be checked of a bundle without reading its blobs: `ferry.json` and `index.json`
/// name the same images ([`check_names`]), every field that reaches Helm or a file name has
/// its shape, every file is listed ([`super::trust`]), and `index.json` is the one
/// `ferry.json` was made with.
pub fn check_listing(archive: &Archive, f: &mut Findings) -> Result<(), BundleError> {
    listing(archive, archive.meta()?.as_ref(), f)
}

fn listing(archive: &Archive, meta: Option<&Meta>, f: &mut Findings) -> Result<(), BundleError> {
    let Some(meta) = meta else {
        return Ok(());
    };
    names(archive, meta, f)?;
    super::trust::check_fields(meta, &mut f.problems);
    super::trust::check_listed(meta, archive.entries.keys(), &mut f.problems);
    if let Some(expected) = &meta.index_json {
        let actual = Digest::of(&archive.read("index.json")?);
        if actual != *expected {
            f.problems.push(format!(
                "index.json: {actual}, ferry.json says {expected}: it was changed after the \
                 bundle was made"
            ));
        }
    }
    Ok(())
}

/// Checks every descriptor reachable from `index.json` ([`Archive::walk`]); in a ferry
/// bundle, also that every blob is one an image uses.
pub fn check_graph(archive: &Archive, f: &mut Findings) -> Result<(), BundleError> {
    let walk = archive.walk()?;
    f.manifests_checked += walk.manifests_checked;
    f.problems.extend(walk.problems);
    f.expected_blobs = walk.expected.len();
    f.expected_bytes = walk.expected.iter().map(|(_, n)| n).sum();
    let delta = archive.meta()?.and_then(|m| m.delta);
    for (digest, size) in &walk.expected {
        let at = delta
            .as_ref()
            .and_then(|d| d.expects(digest, *size))
            .map(|h| format!(", {}", h.at))
            .unwrap_or_default();
        f.expected
            .push(format!("{digest} ({}{at})", ferry_core::text::Bytes(*size)));
    }
    if archive.entries.contains_key("ferry.json") {
        for name in unused_blobs(archive, &walk.reached).chain(&archive.left_out) {
            f.problems.push(format!(
                "{name}: no image of the bundle uses it: a file nobody was shown"
            ));
        }
    }
    Ok(())
}

/// The blobs no walk from `index.json` reached.
fn unused_blobs<'a>(
    archive: &'a Archive,
    reached: &'a BTreeSet<Digest>,
) -> impl Iterator<Item = &'a String> {
    archive
        .entries
        .keys()
        .filter(move |name| blob_digest(name).is_some_and(|d| !reached.contains(&d)))
}

/// `ferry.json` (what `inspect` shows) and `index.json` (what `push` pushes) must name the
/// same images with the same digests: a bundle whose index names another image would push
/// something the reviewer never saw, maybe over one of the site's own tags.
pub fn check_names(archive: &Archive, f: &mut Findings) -> Result<(), BundleError> {
    match archive.meta()? {
        Some(meta) => names(archive, &meta, f),
        None => Ok(()),
    }
}

fn names(archive: &Archive, meta: &Meta, f: &mut Findings) -> Result<(), BundleError> {
    let shown: std::collections::BTreeSet<(String, String)> = meta
        .images
        .iter()
        .map(|i| (i.source.clone(), i.digest.to_string()))
        .chain(
            meta.charts
                .iter()
                .map(|c| (c.source.clone(), c.digest.to_string())),
        )
        .collect();
    let pushed: std::collections::BTreeSet<(String, String)> = archive
        .images()?
        .into_iter()
        .map(|n| {
            let name = n.name.unwrap_or_else(|| "(unnamed)".into());
            (name, n.descriptor.digest.to_string())
        })
        .collect();
    for (name, digest) in pushed.difference(&shown) {
        f.problems.push(format!(
            "index.json names {} ({digest}), which ferry.json does not list: push would write \
             an image inspect does not show",
            ferry_core::text::printable(name)
        ));
    }
    for (name, digest) in shown.difference(&pushed) {
        f.problems.push(format!(
            "ferry.json lists {} ({digest}), which index.json does not name: push would not \
             write it",
            ferry_core::text::printable(name)
        ));
    }
    Ok(())
}

/// Every file `ferry.json` lists matches its checksum; every image and chart it names is there.
fn check_meta(archive: &Archive, meta: &Meta, f: &mut Findings) -> Result<(), BundleError> {
    for m in &meta.manifests {
        if let Err(p) = hash_entry(archive, &m.path, &m.sha256, &Silent)? {
            f.problems.push(format!("{p} (ferry.json checksum)"));
        }
    }
    for i in &meta.images {
        if archive.blob(&i.digest).is_none() {
            f.problems.push(format!(
                "ferry.json: image {} names missing {}",
                i.source, i.digest
            ));
        }
    }
    for c in &meta.charts {
        for d in [&c.digest, &c.package] {
            if archive.blob(d).is_none() {
                f.problems.push(format!(
                    "ferry.json: chart {} {} names missing {d}",
                    c.name, c.version
                ));
            }
        }
    }
    Ok(())
}

/// Everything `verify` finds: the bytes and the listing, and with the vendor's keys the
/// signature over the whole bundle and each image's.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub findings: Findings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_signature: Option<super::seal::Seal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Vec<super::signatures::Verdict>>,
}

impl Report {
    /// Images whose signature no given key verified.
    pub fn unverified(&self) -> usize {
        self.signatures.iter().flatten().filter(|v| !v.ok()).count()
    }

    /// No problem, and with keys, everything signed.
    pub fn ok(&self) -> bool {
        self.findings.problems.is_empty()
            && self.unverified() == 0
            && self.bundle_signature.as_ref().is_none_or(|s| s.ok())
    }
}

/// Verifies the whole archive and, with `keys`, its signatures.
pub fn verify_with_keys(
    archive: &Archive,
    keys: &[super::signatures::PublicKey],
    observer: &dyn Observer,
) -> Result<Report, BundleError> {
    let findings = verify_observed(archive, observer)?;
    if keys.is_empty() {
        return Ok(Report {
            findings,
            bundle_signature: None,
            signatures: None,
        });
    }
    Ok(Report {
        findings,
        bundle_signature: Some(super::seal::check(archive, keys)?),
        signatures: Some(super::signatures::check(archive, keys)?),
    })
}
