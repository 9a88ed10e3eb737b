//! An in-memory `ContainerRuntime` for fast controller tests. It behaves as
//! the Docker engine does where controllers can tell (errors, events and
//! their order, port and IP allocation), but containers only "run": a test
//! ends them with hooks such as `exit`, `oom_kill` or `set_health`.
//!
//! Differences from Docker, on purpose: no registry (a pull succeeds only for
//! references given to `allow_pull`); SIGTERM ends a container at once with
//! exit code 143 unless `ignore_sigterm` was called, in which case `stop`
//! waits its timeout and then SIGKILLs (137).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use super::image_ref::{local_reference, lookup_candidates};
use super::types::*;
use super::{ContainerRuntime, Result, RuntimeError};

/// Docker's default dynamic port range starts here (ip_local_port_range).
const FIRST_DYNAMIC_PORT: u16 = 32768;
const BRIDGE_SUBNET: (Ipv4Addr, u8) = (Ipv4Addr::new(172, 17, 0, 0), 16);

/// An event plus the labels of its container, for per-subscriber filtering.
#[derive(Clone)]
struct Broadcast {
    labels: HashMap<String, String>,
    event: RuntimeEvent,
}

struct FakeContainer {
    spec: ContainerSpec,
    info: ContainerInfo,
    /// Networks joined with `connect_network`, with their fixed IPs.
    extra_networks: Vec<(String, Option<String>)>,
    logs: Vec<LogLine>,
    ignores_sigterm: bool,
    /// Its own mounts plus those taken over with volumes-from, as Docker
    /// records them at create.
    mounts: Vec<Mount>,
}

struct FakeNetwork {
    info: NetworkInfo,
    next_host: u32,
}

#[derive(Default)]
struct FakeState {
    images: HashMap<String, ImageInfo>,
    pullable: HashMap<String, ImageInfo>,
    pulls: Vec<String>,
    /// The credentials each authenticated pull (`pull_image`) sent.
    authenticated_pulls: Vec<(String, RegistryCredentials)>,
    containers: HashMap<String, FakeContainer>,
    networks: HashMap<String, FakeNetwork>,
    volumes: HashMap<String, VolumeInfo>,
    next_dynamic_port: u16,
    next_bridge_host: u32,
    /// Images whose containers exit with this code as they start.
    exit_at_start: HashMap<String, i64>,
}

pub struct FakeRuntime {
    state: Mutex<FakeState>,
    events: broadcast::Sender<Broadcast>,
    engine: Mutex<EngineInfo>,
    counter: AtomicU64,
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRuntime {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(4096);
        let state = FakeState {
            next_dynamic_port: FIRST_DYNAMIC_PORT,
            next_bridge_host: 2,
            ..Default::default()
        };
        FakeRuntime {
            state: Mutex::new(state),
            events,
            engine: Mutex::new(EngineInfo {
                version: "20.10.24-fake".into(),
                api_version: "1.41".into(),
                os: "linux".into(),
                arch: "amd64".into(),
                kernel_version: "fake".into(),
                cpus: 4,
                memory_bytes: 8 << 30,
            }),
            counter: AtomicU64::new(0),
        }
    }

    // ---- test hooks --------------------------------------------------------

    /// Makes `reference` a local image; returns it.
    pub fn add_image(&self, reference: &str) -> ImageInfo {
        let info = self.new_image(reference);
        self.state
            .lock()
            .images
            .insert(reference.to_string(), info.clone());
        info
    }

    /// A later pull of `reference` succeeds (as if a registry had it).
    pub fn allow_pull(&self, reference: &str) {
        let info = self.new_image(reference);
        self.state
            .lock()
            .pullable
            .insert(reference.to_string(), info);
    }

    /// Every `pull_image`: the reference and the credentials sent, in order.
    pub fn authenticated_pulls(&self) -> Vec<(String, RegistryCredentials)> {
        self.state.lock().authenticated_pulls.clone()
    }

    /// Every reference a pull was attempted for, in order.
    pub fn pulls(&self) -> Vec<String> {
        self.state.lock().pulls.clone()
    }

    pub fn set_engine_info(&self, info: EngineInfo) {
        *self.engine.lock() = info;
    }

    /// Containers of `image` exit with `code` the moment they start, and
    /// the start call answers only after their die event went out: a busy
    /// engine, where a command that exits at once beats the start's answer.
    pub fn exit_at_start(&self, image: &str, code: i64) {
        self.state
            .lock()
            .exit_at_start
            .insert(image.to_string(), code);
    }

    /// The container's process exits with `code`.
    pub fn exit(&self, container: &str, code: i64) {
        let mut st = self.state.lock();
        let id = must_find(&st, container);
        self.terminate(&mut st, &id, code, false);
    }

    /// The kernel OOM-kills the container (exit code 137, `oom_killed`).
    pub fn oom_kill(&self, container: &str) {
        let mut st = self.state.lock();
        let id = must_find(&st, container);
        self.emit(&st, &id, ContainerEventKind::Oom, &[]);
        self.terminate(&mut st, &id, 137, true);
    }

    /// The health check reports `status` (Docker emits `health_status`).
    pub fn set_health(&self, container: &str, status: HealthStatus) {
        let mut st = self.state.lock();
        let id = must_find(&st, container);
        st.containers.get_mut(&id).unwrap().info.health = status;
        self.emit(&st, &id, ContainerEventKind::Health(status), &[]);
    }

    /// The container writes a line.
    pub fn push_log(&self, container: &str, stream: LogStream, message: &str) {
        let mut st = self.state.lock();
        let id = must_find(&st, container);
        let line = LogLine {
            stream,
            timestamp: Some(SystemTime::now()),
            message: message.into(),
        };
        st.containers.get_mut(&id).unwrap().logs.push(line);
    }

    /// SIGTERM no longer ends the container: `stop` has to wait and SIGKILL.
    pub fn ignore_sigterm(&self, container: &str) {
        let mut st = self.state.lock();
        let id = must_find(&st, container);
        st.containers.get_mut(&id).unwrap().ignores_sigterm = true;
    }

