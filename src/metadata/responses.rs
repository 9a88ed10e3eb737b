//! The JSON documents of the task metadata endpoint, built from the task's
//! record and what the engine says about its containers. Field names,
//! formats and omissions follow the ECS agent's `v2`/`v4` response types:
//! PascalCase names, RFC 3339 times with nanoseconds, numbers as Go writes
//! them (`"CPU": 0.25`, `"CPU": 10`), empty optional fields left out.
//!
//! Version 3 is version 4 without the fields v4 added: LogDriver,
//! LogOptions, ContainerARN, the ENI details of Networks and HostIp of
//! Ports in containers; LaunchType, ServiceName, ClockDrift,
//! EphemeralStorageMetrics and FaultInjectionEnabled in tasks.

use super::routes::Version;
use crate::model::shapes::{ContainerDefinition, KeyValuePair, Tag};
use crate::runtime::timestamp::format_rfc3339_nanos;
use crate::runtime::{ContainerInfo, ContainerStatus, HealthStatus, NetworkEndpoint};
use crate::state::tasks::TaskRecord;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The ECS agent (EC2) reports a container cpu below 2 as 2, the CPU shares
/// it gives Docker for them: `minimumCPUUnit` in the agent's
/// agent/handlers/v2/response.go, since commit 43af66399 ("Set default CPU
/// limit as 2 and show in TMDEv2/v3/v4 task metadata", January 2021).
/// Fargate reports the definition's cpu as is, 0 when unset (AWS's
/// metadata examples; the agent's own v3 endpoint validator expected 0).
const AGENT_MINIMUM_CPU_UNITS: i64 = 2;
/// The agent's name for an awsvpc task's pause container
/// (`NetworkPauseContainerName` in agent/api/task/task.go).
const PAUSE_CONTAINER_NAME: &str = "~internal~ecs~pause";
/// The agent's pause image (as AWS's metadata examples show it).
const PAUSE_IMAGE: &str = "amazon/amazon-ecs-pause:0.1.0";
/// Fargate's ephemeral storage when the task definition asks for none.
const DEFAULT_EPHEMERAL_GIB: i64 = 20;

/// What the store knows about the task, copied out under its region's lock.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub record: TaskRecord,
    pub cluster_arn: String,
    pub task_tags: Vec<Tag>,
    /// Tags of the container instance an EC2 task runs on.
    pub instance_tags: Option<Vec<Tag>>,
}

/// What the engine says about the task's containers, by container name, and
/// about the namespace holder of an awsvpc task (whose network is the task's).
#[derive(Debug, Clone, Default)]
pub struct EngineView {
    pub containers: HashMap<String, ContainerInfo>,
    pub holder: Option<ContainerInfo>,
}

/// `${ECS_CONTAINER_METADATA_URI_V4}`: one container. None if the task
/// definition has no container of that name.
pub fn container(
    version: Version,
    task: &TaskView,
    engine: &EngineView,
    name: &str,
) -> Option<Value> {
    let def = task
        .record
        .definition
        .container_definitions
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name))?;
    let view = task
        .record
        .task
        .containers
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name));
    let info = engine.containers.get(name);
    let mut o = Map::new();
    let docker_id = info
        .map(|i| i.id.clone())
        .or_else(|| view.and_then(|v| v.runtime_id.clone()))
        .unwrap_or_default();
    o.insert("DockerId".into(), docker_id.into());
    o.insert("Name".into(), name.into());
    o.insert(
        "DockerName".into(),
        info.map(|i| i.name.clone()).unwrap_or_default().into(),
    );
    o.insert("Image".into(), def.image.clone().unwrap_or_default().into());
    o.insert(
        "ImageID".into(),
        info.map(|i| i.image_id.clone()).unwrap_or_default().into(),
    );
    put_non_empty(
        &mut o,
        "Ports",
        Value::Array(ports(version, task, def, info)),
    );
    if let Some(info) = info {
        let labels: Map<String, Value> = info
            .labels
            .iter()
            .filter(|(k, _)| !k.starts_with("ecsbox."))
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        put_non_empty(&mut o, "Labels", Value::Object(labels));
    }
    o.insert(
        "DesiredStatus".into(),
        if task.record.desired.as_str() == "STOPPED" {
            "STOPPED"
        } else {
            "RUNNING"
        }
        .into(),
    );
    o.insert(
        "KnownStatus".into(),
        known_status(info, view.and_then(|v| v.last_status.as_deref())).into(),
    );
    if let Some(code) = view.and_then(|v| v.exit_code) {
        o.insert("ExitCode".into(), code.into());
    }
    o.insert(
        "Limits".into(),
        container_limits(def, task.record.is_fargate()),
    );
    for (field, at) in [
        ("CreatedAt", info.and_then(|i| i.created_at)),
        ("StartedAt", info.and_then(|i| i.started_at)),
        ("FinishedAt", info.and_then(|i| i.finished_at)),
    ] {
        if let Some(at) = at {
            o.insert(field.into(), format_rfc3339_nanos(at).into());
        }
    }
    o.insert("Type".into(), "NORMAL".into());
    put_non_empty(
        &mut o,
        "Networks",
        Value::Array(networks(version, task, engine, info)),
    );
    if let (Some(_), Some(info)) = (&def.health_check, info) {
        o.insert("Health".into(), health(info));
    }
    if version == Version::V4 {
        if let Some(log) = &def.log_configuration {
            o.insert(
                "LogDriver".into(),
                log.log_driver.clone().unwrap_or_default().into(),
            );
            let options: Map<String, Value> = log
                .options
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            put_non_empty(&mut o, "LogOptions", Value::Object(options));
        }
        if let Some(arn) = view.and_then(|v| v.container_arn.clone()) {
            o.insert("ContainerARN".into(), arn.into());
        }
    }
    Some(Value::Object(o))
}

