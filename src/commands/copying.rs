//! Plumbing shared by the commands that copy images (`mirror`, later `push`): registry
//! options, the plan, per-image output lines or NDJSON events, the summary and exit code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::{CopyArgs, CopyOutput, RegistryArgs};
use crate::exit::{Exit, invalid};
use crate::graph::{CopyJob, CopyOptions, CopyReport, Engine, Repository, Root, Source};
use crate::manifest::PlatformFilter;
use crate::progress::{Bars, Observer, Silent};
use crate::reference::Reference;
use crate::registry::{Registries, RegistryOptions, TransportOptions, config};
use crate::target::{Layout, Target};

pub fn registry_options(args: &RegistryArgs) -> RegistryOptions {
    let transport = TransportOptions {
        ca_files: args.ca_file.clone(),
        insecure: args.insecure_registry.clone(),
        certs_dirs: args.certs_dir.clone(),
    };
    RegistryOptions {
        transport: if args.certs_dir.is_empty() {
            transport.with_default_certs_dirs()
        } else {
            transport
        },
        config_files: config::config_files(args.registry_config.as_deref()),
        retry: Default::default(),
    }
}

/// `HOST=REGISTRY[/PREFIX]` pairs.
pub fn source_mirrors(list: &[String]) -> Result<BTreeMap<String, Target>> {
    let mut out = BTreeMap::new();
    for m in list {
        let (host, to) = m.split_once('=').ok_or_else(|| {
            invalid(format!(
                "--source-mirror {m:?}: expected HOST=REGISTRY[/PREFIX]"
            ))
        })?;
        let host = if host == "index.docker.io" {
            "docker.io"
        } else {
            host
        };
        let target: Target = to
            .parse()
            .map_err(|e| invalid(format!("--source-mirror {m:?}: {e}")))?;
        out.insert(host.to_string(), target);
    }
    Ok(out)
}

/// One image of a copy plan: where it is pulled from and where it goes.
pub struct Planned {
    pub source: Reference,
    pub pull_from: Reference,
    pub target: Reference,
}

/// Maps every image under `--to` (collisions refused before anything is copied).
pub fn plan(images: &[Reference], args: &CopyArgs) -> Result<Vec<Planned>> {
    let target: Target = args.to.parse().map_err(|e| invalid(format!("--to: {e}")))?;
    let mapped = target
        .map_all(images, args.layout)
        .map_err(|e| invalid(e.to_string()))?;
    let mirrors = source_mirrors(&args.source_mirror)?;
    let mut jobs = Vec::with_capacity(mapped.len());
    for (source, target) in mapped {
        let pull_from = match mirrors.get(source.registry()) {
            Some(m) => m
                .map(&source, Layout::Path)
                .map_err(|e| invalid(e.to_string()))?,
            None => source.clone(),
        };
        jobs.push(Planned {
            source,
            pull_from,
            target,
        });
    }
    Ok(jobs)
}

pub fn print_plan(jobs: &[Planned], output: CopyOutput) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for j in jobs {
        match output {
            CopyOutput::Json => {
                let event = serde_json::json!({
                    "event": "plan",
                    "source": j.source.to_string(),
                    "pull_from": j.pull_from.to_string(),
                    "target": j.target.to_string(),
                });
                writeln!(out, "{event}")?;
            }
            CopyOutput::Text if j.pull_from != j.source => writeln!(
                out,
                "{} -> {} (pull from {})",
                j.source, j.target, j.pull_from
            )?,
            CopyOutput::Text => writeln!(out, "{} -> {}", j.source, j.target)?,
        }
    }
    Ok(())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn report_line(r: &CopyReport) -> String {
    match (&r.error, r.up_to_date) {
        (Some(e), _) => format!("failed  {} -> {}: {e}", r.source, r.target),
        (None, true) => format!("present {} -> {} (up to date)", r.source, r.target),
        (None, false) => {
            let digest = r
                .digest
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let filtered = r
                .source_digest
                .as_ref()
                .map(|s| format!(", filtered from {s}"))
                .unwrap_or_default();
            format!(
                "copied  {} -> {}@{digest} ({} copied, {} already there{filtered})",
                r.source,
                r.target,
                mb(r.bytes_copied),
                mb(r.bytes_skipped)
            )
        }
    }
}

