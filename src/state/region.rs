//! The state of one (account, region): plain data, no I/O.

use super::container_instances::ContainerInstanceRecord;
use super::lifecycle::TaskStatus;
use super::services::ServiceRecord;
use super::task_sets::TaskSetRecord;
use super::tasks::{Effect, TaskRecord};
use crate::lb::LoadBalancing;
use crate::model::shapes::{Attribute, CapacityProvider, Cluster, Tag};
use crate::tags::TagSet;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

pub struct RegionState {
    pub account: String,
    pub region: String,
    /// Clusters by name. A deleted cluster stays here as INACTIVE, still
    /// describable, for `INACTIVE_RETENTION_SECS` (see `inactive_since`), as
    /// in AWS; creating the name again makes it ACTIVE anew.
    pub clusters: BTreeMap<String, Cluster>,
    /// Task definitions by (family, revision): the map's order is the order
    /// ListTaskDefinitions answers in (family, then revision numerically).
    /// Kept encoded (`StoredTaskDefinition` says why).
    pub task_definitions: BTreeMap<(String, i32), super::task_definitions::StoredTaskDefinition>,
    /// The last revision ever given per family: revisions never repeat, even
    /// after DeleteTaskDefinitions.
    pub last_revision: HashMap<String, i32>,
    /// Capacity providers by name (FARGATE and FARGATE_SPOT are not stored:
    /// they always exist).
    pub capacity_providers: BTreeMap<String, CapacityProvider>,
    /// When a cluster or capacity provider (by ARN) was deleted, in epoch
    /// seconds of ecsbox's clock: INACTIVE ones are forgotten
    /// `INACTIVE_RETENTION_SECS` later (`forget_expired_inactive`).
    pub inactive_since: HashMap<String, f64>,
    /// When `forget_expired_tasks` looks over the tasks next.
    pub next_task_sweep: Option<std::time::SystemTime>,
    /// Tags by resource ARN, for every taggable resource.
    pub tags: HashMap<String, TagSet>,
    /// Account settings: the account default per setting name, and the
    /// values set for one principal (`principal ARN`, setting name).
    pub account_setting_defaults: BTreeMap<String, String>,
    pub account_settings: BTreeMap<(String, String), String>,
    /// Custom attributes per cluster name: (targetId, attribute name) -> attribute.
    pub attributes: BTreeMap<String, BTreeMap<(String, String), Attribute>>,
    /// Tasks by task ARN (which starts with the cluster, so one cluster's
    /// tasks are neighbours in the map). STOPPED tasks stay describable.
    pub tasks: BTreeMap<String, TaskRecord>,
    /// Services by service ARN (cluster first, so a cluster's services are
    /// neighbours). DRAINING and INACTIVE ones stay describable.
    pub services: BTreeMap<String, ServiceRecord>,
    /// Work for the controllers that the current API call asked for; drained
    /// by `api::Ecs` once the call's lock is released.
    pub effects: Vec<Effect>,
    /// Container instances by ARN (`.../container-instance/CLUSTER/ID`, so one
    /// cluster's instances are neighbours). Deregistered ones stay INACTIVE.
    pub container_instances: BTreeMap<String, ContainerInstanceRecord>,
    /// What ecsbox was started with that shapes new resources.
    pub settings: RegionSettings,
    /// The version of each task definition the last saved form held
    /// (`state::saved`): a revision at that version is saved as unchanged,
    /// without encoding it again. Only a state directory fills it.
    pub saved_task_definitions: HashMap<(String, i32), u64>,
}

/// Gives back a hash map's room once most of it is empty: a map keeps the
/// capacity of its largest size, so after a burst (thousands of clusters
/// deleted, then forgotten) it would hold that memory for good.
fn shrink<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.capacity() > 4 * map.len() {
        map.shrink_to_fit();
    }
}

/// How long a deleted (INACTIVE) cluster or capacity provider stays
/// describable. AWS: "Clusters with an INACTIVE status might remain
/// discoverable in your account for a period of time. However, this
/// behavior is subject to change in the future." (DeleteCluster, and the
/// same words for capacity providers in "Deleting an Amazon ECS capacity
/// provider"). It names no period; ecsbox keeps them an hour.
pub const INACTIVE_RETENTION_SECS: f64 = 3600.0;

