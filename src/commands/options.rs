//! Converting parsed arguments into the library's typed options, once per run (no code
//! below the commands sees clap), and printing what several commands print alike.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};

use crate::cli::{CopyOutput, RegistryArgs};
use crate::exit::{Exit, Failure, invalid};
use crate::output::Bytes;
use ferry_core::manifest::PlatformFilter;
use ferry_core::target::Target;
use ferry_oci::graph::CopyOptions;
use ferry_oci::registry::{Registries, RegistryOptions, TransportOptions, config};
use ferry_scan::scan::UserRules;
use ferry_workflow::CopyRun;

pub(super) fn registry_options(args: &RegistryArgs) -> RegistryOptions {
    let transport = TransportOptions {
        ca_files: args.ca_file.clone(),
        insecure: args.insecure_registry.clone(),
        certs_dirs: args.certs_dir.clone(),
        request_timeout: Some(args.registry_timeout),
    };
    RegistryOptions {
        transport: if args.certs_dir.is_empty() {
            transport.with_default_certs_dirs()
        } else {
            transport
        },
        config_files: config::config_files(args.registry_config.as_deref()),
        retry: ferry_core::retry::RetryPolicy {
            notice: Some(std::sync::Arc::new(|text: &str| {
                eprintln!("note: {}", crate::output::printable(text));
            })),
            ..Default::default()
        },
    }
}

pub(super) fn registries(args: &RegistryArgs) -> Registries {
    Registries::new(registry_options(args))
}

/// The one async runtime of the process.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub(super) fn target(to: &str) -> Result<Target> {
    to.parse().map_err(|e| invalid(format!("--to: {e}")))
}

/// The scan's rules and renderers; `namespace` is the one charts are rendered for.
pub(super) fn scan_options(
    rules_file: Option<&std::path::Path>,
    render: &crate::cli::RenderArgs,
    namespace: Option<&str>,
) -> Result<ferry_workflow::ScanOptions> {
    Ok(ferry_workflow::ScanOptions {
        rules: rules(rules_file)?,
        render: render_options(render, namespace),
    })
}

/// The renderers the arguments choose.
pub(super) fn render_options(
    render: &crate::cli::RenderArgs,
    namespace: Option<&str>,
) -> ferry_scan::render::RenderOptions {
    ferry_scan::render::RenderOptions {
        kustomize: render.kustomize.clone().unwrap_or_default(),
        helm: ferry_scan::render::HelmOptions {
            namespace: namespace.map(str::to_string),
            release_name: render.release_name.clone(),
            kube_version: render.kube_version.clone(),
            api_versions: render.api_versions.clone(),
            ..helm_values(&render.values)
        },
        ..Default::default()
    }
}

/// The vendor's public keys (`--key`, repeatable); one that cannot be read is invalid
/// input naming its file.
pub(super) fn keys(
    paths: &[std::path::PathBuf],
) -> Result<Vec<ferry_oci::bundle::signatures::PublicKey>> {
    paths
        .iter()
        .map(|k| ferry_oci::bundle::signatures::load_key(k))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))
}

/// The Helm program and the chart values the arguments give (`--helm`, `-f`, `--set`,
/// `--set-string`); every other Helm option at its default.
pub(super) fn helm_values(args: &crate::cli::ChartValuesArgs) -> ferry_scan::render::HelmOptions {
    ferry_scan::render::HelmOptions {
        program: args.helm.clone().map_or(
            ferry_scan::render::HelmChoice::Auto,
            ferry_scan::render::HelmChoice::Program,
        ),
        values: args.values.clone(),
        set: args.set.clone(),
        set_string: args.set_string.clone(),
        ..Default::default()
    }
}

pub(super) fn rules(path: Option<&std::path::Path>) -> Result<UserRules> {
    match path {
        Some(p) => UserRules::load(p)
            .map_err(|e| invalid(ferry_core::error::chain(&e)))
            .context("cannot load --rules"),
        None => Ok(UserRules::default()),
    }
}

pub(super) fn copy_options(platform: &str, jobs: u16) -> Result<CopyOptions> {
    let platforms: PlatformFilter = platform
        .parse()
        .map_err(|e: String| invalid(format!("--platform: {e}")))?;
    Ok(CopyOptions {
        platforms,
        jobs: usize::from(jobs),
        ..Default::default()
    })
}

/// `HOST=REGISTRY[/PREFIX]` pairs.
pub(super) fn source_mirrors(list: &[String]) -> Result<BTreeMap<String, Target>> {
    let mut out = BTreeMap::new();
    for m in list {
        let (host, to) = m.split_once('=').ok_or_else(|| {
            invalid(format!(
                "--source-mirror {m:?}: expected HOST=REGISTRY[/PREFIX]"
            ))
        })?;
        let host = ferry_core::reference::hub_normalized(host);
        let target: Target = to
            .parse()
            .map_err(|e| invalid(format!("--source-mirror {m:?}: {e}")))?;
        out.insert(host.to_string(), target);
    }
    Ok(out)
}

/// The summary line (or event) of a copy, and its exit code.
pub(super) fn print_summary(run: &CopyRun, output: CopyOutput) -> Result<Exit> {
    let reports = &run.reports;
    let failed = run.failed();
    let copied: u64 = reports.iter().map(|r| r.bytes_copied).sum();
    let skipped: u64 = reports.iter().map(|r| r.bytes_skipped).sum();
    let mut out = std::io::stdout().lock();
    match output {
        CopyOutput::Json => {
            crate::events::emit(&crate::events::Event::CopySummary {
                images: reports.len(),
                failed,
                bytes_copied: copied,
                bytes_skipped: skipped,
                blobs_copied: reports.iter().map(|r| r.blobs_copied).sum(),
                blobs_mounted: reports.iter().map(|r| r.blobs_mounted).sum(),
                blobs_skipped: reports.iter().map(|r| r.blobs_skipped).sum(),
                seconds: run.seconds,
            });
        }
        CopyOutput::Text => {
            let noun = if reports.len() == 1 {
                "image"
            } else {
                "images"
            };
            writeln!(
                out,
                "{} {noun}: {} ok, {failed} failed; {} copied, {} already there, {:.1} s",
                reports.len(),
                reports.len() - failed,
                Bytes(copied),
                Bytes(skipped),
                run.seconds
            )?;
            // One cause behind many failures (a registry down) is said once more, counted.
            let mut causes: std::collections::BTreeMap<&str, usize> = Default::default();
            for e in reports.iter().filter_map(|r| r.error.as_deref()) {
                *causes.entry(e).or_default() += 1;
            }
            for (cause, n) in causes.into_iter().filter(|(_, n)| *n > 1) {
                eprintln!(
                    "{n} images failed for one cause: {}",
                    crate::output::printable(cause)
                );
            }
        }
    }
    Ok(run.failure().map_or(Exit::Success, Exit::from))
}

/// A usage error (exit 2) the command decides.
pub(super) fn usage(message: impl Into<String>) -> anyhow::Error {
    Failure::new(Exit::Usage, message).into()
}
