//! The one container every service keeps its state in: one value per
//! (account, region), as AWS keeps them apart.
//!
//! Each service defines what one region holds (ECS's `state::RegionState`,
//! CloudWatch Logs' `logs::store::LogsRegion`, Secrets Manager and SSM's
//! `secrets::RegionSecrets`) and how a fresh one is made; this module only
//! keys them and locks them. It knows no service: every service imports it,
//! so it must import none of them.
//!
//! Locking: the map of regions is a `DashMap` so that callers in different
//! regions never wait on each other; each region's value sits behind one
//! `parking_lot::Mutex`, held only for the synchronous body of a call and
//! never across an `.await`. One lock per region
//! makes multi-resource checks (e.g. "a cluster with services cannot be
//! deleted") atomic without ordering rules between finer locks.
//!
//! Services that are kept apart (ECS, Logs, Secrets) have a store each, so
//! that log lines streaming in from containers never wait on the ECS lock.

pub mod page_token;

use dashmap::DashMap;
use parking_lot::{Mutex, MutexGuard};
use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Makes the empty value of a region the first time it is used.
type Create<T> = Box<dyn Fn(&str, &str) -> T + Send + Sync>;

/// The values of type `T`, one per (account, region), each behind its own lock.
pub struct RegionStore<T> {
    regions: DashMap<(String, String), Arc<Region<T>>>,
    create: Create<T>,
    touched: Arc<Touched>,
}

/// Which regions were locked (so possibly changed) since someone last
/// asked: what `crate::persistence` writes. Off, it costs nothing.
#[derive(Default)]
struct Touched {
    on: AtomicBool,
    keys: Mutex<BTreeSet<(String, String)>>,
}

/// One (account, region)'s value and its lock.
pub struct Region<T> {
    value: Mutex<T>,
    key: (String, String),
    touched: Arc<Touched>,
}

impl<T> Region<T> {
    /// Locks the value (a plain mutex: never hold it across an `.await`).
    pub fn lock(&self) -> RegionGuard<'_, T> {
        RegionGuard {
            guard: self.value.lock(),
            region: self,
        }
    }
}

/// The locked value. Its release marks the region touched, while the lock
/// is still held: whoever takes the mark and then locks the region sees
/// every change made under this guard.
pub struct RegionGuard<'a, T> {
    guard: MutexGuard<'a, T>,
    region: &'a Region<T>,
}

impl<T> Deref for RegionGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for RegionGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for RegionGuard<'_, T> {
    fn drop(&mut self) {
        let touched = &self.region.touched;
        if touched.on.load(Ordering::Relaxed) {
            touched.keys.lock().insert(self.region.key.clone());
        }
    }
}

impl<T> RegionStore<T> {
    /// A store whose regions start as `create(account, region)`.
    pub fn creating(create: impl Fn(&str, &str) -> T + Send + Sync + 'static) -> Self {
        RegionStore {
            regions: DashMap::new(),
            create: Box::new(create),
            touched: Arc::default(),
        }
    }

