//! Which registry failures are worth a retry (connection errors and resets, timeouts, 429
//! honouring `Retry-After`, 5xx), and requests retried by [`ferry_core::retry::RetryPolicy`],
//! which the cluster client shares.

use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

pub use ferry_core::retry::RetryPolicy;

pub(super) fn transient_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

fn transient_error(e: &reqwest::Error) -> bool {
    (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body())
        && !is_tls_rejection(e)
        && !is_unknown_host(e)
}

/// A name the resolver says does not exist will not exist a second later (a temporary
/// resolver failure, `EAI_AGAIN`, is still retried), as containers/image decides.
fn is_unknown_host(e: &reqwest::Error) -> bool {
    ferry_core::error::any::<super::resolve::Unresolved>(e, |u| u.unknown)
}

/// A certificate the verifier refused will be refused again, and a server that answers TLS
/// in plain text will again: neither is worth a retry.
fn is_tls_rejection(e: &reqwest::Error) -> bool {
    ferry_core::error::find::<rustls::Error>(e).is_some()
}

/// Runs `send` until it gives a non-transient answer or the tries run out; the last answer
/// (or error) is returned either way.
pub(crate) async fn run<F, Fut>(
    policy: &RetryPolicy,
    mut send: F,
) -> Result<reqwest::Response, reqwest::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<reqwest::Response, reqwest::Error>>,
{
    let mut failures = 0;
    loop {
        let result = send().await;
        let last = failures + 1 >= policy.attempts;
        let (wait, why) = match &result {
            Ok(resp) if transient_status(resp.status()) && !last => (
                retry_after(resp)
                    .map(|d| d.min(policy.max_delay.max(Duration::from_secs(60))))
                    .unwrap_or_else(|| policy.delay(failures)),
                format!("{} answered {}", resp.url(), resp.status()),
            ),
            Err(e) if transient_error(e) && !last => {
                let host = e.url().and_then(|u| {
                    let host = u.host_str()?;
                    Some(u.port().map_or(host.to_string(), |p| format!("{host}:{p}")))
                });
                let host = host.unwrap_or_else(|| "the registry".into());
                (policy.delay(failures), format!("{host}: {}", words(e)))
            }
            _ => return result,
        };
        failures += 1;
        policy.tell(&why, failures, wait);
        tokio::time::sleep(wait).await;
    }
}

/// A transport error in words: what stopped the connection when a person knows it by name,
/// else the error and its causes.
pub(super) fn words(e: &reqwest::Error) -> String {
    connect_words(e).unwrap_or_else(|| ferry_core::error::chain(e))
}

/// What stopped a connection, in words, when its cause is one a person knows by name: a
/// host name the resolver does not know, a refused connection, no answer. `None`: the whole
/// chain says it best.
fn connect_words(e: &reqwest::Error) -> Option<String> {
    use std::io::ErrorKind as K;
    if !e.is_connect() {
        return None;
    }
    if let Some(unresolved) = ferry_core::error::find::<super::resolve::Unresolved>(e) {
        return Some(unresolved.to_string());
    }
    let io = ferry_core::error::find::<std::io::Error>(e)?;
    match io.kind() {
        K::ConnectionRefused => Some("connection refused (nothing listens there)".into()),
        K::TimedOut => Some("no answer: the connection timed out".into()),
        K::NetworkUnreachable | K::HostUnreachable => Some(format!("unreachable: {io}")),
        _ => None,
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(RETRY_AFTER)?.to_str().ok()?;
    ferry_core::retry::retry_after(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_statuses() {
        assert!(transient_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(transient_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!transient_status(StatusCode::NOT_FOUND));
        assert!(!transient_status(StatusCode::UNAUTHORIZED));
    }
}