    /// The spec a container was created from.
    pub fn spec(&self, container: &str) -> ContainerSpec {
        let st = self.state.lock();
        let id = must_find(&st, container);
        st.containers[&id].spec.clone()
    }

    pub fn container_ids(&self) -> Vec<String> {
        self.state.lock().containers.keys().cloned().collect()
    }

    // ---- internals ---------------------------------------------------------

    fn next_hex_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        hex::encode(Sha256::digest(format!("ecsbox-fake-{n}").as_bytes()))
    }

    fn new_image(&self, reference: &str) -> ImageInfo {
        let id = format!("sha256:{}", self.next_hex_id());
        let repo = reference.split([':', '@']).next().unwrap_or(reference);
        let repo_digest = Some(format!("{repo}@sha256:{}", self.next_hex_id()));
        ImageInfo {
            id,
            repo_digest,
            reference: reference.to_string(),
        }
    }

    fn emit(&self, st: &FakeState, id: &str, kind: ContainerEventKind, extra: &[(&str, String)]) {
        let c = &st.containers[id];
        let mut attributes = c.info.labels.clone();
        attributes.insert("name".into(), c.info.name.clone());
        attributes.insert("image".into(), c.spec.image.clone());
        for (k, v) in extra {
            attributes.insert(k.to_string(), v.clone());
        }
        let event = ContainerEvent {
            container_id: id.to_string(),
            container_name: c.info.name.clone(),
            kind,
            time: SystemTime::now(),
            attributes,
        };
        // No subscriber is fine: Docker does not keep events either.
        let _ = self.events.send(Broadcast {
            labels: c.info.labels.clone(),
            event: RuntimeEvent::Container(event),
        });
    }

    /// The process ends: ports and addresses are released, `die` is sent.
    fn terminate(&self, st: &mut FakeState, id: &str, code: i64, oom: bool) {
        let c = st.containers.get_mut(id).unwrap();
        if c.info.status != ContainerStatus::Running {
            return;
        }
        c.info.status = ContainerStatus::Exited;
        c.info.exit_code = Some(code);
        c.info.oom_killed = oom;
        c.info.finished_at = Some(SystemTime::now());
        c.info.ports.clear();
        for endpoint in c.info.networks.values_mut() {
            endpoint.ip_address = None;
            endpoint.mac_address = None;
        }
        self.emit(
            st,
            id,
            ContainerEventKind::Die {
                exit_code: Some(code),
            },
            &[("exitCode", code.to_string())],
        );
    }

    fn signal(&self, st: &mut FakeState, id: &str, signal: i64) {
        self.emit(
            st,
            id,
            ContainerEventKind::Kill {
                signal: Some(signal.to_string()),
            },
            &[("signal", signal.to_string())],
        );
        let ignores = st.containers[id].ignores_sigterm && signal == 15;
        if matches!(signal, 1 | 2 | 3 | 9 | 15) && !ignores {
            self.terminate(st, id, 128 + signal, false);
        }
    }

    fn start_locked(&self, st: &mut FakeState, id: &str) -> Result<()> {
        let spec = st.containers[id].spec.clone();
        if st.containers[id].info.status == ContainerStatus::Running {
            return Ok(()); // Docker answers 304 Not Modified.
        }
        if let NetworkMode::Container(other) = &spec.network_mode {
            let target = find(st, other)
                .ok_or_else(|| RuntimeError::NotFound(format!("No such container: {other}")))?;
            if st.containers[&target].info.status != ContainerStatus::Running {
                return Err(RuntimeError::Engine(format!(
                    "cannot join network of a non running container: {target}"
                )));
            }
        }
        let ports = allocate_ports(st, id, &spec.port_bindings)?;
        let networks = attach_networks(st, id, &spec)?;
        let c = st.containers.get_mut(id).unwrap();
        c.info.ports = ports;
        c.info.networks = networks;
        c.info.status = ContainerStatus::Running;
        c.info.exit_code = None;
        c.info.oom_killed = false;
        c.info.started_at = Some(SystemTime::now());
        c.info.finished_at = None;
        c.info.health = initial_health(&spec);
        self.emit(st, id, ContainerEventKind::Start, &[]);
        Ok(())
    }

    fn resolve_image(&self, st: &FakeState, reference: &str) -> Option<ImageInfo> {
        lookup_candidates(reference)
            .iter()
            .find_map(|r| st.images.get(r).cloned())
    }
}

/// Where the engine keeps a local volume's data.
fn volume_mountpoint(name: &str) -> String {
    format!("/var/lib/docker/volumes/{name}/_data")
}

fn new_volume(spec: &VolumeSpec) -> Result<VolumeInfo> {
    let valid = spec.name.len() >= 2
        && spec.name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && spec
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return Err(RuntimeError::Engine(format!(
            "create {0}: \"{0}\" includes invalid characters for a local volume name, only \
             \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, \
             use absolute path",
            spec.name
        )));
    }
    Ok(VolumeInfo {
        name: spec.name.clone(),
        driver: spec
            .driver
            .clone()
            .unwrap_or_else(|| LOCAL_VOLUME_DRIVER.into()),
        mountpoint: volume_mountpoint(&spec.name),
        labels: spec.labels.clone(),
        options: spec.driver_opts.clone(),
    })
}

fn no_such_volume(name: &str) -> RuntimeError {
    RuntimeError::NotFound(format!("get {name}: no such volume"))
}

