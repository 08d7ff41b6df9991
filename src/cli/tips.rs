//! clap's "a similar argument exists" tips, kept only where they help: clap picks the
//! nearest flag by Jaro similarity, which names unrelated ones (`--force` gives
//! `--source-mirror`, `--creds` gives `--certs-dir`). A tip stays when the flag typed is a
//! misspelling of it (at most two edits: `--platfrom`, `--insecure-regsitry`). Also where the
//! command line is parsed, so a kubectl plugin's usage names itself as kubectl shows it.

use clap::CommandFactory;
use clap::error::{ContextKind, ContextValue, Error, ErrorKind};

/// Most edits between a typed flag and a suggestion that is still a misspelling of it.
const MAX_EDITS: usize = 2;

/// Parses the command line as clap does, without far-fetched tips; run as `kubectl-ferry`
/// (kubectl's plugin name), usage and errors say `kubectl ferry`.
pub fn parse() -> super::Cli {
    let mut cmd = super::Cli::command();
    let plugin = std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n == "kubectl-ferry"));
    if plugin == Some(true) {
        cmd = cmd.bin_name("kubectl ferry");
    }
    cmd.try_get_matches_from_mut(std::env::args_os())
        .and_then(|m| <super::Cli as clap::FromArgMatches>::from_arg_matches(&m))
        .unwrap_or_else(|e| near_tips_only(e, &cmd).exit())
}

/// What a user of kubectl, crane, docker or skopeo meant by an argument ferry does not
/// take, for `sub`command: the ferry way, in one line.
fn habit(typed: &str, sub: &str) -> Option<String> {
    let flag = typed.split('=').next().unwrap_or(typed);
    let cluster = matches!(sub, "apply" | "install" | "rollback");
    let copies = matches!(sub, "mirror" | "push" | "install" | "bundle" | "rewrite");
    Some(match flag {
        "--force" if cluster => "ferry takes fields over from other field managers with              --force-conflicts (kubectl's --force deletes and recreates objects; ferry does not)"
            .into(),
        "-p" | "--password" if sub == "login" => "ferry reads the password from standard              input: printf '%s' \"$PASSWORD\" | ferry login HOST -u USER --password-stdin"
            .into(),
        "--insecure" | "--tls-verify" | "--tls-verify=false" | "--plain-http" if copies => {
            "name the registry that needs it: --insecure-registry HOST (plain HTTP, or HTTPS \
             without verification), or trust its CA with --ca-file FILE"
                .into()
        }
        positional if !positional.starts_with('-') && matches!(sub, "push" | "mirror") => {
            format!("name the target with --to: ferry {sub} ... --to {positional}")
        }
        _ => return None,
    })
}

/// `e` with the tip a habit from another tool deserves, in place of clap's own.
fn with_habit_tip(e: Error, cmd: &clap::Command) -> Result<Error, Error> {
    if e.kind() != ErrorKind::UnknownArgument {
        return Err(e);
    }
    let Some(ContextValue::String(typed)) = e.get(ContextKind::InvalidArg) else {
        return Err(e);
    };
    let sub = e
        .get(ContextKind::Usage)
        .map(|u| u.to_string())
        .and_then(|u| {
            u.split_whitespace()
                .skip(1)
                .find(|w| cmd.find_subcommand(w).is_some())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let Some(tip) = habit(typed, &sub) else {
        return Err(e);
    };
    let mut plain = Error::new(ErrorKind::UnknownArgument).with_cmd(cmd);
    plain.insert(ContextKind::InvalidArg, ContextValue::String(typed.clone()));
    plain.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![tip.into()]),
    );
    if let Some(usage) = usage_without_tip(&e, cmd) {
        plain.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    }
    Ok(plain)
}

