//! Keeping the services' state on disk (`--state-dir`), so that a restart,
//! a clean one or after `kill -9`, finds every resource a client created.
//!
//! What is kept: every (service, account, region) value of a
//! `crate::store::RegionStore` whose type is `Persistent`, as rows of an
//! embedded transactional database (redb: ACID, copy-on-write B-trees, a
//! commit is on disk before it returns with its default `Immediate`
//! durability, and after a crash the last committed state is what opens).
//! A region's saved value (JSON) is split into rows by `rows_of`: one per
//! field, and one per entry of a field that is a map (a resource), so a
//! change rewrites the rows of what changed. Plus the clock's offset
//! (`ClockOffset`).
//!
//! When: `Persistence::commit` writes the changed rows of the regions
//! touched since the last commit (a region is touched when its lock is
//! released: `crate::store::RegionGuard`), in one transaction. The server
//! commits after a request's handler and before the answer is sent, so
//! that a write a client saw acknowledged is durable, and every 250 ms for
//! what background work (tasks changing state) changed. A type that knows
//! which of its many entries are unchanged since its last commit says so
//! (`Persistent::save_changes`, `UNCHANGED`), so that a commit does not
//! encode a region of 5,000 task definitions whole.
//!
//! What is done elsewhere at start: the load balancers' data plane is
//! rebuilt from ELBv2's records (`Elbv2::rebuild_data_plane`), the tasks
//! that had not stopped are adopted (`TaskController::adopt_restored`),
//! ECR's blobs are files of the state directory (`BlobStore::at`).

pub mod clock_offset;
pub mod db;

pub use clock_offset::ClockOffset;
pub use db::StateDb;

use crate::store::RegionStore;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
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

    /// The value for a commit: like `save`, but an entry of a map field
    /// that the type knows unchanged since its last `save_changes` may be
    /// `UNCHANGED` (its row stays as written), so that a region of many
    /// resources is not encoded whole at every commit.
    fn save_changes(&mut self) -> Result<serde_json::Value, String> {
        self.save()
    }

    /// A commit failed: the next `save_changes` answers everything again.
    fn forget_saved(&mut self) {}
}

/// What `Persistent::save_changes` puts for an entry that is unchanged.
pub const UNCHANGED: &str = "\u{0}ecsbox:unchanged";

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
    /// From now on, remembers which regions are touched.
    fn track_touches(&self);
    /// A commit failed: every region is saved whole, and touched, for the
    /// next one.
    fn forget_saved(&self);
}

/// A service that keeps its state in a store of its own: `Arc<Service>`
/// is then that store, for `Persistence`.
pub trait KeepsState: Send + Sync {
    fn kept_store(&self) -> &dyn PersistedStore;
}

impl<S: KeepsState> PersistedStore for Arc<S> {
    fn service(&self) -> &'static str {
        self.kept_store().service()
    }

    fn take_touched(&self, all: bool) -> Vec<(String, String, Result<serde_json::Value, String>)> {
        self.kept_store().take_touched(all)
    }

    fn restore_region(
        &self,
        account: &str,
        region: &str,
        saved: serde_json::Value,
    ) -> Result<(), String> {
        self.kept_store().restore_region(account, region, saved)
    }

    fn track_touches(&self) {
        self.kept_store().track_touches()
    }

    fn forget_saved(&self) {
        self.kept_store().forget_saved()
    }
}

/// `KeepsState` for a service whose store is its field `regions`.
#[macro_export]
macro_rules! keeps_state_in_regions {
    ($ty:ty) => {
        impl $crate::persistence::KeepsState for $ty {
            fn kept_store(&self) -> &dyn $crate::persistence::PersistedStore {
                &self.regions
            }
        }
    };
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
                let saved = if all {
                    region.lock().save()
                } else {
                    region.lock().save_changes()
                };
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

    fn track_touches(&self) {
        RegionStore::track_touches(self)
    }

    fn forget_saved(&self) {
        for (account, region) in self.keys() {
            if let Some(region) = self.existing(&account, &region) {
                // Locking marks it touched.
                region.lock().forget_saved();
            }
        }
    }
}

/// The state directory's database and the stores it keeps.
pub struct Persistence {
    /// None once closed (`close`).
    db: Mutex<Option<StateDb>>,
    stores: Vec<Arc<dyn PersistedStore>>,
    /// The rows each region has in the database now (region prefix -> row
    /// key -> bytes), so that a commit writes only the rows that changed
    /// and deletes those whose resource is gone. One commit at a time.
    written: Mutex<Written>,
}

/// `service/account/region`: the prefix of a region's rows.
fn region_prefix(service: &str, account: &str, region: &str) -> String {
    format!("{service}/{account}/{region}")
}

