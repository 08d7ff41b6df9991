//! Kustomizations: which are roots (built on their own, not included by another), which
//! files each covers, and rendering one with the real kustomize.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use super::RenderError;

/// `--kustomize`: which program renders kustomizations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KustomizeChoice {
    /// `kustomize` on PATH, else `kubectl`.
    #[default]
    Auto,
    /// This program: `kustomize build DIR`, or `kubectl kustomize DIR` when it is kubectl.
    Program(PathBuf),
    /// None (`--kustomize none`): ferry's own images pass reads kustomizations.
    Off,
}

impl FromStr for KustomizeChoice {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "none" => KustomizeChoice::Off,
            "auto" => KustomizeChoice::Auto,
            program => KustomizeChoice::Program(program.into()),
        })
    }
}

impl KustomizeChoice {
    /// The engine this choice names; `Auto` without either program on PATH is none.
    pub fn engine(&self) -> Result<Option<Engine>, RenderError> {
        match self {
            KustomizeChoice::Off => Ok(None),
            KustomizeChoice::Program(p) => which::which(p)
                .map(|path| Some(Engine::for_program(path)))
                .map_err(|_| RenderError::NotFound(p.display().to_string())),
            KustomizeChoice::Auto => Ok(["kustomize", "kubectl"]
                .iter()
                .find_map(|name| which::which(name).ok())
                .map(Engine::for_program)),
        }
    }
}

/// A program that renders kustomizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    pub program: PathBuf,
    /// The subcommand before the directory: `build` (kustomize) or `kustomize` (kubectl).
    subcommand: &'static str,
    /// As the user would type it: `kustomize build`, `kubectl kustomize`.
    pub name: String,
}

impl Engine {
    fn for_program(program: PathBuf) -> Engine {
        let stem = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let subcommand = if stem.starts_with("kubectl") {
            "kustomize"
        } else {
            "build"
        };
        Engine {
            name: format!("{stem} {subcommand}"),
            program,
            subcommand,
        }
    }

    /// The objects `dir`'s kustomization builds, as the engine prints them.
    pub fn render(&self, dir: &Path) -> Result<String, RenderError> {
        let out = Command::new(&self.program)
            .arg(self.subcommand)
            .arg(dir)
            .output()
            .map_err(|source| RenderError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        if !out.status.success() {
            return Err(RenderError::Failed {
                input: dir.display().to_string(),
                engine: self.name.clone(),
                stderr: without_klog_headers(&String::from_utf8_lossy(&out.stderr)),
            });
        }
        String::from_utf8(out.stdout).map_err(|_| RenderError::NotUtf8 {
            input: dir.display().to_string(),
            engine: self.name.clone(),
        })
    }

    /// The kustomize version the engine carries (`v5.5.0`), for the record.
    pub fn version(&self) -> Option<String> {
        let args: &[&str] = if self.subcommand == "kustomize" {
            &["version", "--client"]
        } else {
            &["version"]
        };
        let out = Command::new(&self.program).args(args).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("Kustomize Version:"))
            .or_else(|| text.lines().next())?;
        Some(
            line.trim_start_matches("Kustomize Version:")
                .trim()
                .to_string(),
        )
    }
}

/// kubectl logs its errors through klog (`E1126 15:08:45.887252    4491 run.go:72] "command
/// failed" err="..."`): the header says nothing to the user.
fn without_klog_headers(stderr: &str) -> String {
    stderr
        .lines()
        .map(|line| {
            let is_header = line.len() > 5
                && line.starts_with(['E', 'W', 'I', 'F'])
                && line[1..5].bytes().all(|b| b.is_ascii_digit());
            match line.find("] ") {
                Some(end) if is_header => line[end + 2..].to_string(),
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

/// A kustomization that nothing among the inputs includes: built on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub dir: PathBuf,
    /// Its `kustomization.yaml` (or `.yml`, `Kustomization`).
    pub file: PathBuf,
    /// The input files its build reads: everything under its directory and under what it
    /// includes, but not other kustomizations' trees it does not include.
    pub covers: BTreeSet<PathBuf>,
}

impl Root {
    /// How findings in its output are labelled.
    pub fn label(&self) -> String {
        format!("{} (rendered)", self.dir.display())
    }
}

/// A kustomization's own file name, as kustomize looks for it.
pub fn is_kustomization_file(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
    )
}

#[derive(Debug, Default, serde::Deserialize)]
struct Includes {
    kind: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    bases: Vec<String>,
    #[serde(default)]
    components: Vec<String>,
}

struct Kustomization {
    file: PathBuf,
    component: bool,
    /// Local directories and files it includes, normalized.
    includes: Vec<PathBuf>,
}

/// The kustomization roots among `files`, each with the files it covers.
pub fn roots(files: &[PathBuf]) -> Vec<Root> {
    let normalized: Vec<PathBuf> = files.iter().map(|f| normalize(f)).collect();
    let mut kusts: BTreeMap<PathBuf, Kustomization> = BTreeMap::new();
    for (file, norm) in files.iter().zip(&normalized) {
        if !is_kustomization_file(file) {
            continue;
        }
        let dir = norm.parent().map(Path::to_path_buf).unwrap_or_default();
        // One that does not parse is still a root: kustomize will say what is wrong.
        let parsed: Includes = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| serde_saphyr::from_str(&t).ok())
            .unwrap_or_default();
        let includes = parsed
            .resources
            .iter()
            .chain(&parsed.bases)
            .chain(&parsed.components)
            .filter(|i| !is_remote(i))
            .map(|i| normalize(&dir.join(i)))
            .collect();
        kusts.insert(
            dir,
            Kustomization {
                file: file.clone(),
                component: parsed.kind.as_deref() == Some("Component"),
                includes,
            },
        );
    }
    // The kustomization directory a file belongs to: the deepest one above it.
    let home = |f: &Path| -> Option<PathBuf> {
        f.ancestors()
            .skip(1)
            .find(|a| kusts.contains_key(*a))
            .map(Path::to_path_buf)
    };
    let homes: Vec<Option<PathBuf>> = normalized.iter().map(|f| home(f)).collect();
    let covers = |dir: &PathBuf| -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut todo = vec![dir.clone()];
        let mut seen = BTreeSet::new();
        while let Some(d) = todo.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            out.extend((0..files.len()).filter(|&i| homes[i].as_ref() == Some(&d)));
            for inc in &kusts[&d].includes {
                if kusts.contains_key(inc) {
                    todo.push(inc.clone());
                } else {
                    out.extend(
                        (0..files.len())
                            .filter(|&i| normalized[i] == *inc || normalized[i].starts_with(inc)),
                    );
                }
            }
        }
        out
    };
    let all: BTreeMap<&PathBuf, BTreeSet<usize>> = kusts.keys().map(|d| (d, covers(d))).collect();
    let index_of = |file: &PathBuf| files.iter().position(|f| f == file);
    kusts
        .iter()
        .filter(|(dir, k)| {
            !k.component
                && !all.iter().any(|(other, set)| {
                    other != dir && index_of(&k.file).is_some_and(|i| set.contains(&i))
                })
        })
        .map(|(dir, k)| Root {
            dir: k
                .file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.clone()),
            file: k.file.clone(),
            covers: all[dir].iter().map(|&i| files[i].clone()).collect(),
        })
        .collect()
}

