//! A packaged chart as Helm's release records hold it (`release.chart`): its Chart.yaml as
//! `metadata`, its templates and other files by name with their bytes in base64, its
//! values.yaml as `values`, its schema and lock. Subcharts are not part of it (Helm keeps
//! them out of the record too).

use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::BundleError;

/// Helm's zero time, for the modification times a package does not carry.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// A chart's files are small; a package that unpacks to more is refused.
const LIMIT: u64 = 64 << 20;

fn yaml_json(name: &str, bytes: &[u8]) -> Result<Value, BundleError> {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_saphyr::from_str::<Value>(&text)
        .map_err(|e| BundleError::Invalid(format!("chart {name}: {e}")))
}

/// `release.chart` for the package's bytes (a `.tgz` whose entries sit under one top
/// directory, `NAME/`).
pub fn chart_json(package: &[u8]) -> Result<Value, BundleError> {
    let gz = flate2::read::GzDecoder::new(package).take(LIMIT);
    let mut archive = tar::Archive::new(gz);
    let mut metadata = Value::Null;
    let mut values = Value::Null;
    let mut lock = Value::Null;
    let mut schema = Value::Null;
    let mut templates = Vec::new();
    let mut files = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| BundleError::Invalid(format!("chart package: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| BundleError::Invalid(format!("chart package: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| BundleError::Invalid(format!("chart package: {e}")))?
            .to_string_lossy()
            .into_owned();
        // NAME/rest; a subchart's files (NAME/charts/...) are its own chart's.
        let Some((_, rest)) = path.split_once('/') else {
            continue;
        };
        if rest.starts_with("charts/") {
            continue;
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| BundleError::Invalid(format!("chart package: {path}: {e}")))?;
        match rest {
            "Chart.yaml" => metadata = yaml_json(rest, &bytes)?,
            "values.yaml" => values = yaml_json(rest, &bytes)?,
            "Chart.lock" => lock = yaml_json(rest, &bytes)?,
            "values.schema.json" => schema = json!(BASE64.encode(&bytes)),
            r if r.starts_with("templates/") => templates.push(json!({
                "name": r, "data": BASE64.encode(&bytes), "modtime": ZERO_TIME,
            })),
            r => {
                files.push(json!({"name": r, "data": BASE64.encode(&bytes), "modtime": ZERO_TIME}))
            }
        }
    }
    if metadata.is_null() {
        return Err(BundleError::Invalid(
            "chart package: no Chart.yaml at its top".into(),
        ));
    }
    Ok(json!({
        "metadata": metadata,
        "lock": lock,
        "templates": templates,
        "values": values,
        "schema": schema,
        "schemamodtime": ZERO_TIME,
        "files": if files.is_empty() { Value::Null } else { Value::Array(files) },
        "modtime": ZERO_TIME,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(files: &[(&str, &str)]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, text) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, text.as_bytes()).unwrap();
        }
        let raw = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn a_package_reads_as_helm_records_it() {
        let p = package(&[
            (
                "demo/Chart.yaml",
                "apiVersion: v2\nname: demo\nversion: 0.3.0\nappVersion: \"1.0\"\n",
            ),
            ("demo/values.yaml", "image: {repository: a/b}\n"),
            ("demo/templates/d.yaml", "kind: Deployment\n"),
            ("demo/README.md", "hi\n"),
            ("demo/charts/sub/Chart.yaml", "name: sub\n"),
        ]);
        let c = chart_json(&p).unwrap();
        assert_eq!(c["metadata"]["name"], "demo");
        assert_eq!(c["metadata"]["appVersion"], "1.0");
        assert_eq!(c["values"]["image"]["repository"], "a/b");
        assert_eq!(c["templates"][0]["name"], "templates/d.yaml");
        assert_eq!(
            c["templates"][0]["data"],
            BASE64.encode("kind: Deployment\n")
        );
        assert_eq!(c["files"][0]["name"], "README.md");
        assert_eq!(
            c["files"].as_array().unwrap().len(),
            1,
            "a subchart's file counted"
        );
        assert!(chart_json(&package(&[("x/values.yaml", "a: 1\n")])).is_err());
    }
}
