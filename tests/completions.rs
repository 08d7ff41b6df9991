//! The committed completion scripts are what the current clap definitions generate.
//! Regenerate with `scripts/gen-completions`.

use clap::CommandFactory;
use clap_complete::Shell;
use ferry::cli::Cli;

#[test]
fn completions_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        (Shell::Bash, "ferry.bash"),
        (Shell::Zsh, "_ferry"),
        (Shell::Fish, "ferry.fish"),
    ] {
        let mut generated = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "ferry", &mut generated);
        let committed = std::fs::read(dir.join(file)).unwrap_or_default();
        assert!(
            committed == generated,
            "completions/{file} is stale: run scripts/gen-completions"
        );
    }
}
