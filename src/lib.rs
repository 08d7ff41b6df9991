//! ferry carries Kubernetes operators and every container image they need across an air gap.
//!
//! The library behind the `ferry` command: image references and target naming
//! ([`reference`], [`target`]), YAML with exact byte spans ([`yaml`]), and the scanner that
//! finds every image in manifests and custom resources ([`scan`]).

pub mod apply;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod digest;
pub mod error;
pub mod exit;
pub mod graph;
pub mod inputs;
pub mod manifest;
pub mod observe;
pub mod output;
pub mod progress;
pub mod reference;
pub mod registry;
pub mod render;
pub mod rewrite;
pub mod scan;
pub mod target;
pub mod text;
pub mod workflow;
pub mod yaml;

/// Installs the process-wide TLS crypto provider (ring) once; every client shares it.
pub fn init_crypto() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
