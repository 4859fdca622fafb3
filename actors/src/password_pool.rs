//! Two dedicated threads for argon2id, the only place passwords are hashed or checked.
//!
//! Why not tokio's blocking pool: argon2id allocates ~19 MiB per call. On whichever blocking
//! thread it lands, glibc serves that from the thread's malloc arena and keeps it after free;
//! bursts of sign-ins spread it over many threads and arenas. Measured before this pool: 1 GiB of
//! RSS retained after provisioning 51 accounts, which swamped the per-session memory figures.
//! Two fixed threads bound it to two arenas, and bound the CPU sign-ins can take from chat.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// Threads hashing passwords.
pub const THREADS: usize = 2;

/// Hashing jobs queued or running above which new ones are refused (`--max-password-jobs`): a
/// flood of sign-ins or registrations then answers `503` with `Retry-After` at once instead of
/// queueing without bound (each job is ~19 MiB and ~20 ms of a core).
static BOUND: Bound = Bound::new(64);

/// Sets the bound on jobs queued or running (at least 1).
pub fn set_max_in_flight(n: usize) {
    BOUND.max.store(n.max(1), Ordering::Relaxed);
}

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("too many passwords are being checked; retry shortly")]
    Busy,
    #[error("the password threads are gone")]
    Gone,
}

struct Bound {
    max: AtomicUsize,
    in_flight: AtomicUsize,
}

impl Bound {
    const fn new(max: usize) -> Bound {
        Bound { max: AtomicUsize::new(max), in_flight: AtomicUsize::new(0) }
    }

    fn take(&'static self) -> Option<Slot> {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max.load(Ordering::Relaxed) {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot(self))
    }
}

/// Gives its place back when the job is done (or dropped unrun).
struct Slot(&'static Bound);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Pool {
    jobs: parking_lot::Mutex<mpsc::Sender<Job>>,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = std::sync::Arc::new(parking_lot::Mutex::new(rx));
    for i in 0..THREADS {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new().name(format!("password-{i}")).spawn(move || {
            loop {
                let job = rx.lock().recv();
                match job {
                    Ok(job) => job(),
                    Err(_) => return,
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a password thread");
        }
    }
    Pool { jobs: parking_lot::Mutex::new(tx) }
});

/// Runs `work` on a password thread; `Busy` when the bound of jobs in flight is reached.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolError> {
    let slot = BOUND.take().ok_or(PoolError::Busy)?;
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _slot = slot;
        let _ = tx.send(work());
    });
    POOL.jobs.lock().send(job).map_err(|_| PoolError::Gone)?;
    rx.await.map_err(|_| PoolError::Gone)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_work_off_the_runtime() {
        let name = super::run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert!(name.unwrap().starts_with("password-"));
    }

    #[test]
    fn the_bound_refuses_beyond_max_and_gives_places_back() {
        static B: super::Bound = super::Bound::new(2);
        let (a, b) = (B.take().unwrap(), B.take().unwrap());
        assert!(B.take().is_none(), "a third job past the bound");
        drop(a);
        let c = B.take().expect("a place given back");
        drop((b, c));
        assert_eq!(B.in_flight.load(std::sync::atomic::Ordering::Acquire), 0);
    }
}
