//! A per-address token bucket for the authentication endpoints. It keeps one address from
//! monopolising the password-hashing pool; the per-account lockout (in the domain) stops
//! guessing against one account. State is per process: behind a load balancer each instance
//! limits on its own, which bounds what one address gets from the whole fleet to N times the
//! limit — acceptable for a fairness limit, and it needs no shared store.

use crate::extract::client_ip;
use crate::problem::Problem;
use crate::state::{HttpConfig, RateLimit};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Addresses tracked before idle ones are swept, bounding memory under a spray of addresses.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by client address.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`; `Err(wait)` when the bucket is empty.
    pub(crate) fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst);
        let rate = self.limit.per_second;
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; failing open keeps logins possible.
            return Ok(());
        };
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if rate > 0.0 {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        } else {
            Err(Duration::from_hours(1))
        }
    }
}

/// The limit as a route layer's state: the buckets, and whose forwarded addresses to believe.
#[derive(Debug, Clone)]
pub(crate) struct AddressLimit {
    limiter: Arc<RateLimiter>,
    trusted_proxies: Arc<[IpNet]>,
}

impl AddressLimit {
    /// The configured limit, or `None` when it is turned off (a `burst` of 0).
    pub(crate) fn from_config(http: &HttpConfig) -> Option<Self> {
        (http.rate_limit.burst > 0).then(|| Self {
            limiter: Arc::new(RateLimiter::new(http.rate_limit)),
            trusted_proxies: http.trusted_proxies.clone().into(),
        })
    }

    /// The limit on requests that send mail, or `None` when limits are turned off.
    pub(crate) fn for_mail(http: &HttpConfig) -> Option<Self> {
        (http.rate_limit.burst > 0 && http.mail_rate_limit.burst > 0).then(|| Self {
            limiter: Arc::new(RateLimiter::new(http.mail_rate_limit)),
            trusted_proxies: http.trusted_proxies.clone().into(),
        })
    }
}

/// Middleware for `route_layer`: takes a token for the client's address, or answers 429.
pub(crate) async fn limit_by_address(
    State(limit): State<AddressLimit>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let ip = client_ip(&parts, &limit.trusted_proxies);
    if let Some(ip) = ip
        && let Err(wait) = limit.limiter.check(ip, Instant::now())
    {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Problem::too_many(
            "rate-limited",
            format!("Too many requests from this address. Try again in {seconds} seconds."),
            seconds,
        )
        .into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refilled_at_the_rate() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            per_second: 2.0,
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(ip, start).is_ok());
        }
        let wait = limiter.check(ip, start).unwrap_err();
        assert!(wait <= Duration::from_millis(500) && wait > Duration::ZERO);
        assert!(
            limiter.check(other, start).is_ok(),
            "addresses are independent"
        );
        assert!(
            limiter
                .check(ip, start + Duration::from_millis(500))
                .is_ok()
        );
        assert!(
            limiter
                .check(ip, start + Duration::from_millis(500))
                .is_err()
        );
    }
}
