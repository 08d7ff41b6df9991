//! `ferry login`: check credentials against the registry, then store them as `docker login`
//! does; `ferry logout` takes them away again.

use std::io::Read;

use anyhow::{Context, Result};

use super::options::registry_options;
use crate::cli::{LoginArgs, LogoutArgs};
use crate::exit::{Exit, Failure};
use ferry_oci::registry::{Credentials, Registry, config, credstore};

pub(super) fn run(args: &LoginArgs) -> Result<Exit> {
    let host = host_of(&args.host);
    let password = password(args, host)?;
    let credentials = Credentials::Basic {
        username: args.username.clone(),
        password: password.clone(),
    };
    let registry = Registry::new(host, credentials, &registry_options(&args.registry))
        .map_err(|e| Failure::new(Exit::InvalidInput, e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime
        .block_on(registry.check_credentials())
        .map_err(|e| Failure::new(Exit::Registry, e.to_string()))
        .with_context(|| format!("login to {host} failed"))?;
    let file = args
        .registry
        .registry_config
        .clone()
        .unwrap_or_else(config::default_docker_config);
    let stored = credstore::store_credentials(&file, host, &args.username, &password)
        .map_err(|e| Failure::new(Exit::InvalidInput, ferry_core::error::chain(&e)))?;
    match stored {
        credstore::Stored::File => eprintln!(
            "Login Succeeded: credentials for {host} saved in {}",
            file.display()
        ),
        credstore::Stored::Helper(h) => eprintln!(
            "Login Succeeded: credentials for {host} saved with docker-credential-{h} (named by {})",
            file.display()
        ),
    }
    Ok(Exit::Success)
}

/// The password: from standard input with `--password-stdin`, else asked for on the
/// terminal without echo (as `docker login -u USER` asks); never from the command line.
fn password(args: &LoginArgs, host: &str) -> Result<String> {
    use std::io::IsTerminal;
    let (password, from) = if args.password_stdin {
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .context("cannot read the password from standard input")?;
        (password, "standard input")
    } else if std::io::stdin().is_terminal() {
        let asked = rpassword::prompt_password(format!("Password for {}@{host}: ", args.username))
            .context("cannot read the password from the terminal")?;
        (asked, "the terminal")
    } else {
        return Err(Failure::new(
            Exit::Usage,
            "no password: pipe it in with --password-stdin (printf '%s' \"$PASSWORD\" | ferry login HOST -u USER --password-stdin), or run on a terminal to be asked",
        )
        .into());
    };
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(Failure::new(Exit::Usage, format!("empty password from {from}")).into());
    }
    Ok(password)
}

/// Normalizes a host as `docker login` accepts it (`https://`, Docker Hub's other names).
fn host_of(given: &str) -> &str {
    let h = given.trim_end_matches('/');
    ferry_core::reference::hub_normalized(h.strip_prefix("https://").unwrap_or(h))
}

pub(super) fn logout(args: &LogoutArgs) -> Result<Exit> {
    let host = host_of(&args.host);
    let file = args
        .registry_config
        .clone()
        .unwrap_or_else(config::default_docker_config);
    let removed = credstore::remove_credentials(&file, host)
        .map_err(|e| Failure::new(Exit::InvalidInput, ferry_core::error::chain(&e)))?;
    match removed {
        credstore::Removed::Nothing => eprintln!("Not logged in to {host} ({})", file.display()),
        credstore::Removed::Stored { helper: None } => {
            eprintln!(
                "Removing login credentials for {host} from {}",
                file.display()
            );
        }
        credstore::Removed::Stored { helper: Some(h) } => eprintln!(
            "Removing login credentials for {host} from docker-credential-{h} and {}",
            file.display()
        ),
    }
    Ok(Exit::Success)
}
