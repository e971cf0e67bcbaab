//! [`Argon2Hasher`]: argon2id hashing and verification on dedicated lower-priority threads
//! (off the async runtime), with a bounded queue in front of them, and a dummy hash for the
//! constant-work login path.
//!
//! Hashing and verification are argon2's own `PasswordHasher` and `PasswordVerifier`; what
//! this adds is where the work runs (see [`Workers`]), how much of it may wait, and a ceiling
//! on the memory a stored hash may ask for.
//!
//! Passwords are moved into the hashing job as [`PlaintextPassword`] clones, which zero
//! themselves when dropped; nothing here logs them or the hashes.

use crate::config::{Argon2Config, Argon2ConfigError};
use crate::workers::Workers;
use argon2::password_hash::Error as HashError;
use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHash as PhcHash, PasswordHasher as _,
    PasswordVerifier as _, Version,
};
use async_trait::async_trait;
use domain::{PasswordHash, PasswordHasher, PlaintextPassword, UnexpectedError};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// The most memory a stored hash may ask for, in KiB (1 GiB), unless the configured cost is
/// higher still. Verification uses the parameters written in the stored hash, so without a
/// ceiling one corrupt row could make a single login allocate gigabytes.
pub const MAX_STORED_MEMORY_KIB: u32 = 1024 * 1024;

/// What the dummy hash is a hash of. Its value does not matter: `verify_dummy` discards the
/// outcome, and only the cost of the computation is wanted.
const DUMMY_PASSWORD: &[u8] = b"dummy password for unknown accounts";

/// Jobs that may wait in the hashing threads' queue, per thread, beyond the one it runs.
/// With none, a thread that finishes a hash sleeps until the async runtime has woken the next
/// caller and that caller has queued its job; with one, it takes the next job at once. Memory
/// stays bounded by the threads: only a running job holds an argon2 matrix.
const QUEUED_PER_THREAD: usize = 1;

/// Hashes and verifies passwords with argon2id (version 0x13), writing PHC strings.
///
/// The work runs on the hasher's own `max_concurrent` threads (named `argon2-<n>`, at the
/// lower priority [`thread_nice`](Argon2Config::thread_nice) asks for), at most
/// [`max_concurrent`](Argon2Config::max_concurrent) jobs at a time; as many more may wait in
/// the threads' queue, and further callers wait as ordinary futures. Its futures need no
/// particular async runtime. The threads end when the hasher is dropped.
///
/// ```
/// use domain::{PasswordHasher, PlaintextPassword};
/// use infra_argon2::{Argon2Config, Argon2Hasher};
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let hasher = Argon2Hasher::new(Argon2Config::default())?;
/// let password = PlaintextPassword::new("correct horse battery staple");
/// let hash = hasher.hash(&password).await?;
/// assert!(hash.as_str().starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
/// assert!(hasher.verify(&password, &hash).await?);
/// assert!(!hasher.verify(&PlaintextPassword::new("guess"), &hash).await?);
/// assert!(!hasher.needs_rehash(&hash));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    /// The configured parameters as a stored hash states them (output length included), for
    /// `needs_rehash`.
    params: Params,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    max_stored_memory_kib: u32,
    dummy: PhcHash,
    gauge: Arc<Gauge>,
    workers: Workers,
}

