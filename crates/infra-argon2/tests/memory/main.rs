//! How much memory the process keeps after many verifications, under the allocator the server
//! runs with (mimalloc): one argon2 matrix per hashing thread at most, however many
//! verifications ran.
//!
//! Under glibc's malloc this does not hold: freed matrices stay in its per-thread arenas and
//! the process grows by several of them. That is why the server sets mimalloc, and why an
//! embedding service that hashes with this crate should too.
//!
//! This binary holds exactly one test on purpose. It reads process-wide figures
//! (`/proc/self/status`), and `cargo test` runs the tests of one binary in parallel threads
//! of one process, so any other test here would add its own allocations to the measurement.

// A test binary: a failed expectation panics by design.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(target_os = "linux")]
mod linux {
    use domain::{PasswordHasher, PlaintextPassword};
    use infra_argon2::{Argon2Config, Argon2Hasher};
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::task::JoinSet;

    const MIB: u64 = 1024 * 1024;

    /// A field of `/proc/self/status` such as `VmHWM` (peak resident set) or `VmRSS`, in
    /// bytes.
    fn status_bytes(field: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
        let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().unwrap();
        kib * 1024
    }

    #[test]
    fn verifies_across_many_blocking_threads_keep_memory_bounded() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(64)
            .enable_all()
            .build()
            .unwrap();
        let config = Argon2Config::default();
        let hasher = Arc::new(Argon2Hasher::new(config).unwrap());
        let matrix = u64::from(config.memory_kib) * 1024;
        let allowed = (config.max_concurrent as u64 + 2) * matrix;

        runtime.block_on(async {
            let hash = hasher
                .hash(&PlaintextPassword::new("correct horse"))
                .await
                .unwrap();
            // Start many blocking threads and leave them idle (they live for 10 s): should the
            // work ever move to Tokio's blocking pool, the verifications below would land on
            // many different threads, as a busy server's do, and each could keep a matrix.
            let mut sleepers = JoinSet::new();
            for _ in 0..32 {
                sleepers.spawn_blocking(|| std::thread::sleep(Duration::from_millis(50)));
            }
            sleepers.join_all().await;

            let peak_before = status_bytes("VmHWM");
            let resident_before = status_bytes("VmRSS");
            let mut logins = JoinSet::new();
            for attempt in 0..100 {
                let hasher = Arc::clone(&hasher);
                let hash = hash.clone();
                logins.spawn(async move {
                    let guess = if attempt % 2 == 0 {
                        "correct horse"
                    } else {
                        "wrong"
                    };
                    let matched = hasher
                        .verify(&PlaintextPassword::new(guess), &hash)
                        .await
                        .unwrap();
                    assert_eq!(matched, attempt % 2 == 0);
                    // Let the next login run on another blocking thread now and then.
                    tokio::time::sleep(Duration::from_millis(attempt % 7)).await;
                });
            }
            logins.join_all().await;
            let peak_growth = status_bytes("VmHWM").saturating_sub(peak_before);
            let resident_growth = status_bytes("VmRSS").saturating_sub(resident_before);
            eprintln!(
                "100 verifies: peak RSS grew {} MiB, RSS grew {} MiB (allowed {} MiB)",
                peak_growth / MIB,
                resident_growth / MIB,
                allowed / MIB
            );
            assert!(
                peak_growth < allowed,
                "peak RSS grew {} MiB, more than {} MiB",
                peak_growth / MIB,
                allowed / MIB
            );
            assert!(
                resident_growth < allowed,
                "RSS grew {} MiB, more than {} MiB",
                resident_growth / MIB,
                allowed / MIB
            );
        });
    }
}