/// `${ECS_CONTAINER_METADATA_URI_V4}/task` (and `/taskWithTags`).
pub fn task(
    version: Version,
    task: &TaskView,
    engine: &EngineView,
    with_tags: bool,
    now: SystemTime,
) -> Value {
    let r = &task.record;
    let t = &r.task;
    let fargate = r.is_fargate();
    let mut o = Map::new();
    // Fargate names the cluster by ARN; the agent on EC2 by the name it was configured with.
    let cluster = if fargate {
        task.cluster_arn.clone()
    } else {
        r.cluster.clone()
    };
    o.insert("Cluster".into(), cluster.into());
    o.insert(
        "TaskARN".into(),
        t.task_arn.clone().unwrap_or_default().into(),
    );
    o.insert("Family".into(), r.family().into());
    o.insert(
        "Revision".into(),
        r.definition.revision.unwrap_or(0).to_string().into(),
    );
    o.insert("DesiredStatus".into(), r.desired.as_str().into());
    o.insert("KnownStatus".into(), r.status.as_str().into());
    if let Some(limits) = task_limits(t.cpu.as_deref(), t.memory.as_deref()) {
        o.insert("Limits".into(), limits);
    }
    for (field, at) in [
        ("PullStartedAt", t.pull_started_at),
        ("PullStoppedAt", t.pull_stopped_at),
        ("ExecutionStoppedAt", t.execution_stopped_at),
    ] {
        if let Some(at) = at {
            o.insert(field.into(), format_rfc3339_nanos(from_epoch(at)).into());
        }
    }
    if let Some(zone) = &t.availability_zone {
        o.insert("AvailabilityZone".into(), zone.clone().into());
    }
    if with_tags {
        put_non_empty(&mut o, "TaskTags", tag_map(&task.task_tags));
        if let Some(tags) = &task.instance_tags {
            put_non_empty(&mut o, "ContainerInstanceTags", tag_map(tags));
        }
    }
    // On EC2 an awsvpc task's network belongs to the agent's pause
    // container, which the agent lists first among the task's containers;
    // Fargate (platform 1.4) does not show it.
    let pause = (!fargate && r.definition.network_mode.as_deref() == Some("awsvpc"))
        .then(|| pause_container(version, task, engine));
    let containers: Vec<Value> = pause
        .into_iter()
        .chain(
            r.definition
                .container_definitions
                .iter()
                .flatten()
                .filter_map(|c| container(version, task, engine, c.name.as_deref()?)),
        )
        .collect();
    put_non_empty(&mut o, "Containers", Value::Array(containers));
    if version == Version::V4 {
        o.insert("LaunchType".into(), r.launch_type().into());
        if let Some(service) = t.group.as_deref().and_then(|g| g.strip_prefix("service:")) {
            o.insert("ServiceName".into(), service.into());
        }
        // The containers run on the host's own clock: there is no drift.
        o.insert(
            "ClockDrift".into(),
            json!({"ReferenceTimestamp": format_rfc3339_nanos(now), "ClockSynchronizationStatus": "SYNCHRONIZED"}),
        );
        if fargate {
            o.insert("EphemeralStorageMetrics".into(), ephemeral_storage(r));
        }
        o.insert(
            "FaultInjectionEnabled".into(),
            r.definition.enable_fault_injection.unwrap_or(false).into(),
        );
    }
    Value::Object(o)
}