/// A new container's mounts as Docker sets them up at create: those of
/// each volumes-from source (read-only if asked, else in their own mode),
/// then its own, which win at the same path. A named volume that does not
/// exist is created (local driver, no labels) unless only a subpath of it
/// is wanted.
fn effective_mounts(st: &mut FakeState, spec: &ContainerSpec) -> Result<Vec<Mount>> {
    let mut inherited = Vec::new();
    for from in &spec.volumes_from {
        let source = find_or_404(st, &from.container)?;
        inherited.extend(st.containers[&source].mounts.iter().map(|m| Mount {
            read_only: m.read_only || from.read_only,
            ..m.clone()
        }));
    }
    for mount in &spec.mounts {
        let MountSource::Volume { name, subpath } = &mount.source else {
            continue;
        };
        if st.volumes.contains_key(name) {
            continue;
        }
        if subpath.is_some() {
            return Err(no_such_volume(name));
        }
        let volume = new_volume(&VolumeSpec {
            name: name.clone(),
            ..Default::default()
        })?;
        st.volumes.insert(name.clone(), volume);
    }
    let own_paths: Vec<&str> = spec
        .mounts
        .iter()
        .map(|m| m.container_path.as_str())
        .collect();
    inherited.retain(|m| !own_paths.contains(&m.container_path.as_str()));
    inherited.extend(spec.mounts.iter().cloned());
    Ok(inherited)
}

fn mount_info(m: &Mount) -> MountInfo {
    match &m.source {
        MountSource::HostPath(path) => MountInfo {
            kind: MountKind::Bind,
            name: None,
            source: path.clone(),
            destination: m.container_path.clone(),
            read_only: m.read_only,
        },
        MountSource::Volume { name, subpath } => {
            let mut source = volume_mountpoint(name);
            if let Some(sub) = subpath {
                source = format!("{source}/{}", sub.trim_matches('/'));
            }
            MountInfo {
                // Docker reports a resolved subpath as the bind it became.
                kind: if subpath.is_some() {
                    MountKind::Bind
                } else {
                    MountKind::Volume
                },
                name: subpath.is_none().then(|| name.clone()),
                source,
                destination: m.container_path.clone(),
                read_only: m.read_only,
            }
        }
    }
}

fn uses_volume(c: &FakeContainer, volume: &str) -> bool {
    c.mounts
        .iter()
        .any(|m| matches!(&m.source, MountSource::Volume { name, .. } if name == volume))
}

fn initial_health(spec: &ContainerSpec) -> HealthStatus {
    match &spec.health_check {
        Some(h) if h.test.first().map(String::as_str) != Some("NONE") => HealthStatus::Starting,
        _ => HealthStatus::None,
    }
}

/// Id, unique id prefix or name, as Docker resolves them.
fn find(st: &FakeState, key: &str) -> Option<String> {
    if st.containers.contains_key(key) {
        return Some(key.to_string());
    }
    let by_name = st
        .containers
        .iter()
        .find(|(_, c)| c.info.name == key.trim_start_matches('/'));
    if let Some((id, _)) = by_name {
        return Some(id.clone());
    }
    let prefixed: Vec<&String> = st
        .containers
        .keys()
        .filter(|id| !key.is_empty() && id.starts_with(key))
        .collect();
    (prefixed.len() == 1).then(|| prefixed[0].clone())
}

fn must_find(st: &FakeState, key: &str) -> String {
    find(st, key).unwrap_or_else(|| panic!("fake runtime: no container {key}"))
}

/// Docker's answer to a container name that another container has.
fn name_in_use(name: &str, other: &str) -> RuntimeError {
    RuntimeError::Conflict(format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{other}\". \
         You have to remove (or rename) that container to be able to reuse that name."
    ))
}

fn find_or_404(st: &FakeState, key: &str) -> Result<String> {
    find(st, key).ok_or_else(|| RuntimeError::NotFound(format!("No such container: {key}")))
}

fn find_network(st: &FakeState, key: &str) -> Option<String> {
    st.networks
        .iter()
        .find(|(id, n)| {
            *id == key || n.info.name == key || (key.len() >= 12 && id.starts_with(key))
        })
        .map(|(id, _)| id.clone())
}

/// Host ports for a starting container: dynamic ones from 32768 up, static
/// ones refused when another running container holds them (as Docker does).
fn allocate_ports(
    st: &mut FakeState,
    id: &str,
    bindings: &[PortBinding],
) -> Result<Vec<PublishedPort>> {
    let taken: Vec<(u16, Protocol)> = st
        .containers
        .iter()
        .filter(|(other, c)| *other != id && c.info.status == ContainerStatus::Running)
        .flat_map(|(_, c)| c.info.ports.iter().map(|p| (p.host_port, p.protocol)))
        .collect();
    let mut out = Vec::new();
    for b in bindings {
        let host_port = if b.host_port == 0 {
            let p = st.next_dynamic_port;
            st.next_dynamic_port = st
                .next_dynamic_port
                .checked_add(1)
                .unwrap_or(FIRST_DYNAMIC_PORT);
            p
        } else if taken.contains(&(b.host_port, b.protocol)) {
            return Err(RuntimeError::Engine(format!(
                "driver failed programming external connectivity on endpoint {id}: \
                 Bind for 0.0.0.0:{} failed: port is already allocated",
                b.host_port
            )));
        } else {
            b.host_port
        };
        let host_ip = b.host_ip.clone().unwrap_or_else(|| "0.0.0.0".into());
        out.push(PublishedPort {
            container_port: b.container_port,
            protocol: b.protocol,
            host_ip,
            host_port,
        });
    }
    out.sort();
    Ok(out)
}

/// Addresses on the bridge or on user networks; none for host, none and
/// `container:` modes (Docker reports none there either).
fn attach_networks(
    st: &mut FakeState,
    id: &str,
    spec: &ContainerSpec,
) -> Result<std::collections::BTreeMap<String, NetworkEndpoint>> {
    let mut wanted: Vec<(String, Option<String>)> = st.containers[id].extra_networks.clone();
    match &spec.network_mode {
        NetworkMode::Bridge => wanted.insert(0, ("bridge".into(), None)),
        NetworkMode::Network {
            name, ipv4_address, ..
        } => wanted.insert(0, (name.clone(), ipv4_address.clone())),
        _ => {}
    }
    let mut out = std::collections::BTreeMap::new();
    for (network, ip) in wanted {
        out.insert(network.clone(), endpoint_on(st, &network, ip)?);
    }
    Ok(out)
}

