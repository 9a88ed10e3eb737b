//! In-memory state, one store per (account, region), as AWS keeps them apart.
//!
//! Locking: the map of regions is a `DashMap` so that callers in different
//! regions never wait on each other; each region's state sits behind one
//! `parking_lot::Mutex`, held only for the synchronous body of a handler and
//! never across an `.await`. One lock per region makes multi-resource checks
//! (e.g. "a cluster with services cannot be deleted") atomic without ordering
//! rules between finer locks.

pub mod arn;
pub mod container_instances;
pub mod lifecycle;
pub mod services;
pub mod tasks;
mod region;

pub use region::*;

use dashmap::DashMap;
use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Default)]
pub struct Store {
    regions: DashMap<(String, String), Arc<Mutex<RegionState>>>,
    /// Given to every region's state when it is created.
    settings: RegionSettings,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_settings(settings: RegionSettings) -> Self {
        Store { regions: DashMap::new(), settings }
    }

    /// The state of one (account, region), created empty on first use.
    pub fn region(&self, account: &str, region: &str) -> Arc<Mutex<RegionState>> {
        let key = (account.to_string(), region.to_string());
        if let Some(existing) = self.regions.get(&key) {
            return existing.clone();
        }
        self.regions
            .entry(key)
            .or_insert_with(|| Arc::new(Mutex::new(RegionState::with_settings(account, region, self.settings.clone()))))
            .clone()
    }

    /// Forgets everything (the `/_ecsbox/reset` and `/moto-api/reset` endpoints).
    pub fn reset(&self) {
        self.regions.clear();
    }

    /// (account, region) pairs that hold state, for the state endpoint.
    pub fn keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<_> = self.regions.iter().map(|e| e.key().clone()).collect();
        keys.sort();
        keys
    }
}
