//! Coalescing of concurrent point reads into one query.
//!
//! The check behind every authenticated request is a read by primary key. Done one by one,
//! each costs a database round trip, and on this workload the round trip, not the read, is the
//! price: PostgreSQL answers a single-row read in microseconds but spends far more on waking
//! up, parsing the protocol and replying, and sqlx adds a second round trip (the ping with
//! which it takes every connection back into its pool). SQLite's driver hands every query to
//! a worker thread and back. [`Batcher`] lets the requests that arrive while a read is running
//! wait for the next one, which fetches all their keys at once.
//!
//! This changes cost, not freshness: every answer comes from a query that started after the
//! request asked for it, so a change committed before a request arrived (a revoked session, a
//! deactivated user) is always seen, exactly as with one query per request. Nothing is kept
//! between queries.

use domain::{UnexpectedError, UnexpectedKind};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

/// One kind of read by key, many keys at a time.
pub(crate) trait Fetch: Send + Sync + 'static {
    /// What a read is by.
    type Key: Copy + Ord + Hash + Send + 'static;
    /// What a read finds for one key.
    type Value: Clone + Send + 'static;

    /// The value of each of `keys` that exists; a key without one is left out. `keys` are
    /// distinct and sorted.
    fn fetch(
        &self,
        keys: Vec<Self::Key>,
    ) -> impl Future<Output = Result<HashMap<Self::Key, Self::Value>, UnexpectedError>> + Send;
}

/// Coalesces concurrent [`Batcher::get`]s into one read at a time of at most `max_batch`
/// keys. With one read at a time, the requests that arrive during a read all join the next:
/// the busier the database, the larger (and fewer) its reads, which is where the coalescing
/// saves its work.
pub(crate) struct Batcher<F: Fetch> {
    shared: Arc<Shared<F>>,
}

impl<F: Fetch> Clone for Batcher<F> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<F: Fetch> std::fmt::Debug for Batcher<F> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Batcher").finish_non_exhaustive()
    }
}

type Answer<V> = Result<Option<V>, UnexpectedError>;

struct Shared<F: Fetch> {
    fetcher: F,
    max_batch: usize,
    /// What `context` failures are reported with.
    context: &'static str,
    state: Mutex<State<F::Key, F::Value>>,
}

struct State<K, V> {
    /// Requests not yet part of a read, oldest first.
    waiting: Vec<(K, oneshot::Sender<Answer<V>>)>,
    /// Whether a task is reading (draining `waiting`).
    reading: bool,
}

impl<F: Fetch> Batcher<F> {
    /// A batcher over `fetcher`; failures are reported as `context: <cause>`.
    pub(crate) fn new(fetcher: F, max_batch: usize, context: &'static str) -> Self {
        Self {
            shared: Arc::new(Shared {
                fetcher,
                max_batch: max_batch.max(1),
                context,
                state: Mutex::new(State {
                    waiting: Vec::new(),
                    reading: false,
                }),
            }),
        }
    }

    /// The value of `key`, read by a query that starts after this call.
    ///
    /// # Errors
    /// The read's failure, as every request of its batch sees it.
    pub(crate) async fn get(&self, key: F::Key) -> Answer<F::Value> {
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut state = self.shared.lock();
            state.waiting.push((key, reply));
            !std::mem::replace(&mut state.reading, true)
        };
        if lead {
            // The reads run in a task of their own, not in this request's: a client that
            // hangs up cancels its request, and must not cancel the others' answers with it.
            tokio::spawn(Arc::clone(&self.shared).drain());
        }
        answer.await.unwrap_or_else(|_| {
            Err(UnexpectedError::internal(
                self.shared.context,
                "the read ended without an answer",
            ))
        })
    }
}

impl<F: Fetch> Shared<F> {
    fn lock(&self) -> MutexGuard<'_, State<F::Key, F::Value>> {
        // The state is a queue and a flag, consistent at every unlock: a panic elsewhere
        // while it was held leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads for the waiting requests until none is left.
    async fn drain(self: Arc<Self>) {
        let mut reading = Reading {
            shared: &self,
            done: false,
        };
        loop {
            let batch = {
                let mut state = self.lock();
                if state.waiting.is_empty() {
                    state.reading = false;
                    reading.done = true;
                    return;
                }
                let take = state.waiting.len().min(self.max_batch);
                state.waiting.drain(..take).collect::<Vec<_>>()
            };
            let mut keys = batch.iter().map(|(key, _)| *key).collect::<Vec<_>>();
            keys.sort_unstable();
            keys.dedup();
            match self.fetcher.fetch(keys).await {
                Ok(found) => {
                    for (key, reply) in batch {
                        // A request that gave up no longer listens; that is its business.
                        let _ = reply.send(Ok(found.get(&key).cloned()));
                    }
                }
                Err(error) => {
                    let kind = error.kind();
                    let cause = std::error::Error::source(&error)
                        .map_or_else(|| error.to_string(), ToString::to_string);
                    for (_, reply) in batch {
                        let copy = match kind {
                            UnexpectedKind::Unavailable => {
                                UnexpectedError::unavailable(self.context, cause.clone())
                            }
                            UnexpectedKind::Internal => {
                                UnexpectedError::internal(self.context, cause.clone())
                            }
                        };
                        let _ = reply.send(Err(copy));
                    }
                }
            }
        }
    }
}

/// Lets a later request start a read again if this one's task ends early (a panic in
/// `fetch`).
struct Reading<'a, F: Fetch> {
    shared: &'a Shared<F>,
    done: bool,
}