/// A region's saved value as rows, so that a change to one resource
/// rewrites one row and not the region: an object's fields are rows of
/// their own (`prefix/field`), and a field that is itself an object (a map
/// of resources by name or ARN) is the row `prefix/field` holding `{}` plus
/// one row per entry (`prefix/field/key`; the key may hold `/`, it is the
/// rest of the row key). Anything else is one row, `prefix`. An entry that
/// is `UNCHANGED` has no bytes (None): its row stays as written.
fn rows_of(prefix: &str, saved: &Value) -> Result<Vec<Row>, String> {
    let bytes = |v: &Value| serde_json::to_vec(v).map_err(|e| format!("{prefix}: {e}"));
    let mut rows = vec![];
    let Value::Object(fields) = saved else {
        rows.push((prefix.to_string(), Some(bytes(saved)?)));
        return Ok(rows);
    };
    for (field, value) in fields {
        let field_key = format!("{prefix}/{field}");
        match value {
            Value::Object(entries) => {
                rows.push((field_key.clone(), Some(b"{}".to_vec())));
                for (key, entry) in entries {
                    let row = match entry.as_str() {
                        Some(UNCHANGED) => None,
                        _ => Some(bytes(entry)?),
                    };
                    rows.push((format!("{field_key}/{key}"), row));
                }
            }
            other => rows.push((field_key, Some(bytes(other)?))),
        }
    }
    Ok(rows)
}

/// A row's key and bytes (None: unchanged).
type Row = (String, Option<Vec<u8>>);

/// What the database holds of a row: a hash of its bytes (enough to know
/// a row unchanged, without keeping a second copy of the state).
fn row_hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// Each region's rows in the database: region prefix -> row key -> hash.
type Written = HashMap<String, HashMap<String, u64>>;

/// The saved value `rows_of` made, from its rows (row keys without the
/// region prefix and its `/`: `field` or `field/key`; `""` for a whole
/// value).
fn value_of(rows: &[(String, Vec<u8>)]) -> Result<Value, String> {
    let parse = |key: &str, bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes).map_err(|e| format!("row {key:?}: {e}"))
    };
    if let [(key, bytes)] = rows {
        if key.is_empty() {
            return parse(key, bytes);
        }
    }
    let mut fields = serde_json::Map::new();
    // Sorted by key: a field's own row comes before its entries' rows.
    for (key, bytes) in rows {
        match key.split_once('/') {
            None => {
                fields.insert(key.clone(), parse(key, bytes)?);
            }
            Some((field, entry)) => match fields.get_mut(field) {
                Some(Value::Object(entries)) => {
                    entries.insert(entry.to_string(), parse(key, bytes)?);
                }
                _ => return Err(format!("row {key:?} has no field row {field:?}")),
            },
        }
    }
    Ok(Value::Object(fields))
}

impl Persistence {
    pub fn new(db: StateDb, stores: Vec<Arc<dyn PersistedStore>>) -> Self {
        Persistence {
            db: Mutex::new(Some(db)),
            stores,
            written: Mutex::new(HashMap::new()),
        }
    }

    /// Puts every kept region back into its store; says which regions could
    /// not be read (they are left out, the rest is restored).
    pub fn restore(&self) -> Result<Vec<String>, String> {
        let mut by_region: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
        for (key, bytes) in self.with_db(StateDb::rows)? {
            let mut parts = key.splitn(4, '/');
            let (Some(service), Some(account), Some(region)) =
                (parts.next(), parts.next(), parts.next())
            else {
                by_region.entry(key.clone()).or_default();
                continue;
            };
            let rest = parts.next().unwrap_or("").to_string();
            by_region
                .entry(region_prefix(service, account, region))
                .or_default()
                .push((rest, bytes));
        }
        let mut problems = vec![];
        let mut written = self.written.lock();
        for (prefix, rows) in by_region {
            let mut parts = prefix.splitn(3, '/');
            let (Some(service), Some(account), Some(region)) =
                (parts.next(), parts.next(), parts.next())
            else {
                problems.push(format!("{prefix}: not a row key"));
                continue;
            };
            let Some(store) = self.stores.iter().find(|s| s.service() == service) else {
                problems.push(format!("{prefix}: no such service"));
                continue;
            };
            match value_of(&rows).and_then(|saved| store.restore_region(account, region, saved)) {
                Ok(()) => {
                    let rows = rows
                        .into_iter()
                        .map(|(rest, bytes)| {
                            let key = if rest.is_empty() {
                                prefix.clone()
                            } else {
                                format!("{prefix}/{rest}")
                            };
                            (key, row_hash(&bytes))
                        })
                        .collect();
                    written.insert(prefix, rows);
                }
                Err(e) => problems.push(format!("{prefix}: {e}")),
            }
        }
        // Restoring touched every region it filled: nothing to write back.
        for store in &self.stores {
            store.take_touched(false);
        }
        Ok(problems)
    }

