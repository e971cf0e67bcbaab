//! What every handler can reach: the domain services, the readiness probe, and the HTTP
//! settings the server read from its configuration.

use crate::serve::ConnectionLimits;
use async_trait::async_trait;
use domain::{AccountService, AdminService, AuthService, MailDelivery, RecoveryService};
use ipnet::IpNet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Answers whether the service's dependencies (the database) are reachable, for `/api/ready/`.
#[async_trait]
pub trait Readiness: Send + Sync {
    /// `Ok` when every dependency answers; `Err` with a reason (logged, not sent) otherwise.
    async fn check(&self) -> Result<(), String>;
}

/// Which hosts the service answers for, as Django's `ALLOWED_HOSTS`: an exact name, a name
/// starting with `.` for it and its subdomains, or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// Hosts from a list; names are compared case-insensitively.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(hosts: I) -> Self {
        Self(
            hosts
                .into_iter()
                .map(|host| {
                    let host = host.as_ref().trim().to_ascii_lowercase();
                    // `[::1]` in the list matches a `Host: [::1]:8000` header.
                    host.strip_prefix('[')
                        .and_then(|inner| inner.strip_suffix(']'))
                        .map_or(host.clone(), str::to_owned)
                })
                .filter(|host| !host.is_empty())
                .collect(),
        )
    }

    /// Any host.
    pub fn any() -> Self {
        Self(vec!["*".to_owned()])
    }

    /// Whether a `Host` header value (with or without a port) is allowed. A malformed value
    /// never is, not even with `*`: the API echoes the host in the links it builds.
    pub fn allows(&self, host_header: &str) -> bool {
        if !well_formed(host_header) {
            return false;
        }
        let host = strip_port(host_header).to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        self.0.iter().any(|allowed| {
            allowed == "*"
                || allowed == host
                || allowed
                    .strip_prefix('.')
                    .is_some_and(|domain| host == domain || host.ends_with(allowed.as_str()))
        })
    }
}

/// Whether `value` is `host[:port]` as RFC 9112 asks of a `Host` header: a name of DNS
/// characters, an IPv4 address or a bracketed IPv6 one, and an optional numeric port.
fn well_formed(value: &str) -> bool {
    let (host_ok, rest) = if let Some(bracketed) = value.strip_prefix('[') {
        let Some((address, rest)) = bracketed.split_once(']') else {
            return false;
        };
        (address.parse::<std::net::Ipv6Addr>().is_ok(), rest)
    } else {
        let (name, rest) = value.split_at(value.find(':').unwrap_or(value.len()));
        let characters = |byte: u8| byte.is_ascii_alphanumeric() || b"-._".contains(&byte);
        let ok = !name.is_empty() && name.len() <= 253 && name.bytes().all(characters);
        (ok, rest)
    };
    let port_ok = match rest.strip_prefix(':') {
        Some(port) => port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok(),
        None => rest.is_empty(),
    };
    host_ok && port_ok
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // An IPv6 literal: `[::1]:8000`.
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// The per-address rate limit on the authentication endpoints: a bucket of `burst` requests
/// refilled at `per_second`. A `burst` of 0 turns it off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests an address may make at once.
    pub burst: u32,
    /// Requests per second an address regains.
    pub per_second: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            burst: 100,
            per_second: 20.0,
        }
    }
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Hosts the service answers for.
    pub allowed_hosts: AllowedHosts,
    /// Origins allowed to call the API from a browser (CORS); empty: same origin only.
    pub cors_allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The per-address limit on the authentication endpoints.
    pub rate_limit: RateLimit,
    /// The per-address limit on requests that mail a stranger (password reset): a few at
    /// once, then one a minute. Off when `rate_limit` is.
    pub mail_rate_limit: RateLimit,
    /// How long a request may take before it gets a 408.
    pub request_timeout: Duration,
    /// The built SPA (`web/dist`), served at `/` when set and present.
    pub web_dist: Option<PathBuf>,
    /// Connection bounds and the header-read timeout of [`crate::serve`].
    pub connections: ConnectionLimits,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: AllowedHosts::new(["localhost", "127.0.0.1", "[::1]"]),
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            rate_limit: RateLimit::default(),
            mail_rate_limit: RateLimit {
                burst: 5,
                per_second: 1.0 / 60.0,
            },
            request_timeout: Duration::from_secs(30),
            web_dist: None,
            connections: ConnectionLimits::default(),
        }
    }
}

