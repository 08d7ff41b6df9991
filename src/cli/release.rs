//! The day-2 commands' arguments: `status`, `rollback`, `uninstall`.

use super::{ConnectArgs, RegistryArgs, ReportOutput, duration};
use ferry_apply::DryRun;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The release [default: every release in the namespace]
    pub release: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[arg(long, short = 'o', value_enum, default_value_t = ReportOutput::Table)]
    pub output: ReportOutput,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The release
    pub release: String,
    /// The revision to go back to [default: the one before the deployed one]
    pub revision: Option<u32>,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Change nothing (client: the plan; server: also ask the API server)
    #[arg(long, value_enum, value_name = "client|server", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Take over fields another manager owns
    #[arg(long)]
    pub force_conflicts: bool,
    /// Wait for the workloads to be ready
    #[arg(long)]
    pub wait: bool,
    /// Longest the whole run waits: 300, 90s, 5m
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = duration)]
    pub timeout: std::time::Duration,
    /// Revisions kept in the release's history
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub history_max: u32,
    #[arg(long, short = 'o', value_enum, default_value_t = super::CopyOutput::Text)]
    pub output: super::CopyOutput,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// The release
    pub release: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Delete nothing: say what would be deleted (asks the API server)
    #[arg(long)]
    pub dry_run: bool,
    /// Delete the release's CRDs too (and with them every resource of their kinds)
    #[arg(long)]
    pub delete_crds: bool,
    /// Delete the release's namespaces too (and everything in them)
    #[arg(long)]
    pub delete_namespaces: bool,
    /// Longest it waits for the objects to be gone: 300, 90s, 5m
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = duration)]
    pub timeout: std::time::Duration,
    #[arg(long, short = 'o', value_enum, default_value_t = super::CopyOutput::Text)]
    pub output: super::CopyOutput,
}
