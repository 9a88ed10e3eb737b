//! A registered task definition revision as `RegionState` keeps it.
//!
//! A revision is written once and read whole only now and then (Describe,
//! RunTask, CreateService), while lists and lookups read its status alone.
//! The model's `TaskDefinition` holds every member of the API, set or not,
//! inline (a container definition alone is a few KiB of mostly empty
//! options), so thousands of revisions in that form cost several KiB each.
//! Kept as its JSON instead (only the members that are set) with the status
//! beside it, a revision of a typical size takes well under 2 KiB, and
//! reading one whole costs a few microseconds of decoding.

use crate::model::shapes::TaskDefinition;

/// A revision's lifecycle status, as ECS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RevisionStatus {
    Active,
    Inactive,
    DeleteInProgress,
}

impl RevisionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionStatus::Active => "ACTIVE",
            RevisionStatus::Inactive => "INACTIVE",
            RevisionStatus::DeleteInProgress => "DELETE_IN_PROGRESS",
        }
    }

    fn of(td: &TaskDefinition) -> RevisionStatus {
        match td.status.as_deref() {
            Some("INACTIVE") => RevisionStatus::Inactive,
            Some("DELETE_IN_PROGRESS") => RevisionStatus::DeleteInProgress,
            _ => RevisionStatus::Active,
        }
    }
}

/// One revision: its status, and the whole revision encoded.
#[derive(Debug, Clone)]
pub struct StoredTaskDefinition {
    status: RevisionStatus,
    encoded: Box<[u8]>,
    /// Unique to this content (a new one at every change): what the state
    /// directory's commit compares to know the revision unchanged.
    version: u64,
}

/// The next `StoredTaskDefinition::version`.
static NEXT_VERSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl StoredTaskDefinition {
    pub fn new(td: &TaskDefinition) -> StoredTaskDefinition {
        StoredTaskDefinition {
            status: RevisionStatus::of(td),
            encoded: serde_json::to_vec(td)
                .expect("a task definition always encodes")
                .into_boxed_slice(),
            version: NEXT_VERSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Changes with every change of the revision (see the field).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The whole revision.
    pub fn get(&self) -> TaskDefinition {
        serde_json::from_slice(&self.encoded).expect("a stored task definition decodes")
    }

    pub fn status(&self) -> RevisionStatus {
        self.status
    }

    pub fn is_active(&self) -> bool {
        self.status == RevisionStatus::Active
    }

    /// (family, revision): where the region keeps it.
    pub fn key(&self) -> (String, i32) {
        let td = self.get();
        (td.family.unwrap_or_default(), td.revision.unwrap_or(0))
    }

    /// Changes the revision with `f` and answers it as changed.
    pub fn update(&mut self, f: impl FnOnce(&mut TaskDefinition)) -> TaskDefinition {
        let mut td = self.get();
        f(&mut td);
        *self = StoredTaskDefinition::new(&td);
        td
    }
}

/// Kept on disk (`crate::persistence`) as the revision's own JSON.
impl serde::Serialize for StoredTaskDefinition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let json: serde_json::Value = serde_json::from_slice(&self.encoded)
            .map_err(|e| serde::ser::Error::custom(e.to_string()))?;
        json.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for StoredTaskDefinition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        TaskDefinition::deserialize(deserializer).map(|td| StoredTaskDefinition::new(&td))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::ContainerDefinition;

    fn revision() -> TaskDefinition {
        TaskDefinition {
            family: Some("web".into()),
            revision: Some(3),
            status: Some("ACTIVE".into()),
            cpu: Some("256".into()),
            registered_at: Some(1_765_000_000.123),
            container_definitions: Some(vec![ContainerDefinition {
                name: Some("app".into()),
                image: Some("busybox".into()),
                memory: Some(128),
                command: Some(vec!["sleep".into(), "3600".into()]),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn a_revision_reads_back_as_it_was_stored() {
        let td = revision();
        let stored = StoredTaskDefinition::new(&td);
        assert_eq!(stored.get(), td);
        assert!(stored.is_active());
    }

    #[test]
    fn an_update_changes_the_revision_and_its_status() {
        let mut stored = StoredTaskDefinition::new(&revision());
        let answer = stored.update(|td| {
            td.status = Some("INACTIVE".into());
            td.deregistered_at = Some(1_765_000_100.0);
        });
        assert_eq!(stored.status(), RevisionStatus::Inactive);
        assert_eq!(stored.get(), answer);
        assert_eq!(answer.deregistered_at, Some(1_765_000_100.0));
    }

    #[test]
    fn on_disk_a_revision_is_its_own_json_and_reads_back_with_its_status() {
        let mut td = revision();
        td.status = Some("INACTIVE".into());
        let stored = StoredTaskDefinition::new(&td);
        let saved = serde_json::to_value(&stored).unwrap();
        assert_eq!(saved["family"], "web");
        assert_eq!(saved["revision"], 3);
        let back: StoredTaskDefinition = serde_json::from_value(saved).unwrap();
        assert_eq!(back.get(), td);
        assert_eq!(back.status(), RevisionStatus::Inactive);
        assert_eq!(back.key(), ("web".to_string(), 3));
    }

    #[test]
    fn a_typical_revision_is_stored_in_well_under_2_kib() {
        let stored = StoredTaskDefinition::new(&revision());
        assert!(stored.encoded.len() < 512, "{} bytes", stored.encoded.len());
    }
}
