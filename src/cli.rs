//! The command-line surface, as clap definitions (also used to generate completions).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Carry Kubernetes operators and every image they need across an air gap",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find every image reference in manifests, custom resources and values files
    Scan(ScanArgs),
    /// Print a shell completion script
    Completions {
        /// The shell to generate for
        shell: clap_complete::Shell,
    },
}

/// How `scan` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanOutput {
    /// One row per distinct image with where it was found (default on a terminal)
    Table,
    /// Every hit with all its fields, as one JSON document
    Json,
    /// One normalized reference per line (default when piped)
    List,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files, directories (walked for *.yaml, *.yml, *.json) or - for stdin
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// YAML file of extra rules: kinds and paths of image fields the built-ins miss
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Output format [default: table on a terminal, list otherwise]
    #[arg(long, short = 'o', value_enum)]
    pub output: Option<ScanOutput>,
    /// Show every occurrence with the rule that matched and its reasoning
    #[arg(long)]
    pub why: bool,
    /// Report every unreadable or invalid file and scan the rest (exit code stays 3)
    #[arg(long)]
    pub keep_going: bool,
}
