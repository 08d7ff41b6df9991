//! ferry carries Kubernetes operators and every container image they need across an air gap.
//!
//! The `ferry` command's edge: its arguments ([`cli`]), one function per command that
//! converts them, calls one workflow and renders its report ([`commands`]), the renderers
//! ([`output`], [`progress`]) and the exit codes ([`exit`]). The library is the workspace's
//! crates, re-exported here under their module names for the tests and benchmarks:
//! `ferry-core` (primitives), `ferry-scan` (inputs, renderers, scan, rewrite: no network),
//! `ferry-oci` (registry, graph, bundle: no cluster), `ferry-apply` (the cluster) and
//! `ferry-workflow` (what each command does).

pub mod cli;
pub mod commands;
pub mod events;
pub mod exit;
pub mod output;
pub mod progress;

pub use ferry_apply as apply;
pub use ferry_core::{digest, error, manifest, observe, reference, scratch, target, text, yaml};
pub use ferry_oci::{bundle, graph, registry};
pub use ferry_scan::{catalog, inputs, render, rewrite, scan};
pub use ferry_workflow as workflow;

/// Installs the process-wide TLS crypto provider (ring) once; every client shares it.
pub fn init_crypto() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
