//! Issuing and verifying access tokens with HS256 and with `EdDSA`: a token's first
//! verification, and the same token presented again (as a client does on every request).
//! Run with `cargo bench -p infra-jwt`.

#![allow(
    clippy::expect_used,
    reason = "a benchmark that cannot set itself up should stop at once"
)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use domain::{AccessClaims, Clock, Role, SessionId, TokenIssuer, UserId};
use infra_jwt::JwtTokenIssuer;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The clock a server gives the issuer: reading it is part of every verification.
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A key for this benchmark only, made with `openssl genpkey -algorithm ed25519`.
const BENCH_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEILE0wK86s8eI/VYQBX+FCQDaIQJ/5sylQ06cqCzQp/SS
-----END PRIVATE KEY-----
";

fn claims() -> AccessClaims {
    let now = OffsetDateTime::now_utc();
    AccessClaims {
        user_id: UserId::new(),
        session_id: SessionId::new(),
        role: Role::User,
        issued_at: now,
        // Long enough that no token expires while the benchmark runs.
        expires_at: now + time::Duration::hours(1),
        token_id: uuid::Uuid::new_v4(),
    }
}

fn issue_and_verify(criterion: &mut Criterion) {
    let issuers = [
        (
            "HS256",
            JwtTokenIssuer::hs256(
                b"benchmark secret of thirty-two bytes or more",
                "https://auth.bench",
                "bench-api",
                Arc::new(SystemClock),
            )
            .expect("the HS256 issuer"),
        ),
        (
            "EdDSA",
            JwtTokenIssuer::ed25519_from_pem(
                BENCH_PRIVATE_PEM,
                "https://auth.bench",
                "bench-api",
                Arc::new(SystemClock),
            )
            .expect("the EdDSA issuer"),
        ),
    ];
    let claims = claims();
    let mut group = criterion.benchmark_group("access token");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for (name, issuer) in &issuers {
        let token = issuer.issue(&claims).expect("issuing a token");
        group.bench_function(format!("{name} issue"), |bencher| {
            bencher.iter(|| issuer.issue(black_box(&claims)));
        });
        group.bench_function(format!("{name} verify, first time"), |bencher| {
            // A new token each time (its own `jti`), issued outside the timed part.
            bencher.iter_batched(
                || issuer.issue(&self::claims()).expect("issuing a token"),
                |fresh| issuer.verify(black_box(fresh.expose())),
                BatchSize::SmallInput,
            );
        });
        group.bench_function(format!("{name} verify, again"), |bencher| {
            bencher.iter(|| issuer.verify(black_box(token.expose())));
        });
    }
    group.finish();
}

criterion_group!(benches, issue_and_verify);
criterion_main!(benches);
