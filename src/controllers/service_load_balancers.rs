//! A service's load balancers, driven as ECS drives them (the service's
//! `loadBalancers`, "Use load balancing to distribute Amazon ECS service
//! traffic" in the developer guide):
//!
//! - A task is registered in each of the service's target groups once it
//!   is RUNNING: awsvpc tasks as (task IP, container port), bridge and host
//!   tasks as (their container instance's EC2 id, the host port Docker
//!   published for the container port).
//! - A task counts as healthy for the deployment only once every target it
//!   stands for is `healthy`; one the load balancer finds `unhealthy` after
//!   the service's `healthCheckGracePeriodSeconds` is stopped and replaced.
//! - Before its containers stop, a task is deregistered and waits, in
//!   DEACTIVATING, until the load balancer has drained it (the target
//!   group's deregistration delay): the task controller does that part.
//!
//! The data plane (`crate::lb`) decides target health; this module only
//! reads it. Everything here runs under the region's lock, synchronously.

use crate::lb::{LoadBalancing, Target, TargetKey, TargetState, TargetType};
use crate::model::shapes::LoadBalancer;
use crate::state::lifecycle::TaskStatus;
use crate::state::services::ServiceRecord;
use crate::state::tasks::{TargetRegistration, TaskRecord};
use crate::state::RegionState;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// How the load balancers see one task of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LbHealth {
    /// The service has no load balancers (or the task is not registered
    /// and never will be: it is not RUNNING).
    NotBalanced,
    /// Registered (or about to be) and not yet healthy everywhere.
    Waiting,
    /// Healthy in every target group.
    Healthy,
    /// Unhealthy in one target group: which, and the load balancer's reason.
    Unhealthy {
        target: TargetRegistration,
        description: String,
    },
}

/// The load balancers' view of `task`.
pub fn health_of(task: &TaskRecord, balanced: bool, plane: Option<&LoadBalancing>) -> LbHealth {
    let Some(plane) = plane.filter(|_| balanced) else {
        return LbHealth::NotBalanced;
    };
    if task.status != TaskStatus::Running {
        return LbHealth::NotBalanced;
    }
    if task.lb_targets.is_empty() {
        return LbHealth::Waiting;
    }
    let mut all_healthy = true;
    for reg in &task.lb_targets {
        let key = TargetKey {
            id: reg.id.clone(),
            port: reg.port,
        };
        let found = plane
            .target_health(&reg.target_group_arn)
            .into_iter()
            .find(|h| h.key == key);
        match found {
            Some(h) if h.state == TargetState::Healthy => {}
            Some(h) if h.state == TargetState::Unhealthy => {
                return LbHealth::Unhealthy {
                    target: reg.clone(),
                    description: h
                        .description
                        .unwrap_or_else(|| "Health checks failed".to_string()),
                };
            }
            _ => all_healthy = false,
        }
    }
    if all_healthy {
        LbHealth::Healthy
    } else {
        LbHealth::Waiting
    }
}

/// Registers every RUNNING task of the service that is not registered yet,
/// and says so in the service's events ("registered 1 targets in
/// (target-group ...)", as ECS does).
pub fn register_running_tasks(state: &mut RegionState, record: &mut ServiceRecord) {
    let lbs = record.service.load_balancers.clone().unwrap_or_default();
    let Some(plane) = state.settings.load_balancing.clone() else {
        return;
    };
    if lbs.is_empty() || record.status() != "ACTIVE" {
        return;
    }
    let group = record.group();
    let prefix = format!(
        "arn:aws:ecs:{}:{}:task/{}/",
        state.region, state.account, record.cluster
    );
    let pending: Vec<String> = state
        .tasks
        .range(prefix.clone()..)
        .take_while(|(arn, _)| arn.starts_with(&prefix))
        .filter(|(_, t)| {
            t.task.group.as_deref() == Some(group.as_str())
                && t.status == TaskStatus::Running
                && t.desired == TaskStatus::Running
                && t.lb_targets.is_empty()
        })
        .map(|(arn, _)| arn.clone())
        .collect();
    let mut registered: BTreeMap<String, usize> = BTreeMap::new();
    for arn in pending {
        let instance_id = state
            .tasks
            .get(&arn)
            .and_then(|t| t.task.container_instance_arn.clone())
            .and_then(|ci| state.container_instances.get(&ci))
            .map(|ci| ci.ec2_instance_id.clone());
        let Some(task) = state.tasks.get_mut(&arn) else {
            continue;
        };
        let targets: Vec<(TargetRegistration, SocketAddr)> = lbs
            .iter()
            .filter_map(|lb| target_of(task, lb, &plane, instance_id.as_deref()))
            .collect();
        if targets.len() != lbs.len() {
            // Not every target can be named yet (no IP or host port seen):
            // the next pass tries again.
            continue;
        }
        for (reg, address) in &targets {
            plane.register_targets(
                &reg.target_group_arn,
                vec![Target {
                    key: TargetKey {
                        id: reg.id.clone(),
                        port: reg.port,
                    },
                    address: *address,
                    availability_zone: task.task.availability_zone.clone(),
                }],
            );
            *registered.entry(reg.target_group_arn.clone()).or_default() += 1;
        }
        task.lb_targets = targets.into_iter().map(|(r, _)| r).collect();
    }
    for (tg, n) in registered {
        record.event(format!(
            "(service {}) registered {n} targets in (target-group {tg})",
            record.name
        ));
    }
}

