//! How to reach a registry host: TLS roots (system, `--ca-file`, `certs.d`), the
//! `--insecure-registry` exception, and plain HTTP on loopback.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::RegistryError;

/// Registry options shared by every command that talks to a registry.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// Extra CA certificates (PEM) trusted for every host.
    pub ca_files: Vec<PathBuf>,
    /// Hosts (`host[:port]`) that may use plain HTTP or unverified TLS.
    pub insecure: Vec<String>,
    /// Directories holding `HOST/*.crt` (default: `/etc/docker/certs.d`, `/etc/containers/certs.d`).
    pub certs_dirs: Vec<PathBuf>,
}

impl TransportOptions {
    pub fn with_default_certs_dirs(mut self) -> Self {
        self.certs_dirs = vec![
            "/etc/docker/certs.d".into(),
            "/etc/containers/certs.d".into(),
        ];
        self
    }

    pub fn is_insecure(&self, host: &str) -> bool {
        self.insecure.iter().any(|h| h == host)
    }
}

/// True for `localhost`, `127.0.0.0/8` and `::1`, with or without a port.
pub fn is_loopback(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
        return true;
    }
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn certs_for(
    host: &str,
    opts: &TransportOptions,
) -> Result<Vec<reqwest::Certificate>, RegistryError> {
    let mut files: Vec<PathBuf> = opts.ca_files.clone();
    for dir in &opts.certs_dirs {
        let dir = dir.join(host);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "crt"))
                .collect();
            found.sort();
            files.extend(found);
        }
    }
    let mut certs = Vec::new();
    for file in files {
        certs.extend(read_pem(&file)?);
    }
    Ok(certs)
}

fn read_pem(file: &Path) -> Result<Vec<reqwest::Certificate>, RegistryError> {
    let bad = |message: String| RegistryError::Config(format!("{}: {message}", file.display()));
    let bytes = std::fs::read(file).map_err(|e| bad(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in file".into()));
    }
    Ok(certs)
}

/// An HTTP client for one host. `accept_invalid` only for `--insecure-registry` hosts.
pub fn client_for(host: &str, opts: &TransportOptions) -> Result<reqwest::Client, RegistryError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(32);
    let certs = certs_for(host, opts)?;
    if !certs.is_empty() {
        builder = builder.tls_certs_merge(certs);
    }
    if opts.is_insecure(host) {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    // HTTP(S)_PROXY / NO_PROXY apply as reqwest reads them, except to loopback: Go's clients
    // (docker, skopeo, crane) never proxy it, and a local registry must not depend on a proxy.
    if is_loopback(host) {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| RegistryError::Config(format!("TLS setup for {host}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "quay.io",
            "10.0.0.1:5000",
            "localhost.example.com",
            "[2001:db8::1]:5000",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn a_bad_ca_file_is_an_error_naming_it() {
        let f = std::env::temp_dir().join(format!("ferry-bad-ca-{}.pem", std::process::id()));
        std::fs::write(&f, "not a certificate").unwrap();
        let opts = TransportOptions {
            ca_files: vec![f.clone()],
            ..Default::default()
        };
        let err = client_for("reg.example.com", &opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&f.display().to_string()), "{err}");
    }
}
