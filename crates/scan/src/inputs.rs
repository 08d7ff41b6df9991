//! The one reader of inputs. Expands PATH arguments (files as given, directories walked in
//! name order for `*.yaml`, `*.yml`, `*.json`, `-` for stdin), tells a bundle from manifest
//! files, names files under an output root (`rewrite --out`, a bundle's `manifests/`), reads
//! their text, and reads `--images` lists.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use ferry_core::reference::{Reference, ReferenceError};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{file}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: not UTF-8 text (byte 0x{byte:02x} at offset {offset})")]
    NotUtf8 {
        file: String,
        line: usize,
        column: usize,
        offset: usize,
        byte: u8,
    },
    #[error("{what} needs files: stdin (-) is not supported")]
    Stdin { what: &'static str },
    #[error("{first} and {second} would both be {name}")]
    Clash {
        first: String,
        second: String,
        name: String,
    },
    #[error("{file}:{line}")]
    BadImage {
        file: String,
        line: usize,
        #[source]
        source: ReferenceError,
    },
}

impl InputError {
    /// What kind of failure this is: the user's input, unless the disk is full.
    pub fn category(&self) -> ferry_core::error::Category {
        use ferry_core::error::{Category, io_category};
        match self {
            InputError::Read { source, .. } => io_category(source, Category::InvalidInput),
            _ => Category::InvalidInput,
        }
    }

    /// The error of an I/O operation on `path`, named as findings name files.
    pub fn read(path: &Path) -> impl FnOnce(std::io::Error) -> InputError + '_ {
        move |source| InputError::Read {
            file: display(path),
            source,
        }
    }
}

fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// How a path is shown in findings and messages: `<stdin>` for `-`.
pub fn display(path: &Path) -> String {
    if is_stdin(path) {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Expands inputs into files: files as given, directories walked (sorted) for `*.yaml`,
/// `*.yml`, `*.json`, skipping hidden entries; `-` stays as stdin. Links are followed, as
/// kubectl follows them.
pub fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    Ok(expand_noting(inputs)?.0)
}

/// [`expand`], with a note for everything a walk passed over: a directory link that leads
/// back into the walk (followed once, not forever), a link to nothing.
pub fn expand_noting(inputs: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<String>), InputError> {
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for input in inputs {
        if is_stdin(input) || !input.is_dir() {
            files.push(input.clone());
            continue;
        }
        let walker = walkdir::WalkDir::new(input)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) if e.loop_ancestor().is_some() => {
                    notes.push(format!(
                        "{}: a link back to {}: not walked again",
                        e.path().map(display).unwrap_or_default(),
                        e.loop_ancestor().map(display).unwrap_or_default()
                    ));
                    continue;
                }
                Err(e)
                    if e.io_error()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
                        && e.path().is_some_and(|p| p.is_symlink()) =>
                {
                    notes.push(format!(
                        "{}: a link to nothing: skipped",
                        e.path().map(display).unwrap_or_default()
                    ));
                    continue;
                }
                Err(e) => {
                    return Err(InputError::Read {
                        file: e.path().map_or_else(
                            || input.display().to_string(),
                            |p| p.display().to_string(),
                        ),
                        source: e
                            .into_io_error()
                            .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
                    });
                }
            };
            if entry.file_type().is_file() && is_manifest_name(entry.path()) {
                files.push(entry.into_path());
            }
        }
    }
    Ok((files, notes))
}

fn is_manifest_name(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// A Helm values file (`values.yaml`, `values-prod.yaml`, `prod-values.yml`,
/// `ci.values.yaml`): scanned for images, carried in a bundle, never applied.
pub fn is_values_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(stem) = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".yml"))
    else {
        return false;
    };
    stem == "values"
        || stem.starts_with("values-")
        || stem.ends_with("-values")
        || stem.ends_with(".values")
}

/// Reads a file's text (`-`: stdin).
pub fn read_text(path: &Path) -> Result<String, InputError> {
    let mut bytes = Vec::new();
    if is_stdin(path) {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(InputError::read(path))?;
    } else {
        bytes = std::fs::read(path).map_err(InputError::read(path))?;
    }
    utf8(&display(path), bytes)
}

/// `bytes` as text, or where they stop being UTF-8 (line, column and byte offset).
pub fn utf8(file: &str, bytes: Vec<u8>) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = &bytes[..offset];
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        InputError::NotUtf8 {
            file: file.to_string(),
            line: before.iter().filter(|b| **b == b'\n').count() + 1,
            column: String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count()
                + 1,
            offset,
            byte: bytes[offset],
        }
    })
}

/// True for a regular file that starts like a tar, a gzip or a zstd stream: a bundle (or
/// any OCI-layout archive), not a manifest.
pub fn is_archive(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 262];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let head = &head[..n];
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || head.get(257..262) == Some(b"ustar")
}

/// A file and the name it gets under an output root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub path: PathBuf,
    pub name: PathBuf,
}

/// How files are named under an output root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Every input under its own name: a file by its name, a directory's files as
    /// `DIRNAME/relative/path` (a bundle's `manifests/`).
    Prefixed,
    /// As `Prefixed`, except that a single directory's files keep their path inside it
    /// (`rewrite DIR --out OUT` mirrors DIR in OUT).
    Mirrored,
}