/// How long a STOPPED task stays describable: "Stopped tasks ... appear in
/// the returned results for at least one hour" (ECS API reference,
/// DescribeTasks, ListTasks); then it is forgotten (`forget_expired_tasks`).
pub const STOPPED_TASK_RETENTION: std::time::Duration = std::time::Duration::from_secs(3600);
/// When a task past its hour still has containers (a cleanup delay longer
/// than the hour), how much later it is looked at again.
const STOPPED_TASK_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Settings from ecsbox's configuration that every region's state uses.
#[derive(Clone, Default)]
pub struct RegionSettings {
    /// Virtual container instances every new cluster gets (`--container-instances`).
    pub container_instances: u32,
    /// The load balancers' data plane, where services with `loadBalancers`
    /// find their target groups and register their tasks (None: a state
    /// made without a server, as unit tests make it).
    pub load_balancing: Option<Arc<LoadBalancing>>,
    /// Cloud Map's registry, where services with `serviceRegistries` find
    /// their registry and register their tasks (None: no server).
    pub cloud_map: Option<Arc<crate::cloudmap::CloudMap>>,
    /// The engine's host as containers reach it (the default bridge
    /// network's gateway), where bridge and host tasks publish their ports:
    /// the address their Cloud Map instances get. Set by the task
    /// controller once the engine has said it; unset, 127.0.0.1.
    pub published_ports_host: Arc<std::sync::OnceLock<String>>,
    /// Service Connect's endpoints, which services with a
    /// `serviceConnectConfiguration` declare (None: no server).
    pub service_connect: Option<Arc<crate::service_connect::ServiceConnect>>,
}

impl std::fmt::Debug for RegionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionSettings")
            .field("container_instances", &self.container_instances)
            .field("load_balancing", &self.load_balancing.is_some())
            .field("cloud_map", &self.cloud_map.is_some())
            .field("published_ports_host", &self.published_ports_host.get())
            .field("service_connect", &self.service_connect.is_some())
            .finish()
    }
}

impl RegionState {
    pub fn new(account: &str, region: &str) -> Self {
        Self::with_settings(account, region, RegionSettings::default())
    }

    pub fn with_settings(account: &str, region: &str, settings: RegionSettings) -> Self {
        RegionState {
            account: account.to_string(),
            region: region.to_string(),
            clusters: BTreeMap::new(),
            task_definitions: BTreeMap::new(),
            last_revision: HashMap::new(),
            capacity_providers: BTreeMap::new(),
            inactive_since: HashMap::new(),
            next_task_sweep: None,
            saved_task_definitions: HashMap::new(),
            tags: HashMap::new(),
            account_setting_defaults: BTreeMap::new(),
            account_settings: BTreeMap::new(),
            attributes: BTreeMap::new(),
            tasks: BTreeMap::new(),
            services: BTreeMap::new(),
            effects: Vec::new(),
            container_instances: BTreeMap::new(),
            settings,
        }
    }

    /// Forgets the tasks STOPPED at least `STOPPED_TASK_RETENTION` before
    /// `now` whose containers are gone (with their tags), so that a
    /// crash-looping service or a day of RunTask does not grow the state
    /// without end. Looks over the tasks only when one can have expired
    /// (`next_task_sweep`).
    pub fn forget_expired_tasks(&mut self, now: std::time::SystemTime) {
        if self.next_task_sweep.is_some_and(|next| now < next) {
            return;
        }
        // A task that stops from now on expires an hour from now at the
        // earliest; one expired but whose containers are still there is
        // looked at again a minute later.
        let mut next = now + STOPPED_TASK_RETENTION;
        let mut expired = Vec::new();
        for (arn, t) in &self.tasks {
            let Some(at) = t
                .stopped_at
                .filter(|_| t.status == crate::state::lifecycle::TaskStatus::Stopped)
            else {
                continue;
            };
            let expiry = at + STOPPED_TASK_RETENTION;
            if expiry > now {
                next = next.min(expiry);
            } else if t.runtime.removed {
                expired.push(arn.clone());
            } else {
                next = next.min(now + STOPPED_TASK_RECHECK);
            }
        }
        self.next_task_sweep = Some(next);
        for arn in expired {
            self.tasks.remove(&arn);
            self.tags.remove(&arn);
        }
        shrink(&mut self.tags);
    }

    /// Marks a cluster or capacity provider (by ARN) deleted now.
    pub fn mark_inactive(&mut self, arn: &str, now: f64) {
        self.inactive_since.insert(arn.to_string(), now);
    }

