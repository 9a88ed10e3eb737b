//! What RegisterTaskDefinition accepts, checked the way ECS checks it:
//! names, container resources against the task's, port mappings against the
//! network mode, references between containers and volumes, and what each
//! required launch type (Fargate, EXTERNAL) demands. Everything is checked
//! before the state changes, so a refused request leaves nothing behind.
//!
//! Problems with a task definition are `ClientException`s in ECS. Every
//! text is read from the catalogue, `domain::messages`: AWS's confirmed
//! wording from `messages::aws`, verbatim, with its source; the rest from
//! `messages::ecsbox`, ecsbox's wording, AWS's not confirmed, written with
//! the detail a person needs to fix the definition.

use crate::domain::messages::{aws, ecsbox};
use crate::domain::task_definitions::{parse_task_cpu, parse_task_memory};
use crate::model::shapes::{
    ContainerDefinition, PortMapping, RegisterTaskDefinitionRequest, Volume,
};
use crate::protocol::ApiError;
use std::collections::HashSet;

/// The most containers a task definition may have (an ECS service quota).
const MAX_CONTAINERS: usize = 10;

/// Task-level cpu and memory as numbers (CPU units, MiB) once "1 vCPU" and
/// "2 GB" forms are normalized.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskSize {
    pub cpu: Option<i32>,
    pub memory: Option<i32>,
}

/// Checks a whole registration; the answer is the normalized task size.
pub fn check(input: &RegisterTaskDefinitionRequest) -> Result<TaskSize, ApiError> {
    family(input.family.as_deref().unwrap_or(""))?;
    let containers = input.container_definitions.as_deref().unwrap_or_default();
    container_count(containers)?;
    let size = task_size(input)?;
    let mode = network_mode(input);
    containers_one_by_one(containers, size, mode)?;
    unique_container_names(containers)?;
    essential_container(containers)?;
    resource_totals(containers, size)?;
    let volumes = input.volumes.as_deref().unwrap_or_default();
    volume_names(volumes)?;
    references(input, containers, volumes)?;
    ephemeral_storage(input)?;
    launch_type_requirements(input, size)?;
    Ok(size)
}

/// The network mode in effect: `bridge` when none is given, as in ECS.
pub fn network_mode(input: &RegisterTaskDefinitionRequest) -> &str {
    input.network_mode.as_deref().unwrap_or("bridge")
}

fn client(message: impl Into<String>) -> Result<(), ApiError> {
    Err(ApiError::client(message))
}

/// Family, container and volume names: letters, digits, hyphens, underscores.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn family(name: &str) -> Result<(), ApiError> {
    if name.is_empty() {
        return client(ecsbox::FAMILY_BLANK);
    }
    if !is_valid_name(name) {
        return client(ecsbox::family_invalid(name));
    }
    Ok(())
}

fn container_count(containers: &[ContainerDefinition]) -> Result<(), ApiError> {
    if containers.is_empty() {
        return client(ecsbox::CONTAINER_LIST_EMPTY);
    }
    if containers.len() > MAX_CONTAINERS {
        return client(ecsbox::too_many_containers(
            MAX_CONTAINERS,
            containers.len(),
        ));
    }
    Ok(())
}

// ---- task cpu and memory ----

/// CPU units a task may ask for on EC2: 0.125 to 192 vCPUs.
const EC2_TASK_CPU: std::ops::RangeInclusive<i32> = 128..=196_608;

fn task_size(input: &RegisterTaskDefinitionRequest) -> Result<TaskSize, ApiError> {
    let cpu = match input.cpu.as_deref() {
        None => None,
        Some(text) => Some(
            parse_task_cpu(text)
                .filter(|c| EC2_TASK_CPU.contains(c))
                .ok_or_else(|| ApiError::client(aws::TASK_CPU_INVALID))?,
        ),
    };
    let memory = match input.memory.as_deref() {
        None => None,
        Some(text) => Some(
            parse_task_memory(text)
                .ok_or_else(|| ApiError::client(ecsbox::task_memory_invalid(text)))?,
        ),
    };
    Ok(TaskSize { cpu, memory })
}

