//! A bundle is untrusted input at the customer's site: whatever `ferry.json` says that reaches
//! a process (Helm's arguments) or the filesystem (a file name) must have the shape of what
//! it claims to be, and every file the bundle holds must be one `ferry.json` lists, so that
//! nothing is applied or read that `inspect` did not show. These checks only read the
//! listing: `verify` runs them with the hashing, and `push`, `rewrite` and `install` before
//! anything is done.

use std::collections::BTreeSet;

use super::{Meta, SIGNATURE_ENTRY};
use ferry_core::text::printable;

/// The top-level files of an OCI layout and of a ferry bundle.
const LAYOUT_FILES: [&str; 3] = ["oci-layout", "index.json", "ferry.json"];

/// Where a bundle's listed files live: applied (`manifests/`), carried (`sources/`), chart
/// values (`values/`).
const LISTED_DIRS: [&str; 3] = ["manifests/", "sources/", "values/"];

/// A Helm release name: a DNS-1123 subdomain of at most 53 characters (Helm's own rule).
pub fn release_name(name: &str) -> Result<(), &'static str> {
    const WHAT: &str = "not a Helm release name (lowercase letters, digits, '-' and '.', \
                        starting and ending with a letter or digit, at most 53 characters)";
    (name.len() <= 53 && is_dns_subdomain(name))
        .then_some(())
        .ok_or(WHAT)
}

/// A namespace: a DNS-1123 label.
pub fn namespace(name: &str) -> Result<(), &'static str> {
    const WHAT: &str = "not a namespace name (lowercase letters, digits and '-', starting and \
                        ending with a letter or digit, at most 63 characters)";
    is_dns_label(name).then_some(()).ok_or(WHAT)
}

/// A chart name as Helm accepts it (`[A-Za-z0-9._-]+`), and one path component.
pub fn chart_name(name: &str) -> Result<(), &'static str> {
    const WHAT: &str = "not a chart name (letters, digits, '.', '_' and '-'; one path component)";
    let shaped = !name.is_empty()
        && name.len() <= 250
        && name != "."
        && name != ".."
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    shaped.then_some(()).ok_or(WHAT)
}

/// A version (a chart's, `--kube-version`): SemVer's characters, starting with a digit or
/// `v`, one path component.
pub fn version(v: &str) -> Result<(), &'static str> {
    const WHAT: &str = "not a version (digits, letters, '.', '+', '_' and '-', starting with a \
                        digit or 'v')";
    let shaped = (1..=128).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_digit() || c == 'v')
        && !v.contains("..")
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+_-".contains(&b));
    shaped.then_some(()).ok_or(WHAT)
}

