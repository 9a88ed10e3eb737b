//! The container runtime: the only part of ecsbox that talks to Docker.
//!
//! Controllers hold an `Arc<dyn ContainerRuntime>` and speak in plain data
//! (`types`); `docker::DockerRuntime` implements it with bollard against the
//! local engine and `fake::FakeRuntime` in memory for fast tests.

pub mod docker;
pub mod fake;
pub mod image_ref;
pub mod lazy;
/// The namespace-holder image of awsvpc tasks (written by the controllers' helper).
pub mod pause;
pub mod timestamp;
pub mod types;
pub mod unavailable;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

pub use types::*;

/// Label on every container, network and volume ecsbox creates; its value is the id
/// of the emulator instance that owns them. ecsbox never touches an object
/// without it, and on start reconciles the ones with its own id.
pub const OWNER_LABEL: &str = "ecsbox.owner";

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeError {
    /// The engine cannot be reached at all; `reason` says what to do.
    EngineUnreachable { endpoint: String, reason: String },
    /// No such container, network or image (Docker's 404).
    NotFound(String),
    /// A name already in use, a running container to remove, ... (409).
    Conflict(String),
    /// The image is not present locally and pulling it failed. Its Display
    /// is what follows `CannotPullContainerError: ` in a stopped task.
    PullFailed {
        reference: String,
        local_reference: String,
        message: String,
    },
    /// Any other refusal or failure of the engine.
    Engine(String),
}

impl RuntimeError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, RuntimeError::NotFound(_))
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::EngineUnreachable { endpoint, reason } => {
                write!(f, "cannot reach the Docker engine at {endpoint}: {reason}")
            }
            RuntimeError::NotFound(m) | RuntimeError::Conflict(m) | RuntimeError::Engine(m) => {
                f.write_str(m)
            }
            RuntimeError::PullFailed {
                reference,
                local_reference,
                message,
            } => write!(
                f,
                "pull image \"{reference}\": {message}; the image is not present on the local \
                 engine either (build or tag it as \"{local_reference}\")"
            ),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// One Docker-like engine. Object-safe: use it as `Arc<dyn ContainerRuntime>`.
/// Container and network arguments take an id or a name, as Docker does.
#[async_trait]
pub trait ContainerRuntime: Send + Sync {
    async fn engine_info(&self) -> Result<EngineInfo>;

    /// The local image for `reference`, "local first": an ECR-style URI is
    /// looked up as its local `NAME:TAG` (see `image_ref`). Never pulls.
    async fn image(&self, reference: &str) -> Result<Option<ImageInfo>>;

    /// `image`, and when the image is absent a pull of `reference`; a pull
    /// that fails is `RuntimeError::PullFailed`.
    async fn ensure_image(&self, reference: &str) -> Result<ImageInfo>;

    /// Pulls `reference` exactly as named (no ECR mapping) with
    /// `credentials`, even when an image of that name is local (the
    /// registry's tag may have moved, and an unchanged image costs only a
    /// manifest request); answers the local image. A pull that fails is
    /// `RuntimeError::PullFailed`.
    async fn pull_image(
        &self,
        reference: &str,
        credentials: &RegistryCredentials,
    ) -> Result<ImageInfo>;

    /// Creates the local image `reference` (`NAME:TAG`) from a root
    /// filesystem tar, with `cmd` as its default command (`docker import`):
    /// how ecsbox makes the images it needs itself without a registry.
    async fn import_image(
        &self,
        rootfs_tar: Vec<u8>,
        reference: &str,
        cmd: &[String],
    ) -> Result<()>;

    /// Creates a bridge network; returns its id.
    async fn create_network(&self, spec: &NetworkSpec) -> Result<String>;
    async fn remove_network(&self, network: &str) -> Result<()>;
    /// Attaches a container, with a fixed IPv4 address if given.
    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        ipv4_address: Option<&str>,
    ) -> Result<()>;
    /// Detaches a container (forcibly, as `docker network disconnect -f`).
    async fn disconnect_network(&self, network: &str, container: &str) -> Result<()>;
    async fn list_networks(&self, filters: &[LabelFilter]) -> Result<Vec<NetworkInfo>>;

    /// Creates a named volume. As Docker does, a volume of that name that
    /// already exists is answered as it is (its labels and options are not
    /// changed), unless its driver differs (`Conflict`).
    async fn create_volume(&self, spec: &VolumeSpec) -> Result<VolumeInfo>;
    /// `NotFound` when there is no volume of that name.
    async fn inspect_volume(&self, name: &str) -> Result<VolumeInfo>;
    /// `NotFound` when absent; `Conflict` while any container, running or
    /// not, uses it.
    async fn remove_volume(&self, name: &str) -> Result<()>;
    /// Every volume that matches all `filters`.
    async fn list_volumes(&self, filters: &[LabelFilter]) -> Result<Vec<VolumeInfo>>;

    /// Creates (does not start) a container; returns its id. The image is
    /// taken "local first" as in `image`.
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String>;
    async fn start_container(&self, container: &str) -> Result<()>;
    /// The stop signal (SIGTERM unless the spec said otherwise), then
    /// SIGKILL once `timeout` has passed. Stopping a stopped container is Ok.
    async fn stop_container(&self, container: &str, timeout: Duration) -> Result<()>;
    /// Sends `signal` (`SIGKILL`, `TERM`, `9`, ...).
    async fn kill_container(&self, container: &str, signal: &str) -> Result<()>;
    async fn remove_container(&self, container: &str, options: RemoveOptions) -> Result<()>;
    /// Gives the container a new name (`docker rename`); `Conflict` when
    /// another container has it.
    async fn rename_container(&self, container: &str, new_name: &str) -> Result<()>;
    async fn inspect_container(&self, container: &str) -> Result<ContainerInfo>;
    /// Every container, running or not, that matches all `filters`.
    async fn list_containers(&self, filters: &[LabelFilter]) -> Result<Vec<ContainerSummary>>;
    /// Everything the container wrote to stdout and stderr so far.
    async fn logs(&self, container: &str) -> Result<Vec<LogLine>>;
    /// Every line the container writes, from its start, as it writes them;
    /// the stream ends when the container stops (`docker logs --follow`).
    fn follow_logs(&self, container: &str) -> BoxStream<'static, LogLine>;
    /// One sample of the container's resource usage (`docker stats
    /// --no-stream`): the engine waits for a second sample so that
    /// `precpu_stats` is filled and a CPU percentage can be computed from it.
    async fn stats(&self, container: &str) -> Result<ContainerStats>;

    /// Container events (create, start, die, kill, stop, oom, health_status,
    /// destroy) of containers matching all `filters`, from the moment of the
    /// call on. The stream never ends: when the engine's stream breaks it is
    /// reopened and `RuntimeEvent::Reconnected` is yielded.
    fn events(&self, filters: &[LabelFilter]) -> BoxStream<'static, RuntimeEvent>;
}