/// The Fargate cpu/memory table: for each task cpu, the memory values (MiB)
/// Fargate offers.
fn fargate_memory_ok(cpu: i32, memory: i32) -> bool {
    let stepped =
        |min: i32, max: i32, step: i32| (min..=max).contains(&memory) && (memory - min) % step == 0;
    match cpu {
        256 => [512, 1024, 2048].contains(&memory),
        512 => stepped(1024, 4096, 1024),
        1024 => stepped(2048, 8192, 1024),
        2048 => stepped(4096, 16384, 1024),
        4096 => stepped(8192, 30720, 1024),
        8192 => stepped(16384, 61440, 4096),
        16384 => stepped(32768, 122880, 8192),
        _ => false,
    }
}

const FARGATE_CPUS: [i32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

// ---- containers ----

fn name_of(c: &ContainerDefinition) -> &str {
    c.name.as_deref().unwrap_or("")
}

fn containers_one_by_one(
    containers: &[ContainerDefinition],
    size: TaskSize,
    mode: &str,
) -> Result<(), ApiError> {
    for c in containers {
        container_identity(c)?;
        container_resources(c, size)?;
        port_mappings(c, mode)?;
        network_mode_features(c, mode)?;
    }
    Ok(())
}

fn container_identity(c: &ContainerDefinition) -> Result<(), ApiError> {
    let name = name_of(c);
    if name.is_empty() {
        return client(ecsbox::CONTAINER_NAME_EMPTY);
    }
    if !is_valid_name(name) {
        return client(ecsbox::container_name_invalid(name));
    }
    if c.image.as_deref().unwrap_or("").trim().is_empty() {
        return client(aws::CONTAINER_IMAGE_EMPTY);
    }
    Ok(())
}

fn container_resources(c: &ContainerDefinition, size: TaskSize) -> Result<(), ApiError> {
    let name = name_of(c);
    let cpu = c.cpu.unwrap_or(0);
    if cpu < 0 {
        return client(ecsbox::container_cpu_negative(name, cpu));
    }
    for (what, value) in [
        ("memory", c.memory),
        ("memoryReservation", c.memory_reservation),
    ] {
        if let Some(v) = value.filter(|v| *v <= 0) {
            return client(ecsbox::container_memory_not_positive(what, name, v));
        }
    }
    if size.memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none() {
        return client(ecsbox::container_memory_missing(name));
    }
    if let (Some(hard), Some(soft)) = (c.memory, c.memory_reservation) {
        if soft > hard {
            return client(ecsbox::memory_reservation_above_memory(name, soft, hard));
        }
    }
    within_task(name, "cpu", Some(cpu), size.cpu)?;
    within_task(name, "memory", c.memory, size.memory)?;
    within_task(name, "memoryReservation", c.memory_reservation, size.memory)
}

fn within_task(
    name: &str,
    what: &str,
    container: Option<i32>,
    task: Option<i32>,
) -> Result<(), ApiError> {
    match (container, task) {
        (Some(c), Some(t)) if c > t => client(ecsbox::container_above_task(what, name, c, t)),
        _ => Ok(()),
    }
}

fn unique_container_names(containers: &[ContainerDefinition]) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for c in containers {
        if !seen.insert(name_of(c)) {
            return client(ecsbox::container_name_duplicate(name_of(c)));
        }
    }
    Ok(())
}

/// Containers are essential unless they say otherwise; one must be.
fn essential_container(containers: &[ContainerDefinition]) -> Result<(), ApiError> {
    if containers.iter().any(|c| c.essential.unwrap_or(true)) {
        Ok(())
    } else {
        client(ecsbox::NO_ESSENTIAL_CONTAINER)
    }
}

/// What all containers reserve together must fit the task's cpu and memory.
fn resource_totals(containers: &[ContainerDefinition], size: TaskSize) -> Result<(), ApiError> {
    let cpu: i64 = containers.iter().map(|c| c.cpu.unwrap_or(0) as i64).sum();
    if let Some(task) = size.cpu.filter(|t| cpu > *t as i64) {
        return client(ecsbox::containers_cpu_above_task(cpu, task));
    }
    let reserved: i64 = containers
        .iter()
        .map(|c| c.memory_reservation.or(c.memory).unwrap_or(0) as i64)
        .sum();
    if let Some(task) = size.memory.filter(|t| reserved > *t as i64) {
        return client(ecsbox::containers_memory_above_task(reserved, task));
    }
    Ok(())
}

