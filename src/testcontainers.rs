//! ecsbox for integration tests, on the `testcontainers` crate (feature
//! `testcontainers`): starts the ecsbox image with the Docker socket mounted,
//! waits for its startup line, and hands back the endpoint and a ready
//! `aws-sdk-ecs` configuration. The container goes when the handle drops.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let ecsbox = ecsbox::testcontainers::Ecsbox::default().start().await?;
//! let ecs = ecsbox.client();
//! ecs.create_cluster().cluster_name("ci").send().await?;
//! # Ok(()) }
//! ```
//!
//! The image is `ecsbox:latest` unless told otherwise; build it with
//! `scripts/build-image.sh`. Tasks run as sibling containers on the same
//! engine; each `Ecsbox` gets its own instance id, so tests running side by
//! side never remove each other's containers.

use std::borrow::Cow;
use std::path::PathBuf;

use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use testcontainers::core::{ContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt, TestcontainersError};

/// The port ecsbox listens on inside its image.
pub const PORT: ContainerPort = ContainerPort::Tcp(4566);
/// Where the image's ecsbox expects the engine's socket.
const SOCKET_IN_CONTAINER: &str = "/var/run/docker.sock";
/// The start of the line ecsbox prints on stdout once it serves and has
/// talked to the engine.
const STARTUP_LINE: &str = "listening on http://";

/// The ecsbox image as a testcontainers `Image`. `Default` is `ecsbox:latest`
/// with the local engine's socket mounted and a fresh instance id.
#[derive(Debug, Clone)]
pub struct Ecsbox {
    name: String,
    tag: String,
    env: Vec<(String, String)>,
    mounts: Vec<Mount>,
    socket: PathBuf,
}

impl Default for Ecsbox {
    fn default() -> Self {
        let socket = host_socket();
        let instance_id = format!("tc-{}", uuid::Uuid::new_v4().simple());
        Ecsbox {
            name: "ecsbox".into(),
            tag: "latest".into(),
            env: vec![("ECSBOX_INSTANCE_ID".into(), instance_id)],
            mounts: vec![Mount::bind_mount(
                socket.to_string_lossy(),
                SOCKET_IN_CONTAINER,
            )],
            socket,
        }
    }
}

impl Ecsbox {
    /// Another image, e.g. `("ecsbox", "0.1.0")` or a registry's copy.
    pub fn with_image(mut self, name: impl Into<String>, tag: impl Into<String>) -> Self {
        self.name = name.into();
        self.tag = tag.into();
        self
    }

    /// An ecsbox setting, by its environment variable (`ecsbox --help` lists
    /// them), e.g. `("ECSBOX_SIGV4", "strict")`.
    pub fn with_setting(mut self, variable: impl Into<String>, value: impl Into<String>) -> Self {
        let variable = variable.into();
        self.env.retain(|(k, _)| *k != variable);
        self.env.push((variable, value.into()));
        self
    }

    /// The request to start it: the image runs as a non-root user, given the
    /// socket's group so it may use the engine; when the socket's group
    /// cannot be read here (a remote engine), it runs as root instead.
    pub fn request(self) -> ContainerRequest<Self> {
        let group = socket_group(&self.socket);
        let request = ContainerRequest::from(self);
        match group {
            Some(gid) => request.with_host_config_modifier(move |host| {
                host.group_add
                    .get_or_insert_with(Vec::new)
                    .push(gid.to_string());
            }),
            None => request.with_user("0"),
        }
    }

    /// Starts the container and waits until ecsbox serves.
    pub async fn start(self) -> Result<RunningEcsbox, TestcontainersError> {
        let container = self.request().start().await?;
        let host = container.get_host().await?;
        let port = container.get_host_port_ipv4(PORT).await?;
        Ok(RunningEcsbox {
            endpoint: format!("http://{host}:{port}"),
            container,
            stopped: false,
        })
    }
}

impl Image for Ecsbox {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout(STARTUP_LINE)]
    }

    fn env_vars(
        &self,
    ) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn mounts(&self) -> impl IntoIterator<Item = &Mount> {
        &self.mounts
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        std::slice::from_ref(&PORT)
    }
}

/// A running ecsbox container. Dropping it (or `stop()`) stops ecsbox with
/// SIGTERM first, so that it removes the task containers it started, then
/// removes the container.
pub struct RunningEcsbox {
    endpoint: String,
    container: ContainerAsync<Ecsbox>,
    stopped: bool,
}

