//! Selections from a catalog: a package; one channel or every channel of it; the channel
//! head, every entry, or the entries whose version lies in a range (semver 2.0, both bounds
//! inclusive, either optional, pre-releases below their release, build metadata ignored).
//! The head is the one entry no other entry of the channel names in `replaces` or `skips`
//! (`skipRange` does not count), as `opm` computes it; a channel with more than one is
//! refused, as `opm validate` and oc-mirror refuse it.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::Value;

use super::{Bundle, Catalog, CatalogError, Channel};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Versions {
    Head,
    All,
    Range {
        min: Option<semver::Version>,
        max: Option<semver::Version>,
    },
}

impl std::str::FromStr for Versions {
    type Err = String;

    /// `head`, `all`, or `MIN..MAX` with either bound left out (`1.1.0..`, `..1.2.0`).
    fn from_str(s: &str) -> Result<Versions, String> {
        match s {
            "head" => return Ok(Versions::Head),
            "all" => return Ok(Versions::All),
            _ => {}
        }
        let (min, max) = s
            .split_once("..")
            .ok_or_else(|| format!("{s:?}: give head, all, or MIN..MAX (either bound optional)"))?;
        let bound = |b: &str| -> Result<Option<semver::Version>, String> {
            if b.is_empty() {
                return Ok(None);
            }
            version(b)
                .map(Some)
                .ok_or_else(|| format!("{b:?}: not a semver version"))
        };
        Ok(Versions::Range {
            min: bound(min)?,
            max: bound(max)?,
        })
    }
}

/// A version as catalogs write it (`1.2.0`, `v1.2.0`, `1.2`).
pub fn version(text: &str) -> Option<semver::Version> {
    let t = text.trim().trim_start_matches('v');
    semver::Version::parse(t).ok().or_else(|| {
        // `1.2` as `1.2.0`.
        let parts = t.split('.').count();
        (parts == 2).then(|| semver::Version::parse(&format!("{t}.0")).ok())?
    })
}

/// What a range compares: build metadata ignored.
fn key(v: &semver::Version) -> (u64, u64, u64, semver::Prerelease) {
    (v.major, v.minor, v.patch, v.pre.clone())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub package: String,
    /// None: every channel of the package.
    pub channel: Option<String>,
    pub versions: Versions,
}

/// What a selection chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    pub package: String,
    /// The selected bundles, in version order.
    pub bundles: Vec<String>,
    /// Each selected channel with its selected entries.
    pub channels: BTreeMap<String, BTreeSet<String>>,
    /// What a person should know.
    pub notes: Vec<String>,
}

/// One image a selected bundle needs, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Needed {
    /// As the catalog writes it.
    pub image: String,
    pub bundle: String,
    /// `bundle image`, `relatedImages`, `CSV relatedImages`, `CSV deployment NAME container
    /// C`, `CSV deployment NAME env VAR`.
    pub why: String,
}

fn select_error(m: String) -> CatalogError {
    CatalogError::Select(m)
}

