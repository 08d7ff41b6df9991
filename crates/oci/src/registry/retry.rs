//! Retries with exponential backoff and jitter for transient registry failures: connection
//! errors and resets, timeouts, 429 (honouring `Retry-After`) and 5xx.

use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

/// Hears of each retry, so a user waiting on one knows why (the library never prints).
pub(super) type RetryNotice = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// How often and how patiently to retry.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub notice: Option<RetryNotice>,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("attempts", &self.attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            notice: None,
        }
    }
}

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
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if [
            "Name or service not known",
            "nodename nor servname provided",
            "No address associated with hostname",
            "No such host is known",
        ]
        .iter()
        .any(|m| text.contains(m))
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// A certificate the verifier refused will be refused again, and a server that answers TLS
/// in plain text will again: neither is worth a retry.
fn is_tls_rejection(e: &reqwest::Error) -> bool {
    ferry_core::error::find::<rustls::Error>(e).is_some()
}

/// Pseudo-random jitter; retries need spread, not cryptographic randomness.
fn jitter(max: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let mut x = nanos ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    let ms = max.as_millis().max(1) as u64;
    Duration::from_millis(x % ms)
}

impl RetryPolicy {
    /// The wait before try `attempt` (1-based count of failures so far).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1 << attempt.min(16));
        let capped = exp.min(self.max_delay);
        capped / 2 + jitter(capped / 2)
    }

    /// Runs `send` until it gives a non-transient answer or the tries run out; the last
    /// answer (or error) is returned either way.
    pub async fn run<F, Fut>(&self, mut send: F) -> Result<reqwest::Response, reqwest::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<reqwest::Response, reqwest::Error>>,
    {
        let mut failures = 0;
        loop {
            let result = send().await;
            let last = failures + 1 >= self.attempts;
            let (wait, why) = match &result {
                Ok(resp) if transient_status(resp.status()) && !last => (
                    retry_after(resp)
                        .map(|d| d.min(self.max_delay.max(Duration::from_secs(60))))
                        .unwrap_or_else(|| self.delay(failures)),
                    format!("{} answered {}", resp.url(), resp.status()),
                ),
                Err(e) if transient_error(e) && !last => (self.delay(failures), chain(e)),
                _ => return result,
            };
            failures += 1;
            self.tell(&why, failures, wait);
            tokio::time::sleep(wait).await;
        }
    }
}

impl RetryPolicy {
    /// Runs a whole operation (a blob transfer that cannot replay its body) again while it
    /// fails with an error `transient` accepts, with the same backoff as requests.
    pub async fn again<T, E: std::fmt::Display, F, Fut>(
        &self,
        mut attempt: F,
        transient: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut failures = 0;
        loop {
            match attempt().await {
                Err(e) if transient(&e) && failures + 1 < self.attempts => {
                    let wait = self.delay(failures);
                    failures += 1;
                    self.tell(&e.to_string(), failures, wait);
                    tokio::time::sleep(wait).await;
                }
                result => return result,
            }
        }
    }
}

impl RetryPolicy {
    fn tell(&self, why: &str, failures: u32, wait: Duration) {
        if let Some(notice) = &self.notice {
            notice(&format!(
                "{why}: trying again in {:.1} s ({} of {} tries)",
                wait.as_secs_f64(),
                failures + 1,
                self.attempts
            ));
        }
    }
}

/// An error and its causes, in words.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(RETRY_AFTER)?.to_str().ok()?;
    retry_after_value(v, jiff::Timestamp::now())
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110), relative to `now`.
fn retry_after_value(v: &str, now: jiff::Timestamp) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let wait = now.duration_until(at);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let p = RetryPolicy::default();
        for attempt in 0..20 {
            let d = p.delay(attempt);
            assert!(d <= p.max_delay, "{d:?}");
        }
        assert!(p.delay(0) <= Duration::from_millis(200));
        assert!(p.delay(3) >= Duration::from_millis(800));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now: jiff::Timestamp = "2015-10-21T07:27:00Z".parse().unwrap();
        assert_eq!(
            retry_after_value("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after_value("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after_value("Wed, 21 Oct 2015 07:20:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_value("soon", now), None);
    }

    #[test]
    fn transient_statuses() {
        assert!(transient_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(transient_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!transient_status(StatusCode::NOT_FOUND));
        assert!(!transient_status(StatusCode::UNAUTHORIZED));
    }
}
