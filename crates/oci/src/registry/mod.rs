//! The registry client: the OCI distribution API for one host, with auth, TLS, the
//! loopback/insecure HTTP rule, and retries with backoff on transient failures.
//!
//! Hand-written on reqwest rather than oci-client: mounts need a token with two repository
//! scopes, token and 401 errors must surface, and uploads stream a verified source body
//! straight into a monolithic PUT.

pub mod auth;
pub mod body;
pub mod config;
mod content;
pub mod credstore;
pub mod resolve;
pub mod resume;
mod retry;
mod tls;
pub mod transport;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};
use tokio::sync::OnceCell;

pub use auth::{Credentials, Scopes};
pub use retry::RetryPolicy;
pub use transport::TransportOptions;

use auth::{Challenge, Token, TokenResponse, parse_challenge};
use ferry_core::digest::Digest;
use ferry_core::reference::DOCKER_HUB;

/// Largest manifest we read (Distribution's own limit is 4 MiB).
const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// Tokens are a few KiB; a megabyte is already absurd.
const TOKEN_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Config(String),
    #[error("{host}: {message}")]
    /// `retried`: the request was already tried as often as the retry policy allows.
    Transport {
        host: String,
        message: String,
        retried: bool,
    },
    #[error("{host}: authentication failed: {message}{}", sent_words(host, sent))]
    Unauthorized {
        host: String,
        message: String,
        /// Where the credentials that were sent came from; None when none were sent.
        sent: Option<String>,
    },
    #[error("{host}: {what} not found")]
    NotFound { host: String, what: String },
    #[error("{host}: {method} {path}: {status}{detail}")]
    Status {
        host: String,
        method: Method,
        path: String,
        status: StatusCode,
        detail: Box<Detail>,
        retried: bool,
    },
    #[error("integrity: {0}")]
    Integrity(String),
}

impl RegistryError {
    pub fn is_integrity(&self) -> bool {
        matches!(self, RegistryError::Integrity(_))
    }
    /// Marks a transport or status error as one the retry policy already tried again
    /// (`yes`), so that callers retrying a whole operation do not try it again.
    pub fn retried(mut self, yes: bool) -> Self {
        if let RegistryError::Transport { retried, .. } | RegistryError::Status { retried, .. } =
            &mut self
        {
            *retried = yes;
        }
        self
    }

    /// What kind of failure this is (the edge maps it to an exit code).
    pub fn category(&self) -> ferry_core::error::Category {
        match self {
            RegistryError::Integrity(_) => ferry_core::error::Category::Integrity,
            _ => ferry_core::error::Category::Registry,
        }
    }
    /// Worth trying again: connection trouble, 5xx, 429, or bytes that did not verify.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Transport { retried, .. } => !retried,
            RegistryError::Integrity(_) => true,
            RegistryError::Status {
                status, retried, ..
            } => !retried && retry::transient_status(*status),
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
    /// One token request per scope set at a time: the others wait for its answer.
    fetching: HashMap<Scopes, Arc<tokio::sync::Mutex<()>>>,
}

impl AuthState {
    fn cached(&self, scopes: &Scopes) -> Option<String> {
        self.tokens
            .get(scopes)
            .filter(|t| t.expires > std::time::Instant::now())
            .map(|t| format!("Bearer {}", t.value))
    }
}

/// A client for one registry host.
pub struct Registry {
    /// The host as written in references (`docker.io`, `127.0.0.1:5000`).
    host: String,
    api_host: String,
    client: reqwest::Client,
    /// For blob bodies going up: no read timeout (see [`transport::Use::Uploads`]).
    upload_client: reqwest::Client,
    allow_http: bool,
    /// `--insecure-registry` hosts: a token realm on one of them may be plain HTTP.
    insecure: Vec<String>,
    /// The deadline of each request other than a blob body; also the period in which a blob
    /// body must move 64 KiB.
    timeout: std::time::Duration,
    base: OnceCell<Url>,
    /// Why the ping failed, once it has (retries included): every later request fails the
    /// same way at once instead of waiting through its own retries.
    unreachable: std::sync::OnceLock<String>,
    /// Whether the referrers API answers, once a request has told.
    referrers_api: std::sync::OnceLock<bool>,
    /// Held by the first referrers request, so the ones behind it wait for its answer
    /// instead of each asking a registry that has no such API.
    referrers_probe: tokio::sync::Mutex<()>,
    credentials: Credentials,
    /// The credentials file they came from (None: given directly, or none found).
    pub credentials_from: Option<std::path::PathBuf>,
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

/// What an authentication failure says of the credentials: refused ones named with their
/// file, and the way on in both cases.
fn sent_words(host: &str, sent: &Option<String>) -> String {
    match sent {
        Some(from) => format!(
            " (the credentials for {host} from {from} were refused: ferry login {host} replaces them)"
        ),
        None => format!(" (no credentials for {host} were found: ferry login {host})"),
    }
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
        let (credentials, from) = config::credentials_and_file(host, &self.options.config_files)
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        let mut r = Registry::new(host, credentials, &self.options)?;
        r.credentials_from = from;
        let r = Arc::new(r);
        clients.insert(host.to_string(), r.clone());
        Ok(r)
    }

