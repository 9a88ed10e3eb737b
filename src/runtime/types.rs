//! Plain data that crosses the `ContainerRuntime` interface: what to create
//! (specs) and what the engine reports (infos, events). Nothing here names a
//! bollard type, so controllers and the in-memory fake never depend on the
//! Docker client.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

/// Selects objects by one label: `key` present (any value) or `key=value`.
/// Several filters together mean all of them must match, as Docker does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LabelFilter {
    pub key: String,
    pub value: Option<String>,
}

impl LabelFilter {
    /// Objects that carry the label `key`, whatever its value.
    pub fn has(key: impl Into<String>) -> Self {
        LabelFilter {
            key: key.into(),
            value: None,
        }
    }

    /// Objects whose label `key` is exactly `value`.
    pub fn equals(key: impl Into<String>, value: impl Into<String>) -> Self {
        LabelFilter {
            key: key.into(),
            value: Some(value.into()),
        }
    }

    /// Docker's filter syntax: `key` or `key=value`.
    pub fn to_docker(&self) -> String {
        match &self.value {
            Some(v) => format!("{}={}", self.key, v),
            None => self.key.clone(),
        }
    }

    pub fn matches(&self, labels: &HashMap<String, String>) -> bool {
        match (&self.value, labels.get(&self.key)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(want), Some(got)) => want == got,
        }
    }
}

/// True when every filter matches (an empty list matches everything).
pub fn all_match(filters: &[LabelFilter], labels: &HashMap<String, String>) -> bool {
    filters.iter().all(|f| f.matches(labels))
}

/// What the engine says about itself; cpus and memory size the virtual
/// container instances a cluster can be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub arch: String,
    pub kernel_version: String,
    pub cpus: i64,
    pub memory_bytes: i64,
}

/// Credentials for one registry, as a pull sends them to the engine
/// (Docker's X-Registry-Auth): ecsbox's registry's login token, or a
/// container's `repositoryCredentials` secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    pub username: String,
    pub password: String,
    /// `HOST[:PORT]` of the registry.
    pub server: String,
}

impl std::fmt::Debug for RegistryCredentials {
    // The password stays out of logs and test failure output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredentials")
            .field("username", &self.username)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// A local image: the id Docker gives it and, when it came from a registry,
/// its `name@sha256:...` digest (what ECS reports as `imageDigest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    pub repo_digest: Option<String>,
    /// The local reference that matched (after ECR mapping), e.g. `web:1`:
    /// create containers from this one.
    pub reference: String,
}

/// A Docker network ecsbox manages (e.g. the one awsvpc tasks get IPs on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    pub labels: HashMap<String, String>,
    /// CIDR, e.g. `10.250.7.0/24`. Docker only accepts a fixed container IP
    /// on a network whose subnet was chosen by the user, so awsvpc needs it.
    pub subnet: Option<String>,
    pub gateway: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub labels: HashMap<String, String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
}

/// How a container is networked (Docker's `--network`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkMode {
    #[default]
    Bridge,
    Host,
    None,
    /// Share the network namespace of another container (id or name): how
    /// all containers of an awsvpc task reach each other on `localhost`.
    Container(String),
    /// A user-defined network, optionally with a fixed IPv4 address.
    Network {
        name: String,
        ipv4_address: Option<String>,
        aliases: Vec<String>,
    },
}

impl NetworkMode {
    /// A user-defined network (name or id), Docker's choice of address.
    pub fn network(name: &str) -> Self {
        NetworkMode::Network {
            name: name.to_string(),
            ipv4_address: None,
            aliases: vec![],
        }
    }

    /// Docker's `HostConfig.NetworkMode` string.
    pub fn to_docker(&self) -> String {
        match self {
            NetworkMode::Bridge => "bridge".into(),
            NetworkMode::Host => "host".into(),
            NetworkMode::None => "none".into(),
            NetworkMode::Container(id) => format!("container:{id}"),
            NetworkMode::Network { name, .. } => name.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            _ => None,
        }
    }
}

