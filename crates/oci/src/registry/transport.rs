//! How to reach a registry host: TLS roots (system, `--ca-file`, `certs.d`), client
//! certificates (`certs.d`), the `--insecure-registry` exception, plain HTTP on loopback and
//! proxies.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::RegistryError;

/// Registry options shared by every command that talks to a registry.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// Extra CA certificates (PEM) trusted for every host.
    pub ca_files: Vec<PathBuf>,
    /// Hosts (`host[:port]`) that may use plain HTTP or unverified TLS.
    pub insecure: Vec<String>,
    /// Directories holding `HOST/*.crt` CAs and `HOST/*.cert` + `*.key` client certificates
    /// (default: `/etc/docker/certs.d`, `/etc/containers/certs.d`).
    pub certs_dirs: Vec<PathBuf>,
    /// How long a request other than a blob body may take, and how long a blob body may
    /// go without 64 KiB arriving (default [`DEFAULT_REQUEST_TIMEOUT`]).
    pub request_timeout: Option<Duration>,
}

/// A registry that has not answered a small request in a minute is stalled.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl TransportOptions {
    pub fn with_default_certs_dirs(mut self) -> Self {
        self.certs_dirs = vec![
            "/etc/docker/certs.d".into(),
            "/etc/containers/certs.d".into(),
        ];
        self
    }

    pub fn request_timeout(&self) -> Duration {
        self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT)
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

/// The files of `host`'s certs.d directories with this extension, sorted per directory.
fn host_files(host: &str, opts: &TransportOptions, extension: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in &opts.certs_dirs {
        if let Ok(entries) = std::fs::read_dir(dir.join(host)) {
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == extension))
                .collect();
            found.sort();
            files.extend(found);
        }
    }
    files
}

fn certs_for(
    host: &str,
    opts: &TransportOptions,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, RegistryError> {
    let mut files: Vec<PathBuf> = opts.ca_files.clone();
    files.extend(host_files(host, opts, "crt"));
    let mut certs = Vec::new();
    for file in files {
        certs.extend(super::tls::read_certs(&file)?);
    }
    Ok(certs)
}

type Identity = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

/// The client certificate for `host`: the first `*.cert` of its certs.d directories with
/// the `*.key` of the same name, as docker and podman pair them. Half a pair is an error.
fn identity_for(host: &str, opts: &TransportOptions) -> Result<Option<Identity>, RegistryError> {
    for key in host_files(host, opts, "key") {
        if !key.with_extension("cert").exists() {
            return Err(RegistryError::Config(format!(
                "{}: client key without its certificate (.cert)",
                key.display()
            )));
        }
    }
    let Some(cert) = host_files(host, opts, "cert").into_iter().next() else {
        return Ok(None);
    };
    super::tls::read_identity(&cert, &cert.with_extension("key")).map(Some)
}

/// Which requests a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Everything but blob uploads: no read may wait longer than the request timeout.
    Requests,
    /// Blob uploads: the server answers only when the whole body has arrived, which may
    /// take far longer than any read timeout (reqwest's counts from the request's start).
    Uploads,
}

/// An HTTP client for one host. Invalid certificates only for `--insecure-registry` hosts.
pub fn client_for(
    host: &str,
    opts: &TransportOptions,
    usage: Use,
) -> Result<reqwest::Client, RegistryError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15).min(opts.request_timeout()))
        .pool_max_idle_per_host(32)
        .dns_resolver(std::sync::Arc::new(super::resolve::SystemResolver));
    if usage == Use::Requests {
        builder = builder.read_timeout(opts.request_timeout());
    }
    let tls = super::tls::config(
        host,
        certs_for(host, opts)?,
        identity_for(host, opts)?,
        opts.is_insecure(host),
    )?;
    builder = builder.tls_backend_preconfigured(tls);
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
    fn half_a_client_certificate_pair_is_an_error_naming_it() {
        let scratch = ferry_core::scratch::ScratchDir::for_test("certs");
        let root = scratch.to_path_buf();
        let host = root.join("reg.example.com");
        std::fs::create_dir_all(&host).unwrap();
        let opts = TransportOptions {
            certs_dirs: vec![root.clone()],
            ..Default::default()
        };
        assert!(identity_for("reg.example.com", &opts).unwrap().is_none());
        std::fs::write(host.join("client.key"), "key").unwrap();
        let err = identity_for("reg.example.com", &opts)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("client.key") && err.contains("without its certificate"),
            "{err}"
        );
        std::fs::write(host.join("client.cert"), "not pem").unwrap();
        let err = identity_for("reg.example.com", &opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains("client.cert") && err.contains("PEM"), "{err}");
        assert!(identity_for("other.example.com", &opts).unwrap().is_none());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_bad_ca_file_is_an_error_naming_it() {
        let scratch = ferry_core::scratch::ScratchDir::for_test("bad-ca");
        let f = scratch.join("ca.pem");
        std::fs::write(&f, "not a certificate").unwrap();
        let opts = TransportOptions {
            ca_files: vec![f.clone()],
            ..Default::default()
        };
        let err = client_for("reg.example.com", &opts, Use::Requests)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&f.display().to_string()), "{err}");
    }
}