/// `e` as clap made it, or without its tip when the tip names an unrelated flag; a habit
/// from another tool gets the ferry way as its tip.
pub(super) fn near_tips_only(e: Error, cmd: &clap::Command) -> Error {
    let e = match with_habit_tip(e, cmd) {
        Ok(tipped) => return tipped,
        Err(e) => e,
    };
    if e.kind() != ErrorKind::UnknownArgument {
        return e;
    }
    let (Some(ContextValue::String(typed)), Some(suggested)) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::SuggestedArg),
    ) else {
        return e;
    };
    let suggestions: Vec<&str> = match suggested {
        ContextValue::String(s) => vec![s.as_str()],
        ContextValue::Strings(s) => s.iter().map(String::as_str).collect(),
        _ => return e,
    };
    let flag = |s: &str| s.split(['=', ' ']).next().unwrap_or(s).to_string();
    let typed_flag = flag(typed);
    if suggestions
        .iter()
        .any(|s| strsim::levenshtein(&typed_flag, &flag(s)) <= MAX_EDITS)
    {
        return e;
    }
    let mut plain = Error::new(ErrorKind::UnknownArgument).with_cmd(cmd);
    plain.insert(ContextKind::InvalidArg, ContextValue::String(typed.clone()));
    if let Some(usage) = usage_without_tip(&e, cmd) {
        plain.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    }
    plain
}

/// The usage line of the subcommand `e` is about. clap's own names the flag it suggested as
/// if it had been given (`ferry mirror --force` showed `--source-mirror <HOST=...>`).
fn usage_without_tip(e: &Error, cmd: &clap::Command) -> Option<clap::builder::StyledStr> {
    let shown = e.get(ContextKind::Usage)?.to_string();
    let mut cmd = cmd.clone();
    cmd.build();
    let mut current = &mut cmd;
    let mut descended = false;
    // "Usage: ferry mirror ..." (or "kubectl ferry mirror ..."): the binary's words, then
    // the subcommands, then the arguments.
    for word in shown.split_whitespace().skip(1) {
        if current.find_subcommand(word).is_none() {
            if descended {
                break;
            }
            continue;
        }
        current = current.find_subcommand_mut(word)?;
        descended = true;
    }
    Some(current.render_usage())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_for(args: &[&str]) -> String {
        let e = <crate::cli::Cli as clap::Parser>::try_parse_from(args).unwrap_err();
        near_tips_only(e, &crate::cli::Cli::command()).to_string()
    }

    #[test]
    fn far_tips_are_dropped_near_ones_kept() {
        let far = error_for(&["ferry", "mirror", "--force", "x", "--to", "r"]);
        assert!(far.contains("'--force'") && !far.contains("tip"), "{far}");
        assert!(
            far.contains("Usage: ferry mirror ") && !far.contains("source-mirror"),
            "{far}"
        );
        let far = error_for(&["ferry", "push", "--creds", "a:b", "x", "--to", "r"]);
        assert!(
            far.contains("'--creds'") && !far.contains("certs-dir"),
            "{far}"
        );
        let near = error_for(&["ferry", "mirror", "--platfrom", "linux/amd64", "--to", "r"]);
        assert!(
            near.contains("tip") && near.contains("'--platform'"),
            "{near}"
        );
    }

    #[test]
    fn habits_from_other_tools_get_the_ferry_way() {
        let force = error_for(&["ferry", "install", "b.tar", "--to", "r", "--force"]);
        assert!(
            force.contains("tip: ") && force.contains("--force-conflicts"),
            "{force}"
        );
        assert!(!force.contains("-- --force"), "{force}");
        let login = error_for(&["ferry", "login", "h", "-u", "a", "-p", "pw"]);
        assert!(
            login.contains("--password-stdin") && !login.contains("'-- -p'"),
            "{login}"
        );
        let crane = error_for(&["ferry", "push", "b.tar", "reg.local"]);
        assert!(crane.contains("--to reg.local"), "{crane}");
        let insecure = error_for(&["ferry", "mirror", "x", "--to", "r", "--insecure"]);
        assert!(insecure.contains("--insecure-registry HOST"), "{insecure}");
        // Not a habit: clap's own handling stays.
        let other = error_for(&["ferry", "scan", "--frobnicate"]);
        assert!(other.contains("'--frobnicate'"), "{other}");
        for habit in [
            "--force-conflicts",
            "--password-stdin",
            "--insecure-registry",
            "with --to",
        ] {
            assert!(!other.contains(habit), "{other}");
        }
    }
}
