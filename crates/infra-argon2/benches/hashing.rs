//! argon2id hash and verify at the default (OWASP) parameters, through the adapter: the
//! semaphore and the hasher's threads included, as a login pays them.
//! Run with `cargo bench -p infra-argon2`.

#![allow(
    clippy::expect_used,
    reason = "a benchmark that cannot set itself up should stop at once"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use domain::{PasswordHasher, PlaintextPassword};
use infra_argon2::{Argon2Config, Argon2Hasher};
use std::hint::black_box;
use std::time::Duration;

fn argon2id_default_params(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let hasher = Argon2Hasher::new(Argon2Config::default()).expect("the default configuration");
    let password = PlaintextPassword::new("correct horse battery staple");
    let hash = runtime
        .block_on(hasher.hash(&password))
        .expect("hashing the password");

    let mut group = criterion.benchmark_group("argon2id m=7168 t=5 p=1");
    // Each iteration takes tens of milliseconds: ten samples give a stable median quickly.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("hash", |bencher| {
        bencher.iter(|| runtime.block_on(hasher.hash(black_box(&password))));
    });
    group.bench_function("verify", |bencher| {
        bencher.iter(|| runtime.block_on(hasher.verify(black_box(&password), black_box(&hash))));
    });
    group.bench_function("verify_dummy", |bencher| {
        bencher.iter(|| runtime.block_on(hasher.verify_dummy(black_box(&password))));
    });
    group.finish();
}

criterion_group!(benches, argon2id_default_params);
criterion_main!(benches);
