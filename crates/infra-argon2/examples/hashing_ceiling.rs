//! The machine's password-hashing ceiling, measured through [`Argon2Hasher`] as a login pays
//! it (semaphore and hashing threads included): how long one verification takes alone, and
//! how many verifications per second every hashing slot together reaches.
//!
//! The login target of the load benchmark is stated against `cores ÷ one verification`,
//! which assumes that two verifications at once each run as fast as one alone. Whether this
//! machine gives that is what the second figure shows, so the benchmark (`bench/`) runs this
//! next to its login scenarios and reports both.
//!
//! ```sh
//! cargo run --release -p infra-argon2 --example hashing_ceiling -- \
//!     [--memory-kib 7168] [--iterations 5] [--rounds 4] [--seconds 2] [--phases both]
//! ```
//!
//! Prints one JSON object. The two measurements alternate, `--rounds` times, each for
//! `--seconds`, so that a machine whose speed drifts (other tenants of the host) disturbs
//! both alike; the figures are medians over the rounds. `--phases alone` or `--phases all`
//! measures only one of them (the benchmark interleaves them with its own login floods), and
//! the figures it does not measure are `null`.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a measuring tool that cannot set itself up should stop at once"
)]

use domain::{PasswordHash, PasswordHasher, PlaintextPassword};
use infra_argon2::{Argon2Config, Argon2Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    config: Argon2Config,
    rounds: usize,
    seconds: f64,
    alone: bool,
    all: bool,
}

fn options() -> Options {
    let mut options = Options {
        config: Argon2Config::default(),
        rounds: 4,
        seconds: 2.0,
        alone: true,
        all: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().expect("every option takes a value");
        match flag.as_str() {
            "--memory-kib" => options.config.memory_kib = value.parse().expect("a number"),
            "--iterations" => options.config.iterations = value.parse().expect("a number"),
            "--parallelism" => options.config.parallelism = value.parse().expect("a number"),
            "--max-concurrent" => options.config.max_concurrent = value.parse().expect("a number"),
            "--rounds" => options.rounds = value.parse().expect("a number"),
            "--seconds" => options.seconds = value.parse().expect("a number"),
            "--phases" => {
                (options.alone, options.all) = match value.as_str() {
                    "alone" => (true, false),
                    "all" => (false, true),
                    "both" => (true, true),
                    other => panic!("--phases takes alone, all or both, not {other}"),
                };
            }
            other => panic!("unknown option {other}"),
        }
    }
    assert!(
        options.seconds > 0.0 && options.rounds > 0,
        "--seconds and --rounds must be positive"
    );
    options
}

/// The median (the mean of the middle two for an even count); `values` is never empty.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        f64::midpoint(values[middle - 1], values[middle])
    } else {
        values[middle]
    }
}

/// Verifications one after another for `duration`: each one's time, in milliseconds.
async fn alone(
    hasher: &Argon2Hasher,
    password: &PlaintextPassword,
    hash: &PasswordHash,
    duration: Duration,
) -> Vec<f64> {
    let deadline = Instant::now() + duration;
    let mut times = Vec::new();
    // At least one, however short `duration` is: the median needs a value.
    while times.is_empty() || Instant::now() < deadline {
        let start = Instant::now();
        assert!(hasher.verify(password, hash).await.expect("verifying"));
        times.push(start.elapsed().as_secs_f64() * 1_000.0);
    }
    times
}

/// Verifications from `slots` tasks at once for `duration`: how many per second.
async fn all_slots(
    hasher: &Arc<Argon2Hasher>,
    password: &PlaintextPassword,
    hash: &PasswordHash,
    slots: usize,
    duration: Duration,
) -> f64 {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..slots)
        .map(|_| {
            let (hasher, password, hash) = (Arc::clone(hasher), password.clone(), hash.clone());
            tokio::spawn(async move {
                let mut done = 0_u32;
                while Instant::now() < deadline {
                    assert!(hasher.verify(&password, &hash).await.expect("verifying"));
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut done = 0_u32;
    for task in tasks {
        done += task.await.expect("a verifying task");
    }
    f64::from(done) / start.elapsed().as_secs_f64()
}

fn main() {
    let options = options();
    let slots = options.config.max_concurrent;
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let hasher = Arc::new(Argon2Hasher::new(options.config).expect("the argon2 configuration"));
    let password = PlaintextPassword::new("correct horse battery staple");
    let hash = runtime
        .block_on(hasher.hash(&password))
        .expect("hashing the password");
    let duration = Duration::from_secs_f64(options.seconds);

    let (mut alone_ms, mut all_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        // Every slot's memory buffer is allocated before anything is timed.
        all_slots(&hasher, &password, &hash, slots, Duration::from_millis(200)).await;
        for _round in 0..options.rounds {
            let round_alone = if options.alone {
                let times = alone(&hasher, &password, &hash, duration).await;
                let round_alone = median(times.clone());
                alone_ms.extend(times);
                Some(round_alone)
            } else {
                None
            };
            if options.all {
                let rate = all_slots(&hasher, &password, &hash, slots, duration).await;
                all_rates.push(rate);
                if let Some(round_alone) = round_alone {
                    #[allow(clippy::cast_precision_loss, reason = "a handful of slots")]
                    let limit = slots as f64 * 1_000.0 / round_alone;
                    ratios.push(rate / limit);
                }
            }
        }
    });
    let config = options.config;
    println!(
        "{{\"memory_kib\": {}, \"iterations\": {}, \"parallelism\": {}, \"slots\": {slots}, \
         \"rounds\": {}, \"verify_alone_ms\": {}, \"all_slots_per_s\": {}, \
         \"all_slots_vs_slots_over_alone\": {}}}",
        config.memory_kib,
        config.iterations,
        config.parallelism,
        options.rounds,
        json_median(alone_ms),
        json_median(all_rates),
        json_median(ratios),
    );
}

/// The median of `values` as a JSON number, or `null` when nothing was measured.
fn json_median(values: Vec<f64>) -> String {
    if values.is_empty() {
        "null".to_owned()
    } else {
        format!("{:.4}", median(values))
    }
}
