//! A container instance as DescribeContainerInstances shows it: what it
//! registered, what its live tasks leave of it, its counts and attributes.
//! Shared by the API (every answer that carries an instance) and by the
//! controller that tells EventBridge when an instance changes (its
//! "ECS Container Instance State Change" detail is this same object).

use crate::domain::capacity::{attributes_of, candidate, usages, Usage};
use crate::model::shapes::{
    ContainerInstance, ContainerInstanceHealthStatus, InstanceHealthCheckResult, Resource,
};
use crate::state::container_instances::ContainerInstanceRecord;
use crate::state::tasks::epoch_now;
use crate::state::RegionState;
use std::collections::BTreeSet;

fn integer_resource(name: &str, value: i64) -> Resource {
    Resource {
        name: Some(name.into()),
        r#type: Some("INTEGER".into()),
        double_value: Some(0.0),
        long_value: Some(0),
        integer_value: Some(value as i32),
        string_set_value: None,
    }
}

fn ports_resource(name: &str, ports: &BTreeSet<u16>) -> Resource {
    Resource {
        name: Some(name.into()),
        r#type: Some("STRINGSET".into()),
        double_value: Some(0.0),
        long_value: Some(0),
        integer_value: Some(0),
        string_set_value: Some(ports.iter().map(|p| p.to_string()).collect()),
    }
}

fn resources(
    cpu: i64,
    memory: i64,
    tcp: &BTreeSet<u16>,
    udp: &BTreeSet<u16>,
    other: &[Resource],
) -> Vec<Resource> {
    let mut list = vec![
        integer_resource("CPU", cpu),
        integer_resource("MEMORY", memory),
        ports_resource("PORTS", tcp),
        ports_resource("PORTS_UDP", udp),
    ];
    list.extend(other.iter().cloned());
    list
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Include {
    pub tags: bool,
    pub health: bool,
}

/// The instance as the API shows it, with live resources and counts.
pub fn view(
    state: &RegionState,
    record: &ContainerInstanceRecord,
    usage: Option<&Usage>,
    include: Include,
) -> ContainerInstance {
    let c = candidate(state, record, usage);
    let cap = &record.capacity;
    let (running, pending) = usage.map(|u| (u.running, u.pending)).unwrap_or((0, 0));
    ContainerInstance {
        container_instance_arn: Some(record.arn.clone()),
        ec2_instance_id: Some(record.ec2_instance_id.clone()),
        version: Some(record.version),
        version_info: Some(record.version_info.clone()),
        registered_resources: Some(resources(
            cap.cpu,
            cap.memory,
            &cap.reserved_tcp_ports,
            &cap.reserved_udp_ports,
            &record.other_resources,
        )),
        remaining_resources: Some(resources(
            c.remaining_cpu,
            c.remaining_memory,
            &c.taken_tcp_ports,
            &c.taken_udp_ports,
            &record.other_resources,
        )),
        status: Some(record.status.as_str().into()),
        agent_connected: Some(record.status.is_registered()),
        running_tasks_count: Some(running),
        pending_tasks_count: Some(pending),
        attributes: Some(attributes_of(state, record)),
        registered_at: Some(record.registered_at),
        attachments: Some(vec![]),
        tags: include.tags.then(|| state.tags_of(&record.arn)),
        health_status: include.health.then(|| health(record)),
        ..Default::default()
    }
}

/// A virtual instance's runtime is the local engine, which answered the
/// call that is being served: OK.
fn health(record: &ContainerInstanceRecord) -> ContainerInstanceHealthStatus {
    ContainerInstanceHealthStatus {
        overall_status: Some("OK".into()),
        details: Some(vec![InstanceHealthCheckResult {
            r#type: Some("CONTAINER_RUNTIME".into()),
            status: Some("OK".into()),
            status_reason: None,
            last_updated: Some(epoch_now()),
            last_status_change: Some(record.registered_at),
        }]),
    }
}

pub fn view_of(state: &RegionState, arn: &str, include: Include) -> ContainerInstance {
    let record = &state.container_instances[arn];
    let usages = usages(state, &record.cluster);
    view(state, record, usages.get(arn), include)
}
