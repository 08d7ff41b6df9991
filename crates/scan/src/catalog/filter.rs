//! A catalog reduced to a selection: the package (its default channel one that is kept),
//! each selected channel with only the selected entries and no edge to a bundle left out,
//! the selected bundles, the deprecations that still name something. A channel left with
//! more than one head is joined: its highest version skips the others (said in a note), so
//! every channel has the one head `opm validate` asks for. Written as `opm render` writes
//! JSON: one object after another, in a fixed order, the same selection giving the same bytes.

use std::collections::BTreeSet;

use serde_json::Value;

use super::select::{Selected, heads, version};
use super::{Catalog, Channel, Entry};

/// The filtered catalog's objects, and what was changed beyond leaving things out.
#[derive(Debug, Clone, Default)]
pub struct Filtered {
    pub objects: Vec<Value>,
    pub notes: Vec<String>,
}

impl Filtered {
    /// The objects as a JSON stream (`catalog.json`).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for o in &self.objects {
            if let Ok(mut line) = serde_json::to_vec_pretty(o) {
                out.append(&mut line);
                out.push(b'\n');
            }
        }
        out
    }
}

pub fn filter(catalog: &Catalog, selected: &Selected) -> Filtered {
    let mut out = Filtered::default();
    let kept: BTreeSet<&str> = selected.bundles.iter().map(String::as_str).collect();
    let channels: Vec<(Channel, Vec<Entry>)> = catalog
        .channels_of(&selected.package)
        .filter_map(|c| {
            let picked = selected.channels.get(&c.name)?;
            Some((
                c.clone(),
                entries(c, picked, &kept, catalog, &mut out.notes),
            ))
        })
        .collect();
    if let Some(package) = catalog.packages.get(&selected.package) {
        let mut package = package.clone();
        let default = package
            .get("defaultChannel")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(first) = channels.first().map(|(c, _)| c.name.clone())
            && default
                .as_deref()
                .is_none_or(|d| !selected.channels.contains_key(d))
        {
            out.notes.push(format!(
                "package {}: default channel {} is not selected; the filtered catalog's default is {first}",
                selected.package,
                default.as_deref().unwrap_or("(none)")
            ));
            package["defaultChannel"] = Value::String(first);
        }
        out.objects.push(package);
    }
    for (channel, entries) in channels {
        let mut raw = channel.raw.clone();
        raw["entries"] = serde_json::to_value(entries).unwrap_or(Value::Null);
        out.objects.push(raw);
    }
    for b in catalog
        .bundles
        .iter()
        .filter(|b| kept.contains(b.name.as_str()))
    {
        out.objects.push(b.raw.clone());
    }
    for o in &catalog.others {
        if let Some(d) = deprecations(o, &selected.package, &selected.channels, &kept) {
            out.objects.push(d);
        }
    }
    out
}

/// A channel's selected entries, edges to bundles left out removed, several heads joined.
fn entries(
    channel: &Channel,
    picked: &BTreeSet<String>,
    kept: &BTreeSet<&str>,
    catalog: &Catalog,
    notes: &mut Vec<String>,
) -> Vec<Entry> {
    let mut entries: Vec<Entry> = channel
        .entries
        .iter()
        .filter(|e| picked.contains(&e.name))
        .map(|e| bridged(channel, e, kept, catalog, notes))
        .collect();
    let joined = Channel {
        entries: entries.clone(),
        ..channel.clone()
    };
    let heads = heads(&joined);
    if heads.len() > 1 {
        let by_version = |n: &String| {
            let v = catalog
                .bundle(n)
                .and_then(|b| b.version.as_deref())
                .and_then(version);
            (v, n.clone())
        };
        let top = heads
            .iter()
            .max_by_key(|n| by_version(n))
            .cloned()
            .unwrap_or_default();
        let others: Vec<String> = heads.iter().filter(|h| **h != top).cloned().collect();
        notes.push(format!(
            "channel {}: {} entries nothing replaces ({}); the filtered catalog makes {top} skip the others, so it is the one head",
            channel.name,
            heads.len(),
            heads.join(", ")
        ));
        if let Some(e) = entries.iter_mut().find(|e| e.name == top) {
            e.skips.extend(others);
        }
    }
    entries
}