// ---- ports and network mode ----

fn port_mappings(c: &ContainerDefinition, mode: &str) -> Result<(), ApiError> {
    let name = name_of(c);
    let mappings = c.port_mappings.as_deref().unwrap_or_default();
    if mode == "none" && !mappings.is_empty() {
        return client(ecsbox::port_mappings_with_network_mode_none(name));
    }
    for pm in mappings {
        port_mapping(name, pm, mode)?;
    }
    Ok(())
}

fn port_mapping(name: &str, pm: &PortMapping, mode: &str) -> Result<(), ApiError> {
    let valid_port = |p: i32| (1..=65535).contains(&p);
    match (pm.container_port, pm.container_port_range.as_deref()) {
        (Some(p), None) if valid_port(p) => {}
        (None, Some(range)) if port_range_ok(range) => {}
        (Some(_), Some(_)) => return client(ecsbox::port_mapping_port_and_range(name)),
        (None, Some(range)) => return client(ecsbox::container_port_range_invalid(name, range)),
        _ => return client(ecsbox::container_port_invalid(name)),
    }
    if let Some(host) = pm.host_port {
        if !(0..=65535).contains(&host) {
            return client(ecsbox::host_port_invalid(name, host));
        }
        // In awsvpc and host modes the container uses the port itself; there is no mapping.
        if (mode == "awsvpc" || mode == "host") && Some(host) != pm.container_port {
            return client(ecsbox::host_port_must_match(
                mode,
                name,
                pm.container_port,
                host,
            ));
        }
    }
    Ok(())
}

fn port_range_ok(range: &str) -> bool {
    let Some((from, to)) = range.split_once('-') else {
        return false;
    };
    match (from.trim().parse::<i32>(), to.trim().parse::<i32>()) {
        (Ok(f), Ok(t)) => 1 <= f && f < t && t <= 65535,
        _ => false,
    }
}

/// Container settings that only some network modes support.
fn network_mode_features(c: &ContainerDefinition, mode: &str) -> Result<(), ApiError> {
    let name = name_of(c);
    if mode == "awsvpc" && c.hostname.is_some() {
        return client(ecsbox::hostname_with_awsvpc(name));
    }
    if mode != "bridge" && c.links.as_ref().is_some_and(|l| !l.is_empty()) {
        return client(ecsbox::links_need_bridge(mode, name));
    }
    Ok(())
}

// ---- references between containers and volumes ----

fn volume_names(volumes: &[Volume]) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for v in volumes {
        let name = v.name.as_deref().unwrap_or("");
        if !is_valid_name(name) {
            return client(ecsbox::volume_name_invalid(name));
        }
        if !seen.insert(name) {
            return client(ecsbox::volume_name_duplicate(name));
        }
    }
    Ok(())
}

/// dependsOn, links, volumesFrom, mountPoints and the proxy configuration
/// must name containers and volumes of this task definition.
fn references(
    input: &RegisterTaskDefinitionRequest,
    containers: &[ContainerDefinition],
    volumes: &[Volume],
) -> Result<(), ApiError> {
    let names: HashSet<&str> = containers.iter().map(name_of).collect();
    let volume_names: HashSet<&str> = volumes.iter().filter_map(|v| v.name.as_deref()).collect();
    let other_container = |me: &str, target: &str| target != me && names.contains(target);
    for c in containers {
        let me = name_of(c);
        for dep in c.depends_on.as_deref().unwrap_or_default() {
            let target = dep.container_name.as_deref().unwrap_or("");
            if !other_container(me, target) {
                return client(ecsbox::depends_on_unknown_container(me, target));
            }
        }
        for link in c.links.as_deref().unwrap_or_default() {
            let target = link.split(':').next().unwrap_or("");
            if !other_container(me, target) {
                return client(ecsbox::link_unknown_container(link, me, target));
            }
        }
        for from in c.volumes_from.as_deref().unwrap_or_default() {
            let target = from.source_container.as_deref().unwrap_or("");
            if !other_container(me, target) {
                return client(ecsbox::volumes_from_unknown_container(me, target));
            }
        }
        for mount in c.mount_points.as_deref().unwrap_or_default() {
            let volume = mount.source_volume.as_deref().unwrap_or("");
            if !volume_names.contains(volume) {
                return client(ecsbox::mount_point_unknown_volume(me, volume));
            }
        }
    }
    if let Some(proxy) = &input.proxy_configuration {
        // APPMESH (the only type) redirects the task's traffic inside the
        // task's own network namespace, which only awsvpc gives it.
        if proxy.r#type.as_deref().unwrap_or("APPMESH") == "APPMESH"
            && network_mode(input) != "awsvpc"
        {
            return client(aws::APPMESH_NEEDS_AWSVPC);
        }
        let target = proxy.container_name.as_deref().unwrap_or("");
        if !names.contains(target) {
            return client(ecsbox::proxy_unknown_container(target));
        }
    }
    Ok(())
}

