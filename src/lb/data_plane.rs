//! The threads that carry the listeners' connections: one single-threaded
//! tokio runtime per core, each connection on one of them for its whole
//! life.
//!
//! Why not ecsbox's main (work-stealing) runtime: a proxied request wakes
//! three tasks in turn (the client's connection, the target connection's
//! driver, the client's again). On the work-stealing runtime a worker that
//! queues a woken task wakes a parked sibling to steal it, so at a few
//! thousand requests a second the workers spend their time parking and
//! waking each other (futex calls, context switches: a profile of the
//! listener at 64 connections showed more time in the scheduler's switches
//! than in the proxy). Here a connection, the target connections it uses
//! (`upstream` pools them per thread) and every wake-up between them stay on
//! one thread; threads never wait for each other. HAProxy's threads work
//! the same way.
//!
//! The accept loops stay on the main runtime and hand each accepted
//! connection to the next thread in turn, so the connections are spread
//! evenly whatever the kernel wakes.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The data plane's threads; stopped when dropped.
pub struct DataPlane {
    threads: Vec<Handle>,
    next: AtomicUsize,
    /// Dropping these ends each thread's runtime (and its connections).
    _stop: Vec<oneshot::Sender<()>>,
}

thread_local! {
    /// Which data plane thread this is (None on every other thread).
    static INDEX: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// How many threads a data plane has: one per core.
pub fn thread_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// This thread's index among the data plane's threads, or None.
pub fn current_index() -> Option<usize> {
    INDEX.with(|i| i.get())
}

impl DataPlane {
    pub fn start() -> std::io::Result<DataPlane> {
        let mut threads = Vec::new();
        let mut stops = Vec::new();
        for index in 0..thread_count() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            threads.push(rt.handle().clone());
            let (stop, stopped) = oneshot::channel::<()>();
            stops.push(stop);
            std::thread::Builder::new()
                .name(format!("ecsbox-lb-{index}"))
                .spawn(move || {
                    INDEX.with(|i| i.set(Some(index)));
                    // Returns when the sender is dropped; the runtime goes
                    // with this thread, and every connection on it.
                    let _ = rt.block_on(stopped);
                })?;
        }
        Ok(DataPlane {
            threads,
            next: AtomicUsize::new(0),
            _stop: stops,
        })
    }

    /// Runs `connection` on the next thread in turn.
    pub fn spawn<F>(&self, connection: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.threads.len();
        self.threads[i].spawn(connection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_go_to_the_threads_in_turn_and_know_their_index() {
        let plane = DataPlane::start().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..2 * thread_count() {
            let tx = tx.clone();
            plane.spawn(async move {
                tx.send(current_index()).unwrap();
            });
        }
        let mut seen: Vec<_> = (0..2 * thread_count())
            .map(|_| rx.recv().unwrap().expect("ran on a data plane thread"))
            .collect();
        seen.sort();
        let expected: Vec<_> = (0..thread_count()).flat_map(|i| [i, i]).collect();
        assert_eq!(seen, expected);
        assert_eq!(current_index(), None);
    }
}