/// An entry with its edges to bundles left out removed; where they named bundles of the
/// catalog, a `skipRange` from the lowest of their versions to the entry's own takes their
/// place, so a site running one of them still upgrades to it (OLM honours `skipRange` for
/// an installed version).
fn bridged(
    channel: &Channel,
    e: &Entry,
    kept: &BTreeSet<&str>,
    catalog: &Catalog,
    notes: &mut Vec<String>,
) -> Entry {
    let version_of = |n: &str| {
        catalog
            .bundle(n)
            .and_then(|b| b.version.as_deref())
            .and_then(version)
    };
    let dropped: Vec<&String> = e
        .replaces
        .iter()
        .chain(&e.skips)
        .filter(|n| !kept.contains(n.as_str()))
        .collect();
    let mut out = Entry {
        name: e.name.clone(),
        replaces: e.replaces.clone().filter(|r| kept.contains(r.as_str())),
        skips: e
            .skips
            .iter()
            .filter(|s| kept.contains(s.as_str()))
            .cloned()
            .collect(),
        skip_range: e.skip_range.clone(),
    };
    let lowest = dropped.iter().filter_map(|n| version_of(n)).min();
    if let (Some(low), Some(own)) = (lowest, version_of(&e.name))
        && low < own
    {
        let range = format!(">={low} <{own}");
        out.skip_range = Some(match &e.skip_range {
            Some(r) => format!("{r} || {range}"),
            None => range.clone(),
        });
        notes.push(format!(
            "channel {}: {} upgraded from {}, left out; the filtered catalog gives it skipRange '{range}' instead, so a site running those versions upgrades to it",
            channel.name,
            e.name,
            dropped.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

/// An `olm.deprecations` object of `package`, reduced to what the selection keeps; other
/// objects of the package's (none) are dropped; objects of other packages too.
fn deprecations(
    o: &Value,
    package: &str,
    channels: &std::collections::BTreeMap<String, BTreeSet<String>>,
    kept: &BTreeSet<&str>,
) -> Option<Value> {
    if o.get("schema").and_then(Value::as_str) != Some("olm.deprecations")
        || o.get("package").and_then(Value::as_str) != Some(package)
    {
        return None;
    }
    let mut d = o.clone();
    let entries: Vec<Value> = o
        .get("entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            let r = &e["reference"];
            let name = r["name"].as_str().unwrap_or("");
            match r["schema"].as_str() {
                Some("olm.bundle") => kept.contains(name),
                Some("olm.channel") => channels.contains_key(name),
                _ => true,
            }
        })
        .cloned()
        .collect();
    if entries.is_empty() {
        return None;
    }
    d["entries"] = Value::Array(entries);
    Some(d)
}

/// What makes a filtered catalog invalid: an entry or edge naming a bundle it lacks, a
/// channel without exactly one head.
pub fn check(objects: &[Value]) -> Vec<String> {
    let bundles: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["schema"] == "olm.bundle")
        .filter_map(|o| o["name"].as_str())
        .collect();
    let mut problems = Vec::new();
    for o in objects.iter().filter(|o| o["schema"] == "olm.channel") {
        let name = o["name"].as_str().unwrap_or("?");
        let Ok(entries) = serde_json::from_value::<Vec<Entry>>(o["entries"].clone()) else {
            problems.push(format!("channel {name}: entries do not read"));
            continue;
        };
        for e in &entries {
            for n in std::iter::once(&e.name).chain(&e.replaces).chain(&e.skips) {
                if !bundles.contains(n.as_str()) {
                    problems.push(format!(
                        "channel {name}: {} names {n}, which the catalog lacks",
                        e.name
                    ));
                }
            }
        }
        let channel = Channel {
            package: String::new(),
            name: name.to_string(),
            entries,
            raw: Value::Null,
        };
        let heads = heads(&channel);
        if heads.len() != 1 {
            problems.push(format!(
                "channel {name}: {} heads ({})",
                heads.len(),
                heads.join(", ")
            ));
        }
    }
    problems
}