    /// The value of one (account, region), created on first use.
    pub fn region(&self, account: &str, region: &str) -> Arc<Region<T>> {
        let key = (account.to_string(), region.to_string());
        // The common case takes only a shard's read lock.
        if let Some(existing) = self.regions.get(&key) {
            return existing.clone();
        }
        self.regions
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Region {
                    value: Mutex::new((self.create)(account, region)),
                    key,
                    touched: self.touched.clone(),
                })
            })
            .clone()
    }

    /// Runs `f` on one (account, region)'s value under its lock, created on
    /// first use. The lock is a plain mutex: `f` must not await.
    pub fn with<R>(&self, account: &str, region: &str, f: impl FnOnce(&mut T) -> R) -> R {
        let region = self.region(account, region);
        let mut guard = region.lock();
        f(&mut guard)
    }

    /// The value of one (account, region) if it was ever used: for readers
    /// that must not create a region by looking at it.
    pub fn existing(&self, account: &str, region: &str) -> Option<Arc<Region<T>>> {
        self.regions
            .get(&(account.to_string(), region.to_string()))
            .map(|r| r.clone())
    }

    /// The (account, region) pairs that were used, sorted.
    pub fn keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<_> = self.regions.iter().map(|e| e.key().clone()).collect();
        keys.sort();
        keys
    }

    /// Forgets every region (the reset endpoints). A caller still holding a
    /// region's `Arc` keeps a detached copy that no one else sees.
    pub fn reset(&self) {
        self.regions.clear();
    }

    /// From now on, remembers which regions are locked (`take_touched`).
    pub fn track_touches(&self) {
        self.touched.on.store(true, Ordering::SeqCst);
    }

    /// The regions locked since the last call (that still exist), and
    /// forgets the marks.
    pub fn take_touched(&self) -> Vec<Arc<Region<T>>> {
        let keys = std::mem::take(&mut *self.touched.keys.lock());
        keys.iter()
            .filter_map(|k| self.regions.get(k).map(|r| r.clone()))
            .collect()
    }
}

impl<T> Region<T> {
    /// (account, region).
    pub fn key(&self) -> &(String, String) {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> RegionStore<Vec<String>> {
        RegionStore::creating(|account, region| vec![format!("{account}/{region}")])
    }

    #[test]
    fn a_region_is_made_once_and_then_shared() {
        let store = store();
        assert!(store.existing("1", "r").is_none());
        store.region("1", "r").lock().push("x".into());
        assert_eq!(*store.region("1", "r").lock(), ["1/r", "x"]);
        assert_eq!(*store.existing("1", "r").unwrap().lock(), ["1/r", "x"]);
    }

    #[test]
    fn accounts_and_regions_are_kept_apart_and_listed_in_order() {
        let store = store();
        for (a, r) in [("2", "us-east-1"), ("1", "eu-west-1"), ("1", "us-east-1")] {
            store.region(a, r);
        }
        let keys: Vec<_> = store
            .keys()
            .into_iter()
            .map(|(a, r)| format!("{a}/{r}"))
            .collect();
        assert_eq!(keys, ["1/eu-west-1", "1/us-east-1", "2/us-east-1"]);
        assert_eq!(*store.region("2", "us-east-1").lock(), ["2/us-east-1"]);
    }

    #[test]
    fn locked_regions_are_marked_once_tracking_is_on_and_the_marks_are_taken_once() {
        let store = store();
        store.region("1", "a").lock().push("before".into());
        store.track_touches();
        assert!(
            store.take_touched().is_empty(),
            "nothing marked before tracking"
        );
        store.region("1", "a").lock().push("x".into());
        store.with("2", "b", |v| v.push("y".into()));
        store.region("1", "a").lock();
        let marked: Vec<_> = store
            .take_touched()
            .iter()
            .map(|r| r.key().clone())
            .collect();
        assert_eq!(
            marked,
            [("1".to_string(), "a".to_string()), ("2".into(), "b".into())]
        );
        assert!(store.take_touched().is_empty());
    }

    #[test]
    fn a_region_is_marked_before_its_lock_is_released() {
        let store = store();
        store.track_touches();
        let region = store.region("1", "a");
        let mut guard = region.lock();
        guard.push("x".into());
        assert!(
            store.take_touched().is_empty(),
            "not while it is being changed"
        );
        drop(guard);
        // The mark is taken, then the region locked: the change is seen.
        let taken = store.take_touched();
        assert_eq!(*taken[0].lock(), ["1/a", "x"]);
    }

    #[test]
    fn reset_forgets_every_region() {
        let store = store();
        store.region("1", "r").lock().push("x".into());
        store.reset();
        assert!(store.keys().is_empty());
        assert_eq!(*store.region("1", "r").lock(), ["1/r"]);
    }
}
