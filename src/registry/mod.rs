//! The registry client: the OCI distribution API for one host, with auth, TLS, the
//! loopback/insecure HTTP rule, and retries with backoff on transient failures.
//!
//! Hand-written on reqwest rather than oci-client: mounts need a token with two repository
//! scopes, token and 401 errors must surface, and uploads stream a verified source body
//! straight into a monolithic PUT.

pub mod auth;
pub mod config;
mod retry;
pub mod transport;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode, Url};
use tokio::sync::OnceCell;

pub use auth::{Credentials, Scopes};
pub use retry::RetryPolicy;
pub use transport::TransportOptions;

use crate::digest::Digest;
use crate::manifest::{ACCEPT as MANIFEST_TYPES, ManifestError};
use crate::reference::DOCKER_HUB;
use auth::{Challenge, Token, TokenResponse, parse_challenge};

/// Largest manifest we read (Distribution's own limit is 4 MiB).
const MAX_MANIFEST_BYTES: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Config(String),
    #[error("{host}: {message}")]
    Transport { host: String, message: String },
    #[error("{host}: authentication failed: {message}")]
    Unauthorized { host: String, message: String },
    #[error("{host}: {what} not found")]
    NotFound { host: String, what: String },
    #[error("{host}: {method} {path}: {status}{detail}")]
    Status {
        host: String,
        method: Method,
        path: String,
        status: StatusCode,
        detail: String,
    },
    #[error("integrity: {0}")]
    Integrity(String),
    /// The source archive cannot be read as needed.
    #[error("{0}")]
    Archive(String),
    #[error("{host}: {source}")]
    Manifest {
        host: String,
        #[source]
        source: ManifestError,
    },
}

impl RegistryError {
    pub fn is_integrity(&self) -> bool {
        matches!(self, RegistryError::Integrity(_))
    }
    /// Worth trying again: connection trouble, 5xx, 429, or bytes that did not verify.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Transport { .. } | RegistryError::Integrity(_) => true,
            RegistryError::Status { status, .. } => retry::transient_status(*status),
            _ => false,
        }
    }
}

/// A manifest as fetched: the exact bytes, their media type and digest.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Bytes,
    pub media_type: Option<String>,
    pub digest: Digest,
}

#[derive(Default)]
struct AuthState {
    challenge: Option<Challenge>,
    tokens: HashMap<Scopes, Token>,
}

/// A client for one registry host.
pub struct Registry {
    /// The host as written in references (`docker.io`, `127.0.0.1:5000`).
    host: String,
    api_host: String,
    client: reqwest::Client,
    allow_http: bool,
    base: OnceCell<Url>,
    credentials: Credentials,
    auth: Mutex<AuthState>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({})", self.host)
    }
}

/// Settings every registry of a run shares.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    pub transport: TransportOptions,
    /// Credential files in lookup order (see [`config::config_files`]).
    pub config_files: Vec<PathBuf>,
    pub retry: RetryPolicy,
}

/// The registries of one run, one client per host, created on first use.
#[derive(Debug, Default)]
pub struct Registries {
    options: RegistryOptions,
    clients: Mutex<HashMap<String, Arc<Registry>>>,
}

impl Registries {
    pub fn new(options: RegistryOptions) -> Self {
        Registries {
            options,
            clients: Mutex::default(),
        }
    }

    pub fn get(&self, host: &str) -> Result<Arc<Registry>, RegistryError> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = clients.get(host) {
            return Ok(r.clone());
        }
        let credentials = config::credentials_for(host, &self.options.config_files)
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        let r = Arc::new(Registry::new(host, credentials, &self.options)?);
        clients.insert(host.to_string(), r.clone());
        Ok(r)
    }
}