/// A port to publish on the host. `host_port` 0 asks Docker for a dynamic
/// port (ECS bridge mode's `hostPort: 0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortBinding {
    pub container_port: u16,
    pub protocol: Protocol,
    pub host_port: u16,
    /// None binds on all host interfaces.
    pub host_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// Docker health check. `test` is Docker's form: `["CMD", ...]`,
/// `["CMD-SHELL", "..."]` or `["NONE"]`, exactly as ECS `healthCheck.command`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCheck {
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
}

/// Where the data of a mount comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A directory of the engine's host (`docker run -v /srv/data:/data`).
    HostPath(String),
    /// A named Docker volume. Docker creates a missing one (local driver,
    /// no labels) when the container is created, so create it first when
    /// its driver or labels matter. `subpath` mounts only that directory of
    /// the volume (relative, no `..`), created if missing; the volume must
    /// exist then and use the `local` driver.
    Volume {
        name: String,
        subpath: Option<String>,
    },
}

/// A host directory or a named volume mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: MountSource,
    pub container_path: String,
    pub read_only: bool,
}

/// Docker's `--volumes-from`: the container gets every mount of
/// `container` (id or name, which must exist when this one is created) at
/// the same paths; `read_only` makes all of them read-only, otherwise each
/// keeps its own mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumesFrom {
    pub container: String,
    pub read_only: bool,
}

/// A named Docker volume to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSpec {
    pub name: String,
    /// None: Docker's `local` driver.
    pub driver: Option<String>,
    pub driver_opts: HashMap<String, String>,
    pub labels: HashMap<String, String>,
}

/// What the engine says about a named volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    pub driver: String,
    /// Where the volume's data is on the engine's host (local driver).
    pub mountpoint: String,
    pub labels: HashMap<String, String>,
    pub options: HashMap<String, String>,
}

/// The driver Docker uses when none is given.
pub const LOCAL_VOLUME_DRIVER: &str = "local";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MountKind {
    #[default]
    Bind,
    Volume,
    Tmpfs,
    Other,
}

/// One mount of a created container, as `docker inspect` reports it
/// (`Mounts[]`): binds, volumes, and those taken over with volumes-from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountInfo {
    pub kind: MountKind,
    /// The volume's name (volumes only).
    pub name: Option<String>,
    /// The path on the engine's host.
    pub source: String,
    pub destination: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub driver: String,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraHost {
    pub hostname: String,
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tmpfs {
    pub container_path: String,
    /// Mount options, e.g. `["size=64m", "noexec"]`.
    pub options: Vec<String>,
}

/// Everything needed to create one container. `None` / empty means Docker's
/// (or the image's) default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: Option<String>,
    pub image: String,
    pub labels: HashMap<String, String>,
    pub env: Vec<(String, String)>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub network_mode: NetworkMode,
    pub port_bindings: Vec<PortBinding>,
    pub cpu_shares: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub memory_reservation_bytes: Option<i64>,
    pub ulimits: Vec<Ulimit>,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<Duration>,
    pub extra_hosts: Vec<ExtraHost>,
    pub dns_servers: Vec<String>,
    pub dns_search_domains: Vec<String>,
    pub health_check: Option<HealthCheck>,
    pub mounts: Vec<Mount>,
    pub volumes_from: Vec<VolumesFrom>,
    pub log_config: Option<LogConfig>,
    pub init: bool,
    pub tty: bool,
    /// linuxParameters basics.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub shm_size_bytes: Option<i64>,
    pub tmpfs: Vec<Tmpfs>,
    pub sysctls: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoveOptions {
    /// Kill the container first if it is running.
    pub force: bool,
    /// Also remove its anonymous volumes.
    pub volumes: bool,
}

impl RemoveOptions {
    /// `docker rm -f -v`: how ecsbox removes what it owns, running or not.
    pub const FORCE: RemoveOptions = RemoveOptions {
        force: true,
        volumes: true,
    };
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContainerStatus {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerStatus {
    /// Docker's state string (`docker ps --filter status=`).
    pub fn parse(s: &str) -> Option<ContainerStatus> {
        Some(match s {
            "created" => ContainerStatus::Created,
            "running" => ContainerStatus::Running,
            "paused" => ContainerStatus::Paused,
            "restarting" => ContainerStatus::Restarting,
            "removing" => ContainerStatus::Removing,
            "exited" => ContainerStatus::Exited,
            "dead" => ContainerStatus::Dead,
            _ => return None,
        })
    }

    /// True once the container's process is gone for good.
    pub fn is_terminal(self) -> bool {
        matches!(self, ContainerStatus::Exited | ContainerStatus::Dead)
    }
}

/// Docker's health status of a container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HealthStatus {
    /// The container has no health check.
    #[default]
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn parse(s: &str) -> Option<HealthStatus> {
        Some(match s {
            "none" | "" => HealthStatus::None,
            "starting" => HealthStatus::Starting,
            "healthy" => HealthStatus::Healthy,
            "unhealthy" => HealthStatus::Unhealthy,
            _ => return None,
        })
    }
}

/// A container's address on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkEndpoint {
    pub network_id: String,
    pub ip_address: Option<String>,
    pub ip_prefix_len: Option<u8>,
    pub gateway: Option<String>,
    pub mac_address: Option<String>,
}

/// A container port published on the host (ECS `networkBindings`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublishedPort {
    pub container_port: u16,
    pub protocol: Protocol,
    pub host_ip: String,
    pub host_port: u16,
}

