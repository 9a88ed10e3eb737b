//! From an ECS container definition to the Docker container that runs it,
//! the way the ECS agent builds it (`agent/engine/docker_task_engine.go`
//! `createContainer`, `agent/api/task/task.go` `DockerConfig` and
//! `DockerHostConfig`): the agent's container name and labels, cpu shares
//! with the agent's minimum of 2, memory limits, health check, linux
//! parameters, log driver, mount points and volumesFrom.
//!
//! Pure functions: the caller decides the image, the network mode and any
//! extra environment, and does the Docker work. `start_order` gives the
//! order the containers of a task start in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use crate::model::shapes::{
    ContainerDefinition, HealthCheck as EcsHealthCheck, LinuxParameters, LogConfiguration,
    PortMapping, TaskDefinition,
};
use crate::runtime::{
    ContainerSpec, ExtraHost, HealthCheck, LogConfig, Mount, NetworkMode, PortBinding, Protocol,
    Tmpfs, Ulimit, VolumesFrom, OWNER_LABEL,
};
use crate::state::arn;

use super::naming::{
    name_suffix, LABEL_CLUSTER, LABEL_CONTAINER_NAME, LABEL_FAMILY, LABEL_REVISION, LABEL_TASK_ARN,
};
use super::volumes;

/// The agent's `ECS_CONTAINER_STOP_TIMEOUT` default: SIGKILL follows the
/// stop signal after this long unless the container says `stopTimeout`.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Docker silently turns 0 cpu shares into 1024; the agent asks for 2
/// instead (1 is invalid for the Linux kernel), see `dockerCPUShares`.
const MIN_CPU_SHARES: i64 = 2;

/// How many ports one `containerPortRange` may expand to here: each port is
/// its own Docker binding, and Docker starts one proxy per published port.
const MAX_PORT_RANGE: u32 = 100;

/// ECS's health check defaults (the ECS API reference, `HealthCheck`).
const HEALTH_INTERVAL: Duration = Duration::from_secs(30);
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
const HEALTH_RETRIES: u32 = 3;

const MIB: i64 = 1024 * 1024;

/// What the caller knows about the task that the task definition does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecContext {
    pub task_arn: String,
    /// The task's id (the last part of its ARN).
    pub task_id: String,
    pub cluster_arn: String,
    /// The ecsbox instance that owns the container (`runtime::OWNER_LABEL`).
    pub owner_id: String,
    /// The local image reference to create the container from (after ECR
    /// mapping), not the task definition's `image`.
    pub image: String,
    /// awsvpc: `Container(holder id)`; bridge: `Bridge`; host and none as is.
    pub network_mode: NetworkMode,
    /// Environment the caller adds (e.g. the metadata endpoint URIs); it
    /// wins over the container's own, as the agent's variables do.
    pub extra_env: Vec<(String, String)>,
    pub fargate: bool,
    /// CPUs of the engine's host, when known: Docker refuses a NanoCpus
    /// limit above the host's CPU count, so the task cpu cap is clamped.
    pub host_cpus: Option<i64>,
    /// The DNS servers a bridge container gets when its definition sets no
    /// `dnsServers`: ecsbox's resolver, or none for Docker's default.
    pub dns_servers: Vec<String>,
    /// Service Connect's endpoints (`dnsName` -> address), for the
    /// /etc/hosts of a task of a Service Connect service; a container in
    /// its namespace holder's network gets them from the holder.
    pub service_connect_hosts: Vec<ExtraHost>,
}

/// The Docker container for `container` of task definition `td`.
pub fn container_spec(
    ctx: &SpecContext,
    td: &TaskDefinition,
    container: &ContainerDefinition,
) -> Result<ContainerSpec, String> {
    let name = container
        .name
        .as_deref()
        .ok_or("a container definition has no name")?;
    // AWS refuses `privileged` on Fargate when the task definition is
    // registered or run; a task that got here anyway must not get a
    // privileged container on the developer's machine.
    if ctx.fargate && container.privileged == Some(true) {
        return Err(format!(
            "container '{name}': privileged containers are not supported on Fargate"
        ));
    }
    let (memory_bytes, memory_reservation_bytes) = memory(td, container)?;
    let mut spec = ContainerSpec {
        name: Some(docker_name(td, name, &ctx.task_id)),
        image: ctx.image.clone(),
        labels: labels(ctx, td, container),
        env: environment(container, &ctx.extra_env),
        entrypoint: non_empty(&container.entry_point),
        command: non_empty(&container.command),
        working_dir: container.working_directory.clone(),
        user: container.user.clone(),
        network_mode: ctx.network_mode.clone(),
        port_bindings: port_bindings(td, &ctx.network_mode, container)?,
        cpu_shares: Some(cpu_shares(container)),
        nano_cpus: nano_cpus(td, ctx.host_cpus)?,
        memory_bytes,
        memory_reservation_bytes,
        ulimits: ulimits(container)?,
        privileged: container.privileged.unwrap_or(false),
        readonly_rootfs: container.readonly_root_filesystem.unwrap_or(false),
        stop_timeout: Some(stop_timeout(container)),
        health_check: container
            .health_check
            .as_ref()
            .map(health_check)
            .transpose()?,
        mounts: mounts(td, &ctx.task_id, container)?,
        volumes_from: volumes_from(td, &ctx.task_id, container)?,
        log_config: container.log_configuration.as_ref().and_then(log_config),
        tty: container.pseudo_terminal.unwrap_or(false),
        sysctls: sysctls(container),
        ..Default::default()
    };
    name_resolution(&mut spec, ctx, td, container);
    if let Some(linux) = &container.linux_parameters {
        apply_linux_parameters(&mut spec, linux)?;
    }
    Ok(spec)
}

// ---- name and labels -------------------------------------------------------