fn ephemeral_storage(input: &RegisterTaskDefinitionRequest) -> Result<(), ApiError> {
    match input
        .ephemeral_storage
        .as_ref()
        .and_then(|e| e.size_in_gi_b)
    {
        Some(gib) if !(21..=200).contains(&gib) => client(ecsbox::ephemeral_storage_size(gib)),
        _ => Ok(()),
    }
}

// ---- launch types ----

fn requires(input: &RegisterTaskDefinitionRequest, launch_type: &str) -> bool {
    input
        .requires_compatibilities
        .as_ref()
        .is_some_and(|l| l.iter().any(|c| c == launch_type))
}

/// Each launch type in requiresCompatibilities must be able to run the definition.
fn launch_type_requirements(
    input: &RegisterTaskDefinitionRequest,
    size: TaskSize,
) -> Result<(), ApiError> {
    if requires(input, "FARGATE") {
        if let Some(problem) = fargate_problem(input, size) {
            return client(problem);
        }
    }
    if requires(input, "EXTERNAL") {
        if let Some(problem) = external_problem(input) {
            return client(problem);
        }
    }
    Ok(())
}

/// The launch types that can run the definition, in the order ECS lists them:
/// EC2 always; EXTERNAL and FARGATE when nothing in the definition rules
/// them out; MANAGED_INSTANCES when asked for.
pub fn compatibilities(input: &RegisterTaskDefinitionRequest, size: TaskSize) -> Vec<String> {
    let mut out = Vec::new();
    if external_problem(input).is_none() {
        out.push("EXTERNAL".to_string());
    }
    out.push("EC2".to_string());
    if fargate_problem(input, size).is_none() {
        out.push("FARGATE".to_string());
    }
    if requires(input, "MANAGED_INSTANCES") {
        out.push("MANAGED_INSTANCES".to_string());
    }
    out
}

/// Why ECS Anywhere (EXTERNAL) cannot run the definition, if it cannot.
fn external_problem(input: &RegisterTaskDefinitionRequest) -> Option<String> {
    (network_mode(input) == "awsvpc").then(|| ecsbox::EXTERNAL_AWSVPC.to_string())
}

/// Why Fargate cannot run the definition, if it cannot: the first problem found.
pub fn fargate_problem(input: &RegisterTaskDefinitionRequest, size: TaskSize) -> Option<String> {
    fargate_task_problem(input, size).or_else(|| {
        let containers = input.container_definitions.as_deref().unwrap_or_default();
        containers
            .iter()
            .find_map(|c| fargate_container_problem(input, c))
    })
}

fn fargate_task_problem(input: &RegisterTaskDefinitionRequest, size: TaskSize) -> Option<String> {
    if network_mode(input) != "awsvpc" {
        return Some(ecsbox::FARGATE_NETWORK_MODE.into());
    }
    let Some(cpu) = size.cpu else {
        return Some(ecsbox::FARGATE_TASK_CPU_REQUIRED.into());
    };
    let Some(memory) = size.memory else {
        return Some(ecsbox::FARGATE_TASK_MEMORY_REQUIRED.into());
    };
    if !FARGATE_CPUS.contains(&cpu) {
        return Some(ecsbox::fargate_task_cpu_invalid(cpu));
    }
    if !fargate_memory_ok(cpu, memory) {
        return Some(ecsbox::fargate_no_configuration(cpu, memory));
    }
    if input.ipc_mode.is_some() {
        return Some(aws::FARGATE_IPC_MODE.into());
    }
    if input.pid_mode.as_deref() == Some("host") {
        return Some(aws::FARGATE_PID_MODE_HOST.into());
    }
    if input
        .placement_constraints
        .as_ref()
        .is_some_and(|p| !p.is_empty())
    {
        return Some(ecsbox::FARGATE_PLACEMENT_CONSTRAINTS.into());
    }
    input
        .volumes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(fargate_volume_problem)
}

