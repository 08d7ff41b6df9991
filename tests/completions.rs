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
        clap_mangen::Man::new(sub.clone().display_name(&name).bin_name(&name))
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
