//! The command layer: turns parsed arguments into library calls and exit codes.

mod apply;
mod bundle;
mod cache;
mod catalog;
mod inspect;
mod install;
mod login;
mod mirror;
mod options;
mod push;
mod receipt;
mod release;
mod report;
mod rewrite;
mod scan;
mod spec;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

pub fn run(cli: Cli) -> Result<Exit> {
    match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Mirror(args) => mirror::run(&args),
        Command::Login(args) => login::run(&args),
        Command::Logout(args) => login::logout(&args),
        Command::Version => {
            println!(
                "ferry {} (commit {}, built {})",
                env!("CARGO_PKG_VERSION"),
                env!("FERRY_COMMIT"),
                env!("FERRY_BUILD_DATE")
            );
            Ok(Exit::Success)
        }
        Command::Bundle(args) => bundle::run(&args),
        Command::Cache(command) => cache::run(&command),
        Command::Apply(args) => apply::run(&args),
        Command::Install(args) => install::run(&args),
        Command::Status(args) => release::status(&args),
        Command::Rollback(args) => release::rollback(&args),
        Command::Uninstall(args) => release::uninstall(&args),
        Command::Push(args) => push::run(&args),
        Command::Rewrite(args) => rewrite::run(&args),
        Command::Receipt(args) => receipt::run(&args),
        Command::Inspect(args) => inspect::inspect(&args),
        Command::Verify(args) => inspect::verify(&args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "ferry", &mut std::io::stdout());
            Ok(Exit::Success)
        }
    }
}
