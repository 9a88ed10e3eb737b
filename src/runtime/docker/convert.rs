//! Translation between the runtime's plain data and bollard's Docker API
//! models, both ways. Pure functions: no I/O here.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum,
    ContainerSummary as DockerSummary, ContainerSummaryStateEnum, EndpointIpamConfig,
    EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig, HostConfigLogConfig, Ipam,
    IpamConfig, MountPoint, Network, NetworkCreateRequest, NetworkingConfig,
    PortBinding as DockerPortBinding, PortMap, ResourcesUlimits, Volume, VolumeCreateRequest,
};

use crate::runtime::timestamp::parse_docker_time;
use crate::runtime::types::*;

// ---- specs to Docker -------------------------------------------------------

pub fn create_body(spec: &ContainerSpec, image: &str) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(image.to_string()),
        hostname: spec.hostname.clone(),
        user: spec.user.clone(),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        working_dir: spec.working_dir.clone(),
        labels: Some(spec.labels.clone()),
        tty: Some(spec.tty),
        exposed_ports: non_empty(spec.port_bindings.iter().map(port_key).collect()),
        healthcheck: spec.health_check.as_ref().map(health_config),
        stop_signal: spec.stop_signal.clone(),
        stop_timeout: spec.stop_timeout.map(whole_seconds),
        host_config: Some(host_config(spec)),
        networking_config: networking_config(&spec.network_mode),
        ..Default::default()
    }
}

fn host_config(spec: &ContainerSpec) -> HostConfig {
    HostConfig {
        network_mode: Some(spec.network_mode.to_docker()),
        port_bindings: non_empty_map(port_map(&spec.port_bindings)),
        cpu_shares: spec.cpu_shares,
        nano_cpus: spec.nano_cpus,
        memory: spec.memory_bytes,
        memory_reservation: spec.memory_reservation_bytes,
        ulimits: non_empty(spec.ulimits.iter().map(ulimit).collect()),
        privileged: Some(spec.privileged),
        readonly_rootfs: Some(spec.readonly_rootfs),
        extra_hosts: non_empty(
            spec.extra_hosts
                .iter()
                .map(|h| format!("{}:{}", h.hostname, h.ip))
                .collect(),
        ),
        dns: non_empty(spec.dns_servers.clone()),
        dns_search: non_empty(spec.dns_search_domains.clone()),
        binds: non_empty(spec.mounts.iter().map(bind).collect()),
        volumes_from: non_empty(spec.volumes_from.iter().map(volumes_from).collect()),
        log_config: spec.log_config.as_ref().map(|l| HostConfigLogConfig {
            typ: Some(l.driver.clone()),
            config: Some(l.options.clone().into_iter().collect()),
        }),
        init: spec.init.then_some(true),
        cap_add: non_empty(spec.cap_add.clone()),
        cap_drop: non_empty(spec.cap_drop.clone()),
        shm_size: spec.shm_size_bytes,
        tmpfs: non_empty_map(
            spec.tmpfs
                .iter()
                .map(|t| (t.container_path.clone(), t.options.join(",")))
                .collect(),
        ),
        sysctls: non_empty_map(spec.sysctls.clone()),
        ..Default::default()
    }
}

/// Only a user-defined network needs endpoint settings (fixed IP, aliases).
fn networking_config(mode: &NetworkMode) -> Option<NetworkingConfig> {
    let NetworkMode::Network {
        name,
        ipv4_address,
        aliases,
    } = mode
    else {
        return None;
    };
    let endpoint = endpoint_settings(ipv4_address.as_deref(), aliases);
    Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(name.clone(), endpoint)])),
    })
}

pub fn endpoint_settings(ipv4_address: Option<&str>, aliases: &[String]) -> EndpointSettings {
    EndpointSettings {
        ipam_config: ipv4_address.map(|ip| EndpointIpamConfig {
            ipv4_address: Some(ip.to_string()),
            ..Default::default()
        }),
        aliases: non_empty(aliases.to_vec()),
        ..Default::default()
    }
}

fn port_key(p: &PortBinding) -> String {
    format!("{}/{}", p.container_port, p.protocol.as_str())
}

/// Docker wants one entry per container port, each with its host bindings;
/// an empty host port asks for a dynamic one.
fn port_map(bindings: &[PortBinding]) -> PortMap {
    let mut map: PortMap = HashMap::new();
    for p in bindings {
        let host = DockerPortBinding {
            host_ip: p.host_ip.clone(),
            host_port: Some(if p.host_port == 0 {
                String::new()
            } else {
                p.host_port.to_string()
            }),
        };
        map.entry(port_key(p))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(host);
    }
    map
}

