//! Login throttling: a token bucket per account and one per client address (governor's keyed
//! GCRA limiters). Per node: a deployment of N nodes allows at most N times the configured rate,
//! which still turns a brute-force run of millions of guesses into one of years.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::AuthConfig;

#[derive(Clone)]
pub struct LoginLimiter {
    per_account: std::sync::Arc<DefaultKeyedRateLimiter<String>>,
    per_client: std::sync::Arc<DefaultKeyedRateLimiter<String>>,
}

impl LoginLimiter {
    pub fn new(config: &AuthConfig) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        LoginLimiter {
            per_account: std::sync::Arc::new(RateLimiter::keyed(quota(
                config.login_per_account_per_minute,
            ))),
            per_client: std::sync::Arc::new(RateLimiter::keyed(quota(
                config.login_per_client_per_minute,
            ))),
        }
    }

    /// Takes one attempt from both buckets; `Err(wait)` when either is empty.
    pub fn check(&self, account: &str, client: Option<&str>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        for (limiter, key) in [
            (&self.per_client, client.map(|c| format!("client:{c}"))),
            (&self.per_account, Some(format!("account:{account}"))),
        ] {
            let Some(key) = key else { continue };
            if limiter.len() > 100_000 {
                limiter.retain_recent();
            }
            if let Err(not_until) = limiter.check_key(&key) {
                return Err(not_until.wait_time_from(now));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_in_a_minute_waits() {
        let limiter = LoginLimiter::new(&AuthConfig {
            login_per_account_per_minute: 5,
            ..AuthConfig::default()
        });
        for _ in 0..5 {
            assert!(limiter.check("t/a@b.ma", Some("10.0.0.1")).is_ok());
        }
        let wait = limiter
            .check("t/a@b.ma", Some("10.0.0.2"))
            .expect_err("limited");
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        // Another account from the first address is still allowed.
        assert!(limiter.check("t/c@b.ma", Some("10.0.0.1")).is_ok());
    }
}