fn endpoint_on(
    st: &mut FakeState,
    network: &str,
    fixed_ip: Option<String>,
) -> Result<NetworkEndpoint> {
    if network == "bridge" {
        let host = st.next_bridge_host;
        st.next_bridge_host += 1;
        return Ok(endpoint(
            "bridge-fake".into(),
            host_address(BRIDGE_SUBNET, host),
            BRIDGE_SUBNET.1,
        ));
    }
    let net_id = find_network(st, network)
        .ok_or_else(|| RuntimeError::NotFound(format!("network {network} not found")))?;
    let in_use = |ip: &str| {
        st.containers.values().any(|c| {
            c.info.status == ContainerStatus::Running
                && c.info
                    .networks
                    .values()
                    .any(|e| e.network_id == net_id && e.ip_address.as_deref() == Some(ip))
        })
    };
    if let Some(ip) = &fixed_ip {
        if in_use(ip) {
            return Err(RuntimeError::Engine("Address already in use".into()));
        }
    }
    let subnet = st.networks[&net_id]
        .info
        .subnet
        .as_deref()
        .and_then(parse_cidr)
        .unwrap_or((Ipv4Addr::new(172, 18, 0, 0), 16));
    let ip = match fixed_ip {
        Some(ip) => ip,
        None => {
            let n = st.networks.get_mut(&net_id).unwrap();
            n.next_host += 1;
            host_address(subnet, n.next_host).to_string()
        }
    };
    Ok(endpoint(net_id, ip.parse().unwrap_or(subnet.0), subnet.1))
}

fn endpoint(network_id: String, ip: Ipv4Addr, prefix: u8) -> NetworkEndpoint {
    let o = ip.octets();
    NetworkEndpoint {
        network_id,
        ip_address: Some(ip.to_string()),
        ip_prefix_len: Some(prefix),
        gateway: Some(host_address((ip, prefix), 1).to_string()),
        // Docker derives the MAC from the IP the same way.
        mac_address: Some(format!(
            "02:42:{:02x}:{:02x}:{:02x}:{:02x}",
            o[0], o[1], o[2], o[3]
        )),
    }
}

fn parse_cidr(cidr: &str) -> Option<(Ipv4Addr, u8)> {
    let (ip, prefix) = cidr.split_once('/')?;
    Some((ip.parse().ok()?, prefix.parse().ok().filter(|p| *p <= 32)?))
}

/// The `host`-th address of a subnet.
fn host_address((base, prefix): (Ipv4Addr, u8), host: u32) -> Ipv4Addr {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    };
    Ipv4Addr::from((u32::from(base) & mask) | (host & !mask))
}

/// A stats document with Docker's shape: plausible, steadily growing
/// numbers for a running container; zeros and Docker's "never" time for one
/// that is not running, as the engine answers then.
fn fake_stats(info: &ContainerInfo) -> ContainerStats {
    use super::timestamp::format_rfc3339_nanos;
    use serde_json::json;
    let running = info.status == ContainerStatus::Running;
    let now = SystemTime::now();
    let up = info
        .started_at
        .and_then(|s| now.duration_since(s).ok())
        .unwrap_or_default();
    let cpu_ns = if running {
        1_000_000 + up.as_nanos() as u64 / 100
    } else {
        0
    };
    let (read, preread) = if running {
        let before = now - Duration::from_secs(1);
        (format_rfc3339_nanos(now), format_rfc3339_nanos(before))
    } else {
        let never = "0001-01-01T00:00:00Z".to_string();
        (never.clone(), never)
    };
    let cpu = |total: u64| {
        json!({
            "cpu_usage": {"total_usage": total, "usage_in_kernelmode": total / 4, "usage_in_usermode": total * 3 / 4},
            "system_cpu_usage": if running { 10_000_000_000u64 + up.as_nanos() as u64 } else { 0 },
            "online_cpus": if running { 4 } else { 0 },
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}
        })
    };
    let networks: serde_json::Map<String, serde_json::Value> = info
        .networks
        .keys()
        .enumerate()
        .filter(|_| running)
        .map(|(i, _)| {
            let counters = json!({"rx_bytes": 1296, "rx_packets": 16, "rx_errors": 0, "rx_dropped": 0,
                                  "tx_bytes": 0, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0});
            (format!("eth{i}"), counters)
        })
        .collect();
    let mut doc = json!({
        "name": format!("/{}", info.name),
        "id": info.id,
        "read": read,
        "preread": preread,
        "pids_stats": {"current": u64::from(running)},
        "blkio_stats": {"io_service_bytes_recursive": null, "io_serviced_recursive": null},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu(cpu_ns),
        "precpu_stats": cpu(cpu_ns.saturating_sub(500_000)),
        "memory_stats": if running {
            json!({"usage": 4_194_304, "limit": info.memory_bytes.unwrap_or(8 << 30), "stats": {"cache": 0, "rss": 2_097_152}})
        } else {
            json!({})
        },
    });
    if !networks.is_empty() {
        doc["networks"] = serde_json::Value::Object(networks);
    }
    ContainerStats(doc)
}

/// `SIGKILL`, `KILL` or `9` to 9, for the signals the fake knows.
fn signal_number(signal: &str) -> Option<i64> {
    let name = signal.trim_start_matches("SIG");
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    Some(match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "TERM" => 15,
        _ => return None,
    })
}

#[async_trait]
impl ContainerRuntime for FakeRuntime {
    async fn engine_info(&self) -> Result<EngineInfo> {
        Ok(self.engine.lock().clone())
    }

    async fn image(&self, reference: &str) -> Result<Option<ImageInfo>> {
        Ok(self.resolve_image(&self.state.lock(), reference))
    }