/// `ecs-FAMILY-REVISION-NAME-HEX`, as the agent names containers. The agent
/// keeps only `[A-Za-z0-9-]` of the container name and ends with 20 random
/// hex digits; here the digits are derived from the task id and container
/// name, so a name is stable when creation is retried and distinct for each
/// container. The whole name is kept to Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn docker_name(td: &TaskDefinition, container: &str, task_id: &str) -> String {
    let family = td.family.as_deref().unwrap_or("");
    let revision = td.revision.unwrap_or(0);
    let short: String = container
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let raw = format!(
        "ecs-{family}-{revision}-{short}-{}",
        name_suffix(task_id, container)
    );
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect()
}

/// The container's `dockerLabels`, then the agent's labels and the owner
/// label. The agent adds its labels last "such that it will always override
/// duplicates" in the user's labels; so does ecsbox, owner label included.
/// The cluster label holds the cluster as the agent knows it: its name
/// (the agent's `ECS_CLUSTER` setting), not its ARN.
fn labels(
    ctx: &SpecContext,
    td: &TaskDefinition,
    container: &ContainerDefinition,
) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = container
        .docker_labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let cluster = arn::cluster_name(Some(ctx.cluster_arn.as_str())).unwrap_or(&ctx.cluster_arn);
    let ours = [
        (LABEL_CLUSTER, cluster.to_string()),
        (LABEL_TASK_ARN, ctx.task_arn.clone()),
        (
            LABEL_CONTAINER_NAME,
            container.name.clone().unwrap_or_default(),
        ),
        (LABEL_FAMILY, td.family.clone().unwrap_or_default()),
        (LABEL_REVISION, td.revision.unwrap_or(0).to_string()),
        (OWNER_LABEL, ctx.owner_id.clone()),
    ];
    labels.extend(ours.into_iter().map(|(k, v)| (k.to_string(), v)));
    labels
}

// ---- process -------------------------------------------------------------

/// `environment` in order, a later entry for a name replacing the earlier
/// value in place; then the caller's extras the same way. Entries without
/// a name are dropped. (`environmentFiles` and `secrets` are resolved by
/// the caller and come in as extras.)
fn environment(
    container: &ContainerDefinition,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let own = container.environment.iter().flatten().filter_map(|kv| {
        let name = kv.name.clone()?;
        Some((name, kv.value.clone().unwrap_or_default()))
    });
    let mut env: Vec<(String, String)> = Vec::new();
    for (name, value) in own.chain(extra.iter().cloned()) {
        match env.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => env.push((name, value)),
        }
    }
    env
}

/// An empty `entryPoint` or `command` means the image's own.
fn non_empty(list: &Option<Vec<String>>) -> Option<Vec<String>> {
    list.clone().filter(|l| !l.is_empty())
}

fn stop_timeout(container: &ContainerDefinition) -> Duration {
    match container.stop_timeout {
        Some(seconds) => Duration::from_secs(seconds.max(0) as u64),
        None => DEFAULT_STOP_TIMEOUT,
    }
}

// ---- network ---------------------------------------------------------------

/// The host ports to publish. bridge (and a user-defined network): the
/// given `hostPort`, or 0 for a dynamic port. host: the container already
/// listens on the host, nothing to publish. awsvpc: nothing either, ever:
/// the task is reached on its own IP, and two copies of one task must not
/// collide on a host port. none: no network.
fn port_bindings(
    td: &TaskDefinition,
    mode: &NetworkMode,
    container: &ContainerDefinition,
) -> Result<Vec<PortBinding>, String> {
    let publishes = matches!(mode, NetworkMode::Bridge | NetworkMode::Network { .. })
        && matches!(td.network_mode.as_deref(), None | Some("bridge"));
    if !publishes {
        return Ok(Vec::new());
    }
    let mut bindings = Vec::new();
    for mapping in container.port_mappings.iter().flatten() {
        bindings.extend(mapping_bindings(mapping)?);
    }
    Ok(bindings)
}

fn mapping_bindings(mapping: &PortMapping) -> Result<Vec<PortBinding>, String> {
    let protocol = match mapping.protocol.as_deref() {
        None => Protocol::Tcp,
        Some(p) => Protocol::parse(p)
            .ok_or_else(|| format!("port mapping protocol '{p}' is neither tcp nor udp"))?,
    };
    if let Some(range) = &mapping.container_port_range {
        // ECS assigns the host ports of a range itself: all dynamic.
        let ports = port_range(range)?;
        return Ok(ports
            .map(|p| PortBinding {
                container_port: p,
                protocol,
                host_port: 0,
                host_ip: None,
            })
            .collect());
    }
    let container_port = port(
        mapping
            .container_port
            .ok_or("a port mapping has no containerPort")?,
    )?;
    let host_port = port(mapping.host_port.unwrap_or(0))?;
    Ok(vec![PortBinding {
        container_port,
        protocol,
        host_port,
        host_ip: None,
    }])
}

fn port(n: i32) -> Result<u16, String> {
    u16::try_from(n).map_err(|_| format!("port {n} is not between 0 and 65535"))
}

/// `"8000-8010"` as the ports it covers.
fn port_range(range: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let bad =
        || format!("containerPortRange '{range}' is not of the form FIRST-LAST (e.g. 8000-8010)");
    let (first, last) = range.split_once('-').ok_or_else(bad)?;
    let first: u16 = first.trim().parse().map_err(|_| bad())?;
    let last: u16 = last.trim().parse().map_err(|_| bad())?;
    if first == 0 || last <= first {
        return Err(bad());
    }
    let count = u32::from(last - first) + 1;
    if count > MAX_PORT_RANGE {
        return Err(format!(
            "containerPortRange '{range}' covers {count} ports; ecsbox publishes at most {MAX_PORT_RANGE} ports per range"
        ));
    }
    Ok(first..=last)
}