/// An `--api-versions` entry: `group/version` or `group/version/Kind`.
pub fn api_version(v: &str) -> Result<(), &'static str> {
    const WHAT: &str = "not an API version (GROUP/VERSION[/KIND])";
    let shaped = (1..=253).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"./-".contains(&b));
    shaped.then_some(()).ok_or(WHAT)
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Every field of `ferry.json` that reaches Helm or a file name, checked for its shape;
/// every path it names, checked to be a file it lists. Each problem names the field.
pub fn check_fields(meta: &Meta, problems: &mut Vec<String>) {
    let listed: BTreeSet<&str> = meta.manifests.iter().map(|m| m.path.as_str()).collect();
    let mut bad = |field: String, value: &str, why: &str| {
        problems.push(format!("ferry.json: {field} {}: {why}", quoted(value)));
    };
    for m in &meta.manifests {
        if !LISTED_DIRS.iter().any(|d| m.path.starts_with(d)) || !is_clean_path(&m.path) {
            bad(
                "manifests[].path".into(),
                &m.path,
                "not a relative path under manifests/, sources/ or values/",
            );
        }
    }
    if let Some(p) = &meta.product {
        // The default release name: it names Secrets and label values in the cluster.
        if p.name.len() > 53 || namespace(&p.name).is_err() {
            bad(
                "product.name".into(),
                &p.name,
                "not a release name (lower-case letters, digits and '-', at most 53 characters)",
            );
        }
        if let Some(v) = &p.version
            && let Err(why) = version(v)
        {
            bad("product.version".into(), v, why);
        }
    }
    check_delta(meta, &mut bad);
    for (i, c) in meta.catalogs.iter().enumerate() {
        // The name becomes a directory install writes into.
        if let Err(why) = chart_name(&c.name) {
            bad(format!("catalogs[{i}].name"), &c.name, why);
        }
        for image in c.image.iter().chain(&c.images) {
            if image.parse::<ferry_core::reference::Reference>().is_err() {
                bad(
                    format!("catalogs[{i}].images[]"),
                    image,
                    "not an image reference",
                );
            }
        }
    }
    for (i, c) in meta.charts.iter().enumerate() {
        let at = |field: &str| format!("charts[{i}].{field}");
        if let Err(why) = chart_name(&c.name) {
            bad(at("name"), &c.name, why);
        }
        if let Err(why) = version(&c.version) {
            bad(at("version"), &c.version, why);
        }
        if let Some(out) = &c.output
            && !(out.starts_with("manifests/") && listed.contains(out.as_str()))
        {
            bad(
                at("output"),
                out,
                "not a file under manifests/ that ferry.json lists",
            );
        }
        let r = &c.render;
        if let Err(why) = release_name(&r.release_name) {
            bad(at("render.release_name"), &r.release_name, why);
        }
        if let Some(ns) = &r.namespace
            && let Err(why) = namespace(ns)
        {
            bad(at("render.namespace"), ns, why);
        }
        for v in &r.values {
            if !(v.starts_with("values/") && listed.contains(v.as_str())) {
                bad(
                    at("render.values[]"),
                    v,
                    "not a file under values/ that ferry.json lists",
                );
            }
        }
        if let Some(v) = &r.kube_version
            && let Err(why) = version(v)
        {
            bad(at("render.kube_version"), v, why);
        }
        for v in &r.api_versions {
            if let Err(why) = api_version(v) {
                bad(at("render.api_versions[]"), v, why);
            }
        }
    }
}

/// A delta's expected blobs reach a registry as repository names (a mount's `from`): each
/// place must be a full image reference or a repository, and the list sorted by digest with
/// no digest twice (so a lookup cannot miss one).
fn check_delta(meta: &Meta, bad: &mut impl FnMut(String, &str, &str)) {
    use super::receipt::Place;
    let Some(delta) = &meta.delta else { return };
    for (i, h) in delta.expected.iter().enumerate() {
        let at = format!("delta.expected[{i}]");
        if i > 0 && delta.expected[i - 1].digest >= h.digest {
            bad(
                format!("{at}.digest"),
                h.digest.as_str(),
                "out of order or given twice",
            );
        }
        let (field, value) = match &h.at {
            Place::Image(v) => ("image", v),
            Place::Repository(v) => ("repository", v),
        };
        let shaped = match &h.at {
            Place::Image(v) => v.parse::<ferry_core::reference::Reference>().is_ok(),
            Place::Repository(v) => format!("{v}:t")
                .parse::<ferry_core::reference::Reference>()
                .is_ok_and(|r| r.to_string() == format!("{v}:t")),
        };
        if !shaped {
            bad(
                format!("{at}.{field}"),
                value,
                "not an image reference or repository",
            );
        }
    }
}

/// Every file of the archive is the layout's, a blob (checked by the graph walk), or listed
/// in `ferry.json`: a file nobody was shown is never applied or read.
pub fn check_listed<'a>(
    meta: &Meta,
    entries: impl Iterator<Item = &'a String>,
    problems: &mut Vec<String>,
) {
    let listed: BTreeSet<&str> = meta.manifests.iter().map(|m| m.path.as_str()).collect();
    for name in entries {
        let known = LAYOUT_FILES.contains(&name.as_str())
            || name == SIGNATURE_ENTRY
            || name.starts_with("blobs/")
            || listed.contains(name.as_str());
        if !known {
            problems.push(format!(
                "{}: not listed in ferry.json: a file nobody was shown (the bundle was changed \
                 after it was made)",
                printable(name)
            ));
        }
    }
}

/// A relative path of plain components: no root, no `.` or `..`, no empty part.
fn is_clean_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
}