/// The agent's container statuses (`NONE`, `PULLED`, `CREATED`, `RUNNING`,
/// `STOPPED`), from the engine when the container exists.
fn known_status(info: Option<&ContainerInfo>, last_status: Option<&str>) -> &'static str {
    match (info.map(|i| i.status), last_status) {
        (Some(ContainerStatus::Created), _) => "CREATED",
        (
            Some(ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Restarting),
            _,
        ) => "RUNNING",
        (Some(_), _) | (None, Some("STOPPED")) => "STOPPED",
        (None, Some("PENDING")) => "PULLED",
        (None, _) => "NONE",
    }
}

/// An awsvpc task's pause container on EC2, as the ECS agent
/// describes it (Type `CNI_PAUSE`, status `RESOURCES_PROVISIONED`, the shapes
/// of its misc/v3-task-endpoint-validator and AWS's metadata examples). Its
/// Docker fields are those of ecsbox's namespace holder, which plays its
/// part; a one-container task owns its namespace itself and has none, so
/// they are empty then, as the agent's are before the container exists.
fn pause_container(version: Version, task: &TaskView, engine: &EngineView) -> Value {
    let r = &task.record;
    let holder = engine.holder.as_ref();
    let mut o = Map::new();
    o.insert(
        "DockerId".into(),
        holder.map(|h| h.id.clone()).unwrap_or_default().into(),
    );
    o.insert("Name".into(), PAUSE_CONTAINER_NAME.into());
    o.insert(
        "DockerName".into(),
        holder.map(|h| h.name.clone()).unwrap_or_default().into(),
    );
    o.insert("Image".into(), PAUSE_IMAGE.into());
    o.insert(
        "ImageID".into(),
        holder
            .map(|h| h.image_id.clone())
            .unwrap_or_default()
            .into(),
    );
    // The labels the agent puts on every container of the task.
    o.insert(
        "Labels".into(),
        json!({
            "com.amazonaws.ecs.cluster": r.cluster,
            "com.amazonaws.ecs.container-name": PAUSE_CONTAINER_NAME,
            "com.amazonaws.ecs.task-arn": r.task.task_arn.clone().unwrap_or_default(),
            "com.amazonaws.ecs.task-definition-family": r.family(),
            "com.amazonaws.ecs.task-definition-version": r.definition.revision.unwrap_or(0).to_string(),
        }),
    );
    // The pause container's steady state is RESOURCES_PROVISIONED, not RUNNING.
    let stopping = r.desired.as_str() == "STOPPED";
    let stopped = holder.is_some_and(|h| h.status.is_terminal());
    o.insert(
        "DesiredStatus".into(),
        if stopping {
            "STOPPED"
        } else {
            "RESOURCES_PROVISIONED"
        }
        .into(),
    );
    o.insert(
        "KnownStatus".into(),
        if stopped {
            "STOPPED"
        } else {
            "RESOURCES_PROVISIONED"
        }
        .into(),
    );
    // The agent's pause container asks for no cpu or memory; its cpu is
    // reported with the agent's floor like any other container's.
    o.insert(
        "Limits".into(),
        json!({ "CPU": AGENT_MINIMUM_CPU_UNITS, "Memory": 0 }),
    );
    for (field, at) in [
        ("CreatedAt", holder.and_then(|h| h.created_at)),
        ("StartedAt", holder.and_then(|h| h.started_at)),
        ("FinishedAt", holder.and_then(|h| h.finished_at)),
    ] {
        if let Some(at) = at {
            o.insert(field.into(), format_rfc3339_nanos(at).into());
        }
    }
    o.insert("Type".into(), "CNI_PAUSE".into());
    put_non_empty(
        &mut o,
        "Networks",
        Value::Array(awsvpc_network(version, task, engine).into_iter().collect()),
    );
    Value::Object(o)
}

/// A container's `Limits`: its definition's cpu (with the EC2 agent's floor
/// of 2, not on Fargate) and its hard memory limit when it has one.
fn container_limits(def: &ContainerDefinition, fargate: bool) -> Value {
    let cpu = i64::from(def.cpu.unwrap_or(0));
    let cpu = if fargate {
        cpu
    } else {
        cpu.max(AGENT_MINIMUM_CPU_UNITS)
    };
    let mut limits = json!({ "CPU": cpu });
    if let Some(memory) = def.memory {
        limits["Memory"] = memory.into();
    }
    limits
}

