//! Keeping the services' state on disk (`--state-dir`), so that a restart,
//! a clean one or after `kill -9`, finds every resource a client created.
//!
//! What is kept: every (service, account, region) value of a
//! `crate::store::RegionStore` whose type is `Persistent`, as one row of an
//! embedded transactional database (redb: ACID, copy-on-write B-trees, a
//! commit is on disk before it returns with its default `Immediate`
//! durability, and after a crash the last committed state is what opens).
//! A row holds the value's `Persistent::save` (JSON) under the key
//! `service/account/region`.
//!
//! When: `Persistence::commit` writes the rows of the regions touched since
//! the last commit whose saved form changed, in one transaction. The server
//! is to call it after a request's handler and before the answer is sent,
//! so that a write a client saw acknowledged is durable, and on a periodic
//! pass for what background work (tasks changing state) changed.
//!
//! Not wired yet (there is no `--state-dir` so far): the server does not
//! open a database or commit, CloudWatch Logs (its events want rows of
//! their own, not one value per region), ECR (its blobs live in files) and
//! the load balancers' data plane are not kept, and tasks that ran before a
//! restart are neither re-adopted nor marked stopped.

pub mod db;

pub use db::StateDb;

use crate::store::RegionStore;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// A region value that can be written out and read back.
pub trait Persistent {
    /// The service's part of the row keys (`ecs`, `logs`, ...).
    const SERVICE: &'static str;

    /// The value as kept on disk.
    fn save(&self) -> Result<serde_json::Value, String>;

    /// Puts a saved value back into a fresh region value (made by the
    /// store's `create`, which supplies what is not saved: settings,
    /// handles to the data planes).
    fn restore(&mut self, saved: serde_json::Value) -> Result<(), String>;
}

/// A store whose regions `Persistence` writes and restores.
pub trait PersistedStore: Send + Sync {
    fn service(&self) -> &'static str;
    /// (account, region, saved value) of each region touched since the
    /// last call (`all`: of every region).
    #[allow(clippy::type_complexity)]
    fn take_touched(&self, all: bool) -> Vec<(String, String, Result<serde_json::Value, String>)>;
    /// Puts one region's saved value back.
    fn restore_region(
        &self,
        account: &str,
        region: &str,
        saved: serde_json::Value,
    ) -> Result<(), String>;
}

impl<T: Persistent + Send + 'static> PersistedStore for RegionStore<T> {
    fn service(&self) -> &'static str {
        T::SERVICE
    }

    fn take_touched(&self, all: bool) -> Vec<(String, String, Result<serde_json::Value, String>)> {
        let regions = if all {
            self.keys()
                .iter()
                .filter_map(|(a, r)| self.existing(a, r))
                .collect()
        } else {
            RegionStore::take_touched(self)
        };
        regions
            .into_iter()
            .map(|region| {
                let saved = region.lock().save();
                let (account, name) = region.key().clone();
                (account, name, saved)
            })
            .collect()
    }

    fn restore_region(
        &self,
        account: &str,
        region: &str,
        saved: serde_json::Value,
    ) -> Result<(), String> {
        let value = self.region(account, region);
        let mut guard = value.lock();
        guard.restore(saved)
    }
}

/// The state directory's database and the stores it keeps.
pub struct Persistence {
    db: StateDb,
    stores: Vec<Arc<dyn PersistedStore>>,
    /// What each row holds now (its key -> the bytes), so that an
    /// unchanged region is not written again. One commit at a time.
    written: Mutex<HashMap<String, Vec<u8>>>,
}

fn row_key(service: &str, account: &str, region: &str) -> String {
    format!("{service}/{account}/{region}")
}

impl Persistence {
    pub fn new(db: StateDb, stores: Vec<Arc<dyn PersistedStore>>) -> Self {
        Persistence {
            db,
            stores,
            written: Mutex::new(HashMap::new()),
        }
    }

    /// Puts every kept region back into its store; says which rows could
    /// not be read (they are left out, the rest is restored).
    pub fn restore(&self) -> Result<Vec<String>, String> {
        let rows = self.db.rows()?;
        let mut problems = vec![];
        let mut written = self.written.lock();
        for (key, bytes) in rows {
            let mut parts = key.splitn(3, '/');
            let (Some(service), Some(account), Some(region)) =
                (parts.next(), parts.next(), parts.next())
            else {
                problems.push(format!("{key}: not a row key"));
                continue;
            };
            let Some(store) = self.stores.iter().find(|s| s.service() == service) else {
                problems.push(format!("{key}: no such service"));
                continue;
            };
            let restored = serde_json::from_slice(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|saved| store.restore_region(account, region, saved));
            match restored {
                Ok(()) => {
                    written.insert(key, bytes);
                }
                Err(e) => problems.push(format!("{key}: {e}")),
            }
        }
        // Restoring touched every region it filled: nothing to write back.
        for store in &self.stores {
            store.take_touched(false);
        }
        Ok(problems)
    }

    /// Writes the regions touched since the last commit whose saved form
    /// changed, in one durable transaction.
    pub fn commit(&self) -> Result<usize, String> {
        let mut written = self.written.lock();
        let mut rows = vec![];
        for store in &self.stores {
            for (account, region, saved) in store.take_touched(false) {
                let key = row_key(store.service(), &account, &region);
                let bytes = saved
                    .and_then(|v| serde_json::to_vec(&v).map_err(|e| e.to_string()))
                    .map_err(|e| format!("{key}: {e}"))?;
                if written.get(&key) != Some(&bytes) {
                    rows.push((key, bytes));
                }
            }
        }
        if rows.is_empty() {
            return Ok(0);
        }
        self.db.write(&rows)?;
        let count = rows.len();
        for (key, bytes) in rows {
            written.insert(key, bytes);
        }
        Ok(count)
    }
}

/// `Persistent` for a region type kept as some of its fields, each with its
/// serde form: `persistent_fields!(Type, "service", [field, ...])`. The
/// other fields are what the store's `create` makes.
#[macro_export]
macro_rules! persistent_fields {
    ($ty:ty, $service:literal, [$($field:ident),* $(,)?]) => {
        impl $crate::persistence::Persistent for $ty {
            const SERVICE: &'static str = $service;

            fn save(&self) -> Result<serde_json::Value, String> {
                let mut map = serde_json::Map::new();
                $(
                    let value = serde_json::to_value(&self.$field)
                        .map_err(|e| format!("{}: {e}", stringify!($field)))?;
                    map.insert(stringify!($field).to_string(), value);
                )*
                Ok(serde_json::Value::Object(map))
            }

            fn restore(&mut self, saved: serde_json::Value) -> Result<(), String> {
                let serde_json::Value::Object(mut map) = saved else {
                    return Err("the saved form is not an object".into());
                };
                $(
                    let value = map
                        .remove(stringify!($field))
                        .ok_or_else(|| format!("{} is missing", stringify!($field)))?;
                    self.$field = serde_json::from_value(value)
                        .map_err(|e| format!("{}: {e}", stringify!($field)))?;
                )*
                Ok(())
            }
        }
    };
}
