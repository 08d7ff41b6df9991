//! Requests to the API server through the `kube` client: raw requests (ferry sends each
//! document's own YAML), transient failures retried with backoff (429 honouring Retry-After,
//! 502/503/504, a webhook's 500 InternalError, resets and timeouts), the server's `Warning`
//! headers kept, and connection failures said in words with the server's URL.

use std::time::Duration;

use http::{Method, Request, StatusCode};
use kube::client::Body;
use serde_json::Value;

use super::error::ClusterError;
use ferry_core::retry::RetryPolicy;

/// An answer: status, Content-Type, `Warning` headers, body.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub warnings: Vec<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The Status message of an error body, else the start of the body.
    pub(crate) fn message(&self) -> String {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v) if v["kind"] == "Status" => v["message"].as_str().unwrap_or("").to_string(),
            _ => String::from_utf8_lossy(&self.body)
                .trim()
                .chars()
                .take(300)
                .collect(),
        }
    }

    /// The server's `Status`, or what the body says when it is none.
    pub(crate) fn status(&self) -> super::error::ApiStatus {
        let v = serde_json::from_slice::<Value>(&self.body).unwrap_or(Value::Null);
        let text = |v: &Value| v.as_str().map(str::to_string);
        let causes = v["details"]["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| super::error::StatusCause {
                reason: text(&c["reason"]),
                message: text(&c["message"]).unwrap_or_default(),
                field: text(&c["field"]),
            })
            .collect();
        super::error::ApiStatus {
            code: self.status.as_u16(),
            reason: text(&v["reason"]),
            message: self.message(),
            causes,
        }
    }

    fn reason(&self) -> Option<String> {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["reason"].as_str().map(str::to_string))
    }

    /// Worth asking again: throttling, a gateway or backend that is not there yet, a webhook
    /// whose pods are starting.
    fn transient(&self) -> bool {
        matches!(self.status.as_u16(), 429 | 502 | 503 | 504)
            || (self.status == StatusCode::INTERNAL_SERVER_ERROR
                && self.reason().as_deref() == Some("InternalError"))
    }

    fn retry_after(&self, headers: &http::HeaderMap) -> Option<Duration> {
        let v = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
        ferry_core::retry::retry_after(v)
    }
}

pub(crate) struct Api {
    client: kube::Client,
    /// The server, as the kubeconfig names it (for messages).
    pub server: String,
    /// The kubeconfig context, if one was named or current.
    pub context: Option<String>,
    retry: RetryPolicy,
    /// A server that does not answer at all (restarting, a control-plane upgrade) is asked
    /// again with backoff until then: the run's deadline, or [`RECONNECT`] from the first
    /// failure when there is none.
    deadline: std::sync::Mutex<Option<std::time::Instant>>,
    /// The server has answered in this run: if it stops, it is restarting, not a wrong
    /// address (which fails after the usual few tries).
    answered: std::sync::atomic::AtomicBool,
}

/// How long a server that does not answer is waited for when the run set no deadline.
const RECONNECT: Duration = Duration::from_secs(30);

/// Why a request never got an answer, in words: the innermost cause that says something.
fn cause_of(e: &(dyn std::error::Error + 'static)) -> String {
    let mut texts = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::TimedOut => return "connection timed out".into(),
                _ => {}
            }
        }
        if let Some(tls) = ferry_core::error::find::<rustls::Error>(err) {
            let words = ferry_core::error::tls_words(tls);
            return match tls {
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                    format!("{words} (check the kubeconfig's certificate-authority-data)")
                }
                _ => words,
            };
        }
        texts.push(err.to_string());
        next = err.source();
    }
    texts
        .into_iter()
        .rev()
        .find(|t| !t.is_empty())
        .unwrap_or_else(|| "unknown error".into())
}

