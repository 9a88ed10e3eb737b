//! ECS's region state as `crate::persistence` keeps it on disk: every
//! resource a client made (clusters, task definitions, capacity providers,
//! services with their deployments and events, tasks, container
//! instances, attributes, tags, account settings) and the bookkeeping that
//! names depend on (`last_revision`: revisions never repeat). What is not
//! kept: the pending effects (work handed to the controllers) and the
//! settings, which the store's `create` gives a restored region.

use super::container_instances::ContainerInstanceRecord;
use super::services::ServiceRecord;
use super::task_definitions::StoredTaskDefinition;
use super::tasks::TaskRecord;
use super::RegionState;
use crate::model::shapes::{Attribute, CapacityProvider, Cluster};
use crate::persistence::Persistent;
use crate::tags::TagSet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The saved form, borrowed from the state to write it.
#[derive(Serialize)]
struct Saving<'a> {
    clusters: &'a BTreeMap<String, Cluster>,
    /// `family:revision` -> the revision (a row each).
    task_definitions: BTreeMap<String, SavedRevision<'a>>,
    last_revision: &'a HashMap<String, i32>,
    capacity_providers: &'a BTreeMap<String, CapacityProvider>,
    inactive_since: &'a HashMap<String, f64>,
    tags: &'a HashMap<String, TagSet>,
    account_setting_defaults: &'a BTreeMap<String, String>,
    /// (principal ARN, setting name, value).
    account_settings: Vec<(&'a String, &'a String, &'a String)>,
    /// cluster -> [(target id, attribute name, attribute)].
    attributes: BTreeMap<&'a String, Vec<(&'a String, &'a String, &'a Attribute)>>,
    tasks: &'a BTreeMap<String, TaskRecord>,
    services: &'a BTreeMap<String, ServiceRecord>,
    container_instances: &'a BTreeMap<String, ContainerInstanceRecord>,
}