fn fargate_volume_problem(v: &Volume) -> Option<String> {
    let name = v.name.as_deref().unwrap_or("");
    if v.host.as_ref().is_some_and(|h| h.source_path.is_some()) {
        return Some(ecsbox::fargate_host_volume_source_path(name));
    }
    if v.docker_volume_configuration.is_some() {
        return Some(ecsbox::fargate_docker_volume_configuration(name));
    }
    None
}

fn fargate_container_problem(
    input: &RegisterTaskDefinitionRequest,
    c: &ContainerDefinition,
) -> Option<String> {
    let name = name_of(c);
    if c.privileged == Some(true) {
        return Some(ecsbox::fargate_privileged(name));
    }
    if c.linux_parameters
        .as_ref()
        .is_some_and(|l| l.devices.as_ref().is_some_and(|d| !d.is_empty()))
    {
        return Some(ecsbox::fargate_devices(name));
    }
    if c.resource_requirements
        .as_ref()
        .is_some_and(|r| r.iter().any(|r| r.r#type.as_deref() == Some("GPU")))
    {
        return Some(ecsbox::fargate_gpu(name));
    }
    let log_driver = c
        .log_configuration
        .as_ref()
        .and_then(|l| l.log_driver.as_deref());
    if let Some(driver) = log_driver.filter(|d| !["awslogs", "splunk", "awsfirelens"].contains(d)) {
        return Some(ecsbox::fargate_log_driver(name, driver));
    }
    let has_execution_role = input.execution_role_arn.is_some();
    if log_driver == Some("awslogs") && !has_execution_role {
        return Some(ecsbox::FARGATE_AWSLOGS_EXECUTION_ROLE.into());
    }
    if is_ecr_image(c.image.as_deref().unwrap_or("")) && !has_execution_role {
        return Some(ecsbox::FARGATE_ECR_EXECUTION_ROLE.into());
    }
    None
}

/// A private ECR repository: `ACCOUNT.dkr.ecr.REGION.amazonaws.com/...`.
pub fn is_ecr_image(image: &str) -> bool {
    let registry = image.split('/').next().unwrap_or("");
    image.contains('/') && registry.contains(".dkr.ecr.") && registry.contains(".amazonaws.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(name: &str) -> ContainerDefinition {
        ContainerDefinition {
            name: Some(name.into()),
            image: Some("busybox".into()),
            memory: Some(128),
            ..Default::default()
        }
    }

    fn request(containers: Vec<ContainerDefinition>) -> RegisterTaskDefinitionRequest {
        RegisterTaskDefinitionRequest {
            family: Some("app".into()),
            container_definitions: Some(containers),
            ..Default::default()
        }
    }

    fn fargate(cpu: &str, memory: &str) -> RegisterTaskDefinitionRequest {
        RegisterTaskDefinitionRequest {
            network_mode: Some("awsvpc".into()),
            requires_compatibilities: Some(vec!["FARGATE".into()]),
            cpu: Some(cpu.into()),
            memory: Some(memory.into()),
            ..request(vec![container("web")])
        }
    }

    #[test]
    fn fargate_table() {
        for (cpu, memory) in [
            (256, 512),
            (256, 2048),
            (512, 4096),
            (1024, 8192),
            (2048, 16384),
            (4096, 30720),
            (8192, 20480),
            (16384, 122880),
        ] {
            assert!(
                fargate_memory_ok(cpu, memory),
                "{cpu}/{memory} is in the table"
            );
        }
        for (cpu, memory) in [
            (256, 1536),
            (256, 4096),
            (512, 512),
            (4096, 31744),
            (8192, 17408),
            (16384, 36864),
            (300, 1024),
        ] {
            assert!(
                !fargate_memory_ok(cpu, memory),
                "{cpu}/{memory} is not in the table"
            );
        }
    }

    #[test]
    fn fargate_definitions() {
        assert_eq!(
            check(&fargate("1 vCPU", "2 GB")).unwrap(),
            TaskSize {
                cpu: Some(1024),
                memory: Some(2048)
            }
        );
        let err = check(&fargate("256", "4096")).unwrap_err();
        assert_eq!(err.code, "ClientException");
        assert!(
            err.message.starts_with(
                "No Fargate configuration exists for given values: 256 CPU, 4096 memory"
            ),
            "{}",
            err.message
        );
        let bridge = RegisterTaskDefinitionRequest {
            network_mode: None,
            ..fargate("256", "512")
        };
        assert_eq!(
            check(&bridge).unwrap_err().message,
            "Fargate only supports network mode 'awsvpc'."
        );
        let no_cpu = RegisterTaskDefinitionRequest {
            cpu: None,
            ..fargate("256", "512")
        };
        assert_eq!(
            check(&no_cpu).unwrap_err().message,
            "Fargate requires that 'cpu' be defined at the task level."
        );
    }

    #[test]
    fn compatibilities_follow_the_definition() {
        let ec2 = request(vec![container("web")]);
        assert_eq!(
            compatibilities(&ec2, TaskSize::default()),
            ["EXTERNAL", "EC2"]
        );
        let f = fargate("256", "512");
        let size = check(&f).unwrap();
        assert_eq!(compatibilities(&f, size), ["EC2", "FARGATE"]);
        let mut privileged = fargate("256", "512");
        privileged.requires_compatibilities = None;
        privileged.container_definitions.as_mut().unwrap()[0].privileged = Some(true);
        assert_eq!(compatibilities(&privileged, size), ["EC2"]);
    }

    #[test]
    fn container_rules() {
        let mut no_memory = container("web");
        no_memory.memory = None;
        assert!(check(&request(vec![no_memory.clone()]))
            .unwrap_err()
            .message
            .contains("'memory' or 'memoryReservation'"));
        // A task-level memory makes the container setting optional.
        let with_task_memory = RegisterTaskDefinitionRequest {
            memory: Some("512".into()),
            ..request(vec![no_memory])
        };
        assert!(check(&with_task_memory).is_ok());
        assert!(check(&request(vec![container("a"), container("a")]))
            .unwrap_err()
            .message
            .starts_with("Container names must be unique"));
        let mut lazy = container("a");
        lazy.essential = Some(false);
        assert!(check(&request(vec![lazy]))
            .unwrap_err()
            .message
            .contains("essential"));
        assert!(check(&request(
            (0..11).map(|i| container(&format!("c{i}"))).collect()
        ))
        .unwrap_err()
        .message
        .starts_with("Too many containers"));
    }

    #[test]
    fn ports_follow_the_network_mode() {
        let mut web = container("web");
        web.port_mappings = Some(vec![PortMapping {
            container_port: Some(80),
            host_port: Some(8080),
            ..Default::default()
        }]);
        assert!(
            check(&request(vec![web.clone()])).is_ok(),
            "bridge maps ports"
        );
        let awsvpc = RegisterTaskDefinitionRequest {
            network_mode: Some("awsvpc".into()),
            ..request(vec![web.clone()])
        };
        assert!(check(&awsvpc)
            .unwrap_err()
            .message
            .starts_with("When networkMode=awsvpc, the host ports and container ports"));
        web.port_mappings = Some(vec![PortMapping {
            container_port: Some(80),
            ..Default::default()
        }]);
        let none = RegisterTaskDefinitionRequest {
            network_mode: Some("none".into()),
            ..request(vec![web])
        };
        assert!(check(&none)
            .unwrap_err()
            .message
            .contains("networkMode=none"));
    }

    #[test]
    fn ecr_images() {
        assert!(is_ecr_image(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"
        ));
        assert!(!is_ecr_image("public.ecr.aws/nginx/nginx"));
        assert!(!is_ecr_image("busybox"));
    }
}