/// hostname, dnsServers, dnsSearchDomains and extraHosts. Docker refuses
/// each of hostname, dns and extra hosts on a container that joins another
/// one's network namespace ("conflicting options: ... and the network
/// mode"), and AWS does not accept them in awsvpc mode at all; so an awsvpc
/// container (or any `container:` mode) gets none of them. It gets
/// ecsbox's resolver: from its namespace holder, or, the one container of
/// an awsvpc task that joins the network itself, here. A host mode
/// container shares the host's resolver unless its definition names
/// servers.
fn name_resolution(
    spec: &mut ContainerSpec,
    ctx: &SpecContext,
    td: &TaskDefinition,
    container: &ContainerDefinition,
) {
    if matches!(spec.network_mode, NetworkMode::Container(_)) {
        return;
    }
    if td.network_mode.as_deref() == Some("awsvpc") {
        spec.dns_servers = ctx.dns_servers.clone();
        spec.extra_hosts = ctx.service_connect_hosts.clone();
        return;
    }
    let ours = match spec.network_mode {
        NetworkMode::Host => vec![],
        _ => ctx.dns_servers.clone(),
    };
    spec.hostname = container.hostname.clone();
    spec.dns_servers = container.dns_servers.clone().unwrap_or(ours);
    spec.dns_search_domains = container.dns_search_domains.clone().unwrap_or_default();
    spec.extra_hosts = container
        .extra_hosts
        .iter()
        .flatten()
        .filter_map(|h| {
            Some(ExtraHost {
                hostname: h.hostname.clone()?,
                ip: h.ip_address.clone()?,
            })
        })
        .chain(ctx.service_connect_hosts.iter().cloned())
        .collect();
}

// ---- cpu and memory --------------------------------------------------------

/// The container's `cpu` units as Docker cpu shares, at least 2 (the agent's
/// `dockerCPUShares`: 0 and 1 become 2).
fn cpu_shares(container: &ContainerDefinition) -> i64 {
    i64::from(container.cpu.unwrap_or(0)).max(MIN_CPU_SHARES)
}

/// Task-level cpu as a hard cap on each container: task cpu / 1024 CPUs.
/// An approximation: AWS enforces the task cpu over the task's cgroup, all
/// containers together; Docker has no per-task cgroup here, so each
/// container may use up to the whole task's cpu on its own.
fn nano_cpus(td: &TaskDefinition, host_cpus: Option<i64>) -> Result<Option<i64>, String> {
    let Some(units) = task_number(td.cpu.as_deref(), "cpu")? else {
        return Ok(None);
    };
    let nanos = units * 1_000_000_000 / 1024;
    Ok(Some(match host_cpus {
        Some(n) if n > 0 => nanos.min(n * 1_000_000_000),
        _ => nanos,
    }))
}

/// (hard limit, reservation) in bytes. The hard limit is the container's
/// `memory`, or else the task's `memory` (so a task cannot take the whole
/// machine; AWS holds the task to it through the task cgroup).
fn memory(
    td: &TaskDefinition,
    container: &ContainerDefinition,
) -> Result<(Option<i64>, Option<i64>), String> {
    let task_memory = task_number(td.memory.as_deref(), "memory")?;
    let hard = container
        .memory
        .map(i64::from)
        .or(task_memory)
        .map(|mib| mib * MIB);
    let reservation = container.memory_reservation.map(|mib| i64::from(mib) * MIB);
    Ok((hard, reservation))
}

/// Task cpu/memory as stored: a whole number (RegisterTaskDefinition
/// normalizes "1 vCPU" and "2 GB").
fn task_number(value: Option<&str>, what: &str) -> Result<Option<i64>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| format!("task {what} '{text}' is not a positive whole number")),
    }
}

// ---- limits, health, logs, mounts -------------------------------------------

fn ulimits(container: &ContainerDefinition) -> Result<Vec<Ulimit>, String> {
    container
        .ulimits
        .iter()
        .flatten()
        .map(|u| {
            let name = u.name.clone().ok_or("a ulimit has no name")?;
            match (u.soft_limit, u.hard_limit) {
                (Some(soft), Some(hard)) => Ok(Ulimit {
                    name,
                    soft: soft.into(),
                    hard: hard.into(),
                }),
                _ => Err(format!(
                    "ulimit '{name}' needs both softLimit and hardLimit"
                )),
            }
        })
        .collect()
}

/// The command as Docker takes it (`CMD-SHELL`/`CMD`/`NONE` first), with
/// ECS's defaults: interval 30s, timeout 5s, 3 retries, no start period.
fn health_check(hc: &EcsHealthCheck) -> Result<HealthCheck, String> {
    let test = hc
        .command
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or("a healthCheck has no command")?;
    let seconds = |v: Option<i32>, default: Duration| {
        v.map_or(default, |s| Duration::from_secs(s.max(0) as u64))
    };
    Ok(HealthCheck {
        test,
        interval: Some(seconds(hc.interval, HEALTH_INTERVAL)),
        timeout: Some(seconds(hc.timeout, HEALTH_TIMEOUT)),
        retries: Some(hc.retries.map_or(HEALTH_RETRIES, |r| r.max(0) as u32)),
        start_period: Some(seconds(hc.start_period, Duration::ZERO)),
    })
}

/// `awslogs` is served by ecsbox itself from the container's output, which
/// needs Docker's default `json-file` driver (its options are for ecsbox,
/// not Docker). Other drivers go to Docker as they are.
fn log_config(lc: &LogConfiguration) -> Option<LogConfig> {
    let driver = lc.log_driver.clone()?;
    if driver == "awslogs" {
        return Some(LogConfig {
            driver: "json-file".into(),
            options: BTreeMap::new(),
        });
    }
    Some(LogConfig {
        driver,
        options: lc.options.clone().unwrap_or_default(),
    })
}