/// Seconds ecsbox gets to stop its tasks and exit before SIGKILL.
const STOP_TIMEOUT_SECONDS: i32 = 20;

impl RunningEcsbox {
    /// Stops ecsbox (it removes its task containers) and removes its container.
    pub async fn stop(mut self) -> Result<(), TestcontainersError> {
        self.container
            .stop_with_timeout(Some(STOP_TIMEOUT_SECONDS))
            .await?;
        self.stopped = true;
        Ok(())
    }

    /// `http://HOST:PORT`, for any client.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The container, for its logs or id.
    pub fn container(&self) -> &ContainerAsync<Ecsbox> {
        &self.container
    }

    /// An `aws-sdk-ecs` configuration for this ecsbox: its endpoint over
    /// plain HTTP, us-east-1, static test credentials (account 000000000000).
    pub fn sdk_config(&self) -> aws_sdk_ecs::Config {
        self.sdk_config_as("test", "test", "us-east-1")
    }

    /// The same with other keys or region; a 12-digit access key id is taken
    /// as the account id.
    pub fn sdk_config_as(
        &self,
        access_key_id: &str,
        secret: &str,
        region: &str,
    ) -> aws_sdk_ecs::Config {
        aws_sdk_ecs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new(
                access_key_id,
                secret,
                None,
                None,
                "ecsbox-testcontainers",
            ))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build()
    }

    /// A client on `sdk_config()`.
    pub fn client(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::from_conf(self.sdk_config())
    }
}

impl Drop for RunningEcsbox {
    /// testcontainers removes a dropped container with SIGKILL, which would
    /// leave ecsbox's task containers behind: stop it gracefully first. Drop
    /// cannot await, and the test's runtime may be the one this thread
    /// blocks, so the stop runs on a runtime and engine client of its own.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let id = self.container.id().to_string();
        let stopper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            let docker = testcontainers::bollard::Docker::connect_with_defaults().ok()?;
            let options =
                testcontainers::bollard::query_parameters::StopContainerOptionsBuilder::new()
                    .t(STOP_TIMEOUT_SECONDS)
                    .build();
            runtime
                .block_on(docker.stop_container(&id, Some(options)))
                .ok()
        });
        let _ = stopper.join();
    }
}

impl std::fmt::Debug for RunningEcsbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEcsbox")
            .field("endpoint", &self.endpoint)
            .field("container", &self.container.id())
            .finish()
    }
}

/// The engine's socket as the engine host sees it, to mount into ecsbox:
/// testcontainers' own override, else `DOCKER_HOST` when it is a unix
/// socket, else the default path.
fn host_socket() -> PathBuf {
    if let Ok(path) = std::env::var("TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE") {
        return PathBuf::from(path);
    }
    match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => {
            PathBuf::from(host.trim_start_matches("unix://"))
        }
        _ => PathBuf::from(SOCKET_IN_CONTAINER),
    }
}

/// The group that owns the socket, when it is a local file.
#[cfg(unix)]
fn socket_group(socket: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(socket).ok().map(|m| m.gid())
}

#[cfg(not(unix))]
fn socket_group(_socket: &std::path::Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instance_gets_its_own_id() {
        let id = |e: &Ecsbox| {
            e.env
                .iter()
                .find(|(k, _)| k == "ECSBOX_INSTANCE_ID")
                .map(|(_, v)| v.clone())
        };
        let (a, b) = (Ecsbox::default(), Ecsbox::default());
        assert_ne!(id(&a), id(&b));
        assert!(id(&a).unwrap().starts_with("tc-"));
    }

    #[test]
    fn a_setting_replaces_the_same_variable() {
        let e = Ecsbox::default()
            .with_setting("ECSBOX_INSTANCE_ID", "mine")
            .with_setting("ECSBOX_SIGV4", "off");
        let ids: Vec<_> = e
            .env
            .iter()
            .filter(|(k, _)| k == "ECSBOX_INSTANCE_ID")
            .collect();
        assert_eq!(
            ids,
            [&("ECSBOX_INSTANCE_ID".to_string(), "mine".to_string())]
        );
        assert!(e.env.contains(&("ECSBOX_SIGV4".into(), "off".into())));
    }
}
