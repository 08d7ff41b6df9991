//! `ferry login`: check credentials against the registry, then store them as `docker login` does.

use std::io::Read;

use anyhow::{Context, Result};

use super::options::registry_options;
use crate::cli::LoginArgs;
use crate::exit::{Exit, Failure};
use crate::registry::{Credentials, Registry, config};

pub fn run(args: &LoginArgs) -> Result<Exit> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(Failure::new(Exit::Usage, "empty password on standard input").into());
    }
    let host = match args.host.trim_end_matches('/') {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        h => h.strip_prefix("https://").unwrap_or(h),
    };
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
    let stored = config::store_credentials(&file, host, &args.username, &password)
        .map_err(|e| Failure::new(Exit::InvalidInput, crate::exit::render(&e)))?;
    match stored {
        config::Stored::File => eprintln!(
            "Login Succeeded: credentials for {host} saved in {}",
            file.display()
        ),
        config::Stored::Helper(h) => eprintln!(
            "Login Succeeded: credentials for {host} saved with docker-credential-{h} (named by {})",
            file.display()
        ),
    }
    Ok(Exit::Success)
}