/// Names every file of the inputs; two files claiming one name are an error, before
/// anything is written. `what` names the command in the stdin error.
pub fn named(
    inputs: &[PathBuf],
    naming: Naming,
    what: &'static str,
) -> Result<Vec<Named>, InputError> {
    named_as(inputs, &BTreeMap::new(), naming, what)
}

/// As [`named`], an input `given` a name taking it in place of its own last component (a
/// directory's files go under it; a file goes under it as `NAME/FILE`).
pub fn named_as(
    inputs: &[PathBuf],
    given: &BTreeMap<PathBuf, String>,
    naming: Naming,
    what: &'static str,
) -> Result<Vec<Named>, InputError> {
    let single_dir = naming == Naming::Mirrored && inputs.len() == 1 && inputs[0].is_dir();
    let mut seen: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for input in inputs {
        if is_stdin(input) {
            return Err(InputError::Stdin { what });
        }
        let own = input
            .canonicalize()
            .map_err(InputError::read(input))?
            .file_name()
            .map_or_else(|| PathBuf::from("root"), PathBuf::from);
        let base = match given.get(input) {
            Some(name) if input.is_dir() => PathBuf::from(name),
            Some(name) => PathBuf::from(name).join(&own),
            None => own,
        };
        for f in expand(std::slice::from_ref(input))? {
            let inner = f.strip_prefix(input).unwrap_or(&f).to_path_buf();
            let name = match (input.is_dir(), single_dir) {
                (true, true) => inner,
                (true, false) => base.join(inner),
                (false, _) => base.clone(),
            };
            if let Some(prev) = seen.get(&name) {
                return Err(InputError::Clash {
                    first: prev.display().to_string(),
                    second: f.display().to_string(),
                    name: name.display().to_string(),
                });
            }
            seen.insert(name, f);
        }
    }
    Ok(seen
        .into_iter()
        .map(|(name, path)| Named { path, name })
        .collect())
}

/// References from an `--images` list (`-`: stdin): one per line, `#` comments and blank
/// lines ignored.
pub fn read_image_list(path: &Path) -> Result<Vec<Reference>, InputError> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        out.push(
            Reference::parse(line).map_err(|source| InputError::BadImage {
                file: display(path),
                line: i + 1,
                source,
            })?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_utf8_is_named_by_line_column_and_offset() {
        let err = utf8("a.yaml", b"kind: A\nname: caf\xc3\xa9 \xff\n".to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.yaml:2:12: not UTF-8 text (byte 0xff at offset 20)"
        );
        assert_eq!(utf8("b", b"ok".to_vec()).unwrap(), "ok");
    }

    /// A small tree of its own for each test (tests run in parallel).
    fn tree(test: &str) -> ferry_core::scratch::ScratchDir {
        let dir = ferry_core::scratch::ScratchDir::for_test(&format!("inputs-{test}"));
        for f in [
            "a/x.yaml",
            "a/sub/y.yml",
            "a/.hidden/z.yaml",
            "a/notes.txt",
            "b.json",
        ] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "kind: X\n").unwrap();
        }
        dir
    }

    #[test]
    fn names_mirror_one_directory_and_prefix_several() {
        let dir = tree("names");
        let names = |inputs: &[PathBuf], naming| -> Vec<String> {
            named(inputs, naming, "test")
                .unwrap()
                .into_iter()
                .map(|n| n.name.display().to_string())
                .collect()
        };
        let a = dir.join("a");
        assert_eq!(
            names(std::slice::from_ref(&a), Naming::Mirrored),
            ["sub/y.yml", "x.yaml"]
        );
        assert_eq!(
            names(std::slice::from_ref(&a), Naming::Prefixed),
            ["a/sub/y.yml", "a/x.yaml"]
        );
        assert_eq!(
            names(&[a.clone(), dir.join("b.json")], Naming::Mirrored),
            ["a/sub/y.yml", "a/x.yaml", "b.json"]
        );
        let clash = named(&[a.clone(), a], Naming::Prefixed, "test").unwrap_err();
        assert!(matches!(clash, InputError::Clash { .. }), "{clash}");
        assert!(matches!(
            named(&[PathBuf::from("-")], Naming::Prefixed, "bundle"),
            Err(InputError::Stdin { what: "bundle" })
        ));
    }

    #[test]
    fn image_lists_name_the_bad_line() {
        let dir = tree("lists");
        let list = dir.join("images.txt");
        std::fs::write(&list, "# c\nnginx:1.25 # web\n\nNOT A REF\n").unwrap();
        match read_image_list(&list) {
            Err(InputError::BadImage { line, .. }) => assert_eq!(line, 4),
            other => panic!("{other:?}"),
        }
        std::fs::write(&list, "# c\nnginx:1.25 # web\n\nquay.io/a/b@sha256:4bc453b53cb3d914b45f4b250294236adba2c0e09ff6f03793949e7e39fd4cc1\n").unwrap();
        assert_eq!(read_image_list(&list).unwrap().len(), 2);
    }

    #[test]
    fn archives_are_told_from_manifests() {
        let dir = tree("archives");
        assert!(!is_archive(&dir.join("b.json")));
        let gz = dir.join("x.tar.gz");
        std::fs::write(&gz, [0x1f, 0x8b, 8, 0]).unwrap();
        assert!(is_archive(&gz));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        let t = dir.join("x.tar");
        std::fs::write(&t, tar).unwrap();
        assert!(is_archive(&t));
    }
}
