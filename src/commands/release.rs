//! `ferry status`, `ferry rollback`, `ferry uninstall`: a release from its record.

use std::io::Write as _;

use anyhow::Result;

use super::apply::print_summary;
use super::options::{registries, runtime};
use super::report::Printer;
use crate::cli::release::{RollbackArgs, StatusArgs, UninstallArgs};
use crate::cli::{ConnectArgs, CopyOutput, ReportOutput};
use crate::exit::Exit;
use crate::output::printable;
use ferry_apply::DryRun;
use ferry_apply::release::uninstall::UninstallOptions;
use ferry_workflow::ApplyOptions;
use ferry_workflow::release::{self, ReleaseStatus, RollbackOptions};

/// The schema id of `status -o json`.
const STATUS_SCHEMA: &str = "ferry.status/v1";

fn connection(c: &ConnectArgs) -> ApplyOptions {
    ApplyOptions {
        kubeconfig: c.kubeconfig.clone(),
        context: c.context.clone(),
        namespace: c.namespace.clone(),
        timeout: std::time::Duration::from_secs(300),
        ..Default::default()
    }
}

pub(super) fn status(args: &StatusArgs) -> Result<Exit> {
    let registries = registries(&args.registry);
    let found = runtime()?.block_on(release::status(
        &connection(&args.connect),
        args.release.as_deref(),
        &registries,
    ))?;
    let mut out = std::io::stdout().lock();
    match args.output {
        ReportOutput::Json => {
            let doc = serde_json::json!({"schema": STATUS_SCHEMA, "releases": found});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        ReportOutput::Table if found.is_empty() => {
            eprintln!("no releases of ferry's in this namespace");
        }
        ReportOutput::Table => {
            for r in &found {
                status_table(&mut out, r)?;
            }
        }
    }
    Ok(Exit::Success)
}

fn status_table(out: &mut impl std::io::Write, r: &ReleaseStatus) -> std::io::Result<()> {
    let c = &r.current;
    writeln!(
        out,
        "release {} in {}: revision {} {}{}, {}{}",
        r.release,
        r.namespace,
        c.revision,
        c.status,
        c.version
            .as_deref()
            .map(|v| format!(", version {}", printable(v)))
            .unwrap_or_default(),
        c.time,
        c.user
            .as_deref()
            .map(|u| format!(" by {}", printable(u)))
            .unwrap_or_default()
    )?;
    if let Some(b) = &c.bundle {
        writeln!(out, "  bundle {b}")?;
    }
    if let Some(d) = &c.description {
        writeln!(out, "  {}", printable(d))?;
    }
    pending_note(out, r)?;
    let width = r
        .members
        .iter()
        .map(|m| m.member.to_string().len())
        .max()
        .unwrap_or(0);
    writeln!(out, "  MEMBERS")?;
    for m in &r.members {
        let drift = if m.changed_by.is_empty() {
            String::new()
        } else {
            format!(" (also changed by {})", m.changed_by.join(", "))
        };
        writeln!(
            out,
            "  {:<width$}  {}{drift}",
            printable(&m.member.to_string()),
            m.state
        )?;
    }
    if !r.images.is_empty() {
        writeln!(out, "  IMAGES")?;
        for i in &r.images {
            writeln!(out, "  {}  {}", printable(&i.image), i.state)?;
        }
    }
    charts_table(out, r)?;
    history_table(out, r)
}

/// Each chart's Helm release as Helm's records have it, and whether ferry wrote that version.
fn charts_table(out: &mut impl std::io::Write, r: &ReleaseStatus) -> std::io::Result<()> {
    if r.charts.is_empty() {
        return Ok(());
    }
    writeln!(out, "  CHARTS (Helm releases)")?;
    for c in &r.charts {
        let by = match c.revision {
            Some(n) => format!("written by revision {n}"),
            None => "written by Helm (a helm upgrade or rollback since ferry's)".to_string(),
        };
        writeln!(
            out,
            "  {} in {}  version {} deployed, {by}",
            printable(&c.name),
            printable(&c.namespace),
            c.version
        )?;
    }
    Ok(())
}

/// A revision still pending (this one or a later): the run that applied it stopped.
fn pending_note(out: &mut impl std::io::Write, r: &ReleaseStatus) -> std::io::Result<()> {
    let pending = r.history.iter().rev().find(|(n, s, _, _)| {
        *n >= r.current.revision && *s == ferry_apply::release::Status::Pending
    });
    if let Some((n, _, _, _)) = pending {
        writeln!(
            out,
            "  revision {n} is pending: the run that applied it stopped part way (run the same install again to complete it)"
        )?;
    }
    Ok(())
}

fn history_table(out: &mut impl std::io::Write, r: &ReleaseStatus) -> std::io::Result<()> {
    writeln!(out, "  HISTORY")?;
    for (n, status, version, time) in &r.history {
        writeln!(
            out,
            "  {n:>4}  {:<10}  {:<12}  {time}",
            status.to_string(),
            version.as_deref().map(printable).unwrap_or_default()
        )?;
    }
    Ok(())
}

pub(super) fn rollback(args: &RollbackArgs) -> Result<Exit> {
    let mut apply = connection(&args.connect);
    apply.dry_run = args.dry_run;
    apply.force_conflicts = args.force_conflicts;
    apply.wait = args.wait;
    apply.timeout = args.timeout;
    let opts = RollbackOptions {
        apply,
        release: args.release.clone(),
        revision: args.revision,
        history_max: args.history_max,
    };
    let registries = registries(&args.registry);
    let printer = Printer::new(args.output);
    let report = runtime()?.block_on(release::rollback(&opts, &registries, &printer))?;
    if args.dry_run == Some(DryRun::Client) {
        return Ok(Exit::Success);
    }
    Ok(print_summary(&report, args.output))
}

pub(super) fn uninstall(args: &UninstallArgs) -> Result<Exit> {
    let mut apply = connection(&args.connect);
    apply.timeout = args.timeout;
    let opts = UninstallOptions {
        dry_run: args.dry_run,
        delete_crds: args.delete_crds,
        delete_namespaces: args.delete_namespaces,
    };
    let printer = Printer::new(args.output);
    let report = runtime()?.block_on(release::uninstall(&apply, &args.release, &opts, &printer))?;
    let verb = if report.dry_run {
        "would be deleted"
    } else {
        "deleted"
    };
    let summary = format!(
        "release {}: {} {verb}, {} kept, {} failed{}",
        args.release,
        report.deleted,
        report.kept,
        report.failed,
        if report.failed > 0 {
            " (the record stays: run uninstall again once the failures are dealt with)"
        } else {
            ""
        }
    );
    match args.output {
        CopyOutput::Json => crate::events::emit(&crate::events::Event::UninstallSummary(&report)),
        CopyOutput::Text => println!("{summary}"),
    }
    Ok(if report.failed == 0 {
        Exit::Success
    } else {
        Exit::Cluster
    })
}