/// The target `task` stands for in the group of `lb`, and where the plane
/// reaches it; None while its IP or host port is not known.
fn target_of(
    task: &TaskRecord,
    lb: &LoadBalancer,
    plane: &LoadBalancing,
    instance_id: Option<&str>,
) -> Option<(TargetRegistration, SocketAddr)> {
    let tg = lb.target_group_arn.clone()?;
    let container_name = lb.container_name.clone().unwrap_or_default();
    let container_port = u16::try_from(lb.container_port?).ok()?;
    let spec = plane.target_group(&tg)?;
    let (id, port, address) = match spec.target_type {
        TargetType::Ip => {
            let ip: IpAddr = task_ip(task)?.parse().ok()?;
            (
                ip.to_string(),
                container_port,
                SocketAddr::new(ip, container_port),
            )
        }
        TargetType::Instance => {
            let host_port = host_port(task, &container_name, container_port)?;
            (
                instance_id?.to_string(),
                host_port,
                SocketAddr::new(plane.settings().instance_address, host_port),
            )
        }
    };
    Some((
        TargetRegistration {
            target_group_arn: tg,
            id,
            port,
            container_name,
            container_port,
        },
        address,
    ))
}

/// The private IP of an awsvpc task's ENI.
fn task_ip(task: &TaskRecord) -> Option<String> {
    task.task
        .containers
        .iter()
        .flatten()
        .flat_map(|c| c.network_interfaces.iter().flatten())
        .find_map(|ni| ni.private_ipv4_address.clone())
}

/// The host port Docker published for `container_port` of `container`.
fn host_port(task: &TaskRecord, container: &str, container_port: u16) -> Option<u16> {
    task.task
        .containers
        .iter()
        .flatten()
        .filter(|c| c.name.as_deref() == Some(container))
        .flat_map(|c| c.network_bindings.iter().flatten())
        .find(|b| b.container_port == Some(i32::from(container_port)))
        .and_then(|b| u16::try_from(b.host_port?).ok())
}

/// The wording of ECS's event for a task the load balancer found unhealthy:
/// "service my-web (port 8080) is unhealthy in target-group my-tg due to
/// (reason Health checks failed with these codes: [502])." — with the
/// instance named for instance targets.
pub fn unhealthy_event(
    service: &str,
    target: &TargetRegistration,
    description: &str,
    plane: Option<&LoadBalancing>,
) -> String {
    let tg_name = plane
        .and_then(|p| p.target_group(&target.target_group_arn))
        .map(|s| s.name)
        .unwrap_or_else(|| target.target_group_arn.clone());
    let instance = if target.id.starts_with("i-") {
        format!(" (instance {})", target.id)
    } else {
        String::new()
    };
    format!(
        "service {service}{instance} (port {}) is unhealthy in target-group {tg_name} due to (reason {description}).",
        target.port
    )
}

/// The stoppedReason of a task stopped for failing the load balancer's
/// health checks.
pub fn unhealthy_reason(target_group_arn: &str) -> String {
    format!("Task failed ELB health checks in (target-group {target_group_arn})")
}
