//! Retries with exponential backoff and jitter, one policy for every client (the registry's
//! requests and transfers, the cluster's requests): how many tries, how long between them,
//! a server's `Retry-After` honoured, and each retry told to whoever listens.

use std::future::Future;
use std::time::Duration;

/// Hears of each retry, so a user waiting on one knows why (the library never prints).
pub type RetryNotice = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

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
    /// Tells the listener (if any) why and how long it waits before try `failures + 1`.
    pub fn tell(&self, why: &str, failures: u32, wait: Duration) {
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

/// A `Retry-After` header's wait from now (seconds, or an HTTP date).
pub fn retry_after(value: &str) -> Option<Duration> {
    parse_retry_after(value, jiff::Timestamp::now())
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110), relative to `now`.
pub fn parse_retry_after(v: &str, now: jiff::Timestamp) -> Option<Duration> {
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
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:20:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
