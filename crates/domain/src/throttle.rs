//! Wrong passwords are counted per email and client address, not per account.
//!
//! Counted per account, one wrong password from anywhere each time a lock ends would keep its
//! owner (an admin too) locked out for good. Counted per address, a guesser locks only itself
//! out, while the per-address rate limit bounds how many emails one address tries. Counted per
//! email rather than per stored account, an unknown email is answered exactly as a real one,
//! lock included, so the lock tells nobody which accounts exist.

use crate::{ClientInfo, Email};
use std::net::{IpAddr, Ipv6Addr};
use time::{Duration, OffsetDateTime};

/// The address that stands for one client: an IPv4 address (also when it arrives mapped into
/// IPv6), or an IPv6 address's /64 network, which one subscriber usually holds whole.
///
/// ```
/// use domain::client_network;
///
/// let ip = |text: &str| text.parse::<std::net::IpAddr>().unwrap();
/// assert_eq!(client_network(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
/// assert_eq!(client_network(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
/// ```
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(ip) => Ipv6Addr::from(u128::from(ip) & !u128::from(u64::MAX)).into(),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Whose wrong passwords count together: one email from one client address (an IPv6 client
/// by its /64, which one subscriber usually holds whole).
///
/// ```
/// use domain::{ClientInfo, Email, ThrottleKey};
///
/// let email = Email::parse("ada@example.com").unwrap();
/// let from = |ip: &str| ClientInfo { user_agent: None, ip: Some(ip.parse().unwrap()) };
/// let key = ThrottleKey::new(email.clone(), &from("2001:db8:1:2:3:4:5:6"));
/// assert_eq!(key.address(), "2001:db8:1:2::/64");
/// assert_eq!(key, ThrottleKey::new(email.clone(), &from("2001:db8:1:2::9")));
/// assert_eq!(ThrottleKey::new(email, &from("::ffff:192.0.2.7")).address(), "192.0.2.7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey {
    email: Email,
    address: String,
}

impl ThrottleKey {
    /// The key of `email` tried from `client` (`unknown` when the address is not known).
    pub fn new(email: Email, client: &ClientInfo) -> Self {
        let address = match client.ip.map(client_network) {
            Some(IpAddr::V4(ip)) => ip.to_string(),
            Some(IpAddr::V6(network)) => format!("{network}/64"),
            None => "unknown".to_owned(),
        };
        Self { email, address }
    }

    /// The email.
    pub fn email(&self) -> &Email {
        &self.email
    }

    /// The client's address (or IPv6 network), as text.
    pub fn address(&self) -> &str {
        &self.address
    }
}

/// What is counted against a [`ThrottleKey`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailedLogins {
    /// Password checks counted since the last right one (each counts as it is admitted).
    pub failures: u32,
    /// Until when passwords are not checked at all.
    pub locked_until: Option<OffsetDateTime>,
}

impl FailedLogins {
    /// How long passwords stay unchecked at `now`, if they do.
    ///
    /// ```
    /// use domain::FailedLogins;
    /// use time::{Duration, OffsetDateTime};
    ///
    /// let now = OffsetDateTime::UNIX_EPOCH;
    /// let locked = FailedLogins { failures: 5, locked_until: Some(now + Duration::minutes(1)) };
    /// assert_eq!(locked.lock_remaining(now), Some(Duration::minutes(1)));
    /// assert_eq!(locked.lock_remaining(now + Duration::minutes(1)), None);
    /// ```
    pub fn lock_remaining(&self, now: OffsetDateTime) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }
}