fn ulimit(u: &Ulimit) -> ResourcesUlimits {
    ResourcesUlimits {
        name: Some(u.name.clone()),
        soft: Some(u.soft),
        hard: Some(u.hard),
    }
}

/// Docker's `Binds` entry: `SOURCE:PATH[:ro]`, SOURCE a host path or a
/// volume name. A volume `subpath` must have been resolved to a host path
/// before (`DockerRuntime::resolve_subpaths`): API 1.41 engines cannot
/// mount part of a volume.
fn bind(m: &Mount) -> String {
    let source = match &m.source {
        MountSource::HostPath(path) => path,
        MountSource::Volume { name, subpath } => {
            debug_assert!(subpath.is_none(), "unresolved volume subpath");
            name
        }
    };
    let mode = if m.read_only { ":ro" } else { "" };
    format!("{source}:{}{mode}", m.container_path)
}

/// Docker's `VolumesFrom` entry: `CONTAINER[:ro]`.
fn volumes_from(v: &VolumesFrom) -> String {
    let mode = if v.read_only { ":ro" } else { "" };
    format!("{}{mode}", v.container)
}

pub fn volume_create_request(spec: &VolumeSpec) -> VolumeCreateRequest {
    VolumeCreateRequest {
        name: Some(spec.name.clone()),
        driver: spec.driver.clone(),
        driver_opts: Some(spec.driver_opts.clone()),
        labels: Some(spec.labels.clone()),
        ..Default::default()
    }
}

fn health_config(h: &HealthCheck) -> HealthConfig {
    HealthConfig {
        test: Some(h.test.clone()),
        interval: h.interval.map(nanos),
        timeout: h.timeout.map(nanos),
        retries: h.retries.map(i64::from),
        start_period: h.start_period.map(nanos),
        ..Default::default()
    }
}

pub fn network_create_request(spec: &NetworkSpec) -> NetworkCreateRequest {
    let ipam = spec.subnet.as_ref().map(|subnet| Ipam {
        config: Some(vec![IpamConfig {
            subnet: Some(subnet.clone()),
            gateway: spec.gateway.clone(),
            ..Default::default()
        }]),
        ..Default::default()
    });
    NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some("bridge".into()),
        labels: Some(spec.labels.clone()),
        ipam,
        ..Default::default()
    }
}

/// Docker counts stop timeouts in whole seconds; round up so a timeout is
/// never shorter than asked.
pub fn whole_seconds(d: Duration) -> i64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn non_empty_map<K, V>(m: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!m.is_empty()).then_some(m)
}

// ---- Docker to infos -------------------------------------------------------

pub fn container_info(r: ContainerInspectResponse) -> ContainerInfo {
    let created_at = created_at(&r);
    let state = r.state.unwrap_or_default();
    let host = r.host_config.unwrap_or_default();
    let net = r.network_settings.unwrap_or_default();
    let status = state.status.map(status_from_state).unwrap_or_default();
    let error = state.error.filter(|e| !e.is_empty());
    let exit_code = (status.is_terminal() || error.is_some())
        .then_some(state.exit_code)
        .flatten();
    let health = state.health.unwrap_or_default();
    let started_at = state.started_at.as_deref().and_then(parse_docker_time);
    // Docker records StartedAt after the process is running, so a process
    // that exits at once can show FinishedAt a moment before StartedAt.
    let finished_at = state
        .finished_at
        .as_deref()
        .and_then(parse_docker_time)
        .map(|f| match started_at {
            Some(s) if s > f => s,
            _ => f,
        });
    ContainerInfo {
        id: r.id.unwrap_or_default(),
        name: trim_name(&r.name.unwrap_or_default()),
        image_id: r.image.unwrap_or_default(),
        labels: r.config.and_then(|c| c.labels).unwrap_or_default(),
        status,
        exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        error,
        created_at,
        started_at,
        finished_at,
        health: health.status.map(health_from_docker).unwrap_or_default(),
        health_output: health
            .log
            .and_then(|l| l.last().and_then(|r| r.output.clone())),
        network_mode: host.network_mode.unwrap_or_default(),
        networks: net
            .networks
            .unwrap_or_default()
            .into_iter()
            .map(|(name, e)| (name, network_endpoint(e)))
            .collect(),
        ports: published_ports(net.ports.unwrap_or_default()),
        memory_bytes: positive(host.memory),
        memory_reservation_bytes: positive(host.memory_reservation),
        nano_cpus: positive(host.nano_cpus),
        cpu_shares: positive(host.cpu_shares),
        mounts: r
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(mount_info)
            .collect(),
    }
}