    async fn ensure_image(&self, reference: &str) -> Result<ImageInfo> {
        let mut st = self.state.lock();
        if let Some(found) = self.resolve_image(&st, reference) {
            return Ok(found);
        }
        st.pulls.push(reference.to_string());
        let pulled = st.pullable.get(reference).cloned().ok_or_else(|| {
            let repo = reference.split([':', '@']).next().unwrap_or(reference);
            RuntimeError::PullFailed {
                reference: reference.to_string(),
                local_reference: local_reference(reference),
                message: format!(
                    "Error response from daemon: pull access denied for {repo}, repository does \
                     not exist or may require 'docker login'"
                ),
            }
        })?;
        st.images.insert(reference.to_string(), pulled.clone());
        Ok(pulled)
    }

    async fn pull_image(
        &self,
        reference: &str,
        credentials: &RegistryCredentials,
    ) -> Result<ImageInfo> {
        let mut st = self.state.lock();
        st.pulls.push(reference.to_string());
        st.authenticated_pulls
            .push((reference.to_string(), credentials.clone()));
        let pulled =
            st.pullable
                .get(reference)
                .cloned()
                .ok_or_else(|| RuntimeError::PullFailed {
                    reference: reference.to_string(),
                    local_reference: reference.to_string(),
                    message: format!(
                        "Error response from daemon: manifest for {reference} not found"
                    ),
                })?;
        st.images.insert(reference.to_string(), pulled.clone());
        Ok(pulled)
    }

    async fn import_image(
        &self,
        _rootfs_tar: Vec<u8>,
        reference: &str,
        _cmd: &[String],
    ) -> Result<()> {
        self.add_image(reference);
        Ok(())
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<String> {
        let mut st = self.state.lock();
        if st.networks.values().any(|n| n.info.name == spec.name) {
            return Err(RuntimeError::Conflict(format!(
                "network with name {} already exists",
                spec.name
            )));
        }
        let id = self.next_hex_id();
        let info = NetworkInfo {
            id: id.clone(),
            name: spec.name.clone(),
            driver: "bridge".into(),
            labels: spec.labels.clone(),
            subnet: spec.subnet.clone(),
            gateway: spec.gateway.clone(),
        };
        st.networks
            .insert(id.clone(), FakeNetwork { info, next_host: 1 });
        Ok(id)
    }

    async fn remove_network(&self, network: &str) -> Result<()> {
        let mut st = self.state.lock();
        let id = find_network(&st, network)
            .ok_or_else(|| RuntimeError::NotFound(format!("network {network} not found")))?;
        let active = st.containers.values().any(|c| {
            c.info.status == ContainerStatus::Running
                && c.info.networks.values().any(|e| e.network_id == id)
        });
        if active {
            return Err(RuntimeError::Conflict(format!(
                "error while removing network: network {network} id {id} has active endpoints"
            )));
        }
        st.networks.remove(&id);
        Ok(())
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        ipv4_address: Option<&str>,
    ) -> Result<()> {
        let mut st = self.state.lock();
        let id = find_or_404(&st, container)?;
        let ip = ipv4_address.map(str::to_string);
        // Docker's default bridge is not among the fake's made networks.
        let (net_id, name) = if network == "bridge" {
            (network.to_string(), network.to_string())
        } else {
            let net_id = find_network(&st, network)
                .ok_or_else(|| RuntimeError::NotFound(format!("network {network} not found")))?;
            let name = st.networks[&net_id].info.name.clone();
            (net_id, name)
        };
        if st.containers[&id].info.networks.contains_key(&name) {
            return Err(RuntimeError::Engine(format!(
                "endpoint with name {container} already exists in network {name}"
            )));
        }
        if st.containers[&id].info.status == ContainerStatus::Running {
            let endpoint = endpoint_on(&mut st, &net_id, ip.clone())?;
            st.containers
                .get_mut(&id)
                .unwrap()
                .info
                .networks
                .insert(name.clone(), endpoint);
        }
        st.containers
            .get_mut(&id)
            .unwrap()
            .extra_networks
            .push((name, ip));
        Ok(())
    }

    async fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        let mut st = self.state.lock();
        let net_id = find_network(&st, network)
            .ok_or_else(|| RuntimeError::NotFound(format!("network {network} not found")))?;
        let id = find_or_404(&st, container)?;
        let name = st.networks[&net_id].info.name.clone();
        let c = st.containers.get_mut(&id).unwrap();
        let attached = c.info.networks.remove(&name).is_some();
        let before = c.extra_networks.len();
        c.extra_networks.retain(|(n, _)| *n != name);
        if !attached && c.extra_networks.len() == before {
            return Err(RuntimeError::Conflict(format!(
                "container {container} is not connected to network {network}"
            )));
        }
        Ok(())
    }

    async fn list_networks(&self, filters: &[LabelFilter]) -> Result<Vec<NetworkInfo>> {
        let st = self.state.lock();
        Ok(st
            .networks
            .values()
            .filter(|n| all_match(filters, &n.info.labels))
            .map(|n| n.info.clone())
            .collect())
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<VolumeInfo> {
        let mut st = self.state.lock();
        let wanted = new_volume(spec)?;
        if let Some(existing) = st.volumes.get(&spec.name) {
            if existing.driver != wanted.driver {
                return Err(RuntimeError::Conflict(format!(
                    "create {0}: volume name {0} already in use with driver \"{1}\"",
                    spec.name, existing.driver
                )));
            }
            return Ok(existing.clone());
        }
        st.volumes.insert(spec.name.clone(), wanted.clone());
        Ok(wanted)
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeInfo> {
        let st = self.state.lock();
        st.volumes
            .get(name)
            .cloned()
            .ok_or_else(|| no_such_volume(name))
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut st = self.state.lock();
        if !st.volumes.contains_key(name) {
            return Err(no_such_volume(name));
        }
        let users: Vec<&str> = st
            .containers
            .iter()
            .filter(|(_, c)| uses_volume(c, name))
            .map(|(id, _)| id.as_str())
            .collect();
        if !users.is_empty() {
            return Err(RuntimeError::Conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(", ")
            )));
        }
        st.volumes.remove(name);
        Ok(())
    }