    /// The digest `reference` names where it is (its digest, else its tag, else `latest`),
    /// or `None` when it names nothing there.
    pub async fn digest_of(
        &self,
        reference: &ferry_core::reference::Reference,
    ) -> Result<Option<ferry_core::digest::Digest>, RegistryError> {
        self.get(reference.registry())?
            .head_manifest(reference.repository(), reference.manifest_ref())
            .await
    }
}

/// What a registry's error body said: its `errors[].code` values (`DIGEST_INVALID`,
/// `TOOMANYREQUESTS`, ...), kept as values so decisions match on them, and the text shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detail {
    pub codes: Vec<String>,
    /// ` (CODE: message; ...)`, or the body itself when short, or nothing.
    text: String,
}

impl Detail {
    /// Whether the registry answered with error `code`.
    pub fn has(&self, code: &str) -> bool {
        self.codes.iter().any(|c| c == code)
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The error body of a registry's answer, as the distribution spec shapes it.
fn status_detail(body: &str) -> Box<Detail> {
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
            Box::new(Detail {
                codes: e.errors.into_iter().filter_map(|x| x.code).collect(),
                text: format!(" ({})", parts.join("; ")),
            })
        }
        _ => {
            let t = body.trim();
            let text = if t.is_empty() || t.len() > 300 {
                String::new()
            } else {
                format!(" ({t})")
            };
            Box::new(Detail {
                codes: Vec::new(),
                text,
            })
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
            ferry_core::reference::DOCKER_HUB_API_HOST
        } else {
            host
        };
        Ok(Registry {
            credentials_from: None,
            host: host.to_string(),
            api_host: api_host.to_string(),
            client: transport::client_for(api_host, &options.transport, transport::Use::Requests)?,
            upload_client: transport::client_for(
                api_host,
                &options.transport,
                transport::Use::Uploads,
            )?,
            allow_http: transport::is_loopback(host) || options.transport.is_insecure(host),
            insecure: options.transport.insecure.clone(),
            timeout: options.transport.request_timeout(),
            base: OnceCell::new(),
            unreachable: std::sync::OnceLock::new(),
            referrers_api: std::sync::OnceLock::new(),
            referrers_probe: tokio::sync::Mutex::new(()),
            credentials,
            auth: Mutex::default(),
            retry: options.retry.clone(),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The deadline of a request other than a blob body (see [`transport::TransportOptions`]).
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
    }

    /// Tells whoever hears of retries (`what` is a whole sentence of its own).
    pub(crate) fn tell(&self, what: &str) {
        if let Some(notice) = &self.retry.notice {
            notice(what);
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> RegistryError {
        let mut message = retry::words(e);
        // What a TLS failure means, and what to do about it.
        if let Some(tls) = ferry_core::error::find::<rustls::Error>(e) {
            let host = &self.host;
            let hint = if ferry_core::error::is_plain_http(tls) {
                format!(
                    "if {host} serves only HTTP, say so with --insecure-registry {host}: \
                     HTTP is tried only for such hosts and loopback"
                )
            } else if ferry_core::error::trusting_may_mend(tls) {
                format!(
                    "trust its CA with --ca-file FILE or a certs.d/{host}/ca.crt; \
                     --insecure-registry {host} skips verification"
                )
            } else {
                // Trusting another CA does not mend a certificate that is wrong in itself.
                format!(
                    "the certificate {host} serves must be mended there; \
                     --insecure-registry {host} skips verification"
                )
            };
            message = format!("{} ({hint})", ferry_core::error::tls_words(tls));
        }
        RegistryError::Transport {
            host: self.host.clone(),
            message,
            retried: false,
        }
    }

    /// The base URL, decided on first use with a `GET /v2/` ping: HTTPS, or plain HTTP for
    /// loopback and `--insecure-registry` hosts that do not speak TLS. Records the auth challenge.
    async fn base(&self) -> Result<&Url, RegistryError> {
        // Callers waiting on a first ping that failed find its answer here, not a ping of
        // their own (`get_or_try_init` lets each waiter try after a failure).
        let given_up = || {
            self.unreachable
                .get()
                .map(|message| RegistryError::Transport {
                    host: self.host.clone(),
                    message: message.clone(),
                    retried: true,
                })
        };
        if let Some(e) = given_up() {
            return Err(e);
        }
        self.base
            .get_or_try_init(|| async {
                if let Some(e) = given_up() {
                    return Err(e);
                }
                let found = self.probe().await;
                match &found {
                    Err(RegistryError::Transport { message, .. }) => {
                        let _ = self.unreachable.set(message.clone());
                    }
                    Err(RegistryError::Status {
                        method,
                        path,
                        status,
                        detail,
                        ..
                    }) => {
                        let _ = self
                            .unreachable
                            .set(format!("{method} {path}: {status}{detail}"));
                    }
                    _ => {}
                }
                found
            })
            .await
    }

    /// HTTPS, else (where allowed) plain HTTP: the first that answers the ping.
    async fn probe(&self) -> Result<Url, RegistryError> {
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
            // It answered in plain HTTP: that answer says more than the TLS failure, unless
            // it is a TLS server's 400 to a plain request.
            Err(e @ RegistryError::Status { status, .. }) if status != StatusCode::BAD_REQUEST => {
                Err(e)
            }
            // Neither answered: say what each attempt met, the last one included.
            Err(RegistryError::Transport {
                message: plain,
                retried,
                ..
            }) => match https_err {
                RegistryError::Transport { host, message, .. } => Err(RegistryError::Transport {
                    host,
                    message: format!("HTTPS: {message}; plain HTTP: {plain}"),
                    retried,
                }),
                other => Err(other),
            },
            Err(_) => Err(https_err),
        }
    }

    async fn ping(&self, base: &Url, retry: bool) -> Result<(), RegistryError> {
        let url = base
            .join("v2/")
            .map_err(|e| RegistryError::Config(e.to_string()))?;
        let started = std::time::Instant::now();
        let sent = if retry {
            retry::run(&self.retry, || {
                self.client.get(url.clone()).timeout(self.timeout).send()
            })
            .await
        } else {
            self.client
                .get(url.clone())
                .timeout(self.timeout)
                .send()
                .await
        };
        trace(&Method::GET, &url, started, &sent);
        let resp = sent
            .map_err(|e| match self.transport_error(&e) {
                // TLS 1.3 servers refuse a missing client certificate after the handshake, so
                // all the client sees is a closed connection.
                RegistryError::Transport { host, message, .. }
                    if base.scheme() == "https"
                        && ferry_core::error::is_cut_after_handshake(&e) =>
                {
                    RegistryError::Transport {
                        host,
                        retried: false,
                        message: format!(
                            "{message} (the registry dropped the connection during or right after \
                         the TLS handshake: if it requires a client certificate, put client.cert \
                         and client.key in certs.d/HOST/ or a --certs-dir)"
                        ),
                    }
                }
                other => other,
            })
            .map_err(|e| e.retried(retry))?;
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
                detail: status_detail(&body::error_text(resp).await),
                retried: retry,
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
                    if let Some(header) = state.cached(scopes) {
                        return Ok(Some(header));
                    }
                    state.challenge.clone()
                }
            }
        };
        let Some(Challenge::Bearer { realm, service, .. }) = challenge else {
            return Ok(None);
        };
        let gate = self
            .lock_auth()
            .fetching
            .entry(scopes.clone())
            .or_default()
            .clone();
        let _turn = gate.lock().await;
        // Whoever held the turn before may have fetched the token this request needs.
        if let Some(header) = self.lock_auth().cached(scopes) {
            return Ok(Some(header));
        }
        let token = self.fetch_token(&realm, service.as_deref(), scopes).await?;
        let header = format!("Bearer {}", token.value);
        self.lock_auth().tokens.insert(scopes.clone(), token);
        Ok(Some(header))
    }