/// Docker's `Created`. bollard types it as a string, or as a date when
/// another crate turns on its `time` feature; its serializer writes RFC 3339
/// either way, so the value goes through it.
fn created_at(r: &ContainerInspectResponse) -> Option<SystemTime> {
    let only_created = ContainerInspectResponse {
        created: r.created.clone(),
        ..Default::default()
    };
    let json = serde_json::to_value(only_created).ok()?;
    json.get("Created")?.as_str().and_then(parse_docker_time)
}

/// Docker's stats document as the engine sent it (bollard's model keeps
/// Docker's field names when serialized back).
pub fn container_stats(sample: &bollard::models::ContainerStatsResponse) -> ContainerStats {
    ContainerStats(serde_json::to_value(sample).unwrap_or(serde_json::Value::Null))
}

fn mount_info(m: MountPoint) -> MountInfo {
    let kind = match m.typ.as_deref() {
        Some("bind") => MountKind::Bind,
        Some("volume") => MountKind::Volume,
        Some("tmpfs") => MountKind::Tmpfs,
        _ => MountKind::Other,
    };
    MountInfo {
        kind,
        name: m.name.filter(|n| !n.is_empty()),
        source: m.source.unwrap_or_default(),
        destination: m.destination.unwrap_or_default(),
        read_only: !m.rw.unwrap_or(true),
    }
}

pub fn volume_info(v: Volume) -> VolumeInfo {
    VolumeInfo {
        name: v.name,
        driver: v.driver,
        mountpoint: v.mountpoint,
        labels: v.labels,
        options: v.options,
    }
}

fn network_endpoint(e: EndpointSettings) -> NetworkEndpoint {
    NetworkEndpoint {
        network_id: e.network_id.unwrap_or_default(),
        ip_address: e.ip_address.filter(|s| !s.is_empty()),
        ip_prefix_len: e
            .ip_prefix_len
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| *n > 0),
        gateway: e.gateway.filter(|s| !s.is_empty()),
        mac_address: e.mac_address.filter(|s| !s.is_empty()),
    }
}

/// `{"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}]}` to a sorted
/// list; ports exposed but not published (no bindings) are left out.
fn published_ports(ports: PortMap) -> Vec<PublishedPort> {
    let mut out = Vec::new();
    for (key, bindings) in ports {
        let Some((port, proto)) = key.split_once('/') else {
            continue;
        };
        let (Ok(container_port), Some(protocol)) = (port.parse(), Protocol::parse(proto)) else {
            continue;
        };
        for b in bindings.unwrap_or_default() {
            let Some(host_port) = b.host_port.and_then(|p| p.parse().ok()) else {
                continue;
            };
            let host_ip = b.host_ip.unwrap_or_default();
            out.push(PublishedPort {
                container_port,
                protocol,
                host_ip,
                host_port,
            });
        }
    }
    out.sort();
    out
}

pub fn container_summary(s: DockerSummary) -> ContainerSummary {
    let name = s
        .names
        .and_then(|n| n.into_iter().next())
        .unwrap_or_default();
    ContainerSummary {
        id: s.id.unwrap_or_default(),
        name: trim_name(&name),
        image: s.image.unwrap_or_default(),
        labels: s.labels.unwrap_or_default(),
        status: s.state.map(status_from_summary).unwrap_or_default(),
    }
}

pub fn network_info(n: Network) -> NetworkInfo {
    let first_config = n
        .ipam
        .and_then(|i| i.config)
        .and_then(|c| c.into_iter().next());
    NetworkInfo {
        id: n.id.unwrap_or_default(),
        name: n.name.unwrap_or_default(),
        driver: n.driver.unwrap_or_default(),
        labels: n.labels.unwrap_or_default(),
        subnet: first_config.as_ref().and_then(|c| c.subnet.clone()),
        gateway: first_config.and_then(|c| c.gateway),
    }
}

fn status_from_state(s: ContainerStateStatusEnum) -> ContainerStatus {
    ContainerStatus::parse(s.as_ref()).unwrap_or_default()
}

fn status_from_summary(s: ContainerSummaryStateEnum) -> ContainerStatus {
    ContainerStatus::parse(s.as_ref()).unwrap_or_default()
}

pub fn health_from_docker(s: HealthStatusEnum) -> HealthStatus {
    HealthStatus::parse(s.as_ref()).unwrap_or_default()
}

/// Docker names containers `/name`.
fn trim_name(name: &str) -> String {
    name.trim_start_matches('/').to_string()
}