impl Api {
    pub(crate) fn new(client: kube::Client, server: String, context: Option<String>) -> Api {
        Api {
            client,
            server,
            context,
            retry: RetryPolicy::default(),
            deadline: std::sync::Mutex::new(None),
            answered: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The run's deadline: a server that does not answer is waited for until then.
    pub(crate) fn set_deadline(&self, deadline: std::time::Instant) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = Some(deadline);
    }

    /// Whether a request that got no answer, `since` its first try, is worth sending again.
    fn reconnect(&self, since: std::time::Instant) -> bool {
        if !self.answered.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        let until = self
            .deadline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(since + RECONNECT);
        std::time::Instant::now() < until
    }

    fn unreachable(&self, e: &kube::Error) -> ClusterError {
        let context = self
            .context
            .as_deref()
            .map(|c| format!(" (context {c})"))
            .unwrap_or_default();
        ClusterError::Unreachable {
            server: format!("{}{context}", self.server),
            cause: cause_of(e),
        }
    }

    /// Sends a request; transient failures are retried when `retry` (every request but the
    /// discovery of optional groups, which are skipped instead).
    pub(crate) async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        retry: bool,
    ) -> Result<Answer, ClusterError> {
        let attempts = if retry { self.retry.attempts } else { 1 };
        let mut failures = 0;
        let first = std::time::Instant::now();
        loop {
            let mut req = Request::builder().method(method.clone()).uri(uri);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req
                .body(Body::from(body.to_vec()))
                .map_err(|e| ClusterError::Api(e.to_string()))?;
            let last = failures + 1 >= attempts;
            let started = std::time::Instant::now();
            let sent = self.client.send(req).await;
            if log::log_enabled!(target: "ferry::http", log::Level::Debug) {
                let path = uri.split('?').next().unwrap_or(uri);
                let query = if uri.contains('?') { "?…" } else { "" };
                let answer = match &sent {
                    Ok(resp) => resp.status().as_u16().to_string(),
                    Err(e) => ferry_core::error::chain(e),
                };
                log::debug!(
                    target: "ferry::http",
                    "cluster: {method} {path}{query} -> {answer} ({} ms)",
                    started.elapsed().as_millis()
                );
            }
            let wait = match sent {
                Ok(resp) => {
                    self.answered
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let text = |h: http::header::HeaderName| {
                        headers
                            .get_all(h)
                            .iter()
                            .filter_map(|v| v.to_str().ok())
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    };
                    let answer = Answer {
                        status,
                        content_type: text(http::header::CONTENT_TYPE)
                            .into_iter()
                            .next()
                            .unwrap_or_default(),
                        warnings: text(http::header::WARNING),
                        body: resp
                            .into_body()
                            .collect_bytes()
                            .await
                            .map_err(|e| self.unreachable(&e))?
                            .to_vec(),
                    };
                    if !answer.transient() || last {
                        return Ok(answer);
                    }
                    answer
                        .retry_after(&headers)
                        .unwrap_or_else(|| self.retry.delay(failures))
                }
                Err(e) if matches!(e, kube::Error::Auth(_)) || !retry => {
                    return Err(self.unreachable(&e));
                }
                // No answer at all: the server may be restarting; asked again until the
                // deadline, not a fixed number of times (a restart takes seconds).
                Err(e) if last && !self.reconnect(first) => return Err(self.unreachable(&e)),
                Err(_) => self.retry.delay(failures.min(5)),
            };
            failures += 1;
            tokio::time::sleep(wait.min(Duration::from_secs(30))).await;
        }
    }

    /// GET as JSON: `None` on 404; 403 is [`ClusterError::Forbidden`].
    pub(crate) async fn get_json(&self, uri: &str) -> Result<Option<Value>, ClusterError> {
        let a = self.request(Method::GET, uri, &[], &[], true).await?;
        match a.status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => serde_json::from_slice(&a.body)
                .map(Some)
                .map_err(|e| ClusterError::Api(format!("GET {uri}: {e}"))),
            StatusCode::FORBIDDEN => Err(ClusterError::Forbidden(format!(
                "GET {uri}: {}: {}",
                a.status,
                a.message()
            ))),
            s => Err(ClusterError::Api(format!(
                "GET {uri}: {s}: {}",
                a.message()
            ))),
        }
    }
}
