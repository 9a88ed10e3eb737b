//! The state directory's database file: one table of rows, key -> bytes.

use redb::{Database, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};

const ROWS: TableDefinition<&str, &[u8]> = TableDefinition::new("regions");
/// The file in the state directory.
pub const FILE_NAME: &str = "ecsbox.redb";

pub struct StateDb {
    db: Database,
    path: PathBuf,
}

impl StateDb {
    /// Opens (or creates) the database in `dir`, creating the directory.
    pub fn open(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the state directory {}: {e}", dir.display()))?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path)
            .map_err(|e| format!("cannot open the state database {}: {e}", path.display()))?;
        Ok(StateDb { db, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every row, in key order.
    pub fn rows(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        let failed = |e: &dyn std::fmt::Display| format!("reading {}: {e}", self.path.display());
        let txn = self.db.begin_read().map_err(|e| failed(&e))?;
        let table = match txn.open_table(ROWS) {
            Ok(t) => t,
            // A new database has no table yet.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![]),
            Err(e) => return Err(failed(&e)),
        };
        let mut out = vec![];
        for row in table.iter().map_err(|e| failed(&e))? {
            let (key, value) = row.map_err(|e| failed(&e))?;
            out.push((key.value().to_string(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// Writes `rows` and removes the rows `deletes` names, in one
    /// transaction, on disk when this returns.
    pub fn write(&self, rows: &[(String, Vec<u8>)], deletes: &[String]) -> Result<(), String> {
        let failed = |e: &dyn std::fmt::Display| format!("writing {}: {e}", self.path.display());
        let txn = self.db.begin_write().map_err(|e| failed(&e))?;
        {
            let mut table = txn.open_table(ROWS).map_err(|e| failed(&e))?;
            for (key, bytes) in rows {
                table
                    .insert(key.as_str(), bytes.as_slice())
                    .map_err(|e| failed(&e))?;
            }
            for key in deletes {
                table.remove(key.as_str()).map_err(|e| failed(&e))?;
            }
        }
        txn.commit().map_err(|e| failed(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_written_are_read_back_after_reopening() {
        let dir = std::env::temp_dir().join(format!("ecsbox-statedb-{}", uuid::Uuid::new_v4()));
        {
            let db = StateDb::open(&dir).unwrap();
            assert!(db.rows().unwrap().is_empty());
            db.write(
                &[
                    ("ecs/1/r".into(), b"{\"a\":1}".to_vec()),
                    ("ecs/1/x".into(), b"{}".to_vec()),
                ],
                &[],
            )
            .unwrap();
            db.write(
                &[
                    ("ecs/1/r".into(), b"{\"a\":2}".to_vec()),
                    ("logs/1/r".into(), b"{}".to_vec()),
                ],
                &["ecs/1/x".into()],
            )
            .unwrap();
        }
        let db = StateDb::open(&dir).unwrap();
        assert_eq!(
            db.rows().unwrap(),
            vec![
                ("ecs/1/r".to_string(), b"{\"a\":2}".to_vec()),
                ("logs/1/r".to_string(), b"{}".to_vec()),
            ]
        );
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