fn quoted(value: &str) -> String {
    format!("\"{}\"", printable(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_are_dns_subdomains_of_53() {
        assert!(release_name("cert-manager").is_ok());
        assert!(release_name("a.b-c.d1").is_ok());
        assert!(release_name(&"a".repeat(53)).is_ok());
        for bad in [
            "",
            "--post-renderer=/bin/sh",
            "-x",
            "Upper",
            "a_b",
            "a..b",
            "a.",
            "x-",
            "../x",
            &"a".repeat(54),
        ] {
            assert!(release_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert!(namespace("cert-manager").is_ok());
        for bad in ["", "a.b", "--set-file=x", "A", &"a".repeat(64)] {
            assert!(namespace(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chart_names_and_versions_are_one_path_component() {
        assert!(chart_name("cert-manager").is_ok());
        assert!(chart_name("My_chart.v2").is_ok());
        for bad in ["", ".", "..", "../x", "/etc", "a/b", "-f", "a b"] {
            assert!(chart_name(bad).is_err(), "{bad:?}");
        }
        assert!(version("1.2.3").is_ok());
        assert!(version("v1.2.3-rc.1+build_5").is_ok());
        for bad in ["", "..", "../1", "1/2", "-1", ".1", "1..2", "x1"] {
            assert!(version(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn api_versions_cannot_start_a_flag() {
        assert!(api_version("monitoring.coreos.com/v1").is_ok());
        assert!(api_version("apps/v1/Deployment").is_ok());
        assert!(api_version("--output-dir=/tmp").is_err());
        assert!(api_version("a b").is_err());
    }

    /// Each field of ferry.json that reaches Helm or a file name is named when it is bad.
    #[test]
    fn every_field_that_reaches_helm_or_a_path_is_checked() {
        let meta: Meta = serde_json::from_value(serde_json::json!({
            "format": "ferry.bundle/v1", "ferry_version": "0", "created": "0", "images": [],
            "manifests": [
                {"path": "manifests/ok.yaml", "sha256": format!("sha256:{}", "0".repeat(64))},
                {"path": "manifests/../x", "sha256": format!("sha256:{}", "0".repeat(64))}
            ],
            "totals": {"images": 0, "blobs": 0, "blob_bytes": 0, "manifest_files": 2},
            "product": {"name": "Shop/../x", "version": "--set=a"},
            "charts": [{
                "name": "../c", "version": "1/2", "source": "localhost/charts/c:1",
                "digest": format!("sha256:{}", "1".repeat(64)),
                "package": format!("sha256:{}", "2".repeat(64)),
                "output": "/etc/passwd",
                "render": {
                    "release_name": "--post-renderer=/bin/sh", "namespace": "-n",
                    "values": ["values/c/missing.yaml"], "kube_version": "--debug",
                    "api_versions": ["--devel"], "set": ["--set-file=a=/etc/hostname"]
                }
            }]
        }))
        .unwrap();
        let mut problems = Vec::new();
        check_fields(&meta, &mut problems);
        for field in [
            "manifests[].path \"manifests/../x\"",
            "charts[0].name \"../c\"",
            "charts[0].version \"1/2\"",
            "charts[0].output \"/etc/passwd\"",
            "charts[0].render.release_name \"--post-renderer=/bin/sh\"",
            "charts[0].render.namespace \"-n\"",
            "charts[0].render.values[] \"values/c/missing.yaml\"",
            "charts[0].render.kube_version \"--debug\"",
            "charts[0].render.api_versions[] \"--devel\"",
            "product.name \"Shop/../x\"",
            "product.version \"--set=a\"",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(field)),
                "{field} not named in {problems:#?}"
            );
        }
        // --set values are data (passed as --set=VALUE), not refused.
        assert_eq!(problems.len(), 11, "{problems:#?}");
    }

    #[test]
    fn clean_paths_have_plain_components() {
        assert!(is_clean_path("manifests/a/b.yaml"));
        for bad in [
            "",
            "manifests//a",
            "manifests/../x",
            "/manifests/a",
            "manifests/./a",
        ] {
            assert!(!is_clean_path(bad), "{bad:?}");
        }
    }
}