/// Task-level limits: CPU in vCPUs (`"256"` units is 0.25), memory in MiB.
fn task_limits(cpu: Option<&str>, memory: Option<&str>) -> Option<Value> {
    let cpu = cpu.and_then(|c| c.parse::<f64>().ok()).filter(|c| *c > 0.0);
    let memory = memory
        .and_then(|m| m.parse::<i64>().ok())
        .filter(|m| *m > 0);
    if cpu.is_none() && memory.is_none() {
        return None;
    }
    let mut limits = Map::new();
    if let Some(units) = cpu {
        limits.insert("CPU".into(), go_number(units / 1024.0));
    }
    if let Some(mib) = memory {
        limits.insert("Memory".into(), mib.into());
    }
    Some(Value::Object(limits))
}

/// Go writes a whole float64 without a fraction (`1`, not `1.0`).
fn go_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

fn ports(
    version: Version,
    task: &TaskView,
    def: &ContainerDefinition,
    info: Option<&ContainerInfo>,
) -> Vec<Value> {
    let awsvpc = task.record.definition.network_mode.as_deref() == Some("awsvpc");
    if awsvpc {
        // An ENI's ports are the container's own: HostPort is the container port.
        return def
            .port_mappings
            .iter()
            .flatten()
            .filter_map(|p| {
                let port = p.container_port?;
                Some(json!({"ContainerPort": port, "Protocol": p.protocol.clone().unwrap_or_else(|| "tcp".into()), "HostPort": port}))
            })
            .collect();
    }
    let Some(info) = info else { return vec![] };
    info.ports
        .iter()
        .map(|p| {
            let mut port = json!({"ContainerPort": p.container_port, "Protocol": p.protocol.as_str(), "HostPort": p.host_port});
            if version == Version::V4 {
                port["HostIp"] = p.host_ip.clone().into();
            }
            port
        })
        .collect()
}

fn networks(
    version: Version,
    task: &TaskView,
    engine: &EngineView,
    info: Option<&ContainerInfo>,
) -> Vec<Value> {
    if task.record.definition.network_mode.as_deref() == Some("awsvpc") {
        return awsvpc_network(version, task, engine).into_iter().collect();
    }
    let Some(info) = info else { return vec![] };
    if info.network_mode == "host" {
        return vec![json!({"NetworkMode": "host"})];
    }
    info.networks
        .iter()
        .map(|(name, endpoint)| {
            let mut n = json!({ "NetworkMode": name });
            if let Some(ip) = endpoint.ip_address.as_deref().filter(|ip| !ip.is_empty()) {
                n["IPv4Addresses"] = json!([ip]);
            }
            n
        })
        .collect()
}

/// The task's ENI: the address of the container that owns the task's
/// network namespace (the holder, or the only container of a one-container
/// task); the DNS name as DescribeTasks reports the attachment.
fn awsvpc_network(version: Version, task: &TaskView, engine: &EngineView) -> Option<Value> {
    let on_network = |info: &ContainerInfo| {
        info.networks
            .values()
            .find(|e| e.ip_address.as_deref().is_some_and(|ip| !ip.is_empty()))
            .cloned()
    };
    let endpoint: Option<NetworkEndpoint> = match &engine.holder {
        Some(holder) => on_network(holder),
        None => engine.containers.values().find_map(on_network),
    };
    let endpoint = endpoint.as_ref();
    let detail = |name: &str| attachment_detail(task, name);
    let ip = endpoint
        .and_then(|e| e.ip_address.clone())
        .or_else(|| detail("privateIPv4Address"))
        .filter(|ip| !ip.is_empty())?;
    let mut n = json!({"NetworkMode": "awsvpc", "IPv4Addresses": [ip]});
    if version == Version::V3 {
        return Some(n);
    }
    n["AttachmentIndex"] = 0.into();
    if let Some(mac) = endpoint
        .and_then(|e| e.mac_address.clone())
        .or_else(|| detail("macAddress"))
    {
        n["MACAddress"] = mac.into();
    }
    let prefix = endpoint.and_then(|e| e.ip_prefix_len);
    if let (Some(prefix), Ok(addr)) = (prefix, ip.parse::<Ipv4Addr>()) {
        n["IPv4SubnetCIDRBlock"] = format!("{}/{prefix}", network_address(addr, prefix)).into();
        if let Some(gateway) = endpoint
            .and_then(|e| e.gateway.clone())
            .filter(|g| !g.is_empty())
        {
            n["SubnetGatewayIpv4Address"] = format!("{gateway}/{prefix}").into();
        }
    }
    // EC2's name for a private address in us-east-1, as the attachment has it.
    let dns = detail("privateDnsName")
        .unwrap_or_else(|| format!("ip-{}.ec2.internal", ip.replace('.', "-")));
    n["PrivateDNSName"] = dns.into();
    Some(n)
}

