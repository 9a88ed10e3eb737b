//! "ECS Container Instance State Change" events: one whenever a container
//! instance registers, deregisters, changes status (ACTIVE, DRAINING,
//! INACTIVE) or attributes, or whenever its remaining resources change
//! because a task was placed on it or stopped, as the ECS developer guide's
//! "Amazon ECS container instance state change events" lists.
//!
//! Those changes come from many places (the API's container instance and
//! cluster calls, RunTask, the service scheduler, a container exiting), so
//! rather than have each say so, the service scheduler's pass, which runs
//! after every one of them, asks this watch to compare each instance with
//! what it last saw. A change is told once, however many steps it took;
//! the instance's `version` counts the events, as ECS's does.

use crate::domain::capacity::usages;
use crate::domain::instance_view::{view, Include};
use crate::events_out::{iso_time, OutEvent};
use crate::model::shapes::ContainerInstance;
use crate::state::RegionState;
use std::collections::HashMap;

/// What an event is told from: the parts of an instance whose change
/// ECS reports (not the task counts, which change at every task status).
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    status: Option<String>,
    agent_connected: Option<bool>,
    registered: serde_json::Value,
    remaining: serde_json::Value,
    attributes: serde_json::Value,
    version_info: serde_json::Value,
}

impl Seen {
    fn of(instance: &ContainerInstance) -> Seen {
        fn json<T: serde::Serialize>(v: T) -> serde_json::Value {
            serde_json::to_value(v).unwrap_or_default()
        }
        let mut attributes = instance.attributes.clone().unwrap_or_default();
        attributes.sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
        Seen {
            status: instance.status.clone(),
            agent_connected: instance.agent_connected,
            registered: json(&instance.registered_resources),
            remaining: json(&instance.remaining_resources),
            attributes: json(&attributes),
            version_info: json(&instance.version_info),
        }
    }
}

/// The instances last seen, per (account, region, ARN), with the version
/// their last event carried.
#[derive(Default)]
pub struct InstanceWatch {
    seen: HashMap<(String, String, String), (Seen, i64)>,
}

impl InstanceWatch {
    /// The events of every instance of this region that changed since the
    /// last call. Bumps an instance's `version` for a change nothing else
    /// counted (the API counts status changes; resources are not counted
    /// anywhere else).
    pub fn events(
        &mut self,
        account: &str,
        region: &str,
        state: &mut RegionState,
    ) -> Vec<OutEvent> {
        let now = crate::clock::now_system();
        let mut clusters: Vec<String> = state
            .container_instances
            .values()
            .map(|r| r.cluster.clone())
            .collect();
        clusters.sort();
        clusters.dedup();
        let mut changed = vec![];
        for cluster in clusters {
            let usage = usages(state, &cluster);
            for record in state
                .container_instances
                .values()
                .filter(|r| r.cluster == cluster)
            {
                let instance = view(state, record, usage.get(&record.arn), Include::default());
                let seen = Seen::of(&instance);
                let key = (account.to_string(), region.to_string(), record.arn.clone());
                let (version, told) = match self.seen.get(&key) {
                    Some((before, _)) if *before == seen => continue,
                    Some((_, told)) => (record.version, Some(*told)),
                    // First seen: registered now (or before ecsbox started
                    // watching); an instance first seen deregistered is old news.
                    None if instance.status.as_deref() == Some("INACTIVE") => {
                        self.seen.insert(key, (seen, record.version));
                        continue;
                    }
                    None => (record.version, None),
                };
                let version = if told == Some(version) {
                    version + 1
                } else {
                    version
                };
                changed.push((key, seen, version, instance, record.cluster.clone()));
            }
        }
        // Instances no longer in the state (a reset) are forgotten.
        self.seen.retain(|(a, r, arn), _| {
            a != account || r != region || state.container_instances.contains_key(arn)
        });
        let mut out = vec![];
        for (key, seen, version, mut instance, cluster) in changed {
            if let Some(record) = state.container_instances.get_mut(&key.2) {
                record.version = version;
            }
            instance.version = Some(version);
            let cluster_arn = crate::state::arn::cluster(region, account, &cluster);
            out.push(OutEvent {
                account: account.to_string(),
                region: region.to_string(),
                source: "aws.ecs",
                detail_type: "ECS Container Instance State Change",
                resources: vec![key.2.clone()],
                detail: detail(instance, &cluster_arn, now),
                time: now,
            });
            self.seen.insert(key, (seen, version));
        }
        out
    }
}

/// The event's detail: the instance as DescribeContainerInstances shows it
/// (the developer guide: "The detail section below resembles the
/// ContainerInstance object"), with its cluster's ARN, times in ISO 8601
/// and `updatedAt`, as in the guide's example event.
fn detail(
    instance: ContainerInstance,
    cluster_arn: &str,
    now: std::time::SystemTime,
) -> serde_json::Value {
    let mut detail = serde_json::to_value(&instance).unwrap_or_default();
    if let Some(map) = detail.as_object_mut() {
        map.insert("clusterArn".into(), cluster_arn.into());
        if let Some(at) = map.get("registeredAt").and_then(|v| v.as_f64()) {
            map.insert(
                "registeredAt".into(),
                crate::events_out::iso_secs(at).into(),
            );
        }
        map.insert("updatedAt".into(), iso_time(now).into());
    }
    detail
}
