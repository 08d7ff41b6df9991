//! The committed completion scripts and man pages are what the current clap definitions
//! generate. Regenerate both with `scripts/gen-completions`.

use clap::CommandFactory;
use clap_complete::Shell;
use ferry::cli::Cli;

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// `ferry.1`, and `ferry-COMMAND.1` for every command, as clap_mangen renders them.
fn man_pages() -> Vec<(String, Vec<u8>)> {
    let cmd = Cli::command();
    let mut pages = Vec::new();
    let mut top = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut top).unwrap();
    pages.push(("ferry.1".to_string(), top));
    for sub in cmd.get_subcommands() {
        let name = format!("ferry-{}", sub.get_name());
        let mut page = Vec::new();
        // The page is ferry-COMMAND; its synopsis is the command as typed, `ferry COMMAND`.
        let typed = format!("ferry {}", sub.get_name());
        clap_mangen::Man::new(sub.clone().display_name(&name).bin_name(typed))
            .render(&mut page)
            .unwrap();
        pages.push((format!("{name}.1"), page));
    }
    pages
}

#[test]
fn completions_are_current() {
    let dir = repo().join("completions");
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

#[test]
fn man_pages_are_current() {
    let dir = repo().join("man");
    if std::env::var_os("FERRY_WRITE_MAN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, page) in man_pages() {
            std::fs::write(dir.join(name), page).unwrap();
        }
    }
    let pages = man_pages();
    for (name, page) in &pages {
        let committed = std::fs::read(dir.join(name)).unwrap_or_default();
        assert!(
            committed == *page,
            "man/{name} is stale: run scripts/gen-completions"
        );
    }
    let extra: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| !pages.iter().any(|(n, _)| n == f))
        .collect();
    assert!(extra.is_empty(), "man pages of no command: {extra:?}");
}

/// Every command's `--help` has examples, and every example parses as the command it shows
/// (an example that names a flag that is gone fails here).
#[test]
fn every_help_has_examples_that_parse() {
    use clap::Parser;
    let cmd = Cli::command();
    let mut checked = 0;
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        if matches!(name, "version" | "completions" | "help") {
            continue;
        }
        let help = sub
            .get_after_help()
            .unwrap_or_else(|| panic!("ferry {name} --help has no examples"))
            .to_string();
        assert!(help.starts_with("Examples:"), "{name}: {help}");
        assert!(
            help.contains("Exit status:") && help.contains("5 cluster"),
            "{name}: no exit status in {help}"
        );
        for line in help.lines().skip(1) {
            for part in line.split('|') {
                let part = part.trim();
                let Some(rest) = part.strip_prefix("ferry ") else {
                    continue;
                };
                // The example's comment starts with `#`, as a shell reads it.
                assert!(
                    !rest.contains("  ") || rest.contains("  #"),
                    "{name}: a comment without `#` in `ferry {rest}`"
                );
                let command = rest.split('#').next().unwrap().trim_end();
                let words = shell_words(command);
                let args = std::iter::once("ferry".to_string()).chain(words);
                if let Err(e) = Cli::try_parse_from(args) {
                    panic!("example `ferry {command}` does not parse:\n{e}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 25, "{checked} examples");
}

/// Words as a shell splits them, for the quoting the examples use (`"$PASSWORD"`).
fn shell_words(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string())
        .collect()
}

/// Each command's help speaks of that command: push takes no --source-mirror (the bundle is
/// its source), apply's output is per object, bundle's paths read stdin too.
#[test]
fn help_texts_are_per_command() {
    let help = |cmd: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(!help("push").contains("--source-mirror"));
    assert!(help("mirror").contains("--source-mirror"));
    assert!(help("apply").contains("(apply: per object)"));
    assert!(!help("bundle").contains("mirror also"));
}