fn positive(v: Option<i64>) -> Option<i64> {
    v.filter(|n| *n > 0)
}

/// A `docker logs --timestamps` chunk: lines of `<RFC 3339 time> <text>`.
pub fn log_lines(stream: LogStream, chunk: &[u8]) -> Vec<LogLine> {
    let text = String::from_utf8_lossy(chunk);
    text.lines()
        .map(|line| {
            let (stamp, message) = line.split_once(' ').unwrap_or((line, ""));
            match parse_docker_time(stamp) {
                Some(t) => LogLine {
                    stream,
                    timestamp: Some(t),
                    message: message.to_string(),
                },
                None => LogLine {
                    stream,
                    timestamp: None,
                    message: line.to_string(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_host_port_is_sent_empty_and_exposed() {
        let spec = ContainerSpec {
            image: "x".into(),
            port_bindings: vec![
                PortBinding {
                    container_port: 80,
                    host_port: 0,
                    ..Default::default()
                },
                PortBinding {
                    container_port: 53,
                    protocol: Protocol::Udp,
                    host_port: 5353,
                    host_ip: Some("127.0.0.1".into()),
                },
            ],
            ..Default::default()
        };
        let body = create_body(&spec, "x");
        let mut exposed = body.exposed_ports.unwrap();
        exposed.sort();
        assert_eq!(exposed, vec!["53/udp".to_string(), "80/tcp".to_string()]);
        let ports = body.host_config.unwrap().port_bindings.unwrap();
        assert_eq!(
            ports["80/tcp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("")
        );
        let udp = &ports["53/udp"].as_ref().unwrap()[0];
        assert_eq!(udp.host_port.as_deref(), Some("5353"));
        assert_eq!(udp.host_ip.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn named_network_carries_the_fixed_ip() {
        let mode = NetworkMode::Network {
            name: "ecsbox-net".into(),
            ipv4_address: Some("10.1.2.3".into()),
            aliases: vec![],
        };
        let cfg = networking_config(&mode).unwrap().endpoints_config.unwrap();
        let ipam = cfg["ecsbox-net"].ipam_config.as_ref().unwrap();
        assert_eq!(ipam.ipv4_address.as_deref(), Some("10.1.2.3"));
        assert!(networking_config(&NetworkMode::Container("abc".into())).is_none());
        assert_eq!(
            NetworkMode::Container("abc".into()).to_docker(),
            "container:abc"
        );
    }

    #[test]
    fn stop_timeout_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(30)), 30);
        assert_eq!(whole_seconds(Duration::ZERO), 0);
    }

    #[test]
    fn binds_and_health_check_are_docker_shaped() {
        let m = Mount {
            source: MountSource::HostPath("/h".into()),
            container_path: "/c".into(),
            read_only: true,
        };
        assert_eq!(bind(&m), "/h:/c:ro");
        let v = Mount {
            source: MountSource::Volume {
                name: "ecsbox-efs-fs-1".into(),
                subpath: None,
            },
            container_path: "/mnt".into(),
            read_only: false,
        };
        assert_eq!(bind(&v), "ecsbox-efs-fs-1:/mnt");
        let from = |read_only| VolumesFrom {
            container: "ecs-app-1-data-00".into(),
            read_only,
        };
        assert_eq!(volumes_from(&from(true)), "ecs-app-1-data-00:ro");
        assert_eq!(volumes_from(&from(false)), "ecs-app-1-data-00");
        let h = health_config(&HealthCheck {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: Some(Duration::from_secs(5)),
            retries: Some(3),
            ..Default::default()
        });
        assert_eq!(h.interval, Some(5_000_000_000));
        assert_eq!(h.retries, Some(3));
        assert_eq!(h.timeout, None);
    }

    #[test]
    fn published_ports_skip_unbound_and_sort() {
        let map: PortMap = HashMap::from([
            ("90/tcp".to_string(), None),
            (
                "80/tcp".to_string(),
                Some(vec![DockerPortBinding {
                    host_ip: Some("0.0.0.0".into()),
                    host_port: Some("49153".into()),
                }]),
            ),
        ]);
        let ports = published_ports(map);
        assert_eq!(
            ports,
            vec![PublishedPort {
                container_port: 80,
                protocol: Protocol::Tcp,
                host_ip: "0.0.0.0".into(),
                host_port: 49153
            }]
        );
    }

    #[test]
    fn log_lines_split_timestamps() {
        let lines = log_lines(LogStream::Stdout, b"2024-05-01T12:00:00.5Z hello world\n");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].message, "hello world");
        assert!(lines[0].timestamp.is_some());
    }
}