impl<F: Fetch> Drop for Reading<'_, F> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.lock().reading = false;
        }
    }
}

/// `keys` lengthened to the next power of two by repeating its last key, so that a query
/// with one parameter per key takes one of a handful of shapes, and each stays prepared.
pub(crate) fn pad_to_power_of_two<K: Copy>(keys: &mut Vec<K>) {
    if let Some(&last) = keys.last() {
        keys.resize(keys.len().next_power_of_two(), last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Squares its keys, after a pause long enough for other requests to queue up; fails
    /// for key 0 and panics for key 666.
    #[derive(Default)]
    struct Squares {
        reads: AtomicUsize,
        largest: AtomicUsize,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
    }

    impl Fetch for Arc<Squares> {
        type Key = u32;
        type Value = u64;

        async fn fetch(&self, keys: Vec<u32>) -> Result<HashMap<u32, u64>, UnexpectedError> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.largest.fetch_max(keys.len(), Ordering::SeqCst);
            assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "{keys:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            assert!(!keys.contains(&666), "the fetcher failed");
            if keys.contains(&0) {
                return Err(UnexpectedError::unavailable(
                    "reading",
                    "connection refused",
                ));
            }
            Ok(keys
                .into_iter()
                .filter(|key| key % 10 != 9)
                .map(|key| (key, u64::from(key) * u64::from(key)))
                .collect())
        }
    }

    fn batcher(max_batch: usize) -> (Batcher<Arc<Squares>>, Arc<Squares>) {
        let squares = Arc::new(Squares::default());
        let batcher = Batcher::new(Arc::clone(&squares), max_batch, "squaring");
        (batcher, squares)
    }

    async fn get_all(batcher: &Batcher<Arc<Squares>>, keys: Vec<u32>) -> Vec<Answer<u64>> {
        let tasks = keys
            .into_iter()
            .map(|key| {
                let batcher = batcher.clone();
                tokio::spawn(async move { batcher.get(key).await })
            })
            .collect::<Vec<_>>();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }

    #[tokio::test]
    async fn concurrent_gets_share_reads_and_each_gets_its_own_answer() {
        let (batcher, squares) = batcher(16);
        let keys = (1..=100).collect::<Vec<u32>>();
        let answers = get_all(&batcher, keys.clone()).await;
        for (key, answer) in keys.into_iter().zip(answers) {
            let expected = (key % 10 != 9).then(|| u64::from(key) * u64::from(key));
            assert_eq!(answer.unwrap(), expected, "key {key}");
        }
        let reads = squares.reads.load(Ordering::SeqCst);
        assert!(reads < 100 / 4, "{reads} reads for 100 gets");
        assert!(squares.largest.load(Ordering::SeqCst) <= 16);
        assert_eq!(squares.most_in_flight.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_same_key_asked_twice_is_read_once() {
        let (batcher, squares) = batcher(64);
        let answers = get_all(&batcher, vec![3; 40]).await;
        assert!(answers.into_iter().all(|answer| answer.unwrap() == Some(9)));
        assert!(squares.largest.load(Ordering::SeqCst) == 1);
    }

    #[tokio::test]
    async fn a_lone_get_is_read_at_once() {
        let (batcher, squares) = batcher(64);
        assert_eq!(batcher.get(4).await.unwrap(), Some(16));
        assert_eq!(batcher.get(19).await.unwrap(), None);
        assert_eq!(squares.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_read_fails_every_request_of_its_batch_with_its_kind() {
        let (batcher, _) = batcher(64);
        // Key 5 goes first and alone; 0 and 6 then wait together for the next read.
        let first = {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.get(5).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let answers = get_all(&batcher, vec![0, 6]).await;
        assert_eq!(first.await.unwrap().unwrap(), Some(25));
        for answer in answers {
            let error = answer.unwrap_err();
            assert!(error.is_unavailable());
            assert_eq!(error.to_string(), "squaring: connection refused");
        }
        // The batcher recovers: the next read succeeds.
        assert_eq!(batcher.get(7).await.unwrap(), Some(49));
    }

    #[tokio::test]
    async fn a_request_that_gives_up_does_not_cancel_the_others() {
        let (batcher, _) = batcher(64);
        let impatient = {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.get(2).await })
        };
        let patient = {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.get(3).await })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        impatient.abort();
        assert_eq!(patient.await.unwrap().unwrap(), Some(9));
        assert!(impatient.await.unwrap_err().is_cancelled());
    }

    #[tokio::test]
    async fn a_panicking_read_answers_its_requests_with_an_error_and_reads_resume() {
        let (batcher, _) = batcher(64);
        let error = batcher.get(666).await.unwrap_err();
        assert!(!error.is_unavailable());
        assert_eq!(batcher.get(8).await.unwrap(), Some(64));
    }

    #[test]
    fn padding_repeats_the_last_key_up_to_a_power_of_two() {
        let mut keys = vec![1, 2, 3];
        pad_to_power_of_two(&mut keys);
        assert_eq!(keys, [1, 2, 3, 3]);
        let mut keys = vec![1, 2, 3, 4];
        pad_to_power_of_two(&mut keys);
        assert_eq!(keys, [1, 2, 3, 4]);
        let mut keys = vec![7];
        pad_to_power_of_two(&mut keys);
        assert_eq!(keys, [7]);
        let mut keys: Vec<u8> = Vec::new();
        pad_to_power_of_two(&mut keys);
        assert!(keys.is_empty());
    }
}