    async fn list_volumes(&self, filters: &[LabelFilter]) -> Result<Vec<VolumeInfo>> {
        let st = self.state.lock();
        Ok(st
            .volumes
            .values()
            .filter(|v| all_match(filters, &v.labels))
            .cloned()
            .collect())
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let mut st = self.state.lock();
        let image = self.resolve_image(&st, &spec.image).ok_or_else(|| {
            RuntimeError::NotFound(format!("No such image: {}", local_reference(&spec.image)))
        })?;
        if let NetworkMode::Network { name, .. } = &spec.network_mode {
            find_network(&st, name)
                .ok_or_else(|| RuntimeError::NotFound(format!("network {name} not found")))?;
        }
        let id = self.next_hex_id();
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("fake_{}", &id[..12]));
        if let Some((other, _)) = st.containers.iter().find(|(_, c)| c.info.name == name) {
            return Err(name_in_use(&name, other));
        }
        let mounts = effective_mounts(&mut st, spec)?;
        let info = ContainerInfo {
            id: id.clone(),
            name,
            image_id: image.id,
            labels: spec.labels.clone(),
            network_mode: spec.network_mode.to_docker(),
            memory_bytes: spec.memory_bytes,
            memory_reservation_bytes: spec.memory_reservation_bytes,
            nano_cpus: spec.nano_cpus,
            cpu_shares: spec.cpu_shares,
            mounts: mounts.iter().map(mount_info).collect(),
            created_at: Some(SystemTime::now()),
            ..Default::default()
        };
        let container = FakeContainer {
            spec: spec.clone(),
            info,
            extra_networks: vec![],
            logs: vec![],
            ignores_sigterm: false,
            mounts,
        };
        st.containers.insert(id.clone(), container);
        self.emit(&st, &id, ContainerEventKind::Create, &[]);
        Ok(id)
    }

    async fn start_container(&self, container: &str) -> Result<()> {
        let exited = {
            let mut st = self.state.lock();
            let id = find_or_404(&st, container)?;
            self.start_locked(&mut st, &id)?;
            let code = st
                .exit_at_start
                .get(&st.containers[&id].spec.image)
                .copied();
            if let Some(code) = code {
                self.terminate(&mut st, &id, code, false);
            }
            code.is_some()
        };
        if exited {
            // The answer comes late: whoever watches the events sees the
            // container die before its start returns.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    async fn stop_container(&self, container: &str, timeout: Duration) -> Result<()> {
        let id = {
            let mut st = self.state.lock();
            let id = find_or_404(&st, container)?;
            if st.containers[&id].info.status != ContainerStatus::Running {
                return Ok(()); // Docker answers 304 Not Modified.
            }
            self.signal(&mut st, &id, 15);
            id
        };
        let still_running =
            self.state.lock().containers[&id].info.status == ContainerStatus::Running;
        if still_running {
            tokio::time::sleep(timeout).await;
        }
        let mut st = self.state.lock();
        if st
            .containers
            .get(&id)
            .is_some_and(|c| c.info.status == ContainerStatus::Running)
        {
            self.signal(&mut st, &id, 9);
        }
        if st.containers.contains_key(&id) {
            self.emit(&st, &id, ContainerEventKind::Stop, &[]);
        }
        Ok(())
    }

    async fn kill_container(&self, container: &str, signal: &str) -> Result<()> {
        let mut st = self.state.lock();
        let id = find_or_404(&st, container)?;
        let number = signal_number(signal)
            .ok_or_else(|| RuntimeError::Engine(format!("Invalid signal: {signal}")))?;
        if st.containers[&id].info.status != ContainerStatus::Running {
            return Err(RuntimeError::Conflict(format!(
                "Container {id} is not running"
            )));
        }
        self.signal(&mut st, &id, number);
        Ok(())
    }

    async fn remove_container(&self, container: &str, options: RemoveOptions) -> Result<()> {
        let mut st = self.state.lock();
        let id = find_or_404(&st, container)?;
        if st.containers[&id].info.status == ContainerStatus::Running {
            if !options.force {
                return Err(RuntimeError::Conflict(format!(
                    "You cannot remove a running container {id}. Stop the container before \
                     attempting removal or force remove"
                )));
            }
            self.signal(&mut st, &id, 9);
        }
        self.emit(&st, &id, ContainerEventKind::Destroy, &[]);
        st.containers.remove(&id);
        Ok(())
    }

    async fn rename_container(&self, container: &str, new_name: &str) -> Result<()> {
        let mut st = self.state.lock();
        let id = find_or_404(&st, container)?;
        if let Some((other, _)) = st
            .containers
            .iter()
            .find(|(other, c)| c.info.name == new_name && **other != id)
        {
            return Err(name_in_use(new_name, other));
        }
        st.containers.get_mut(&id).expect("found above").info.name = new_name.to_string();
        Ok(())
    }

    async fn inspect_container(&self, container: &str) -> Result<ContainerInfo> {
        let st = self.state.lock();
        let id = find_or_404(&st, container)?;
        Ok(st.containers[&id].info.clone())
    }

    async fn list_containers(&self, filters: &[LabelFilter]) -> Result<Vec<ContainerSummary>> {
        let st = self.state.lock();
        Ok(st
            .containers
            .values()
            .filter(|c| all_match(filters, &c.info.labels))
            .map(|c| ContainerSummary {
                id: c.info.id.clone(),
                name: c.info.name.clone(),
                image: c.spec.image.clone(),
                labels: c.info.labels.clone(),
                status: c.info.status,
            })
            .collect())
    }

    async fn logs(&self, container: &str) -> Result<Vec<LogLine>> {
        let st = self.state.lock();
        let id = find_or_404(&st, container)?;
        Ok(st.containers[&id].logs.clone())
    }

    /// The fake's lines so far (it has no live output to follow).
    fn follow_logs(&self, container: &str) -> BoxStream<'static, LogLine> {
        let st = self.state.lock();
        let lines = find_or_404(&st, container)
            .map(|id| st.containers[&id].logs.clone())
            .unwrap_or_default();
        stream::iter(lines).boxed()
    }

    async fn stats(&self, container: &str) -> Result<ContainerStats> {
        let st = self.state.lock();
        let id = find_or_404(&st, container)?;
        Ok(fake_stats(&st.containers[&id].info))
    }

    fn events(&self, filters: &[LabelFilter]) -> BoxStream<'static, RuntimeEvent> {
        let filters = filters.to_vec();
        let receiver = self.events.subscribe();
        stream::unfold(receiver, move |mut rx| {
            let filters = filters.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok(b) if all_match(&filters, &b.labels) => return Some((b.event, rx)),
                        Ok(_) => continue,
                        // A slow consumer missed events: same contract as a
                        // broken engine stream.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            return Some((RuntimeEvent::Reconnected, rx))
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const IMAGE: &str = "web:1";

    fn fake() -> Arc<FakeRuntime> {
        let f = Arc::new(FakeRuntime::new());
        f.add_image(IMAGE);
        f
    }

    fn spec(labels: &[(&str, &str)]) -> ContainerSpec {
        ContainerSpec {
            image: IMAGE.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    async fn next_kind(events: &mut BoxStream<'static, RuntimeEvent>) -> ContainerEventKind {
        match tokio::time::timeout(Duration::from_secs(2), events.next()).await {
            Ok(Some(RuntimeEvent::Container(e))) => e.kind,
            other => panic!("expected a container event, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn container_runs_until_told_to_exit() {
        let f = fake();
        let rt: Arc<dyn ContainerRuntime> = f.clone();
        let mut events = rt.events(&[]);
        let id = rt.create_container(&spec(&[])).await.unwrap();
        rt.start_container(&id).await.unwrap();
        assert_eq!(
            rt.inspect_container(&id).await.unwrap().status,
            ContainerStatus::Running
        );
        f.exit(&id, 3);
        let info = rt.inspect_container(&id).await.unwrap();
        assert_eq!(
            (info.status, info.exit_code),
            (ContainerStatus::Exited, Some(3))
        );
        assert!(info.started_at.is_some() && info.finished_at.is_some());
        assert_eq!(next_kind(&mut events).await, ContainerEventKind::Create);
        assert_eq!(next_kind(&mut events).await, ContainerEventKind::Start);
        assert_eq!(
            next_kind(&mut events).await,
            ContainerEventKind::Die { exit_code: Some(3) }
        );
    }

    #[tokio::test]
    async fn absent_image_fails_create_and_pull() {
        let f = fake();
        let missing = ContainerSpec {
            image: "nope:1".into(),
            ..Default::default()
        };
        assert!(f
            .create_container(&missing)
            .await
            .unwrap_err()
            .is_not_found());
        let err = f.ensure_image("nope:1").await.unwrap_err();
        assert!(matches!(err, RuntimeError::PullFailed { .. }), "{err:?}");
        assert!(
            err.to_string().contains("not present on the local engine"),
            "{err}"
        );
        f.allow_pull("nope:1");
        assert_eq!(f.ensure_image("nope:1").await.unwrap().reference, "nope:1");
        assert_eq!(f.pulls(), vec!["nope:1".to_string(), "nope:1".to_string()]);
    }

    #[tokio::test]
    async fn ecr_uri_finds_the_local_image_without_pulling() {
        let f = fake();
        let uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1";
        let found = f.ensure_image(uri).await.unwrap();
        assert_eq!(found.reference, IMAGE);
        assert!(f.pulls().is_empty());
        let s = ContainerSpec {
            image: uri.into(),
            ..Default::default()
        };
        f.create_container(&s).await.unwrap();
    }

    #[tokio::test]
    async fn dynamic_ports_differ_and_static_ports_collide() {
        let f = fake();
        let mut s = spec(&[]);
        s.port_bindings = vec![PortBinding {
            container_port: 80,
            ..Default::default()
        }];
        let a = f.create_container(&s).await.unwrap();
        let b = f.create_container(&s).await.unwrap();
        f.start_container(&a).await.unwrap();
        f.start_container(&b).await.unwrap();
        let pa = f.inspect_container(&a).await.unwrap().ports[0].host_port;
        let pb = f.inspect_container(&b).await.unwrap().ports[0].host_port;
        assert!(pa >= FIRST_DYNAMIC_PORT && pa != pb);

        s.port_bindings[0].host_port = 8080;
        let c = f.create_container(&s).await.unwrap();
        let d = f.create_container(&s).await.unwrap();
        f.start_container(&c).await.unwrap();
        let err = f.start_container(&d).await.unwrap_err();
        assert!(
            err.to_string().contains("port is already allocated"),
            "{err}"
        );
        f.exit(&c, 0);
        f.start_container(&d).await.unwrap();
    }

    #[tokio::test]
    async fn health_is_settable_and_reported() {
        let f = fake();
        let mut s = spec(&[]);
        s.health_check = Some(HealthCheck {
            test: vec!["CMD-SHELL".into(), "true".into()],
            ..Default::default()
        });
        let id = f.create_container(&s).await.unwrap();
        let mut events = f.events(&[]);
        f.start_container(&id).await.unwrap();
        assert_eq!(
            f.inspect_container(&id).await.unwrap().health,
            HealthStatus::Starting
        );
        f.set_health(&id, HealthStatus::Unhealthy);
        assert_eq!(
            f.inspect_container(&id).await.unwrap().health,
            HealthStatus::Unhealthy
        );
        assert_eq!(next_kind(&mut events).await, ContainerEventKind::Start);
        assert_eq!(
            next_kind(&mut events).await,
            ContainerEventKind::Health(HealthStatus::Unhealthy)
        );
    }

    #[tokio::test]
    async fn stop_sends_sigterm_then_sigkill_after_the_timeout() {
        let f = fake();
        let a = f.create_container(&spec(&[])).await.unwrap();
        f.start_container(&a).await.unwrap();
        f.stop_container(&a, Duration::from_secs(30)).await.unwrap();
        assert_eq!(f.inspect_container(&a).await.unwrap().exit_code, Some(143));

        let b = f.create_container(&spec(&[])).await.unwrap();
        f.start_container(&b).await.unwrap();
        f.ignore_sigterm(&b);
        let mut events = f.events(&[]);
        let started = std::time::Instant::now();
        f.stop_container(&b, Duration::from_millis(200))
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(f.inspect_container(&b).await.unwrap().exit_code, Some(137));
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(next_kind(&mut events).await);
        }
        assert_eq!(
            got,
            vec![
                ContainerEventKind::Kill {
                    signal: Some("15".into())
                },
                ContainerEventKind::Kill {
                    signal: Some("9".into())
                },
                ContainerEventKind::Die {
                    exit_code: Some(137)
                },
                ContainerEventKind::Stop,
            ]
        );
    }

    #[tokio::test]
    async fn running_container_needs_force_to_remove() {
        let f = fake();
        let id = f.create_container(&spec(&[])).await.unwrap();
        f.start_container(&id).await.unwrap();
        let err = f
            .remove_container(
                &id,
                RemoveOptions {
                    force: false,
                    volumes: false,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, RuntimeError::Conflict(_)), "{err:?}");
        f.remove_container(
            &id,
            RemoveOptions {
                force: true,
                volumes: false,
            },
        )
        .await
        .unwrap();
        assert!(f.inspect_container(&id).await.unwrap_err().is_not_found());
    }

    #[tokio::test]
    async fn shared_namespace_needs_a_running_target() {
        let f = fake();
        let holder = f.create_container(&spec(&[])).await.unwrap();
        let mut s = spec(&[]);
        s.network_mode = NetworkMode::Container(holder.clone());
        let member = f.create_container(&s).await.unwrap();
        let err = f.start_container(&member).await.unwrap_err();
        assert!(err.to_string().contains("non running container"), "{err}");
        f.start_container(&holder).await.unwrap();
        f.start_container(&member).await.unwrap();
        assert!(f
            .inspect_container(&member)
            .await
            .unwrap()
            .networks
            .is_empty());
        assert_eq!(
            f.inspect_container(&member).await.unwrap().network_mode,
            format!("container:{holder}")
        );
    }

    #[tokio::test]
    async fn named_network_gives_fixed_and_allocated_ips() {
        let f = fake();
        let spec_net = NetworkSpec {
            name: "tasks".into(),
            subnet: Some("10.9.0.0/24".into()),
            ..Default::default()
        };
        f.create_network(&spec_net).await.unwrap();
        assert!(matches!(
            f.create_network(&spec_net).await,
            Err(RuntimeError::Conflict(_))
        ));
        let mut s = spec(&[]);
        s.network_mode = NetworkMode::Network {
            name: "tasks".into(),
            ipv4_address: Some("10.9.0.50".into()),
            aliases: vec![],
        };
        let a = f.create_container(&s).await.unwrap();
        f.start_container(&a).await.unwrap();
        let ep = &f.inspect_container(&a).await.unwrap().networks["tasks"];
        assert_eq!(ep.ip_address.as_deref(), Some("10.9.0.50"));
        assert_eq!(ep.gateway.as_deref(), Some("10.9.0.1"));
        let b = f.create_container(&spec(&[])).await.unwrap();
        f.start_container(&b).await.unwrap();
        f.connect_network("tasks", &b, None).await.unwrap();
        let ep = &f.inspect_container(&b).await.unwrap().networks["tasks"];
        assert_eq!(ep.ip_address.as_deref(), Some("10.9.0.2"));
        assert!(matches!(
            f.remove_network("tasks").await,
            Err(RuntimeError::Conflict(_))
        ));
    }

    #[tokio::test]
    async fn lists_and_events_follow_label_filters() {
        let f = fake();
        let mine = [LabelFilter::equals(crate::runtime::OWNER_LABEL, "me")];
        let mut events = f.events(&mine);
        let a = f
            .create_container(&spec(&[(crate::runtime::OWNER_LABEL, "me")]))
            .await
            .unwrap();
        let _other = f
            .create_container(&spec(&[(crate::runtime::OWNER_LABEL, "you")]))
            .await
            .unwrap();
        let listed: Vec<String> = f
            .list_containers(&mine)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(listed, vec![a.clone()]);
        assert_eq!(
            f.list_containers(&[LabelFilter::has(crate::runtime::OWNER_LABEL)])
                .await
                .unwrap()
                .len(),
            2
        );
        f.start_container(&a).await.unwrap();
        // Only `a`'s events arrive: create, then start.
        assert_eq!(next_kind(&mut events).await, ContainerEventKind::Create);
        assert_eq!(next_kind(&mut events).await, ContainerEventKind::Start);
    }

    #[tokio::test]
    async fn kill_reports_the_signal_and_exit_code() {
        let f = fake();
        let id = f.create_container(&spec(&[])).await.unwrap();
        f.start_container(&id).await.unwrap();
        let mut events = f.events(&[]);
        f.kill_container(&id, "SIGKILL").await.unwrap();
        assert_eq!(
            next_kind(&mut events).await,
            ContainerEventKind::Kill {
                signal: Some("9".into())
            }
        );
        assert_eq!(
            next_kind(&mut events).await,
            ContainerEventKind::Die {
                exit_code: Some(137)
            }
        );
        assert!(matches!(
            f.kill_container(&id, "KILL").await,
            Err(RuntimeError::Conflict(_))
        ));
    }

    #[tokio::test]
    async fn oom_kill_and_logs() {
        let f = fake();
        let id = f.create_container(&spec(&[])).await.unwrap();
        f.start_container(&id).await.unwrap();
        f.push_log(&id, LogStream::Stdout, "hello");
        f.oom_kill(&id);
        let info = f.inspect_container(&id).await.unwrap();
        assert!(info.oom_killed);
        assert_eq!(info.exit_code, Some(137));
        let logs = f.logs(&id).await.unwrap();
        assert_eq!(logs[0].message, "hello");
    }
}