    /// Forgets the INACTIVE clusters and capacity providers deleted at least
    /// `INACTIVE_RETENTION_SECS` before `now`: after that AWS answers for
    /// them as for names that never existed (DescribeClusters' failure
    /// MISSING). One made ACTIVE again by a new create is kept.
    pub fn forget_expired_inactive(&mut self, now: f64) {
        if self.inactive_since.is_empty() {
            return;
        }
        let expired: HashSet<String> = self
            .inactive_since
            .iter()
            .filter(|(_, since)| now - **since >= INACTIVE_RETENTION_SECS)
            .map(|(arn, _)| arn.clone())
            .collect();
        if expired.is_empty() {
            return;
        }
        // One pass over each map, however many expired at once (a pass per
        // ARN took seconds under the lock after a burst of deletions).
        self.inactive_since.retain(|arn, _| !expired.contains(arn));
        let gone = |arn: &Option<String>, status: &Option<String>| {
            status.as_deref() == Some("INACTIVE")
                && arn.as_ref().is_some_and(|a| expired.contains(a))
        };
        self.clusters
            .retain(|_, c| !gone(&c.cluster_arn, &c.status));
        self.capacity_providers
            .retain(|_, cp| !gone(&cp.capacity_provider_arn, &cp.status));
        shrink(&mut self.inactive_since);
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

    /// The tags of a resource, as ECS answers them.
    pub fn tags_of(&self, arn: &str) -> Vec<Tag> {
        self.tags
            .get(arn)
            .map(TagSet::to_shapes)
            .unwrap_or_default()
    }

    /// The tags of a resource, to change.
    pub fn tag_set_of(&self, arn: &str) -> TagSet {
        self.tags.get(arn).cloned().unwrap_or_default()
    }
}

// The shared TagSet reads and writes this service's `Tag` shape.
crate::tag_shape!(Tag);

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
        let kv = |k: &str, v: i32| crate::model::shapes::KeyValuePair {
            name: Some(k.into()),
            value: Some(v.to_string()),
        };
        vec![
            kv(
                "runningEC2TasksCount",
                self.running_tasks - self.running_fargate_tasks,
            ),
            kv("runningFargateTasksCount", self.running_fargate_tasks),
            kv(
                "pendingEC2TasksCount",
                self.pending_tasks - self.pending_fargate_tasks,
            ),
            kv("pendingFargateTasksCount", self.pending_fargate_tasks),
            kv(
                "activeEC2ServiceCount",
                self.active_services - self.active_fargate_services,
            ),
            kv("activeFargateServiceCount", self.active_fargate_services),
            kv(
                "drainingEC2ServiceCount",
                self.draining_services - self.draining_fargate_services,
            ),
            kv(
                "drainingFargateServiceCount",
                self.draining_fargate_services,
            ),
        ]
    }
}

impl RegionState {
    /// Counts of a cluster's instances, tasks and services, from the
    /// records themselves. Services come with their own issue and extend
    /// this function.
    pub fn cluster_counts(&self, cluster: &str) -> ClusterCounts {
        let registered = self
            .container_instances_of(cluster)
            .filter(|i| i.status.is_registered())
            .count() as i32;
        let mut counts = ClusterCounts {
            registered_container_instances: registered,
            ..ClusterCounts::default()
        };
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
        for svc in self.services.values().filter(|s| s.cluster == cluster) {
            let fargate = (svc.service.launch_type.as_deref() == Some("FARGATE")) as i32;
            match svc.status() {
                "ACTIVE" => {
                    counts.active_services += 1;
                    counts.active_fargate_services += fargate;
                }
                "DRAINING" => {
                    counts.draining_services += 1;
                    counts.draining_fargate_services += fargate;
                }
                _ => {}
            }
        }
        counts
    }

    /// Whether a container instance (by its ID) is registered (ACTIVE or
    /// DRAINING) in a cluster; PutAttributes and DeleteAttributes ask this
    /// about their targets.
    pub fn container_instance_exists(&self, cluster: &str, id: &str) -> bool {
        let arn = super::arn::container_instance(&self.region, &self.account, cluster, id);
        self.container_instances
            .get(&arn)
            .is_some_and(|i| i.status.is_registered())
    }

    /// A cluster's container instances, of every status, in ARN order.
    /// The ARNs of a cluster's ACTIVE container instances (where a DAEMON
    /// service runs one task each).
    pub fn active_container_instance_arns(&self, cluster: &str) -> Vec<String> {
        self.container_instances_of(cluster)
            .filter(|i| i.status == super::container_instances::InstanceStatus::Active)
            .map(|i| i.arn.clone())
            .collect()
    }