fn attachment_detail(task: &TaskView, name: &str) -> Option<String> {
    task.record
        .task
        .attachments
        .iter()
        .flatten()
        .flat_map(|a| a.details.iter().flatten())
        .find(|d: &&KeyValuePair| d.name.as_deref() == Some(name))
        .and_then(|d| d.value.clone())
}

fn network_address(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    Ipv4Addr::from(u32::from(ip) & mask)
}

fn health(info: &ContainerInfo) -> Value {
    let status = match info.health {
        HealthStatus::Healthy => "HEALTHY",
        HealthStatus::Unhealthy => "UNHEALTHY",
        _ => "UNKNOWN",
    };
    let mut h = json!({ "status": status });
    if let Some(output) = info.health_output.as_deref().filter(|o| !o.is_empty()) {
        h["output"] = output.into();
    }
    h
}

/// Fargate's ephemeral storage, in MiB. ecsbox does not measure the
/// containers' writable layers, so `Utilized` is 0.
fn ephemeral_storage(r: &TaskRecord) -> Value {
    let gib = r
        .task
        .ephemeral_storage
        .as_ref()
        .or(r.definition.ephemeral_storage.as_ref())
        .and_then(|e| e.size_in_gi_b)
        .map(i64::from)
        .unwrap_or(DEFAULT_EPHEMERAL_GIB);
    json!({"Utilized": 0, "Reserved": gib * 1024})
}

fn tag_map(tags: &[Tag]) -> Value {
    Value::Object(
        tags.iter()
            .filter_map(|t| {
                Some((
                    t.key.clone()?,
                    Value::from(t.value.clone().unwrap_or_default()),
                ))
            })
            .collect(),
    )
}

fn put_non_empty(o: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    };
    if !empty {
        o.insert(key.into(), value);
    }
}

fn from_epoch(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_go_writes_them() {
        assert_eq!(go_number(0.25).to_string(), "0.25");
        assert_eq!(go_number(1.0).to_string(), "1");
        assert_eq!(
            task_limits(Some("256"), Some("512")),
            Some(json!({"CPU": 0.25, "Memory": 512}))
        );
        assert_eq!(task_limits(Some("2048"), None), Some(json!({"CPU": 2})));
        assert_eq!(task_limits(None, None), None);
    }

    #[test]
    fn container_cpu_has_the_agents_floor_on_ec2_only() {
        let def = ContainerDefinition {
            cpu: Some(0),
            memory: Some(128),
            ..Default::default()
        };
        assert_eq!(
            container_limits(&def, false),
            json!({"CPU": 2, "Memory": 128})
        );
        assert_eq!(
            container_limits(&def, true),
            json!({"CPU": 0, "Memory": 128})
        );
        let unset = ContainerDefinition::default();
        assert_eq!(container_limits(&unset, true), json!({"CPU": 0}));
        let def = ContainerDefinition {
            cpu: Some(10),
            ..Default::default()
        };
        assert_eq!(container_limits(&def, false), json!({"CPU": 10}));
        assert_eq!(container_limits(&def, true), json!({"CPU": 10}));
    }

    #[test]
    fn subnet_of_an_address() {
        assert_eq!(
            network_address("10.0.2.106".parse().unwrap(), 24).to_string(),
            "10.0.2.0"
        );
        assert_eq!(
            network_address("172.18.3.4".parse().unwrap(), 16).to_string(),
            "172.18.0.0"
        );
    }

    #[test]
    fn known_status_prefers_the_engine() {
        let mut info = ContainerInfo {
            status: ContainerStatus::Running,
            ..Default::default()
        };
        assert_eq!(known_status(Some(&info), Some("PENDING")), "RUNNING");
        info.status = ContainerStatus::Exited;
        assert_eq!(known_status(Some(&info), None), "STOPPED");
        info.status = ContainerStatus::Created;
        assert_eq!(known_status(Some(&info), None), "CREATED");
        assert_eq!(known_status(None, Some("PENDING")), "PULLED");
        assert_eq!(known_status(None, Some("STOPPED")), "STOPPED");
    }
}