fn status_detail(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_str::<Errors>(body) {
        Ok(e) if !e.errors.is_empty() => {
            let parts: Vec<String> = e
                .errors
                .iter()
                .map(|x| {
                    format!(
                        "{}{}",
                        x.code.as_deref().unwrap_or(""),
                        x.message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            format!(" ({})", parts.join("; "))
        }
        _ => {
            let t = body.trim();
            if t.is_empty() || t.len() > 300 {
                String::new()
            } else {
                format!(" ({t})")
            }
        }
    }
}

impl Registry {
    pub fn new(
        host: &str,
        credentials: Credentials,
        options: &RegistryOptions,
    ) -> Result<Self, RegistryError> {
        let api_host = if host == DOCKER_HUB {
            crate::reference::DOCKER_HUB_API_HOST
        } else {
            host
        };
        Ok(Registry {
            host: host.to_string(),
            api_host: api_host.to_string(),
            client: transport::client_for(api_host, &options.transport)?,
            allow_http: transport::is_loopback(host) || options.transport.is_insecure(host),
            base: OnceCell::new(),
            credentials,
            auth: Mutex::default(),
            retry: options.retry.clone(),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn transport_error(&self, e: &reqwest::Error) -> RegistryError {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        RegistryError::Transport {
            host: self.host.clone(),
            message,
        }
    }

    /// The base URL, decided on first use with a `GET /v2/` ping: HTTPS, or plain HTTP for
    /// loopback and `--insecure-registry` hosts that do not speak TLS. Records the auth challenge.
    async fn base(&self) -> Result<&Url, RegistryError> {
        self.base
            .get_or_try_init(|| async {
                let https = Url::parse(&format!("https://{}/", self.api_host))
                    .map_err(|e| RegistryError::Config(format!("{}: {e}", self.host)))?;
                // Where plain HTTP is allowed, a failed TLS probe is an answer, not a fault to retry.
                let https_err = match self.ping(&https, !self.allow_http).await {
                    Ok(()) => return Ok(https),
                    Err(e) if !self.allow_http => return Err(e),
                    Err(e) => e,
                };
                let http = Url::parse(&format!("http://{}/", self.api_host))
                    .map_err(|e| RegistryError::Config(format!("{}: {e}", self.host)))?;
                match self.ping(&http, true).await {
                    Ok(()) => Ok(http),
                    Err(_) => Err(https_err),
                }
            })
            .await
    }

    async fn ping(&self, base: &Url, retry: bool) -> Result<(), RegistryError> {
        let url = base
            .join("v2/")
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        let sent = if retry {
            self.retry.run(|| self.client.get(url.clone()).send()).await
        } else {
            self.client.get(url.clone()).send().await
        };
        let resp = sent.map_err(|e| match self.transport_error(&e) {
            // TLS 1.3 servers refuse a missing client certificate after the handshake, so
            // all the client sees is a closed connection.
            RegistryError::Transport { host, message }
                if base.scheme() == "https"
                    && ["closed", "broken pipe", "reset by peer"]
                        .iter()
                        .any(|m| message.contains(m)) =>
            {
                RegistryError::Transport {
                    host,
                    message: format!(
                        "{message} (the registry dropped the connection during or right after \
                         the TLS handshake: if it requires a client certificate, put client.cert \
                         and client.key in certs.d/HOST/ or a --certs-dir)"
                    ),
                }
            }
            other => other,
        })?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => {
                self.note_challenge(resp.headers());
                Ok(())
            }
            status => Err(RegistryError::Status {
                host: self.host.clone(),
                method: Method::GET,
                path: "/v2/".into(),
                status,
                detail: status_detail(&resp.text().await.unwrap_or_default()),
            }),
        }
    }

    fn lock_auth(&self) -> std::sync::MutexGuard<'_, AuthState> {
        // The auth cache is plain data: a panic elsewhere cannot leave it inconsistent.
        self.auth.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note_challenge(&self, headers: &HeaderMap) {
        if let Some(c) = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_challenge)
        {
            self.lock_auth().challenge = Some(c);
        }
    }

    /// The `Authorization` header for a request needing `scopes`, fetching a token if needed.
    async fn authorization(&self, scopes: &Scopes) -> Result<Option<String>, RegistryError> {
        let challenge = {
            let state = self.lock_auth();
            match &state.challenge {
                None => return Ok(None),
                Some(Challenge::Basic) => return Ok(self.credentials.basic_header()),
                Some(Challenge::Bearer { .. }) => {
                    if let Some(t) = state
                        .tokens
                        .get(scopes)
                        .filter(|t| t.expires > std::time::Instant::now())
                    {
                        return Ok(Some(format!("Bearer {}", t.value)));
                    }
                    state.challenge.clone()
                }
            }
        };
        let Some(Challenge::Bearer { realm, service, .. }) = challenge else {
            return Ok(None);
        };
        let token = self.fetch_token(&realm, service.as_deref(), scopes).await?;
        let header = format!("Bearer {}", token.value);
        self.lock_auth().tokens.insert(scopes.clone(), token);
        Ok(Some(header))
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scopes: &Scopes,
    ) -> Result<Token, RegistryError> {
        let unauthorized = |message: String| RegistryError::Unauthorized {
            host: self.host.clone(),
            message,
        };
        let mut url = Url::parse(realm)
            .map_err(|e| unauthorized(format!("bad token realm {realm:?}: {e}")))?;
        let resp = match &self.credentials {
            Credentials::IdentityToken(refresh) => {
                let scope = scopes.iter().collect::<Vec<_>>().join(" ");
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("client_id", "ferry"),
                    ("scope", scope.as_str()),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                let body = form
                    .iter()
                    .map(|(k, v)| format!("{k}={}", urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                self.retry
                    .run(|| {
                        self.client
                            .post(url.clone())
                            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                            .body(body.clone())
                            .send()
                    })
                    .await
            }
            creds => {
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    for s in scopes.iter() {
                        q.append_pair("scope", s);
                    }
                }
                let basic = creds.basic_header();
                self.retry
                    .run(|| {
                        let mut req = self.client.get(url.clone());
                        if let Some(b) = &basic {
                            req = req.header(AUTHORIZATION, b);
                        }
                        req.send()
                    })
                    .await
            }
        }
        .map_err(|e| self.transport_error(&e))?;
        let status = resp.status();
        if !status.is_success() {
            let detail = status_detail(&resp.text().await.unwrap_or_default());
            return Err(unauthorized(format!(
                "token server answered {status}{detail}"
            )));
        }
        let body = resp.bytes().await.map_err(|e| self.transport_error(&e))?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| unauthorized(format!("bad token response: {e}")))?;
        parsed
            .into_token()
            .ok_or_else(|| unauthorized("token server returned no token".into()))
    }

    /// Sends a request (rebuilt for each try) with auth; retries transient failures and
    /// a 401 once with fresh credentials.
    async fn send(
        &self,
        method: Method,
        url: Url,
        scopes: &Scopes,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut renewed = false;
        loop {
            let auth = self.authorization(scopes).await?;
            let resp = self
                .retry
                .run(|| {
                    let mut req = build(self.client.request(method.clone(), url.clone()));
                    if let Some(a) = &auth {
                        req = req.header(AUTHORIZATION, a);
                    }
                    req.send()
                })
                .await
                .map_err(|e| self.transport_error(&e))?;
            if resp.status() == StatusCode::UNAUTHORIZED {
                if !renewed {
                    renewed = true;
                    self.lock_auth().tokens.remove(scopes);
                    self.note_challenge(resp.headers());
                    continue;
                }
                let detail = status_detail(&resp.text().await.unwrap_or_default());
                return Err(RegistryError::Unauthorized {
                    host: self.host.clone(),
                    message: format!("{method} {}: 401{detail}", url.path()),
                });
            }
            return Ok(resp);
        }
    }

    async fn url(&self, path: &str) -> Result<Url, RegistryError> {
        self.base()
            .await?
            .join(path)
            .map_err(|e| RegistryError::Config(format!("{}: {e}", self.host)))
    }

    async fn fail(&self, method: Method, url: &Url, resp: Response) -> RegistryError {
        let status = resp.status();
        let detail = status_detail(&resp.text().await.unwrap_or_default());
        RegistryError::Status {
            host: self.host.clone(),
            method,
            path: url.path().to_string(),
            status,
            detail,
        }
    }

    /// Checks that the credentials are accepted, as `docker login` does: a token for no
    /// particular scope on token registries, an authenticated `GET /v2/` on Basic ones.
    pub async fn check_credentials(&self) -> Result<(), RegistryError> {
        let base = self.base().await?.clone();
        let challenge = self.lock_auth().challenge.clone();
        match challenge {
            None => Ok(()),
            Some(Challenge::Bearer { realm, service, .. }) => self
                .fetch_token(&realm, service.as_deref(), &Scopes::default())
                .await
                .map(|_| ()),
            Some(Challenge::Basic) => {
                let url = base
                    .join("v2/")
                    .map_err(|e| RegistryError::Config(e.to_string()))?;
                let resp = self
                    .send(Method::GET, url.clone(), &Scopes::default(), |r| r)
                    .await?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(self.fail(Method::GET, &url, resp).await)
                }
            }
        }
    }

    /// Fetches a manifest by tag or digest, verifying its digest.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Fetched, RegistryError> {
        let url = self
            .url(&format!("v2/{repo}/manifests/{reference}"))
            .await?;
        let resp = self
            .send(Method::GET, url.clone(), &Scopes::pull(repo), |r| {
                r.header(ACCEPT, MANIFEST_TYPES.join(", "))
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                host: self.host.clone(),
                what: format!("manifest {repo}:{reference}"),
            });
        }
        if !resp.status().is_success() {
            return Err(self.fail(Method::GET, &url, resp).await);
        }
        let header_digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let media_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if resp
            .content_length()
            .is_some_and(|n| n as usize > MAX_MANIFEST_BYTES)
        {
            return Err(RegistryError::Integrity(format!(
                "{repo}:{reference}: manifest larger than 4 MiB"
            )));
        }
        let bytes = resp.bytes().await.map_err(|e| self.transport_error(&e))?;
        let digest = Digest::of(&bytes);
        if reference.starts_with("sha256:") && reference != digest.as_str() {
            return Err(RegistryError::Integrity(format!(
                "{}/{repo}@{reference}: manifest bytes hash to {digest}",
                self.host
            )));
        }
        if let Some(h) = header_digest.filter(|h| h.starts_with("sha256:"))
            && h != digest.as_str()
        {
            return Err(RegistryError::Integrity(format!(
                "{}/{repo}:{reference}: registry says {h}, bytes hash to {digest}",
                self.host
            )));
        }
        Ok(Fetched {
            bytes,
            media_type,
            digest,
        })
    }

    /// The digest a tag or digest resolves to, if it exists.
    pub async fn head_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        let url = self
            .url(&format!("v2/{repo}/manifests/{reference}"))
            .await?;
        let resp = self
            .send(Method::HEAD, url.clone(), &Scopes::pull(repo), |r| {
                r.header(ACCEPT, MANIFEST_TYPES.join(", "))
            })
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())),
            _ => Err(self.fail(Method::HEAD, &url, resp).await),
        }
    }

    /// Pushes manifest bytes as they are, by tag or digest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        bytes: &Bytes,
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let url = self
            .url(&format!("v2/{repo}/manifests/{reference}"))
            .await?;
        let resp = self
            .send(Method::PUT, url.clone(), &Scopes::push(repo), |r| {
                r.header(CONTENT_TYPE, media_type).body(bytes.clone())
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.fail(Method::PUT, &url, resp).await);
        }
        let digest = Digest::of(bytes);
        if let Some(h) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && h != digest.as_str()
        {
            return Err(RegistryError::Integrity(format!(
                "{}/{repo}:{reference}: stored as {h}, pushed {digest}",
                self.host
            )));
        }
        Ok(digest)
    }

    /// The size of a blob if the repository has it.
    pub async fn blob_size(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<u64>, RegistryError> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}")).await?;
        let resp = self
            .send(Method::HEAD, url.clone(), &Scopes::pull(repo), |r| r)
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(
                resp.headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            _ => Err(self.fail(Method::HEAD, &url, resp).await),
        }
    }

    /// Starts streaming a blob; the caller verifies the bytes.
    pub async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<Response, RegistryError> {
        let url = self.url(&format!("v2/{repo}/blobs/{digest}")).await?;
        let resp = self
            .send(Method::GET, url.clone(), &Scopes::pull(repo), |r| r)
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Err(RegistryError::NotFound {
                host: self.host.clone(),
                what: format!("blob {digest} in {repo}"),
            }),
            s if s.is_success() => Ok(resp),
            _ => Err(self.fail(Method::GET, &url, resp).await),
        }
    }

    fn location(&self, url: &Url, resp: &Response) -> Result<Url, RegistryError> {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Transport {
                host: self.host.clone(),
                message: format!("POST {}: no Location for the upload", url.path()),
            })?;
        url.join(loc).map_err(|e| RegistryError::Transport {
            host: self.host.clone(),
            message: format!("bad upload Location {loc:?}: {e}"),
        })
    }

    /// Mounts a blob from another repository of this registry. False (after cancelling any
    /// upload session opened instead) when the registry would not mount it.
    pub async fn mount_blob(
        &self,
        repo: &str,
        from: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let mut url = self.url(&format!("v2/{repo}/blobs/uploads/")).await?;
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from);
        let resp = match self
            .send(Method::POST, url.clone(), &Scopes::mount(repo, from), |r| r)
            .await
        {
            Ok(r) => r,
            Err(RegistryError::Unauthorized { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Ok(loc) = self.location(&url, &resp) {
                    let _ = self
                        .send(Method::DELETE, loc, &Scopes::push(repo), |r| r)
                        .await;
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Uploads a blob from a stream in one PUT (POST for a session, then PUT with the digest).
    /// Not retried here: the body can be read only once; callers retry the whole transfer.
    pub async fn push_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        body: reqwest::Body,
    ) -> Result<(), RegistryError> {
        let scopes = Scopes::push(repo);
        let url = self.url(&format!("v2/{repo}/blobs/uploads/")).await?;
        let resp = self
            .send(Method::POST, url.clone(), &scopes, |r| {
                r.header(CONTENT_LENGTH, 0)
            })
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.fail(Method::POST, &url, resp).await);
        }
        let mut put = self.location(&url, &resp)?;
        put.query_pairs_mut().append_pair("digest", digest.as_str());
        let auth = self.authorization(&scopes).await?;
        let mut req = self
            .client
            .put(put.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(body);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        let resp = req.send().await.map_err(|e| self.transport_error(&e))?;
        if resp.status() != StatusCode::CREATED {
            return Err(match self.fail(Method::PUT, &put, resp).await {
                // The registry hashed what arrived and it was not the blob.
                RegistryError::Status { detail, .. } if detail.contains("DIGEST_INVALID") => {
                    RegistryError::Integrity(format!(
                        "{}/{repo}: upload of {digest} rejected{detail}",
                        self.host
                    ))
                }
                other => other,
            });
        }
        Ok(())
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
