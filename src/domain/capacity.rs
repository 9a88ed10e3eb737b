//! What tasks take from container instances, and what the instances have
//! left: the numbers placement decides by and DescribeContainerInstances
//! shows.
//!
//! An instance's remaining resources and task counts are computed from the
//! live tasks placed on it (`usages`) every time they are shown or used, so
//! a task gives its share back the moment it reaches STOPPED.

use super::placement::{Candidate, Demand};
use super::task_definitions::{parse_task_cpu, parse_task_memory};
use crate::model::shapes::{Attribute, TaskDefinition};
use crate::state::container_instances::ContainerInstanceRecord;
use crate::state::lifecycle::TaskStatus;
use crate::state::RegionState;
use std::collections::{BTreeSet, HashMap};

/// What the live tasks on one instance use.
#[derive(Debug, Default)]
pub struct Usage {
    pub cpu: i64,
    pub memory: i64,
    pub tcp_ports: BTreeSet<u16>,
    pub udp_ports: BTreeSet<u16>,
    pub running: i32,
    pub pending: i32,
    pub groups: Vec<String>,
}

/// What a task needs of its instance: the task-level cpu and memory, or else
/// the sum of its containers' (memoryReservation where given, as ECS
/// reserves it); its static host ports; the attributes it requires.
pub fn demand(definition: &TaskDefinition) -> Demand {
    let containers = definition
        .container_definitions
        .as_deref()
        .unwrap_or_default();
    let cpu = definition
        .cpu
        .as_deref()
        .and_then(parse_task_cpu)
        .map(i64::from);
    let memory = definition
        .memory
        .as_deref()
        .and_then(parse_task_memory)
        .map(i64::from);
    let mut demand = Demand {
        cpu: cpu.unwrap_or_else(|| containers.iter().map(|c| c.cpu.unwrap_or(0) as i64).sum()),
        memory: memory.unwrap_or_else(|| {
            containers
                .iter()
                .map(|c| c.memory_reservation.or(c.memory).unwrap_or(0) as i64)
                .sum()
        }),
        attributes: definition
            .requires_attributes
            .iter()
            .flatten()
            .filter_map(|a| a.name.clone())
            .collect(),
        ..Default::default()
    };
    let mode = definition.network_mode.as_deref().unwrap_or("bridge");
    if mode == "bridge" || mode == "host" {
        for pm in containers
            .iter()
            .flat_map(|c| c.port_mappings.iter().flatten())
        {
            // In host mode the host port is the container port; 0 is a dynamic port.
            let host = if mode == "host" {
                pm.host_port.filter(|p| *p != 0).or(pm.container_port)
            } else {
                pm.host_port
            };
            let Some(port) = host.and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0) else {
                continue;
            };
            match pm.protocol.as_deref() {
                Some("udp") => demand.udp_ports.push(port),
                _ => demand.tcp_ports.push(port),
            }
        }
    }
    demand
}

/// Usage of each instance of a cluster, by instance ARN, from its tasks
/// that are not yet STOPPED.
pub fn usages(state: &RegionState, cluster: &str) -> HashMap<String, Usage> {
    let mut usages: HashMap<String, Usage> = HashMap::new();
    for t in state
        .tasks
        .values()
        .filter(|t| t.cluster == cluster && t.status != TaskStatus::Stopped)
    {
        let Some(instance) = t.task.container_instance_arn.clone() else {
            continue;
        };
        let d = demand(&t.definition);
        let u = usages.entry(instance).or_default();
        u.cpu += d.cpu;
        u.memory += d.memory;
        u.tcp_ports.extend(d.tcp_ports);
        u.udp_ports.extend(d.udp_ports);
        if t.status == TaskStatus::Running {
            u.running += 1;
        } else if t.status < TaskStatus::Running {
            u.pending += 1;
        }
        u.groups.push(t.task.group.clone().unwrap_or_default());
    }
    usages
}