    /// Where the credentials this client sends came from, for an authentication failure.
    fn sent(&self) -> Option<String> {
        match (&self.credentials, &self.credentials_from) {
            (Credentials::Anonymous, _) => None,
            (_, Some(file)) => Some(file.display().to_string()),
            (_, None) => Some("the command line".to_string()),
        }
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
            sent: self.sent(),
        };
        let mut url = Url::parse(realm)
            .map_err(|e| unauthorized(format!("bad token realm {realm:?}: {e}")))?;
        // Credentials for a registry reached over TLS never travel in clear, whatever realm
        // its challenge names.
        let realm_host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        if url.scheme() != "https"
            && !matches!(self.credentials, Credentials::Anonymous)
            && !self.allow_http
            && !transport::is_loopback(&realm_host)
            && !self.insecure.contains(&realm_host)
        {
            return Err(unauthorized(format!(
                "the token realm {realm} is plain HTTP: credentials are not sent to it in clear \
                 (name {realm_host} with --insecure-registry if that is intended)"
            )));
        }
        let started = std::time::Instant::now();
        let sent = match &self.credentials {
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
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&form)
                    .finish();
                retry::run(&self.retry, || {
                    self.client
                        .post(url.clone())
                        .timeout(self.timeout)
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
                retry::run(&self.retry, || {
                    let mut req = self.client.get(url.clone()).timeout(self.timeout);
                    if let Some(b) = &basic {
                        req = req.header(AUTHORIZATION, b);
                    }
                    req.send()
                })
                .await
            }
        };
        let method = match &self.credentials {
            Credentials::IdentityToken(_) => Method::POST,
            _ => Method::GET,
        };
        trace(&method, &url, started, &sent);
        let resp = sent.map_err(|e| self.transport_error(&e).retried(true))?;
        let status = resp.status();
        if !status.is_success() {
            let detail = status_detail(&body::error_text(resp).await);
            return Err(unauthorized(format!(
                "token server answered {status}{detail}"
            )));
        }
        let body = body::up_to(resp, TOKEN_BYTES)
            .await
            .map_err(|e| self.transport_error(&e))?
            .ok_or_else(|| unauthorized("token response larger than 1 MiB".into()))?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| unauthorized(format!("bad token response: {e}")))?;
        parsed
            .into_token()
            .ok_or_else(|| unauthorized("token server returned no token".into()))
    }

    /// Sends a request whose answer is small (rebuilt for each try) with auth, within the
    /// request deadline; retries transient failures and a 401 once with fresh credentials.
    async fn send(
        &self,
        method: Method,
        url: Url,
        scopes: &Scopes,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let deadline = self.timeout;
        self.send_open(method, url, scopes, |r| build(r).timeout(deadline))
            .await
    }

    /// [`Registry::send`] without a deadline on the whole answer: for a blob body, which
    /// may take as long as it keeps moving (the read timeout and [`body::steady`] watch it).
    async fn send_open(
        &self,
        method: Method,
        url: Url,
        scopes: &Scopes,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut renewed = false;
        loop {
            let auth = self.authorization(scopes).await?;
            let started = std::time::Instant::now();
            let sent = retry::run(&self.retry, || {
                let mut req = build(self.client.request(method.clone(), url.clone()));
                if let Some(a) = &auth {
                    req = req.header(AUTHORIZATION, a);
                }
                req.send()
            })
            .await;
            trace(&method, &url, started, &sent);
            let resp = sent.map_err(|e| self.transport_error(&e).retried(true))?;
            if resp.status() == StatusCode::UNAUTHORIZED {
                if !renewed {
                    renewed = true;
                    self.lock_auth().tokens.remove(scopes);
                    self.note_challenge(resp.headers());
                    continue;
                }
                let detail = status_detail(&body::error_text(resp).await);
                return Err(RegistryError::Unauthorized {
                    host: self.host.clone(),
                    message: format!("{method} {}: 401{detail}", url.path()),
                    sent: self.sent(),
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

    /// The error for a response `send` returned (so already retried where transient).
    async fn fail(&self, method: Method, url: &Url, resp: Response) -> RegistryError {
        let status = resp.status();
        let detail = status_detail(&body::error_text(resp).await);
        RegistryError::Status {
            host: self.host.clone(),
            method,
            path: url.path().to_string(),
            status,
            detail,
            retried: true,
        }
    }

    /// Reaches the registry (the ping that decides HTTPS or plain HTTP); credentials are
    /// not asked for.
    pub async fn reach(&self) -> Result<(), RegistryError> {
        self.base().await.map(|_| ())
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
}

/// `-v`: a request and its answer, `registry: METHOD URL -> STATUS (MS ms)`. The query is
/// left out (upload state, token scopes); credentials are headers, never in a URL.
pub(crate) fn trace(
    method: &Method,
    url: &Url,
    started: std::time::Instant,
    sent: &Result<Response, reqwest::Error>,
) {
    if !log::log_enabled!(target: "ferry::http", log::Level::Debug) {
        return;
    }
    let mut shown = url.clone();
    let had_query = shown.query().is_some();
    shown.set_query(None);
    let query = if had_query { "?…" } else { "" };
    let ms = started.elapsed().as_millis();
    match sent {
        Ok(resp) => log::debug!(
            target: "ferry::http",
            "registry: {method} {shown}{query} -> {} ({ms} ms)",
            resp.status().as_u16()
        ),
        Err(e) => log::debug!(
            target: "ferry::http",
            "registry: {method} {shown}{query} -> {} ({ms} ms)",
            ferry_core::error::chain(e)
        ),
    }
}