/// The directories kustomize reads to build `dir`: it, and every local kustomization it
/// includes (resources, bases, components), recursively, as found on disk.
pub fn reach(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut todo = vec![normalize(dir)];
    while let Some(d) = todo.pop() {
        if out.contains(&d) {
            continue;
        }
        let file = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .map(|n| d.join(n))
            .find(|f| f.is_file());
        if let Some(parsed) = file
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| serde_saphyr::from_str::<Includes>(&t).ok())
        {
            for include in parsed
                .resources
                .iter()
                .chain(&parsed.bases)
                .chain(&parsed.components)
            {
                let target = normalize(&d.join(include));
                if !is_remote(include) && target.is_dir() {
                    todo.push(target);
                }
            }
        }
        out.push(d);
    }
    out
}

/// A remote resource (`https://…`, `github.com/…`, `git@…`): nothing among the inputs.
pub fn is_remote(include: &str) -> bool {
    include.contains("://") || include.starts_with("github.com/") || include.starts_with("git@")
}

/// `a/b/../c` -> `a/c`, lexically (inputs may not exist on disk, as in a bundle).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> (ferry_core::scratch::ScratchDir, Vec<PathBuf>) {
        let dir = ferry_core::scratch::ScratchDir::for_test("kroots");
        let mut paths = Vec::new();
        for (name, text) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            paths.push(p);
        }
        (dir, paths)
    }

    #[test]
    fn an_overlay_is_the_root_and_covers_what_it_includes() {
        let (dir, files) = tree(&[
            (
                "config/default/kustomization.yaml",
                "resources: [../manager, ../rbac/role.yaml]\ncomponents: [../parts]\n",
            ),
            ("config/default/patch.yaml", "kind: Deployment\n"),
            (
                "config/manager/kustomization.yaml",
                "resources: [manager.yaml]\n",
            ),
            ("config/manager/manager.yaml", "kind: Deployment\n"),
            ("config/rbac/role.yaml", "kind: Role\n"),
            ("config/rbac/other.yaml", "kind: Role\n"),
            ("config/parts/kustomization.yaml", "kind: Component\n"),
            (
                "config/samples/kustomization.yaml",
                "resources: [cr.yaml]\n",
            ),
            ("config/samples/cr.yaml", "kind: Foo\n"),
            ("plain.yaml", "kind: ConfigMap\n"),
        ]);
        let roots = roots(&files);
        let names: Vec<_> = roots
            .iter()
            .map(|r| r.dir.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["config/default", "config/samples"]);
        let covered: Vec<_> = roots[0]
            .covers
            .iter()
            .map(|f| f.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(
            covered,
            [
                "config/default/kustomization.yaml",
                "config/default/patch.yaml",
                "config/manager/kustomization.yaml",
                "config/manager/manager.yaml",
                "config/parts/kustomization.yaml",
                "config/rbac/role.yaml",
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn klog_headers_are_dropped() {
        assert_eq!(
            without_klog_headers(
                "E1126 15:08:45.887252    4491 run.go:72] \"command failed\" err=\"x\"\nplain\n"
            ),
            "\"command failed\" err=\"x\"\nplain"
        );
    }

    #[test]
    fn engines_by_program_name() {
        let k = Engine::for_program("/usr/bin/kubectl".into());
        assert_eq!(
            (k.name.as_str(), k.subcommand),
            ("kubectl kustomize", "kustomize")
        );
        let k = Engine::for_program("/opt/kustomize".into());
        assert_eq!(k.name, "kustomize build");
    }
}