/// Copies registry images as planned.
pub fn run_mirror(planned: Vec<Planned>, copy: &CopyArgs, registry: &RegistryArgs) -> Result<Exit> {
    let registries = Registries::new(registry_options(registry));
    let mut jobs = Vec::with_capacity(planned.len());
    for p in planned {
        jobs.push(CopyJob {
            from: Repository::of(&registries, &p.pull_from).map_err(|e| invalid(e.to_string()))?,
            root: Root::of(&p.pull_from),
            source: p.source,
            target: p.target,
        });
    }
    run_copy(registries, jobs, copy)
}

/// Runs the copy and prints as it goes; the exit code says whether everything landed.
pub fn run_copy<S: Source>(
    registries: Registries,
    jobs: Vec<CopyJob<S>>,
    copy: &CopyArgs,
) -> Result<Exit> {
    let platforms: PlatformFilter = copy
        .platform
        .parse()
        .map_err(|e: String| invalid(format!("--platform: {e}")))?;
    let options = CopyOptions {
        platforms,
        jobs: usize::from(copy.jobs),
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let output = copy.output;
    let bars = (output == CopyOutput::Text && std::io::stderr().is_terminal()).then(|| {
        Arc::new(Bars::new(
            jobs.iter().map(|j| j.source.to_string()).collect(),
        ))
    });
    let observer: Arc<dyn Observer> = match &bars {
        Some(b) => b.clone(),
        None => Arc::new(Silent),
    };
    let started = std::time::Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let reports = runtime.block_on(async {
        let engine = Engine::new(options).with_observer(observer);
        engine
            .copy_all(&registries, &jobs, |i, r| {
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                match (output, &bars) {
                    (CopyOutput::Json, _) => {
                        let mut v = serde_json::to_value(r).unwrap_or_default();
                        v["event"] = "image".into();
                        let _ = writeln!(std::io::stdout().lock(), "{v}");
                    }
                    (CopyOutput::Text, Some(b)) => b.finish(i, &report_line(r), n),
                    (CopyOutput::Text, None) => {
                        let _ = writeln!(std::io::stdout().lock(), "{}", report_line(r));
                    }
                }
            })
            .await
    });
    if let Some(b) = &bars {
        b.clear();
    }
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    let integrity = reports.iter().any(|r| r.integrity_failure);
    let copied: u64 = reports.iter().map(|r| r.bytes_copied).sum();
    let skipped: u64 = reports.iter().map(|r| r.bytes_skipped).sum();
    let seconds = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    match output {
        CopyOutput::Json => {
            let summary = serde_json::json!({
                "event": "summary",
                "images": reports.len(),
                "failed": failed,
                "bytes_copied": copied,
                "bytes_skipped": skipped,
                "blobs_copied": reports.iter().map(|r| r.blobs_copied).sum::<u64>(),
                "blobs_mounted": reports.iter().map(|r| r.blobs_mounted).sum::<u64>(),
                "blobs_skipped": reports.iter().map(|r| r.blobs_skipped).sum::<u64>(),
                "seconds": seconds,
            });
            writeln!(out, "{summary}")?;
        }
        CopyOutput::Text => writeln!(
            out,
            "{} images: {} ok, {failed} failed; {} copied, {} already there, {seconds:.1} s",
            reports.len(),
            reports.len() - failed,
            mb(copied),
            mb(skipped)
        )?,
    }
    Ok(match (failed, integrity) {
        (0, _) => Exit::Success,
        (_, true) => Exit::Integrity,
        _ => Exit::Registry,
    })
}