    /// `commit` on tokio's blocking pool (it waits for the disk).
    pub async fn commit_off_thread(self: Arc<Self>) -> Result<(), String> {
        tokio::task::spawn_blocking(move || self.commit())
            .await
            .map_err(|e| e.to_string())?
            .map(|_| ())
    }

    fn with_db<T>(&self, f: impl FnOnce(&StateDb) -> Result<T, String>) -> Result<T, String> {
        match self.db.lock().as_ref() {
            Some(db) => f(db),
            None => Err("the state directory was closed (ecsbox is shutting down)".into()),
        }
    }

    /// Closes the database (after the last commit, at shutdown): the file
    /// can be opened again, by a server of this process too.
    pub fn close(&self) {
        let _no_commit_in_flight = self.written.lock();
        self.db.lock().take();
    }

    pub fn is_closed(&self) -> bool {
        self.db.lock().is_none()
    }

    /// Deletes every kept row but the clock's (the reset endpoints: what
    /// was reset must not come back at the next start).
    pub fn forget_all(&self) -> Result<(), String> {
        let mut written = self.written.lock();
        let deletes: Vec<String> = written
            .iter()
            .filter(|(prefix, _)| !prefix.starts_with("clock/"))
            .flat_map(|(_, rows)| rows.keys().cloned())
            .collect();
        self.with_db(|db| db.write(&[], &deletes))?;
        written.retain(|prefix, _| prefix.starts_with("clock/"));
        for store in &self.stores {
            store.take_touched(false);
        }
        Ok(())
    }

    /// Writes the rows of the regions touched since the last commit that
    /// changed (and deletes those of resources that are gone), in one
    /// durable transaction. Answers how many rows it wrote or deleted.
    pub fn commit(&self) -> Result<usize, String> {
        let mut written = self.written.lock();
        let committed = self.commit_locked(&mut written);
        if committed.is_err() {
            for store in &self.stores {
                store.forget_saved();
            }
        }
        committed
    }

