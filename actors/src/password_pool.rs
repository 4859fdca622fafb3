//! Two dedicated threads for argon2id, the only place passwords are hashed or checked.
//!
//! Why not tokio's blocking pool: argon2id allocates ~19 MiB per call. On whichever blocking
//! thread it lands, glibc serves that from the thread's malloc arena and keeps it after free;
//! bursts of sign-ins spread it over many threads and arenas. Measured before this pool: 1 GiB of
//! RSS retained after provisioning 51 accounts, which swamped the per-session memory figures.
//! Two fixed threads bound it to two arenas, and bound the CPU sign-ins can take from chat.

use std::sync::LazyLock;
use std::sync::mpsc;

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// Threads hashing passwords.
pub const THREADS: usize = 2;

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

/// Runs `work` on a password thread; `None` if the pool is gone.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(work());
    });
    POOL.jobs.lock().send(job).ok()?;
    rx.await.ok()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_work_off_the_runtime() {
        let name = super::run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert!(name.unwrap().starts_with("password-"));
    }
}