/// `mountPoints`: each names a volume of the task definition, which
/// `volumes::mount_source` turns into the host path or Docker volume that
/// `volumes::prepare_task_volumes` makes ready for the task.
fn mounts(
    td: &TaskDefinition,
    task_id: &str,
    container: &ContainerDefinition,
) -> Result<Vec<Mount>, String> {
    let declared = td.volumes.as_deref().unwrap_or_default();
    let mut mounts = Vec::new();
    for mp in container.mount_points.iter().flatten() {
        let source = mp
            .source_volume
            .as_deref()
            .ok_or("a mount point has no sourceVolume")?;
        let volume = declared
            .iter()
            .find(|v| v.name.as_deref() == Some(source))
            .ok_or_else(|| format!("mount point names volume '{source}', which the task definition does not declare"))?;
        let container_path = mp
            .container_path
            .clone()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("mount point of volume '{source}' has no containerPath"))?;
        mounts.push(Mount {
            source: volumes::mount_source(td, task_id, volume)?,
            container_path,
            read_only: mp.read_only.unwrap_or(false),
        });
    }
    Ok(mounts)
}

/// `volumesFrom` as Docker's VolumesFrom on the source container's Docker
/// name, as the agent does: the container gets every mount of the source
/// (read-only ones stay read-only; `readOnly` makes them all read-only).
/// The source must be created first: `start_order` puts it in an earlier
/// wave.
fn volumes_from(
    td: &TaskDefinition,
    task_id: &str,
    container: &ContainerDefinition,
) -> Result<Vec<VolumesFrom>, String> {
    let names: HashSet<&str> = td
        .container_definitions
        .iter()
        .flatten()
        .filter_map(|c| c.name.as_deref())
        .collect();
    container
        .volumes_from
        .iter()
        .flatten()
        .map(|from| {
            let source = from
                .source_container
                .as_deref()
                .ok_or("a volumesFrom entry has no sourceContainer")?;
            if !names.contains(source) {
                return Err(format!(
                    "volumesFrom names container '{source}', which is not a container of the task"
                ));
            }
            Ok(VolumesFrom {
                container: docker_name(td, source, task_id),
                read_only: from.read_only.unwrap_or(false),
            })
        })
        .collect()
}

fn sysctls(container: &ContainerDefinition) -> HashMap<String, String> {
    container
        .system_controls
        .iter()
        .flatten()
        .filter_map(|s| Some((s.namespace.clone()?, s.value.clone().unwrap_or_default())))
        .collect()
}

/// initProcessEnabled, capabilities, sharedMemorySize (MiB) and tmpfs.
/// devices, maxSwap and swappiness have no `ContainerSpec` field yet.
fn apply_linux_parameters(spec: &mut ContainerSpec, linux: &LinuxParameters) -> Result<(), String> {
    spec.init = linux.init_process_enabled.unwrap_or(false);
    if let Some(caps) = &linux.capabilities {
        spec.cap_add = caps.add.clone().unwrap_or_default();
        spec.cap_drop = caps.drop.clone().unwrap_or_default();
    }
    spec.shm_size_bytes = linux.shared_memory_size.map(|mib| i64::from(mib) * MIB);
    for t in linux.tmpfs.iter().flatten() {
        let container_path = t
            .container_path
            .clone()
            .ok_or("a tmpfs mount has no containerPath")?;
        let size = t
            .size
            .ok_or_else(|| format!("tmpfs mount '{container_path}' has no size"))?;
        let mut options = vec![format!("size={size}m")];
        options.extend(t.mount_options.iter().flatten().cloned());
        spec.tmpfs.push(Tmpfs {
            container_path,
            options,
        });
    }
    Ok(())
}

// ---- start order -------------------------------------------------------------

/// The containers of `td` in waves: each wave's containers start together,
/// once every container of the earlier waves has met its condition. A
/// container waits for those it names in `dependsOn`, `links` and
/// `volumesFrom` (the agent's dependency graph orders all three). Within a
/// wave the task definition's order is kept. A cycle is an error.
pub fn start_order(td: &TaskDefinition) -> Result<Vec<Vec<String>>, String> {
    let containers = td.container_definitions.as_deref().unwrap_or_default();
    let names: Vec<&str> = containers
        .iter()
        .map(|c| c.name.as_deref().unwrap_or(""))
        .collect();
    let known: HashSet<&str> = names.iter().copied().collect();
    let mut needs: Vec<Vec<&str>> = Vec::with_capacity(containers.len());
    for (c, name) in containers.iter().zip(&names) {
        let prereqs = prerequisites(c);
        if let Some(unknown) = prereqs.iter().find(|p| !known.contains(**p)) {
            return Err(format!(
                "container '{name}' depends on '{unknown}', which is not a container of the task"
            ));
        }
        needs.push(prereqs);
    }
    let mut started: HashSet<&str> = HashSet::new();
    let mut waves = Vec::new();
    while started.len() < names.len() {
        let wave: Vec<&str> = names
            .iter()
            .zip(&needs)
            .filter(|(n, deps)| !started.contains(**n) && deps.iter().all(|d| started.contains(d)))
            .map(|(n, _)| *n)
            .collect();
        if wave.is_empty() {
            let stuck: Vec<&str> = names
                .iter()
                .copied()
                .filter(|n| !started.contains(n))
                .collect();
            return Err(format!(
                "the containers {} depend on each other in a cycle",
                stuck.join(", ")
            ));
        }
        started.extend(&wave);
        waves.push(wave.into_iter().map(String::from).collect());
    }
    Ok(waves)
}

