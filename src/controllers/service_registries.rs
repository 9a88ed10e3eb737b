//! A service's Cloud Map registries, driven as ECS drives them
//! ("Use service discovery to connect Amazon ECS services with DNS names"
//! in the ECS developer guide):
//!
//! - A task is registered in each of the service's registries once it is
//!   RUNNING, with the task id as instance id and ECS's attributes:
//!   `AWS_INSTANCE_IPV4` (awsvpc: the task's IP; bridge and host: the
//!   engine host's address as containers reach it, the default bridge
//!   network's gateway, so that a task resolving the name reaches the
//!   published port; 127.0.0.1 when the engine has no such network),
//!   `AWS_INSTANCE_PORT` (the registry's `port` or container port; bridge
//!   and host: the host port Docker published), `AVAILABILITY_ZONE`,
//!   `REGION`, `ECS_CLUSTER_NAME`, `ECS_SERVICE_NAME`,
//!   `ECS_TASK_DEFINITION_FAMILY`, and `EC2_INSTANCE_ID` for tasks on a
//!   container instance.
//! - A task with a container health check is healthy only once Docker says
//!   so: in a Cloud Map service with HealthCheckCustomConfig it is
//!   registered at once and its health follows the task's (an unhealthy
//!   task drops out of healthy answers); in one without, it is registered
//!   only while healthy.
//! - A task whose desired status is STOPPED (or that left RUNNING) is
//!   deregistered, so its name stops resolving before its containers stop.
//!
//! Runs in the service scheduler's pass, under ECS's region lock, taking
//! Cloud Map's lock inside it (the order `crate::cloudmap` documents).

use crate::cloudmap::{CloudMap, Registration, RegistryError, INIT_HEALTH_ATTRIBUTE};
use crate::model::shapes::{ServiceConnectService, ServiceRegistry, TaskDefinition};
use crate::service_connect::{AliasKey, Route, WantedAlias};
use crate::state::lifecycle::TaskStatus;
use crate::state::services::ServiceRecord;
use crate::state::tasks::TaskRecord;
use crate::state::RegionState;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Where bridge and host tasks' published ports are reached when the
/// engine has not told its bridge gateway (`RegionSettings::published_ports_host`).
const HOST_IP: &str = "127.0.0.1";

/// What the registry says of one Cloud Map service.
struct RegistryView {
    kinds: Vec<String>,
    custom_health: bool,
    /// The instances this ECS service registered (by their attributes).
    ours: BTreeSet<String>,
}

/// Registers the service's running tasks and deregisters the ones that
/// stopped, in every registry of the service: its `serviceRegistries` and
/// the Cloud Map services of its deployments' Service Connect
/// configurations (each task in those of the deployment that started it,
/// at the container port its `portName` names in that deployment's task
/// definition).
pub fn sync(state: &RegionState, record: &ServiceRecord) {
    let Some(cloud_map) = state.settings.cloud_map.clone() else {
        return;
    };
    let registries = record
        .service
        .service_registries
        .clone()
        .unwrap_or_default();
    let group = record.group();
    let prefix = format!(
        "arn:aws:ecs:{}:{}:task/{}/",
        state.region, state.account, record.cluster
    );
    let tasks: Vec<&TaskRecord> = state
        .tasks
        .range(prefix.clone()..)
        .take_while(|(arn, _)| arn.starts_with(&prefix))
        .map(|(_, t)| t)
        .filter(|t| t.task.group.as_deref() == Some(group.as_str()))
        .collect();
    // Cloud Map service ARN -> (task, where it is registered from).
    let mut wanted: BTreeMap<String, Vec<(&TaskRecord, ServiceRegistry)>> = BTreeMap::new();
    for registry in &registries {
        if let Some(arn) = &registry.registry_arn {
            let entries = wanted.entry(arn.clone()).or_default();
            entries.extend(tasks.iter().map(|t| (*t, registry.clone())));
        }
    }
    for (arn, port) in service_connect_registries(record) {
        let entries = wanted.entry(arn).or_default();
        for task in &tasks {
            if task.task.started_by.as_deref() != Some(port.deployment.as_str()) {
                continue;
            }
            if let Some(registry) = port.registry_for(task) {
                entries.push((*task, registry));
            }
        }
    }
    forget_dropped_registries(state, &cloud_map, record, &wanted);
    for (arn, entries) in &wanted {
        sync_registry(state, &cloud_map, record, arn, entries);
    }
}

/// A Service Connect service of one deployment: the port it names.
struct ServiceConnectPort {
    deployment: String,
    port_name: String,
}

impl ServiceConnectPort {
    /// The container and port of the task's definition the port name names.
    fn registry_for(&self, task: &TaskRecord) -> Option<ServiceRegistry> {
        task.definition
            .container_definitions
            .iter()
            .flatten()
            .find_map(|c| {
                let m = c
                    .port_mappings
                    .iter()
                    .flatten()
                    .find(|m| m.name.as_deref() == Some(self.port_name.as_str()))?;
                Some(ServiceRegistry {
                    container_name: c.name.clone(),
                    container_port: m.container_port,
                    ..Default::default()
                })
            })
    }
}