/// The instance's attributes: its own, then the custom ones PutAttributes
/// gave it (a custom one replaces an own one of the same name).
pub fn attributes_of(state: &RegionState, record: &ContainerInstanceRecord) -> Vec<Attribute> {
    let mut attributes = record.attributes.clone();
    let custom = state
        .attributes
        .get(&record.cluster)
        .into_iter()
        .flatten()
        .filter(|((id, _), _)| *id == record.id);
    for (_, a) in custom {
        let plain = Attribute {
            name: a.name.clone(),
            value: a.value.clone(),
            ..Default::default()
        };
        match attributes.iter_mut().find(|x| x.name == a.name) {
            Some(existing) => *existing = plain,
            None => attributes.push(plain),
        }
    }
    attributes
}

pub fn candidate(
    state: &RegionState,
    record: &ContainerInstanceRecord,
    usage: Option<&Usage>,
) -> Candidate {
    let empty = Usage::default();
    let u = usage.unwrap_or(&empty);
    let cap = &record.capacity;
    Candidate {
        arn: record.arn.clone(),
        ec2_instance_id: record.ec2_instance_id.clone(),
        agent_connected: record.status.is_registered(),
        agent_version: record
            .version_info
            .agent_version
            .clone()
            .unwrap_or_default(),
        registered_at: record.registered_at,
        attributes: attributes_of(state, record)
            .into_iter()
            .filter_map(|a| Some((a.name?, a.value)))
            .collect(),
        remaining_cpu: cap.cpu - u.cpu,
        remaining_memory: cap.memory - u.memory,
        taken_tcp_ports: cap
            .reserved_tcp_ports
            .union(&u.tcp_ports)
            .copied()
            .collect(),
        taken_udp_ports: cap
            .reserved_udp_ports
            .union(&u.udp_ports)
            .copied()
            .collect(),
        running_tasks: u.running as i64,
        groups: u.groups.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::{ContainerDefinition, PortMapping};

    fn container(
        cpu: Option<i32>,
        memory: Option<i32>,
        reservation: Option<i32>,
        ports: &[(i32, i32, &str)],
    ) -> ContainerDefinition {
        ContainerDefinition {
            cpu,
            memory,
            memory_reservation: reservation,
            port_mappings: Some(
                ports
                    .iter()
                    .map(|(c, h, p)| PortMapping {
                        container_port: Some(*c),
                        host_port: Some(*h),
                        protocol: Some(p.to_string()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn demand_sums_containers_unless_the_task_sets_its_size() {
        let td = TaskDefinition {
            network_mode: Some("bridge".into()),
            container_definitions: Some(vec![
                container(
                    Some(256),
                    Some(512),
                    Some(128),
                    &[(80, 8080, "tcp"), (81, 0, "tcp")],
                ),
                container(None, Some(64), None, &[(53, 5353, "udp")]),
            ]),
            requires_attributes: Some(vec![Attribute {
                name: Some("ecs.capability.task-eni".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let d = demand(&td);
        assert_eq!(
            (d.cpu, d.memory),
            (256, 128 + 64),
            "memoryReservation is what is reserved"
        );
        assert_eq!(d.tcp_ports, vec![8080], "a dynamic host port takes nothing");
        assert_eq!(d.udp_ports, vec![5353]);
        assert_eq!(d.attributes, vec!["ecs.capability.task-eni".to_string()]);

        let sized = TaskDefinition {
            cpu: Some("1 vCPU".into()),
            memory: Some("2 GB".into()),
            ..td.clone()
        };
        assert_eq!((demand(&sized).cpu, demand(&sized).memory), (1024, 2048));
        let host = TaskDefinition {
            network_mode: Some("host".into()),
            container_definitions: Some(vec![container(None, Some(64), None, &[(9000, 0, "tcp")])]),
            ..Default::default()
        };
        assert_eq!(
            demand(&host).tcp_ports,
            vec![9000],
            "host mode binds the container port"
        );
        let awsvpc = TaskDefinition {
            network_mode: Some("awsvpc".into()),
            ..td
        };
        assert!(
            demand(&awsvpc).tcp_ports.is_empty(),
            "awsvpc tasks bind no host ports"
        );
    }
}