    pub fn container_instances_of<'a>(
        &'a self,
        cluster: &str,
    ) -> impl Iterator<Item = &'a ContainerInstanceRecord> + 'a {
        let prefix = super::arn::container_instance(&self.region, &self.account, cluster, "");
        self.container_instances
            .range(prefix.clone()..)
            .take_while(move |(arn, _)| arn.starts_with(&prefix))
            .map(|(_, i)| i)
    }

    /// Whether a container instance is DRAINING: the service scheduler
    /// replaces the RUNNING service tasks on such an instance (its PENDING
    /// ones are stopped by UpdateContainerInstancesState itself).
    pub fn container_instance_is_draining(&self, container_instance_arn: &str) -> bool {
        self.container_instances
            .get(container_instance_arn)
            .is_some_and(|i| i.status == super::container_instances::InstanceStatus::Draining)
    }

    /// Whether a task (not yet STOPPED) still uses a task definition revision;
    /// a deleted revision stays DELETE_IN_PROGRESS while one does. Services
    /// will count here too once they exist.
    pub fn task_definition_in_use(&self, task_definition_arn: &str) -> bool {
        self.tasks.values().any(|t| {
            t.status != TaskStatus::Stopped
                && t.task.task_definition_arn.as_deref() == Some(task_definition_arn)
        })
    }

    /// FARGATE and FARGATE_SPOT always exist; others once created and not deleted.
    pub fn capacity_provider_exists(&self, name: &str) -> bool {
        name == "FARGATE"
            || name == "FARGATE_SPOT"
            || self
                .capacity_providers
                .get(name)
                .is_some_and(|cp| cp.status.as_deref() == Some("ACTIVE"))
    }
}

impl RegionState {
    /// The task set an ARN names, with its service, if it exists (a DRAINING
    /// set still does, until its tasks have stopped). What TagResource,
    /// UntagResource and ListTagsForResource need for a `task-set/` ARN: its
    /// tags are kept under this same ARN in `RegionState::tags`.
    pub fn task_set_by_arn(&self, arn: &str) -> Option<(&ServiceRecord, &TaskSetRecord)> {
        // task-set/CLUSTER/SERVICE/ID: the service's key is service/CLUSTER/SERVICE.
        let rest = arn.split_once(":task-set/")?.1;
        let mut parts = rest.splitn(3, '/');
        let (cluster, service) = (parts.next()?, parts.next()?);
        let key = format!(
            "arn:aws:ecs:{}:{}:service/{cluster}/{service}",
            self.region, self.account
        );
        let record = self.services.get(&key)?;
        let set = record.task_sets.iter().find(|t| t.arn() == arn)?;
        Some((record, set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_clusters_and_providers_are_forgotten_after_the_retention() {
        let mut state = RegionState::new("123456789012", "us-east-1");
        let arn = "arn:aws:ecs:us-east-1:123456789012:cluster/old";
        state.clusters.insert(
            "old".into(),
            Cluster {
                cluster_arn: Some(arn.into()),
                status: Some("INACTIVE".into()),
                ..Default::default()
            },
        );
        let cp_arn = "arn:aws:ecs:us-east-1:123456789012:capacity-provider/cp";
        state.capacity_providers.insert(
            "cp".into(),
            CapacityProvider {
                capacity_provider_arn: Some(cp_arn.into()),
                status: Some("INACTIVE".into()),
                ..Default::default()
            },
        );
        state.mark_inactive(arn, 1000.0);
        state.mark_inactive(cp_arn, 1000.0);
        state.forget_expired_inactive(1000.0 + INACTIVE_RETENTION_SECS - 1.0);
        assert!(state.clusters.contains_key("old"), "still describable");
        assert!(state.capacity_providers.contains_key("cp"));
        state.forget_expired_inactive(1000.0 + INACTIVE_RETENTION_SECS);
        assert!(!state.clusters.contains_key("old"), "forgotten");
        assert!(!state.capacity_providers.contains_key("cp"));
        assert!(state.inactive_since.is_empty());
    }

    #[test]
    fn a_cluster_created_again_is_kept() {
        let mut state = RegionState::new("123456789012", "us-east-1");
        let arn = "arn:aws:ecs:us-east-1:123456789012:cluster/back";
        state.clusters.insert(
            "back".into(),
            Cluster {
                cluster_arn: Some(arn.into()),
                status: Some("ACTIVE".into()),
                ..Default::default()
            },
        );
        state.mark_inactive(arn, 0.0);
        state.forget_expired_inactive(INACTIVE_RETENTION_SECS * 2.0);
        assert!(state.clusters.contains_key("back"));
    }
}
