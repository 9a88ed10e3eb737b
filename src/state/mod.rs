//! ECS's in-memory state: what one (account, region) holds, in a
//! `RegionStore` (see `crate::store` for the keying and the locking rules).

pub mod arn;
pub mod container_instances;
pub mod lifecycle;
pub mod network;
mod region;
mod saved;
pub mod services;
pub mod task_definitions;
pub mod task_sets;
pub mod tasks;

pub use region::*;

use crate::store::RegionStore;

/// ECS's state of every (account, region).
pub type Store = RegionStore<RegionState>;

impl RegionStore<RegionState> {
    pub fn new() -> Self {
        Self::with_settings(RegionSettings::default())
    }

    /// A store whose every region's state is created with `settings`.
    pub fn with_settings(settings: RegionSettings) -> Self {
        RegionStore::creating(move |account, region| {
            RegionState::with_settings(account, region, settings.clone())
        })
    }
}

impl Default for RegionStore<RegionState> {
    fn default() -> Self {
        Self::new()
    }
}