impl Argon2Hasher {
    /// A hasher with `config`'s parameters and concurrency bound.
    ///
    /// Blocks while it computes the dummy hash that [`verify_dummy`] checks against, once
    /// (one hash's time). Build it at start-up, not per request.
    ///
    /// [`verify_dummy`]: PasswordHasher::verify_dummy
    ///
    /// # Errors
    /// [`Argon2ConfigError::InvalidParams`] when argon2 refuses the parameters;
    /// [`Argon2ConfigError::NoConcurrency`] when `max_concurrent` is 0;
    /// [`Argon2ConfigError::DummyHash`] when the dummy hash cannot be computed.
    pub fn new(config: Argon2Config) -> Result<Self, Argon2ConfigError> {
        if config.max_concurrent == 0 {
            return Err(Argon2ConfigError::NoConcurrency);
        }
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            Some(Params::DEFAULT_OUTPUT_LEN),
        )
        .map_err(|source| Argon2ConfigError::InvalidParams {
            memory_kib: config.memory_kib,
            iterations: config.iterations,
            parallelism: config.parallelism,
            source,
        })?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy = argon2
            .hash_password(DUMMY_PASSWORD)
            .map_err(Argon2ConfigError::DummyHash)?;
        Ok(Self {
            argon2,
            params,
            permits: Arc::new(Semaphore::new(
                config
                    .max_concurrent
                    .saturating_mul(1 + QUEUED_PER_THREAD)
                    .min(Semaphore::MAX_PERMITS),
            )),
            max_concurrent: config.max_concurrent,
            max_stored_memory_kib: MAX_STORED_MEMORY_KIB.max(config.memory_kib),
            dummy,
            gauge: Arc::default(),
            workers: Workers::start(config.max_concurrent, config.thread_nice)
                .map_err(Argon2ConfigError::Threads)?,
        })
    }

    /// How many hashes or verifications may run at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// How many are running right now (for metrics).
    pub fn in_flight(&self) -> usize {
        self.gauge.current.load(Ordering::SeqCst)
    }

    /// The most that have run at once since construction; never above
    /// [`max_concurrent`](Self::max_concurrent).
    pub fn max_in_flight(&self) -> usize {
        self.gauge.peak.load(Ordering::SeqCst)
    }

    /// How many of the [`max_concurrent`](Self::max_concurrent) hashing threads run at the
    /// lowered priority that [`Argon2Config::thread_nice`] asks for. 0 when it is 0, when the
    /// process already runs at the lowest priority, or off Linux.
    pub fn lowered_priority_threads(&self) -> usize {
        self.workers.lowered()
    }

    /// Runs `job` on one of the hashing threads once a slot is free.
    async fn run_blocking<T, F>(&self, job: F) -> Result<T, UnexpectedError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        // A permit covers a job that runs or waits in the threads' queue; callers beyond
        // that wait here, as cheap futures. See `QUEUED_PER_THREAD`.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|error| {
                UnexpectedError::internal("waiting for a password-hashing slot", error)
            })?;
        let gauge = Arc::clone(&self.gauge);
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.workers
            .submit(Box::new(move || {
                // The job owns the permit, not the caller: a caller that gives up (a cancelled
                // request) cannot stop work that has started, so its permit stays taken until
                // the work ends. Work that has not started is skipped: a caller that gave up
                // while its job was queued costs no hashing.
                if done.is_closed() {
                    return;
                }
                let running = gauge.enter();
                let result = job();
                // Released before the caller hears back, so that a caller who then looks at
                // the slots or the gauge sees this job ended (as a panic's unwinding would).
                drop(running);
                drop(permit);
                // The caller may have gone; then nobody wants the result.
                let _unwanted = done.send(result);
            }))
            .map_err(|_job| {
                UnexpectedError::internal(
                    "queueing a password hash",
                    "the hashing threads have stopped",
                )
            })?;
        // A job that panicked drops `done` without sending.
        outcome
            .await
            .map_err(|error| UnexpectedError::internal("running a password-hashing job", error))
    }

    /// Parses a stored hash and checks it is one this hasher can afford to verify.
    fn parse_stored(&self, hash: &PasswordHash) -> Result<PhcHash, UnexpectedError> {
        const CONTEXT: &str = "reading a stored password hash";
        let parsed = PhcHash::new(hash.as_str())
            .map_err(|error| UnexpectedError::internal(CONTEXT, error))?;
        // argon2's verifier reads a hash without them as a mismatch; it is a corrupt row.
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(UnexpectedError::internal(
                CONTEXT,
                "it has no salt or no output",
            ));
        }
        let memory_kib = Params::try_from(&parsed)
            .map_err(|error| UnexpectedError::internal(CONTEXT, error))?
            .m_cost();
        if memory_kib > self.max_stored_memory_kib {
            return Err(UnexpectedError::internal(
                CONTEXT,
                format!(
                    "it asks for {memory_kib} KiB of memory, more than the {} KiB allowed",
                    self.max_stored_memory_kib
                ),
            ));
        }
        Ok(parsed)
    }

    /// Verifies `password` against `stored` on a hashing thread, with the algorithm, version
    /// and parameters `stored` names. A mismatch is `Ok(false)`; any other failure is an error
    /// in `context`.
    async fn verify_parsed(
        &self,
        password: &PlaintextPassword,
        stored: PhcHash,
        context: &'static str,
    ) -> Result<bool, UnexpectedError> {
        let argon2 = self.argon2.clone();
        let password = password.clone();
        let outcome = self
            .run_blocking(move || argon2.verify_password(password.expose().as_bytes(), &stored))
            .await?;
        match outcome {
            Ok(()) => Ok(true),
            Err(HashError::PasswordInvalid) => Ok(false),
            Err(error) => Err(UnexpectedError::internal(context, error)),
        }
    }
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Argon2Hasher")
            .field("params", &self.params)
            .field("max_concurrent", &self.max_concurrent)
            .field("in_flight", &self.in_flight())
            .field("lowered_priority_threads", &self.lowered_priority_threads())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    #[tracing::instrument(skip_all)]
    async fn hash(&self, password: &PlaintextPassword) -> Result<PasswordHash, UnexpectedError> {
        let password = password.clone();
        let argon2 = self.argon2.clone();
        let hashed = self
            .run_blocking(move || argon2.hash_password(password.expose().as_bytes()))
            .await?
            .map_err(|error| UnexpectedError::internal("hashing a password", error))?;
        Ok(PasswordHash::new(hashed.to_string()))
    }

    #[tracing::instrument(skip_all)]
    async fn verify(
        &self,
        password: &PlaintextPassword,
        hash: &PasswordHash,
    ) -> Result<bool, UnexpectedError> {
        let stored = self.parse_stored(hash)?;
        self.verify_parsed(password, stored, "verifying a password")
            .await
    }

    #[tracing::instrument(skip_all)]
    async fn verify_dummy(&self, password: &PlaintextPassword) -> Result<(), UnexpectedError> {
        self.verify_parsed(
            password,
            self.dummy.clone(),
            "verifying against the dummy hash",
        )
        .await
        .map(|_discarded| ())
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = PhcHash::new(hash.as_str()) else {
            return true;
        };
        parsed.algorithm != ARGON2ID_IDENT
            || parsed.version != Some(Version::V0x13.into())
            || !Params::try_from(&parsed).is_ok_and(|params| params == self.params)
    }
}

