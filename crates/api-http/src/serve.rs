//! Serving connections: what `axum::serve` does, plus the limits it lacks. Without them a
//! client that opens connections and never finishes a request head (slowloris), or leaves
//! kept-alive connections idle, holds a file descriptor each for good, and one client can take
//! every descriptor the process has.
//!
//! - A request head must arrive within `header_read_timeout`, counted from the moment the
//!   connection is opened or its previous response was sent, so idle kept-alive connections
//!   close too. Bodies are bounded by the request timeout, and a client that takes in nothing
//!   of its answer for `send_timeout` is cut off too ([`crate::wire`]).
//! - At most `max_connections` are open; further clients wait in the kernel's backlog.
//! - At most `max_per_address` come from one address (trusted proxies excepted, since they
//!   carry everyone's); further ones are closed at once, so one client cannot starve others.

use crate::state::AppState;
use crate::wire::Wire;
use axum::body::Body;
use axum::extract::ConnectInfo;
use domain::client_network;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// How long the requests in flight get to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How many connections the server holds, and for how long an idle one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The longest a client may take to send a request head, and to start the next one on a
    /// kept-alive connection.
    pub header_read_timeout: Duration,
    /// The longest a client may leave its answer unread (taking in no byte of it).
    pub send_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
    /// The most connections open at once from one address (0: no such limit).
    pub max_per_address: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_per_address: 256,
        }
    }
}

/// Serves the application on `listener` until `shutdown` completes, then lets the requests in
/// flight finish.
///
/// # Errors
/// Never at present; the signature leaves room for a listener that can fail for good.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.http.connections;
    let per_address = PerAddress::new(limits.max_per_address, state.http.trusted_proxies.clone());
    let app = crate::app(state);
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = async {
                // A permit first: past the bound, clients wait in the backlog, not in our memory.
                let permit = Arc::clone(&open).acquire_owned().await;
                (permit, listener.accept().await)
            } => accepted,
        };
        let (Ok(permit), result) = accepted else {
            break;
        };
        let (stream, peer) = match result {
            Ok(connection) => connection,
            Err(error) => {
                accept_failed(&error).await;
                continue;
            }
        };
        let Some(claim) = per_address.claim(peer.ip()) else {
            tracing::debug!(address = %peer.ip(), "too many connections from one address; closed");
            continue;
        };
        // Small JSON answers: waiting to fill a segment only adds latency.
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(Wire::new(stream, limits.send_timeout)),
            TowerToHyperService::new(service),
        ));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(claim);
            drop(permit);
        });
    }
    drop(listener);
    // A client that never reads its answer must not hold the shutdown up for good.
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
    }
    Ok(())
}

/// What `axum::serve` does: errors about one connection are that connection's; anything else
/// (out of descriptors, say) is logged and retried after a pause rather than spun on.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Open connections per client address.
#[derive(Clone)]
struct PerAddress {
    limit: usize,
    exempt: Arc<[IpNet]>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One open connection, counted against its address (unless exempt) until dropped.
struct Claim {
    address: Option<IpAddr>,
    counter: PerAddress,
}

impl PerAddress {
    fn new(limit: usize, exempt: Vec<IpNet>) -> Self {
        Self {
            limit,
            exempt: exempt.into(),
            open: Arc::default(),
        }
    }

    /// `None` when `address` already holds its limit. Addresses count by the network that
    /// stands for one client, as the login throttle counts them ([`client_network`]).
    fn claim(&self, address: IpAddr) -> Option<Claim> {
        let address = client_network(address);
        let counted = self.limit > 0 && !self.exempt.iter().any(|net| net.contains(&address));
        if counted {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let count = open.entry(address).or_default();
            if *count >= self.limit {
                return None;
            }
            *count += 1;
        }
        Some(Claim {
            address: counted.then_some(address),
            counter: self.clone(),
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let Some(address) = self.address else {
            return;
        };
        let mut open = self
            .counter
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_limit_and_its_connections_back_when_they_close() {
        let counter = PerAddress::new(2, vec!["10.0.0.0/8".parse().unwrap()]);
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let first = counter.claim(client).unwrap();
        let second = counter.claim(client).unwrap();
        assert!(counter.claim(client).is_none());
        assert!(counter.claim("192.0.2.2".parse().unwrap()).is_some());
        drop(first);
        assert!(counter.claim(client).is_some());
        drop(second);
        assert!(
            counter.open.lock().unwrap().is_empty(),
            "no entry outlives its connections"
        );
        // One IPv6 subscriber's /64 is one client; an IPv4-mapped address is its IPv4 one.
        let held = ["2001:db8::1", "2001:db8::2"].map(|ip| counter.claim(ip.parse().unwrap()));
        assert!(counter.claim("2001:db8::3".parse().unwrap()).is_none());
        assert!(counter.claim("2001:db8:0:1::1".parse().unwrap()).is_some());
        drop(held);
        let mapped = counter.claim("::ffff:192.0.2.1".parse().unwrap());
        assert!(
            counter
                .open
                .lock()
                .unwrap()
                .contains_key(&"192.0.2.1".parse().unwrap())
        );
        drop(mapped);
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let held: Vec<_> = (0..10).map(|_| counter.claim(proxy)).collect();
        assert!(
            held.iter().all(Option::is_some),
            "a trusted proxy carries everyone's"
        );
        assert!(counter.open.lock().unwrap().is_empty());
    }
}