/// A task definition revision in the saved form: whole, or unchanged
/// since the last commit (`Persistent::save_changes`).
#[derive(Serialize)]
#[serde(untagged)]
enum SavedRevision<'a> {
    Whole(&'a StoredTaskDefinition),
    Unchanged(&'static str),
}

/// The saved form, read back.
#[derive(Deserialize)]
struct Saved {
    clusters: BTreeMap<String, Cluster>,
    task_definitions: BTreeMap<String, StoredTaskDefinition>,
    last_revision: HashMap<String, i32>,
    capacity_providers: BTreeMap<String, CapacityProvider>,
    inactive_since: HashMap<String, f64>,
    tags: HashMap<String, TagSet>,
    account_setting_defaults: BTreeMap<String, String>,
    account_settings: Vec<(String, String, String)>,
    attributes: BTreeMap<String, Vec<(String, String, Attribute)>>,
    tasks: BTreeMap<String, TaskRecord>,
    services: BTreeMap<String, ServiceRecord>,
    container_instances: BTreeMap<String, ContainerInstanceRecord>,
}

impl RegionState {
    /// The saved form; revisions at the version `unchanged` holds for them
    /// are saved as unchanged.
    fn saved_form(
        &self,
        unchanged: Option<&HashMap<(String, i32), u64>>,
    ) -> Result<serde_json::Value, String> {
        let task_definitions = self
            .task_definitions
            .iter()
            .map(|((family, revision), td)| {
                let same = unchanged.and_then(|u| u.get(&(family.clone(), *revision)))
                    == Some(&td.version());
                let entry = if same {
                    SavedRevision::Unchanged(crate::persistence::UNCHANGED)
                } else {
                    SavedRevision::Whole(td)
                };
                (format!("{family}:{revision}"), entry)
            })
            .collect();
        let saving = Saving {
            clusters: &self.clusters,
            task_definitions,
            last_revision: &self.last_revision,
            capacity_providers: &self.capacity_providers,
            inactive_since: &self.inactive_since,
            tags: &self.tags,
            account_setting_defaults: &self.account_setting_defaults,
            account_settings: self
                .account_settings
                .iter()
                .map(|((principal, name), value)| (principal, name, value))
                .collect(),
            attributes: self
                .attributes
                .iter()
                .map(|(cluster, by_target)| {
                    let list = by_target
                        .iter()
                        .map(|((target, name), attribute)| (target, name, attribute))
                        .collect();
                    (cluster, list)
                })
                .collect(),
            tasks: &self.tasks,
            services: &self.services,
            container_instances: &self.container_instances,
        };
        serde_json::to_value(saving).map_err(|e| e.to_string())
    }
}

impl Persistent for RegionState {
    const SERVICE: &'static str = "ecs";

    fn save(&self) -> Result<serde_json::Value, String> {
        self.saved_form(None)
    }

    /// Task definitions are most of a region that has many: only the
    /// revisions that changed since the last commit are encoded.
    fn save_changes(&mut self) -> Result<serde_json::Value, String> {
        let saved = self.saved_form(Some(&self.saved_task_definitions))?;
        self.saved_task_definitions = self
            .task_definitions
            .iter()
            .map(|(key, td)| (key.clone(), td.version()))
            .collect();
        Ok(saved)
    }

    fn forget_saved(&mut self) {
        self.saved_task_definitions.clear();
    }

    fn restore(&mut self, saved: serde_json::Value) -> Result<(), String> {
        let saved: Saved = serde_json::from_value(saved).map_err(|e| e.to_string())?;
        self.clusters = saved.clusters;
        self.task_definitions = saved
            .task_definitions
            .into_values()
            .map(|td| (td.key(), td))
            .collect();
        self.last_revision = saved.last_revision;
        self.capacity_providers = saved.capacity_providers;
        self.inactive_since = saved.inactive_since;
        self.tags = saved.tags;
        self.account_setting_defaults = saved.account_setting_defaults;
        self.account_settings = saved
            .account_settings
            .into_iter()
            .map(|(principal, name, value)| ((principal, name), value))
            .collect();
        self.attributes = saved
            .attributes
            .into_iter()
            .map(|(cluster, list)| {
                let by_target = list
                    .into_iter()
                    .map(|(target, name, attribute)| ((target, name), attribute))
                    .collect();
                (cluster, by_target)
            })
            .collect();
        self.tasks = saved.tasks;
        self.services = saved.services;
        self.container_instances = saved.container_instances;
        // Swept again on the next call, against the restored tasks.
        self.next_task_sweep = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::TaskDefinition;

    #[test]
    fn a_region_saved_and_restored_holds_the_same_resources() {
        let mut state = RegionState::new("000000000000", "us-east-1");
        state.clusters.insert(
            "web".into(),
            Cluster {
                cluster_name: Some("web".into()),
                status: Some("ACTIVE".into()),
                ..Default::default()
            },
        );
        let td = TaskDefinition {
            family: Some("app".into()),
            revision: Some(7),
            status: Some("ACTIVE".into()),
            ..Default::default()
        };
        state
            .task_definitions
            .insert(("app".into(), 7), StoredTaskDefinition::new(&td));
        state.last_revision.insert("app".into(), 9);
        state.account_settings.insert(
            ("arn:aws:iam::1:root".into(), "awsvpcTrunking".into()),
            "enabled".into(),
        );
        let attribute = Attribute {
            name: Some("stack".into()),
            value: Some("prod".into()),
            ..Default::default()
        };
        state
            .attributes
            .entry("web".into())
            .or_default()
            .insert(("i-1".into(), "stack".into()), attribute.clone());
        let mut tags = TagSet::new();
        tags.insert("team".into(), "a".into());
        state.tags.insert("arn:cluster/web".into(), tags.clone());

        let saved = state.save().unwrap();
        // Through bytes, as the database keeps it.
        let saved: serde_json::Value =
            serde_json::from_slice(&serde_json::to_vec(&saved).unwrap()).unwrap();
        let mut back = RegionState::new("000000000000", "us-east-1");
        back.restore(saved).unwrap();

        assert_eq!(back.clusters, state.clusters);
        assert_eq!(back.task_definitions[&("app".to_string(), 7)].get(), td);
        assert_eq!(back.last_revision["app"], 9);
        assert_eq!(back.account_settings, state.account_settings);
        assert_eq!(
            back.attributes["web"][&("i-1".to_string(), "stack".to_string())],
            attribute
        );
        assert_eq!(back.tags["arn:cluster/web"], tags);
        // The same saved form again: nothing was lost or added.
        assert_eq!(back.save().unwrap(), state.save().unwrap());
    }

    #[test]
    fn only_revisions_changed_since_the_last_commit_are_encoded() {
        let mut state = RegionState::new("1", "r");
        for revision in [1, 2] {
            let td = TaskDefinition {
                family: Some("app".into()),
                revision: Some(revision),
                status: Some("ACTIVE".into()),
                ..Default::default()
            };
            state
                .task_definitions
                .insert(("app".into(), revision), StoredTaskDefinition::new(&td));
        }
        let first = state.save_changes().unwrap();
        assert_eq!(first["task_definitions"]["app:1"]["revision"], 1);
        state
            .task_definitions
            .get_mut(&("app".to_string(), 2))
            .unwrap()
            .update(|td| td.status = Some("INACTIVE".into()));
        let next = state.save_changes().unwrap();
        let unchanged = serde_json::json!(crate::persistence::UNCHANGED);
        assert_eq!(next["task_definitions"]["app:1"], unchanged);
        assert_eq!(next["task_definitions"]["app:2"]["status"], "INACTIVE");
        // After a failed commit, everything again.
        state.forget_saved();
        let again = state.save_changes().unwrap();
        assert_eq!(again["task_definitions"]["app:1"]["revision"], 1);
        // `save` is always whole.
        assert_eq!(
            state.save().unwrap()["task_definitions"]["app:1"]["revision"],
            1
        );
    }

    #[test]
    fn a_saved_form_of_another_shape_is_refused() {
        let mut state = RegionState::new("1", "r");
        assert!(state.restore(serde_json::json!({"clusters": 3})).is_err());
    }
}
