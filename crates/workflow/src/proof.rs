//! The completeness proof `bundle` ends with, before a layer is downloaded: the manifests
//! are rewritten in memory as `install` will rewrite them, but to a stand-in registry (one
//! repository per source host, so no two images meet), and scanned again. Every reference
//! found must point at the stand-in and be an image the bundle holds, by digest where the
//! manifest pins one; a build output or an image left out with `--exclude` is accounted for
//! as such. Anything else is an image the customer's cluster would pull from outside.

use std::collections::{BTreeMap, BTreeSet};

use super::rewrite::{repin, scan_texts};
use super::{Quiet, Result, WorkflowError};
use ferry_core::digest::Digest;
use ferry_core::reference::Reference;
use ferry_core::target::{Layout, Target};
use ferry_oci::bundle::{BundleError, Proof};
use ferry_scan::render::Source;
use ferry_scan::rewrite::{apply, reference_edits};
use ferry_scan::scan::{Hit, UserRules};

/// Nothing is ever sent here: `.invalid` is reserved (RFC 2606) and never resolves.
pub const STAND_IN: &str = "proof.ferry.invalid";

/// An image as the bundle will hold it.
#[derive(Debug, Clone)]
pub struct HeldImage {
    /// The root manifest in the bundle.
    pub digest: Digest,
    /// The source's own digest when a platform filter made a new index (`digest`).
    pub source_digest: Option<Digest>,
}

/// What the bundle will hold, as the proof needs it.
pub struct Held<'a> {
    /// By source reference.
    pub images: BTreeMap<String, HeldImage>,
    /// Source references left out on purpose.
    pub excluded: BTreeSet<&'a str>,
}

fn invalid(e: impl std::fmt::Display) -> WorkflowError {
    WorkflowError::Invalid(e.to_string())
}

/// Proves the inputs as install will get them (files, and each kustomization's output).
pub fn prove(sources: &[Source], rules: &UserRules, held: &Held<'_>) -> Result<Proof> {
    let files: Vec<(&str, &str)> = sources
        .iter()
        .map(|s| (s.label.as_str(), s.text.as_str()))
        .collect();
    let texts = || files.iter().copied();
    // The bundle's own scan already reported every warning once.
    let before = scan_texts(texts(), rules, &Quiet)?;
    let stand_in: Target = STAND_IN.parse().map_err(invalid)?;
    let sources: BTreeSet<&Reference> = before
        .iter()
        .flat_map(|(_, s)| s.hits.iter().map(|h| &h.reference))
        .collect();
    let mut mapping = stand_in
        .map_all(sources, Layout::HostPath)
        .map_err(invalid)?;
    let digests = held
        .images
        .iter()
        .map(|(s, i)| (s.clone(), i.digest.clone()))
        .collect();
    repin(&mut mapping, &digests)?;
    let back: BTreeMap<&Reference, &Reference> = mapping.iter().map(|(s, t)| (t, s)).collect();

    let mut rewritten = Vec::with_capacity(files.len());
    for ((label, text), (_, found)) in files.iter().zip(&before) {
        let hits: Vec<&Hit> = found.hits.iter().collect();
        let edits = reference_edits(text, &hits, &mapping).map_err(invalid)?;
        let after = apply(text, edits).map_err(|e| invalid(format!("{label}: {e}")))?;
        rewritten.push((label.to_string(), after));
    }
    let after = scan_texts(
        rewritten.iter().map(|(l, t)| (l.as_str(), t.as_str())),
        rules,
        &Quiet,
    )?;

    let mut proof = Proof {
        stand_in: STAND_IN.to_string(),
        files: files.len(),
        ..Proof::default()
    };
    let mut problems = Vec::new();
    for ((label, found), (_, earlier)) in after.iter().zip(&before) {
        if found.hits.len() < earlier.hits.len() {
            problems.push(format!(
                "{label}: {} image references before the rewrite, {} after: a rewritten \
                 reference is no longer recognised",
                earlier.hits.len(),
                found.hits.len()
            ));
        }
        for hit in &found.hits {
            proof.references += 1;
            match account(hit, &back, held) {
                Ok(Account::Held) => proof.held += 1,
                Ok(Account::Output) => proof.outputs += 1,
                Ok(Account::Excluded) => proof.excluded += 1,
                Err(why) => problems.push(format!(
                    "{}:{}:{}: {} {why}",
                    hit.file, hit.line, hit.column, hit.written
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(proof)
    } else {
        Err(BundleError::Unproven(problems).into())
    }
}

enum Account {
    Held,
    Output,
    Excluded,
}

/// What a reference found after the rewrite is, or why a cluster would pull it from outside.
fn account(
    hit: &Hit,
    back: &BTreeMap<&Reference, &Reference>,
    held: &Held<'_>,
) -> std::result::Result<Account, String> {
    let found = &hit.reference;
    if found.registry() != STAND_IN {
        return Err(format!(
            "would still be pulled from {} after the rewrite",
            found.registry()
        ));
    }
    let Some(source) = back.get(found) else {
        return Err("is not a name the rewrite gives to any image in the manifests".into());
    };
    if hit.output {
        return Ok(Account::Output);
    }
    let name = source.to_string();
    if held.excluded.contains(name.as_str()) {
        return Ok(Account::Excluded);
    }
    let Some(image) = held.images.get(&name) else {
        return Err(format!("names {source}, which is not in the bundle"));
    };
    // A pin names the source's digest, or the index a platform filter made of it.
    if let Some(pinned) = source.digest()
        && image.digest.as_str() != pinned
        && image
            .source_digest
            .as_ref()
            .is_none_or(|d| d.as_str() != pinned)
    {
        return Err(format!(
            "pins {pinned}, but the bundle holds {} as {}",
            source.name(),
            image.digest
        ));
    }
    match found.digest() {
        Some(d) if d != image.digest.as_str() => Err(format!(
            "is rewritten to {d}, but the bundle holds {} as {}",
            source.name(),
            image.digest
        )),
        _ => Ok(Account::Held),
    }
}