/// Counts the hashing jobs running, and the most that ever ran at once.
#[derive(Default)]
struct Gauge {
    current: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn enter(&self) -> Running<'_> {
        let now = self.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Running(self)
    }
}

/// One running job; leaving the count when dropped, even if the job panics.
struct Running<'a>(&'a Gauge);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.current.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_THREAD_NICE;
    use domain::UnexpectedKind;
    use std::time::{Duration, Instant};
    use tokio::task::JoinSet;

    /// Cheap parameters, so that most tests take milliseconds.
    fn small(memory_kib: u32, iterations: u32) -> Argon2Hasher {
        Argon2Hasher::new(Argon2Config {
            memory_kib,
            iterations,
            parallelism: 1,
            max_concurrent: 2,
            thread_nice: DEFAULT_THREAD_NICE,
        })
        .unwrap()
    }

    fn password(text: &str) -> PlaintextPassword {
        PlaintextPassword::new(text)
    }

    /// A PHC string made directly with argon2, with any algorithm, version and parameters.
    fn phc(algorithm: Algorithm, version: Version, params: Params, text: &str) -> PasswordHash {
        let hash = Argon2::new(algorithm, version, params)
            .hash_password(text.as_bytes())
            .unwrap();
        PasswordHash::new(hash.to_string())
    }

    #[tokio::test]
    async fn hashes_round_trip_with_the_default_owasp_parameters() {
        let hasher = Argon2Hasher::new(Argon2Config::default()).unwrap();
        let hash = hasher.hash(&password("correct horse")).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
            "{}",
            hash.as_str()
        );
        assert!(
            hasher
                .verify(&password("correct horse"), &hash)
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&password("correct horsE"), &hash)
                .await
                .unwrap()
        );
        assert!(!hasher.needs_rehash(&hash));
    }

    #[tokio::test]
    async fn hashes_made_with_the_previous_defaults_verify_and_are_replaced() {
        // The default was m = 19456 KiB, t = 2 until 2026-12-02, then m = 12288, t = 3 until
        // 2026-12-04: existing accounts have such hashes, and must still log in.
        let now = Argon2Hasher::new(Argon2Config::default()).unwrap();
        for (memory_kib, iterations) in [(19_456, 2), (12_288, 3)] {
            let before = small(memory_kib, iterations);
            let hash = before.hash(&password("correct horse")).await.unwrap();
            let prefix = format!("$argon2id$v=19$m={memory_kib},t={iterations},p=1$");
            assert!(hash.as_str().starts_with(&prefix), "{}", hash.as_str());
            assert!(now.verify(&password("correct horse"), &hash).await.unwrap());
            assert!(!now.verify(&password("correct horsE"), &hash).await.unwrap());
            assert!(now.needs_rehash(&hash), "{}", hash.as_str());
        }
    }

    #[tokio::test]
    async fn a_wrong_password_is_false_not_an_error() {
        let hasher = small(256, 1);
        let hash = hasher.hash(&password("s3cret-enough")).await.unwrap();
        for wrong in [
            "",
            "s3cret-enougH",
            "s3cret-enough ",
            "something else entirely",
        ] {
            assert!(
                !hasher.verify(&password(wrong), &hash).await.unwrap(),
                "{wrong:?}"
            );
        }
    }

    #[tokio::test]
    async fn every_hash_has_its_own_salt() {
        let hasher = small(256, 1);
        let first = hasher.hash(&password("same password")).await.unwrap();
        let second = hasher.hash(&password("same password")).await.unwrap();
        assert_ne!(first, second);
        let salt = |hash: &PasswordHash| PhcHash::new(hash.as_str()).unwrap().salt.unwrap();
        assert_ne!(salt(&first), salt(&second));
        assert_eq!(salt(&first).len(), 16);
        assert!(
            hasher
                .verify(&password("same password"), &first)
                .await
                .unwrap()
        );
        assert!(
            hasher
                .verify(&password("same password"), &second)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_verify_and_need_rehash() {
        let hasher = small(512, 2);
        let own = hasher.hash(&password("pw")).await.unwrap();
        assert!(!hasher.needs_rehash(&own));

        let params = |m, t, p, output| Params::new(m, t, p, Some(output)).unwrap();
        let others = [
            phc(
                Algorithm::Argon2id,
                Version::V0x13,
                params(256, 2, 1, 32),
                "pw",
            ),
            phc(
                Algorithm::Argon2id,
                Version::V0x13,
                params(512, 1, 1, 32),
                "pw",
            ),
            phc(
                Algorithm::Argon2id,
                Version::V0x13,
                params(512, 2, 2, 32),
                "pw",
            ),
            phc(
                Algorithm::Argon2id,
                Version::V0x13,
                params(512, 2, 1, 16),
                "pw",
            ),
            phc(
                Algorithm::Argon2id,
                Version::V0x10,
                params(512, 2, 1, 32),
                "pw",
            ),
            phc(
                Algorithm::Argon2i,
                Version::V0x13,
                params(512, 2, 1, 32),
                "pw",
            ),
            phc(
                Algorithm::Argon2d,
                Version::V0x13,
                params(512, 2, 1, 32),
                "pw",
            ),
            small(256, 1).hash(&password("pw")).await.unwrap(),
        ];
        for other in &others {
            assert!(
                hasher.verify(&password("pw"), other).await.unwrap(),
                "{}",
                other.as_str()
            );
            assert!(!hasher.verify(&password("wrong"), other).await.unwrap());
            assert!(hasher.needs_rehash(other), "{}", other.as_str());
        }
        // The same parameters from another hasher instance need nothing.
        let same = phc(
            Algorithm::Argon2id,
            Version::V0x13,
            params(512, 2, 1, 32),
            "pw",
        );
        assert!(!hasher.needs_rehash(&same));
    }

    #[tokio::test]
    async fn hashes_are_the_phc_strings_argon2_itself_writes() {
        let hasher = small(512, 2);
        let ours = hasher.hash(&password("pw")).await.unwrap();
        let parsed = PhcHash::new(ours.as_str()).unwrap();
        // argon2's own hasher, given the same salt, writes the very same string.
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, hasher.params.clone())
            .hash_password_with_salt(b"pw", &parsed.salt.unwrap())
            .unwrap();
        assert_eq!(theirs.to_string(), ours.as_str());
        // argon2's own verifier accepts ours, whatever parameters it was built with.
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
        assert_eq!(
            Argon2::default().verify_password(b"wrong", &parsed),
            Err(HashError::PasswordInvalid)
        );
        // And ours accepts argon2's, at the default parameters too.
        let default_hasher = Argon2Hasher::new(Argon2Config::default()).unwrap();
        let theirs = phc(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(
                crate::OWASP_MEMORY_KIB,
                crate::OWASP_ITERATIONS,
                1,
                Some(Params::DEFAULT_OUTPUT_LEN),
            )
            .unwrap(),
            "correct horse",
        );
        assert!(
            default_hasher
                .verify(&password("correct horse"), &theirs)
                .await
                .unwrap()
        );
        assert!(
            !default_hasher
                .verify(&password("correct horsE"), &theirs)
                .await
                .unwrap()
        );
        assert!(!default_hasher.needs_rehash(&theirs));
    }

    #[tokio::test]
    async fn hashes_costlier_than_configured_or_with_extra_params_verify_and_need_rehash() {
        let hasher = small(256, 1);
        let costlier = phc(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, Some(32)).unwrap(),
            "pw",
        );
        let with_data = phc(
            Algorithm::Argon2id,
            Version::V0x13,
            argon2::ParamsBuilder::new()
                .m_cost(256)
                .t_cost(1)
                .p_cost(1)
                .data(argon2::AssociatedData::new(b"context").unwrap())
                .build()
                .unwrap(),
            "pw",
        );
        assert!(
            with_data.as_str().contains(",data="),
            "{}",
            with_data.as_str()
        );
        for stored in [&costlier, &with_data] {
            assert!(hasher.verify(&password("pw"), stored).await.unwrap());
            assert!(!hasher.verify(&password("wrong"), stored).await.unwrap());
            assert!(hasher.needs_rehash(stored));
        }
    }

    const MALFORMED: [&str; 10] = [
        "",
        "hunter2",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=19456,t=2,p=1",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "$argon2id$v=99$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=abc,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=1,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "$scrypt$ln=16,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
    ];

    #[tokio::test]
    async fn malformed_stored_hashes_are_internal_errors_not_panics() {
        let hasher = small(256, 1);
        for malformed in MALFORMED {
            let error = hasher
                .verify(&password("pw"), &PasswordHash::new(malformed))
                .await
                .unwrap_err();
            assert_eq!(error.kind(), UnexpectedKind::Internal, "{malformed}");
        }
        // Nothing was left behind: every slot is free and the hasher still works.
        assert_eq!(
            hasher.permits.available_permits(),
            2 * (1 + QUEUED_PER_THREAD)
        );
        let hash = hasher.hash(&password("pw")).await.unwrap();
        assert!(hasher.verify(&password("pw"), &hash).await.unwrap());
    }

    #[test]
    fn anything_unparsable_or_foreign_needs_rehash() {
        let hasher = small(256, 1);
        for malformed in MALFORMED {
            assert!(
                hasher.needs_rehash(&PasswordHash::new(malformed)),
                "{malformed}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_verifies_never_exceed_the_configured_bound() {
        let hasher = Arc::new(
            Argon2Hasher::new(Argon2Config {
                memory_kib: 4096,
                iterations: 1,
                parallelism: 1,
                max_concurrent: 3,
                thread_nice: DEFAULT_THREAD_NICE,
            })
            .unwrap(),
        );
        let hash = hasher.hash(&password("pw")).await.unwrap();
        let mut logins = JoinSet::new();
        for attempt in 0..64 {
            let hasher = Arc::clone(&hasher);
            let hash = hash.clone();
            logins.spawn(async move {
                let guess = if attempt % 2 == 0 { "pw" } else { "wrong" };
                (
                    attempt,
                    hasher.verify(&password(guess), &hash).await.unwrap(),
                )
            });
        }
        let mut completed = 0;
        while let Some(joined) = logins.join_next().await {
            let (attempt, matched) = joined.unwrap();
            assert_eq!(matched, attempt % 2 == 0);
            completed += 1;
        }
        assert_eq!(completed, 64);
        let peak = hasher.max_in_flight();
        assert!(peak <= 3, "{peak} ran at once");
        assert!(
            peak >= 2,
            "the work was serialised: at most {peak} ran at once"
        );
        assert_eq!(hasher.in_flight(), 0);
        assert_eq!(
            hasher.permits.available_permits(),
            3 * (1 + QUEUED_PER_THREAD)
        );
    }

    #[test]
    fn the_default_bound_is_the_cpu_count_and_zero_is_refused() {
        let cpus = std::thread::available_parallelism().unwrap().get();
        assert_eq!(Argon2Config::default().max_concurrent, cpus);
        let refused = Argon2Hasher::new(Argon2Config {
            max_concurrent: 0,
            thread_nice: DEFAULT_THREAD_NICE,
            ..Argon2Config::default()
        });
        assert!(matches!(refused, Err(Argon2ConfigError::NoConcurrency)));
    }

    #[test]
    fn parameters_argon2_refuses_are_reported() {
        let refused = Argon2Hasher::new(Argon2Config {
            memory_kib: 4,
            iterations: 0,
            parallelism: 1,
            max_concurrent: 1,
            thread_nice: DEFAULT_THREAD_NICE,
        })
        .unwrap_err();
        assert!(
            matches!(
                refused,
                Argon2ConfigError::InvalidParams { memory_kib: 4, .. }
            ),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("m = 4 KiB"), "{refused}");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_on_threads_of_lowered_priority() {
        let process = rustix::process::getpriority_process(None).unwrap();
        let hasher = small(64, 1);
        let stored = hasher.hash(&password("correct horse")).await.unwrap();
        assert!(
            hasher
                .verify(&password("correct horse"), &stored)
                .await
                .unwrap()
        );
        assert_eq!(
            hasher.lowered_priority_threads(),
            if process < 19 { 2 } else { 0 }
        );
        // The caller's thread keeps its priority.
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), process);

        let equal = Argon2Hasher::new(Argon2Config {
            thread_nice: 0,
            ..Argon2Config::default()
        })
        .unwrap();
        equal.verify_dummy(&password("anything")).await.unwrap();
        assert_eq!(equal.lowered_priority_threads(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hashing_does_not_block_the_async_runtime() {
        let hasher = small(16 * 1024, 3);
        let secret = password("pw");
        let hashing = hasher.hash(&secret);
        tokio::pin!(hashing);
        let started = Instant::now();
        let mut ticks = 0_u32;
        let hash = loop {
            tokio::select! {
                hash = &mut hashing => break hash.unwrap(),
                () = tokio::time::sleep(Duration::from_millis(1)) => ticks += 1,
            }
        };
        // The single runtime thread kept serving timers while the hash was computed
        // elsewhere; had it computed the hash itself, no timer could have fired meanwhile.
        assert!(ticks >= 3, "{ticks} ticks in {:?}", started.elapsed());
        assert!(hasher.verify(&password("pw"), &hash).await.unwrap());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_cancelled_caller_keeps_its_slot_until_the_work_ends() {
        let hasher = Argon2Hasher::new(Argon2Config {
            memory_kib: 16 * 1024,
            iterations: 4,
            parallelism: 1,
            max_concurrent: 1,
            thread_nice: DEFAULT_THREAD_NICE,
        })
        .unwrap();
        let secret = password("pw");
        {
            // Given up on only once its hash has started (a job given up on while queued is
            // skipped: see the next test).
            let hashing = hasher.hash(&secret);
            tokio::pin!(hashing);
            while hasher.in_flight() == 0 {
                tokio::select! {
                    _ = &mut hashing => panic!("the hash finished before it was seen running"),
                    () = tokio::time::sleep(Duration::from_micros(100)) => {}
                }
            }
        }
        let permits = 1 + QUEUED_PER_THREAD;
        assert_eq!(hasher.in_flight(), 1);
        assert_eq!(hasher.permits.available_permits(), permits - 1);
        while hasher.permits.available_permits() < permits {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(hasher.in_flight(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_caller_that_gives_up_while_queued_costs_no_hashing() {
        let hasher = Arc::new(small(256, 1));
        assert_eq!(hasher.max_concurrent(), 2);
        // Both threads held by jobs that wait for a word from the test.
        let mut releases = Vec::new();
        let mut holders = Vec::new();
        for _ in 0..2 {
            let (release, held) = std::sync::mpsc::channel::<()>();
            releases.push(release);
            let hasher = Arc::clone(&hasher);
            holders.push(tokio::spawn(async move {
                hasher
                    .run_blocking(move || held.recv_timeout(Duration::from_secs(10)))
                    .await
            }));
        }
        while hasher.in_flight() < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Queued behind them, then abandoned.
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ran);
        let abandoned = tokio::time::timeout(
            Duration::from_millis(20),
            hasher.run_blocking(move || counted.fetch_add(1, Ordering::SeqCst)),
        )
        .await;
        assert!(
            abandoned.is_err(),
            "the queued job ran while both threads were held"
        );
        for release in releases {
            release.send(()).unwrap();
        }
        for holder in holders {
            assert!(holder.await.unwrap().unwrap().is_ok());
        }
        let total = hasher.max_concurrent() * (1 + QUEUED_PER_THREAD);
        while hasher.permits.available_permits() < total {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // The threads are free again; a job queued now runs, the abandoned one never did.
        let after = Arc::clone(&ran);
        hasher
            .run_blocking(move || after.load(Ordering::SeqCst))
            .await
            .map(|seen| assert_eq!(seen, 0))
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn verify_dummy_costs_about_what_a_real_verify_does() {
        let hasher = small(8 * 1024, 2);
        let hash = hasher.hash(&password("pw")).await.unwrap();
        let mut real = Vec::new();
        let mut dummy = Vec::new();
        // Interleaved, so that load from elsewhere on the machine hits both alike.
        for _ in 0..9 {
            let started = Instant::now();
            hasher.verify(&password("guess"), &hash).await.unwrap();
            real.push(started.elapsed());
            let started = Instant::now();
            hasher.verify_dummy(&password("guess")).await.unwrap();
            dummy.push(started.elapsed());
        }
        real.sort();
        dummy.sort();
        let ratio = dummy[4].as_secs_f64() / real[4].as_secs_f64();
        assert!(
            (0.5..=2.0).contains(&ratio),
            "dummy {:?} vs real {:?}",
            dummy[4],
            real[4]
        );
    }

    #[tokio::test]
    async fn verify_dummy_succeeds_whatever_the_password() {
        let hasher = small(256, 1);
        for guess in ["", "pw", "dummy password for unknown accounts"] {
            hasher.verify_dummy(&password(guess)).await.unwrap();
        }
    }
}