/// The containers `c` must wait for.
fn prerequisites(c: &ContainerDefinition) -> Vec<&str> {
    let depends = c
        .depends_on
        .iter()
        .flatten()
        .filter_map(|d| d.container_name.as_deref());
    let links = c
        .links
        .iter()
        .flatten()
        .map(|l| l.split(':').next().unwrap_or(l.as_str()));
    let volumes = c
        .volumes_from
        .iter()
        .flatten()
        .filter_map(|v| v.source_container.as_deref());
    depends.chain(links).chain(volumes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::{
        ContainerDependency, DockerVolumeConfiguration, EFSVolumeConfiguration, HostEntry,
        HostVolumeProperties, KernelCapabilities, KeyValuePair, MountPoint, SystemControl,
        Tmpfs as EcsTmpfs, Ulimit as EcsUlimit, Volume, VolumeFrom,
    };
    use crate::runtime::MountSource;

    const TASK_ARN: &str =
        "arn:aws:ecs:us-east-1:000000000000:task/web/0123456789abcdef0123456789abcdef";

    fn ctx(mode: NetworkMode) -> SpecContext {
        SpecContext {
            task_arn: TASK_ARN.into(),
            task_id: "0123456789abcdef0123456789abcdef".into(),
            cluster_arn: "arn:aws:ecs:us-east-1:000000000000:cluster/web".into(),
            owner_id: "box-1".into(),
            image: "app:1".into(),
            network_mode: mode,
            ..Default::default()
        }
    }

    fn td(network_mode: &str, containers: Vec<ContainerDefinition>) -> TaskDefinition {
        TaskDefinition {
            family: Some("shop".into()),
            revision: Some(3),
            network_mode: Some(network_mode.into()),
            container_definitions: Some(containers),
            ..Default::default()
        }
    }

    fn container(name: &str) -> ContainerDefinition {
        ContainerDefinition {
            name: Some(name.into()),
            image: Some("app:1".into()),
            ..Default::default()
        }
    }

    fn spec_in(mode: &str, net: NetworkMode, c: ContainerDefinition) -> ContainerSpec {
        let t = td(mode, vec![c.clone()]);
        container_spec(&ctx(net), &t, &c).unwrap()
    }

    fn bridge(c: ContainerDefinition) -> ContainerSpec {
        spec_in("bridge", NetworkMode::Bridge, c)
    }

    fn mapping(container_port: i32, host_port: Option<i32>) -> PortMapping {
        PortMapping {
            container_port: Some(container_port),
            host_port,
            ..Default::default()
        }
    }

    #[test]
    fn name_follows_the_agent_and_keeps_to_docker_characters() {
        let spec = bridge(container("web_server.v2"));
        let name = spec.name.unwrap();
        // The agent keeps only [A-Za-z0-9-] of the container name.
        let suffix = name.strip_prefix("ecs-shop-3-webserverv2-").expect(&name);
        assert_eq!(suffix.len(), 20);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
        let mut odd = td("bridge", vec![]);
        odd.family = Some("my fam!".into());
        let name = docker_name(&odd, "app", "t1");
        assert!(name.starts_with("ecs-myfam-3-app-"), "{name}");
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
    }

    #[test]
    fn names_are_stable_per_task_and_distinct_per_container() {
        let t = td("bridge", vec![]);
        assert_eq!(docker_name(&t, "web", "t1"), docker_name(&t, "web", "t1"));
        assert_ne!(docker_name(&t, "web", "t1"), docker_name(&t, "web", "t2"));
        // "web_1" and "web1" shorten to the same text; the suffix tells them apart.
        assert_ne!(
            docker_name(&t, "web_1", "t1"),
            docker_name(&t, "web1", "t1")
        );
    }

    #[test]
    fn labels_are_the_agents_plus_owner_and_docker_labels() {
        let mut c = container("web");
        c.docker_labels = Some(BTreeMap::from([
            ("team".to_string(), "blue".to_string()),
            (LABEL_TASK_ARN.to_string(), "forged".to_string()),
        ]));
        let labels = bridge(c).labels;
        let expected: HashMap<String, String> = [
            ("team", "blue"),
            (LABEL_CLUSTER, "web"),
            (LABEL_TASK_ARN, TASK_ARN),
            (LABEL_CONTAINER_NAME, "web"),
            (LABEL_FAMILY, "shop"),
            (LABEL_REVISION, "3"),
            (OWNER_LABEL, "box-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(labels, expected);
    }

    #[test]
    fn image_and_process_settings_are_taken_over() {
        let mut c = container("web");
        c.image = Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1".into());
        c.entry_point = Some(vec!["/bin/sh".into(), "-c".into()]);
        c.command = Some(vec![]);
        c.working_directory = Some("/srv".into());
        c.user = Some("1000:1000".into());
        c.readonly_root_filesystem = Some(true);
        c.pseudo_terminal = Some(true);
        let spec = bridge(c);
        assert_eq!(
            spec.image, "app:1",
            "the resolved local reference, not the task definition's"
        );
        assert_eq!(
            spec.entrypoint,
            Some(vec!["/bin/sh".to_string(), "-c".to_string()])
        );
        assert_eq!(spec.command, None, "an empty command keeps the image's");
        assert_eq!(spec.working_dir.as_deref(), Some("/srv"));
        assert_eq!(spec.user.as_deref(), Some("1000:1000"));
        assert!(spec.readonly_rootfs && spec.tty && !spec.privileged);
    }

    #[test]
    fn later_environment_entries_win_and_extras_win_last() {
        let mut c = container("web");
        let kv = |n: &str, v: &str| KeyValuePair {
            name: Some(n.into()),
            value: Some(v.into()),
        };
        c.environment = Some(vec![kv("A", "1"), kv("B", "2"), kv("A", "3")]);
        let t = td("bridge", vec![c.clone()]);
        let mut context = ctx(NetworkMode::Bridge);
        context.extra_env = vec![("B".into(), "injected".into()), ("C".into(), "4".into())];
        let env = container_spec(&context, &t, &c).unwrap().env;
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, vec![("A", "3"), ("B", "injected"), ("C", "4")]);
    }

    #[test]
    fn bridge_publishes_static_and_dynamic_host_ports() {
        let mut c = container("web");
        let mut dns = mapping(53, None);
        dns.protocol = Some("udp".into());
        c.port_mappings = Some(vec![mapping(80, Some(8080)), mapping(443, Some(0)), dns]);
        let ports = bridge(c).port_bindings;
        let got: Vec<(u16, Protocol, u16)> = ports
            .iter()
            .map(|p| (p.container_port, p.protocol, p.host_port))
            .collect();
        assert_eq!(
            got,
            vec![
                (80, Protocol::Tcp, 8080),
                (443, Protocol::Tcp, 0),
                (53, Protocol::Udp, 0)
            ]
        );
    }

    #[test]
    fn awsvpc_publishes_nothing_and_drops_namespace_settings() {
        let mut c = container("web");
        // RegisterTaskDefinition fills hostPort = containerPort in awsvpc mode.
        c.port_mappings = Some(vec![mapping(80, Some(80))]);
        c.hostname = Some("web".into());
        c.dns_servers = Some(vec!["1.1.1.1".into()]);
        c.extra_hosts = Some(vec![HostEntry {
            hostname: Some("db".into()),
            ip_address: Some("10.0.0.9".into()),
        }]);
        let spec = spec_in("awsvpc", NetworkMode::Container("holder".into()), c);
        assert!(spec.port_bindings.is_empty());
        assert_eq!(spec.network_mode, NetworkMode::Container("holder".into()));
        // Docker refuses these with a `container:` network mode.
        assert_eq!(spec.hostname, None);
        assert!(spec.dns_servers.is_empty() && spec.extra_hosts.is_empty());
    }

    #[test]
    fn host_mode_publishes_nothing() {
        let mut c = container("web");
        c.port_mappings = Some(vec![mapping(80, Some(80))]);
        assert!(spec_in("host", NetworkMode::Host, c)
            .port_bindings
            .is_empty());
    }

    #[test]
    fn bridge_containers_get_ecsbox_resolver_unless_they_name_their_own() {
        let with_dns = |mode: NetworkMode, c: ContainerDefinition| {
            let t = td(
                match mode {
                    NetworkMode::Host => "host",
                    NetworkMode::Network { .. } | NetworkMode::Container(_) => "awsvpc",
                    _ => "bridge",
                },
                vec![c.clone()],
            );
            let mut context = ctx(mode);
            context.dns_servers = vec!["169.254.169.253".into()];
            container_spec(&context, &t, &c).unwrap().dns_servers
        };
        assert_eq!(
            with_dns(NetworkMode::Bridge, container("web")),
            vec!["169.254.169.253".to_string()]
        );
        let mut own = container("web");
        own.dns_servers = Some(vec!["10.0.0.2".into()]);
        assert_eq!(
            with_dns(NetworkMode::Bridge, own.clone()),
            vec!["10.0.0.2".to_string()]
        );
        // awsvpc: the one container on the network gets it; containers in
        // a holder's namespace have the holder's.
        let on_network = NetworkMode::Network {
            name: "ecsbox-awsvpc".into(),
            ipv4_address: None,
            aliases: vec![],
        };
        assert_eq!(
            with_dns(on_network, container("web")),
            vec!["169.254.169.253".to_string()]
        );
        assert!(with_dns(NetworkMode::Container("holder".into()), container("web")).is_empty());
        // Host mode: the host's resolver, or the definition's servers.
        assert!(with_dns(NetworkMode::Host, container("web")).is_empty());
        assert_eq!(
            with_dns(NetworkMode::Host, own),
            vec!["10.0.0.2".to_string()]
        );
    }

    #[test]
    fn name_resolution_settings_are_kept_in_bridge_mode() {
        let mut c = container("web");
        c.hostname = Some("web".into());
        c.dns_servers = Some(vec!["1.1.1.1".into()]);
        c.dns_search_domains = Some(vec!["corp".into()]);
        c.extra_hosts = Some(vec![HostEntry {
            hostname: Some("db".into()),
            ip_address: Some("10.0.0.9".into()),
        }]);
        let spec = bridge(c);
        assert_eq!(spec.hostname.as_deref(), Some("web"));
        assert_eq!(spec.dns_servers, vec!["1.1.1.1".to_string()]);
        assert_eq!(spec.dns_search_domains, vec!["corp".to_string()]);
        assert_eq!(
            spec.extra_hosts,
            vec![ExtraHost {
                hostname: "db".into(),
                ip: "10.0.0.9".into()
            }]
        );
    }

    #[test]
    fn port_ranges_expand_and_large_ones_are_refused() {
        let mut c = container("web");
        c.port_mappings = Some(vec![PortMapping {
            container_port_range: Some("9000-9002".into()),
            ..Default::default()
        }]);
        let ports: Vec<(u16, u16)> = bridge(c.clone())
            .port_bindings
            .iter()
            .map(|p| (p.container_port, p.host_port))
            .collect();
        assert_eq!(ports, vec![(9000, 0), (9001, 0), (9002, 0)]);
        c.port_mappings = Some(vec![PortMapping {
            container_port_range: Some("9000-9100".into()),
            ..Default::default()
        }]);
        let t = td("bridge", vec![c.clone()]);
        let err = container_spec(&ctx(NetworkMode::Bridge), &t, &c).unwrap_err();
        assert!(err.contains("101 ports"), "{err}");
    }

    #[test]
    fn cpu_shares_have_the_agents_minimum_of_two() {
        assert_eq!(bridge(container("web")).cpu_shares, Some(2));
        let mut one = container("web");
        one.cpu = Some(1);
        assert_eq!(bridge(one).cpu_shares, Some(2));
        let mut c = container("web");
        c.cpu = Some(256);
        let spec = bridge(c);
        assert_eq!(spec.cpu_shares, Some(256));
        assert_eq!(
            spec.nano_cpus, None,
            "container cpu alone is a share, not a cap"
        );
    }

    #[test]
    fn task_cpu_caps_each_container_within_the_host() {
        let c = container("web");
        let mut t = td("awsvpc", vec![c.clone()]);
        t.cpu = Some("512".into());
        let mut context = ctx(NetworkMode::Container("h".into()));
        assert_eq!(
            container_spec(&context, &t, &c).unwrap().nano_cpus,
            Some(500_000_000)
        );
        t.cpu = Some("4096".into());
        context.host_cpus = Some(2);
        // Docker refuses NanoCpus above the host's CPU count.
        assert_eq!(
            container_spec(&context, &t, &c).unwrap().nano_cpus,
            Some(2_000_000_000)
        );
    }

    #[test]
    fn memory_falls_back_to_the_task_memory() {
        let mut c = container("web");
        c.memory_reservation = Some(128);
        let mut t = td("awsvpc", vec![c.clone()]);
        t.memory = Some("512".into());
        let spec = container_spec(&ctx(NetworkMode::Container("h".into())), &t, &c).unwrap();
        assert_eq!(spec.memory_bytes, Some(512 * MIB));
        assert_eq!(spec.memory_reservation_bytes, Some(128 * MIB));
        c.memory = Some(256);
        let spec = container_spec(&ctx(NetworkMode::Container("h".into())), &t, &c).unwrap();
        assert_eq!(
            spec.memory_bytes,
            Some(256 * MIB),
            "the container's own limit comes first"
        );
    }

    #[test]
    fn no_memory_anywhere_means_no_hard_limit() {
        let mut c = container("web");
        c.memory_reservation = Some(64);
        let spec = bridge(c);
        assert_eq!(spec.memory_bytes, None);
        assert_eq!(spec.memory_reservation_bytes, Some(64 * MIB));
    }

    #[test]
    fn health_check_gets_the_ecs_defaults() {
        let mut c = container("web");
        c.health_check = Some(EcsHealthCheck {
            command: Some(vec![
                "CMD-SHELL".into(),
                "wget -q localhost || exit 1".into(),
            ]),
            ..Default::default()
        });
        let hc = bridge(c.clone()).health_check.unwrap();
        assert_eq!(
            hc.test,
            vec![
                "CMD-SHELL".to_string(),
                "wget -q localhost || exit 1".to_string()
            ]
        );
        assert_eq!(hc.interval, Some(Duration::from_secs(30)));
        assert_eq!(hc.timeout, Some(Duration::from_secs(5)));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(hc.start_period, Some(Duration::ZERO));
        c.health_check.as_mut().unwrap().interval = Some(7);
        c.health_check.as_mut().unwrap().retries = Some(1);
        let hc = bridge(c).health_check.unwrap();
        assert_eq!(
            (hc.interval, hc.retries),
            (Some(Duration::from_secs(7)), Some(1))
        );
    }

    #[test]
    fn stop_timeout_defaults_to_the_agents_30_seconds() {
        assert_eq!(
            bridge(container("web")).stop_timeout,
            Some(Duration::from_secs(30))
        );
        let mut c = container("web");
        c.stop_timeout = Some(5);
        assert_eq!(bridge(c).stop_timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn ulimits_and_sysctls_are_mapped() {
        let mut c = container("web");
        c.ulimits = Some(vec![EcsUlimit {
            name: Some("nofile".into()),
            soft_limit: Some(1024),
            hard_limit: Some(4096),
        }]);
        c.system_controls = Some(vec![SystemControl {
            namespace: Some("net.core.somaxconn".into()),
            value: Some("1024".into()),
        }]);
        let spec = bridge(c);
        assert_eq!(
            spec.ulimits,
            vec![Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 4096
            }]
        );
        assert_eq!(
            spec.sysctls.get("net.core.somaxconn").map(String::as_str),
            Some("1024")
        );
    }

    #[test]
    fn linux_parameters_are_mapped() {
        let mut c = container("web");
        c.linux_parameters = Some(LinuxParameters {
            init_process_enabled: Some(true),
            capabilities: Some(KernelCapabilities {
                add: Some(vec!["SYS_PTRACE".into()]),
                drop: Some(vec!["NET_RAW".into()]),
            }),
            shared_memory_size: Some(64),
            tmpfs: Some(vec![EcsTmpfs {
                container_path: Some("/run".into()),
                size: Some(32),
                mount_options: Some(vec!["noexec".into()]),
            }]),
            ..Default::default()
        });
        let spec = bridge(c);
        assert!(spec.init);
        assert_eq!(
            (spec.cap_add, spec.cap_drop),
            (vec!["SYS_PTRACE".to_string()], vec!["NET_RAW".to_string()])
        );
        assert_eq!(spec.shm_size_bytes, Some(64 * MIB));
        assert_eq!(
            spec.tmpfs,
            vec![Tmpfs {
                container_path: "/run".into(),
                options: vec!["size=32m".into(), "noexec".into()]
            }]
        );
    }

    #[test]
    fn awslogs_becomes_json_file_and_other_drivers_pass_through() {
        let mut c = container("web");
        c.log_configuration = Some(LogConfiguration {
            log_driver: Some("awslogs".into()),
            options: Some(BTreeMap::from([(
                "awslogs-group".to_string(),
                "/ecs/shop".to_string(),
            )])),
            ..Default::default()
        });
        assert_eq!(
            bridge(c.clone()).log_config,
            Some(LogConfig {
                driver: "json-file".into(),
                options: BTreeMap::new()
            })
        );
        let syslog = BTreeMap::from([("tag".to_string(), "web".to_string())]);
        c.log_configuration = Some(LogConfiguration {
            log_driver: Some("syslog".into()),
            options: Some(syslog.clone()),
            ..Default::default()
        });
        assert_eq!(
            bridge(c).log_config,
            Some(LogConfig {
                driver: "syslog".into(),
                options: syslog
            })
        );
    }

    fn mount(v: &str, p: &str, ro: bool) -> MountPoint {
        MountPoint {
            source_volume: Some(v.into()),
            container_path: Some(p.into()),
            read_only: Some(ro),
        }
    }

    fn volume(name: &str) -> Volume {
        Volume {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_volume_kind_becomes_a_mount() {
        let mut c = container("web");
        c.mount_points = Some(vec![
            mount("data", "/data", true),
            mount("scratch", "/scratch", false),
            mount("cache", "/cache", false),
            mount("shared", "/shared", false),
            mount("files", "/files", true),
        ]);
        let mut t = td("bridge", vec![c.clone()]);
        let docker = |scope: &str| DockerVolumeConfiguration {
            scope: Some(scope.into()),
            ..Default::default()
        };
        t.volumes = Some(vec![
            Volume {
                host: Some(HostVolumeProperties {
                    source_path: Some("/srv/data".into()),
                }),
                ..volume("data")
            },
            volume("scratch"),
            Volume {
                docker_volume_configuration: Some(docker("task")),
                ..volume("cache")
            },
            Volume {
                docker_volume_configuration: Some(docker("shared")),
                ..volume("shared")
            },
            Volume {
                efs_volume_configuration: Some(EFSVolumeConfiguration {
                    file_system_id: Some("fs-12345678".into()),
                    root_directory: Some("/app".into()),
                    ..Default::default()
                }),
                ..volume("files")
            },
        ]);
        let context = ctx(NetworkMode::Bridge);
        let spec = container_spec(&context, &t, &c).unwrap();
        let task_volume = |name: &str| MountSource::Volume {
            name: volumes::task_scoped_name(&t, &context.task_id, name),
            subpath: None,
        };
        let got: Vec<(MountSource, &str, bool)> = spec
            .mounts
            .iter()
            .map(|m| (m.source.clone(), m.container_path.as_str(), m.read_only))
            .collect();
        assert_eq!(
            got,
            vec![
                (MountSource::HostPath("/srv/data".into()), "/data", true),
                (task_volume("scratch"), "/scratch", false),
                (task_volume("cache"), "/cache", false),
                (
                    MountSource::Volume {
                        name: "shared".into(),
                        subpath: None
                    },
                    "/shared",
                    false
                ),
                (
                    MountSource::Volume {
                        name: "ecsbox-efs-fs-12345678".into(),
                        subpath: Some("app".into())
                    },
                    "/files",
                    true
                ),
            ]
        );
        // Each task gets its own task-scoped volumes.
        let mut other = context.clone();
        other.task_id = "fedcba9876543210fedcba9876543210".into();
        let theirs = container_spec(&other, &t, &c).unwrap();
        assert_ne!(theirs.mounts[1], spec.mounts[1]);
        assert_eq!(theirs.mounts[3], spec.mounts[3], "one shared volume");
        assert_eq!(
            theirs.mounts[4], spec.mounts[4],
            "one volume per file system"
        );
    }

    #[test]
    fn a_mount_of_an_undeclared_volume_is_an_error() {
        let mut c = container("web");
        c.mount_points = Some(vec![mount("ghost", "/ghost", false)]);
        let t = td("bridge", vec![c.clone()]);
        let err = container_spec(&ctx(NetworkMode::Bridge), &t, &c).unwrap_err();
        assert!(err.contains("'ghost'"), "{err}");
    }

    #[test]
    fn volumes_from_names_the_source_containers_docker_name() {
        let data = container("data");
        let mut app = container("app");
        app.volumes_from = Some(vec![VolumeFrom {
            source_container: Some("data".into()),
            read_only: Some(true),
        }]);
        let t = td("bridge", vec![data, app.clone()]);
        let context = ctx(NetworkMode::Bridge);
        let spec = container_spec(&context, &t, &app).unwrap();
        assert_eq!(
            spec.volumes_from,
            vec![VolumesFrom {
                container: docker_name(&t, "data", &context.task_id),
                read_only: true
            }]
        );
        app.volumes_from = Some(vec![VolumeFrom {
            source_container: Some("ghost".into()),
            read_only: None,
        }]);
        let err = container_spec(&context, &t, &app).unwrap_err();
        assert!(err.contains("'ghost'"), "{err}");
    }

    #[test]
    fn privileged_is_mapped_but_never_on_fargate() {
        let mut c = container("web");
        c.privileged = Some(true);
        assert!(bridge(c.clone()).privileged);
        let t = td("awsvpc", vec![c.clone()]);
        let mut context = ctx(NetworkMode::Container("h".into()));
        context.fargate = true;
        assert!(container_spec(&context, &t, &c).is_err());
    }

    fn depends(c: &mut ContainerDefinition, on: &str, condition: &str) {
        let dep = ContainerDependency {
            container_name: Some(on.into()),
            condition: Some(condition.into()),
        };
        c.depends_on.get_or_insert_with(Vec::new).push(dep);
    }

    #[test]
    fn depends_on_orders_containers_in_waves() {
        let mut app = container("app");
        depends(&mut app, "db", "HEALTHY");
        depends(&mut app, "migrate", "SUCCESS");
        let mut migrate = container("migrate");
        depends(&mut migrate, "db", "HEALTHY");
        let mut sidecar = container("sidecar");
        sidecar.links = Some(vec!["app:web".into()]);
        let t = td(
            "bridge",
            vec![sidecar, app, migrate, container("db"), container("log")],
        );
        let waves = start_order(&t).unwrap();
        assert_eq!(
            waves,
            vec![
                vec!["db", "log"],
                vec!["migrate"],
                vec!["app"],
                vec!["sidecar"]
            ]
        );
    }

    #[test]
    fn depends_on_cycle_is_an_error() {
        let mut a = container("a");
        depends(&mut a, "b", "START");
        let mut b = container("b");
        depends(&mut b, "a", "START");
        let err = start_order(&td("bridge", vec![a, b, container("c")])).unwrap_err();
        assert!(err.contains("a, b") && err.contains("cycle"), "{err}");
        let mut selfish = container("s");
        depends(&mut selfish, "s", "START");
        assert!(start_order(&td("bridge", vec![selfish])).is_err());
    }

    #[test]
    fn depends_on_an_unknown_container_is_an_error() {
        let mut a = container("a");
        depends(&mut a, "ghost", "START");
        let err = start_order(&td("bridge", vec![a])).unwrap_err();
        assert!(err.contains("ghost"), "{err}");
    }
}
