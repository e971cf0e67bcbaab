//! [`Workers`]: the hasher's own threads, one per hashing slot, at a lower scheduling priority
//! than the rest of the process.
//!
//! A login's argon2 run is tens of milliseconds of CPU; a session check is tens of
//! microseconds. On Tokio's blocking pool, hashing threads compete with the runtime's workers
//! as equals, so while a login flood keeps every slot busy, each request on the runtime waits
//! behind scheduler slices of hashing. Threads of their own can carry a higher nice value: the
//! kernel then runs the runtime's workers first whenever they have work, and hashing takes the
//! rest of the CPU (`docs/decisions/0004-hashing-threads.md` has the A/B). Hashing is not
//! starved, only deferred: a nice value of 10 still gives it about a tenth of a contended core
//! (CFS weights 110 against 1024).
//!
//! The priority is set once by each thread on itself, which needs no privilege (lowering a
//! thread's priority is always allowed; raising it back would not be, which is why this is
//! not done to threads of Tokio's shared blocking pool).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

/// A job for a hashing thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of hashing threads taking jobs from one queue. Dropping it lets the threads
/// finish the jobs already queued and exit.
pub(crate) struct Workers {
    queue: Sender<Job>,
    /// How many threads lowered their priority as asked.
    lowered: usize,
}

impl Workers {
    /// Starts `threads` threads named `argon2-<n>`, each raising its own nice value by
    /// `nice` (0 leaves it as the process's), and returns once every one has.
    ///
    /// # Errors
    /// The OS refused to start a thread.
    pub(crate) fn start(threads: usize, nice: u8) -> std::io::Result<Self> {
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let (started, starts) = channel::<bool>();
        for index in 0..threads {
            let jobs = Arc::clone(&jobs);
            let started = started.clone();
            thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    // `start` may have given up on a later thread; then nobody listens.
                    let _unheard = started.send(lower_own_priority(nice));
                    drop(started);
                    run(&jobs);
                })?;
        }
        drop(started);
        // Each thread reports once, before its first job; a thread that died first (it
        // cannot: nothing before the report panics) would end the count early, not hang it.
        let lowered = starts
            .iter()
            .take(threads)
            .filter(|lowered| *lowered)
            .count();
        Ok(Self { queue, lowered })
    }

    /// Queues `job` for the next free thread. Returns it back if every thread has gone
    /// (which only a panic outside a job could cause: jobs run under `catch_unwind`).
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        self.queue.send(job).map_err(|refused| refused.0)
    }

    /// How many threads run at the lowered priority: all of them, unless the increment is 0,
    /// the process is already at the lowest priority, or the system does not allow it.
    pub(crate) fn lowered(&self) -> usize {
        self.lowered
    }
}

/// A thread's loop: one job at a time until the queue's sender is dropped.
fn run(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for a job, never while running one, so the
        // other threads can take the next jobs meanwhile.
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else { return };
        // A panicking job must not shrink the pool; the job itself reports the panic to its
        // caller (its result channel closes without a value).
        let _outcome = catch_unwind(AssertUnwindSafe(job));
    }
}

/// Raises the calling thread's nice value by `increment`, up to the maximum (19). Returns
/// whether it took effect. Failure is not an error: the threads then run at the process's
/// priority, as Tokio's blocking pool would.
#[cfg(target_os = "linux")]
fn lower_own_priority(increment: u8) -> bool {
    use rustix::process::{getpriority_process, setpriority_process};
    if increment == 0 {
        return false;
    }
    // On Linux the nice value is per thread, and PRIO_PROCESS with a thread id addresses one
    // thread; `None` would mean the whole process on other systems, so the id is explicit.
    let me = Some(rustix::thread::gettid());
    let Ok(current) = getpriority_process(me) else {
        return false;
    };
    let wanted = current.saturating_add(i32::from(increment)).min(19);
    wanted > current && setpriority_process(me, wanted).is_ok()
}

/// Elsewhere a thread's priority is not set on its own (`setpriority` addresses processes),
/// so the hashing threads keep the process's.
#[cfg(not(target_os = "linux"))]
fn lower_own_priority(_increment: u8) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;
    use std::time::Duration;

    #[test]
    fn jobs_run_on_named_threads_and_a_panic_does_not_lose_a_thread() {
        let workers = Workers::start(1, 0).unwrap();
        workers
            .submit(Box::new(|| panic!("a job that panics")))
            .ok()
            .unwrap();
        let (sender, names) = sync_channel(1);
        workers
            .submit(Box::new(move || {
                let name = thread::current().name().map(str::to_owned);
                sender.send(name).unwrap();
            }))
            .ok()
            .unwrap();
        let name = names.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(name.as_deref(), Some("argon2-0"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn each_thread_lowers_its_own_priority_and_nothing_else() {
        use rustix::process::getpriority_process;
        let before = getpriority_process(None).unwrap();
        let workers = Workers::start(2, 5).unwrap();
        let (sender, seen) = sync_channel(2);
        for _ in 0..2 {
            let sender = sender.clone();
            workers
                .submit(Box::new(move || {
                    let own = getpriority_process(Some(rustix::thread::gettid())).unwrap();
                    sender.send(own).unwrap();
                }))
                .ok()
                .unwrap();
        }
        for _ in 0..2 {
            let own = seen.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(own, (before + 5).min(19));
        }
        // The calling thread (and through it the process's default) is untouched.
        assert_eq!(getpriority_process(None).unwrap(), before);
        assert_eq!(workers.lowered(), if before < 19 { 2 } else { 0 });
    }

    #[test]
    fn dropping_the_workers_ends_their_threads() {
        let workers = Workers::start(2, 0).unwrap();
        let (sender, done) = sync_channel(0);
        // A job that outlives the pool's handle: it still runs to the end.
        workers
            .submit(Box::new(move || {
                thread::sleep(Duration::from_millis(20));
                sender.send(()).unwrap();
            }))
            .ok()
            .unwrap();
        drop(workers);
        done.recv_timeout(Duration::from_secs(10)).unwrap();
    }
}
