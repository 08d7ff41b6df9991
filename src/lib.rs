//! ferry carries Kubernetes operators and every container image they need across an air gap.
//!
//! The library behind the `ferry` command: image references and target naming
//! ([`reference`], [`target`]), YAML with exact byte spans ([`yaml`]), and the scanner that
//! finds every image in manifests and custom resources ([`scan`]).

pub mod cli;
pub mod commands;
pub mod exit;
pub mod output;
pub mod reference;
pub mod scan;
pub mod target;
pub mod yaml;
