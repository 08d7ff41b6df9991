//! OLM file-based catalogs (FBC): a directory tree (or one file) of `olm.package`,
//! `olm.channel`, `olm.bundle` and `olm.deprecations` objects, YAML documents or JSON objects
//! one after another. Read whole ([`Catalog::read`]), selected from ([`select`]) and reduced
//! to a selection ([`filter`]), as `opm` and oc-mirror read them.

pub mod filter;
pub mod select;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{0}")]
    Select(String),
}

impl CatalogError {
    pub fn category(&self) -> ferry_core::error::Category {
        ferry_core::error::Category::InvalidInput
    }
}

/// One upgrade edge set of a channel entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skips: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_range: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub package: String,
    pub name: String,
    pub entries: Vec<Entry>,
    /// The object as written, for the filtered catalog.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub package: String,
    pub name: String,
    /// The bundle image.
    pub image: String,
    /// The `olm.package` property's version.
    pub version: Option<String>,
    pub raw: Value,
}

/// A whole catalog, every object in file order (files in path order).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Where it was read from (for messages).
    pub root: PathBuf,
    /// `olm.package` objects by name.
    pub packages: BTreeMap<String, Value>,
    pub channels: Vec<Channel>,
    pub bundles: Vec<Bundle>,
    /// `olm.deprecations` and objects of other schemas, kept as written.
    pub others: Vec<Value>,
}

/// The schemas of an FBC: a file holding one is a catalog's.
const SCHEMAS: [&str; 3] = ["olm.package", "olm.channel", "olm.bundle"];

/// Whether `path` (a file, or any file in a directory) holds FBC objects.
pub fn is_catalog(path: &Path) -> bool {
    files(path).iter().take(64).any(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| {
            SCHEMAS.iter().any(|s| {
                t.contains(&format!("schema: {s}"))
                    || t.contains(&format!("\"schema\":\"{s}\""))
                    || t.contains(&format!("\"schema\": \"{s}\""))
            })
        })
    })
}

/// The catalog's files, sorted: `*.json`, `*.yaml`, `*.yml` (as `opm` walks them).
fn files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(path)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "json" || e == "yaml" || e == "yml")
        })
        .collect();
    out.sort();
    out
}

/// The objects of one file: YAML documents, or JSON objects one after another.
fn objects(path: &Path) -> Result<Vec<Value>, CatalogError> {
    let fail = |message: String| CatalogError::Read {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    if path.extension().is_some_and(|e| e == "json") {
        return serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()));
    }
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).map_err(|e| {
        let message = e.to_string();
        fail(
            message
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string(),
        )
    })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Catalog {
    /// Reads every object under `path`; an object without a `schema`, or a package, channel
    /// or bundle without its required fields, is an error naming the file.
    pub fn read(path: &Path) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog {
            root: path.to_path_buf(),
            ..Catalog::default()
        };
        for file in files(path) {
            let fail = |message: String| CatalogError::Read {
                path: file.display().to_string(),
                message,
            };
            for (i, object) in objects(&file)?.into_iter().enumerate() {
                let schema = text_of(&object, "schema")
                    .ok_or_else(|| fail(format!("object {} has no schema", i + 1)))?;
                let need = |key: &str| {
                    text_of(&object, key)
                        .ok_or_else(|| fail(format!("{schema} object {} has no {key}", i + 1)))
                };
                match schema.as_str() {
                    "olm.package" => {
                        catalog.packages.insert(need("name")?, object);
                    }
                    "olm.channel" => {
                        let entries: Vec<Entry> = serde_json::from_value(
                            object.get("entries").cloned().unwrap_or(Value::Null),
                        )
                        .map_err(|e| {
                            fail(format!(
                                "channel {}: entries: {e}",
                                need("name").unwrap_or_default()
                            ))
                        })?;
                        catalog.channels.push(Channel {
                            package: need("package")?,
                            name: need("name")?,
                            entries,
                            raw: object,
                        });
                    }
                    "olm.bundle" => {
                        let version = object
                            .get("properties")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .find(|p| p.get("type").and_then(Value::as_str) == Some("olm.package"))
                            .and_then(|p| p.get("value"))
                            .and_then(|v| text_of(v, "version"));
                        catalog.bundles.push(Bundle {
                            package: need("package")?,
                            name: need("name")?,
                            image: text_of(&object, "image").unwrap_or_default(),
                            version,
                            raw: object,
                        });
                    }
                    _ => catalog.others.push(object),
                }
            }
        }
        if catalog.packages.is_empty() && catalog.bundles.is_empty() {
            return Err(CatalogError::Read {
                path: path.display().to_string(),
                message: "no olm.package or olm.bundle objects: not a file-based catalog".into(),
            });
        }
        Ok(catalog)
    }

    pub fn bundle(&self, name: &str) -> Option<&Bundle> {
        self.bundles.iter().find(|b| b.name == name)
    }

    pub fn channels_of<'a>(&'a self, package: &'a str) -> impl Iterator<Item = &'a Channel> {
        self.channels.iter().filter(move |c| c.package == package)
    }
}
