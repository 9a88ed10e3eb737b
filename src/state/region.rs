//! The state of one (account, region): plain data, no I/O.

use super::lifecycle::TaskStatus;
use super::tasks::{Effect, TaskRecord};
use crate::model::shapes::{Attribute, CapacityProvider, Cluster, Tag, TaskDefinition};
use std::collections::{BTreeMap, HashMap};

pub struct RegionState {
    pub account: String,
    pub region: String,
    /// Clusters by name. A deleted cluster stays here as INACTIVE, still
    /// describable, as in AWS; creating the name again makes it ACTIVE anew.
    pub clusters: BTreeMap<String, Cluster>,
    /// Task definitions by (family, revision): the map's order is the order
    /// ListTaskDefinitions answers in (family, then revision numerically).
    pub task_definitions: BTreeMap<(String, i32), TaskDefinition>,
    /// The last revision ever given per family: revisions never repeat, even
    /// after DeleteTaskDefinitions.
    pub last_revision: HashMap<String, i32>,
    /// Capacity providers by name (FARGATE and FARGATE_SPOT are not stored:
    /// they always exist).
    pub capacity_providers: BTreeMap<String, CapacityProvider>,
    /// Tags by resource ARN, for every taggable resource.
    pub tags: HashMap<String, Vec<Tag>>,
    /// Account settings: the account default per setting name, and the
    /// values set for one principal (`principal ARN`, setting name).
    pub account_setting_defaults: BTreeMap<String, String>,
    pub account_settings: BTreeMap<(String, String), String>,
    /// Custom attributes per cluster name: (targetId, attribute name) -> attribute.
    pub attributes: BTreeMap<String, BTreeMap<(String, String), Attribute>>,
    /// Tasks by task ARN (which starts with the cluster, so one cluster's
    /// tasks are neighbours in the map). STOPPED tasks stay describable.
    pub tasks: BTreeMap<String, TaskRecord>,
    /// Work for the controllers that the current API call asked for; drained
    /// by `api::Ecs` once the call's lock is released.
    pub effects: Vec<Effect>,
}

impl RegionState {
    pub fn new(account: &str, region: &str) -> Self {
        RegionState {
            account: account.to_string(),
            region: region.to_string(),
            clusters: BTreeMap::new(),
            task_definitions: BTreeMap::new(),
            last_revision: HashMap::new(),
            capacity_providers: BTreeMap::new(),
            tags: HashMap::new(),
            account_setting_defaults: BTreeMap::new(),
            account_settings: BTreeMap::new(),
            attributes: BTreeMap::new(),
            tasks: BTreeMap::new(),
            effects: Vec::new(),
        }
    }

    /// The ACTIVE cluster a reference (name or ARN; none means `default`)
    /// points to, by name.
    pub fn active_cluster_name(&self, reference: Option<&str>) -> Option<String> {
        let name = super::arn::cluster_name(reference)?;
        match self.clusters.get(name) {
            Some(c) if c.status.as_deref() == Some("ACTIVE") => Some(name.to_string()),
            _ => None,
        }
    }

    pub fn tags_of(&self, arn: &str) -> Vec<Tag> {
        self.tags.get(arn).cloned().unwrap_or_default()
    }
}

/// What a cluster holds, computed from live state every time it is asked for
/// so the numbers cannot drift from the resources themselves.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClusterCounts {
    pub registered_container_instances: i32,
    pub running_tasks: i32,
    pub pending_tasks: i32,
    pub active_services: i32,
    pub draining_services: i32,
    pub running_fargate_tasks: i32,
    pub pending_fargate_tasks: i32,
    pub active_fargate_services: i32,
    pub draining_fargate_services: i32,
}

impl ClusterCounts {
    /// DescribeClusters' `statistics`, with AWS's names.
    pub fn statistics(&self) -> Vec<crate::model::shapes::KeyValuePair> {
        let kv = |k: &str, v: i32| crate::model::shapes::KeyValuePair { name: Some(k.into()), value: Some(v.to_string()) };
        vec![
            kv("runningEC2TasksCount", self.running_tasks - self.running_fargate_tasks),
            kv("runningFargateTasksCount", self.running_fargate_tasks),
            kv("pendingEC2TasksCount", self.pending_tasks - self.pending_fargate_tasks),
            kv("pendingFargateTasksCount", self.pending_fargate_tasks),
            kv("activeEC2ServiceCount", self.active_services - self.active_fargate_services),
            kv("activeFargateServiceCount", self.active_fargate_services),
            kv("drainingEC2ServiceCount", self.draining_services - self.draining_fargate_services),
            kv("drainingFargateServiceCount", self.draining_fargate_services),
        ]
    }
}

impl RegionState {
    /// Counts of a cluster's instances, tasks and services, from the
    /// records themselves. Services and container instances come with their
    /// own issues and extend this function.
    pub fn cluster_counts(&self, cluster: &str) -> ClusterCounts {
        let mut counts = ClusterCounts::default();
        for t in self.tasks.values().filter(|t| t.cluster == cluster) {
            let fargate = t.is_fargate() as i32;
            if t.status == TaskStatus::Running {
                counts.running_tasks += 1;
                counts.running_fargate_tasks += fargate;
            } else if t.status < TaskStatus::Running && t.desired != TaskStatus::Stopped {
                counts.pending_tasks += 1;
                counts.pending_fargate_tasks += fargate;
            }
        }
        counts
    }

    /// Whether a container instance (by its ID) is registered in a cluster.
    /// Container instances do not exist in the state yet (they come with the
    /// tasks issue), so none is; that issue extends this one function, which
    /// PutAttributes and DeleteAttributes ask about their targets.
    pub fn container_instance_exists(&self, _cluster: &str, _id: &str) -> bool {
        false
    }

    /// Whether a task (not yet STOPPED) still uses a task definition revision;
    /// a deleted revision stays DELETE_IN_PROGRESS while one does. Services
    /// will count here too once they exist.
    pub fn task_definition_in_use(&self, task_definition_arn: &str) -> bool {
        self.tasks
            .values()
            .any(|t| t.status != TaskStatus::Stopped && t.task.task_definition_arn.as_deref() == Some(task_definition_arn))
    }

    /// FARGATE and FARGATE_SPOT always exist; others once created and not deleted.
    pub fn capacity_provider_exists(&self, name: &str) -> bool {
        name == "FARGATE"
            || name == "FARGATE_SPOT"
            || self.capacity_providers.get(name).is_some_and(|cp| cp.status.as_deref() == Some("ACTIVE"))
    }
}
