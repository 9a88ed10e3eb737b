//! The state of one (account, region): plain data, no I/O.

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
    /// Counts of a cluster's instances, tasks and services. Tasks, services
    /// and container instances do not exist in the state yet (they come with
    /// RunTask and CreateService), so every count is truthfully zero; those
    /// issues extend this one function.
    pub fn cluster_counts(&self, _cluster: &str) -> ClusterCounts {
        ClusterCounts::default()
    }

    /// FARGATE and FARGATE_SPOT always exist; others once created and not deleted.
    pub fn capacity_provider_exists(&self, name: &str) -> bool {
        name == "FARGATE"
            || name == "FARGATE_SPOT"
            || self.capacity_providers.get(name).is_some_and(|cp| cp.status.as_deref() == Some("ACTIVE"))
    }
}
