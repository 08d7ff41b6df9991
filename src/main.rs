use std::process::ExitCode;

use ferry::exit::code_of;

fn main() -> ExitCode {
    ferry::init_crypto();
    let cli = ferry::cli::parse();
    if cli.verbose {
        ferry::output::log_requests();
    }
    match ferry::commands::run(cli) {
        Ok(code) => code.into(),
        // A closed pipe (`ferry scan ... | head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // A message may quote a bundle's or a registry's text: print it inert.
            let message = format!("{err:#}");
            eprintln!("error: {}", ferry::output::printable_text(&message, true));
            code_of(&err).into()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
