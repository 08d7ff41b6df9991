//! `ferry install`: the customer's one command. Verify the bundle, rewrite its manifests into
//! a working directory (digests pinned from the bundle) and check they load as objects, push
//! its images, create the pull secret, apply, wait. Each step is the command of the same
//! name; the first failure stops the chain.

use anyhow::Result;

use super::bundle::failure;
use crate::bundle::archive::Archive;
use crate::bundle::verify;
use crate::cli::{ApplyArgs, CopyArgs, DryRun, InstallArgs, PushArgs, RewriteArgs};
use crate::exit::{Exit, Failure};
use crate::target::Target;

fn step(title: &str) {
    eprintln!("== {title}");
}

pub fn run(args: &InstallArgs) -> Result<Exit> {
    let target: Target = args
        .to
        .parse()
        .map_err(|e| Failure::new(Exit::InvalidInput, format!("--to: {e}")))?;

    step(&format!("verify {}", args.bundle.display()));
    let archive = Archive::catalog_hashed(&args.bundle).map_err(failure)?;
    let findings = verify::verify(&archive).map_err(failure)?;
    if !findings.problems.is_empty() {
        return Err(Failure::new(
            Exit::Integrity,
            format!(
                "{}: nothing installed, the bundle is damaged:\n  {}",
                args.bundle.display(),
                findings.problems.join("\n  ")
            ),
        )
        .into());
    }
    eprintln!(
        "{} blobs and {} manifests verified",
        findings.blobs_checked, findings.manifests_checked
    );
    drop(archive);

    let workdir = args.workdir.clone().unwrap_or_else(|| {
        let name = args
            .bundle
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name.split(".tar").next().unwrap_or(&name).to_string();
        args.bundle.with_file_name(format!("{stem}.rewritten"))
    });
    step(&format!("rewrite manifests into {}", workdir.display()));
    let rewritten = super::rewrite::run(&RewriteArgs {
        paths: vec![args.bundle.clone()],
        to: args.to.clone(),
        layout: args.layout,
        rules: None,
        out: Some(workdir.clone()),
        in_place: false,
        diff: false,
        // Beside the directory, not in it: apply reads every .json file in it as an object.
        lock: Some(workdir.with_file_name(format!(
            "{}.lock.json",
            workdir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ))),
        pin_digests: !args.no_pin_digests,
        pull_secret: None,
        registry: args.registry.clone(),
    })?;
    if rewritten != Exit::Success {
        return Ok(rewritten);
    }

    // Every manifest must load as objects before a byte is pushed.
    crate::apply::plan::load(std::slice::from_ref(&workdir)).map_err(|e| {
        Failure::new(
            Exit::InvalidInput,
            format!("nothing pushed, the manifests cannot be applied: {e}"),
        )
    })?;

    let planning = args.dry_run.is_some();
    step(&format!(
        "push to {target}{}",
        if planning { " (dry run)" } else { "" }
    ));
    let copy = CopyArgs {
        to: args.to.clone(),
        layout: args.layout,
        platform: "all".into(),
        jobs: args.jobs,
        dry_run: planning,
        source_mirror: Vec::new(),
        output: args.output,
    };
    let pushed = super::push::run(&PushArgs {
        bundle: args.bundle.clone(),
        name: None,
        copy,
        registry: args.registry.clone(),
    })?;
    if pushed != Exit::Success {
        return Ok(pushed);
    }

    step(&format!(
        "apply{}",
        match args.dry_run {
            Some(DryRun::Client) => " (plan only)",
            Some(DryRun::Server) => " (server dry run)",
            None => "",
        }
    ));
    let mut pull = args.pull.clone();
    if pull.pull_secret.is_some() && pull.registry.is_none() {
        pull.registry = Some(target.registry().to_string());
    }
    super::apply::run(&ApplyArgs {
        paths: vec![workdir],
        cluster: args.cluster.clone(),
        dry_run: args.dry_run,
        output: args.output,
        registry_config: args.registry.registry_config.clone(),
        pull,
    })
}
