//! Gives freed heap memory back to the operating system once the server
//! goes quiet. glibc's malloc keeps what a burst of requests freed in its
//! arenas (one per thread that allocated), so without this the resident
//! size after a load stays near its peak though the memory is unused: the
//! soak benchmark (compat-tests/bench/soak.py) read +43% over the baseline
//! once everything the load made was gone. `malloc_trim(0)` returns the
//! free pages of every arena; it costs about a millisecond, so it runs
//! only after activity, when a whole tick passed without any.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long without a request counts as quiet.
const QUIET: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Trimmer {
    /// Requests seen so far.
    activity: AtomicU64,
}

impl Trimmer {
    /// Notes a request (the server calls this for each).
    pub fn touch(&self) {
        self.activity.fetch_add(1, Ordering::Relaxed);
    }

    /// Trims after each quiet tick that follows activity, for as long as
    /// the trimmer lives.
    pub fn spawn(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let (mut trimmed_at, mut seen) = (0, 0);
            loop {
                tokio::time::sleep(QUIET).await;
                let Some(me) = weak.upgrade() else { return };
                let now = me.activity.load(Ordering::Relaxed);
                if now == seen && now != trimmed_at {
                    trim();
                    trimmed_at = now;
                }
                seen = now;
            }
        });
    }
}

/// Returns the free memory of every malloc arena to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory malloc holds free; it has
    // no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
