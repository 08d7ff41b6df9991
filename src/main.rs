use std::process::ExitCode;

use clap::Parser;
use ferry::cli::Cli;
use ferry::exit::code_of;

fn main() -> ExitCode {
    ferry::init_crypto();
    let cli = Cli::parse();
    match ferry::commands::run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            code_of(&err).into()
        }
    }
}
