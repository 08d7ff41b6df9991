//! A release spec (`ferry.yaml`) given as the one input of `bundle`, `scan` or `mirror`: its
//! inputs, names and per-chart options, images, exclusions, platforms, mirrors, signature
//! policy and part size, as the commands' options take them. Flags given beside it win (lists
//! add to the spec's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::options::usage;
use crate::exit::invalid;
use ferry_core::reference::Reference;
use ferry_scan::render::HelmOptions;
use ferry_workflow::spec::{ReleaseSpec, ResolvedInput, Signatures, is_spec};

pub(super) struct Spec {
    pub(super) file: PathBuf,
    pub(super) spec: ReleaseSpec,
    inputs: Vec<ResolvedInput>,
}

/// The spec among `paths`, if one is given; it must be the only one.
pub(super) fn given(paths: &[PathBuf]) -> Result<Option<Spec>> {
    let specs: Vec<&PathBuf> = paths.iter().filter(|p| is_spec(p)).collect();
    match specs.as_slice() {
        [] => Ok(None),
        [one] if paths.len() == 1 => {
            let spec = ReleaseSpec::read(one)?;
            let dir = one.parent().unwrap_or(Path::new(".")).to_path_buf();
            let inputs = spec.inputs(&dir);
            Ok(Some(Spec {
                file: one.to_path_buf(),
                spec,
                inputs,
            }))
        }
        _ => Err(usage(format!(
            "{} is a release spec: give it alone (its inputs name the files)",
            specs[0].display()
        ))),
    }
}

impl Spec {
    pub(super) fn paths(&self) -> Vec<PathBuf> {
        self.inputs.iter().map(|i| i.path.clone()).collect()
    }

    /// Each input's path by its name (the bundle's `manifests/NAME/`).
    pub(super) fn names(&self) -> BTreeMap<PathBuf, String> {
        self.inputs
            .iter()
            .map(|i| (i.path.clone(), i.name.clone()))
            .collect()
    }

    /// Each chart input's options: the spec's, on top of `flags` (the command's); values and
    /// sets given as flags come after the spec's (a later one wins, as in Helm), and `-n`,
    /// `--release-name` given as flags win.
    pub(super) fn per_input(&self, flags: &HelmOptions) -> BTreeMap<PathBuf, HelmOptions> {
        self.inputs
            .iter()
            .filter_map(|i| {
                let own = i.chart.as_ref()?;
                let chain = |a: &[String], b: &[String]| a.iter().chain(b).cloned().collect();
                let helm = HelmOptions {
                    values: own.values.iter().chain(&flags.values).cloned().collect(),
                    set: chain(&own.set, &flags.set),
                    set_string: chain(&own.set_string, &flags.set_string),
                    namespace: flags.namespace.clone().or(own.namespace.clone()),
                    release_name: flags.release_name.clone().or(own.release_name.clone()),
                    ..flags.clone()
                };
                Some((i.path.clone(), helm))
            })
            .collect()
    }

    /// The spec's images, each named by where the spec lists it.
    pub(super) fn listed(&self) -> Result<Vec<(Reference, String)>> {
        self.spec
            .images
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let at = format!("{} images[{i}]", self.file.display());
                let r = Reference::parse(text).map_err(|e| invalid(format!("{at}: {e}")))?;
                Ok((r, at))
            })
            .collect()
    }

    /// `--platform` as the spec says it, when it says one.
    pub(super) fn platform(&self) -> Option<String> {
        (!self.spec.platforms.is_empty()).then(|| self.spec.platforms.join(","))
    }

    /// The spec's mirrors as `HOST=REGISTRY[/PREFIX]`, then the flags' (which win).
    pub(super) fn mirrors(&self, flags: &[String]) -> Vec<String> {
        self.spec
            .source_mirrors
            .iter()
            .map(|(host, to)| format!("{host}={to}"))
            .chain(flags.iter().cloned())
            .collect()
    }

    /// (carry signatures, require them), flags winning.
    pub(super) fn signatures(&self, no_signatures: bool, require: bool) -> (bool, bool) {
        match (no_signatures, require, self.spec.signatures) {
            (true, _, _) => (false, false),
            (_, true, _) => (true, true),
            (_, _, Some(Signatures::Off)) => (false, false),
            (_, _, Some(Signatures::Require)) => (true, true),
            _ => (true, false),
        }
    }

    pub(super) fn split(&self) -> Result<Option<u64>> {
        self.spec
            .split
            .as_deref()
            .map(|s| {
                ferry_oci::bundle::parts::parse_size(s)
                    .map_err(|e| invalid(format!("{}: split: {e}", self.file.display())))
            })
            .transpose()
    }

    /// The spec's catalogs, each with its selections, paths made absolute.
    pub(super) fn catalogs(&self) -> Result<Vec<ferry_workflow::CatalogInput>> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        self.spec
            .catalogs(dir)
            .map_err(|e| invalid(format!("{}: {e}", self.file.display())))
    }
}