/// (Cloud Map service ARN, port) of every Service Connect service of the
/// service's deployments.
fn service_connect_registries(record: &ServiceRecord) -> Vec<(String, ServiceConnectPort)> {
    record
        .deployments
        .iter()
        .flat_map(|d| {
            d.service_connect_services()
                .into_iter()
                .filter_map(move |(s, arn)| {
                    let port = ServiceConnectPort {
                        deployment: d.id().to_string(),
                        port_name: s.port_name.clone()?,
                    };
                    Some((arn.to_string(), port))
                })
        })
        .collect()
}

/// Deregisters this service's tasks from every Cloud Map service that is no
/// longer among its registries (UpdateService changed or removed them).
fn forget_dropped_registries<T>(
    state: &RegionState,
    cloud_map: &CloudMap,
    record: &ServiceRecord,
    registries: &BTreeMap<String, T>,
) {
    let current: BTreeSet<&str> = registries
        .keys()
        .map(|arn| crate::cloudmap::id_of(arn))
        .collect();
    cloud_map.with(&state.account, &state.region, |r| {
        let stale: Vec<(String, String)> = r
            .services
            .values()
            .filter(|s| !current.contains(s.id.as_str()))
            .flat_map(|s| {
                s.instances
                    .values()
                    .filter(|i| {
                        i.attributes.get("ECS_SERVICE_NAME") == Some(&record.name)
                            && i.attributes.get("ECS_CLUSTER_NAME") == Some(&record.cluster)
                    })
                    .map(|i| (s.id.clone(), i.id.clone()))
            })
            .collect();
        for (service, instance) in stale {
            let _ = crate::cloudmap::deregister(r, &service, &instance);
        }
    });
}

fn view(
    cloud_map: &CloudMap,
    state: &RegionState,
    record: &ServiceRecord,
    arn: &str,
) -> Option<RegistryView> {
    cloud_map.with(&state.account, &state.region, |r| {
        let s = r.service(arn)?;
        Some(RegistryView {
            kinds: s
                .dns
                .iter()
                .flat_map(|d| d.records.iter().map(|x| x.kind.clone()))
                .collect(),
            custom_health: s.custom_health,
            ours: s
                .instances
                .values()
                .filter(|i| {
                    i.attributes.get("ECS_SERVICE_NAME") == Some(&record.name)
                        && i.attributes.get("ECS_CLUSTER_NAME") == Some(&record.cluster)
                })
                .map(|i| i.id.clone())
                .collect(),
        })
    })
}

fn sync_registry(
    state: &RegionState,
    cloud_map: &CloudMap,
    record: &ServiceRecord,
    arn: &str,
    entries: &[(&TaskRecord, ServiceRegistry)],
) {
    // A registry deleted from Cloud Map meanwhile: nothing to keep in step.
    let Some(view) = view(cloud_map, state, record, arn) else {
        return;
    };
    let (account, region) = (state.account.as_str(), state.region.as_str());
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for (task, registry) in entries {
        if task.status != TaskStatus::Running || task.desired != TaskStatus::Running {
            continue;
        }
        let health = task_health(task);
        if !view.custom_health && health != Some(true) && health.is_some() {
            // Not (yet) healthy, and the registry has no health of its own
            // to say so: it is not published.
            continue;
        }
        if view.ours.contains(&task.id) {
            wanted.insert(task.id.clone());
            let _ = cloud_map.set_health(account, region, arn, &task.id, health != Some(false));
            continue;
        }
        let Some(attributes) = attributes_of(state, record, registry, &view, task, health) else {
            // The IP or host port is not known yet: the next pass tries again.
            continue;
        };
        let reg = Registration {
            service: arn.to_string(),
            instance_id: task.id.clone(),
            attributes,
            creator_request_id: None,
        };
        match cloud_map.register(account, region, reg) {
            Ok(_) => {
                wanted.insert(task.id.clone());
            }
            Err(RegistryError::ServiceNotFound | RegistryError::InstanceNotFound) => return,
        }
    }
    for id in view.ours.difference(&wanted) {
        let _ = cloud_map.deregister(account, region, arn, id);
    }
}

/// Some(healthy) for a task with container health checks, None without.
fn task_health(task: &TaskRecord) -> Option<bool> {
    let checked = task
        .definition
        .container_definitions
        .iter()
        .flatten()
        .any(|c| c.health_check.is_some());
    if !checked {
        return None;
    }
    Some(task.task.health_status.as_deref() == Some("HEALTHY"))
}