/// What `docker inspect` says about a container, in the terms ECS needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub image_id: String,
    pub labels: HashMap<String, String>,
    pub status: ContainerStatus,
    /// Meaningful once the container has exited.
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// The engine's error, e.g. why the process could not be started.
    pub error: Option<String>,
    /// When the container was created (Docker's `Created`).
    pub created_at: Option<SystemTime>,
    pub started_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    pub health: HealthStatus,
    /// The output of the latest health check, if any ran.
    pub health_output: Option<String>,
    /// Docker's `HostConfig.NetworkMode` (`bridge`, `container:<id>`, ...).
    pub network_mode: String,
    /// By network name. Empty for `none` and `container:` modes.
    pub networks: BTreeMap<String, NetworkEndpoint>,
    pub ports: Vec<PublishedPort>,
    pub memory_bytes: Option<i64>,
    pub memory_reservation_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<i64>,
    /// Binds and volumes, in Docker's order.
    pub mounts: Vec<MountInfo>,
}

/// One line of `docker ps -a` (enough to reconcile leftovers by label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: HashMap<String, String>,
    pub status: ContainerStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One line a container wrote, with the engine's timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: LogStream,
    pub timestamp: Option<SystemTime>,
    /// Without the trailing newline.
    pub message: String,
}

/// What happened to a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEventKind {
    Create,
    Start,
    /// The process ended; Docker always sends `exitCode`.
    Die {
        exit_code: Option<i64>,
    },
    /// A signal was sent (`docker kill`, or `docker stop`'s SIGTERM/SIGKILL).
    /// Docker gives the signal as a number, e.g. `"9"`.
    Kill {
        signal: Option<String>,
    },
    Stop,
    Oom,
    Health(HealthStatus),
    Destroy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    pub container_id: String,
    pub container_name: String,
    pub kind: ContainerEventKind,
    pub time: SystemTime,
    /// Docker's event attributes: the container's labels plus `name`,
    /// `image` and event details such as `exitCode` or `signal`.
    pub attributes: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeEvent {
    Container(ContainerEvent),
    /// The event stream broke and was reopened (or the consumer fell behind):
    /// events may have been missed, so re-inspect what you track.
    Reconnected,
}

/// One sample of a container's resource usage: the document of Docker's
/// stats API (`GET /containers/{id}/stats?stream=false`) with Docker's own
/// field names (`read`, `preread`, `cpu_stats`, `precpu_stats`,
/// `memory_stats`, `networks`, `blkio_stats`, `pids_stats`, ...). It stays
/// JSON because the task metadata endpoint hands it to containers as is.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerStats(pub serde_json::Value);