    fn commit_locked(&self, written: &mut Written) -> Result<usize, String> {
        let mut puts = vec![];
        let mut deletes = vec![];
        let mut now = vec![];
        for store in &self.stores {
            for (account, region, saved) in store.take_touched(false) {
                let prefix = region_prefix(store.service(), &account, &region);
                let saved = saved.map_err(|e| format!("{prefix}: {e}"))?;
                let empty = HashMap::new();
                let before = written.get(&prefix).unwrap_or(&empty);
                let mut hashes = HashMap::with_capacity(before.len());
                for (key, row) in rows_of(&prefix, &saved)? {
                    let hash = match row {
                        None => *before
                            .get(&key)
                            .ok_or_else(|| format!("{key}: unchanged, but never written"))?,
                        Some(bytes) => {
                            let hash = row_hash(&bytes);
                            if before.get(&key) != Some(&hash) {
                                puts.push((key.clone(), bytes));
                            }
                            hash
                        }
                    };
                    hashes.insert(key, hash);
                }
                deletes.extend(before.keys().filter(|k| !hashes.contains_key(*k)).cloned());
                now.push((prefix, hashes));
            }
        }
        if puts.is_empty() && deletes.is_empty() {
            return Ok(0);
        }
        self.with_db(|db| db.write(&puts, &deletes))?;
        for (prefix, rows) in now {
            written.insert(prefix, rows);
        }
        Ok(puts.len() + deletes.len())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RegionStore;

    #[derive(Default)]
    struct Things {
        by_name: BTreeMap<String, Vec<u32>>,
        count: u32,
    }
    persistent_fields!(Things, "things", [by_name, count]);

    fn temp_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("ecsbox-persistence-{}", uuid::Uuid::new_v4()))
    }

    fn opened(dir: &std::path::Path) -> (Arc<RegionStore<Things>>, Persistence) {
        let store = Arc::new(RegionStore::creating(|_, _| Things::default()));
        store.track_touches();
        let persistence = Persistence::new(StateDb::open(dir).unwrap(), vec![store.clone()]);
        assert!(persistence.restore().unwrap().is_empty());
        (store, persistence)
    }

    #[test]
    fn a_saved_value_split_into_rows_is_put_back_together() {
        let saved = serde_json::json!({
            "by_name": {"a": [1], "arn:aws:x:1:y/z": [2, 3]},
            "count": 2,
            "list": [{"k": 1}],
        });
        let rows = rows_of("s/1/r", &saved).unwrap();
        let keys: Vec<_> = rows.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "s/1/r/by_name",
                "s/1/r/by_name/a",
                "s/1/r/by_name/arn:aws:x:1:y/z",
                "s/1/r/count",
                "s/1/r/list"
            ]
        );
        let relative: Vec<_> = rows
            .into_iter()
            .map(|(k, v)| (k["s/1/r/".len()..].to_string(), v.unwrap()))
            .collect();
        assert_eq!(value_of(&relative).unwrap(), saved);
        // A value that is not an object is one row.
        let rows = rows_of("s/1/r", &serde_json::json!([1, 2])).unwrap();
        assert_eq!(rows, [("s/1/r".to_string(), Some(b"[1,2]".to_vec()))]);
        assert_eq!(
            value_of(&[(String::new(), b"[1,2]".to_vec())]).unwrap(),
            serde_json::json!([1, 2])
        );
    }

    /// Claims its entry unchanged until told to forget (a type whose
    /// memory of what was written is wrong, as after a failed commit).
    #[derive(Default)]
    struct Claims {
        forgot: bool,
    }

    impl Persistent for Claims {
        const SERVICE: &'static str = "claims";
        fn save(&self) -> Result<Value, String> {
            Ok(serde_json::json!({"by_name": {"a": 1}}))
        }
        fn restore(&mut self, _: Value) -> Result<(), String> {
            Ok(())
        }
        fn save_changes(&mut self) -> Result<Value, String> {
            if self.forgot {
                return self.save();
            }
            Ok(serde_json::json!({"by_name": {"a": UNCHANGED}}))
        }
        fn forget_saved(&mut self) {
            self.forgot = true;
        }
    }

    #[test]
    fn an_unchanged_entry_keeps_its_row_and_a_wrong_claim_heals_at_the_next_commit() {
        let saved = serde_json::json!({"by_name": {"a": UNCHANGED}});
        let rows = rows_of("p", &saved).unwrap();
        assert_eq!(rows[1], ("p/by_name/a".to_string(), None));

        let dir = temp_dir();
        let store = Arc::new(RegionStore::creating(|_, _| Claims::default()));
        store.track_touches();
        let persistence = Persistence::new(StateDb::open(&dir).unwrap(), vec![store.clone()]);
        store.with("1", "r", |_| ());
        // "Unchanged", but never written: the commit fails, and the store
        // is told to save everything next time.
        assert!(persistence.commit().is_err());
        assert_eq!(persistence.commit().unwrap(), 2);
        drop((store, persistence));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn commits_write_only_changed_rows_and_a_reopened_store_holds_the_last_commit() {
        let dir = temp_dir();
        {
            let (store, persistence) = opened(&dir);
            store.with("1", "r", |t| {
                t.by_name.insert("a".into(), vec![1]);
                t.by_name.insert("b".into(), vec![2]);
                t.count = 2;
            });
            store.with("2", "r", |t| t.count = 9);
            // Two regions: each its by_name and count rows, plus two entries.
            assert_eq!(persistence.commit().unwrap(), 6);
            // Nothing touched, nothing written; touched but unchanged, too.
            assert_eq!(persistence.commit().unwrap(), 0);
            store.with("1", "r", |_| ());
            assert_eq!(persistence.commit().unwrap(), 0);
            // One entry changed, one removed, the count changed: 3 rows.
            store.with("1", "r", |t| {
                t.by_name.insert("a".into(), vec![1, 1]);
                t.by_name.remove("b");
                t.count = 1;
            });
            assert_eq!(persistence.commit().unwrap(), 3);
            // Not committed: lost, as a change no answer acknowledged.
            store.with("1", "r", |t| t.count = 100);
        }
        let (store, persistence) = opened(&dir);
        store.with("1", "r", |t| {
            assert_eq!(t.by_name, BTreeMap::from([("a".to_string(), vec![1, 1])]));
            assert_eq!(t.count, 1);
        });
        assert_eq!(store.with("2", "r", |t| t.count), 9);
        // Restoring wrote nothing back; the removed row is gone for good.
        assert_eq!(persistence.commit().unwrap(), 0);
        drop((store, persistence));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_row_that_cannot_be_read_is_reported_and_the_others_restored() {
        let dir = temp_dir();
        {
            let db = StateDb::open(&dir).unwrap();
            db.write(
                &[
                    ("things/1/r/by_name".into(), b"{}".to_vec()),
                    ("things/1/r/count".into(), b"\"many\"".to_vec()),
                    ("things/2/r/by_name".into(), b"{}".to_vec()),
                    ("things/2/r/count".into(), b"4".to_vec()),
                    ("nothing/1/r/x".into(), b"1".to_vec()),
                ],
                &[],
            )
            .unwrap();
        }
        let store = Arc::new(RegionStore::creating(|_, _| Things::default()));
        let persistence = Persistence::new(StateDb::open(&dir).unwrap(), vec![store.clone()]);
        let problems = persistence.restore().unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("nothing/1/r: no such service"));
        assert!(problems[1].starts_with("things/1/r: count"), "{problems:?}");
        assert_eq!(store.with("2", "r", |t| t.count), 4);
        drop((store, persistence));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