/// The state every handler receives: one `Arc`, so cloning it is one counter.
///
/// Every extractor and state-taking middleware clones the state on every request. Holding the
/// services by value made that 36 reference counts per clone, and even a handful of `Arc`
/// fields kept their drops in the profile of `/api/health/`; behind one `Arc`, the two worker
/// threads share one counter. The fields are reached through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

/// What [`AppState`] holds.
pub struct AppStateInner {
    /// Sign-up, login, refresh, logout, authentication.
    pub auth: AuthService,
    /// The caller's own account.
    pub account: AccountService,
    /// Administration.
    pub admin: AdminService,
    /// Password reset by mail.
    pub recovery: RecoveryService,
    /// The outbox, for administrators.
    pub mail: MailDelivery,
    /// Password-reset requests whose work (done after their answer) may run at once.
    pub reset_requests: Arc<tokio::sync::Semaphore>,
    /// The readiness probe.
    pub readiness: Arc<dyn Readiness>,
    /// The JWKS document, when tokens are signed with an asymmetric key.
    pub jwks: Option<serde_json::Value>,
    /// HTTP settings.
    pub http: HttpConfig,
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// Password-reset requests whose work may run at once. Each holds a database connection for
/// a moment; past this, a request is answered as any other but its work is dropped (and
/// logged): a flood from many addresses must not queue unbounded work behind the pool.
const RESET_REQUESTS_IN_FLIGHT: usize = 64;

/// The domain services the handlers call.
#[derive(Clone)]
pub struct Services {
    /// Sign-up, login, refresh, logout, authentication.
    pub auth: AuthService,
    /// The caller's own account.
    pub account: AccountService,
    /// Administration.
    pub admin: AdminService,
    /// Password reset by mail.
    pub recovery: RecoveryService,
    /// The outbox, for administrators.
    pub mail: MailDelivery,
}

impl AppState {
    /// Builds the state from the services and settings.
    pub fn new(
        services: Services,
        readiness: Arc<dyn Readiness>,
        jwks: Option<serde_json::Value>,
        http: HttpConfig,
    ) -> Self {
        let Services {
            auth,
            account,
            admin,
            recovery,
            mail,
        } = services;
        Self(Arc::new(AppStateInner {
            auth,
            account,
            admin,
            recovery,
            mail,
            reset_requests: Arc::new(tokio::sync::Semaphore::new(RESET_REQUESTS_IN_FLIGHT)),
            readiness,
            jwks,
            http,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any `Host` value gets an answer, never a panic, and a malformed one is never
        /// allowed, not even by `*`.
        #[test]
        fn any_host_value_is_judged_without_panicking(host in "\\PC{0,80}") {
            let allowed = AllowedHosts::any().allows(&host);
            proptest::prop_assert!(!allowed || well_formed(&host));
            let _ = AllowedHosts::new(["example.com", ".example.org"]).allows(&host);
        }
    }

    #[test]
    fn malformed_hosts_are_refused_even_with_a_wildcard() {
        let any = AllowedHosts::any();
        for good in [
            "example.com",
            "example.com:8000",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:80",
            "a_b.example",
        ] {
            assert!(any.allows(good), "{good}");
        }
        for bad in [
            "",
            ":80",
            "evil.com/x?y",
            "evil.com@good.com",
            "a b",
            "example.com:",
            "example.com:123456",
            "example.com:65536",
            "example.com:80:80",
            "::1",
            "[::1",
            "[not-ipv6]:80",
            "[::1]80",
            "exämple.com",
        ] {
            assert!(!any.allows(bad), "{bad:?}");
        }
    }

    #[test]
    fn allowed_hosts_match_as_django_does() {
        let hosts = AllowedHosts::new(["example.com", ".example.org", "127.0.0.1", "[::1]"]);
        assert!(hosts.allows("example.com"));
        assert!(hosts.allows("EXAMPLE.com:8080"));
        assert!(hosts.allows("example.org"));
        assert!(hosts.allows("api.example.org"));
        assert!(hosts.allows("127.0.0.1:3000"));
        assert!(hosts.allows("[::1]:8000"));
        assert!(!hosts.allows("evil.com"));
        assert!(!hosts.allows("notexample.org"));
        assert!(!hosts.allows("example.com.evil.com"));
        assert!(AllowedHosts::any().allows("anything.test"));
    }
}
