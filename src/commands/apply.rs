//! `ferry apply`: the ordered plan, then server-side apply phase by phase, CRDs established
//! before anything uses them, and optional waits for workloads.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::apply::cluster::{self, Cluster, Outcome};
use crate::apply::plan::{self, Phase};
use crate::cli::{ApplyArgs, CopyOutput, DryRun};
use crate::exit::{Exit, Failure};

fn say(output: CopyOutput, event: serde_json::Value, text: String) {
    let mut out = std::io::stdout().lock();
    let _ = match output {
        CopyOutput::Json => writeln!(out, "{event}"),
        CopyOutput::Text => writeln!(out, "{text}"),
    };
}

pub fn run(args: &ApplyArgs) -> Result<Exit> {
    let objects =
        plan::load(&args.paths).map_err(|e| Failure::new(Exit::InvalidInput, e.to_string()))?;
    let planned = plan::order(objects);
    if args.dry_run == Some(DryRun::Client) {
        for (phase, o) in &planned {
            let ns = o
                .namespace
                .as_deref()
                .or(args.namespace.as_deref())
                .unwrap_or("(default)");
            say(
                args.output,
                serde_json::json!({"event": "plan", "phase": phase, "apiVersion": o.api_version, "kind": o.kind, "namespace": o.namespace, "name": o.name, "file": o.file, "line": o.line}),
                format!(
                    "{:<16} {}/{} {} ({}:{})",
                    format!("{phase:?}"),
                    o.kind,
                    o.name,
                    ns,
                    o.file,
                    o.line
                ),
            );
        }
        return Ok(Exit::Success);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(apply(args, planned))
}

async fn apply(args: &ApplyArgs, planned: Vec<(Phase, plan::Object)>) -> Result<Exit> {
    let mut cluster = Cluster::connect(args.kubeconfig.as_deref(), args.context.as_deref())
        .await
        .map_err(|e| Failure::new(Exit::Cluster, e.to_string()))?;
    let default_ns = args
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace().to_string());
    let dry = args.dry_run == Some(DryRun::Server);
    let timeout = Duration::from_secs(args.timeout);
    let (mut failed, mut changed) = (0usize, 0usize);
    let mut workloads = Vec::new();
    let mut phase_done = None;
    for (phase, o) in &planned {
        if phase_done == Some(Phase::Crds) && *phase != Phase::Crds && !dry {
            // New kinds are served once their CRDs are established: look again.
            cluster
                .discover()
                .await
                .map_err(|e| Failure::new(Exit::Cluster, e.to_string()))?;
        }
        phase_done = Some(*phase);
        let place = format!("{}:{}", o.file, o.line);
        let label = format!("{}/{}", o.kind, o.name);
        match cluster
            .apply(o, &default_ns, args.force_conflicts, dry)
            .await
        {
            Ok(outcome) => {
                if outcome != Outcome::Unchanged {
                    changed += 1;
                }
                let verb = match (outcome, dry) {
                    (Outcome::Created, false) => "created",
                    (Outcome::Configured, false) => "configured",
                    (Outcome::Unchanged, _) => "unchanged",
                    (Outcome::Created, true) => "would be created",
                    (Outcome::Configured, true) => "would be configured",
                };
                say(
                    args.output,
                    serde_json::json!({"event": "applied", "kind": o.kind, "name": o.name, "namespace": o.namespace, "outcome": outcome, "dry_run": dry, "file": o.file, "line": o.line}),
                    format!("{label} {verb}"),
                );
                if *phase == Phase::Crds && !dry {
                    let (url, _) = cluster
                        .locate(o, &default_ns)
                        .map_err(|e| Failure::new(Exit::Cluster, e.to_string()))?;
                    if let Err(e) = cluster
                        .wait(&url, &label, timeout, cluster::crd_ready)
                        .await
                    {
                        failed += 1;
                        say(
                            args.output,
                            serde_json::json!({"event": "error", "kind": o.kind, "name": o.name, "message": e.to_string(), "file": o.file, "line": o.line}),
                            format!("error: {label} ({place}): {e}"),
                        );
                    }
                }
                if *phase == Phase::Workloads {
                    workloads.push(o);
                }
            }
            Err(e) => {
                failed += 1;
                say(
                    args.output,
                    serde_json::json!({"event": "error", "kind": o.kind, "name": o.name, "namespace": o.namespace, "message": e.to_string(), "file": o.file, "line": o.line}),
                    format!("error: {label} ({place}): {e}"),
                );
            }
        }
    }
    if args.wait && !dry {
        for o in workloads {
            let (url, _) = cluster
                .locate(o, &default_ns)
                .map_err(|e| Failure::new(Exit::Cluster, e.to_string()))?;
            let label = format!("{}/{}", o.kind, o.name);
            let kind = o.kind.clone();
            match cluster
                .wait(&url, &label, timeout, |v| cluster::workload_ready(&kind, v))
                .await
            {
                Ok(()) => say(
                    args.output,
                    serde_json::json!({"event": "ready", "kind": o.kind, "name": o.name}),
                    format!("{label} ready"),
                ),
                Err(e) => {
                    failed += 1;
                    say(
                        args.output,
                        serde_json::json!({"event": "error", "kind": o.kind, "name": o.name, "message": e.to_string()}),
                        format!("error: {e}"),
                    );
                }
            }
        }
    }
    let summary = if changed == 0 && failed == 0 {
        "nothing changed".to_string()
    } else {
        format!("{changed} changed, {failed} failed")
    };
    say(
        args.output,
        serde_json::json!({"event": "summary", "objects": planned.len(), "changed": changed, "failed": failed}),
        format!("{} objects: {summary}", planned.len()),
    );
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Cluster
    })
}