/// ECS's attributes for `task`, or None while its address is not known.
fn attributes_of(
    state: &RegionState,
    record: &ServiceRecord,
    registry: &ServiceRegistry,
    view: &RegistryView,
    task: &TaskRecord,
    health: Option<bool>,
) -> Option<BTreeMap<String, String>> {
    let awsvpc = task.definition.network_mode.as_deref() == Some("awsvpc");
    let mut attrs = BTreeMap::new();
    let (ip, port) = if awsvpc {
        let ip = task_ip(task)?;
        let port = registry.port.or(registry.container_port);
        (ip, port.and_then(|p| u16::try_from(p).ok()))
    } else {
        let name = registry.container_name.as_deref()?;
        let container_port = u16::try_from(registry.container_port?).ok()?;
        let host = state.settings.published_ports_host.get();
        (
            host.map_or(HOST_IP, String::as_str).to_string(),
            Some(host_port(task, name, container_port)?),
        )
    };
    let needs_port = view.kinds.iter().any(|k| k == "SRV");
    if needs_port && port.is_none() {
        return None;
    }
    attrs.insert("AWS_INSTANCE_IPV4".to_string(), ip);
    if let Some(port) = port {
        attrs.insert("AWS_INSTANCE_PORT".to_string(), port.to_string());
    }
    if let Some(az) = &task.task.availability_zone {
        attrs.insert("AVAILABILITY_ZONE".to_string(), az.clone());
    }
    attrs.insert("REGION".to_string(), state.region.clone());
    attrs.insert("ECS_CLUSTER_NAME".to_string(), record.cluster.clone());
    attrs.insert("ECS_SERVICE_NAME".to_string(), record.name.clone());
    if let Some(family) = &task.definition.family {
        attrs.insert("ECS_TASK_DEFINITION_FAMILY".to_string(), family.clone());
    }
    if let Some(ec2) = task
        .task
        .container_instance_arn
        .as_ref()
        .and_then(|ci| state.container_instances.get(ci))
    {
        attrs.insert("EC2_INSTANCE_ID".to_string(), ec2.ec2_instance_id.clone());
    }
    if view.custom_health {
        let status = if health == Some(false) {
            "UNHEALTHY"
        } else {
            "HEALTHY"
        };
        attrs.insert(INIT_HEALTH_ATTRIBUTE.to_string(), status.to_string());
    }
    Some(attrs)
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

/// Hands Service Connect the endpoints (client aliases) that the region's
/// services declare, in every deployment still running tasks, so that
/// each is served while any of them declares it (newest deployments
/// first: theirs is the route an alias takes).
pub fn sync_endpoints(state: &RegionState) {
    let Some(service_connect) = state.settings.service_connect.as_deref() else {
        return;
    };
    let mut wanted = Vec::new();
    for record in state.services.values().filter(|s| s.status() != "INACTIVE") {
        for d in &record.deployments {
            let Some(config) = d.service_connect() else {
                continue;
            };
            let namespace_id = crate::cloudmap::id_of(config.namespace.as_deref().unwrap_or(""));
            for (s, discovery) in d.service_connect_services() {
                let route = Route {
                    discovery_service_id: crate::cloudmap::id_of(discovery).to_string(),
                    idle_timeout: idle_timeout(s, &d.definition),
                    idle_timeout_asked: s
                        .timeout
                        .as_ref()
                        .is_some_and(|t| t.idle_timeout_seconds.is_some()),
                };
                for alias in s.client_aliases.iter().flatten() {
                    let (Some(dns_name), Some(port)) = (
                        alias.dns_name.clone(),
                        alias.port.and_then(|p| u16::try_from(p).ok()),
                    ) else {
                        continue;
                    };
                    let key = AliasKey {
                        account: state.account.clone(),
                        region: state.region.clone(),
                        namespace_id: namespace_id.to_string(),
                        dns_name,
                        port,
                    };
                    wanted.push(WantedAlias {
                        key,
                        route: route.clone(),
                    });
                }
            }
        }
    }
    service_connect.reconcile(&state.account, &state.region, wanted);
}

/// `timeout.idleTimeoutSeconds` (0: none), else ECS's defaults: 5 minutes
/// for a port whose appProtocol is HTTP, HTTP/2 or gRPC, an hour for TCP
/// (TimeoutConfiguration in the ECS API reference).
fn idle_timeout(service: &ServiceConnectService, td: &TaskDefinition) -> Option<Duration> {
    match service
        .timeout
        .as_ref()
        .and_then(|t| t.idle_timeout_seconds)
    {
        Some(0) => None,
        Some(n) => Some(Duration::from_secs(n.max(0) as u64)),
        None => {
            let app_protocol = td
                .container_definitions
                .iter()
                .flatten()
                .flat_map(|c| c.port_mappings.iter().flatten())
                .find(|m| m.name == service.port_name)
                .and_then(|m| m.app_protocol.clone());
            Some(Duration::from_secs(if app_protocol.is_some() {
                300
            } else {
                3600
            }))
        }
    }
}