/// The bundles `sel` chooses from `catalog`.
pub fn select(catalog: &Catalog, sel: &Selection) -> Result<Selected, CatalogError> {
    let package = &sel.package;
    let channels: Vec<&Channel> = catalog.channels_of(package).collect();
    if channels.is_empty() && !catalog.packages.contains_key(package) {
        let known: Vec<&String> = catalog.packages.keys().collect();
        return Err(select_error(format!(
            "{}: no package {package:?} (packages: {})",
            catalog.root.display(),
            known
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let chosen: Vec<&Channel> = match &sel.channel {
        Some(name) => {
            let found: Vec<&Channel> = channels
                .iter()
                .copied()
                .filter(|c| &c.name == name)
                .collect();
            if found.is_empty() {
                return Err(select_error(format!(
                    "package {package} has no channel {name:?} (channels: {})",
                    channels
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            found
        }
        None => channels,
    };
    let mut out = Selected {
        package: package.clone(),
        ..Selected::default()
    };
    for channel in chosen {
        let picked = match &sel.versions {
            Versions::Head => vec![head(channel)?],
            Versions::All => channel.entries.iter().map(|e| e.name.clone()).collect(),
            Versions::Range { min, max } => in_range(catalog, channel, min.as_ref(), max.as_ref())?,
        };
        if !picked.is_empty() {
            out.channels
                .entry(channel.name.clone())
                .or_default()
                .extend(picked);
        }
    }
    let mut all: Vec<String> = out
        .channels
        .values()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    all.sort_by_key(|name| {
        let v = catalog
            .bundle(name)
            .and_then(|b| b.version.as_deref())
            .and_then(version);
        (v.map(|v| key(&v)), name.clone())
    });
    if all.is_empty() {
        return Err(select_error(format!(
            "package {package}: the selection chooses no bundle"
        )));
    }
    for name in &all {
        if catalog.bundle(name).is_none() {
            return Err(select_error(format!(
                "package {package}: channel entry {name} names no olm.bundle in the catalog"
            )));
        }
    }
    out.bundles = all;
    Ok(out)
}

/// The one entry of `channel` no other entry names in `replaces` or `skips`.
pub fn head(channel: &Channel) -> Result<String, CatalogError> {
    let heads = heads(channel);
    match heads.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(select_error(format!(
            "package {} channel {}: no channel head (every entry is replaced or skipped)",
            channel.package, channel.name
        ))),
        many => Err(select_error(format!(
            "multiple channel heads found in graph: {}",
            many.join(", ")
        ))),
    }
}

/// Every entry of `channel` no other entry names in `replaces` or `skips`, sorted.
pub fn heads(channel: &Channel) -> Vec<String> {
    let named: BTreeSet<&str> = channel
        .entries
        .iter()
        .flat_map(|e| e.replaces.iter().chain(&e.skips))
        .map(String::as_str)
        .collect();
    let mut heads: Vec<String> = channel
        .entries
        .iter()
        .map(|e| e.name.clone())
        .filter(|n| !named.contains(n.as_str()))
        .collect();
    heads.sort();
    heads.dedup();
    heads
}

fn in_range(
    catalog: &Catalog,
    channel: &Channel,
    min: Option<&semver::Version>,
    max: Option<&semver::Version>,
) -> Result<Vec<String>, CatalogError> {
    let mut out = Vec::new();
    for e in &channel.entries {
        let v = catalog
            .bundle(&e.name)
            .and_then(|b| b.version.as_deref())
            .and_then(version)
            .ok_or_else(|| {
                select_error(format!(
                    "package {} channel {}: bundle {} has no semver olm.package version to compare",
                    channel.package, channel.name, e.name
                ))
            })?;
        let above = min.is_none_or(|m| key(&v) >= key(m));
        let below = max.is_none_or(|m| key(&v) <= key(m));
        if above && below {
            out.push(e.name.clone());
        }
    }
    Ok(out)
}

/// Every image the selected bundles need, deduplicated by reference (the first reason kept).
pub fn images(catalog: &Catalog, selected: &Selected) -> Vec<Needed> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for name in &selected.bundles {
        let Some(bundle) = catalog.bundle(name) else {
            continue;
        };
        for n in bundle_images(bundle) {
            if seen.insert(n.image.clone()) {
                out.push(n);
            }
        }
    }
    out.sort();
    out
}

/// A bundle's images: its own, its `relatedImages`, and those of the CSV it carries as an
/// `olm.bundle.object` (its `spec.relatedImages`, its deployments' containers and the env
/// values that are full references).
pub fn bundle_images(bundle: &Bundle) -> Vec<Needed> {
    let need = |image: &str, why: String| Needed {
        image: image.to_string(),
        bundle: bundle.name.clone(),
        why,
    };
    let mut out = Vec::new();
    if !bundle.image.is_empty() {
        out.push(need(&bundle.image, "bundle image".into()));
    }
    for r in bundle
        .raw
        .get("relatedImages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(image) = r
            .get("image")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
        {
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            out.push(need(
                image,
                format!("relatedImages {name}").trim_end().to_string(),
            ));
        }
    }
    for csv in csvs(bundle) {
        csv_images(&csv, &mut |image, why| out.push(need(image, why)));
    }
    out
}

/// The CSVs a bundle carries as `olm.bundle.object` properties (base64 JSON).
fn csvs(bundle: &Bundle) -> Vec<Value> {
    bundle
        .raw
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("olm.bundle.object"))
        .filter_map(|p| p.get("value")?.get("data")?.as_str())
        .filter_map(|data| base64::engine::general_purpose::STANDARD.decode(data).ok())
        .filter_map(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("ClusterServiceVersion"))
        .collect()
}

fn csv_images(csv: &Value, found: &mut dyn FnMut(&str, String)) {
    let spec = &csv["spec"];
    for r in spec["relatedImages"].as_array().into_iter().flatten() {
        if let Some(image) = r["image"].as_str() {
            found(image, "CSV relatedImages".into());
        }
    }
    for d in spec["install"]["spec"]["deployments"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let deployment = d["name"].as_str().unwrap_or("?");
        let pod = &d["spec"]["template"]["spec"];
        let containers = pod["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(pod["containers"].as_array().into_iter().flatten());
        for c in containers {
            let container = c["name"].as_str().unwrap_or("?");
            if let Some(image) = c["image"].as_str() {
                found(
                    image,
                    format!("CSV deployment {deployment} container {container}"),
                );
            }
            for e in c["env"].as_array().into_iter().flatten() {
                if let Some(value) = e["value"].as_str().filter(|v| is_full_reference(v)) {
                    let var = e["name"].as_str().unwrap_or("?");
                    found(value, format!("CSV deployment {deployment} env {var}"));
                }
            }
        }
    }
}

/// A full image reference: a registry host, and a tag or digest.
fn is_full_reference(text: &str) -> bool {
    let Ok(r) = ferry_core::reference::Reference::parse(text.trim()) else {
        return false;
    };
    let host = text.split('/').next().unwrap_or("");
    text.contains('/')
        && (host.contains('.') || host.contains(':') || host == "localhost")
        && r.is_pinned_or_tagged()
}
