//! `ContainerRuntime` on the local Docker engine, through bollard.
//!
//! Connects to `DOCKER_HOST` (or `unix:///var/run/docker.sock`) and
//! negotiates the API version down to the engine's (Docker 20.10 speaks
//! 1.41), so the newer models bollard ships with are only ever sent the
//! fields the engine understands.

mod convert;
mod events;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::time::Duration;

use async_trait::async_trait;
use bollard::auth::DockerCredentials;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{NetworkConnectRequest, NetworkDisconnectRequest};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, KillContainerOptions, ListContainersOptions,
    ListNetworksOptions, ListVolumesOptions, LogsOptions, RemoveContainerOptions,
    RemoveVolumeOptions, RenameContainerOptions, StatsOptions, StopContainerOptions,
};
use bollard::Docker;
use futures_util::stream::{BoxStream, StreamExt};

use super::image_ref::{local_reference, lookup_candidates, with_default_tag};
use super::types::*;
use super::{ContainerRuntime, Result, RuntimeError};

/// Where Docker listens when `DOCKER_HOST` is not set.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Requests that do not stream (create, inspect, ...) give up after this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    endpoint: String,
}

impl DockerRuntime {
    /// Connects to `DOCKER_HOST`, or to the default unix socket.
    pub async fn connect() -> Result<Self> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string());
        Self::connect_to(&host).await
    }

    /// Connects to `host` (`unix:///path` or `tcp://host:port`) and checks
    /// that an engine answers there.
    pub async fn connect_to(host: &str) -> Result<Self> {
        let unreachable = |e: DockerError| unreachable_error(host, &e);
        let docker = Docker::connect_with_host(host).map_err(unreachable)?;
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        Ok(DockerRuntime {
            docker,
            endpoint: host.to_string(),
        })
    }

    /// The engine address this runtime talks to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn error(&self, e: DockerError) -> RuntimeError {
        match e {
            DockerError::DockerResponseServerError {
                status_code: 404,
                message,
            } => RuntimeError::NotFound(message),
            DockerError::DockerResponseServerError {
                status_code: 409,
                message,
            } => RuntimeError::Conflict(message),
            DockerError::DockerResponseServerError { message, .. } => RuntimeError::Engine(message),
            DockerError::RequestTimeoutError => RuntimeError::Engine(format!(
                "the Docker engine at {} did not answer in time",
                self.endpoint
            )),
            other if io_error_kind(&other).is_some() => unreachable_error(&self.endpoint, &other),
            other => RuntimeError::Engine(other.to_string()),
        }
    }

    async fn inspect_image_as(&self, reference: &str) -> Result<Option<ImageInfo>> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(Some(ImageInfo {
                id: image.id.unwrap_or_default(),
                repo_digest: image.repo_digests.and_then(|d| d.into_iter().next()),
                reference: reference.to_string(),
            })),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// The network with exactly this name (Docker's name filter also
    /// matches parts of names).
    async fn network_named(&self, name: &str) -> Result<Option<String>> {
        let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
        let options = ListNetworksOptions {
            filters: Some(filters),
        };
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.error(e))?;
        Ok(networks
            .into_iter()
            .find(|n| n.name.as_deref() == Some(name))
            .and_then(|n| n.id))
    }

    /// Pulls `reference`; Docker reports failures either as an error status
    /// or inside the progress stream.
    async fn pull(&self, reference: &str) -> Result<()> {
        self.pull_with(reference, None).await
    }

    async fn pull_with(
        &self,
        reference: &str,
        credentials: Option<&RegistryCredentials>,
    ) -> Result<()> {
        let pull_failed = |message: String| RuntimeError::PullFailed {
            reference: reference.to_string(),
            local_reference: local_reference(reference),
            message,
        };
        let options = CreateImageOptions {
            // Without a tag Docker would pull every tag of the repository.
            from_image: Some(with_default_tag(reference)),
            ..Default::default()
        };
        let credentials = credentials.map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: Some(c.server.clone()),
            ..Default::default()
        });
        let mut progress = self.docker.create_image(Some(options), None, credentials);
        while let Some(item) = progress.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail {
                        return Err(pull_failed(detail.message.unwrap_or_default()));
                    }
                }
                Err(DockerError::DockerResponseServerError { message, .. }) => {
                    return Err(pull_failed(format!(
                        "Error response from daemon: {message}"
                    )));
                }
                Err(DockerError::DockerStreamError { error }) => return Err(pull_failed(error)),
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(())
    }

    /// `spec` with every volume subpath mount turned into a bind of that
    /// directory under the volume's mountpoint: engines before API 1.45 have
    /// no `VolumeOptions.Subpath`, and a bind source that does not exist
    /// is created by Docker. Only the local driver keeps its data under a
    /// host directory.
    async fn resolve_subpaths<'a>(
        &self,
        spec: &'a ContainerSpec,
    ) -> Result<Cow<'a, ContainerSpec>> {
        if !spec.mounts.iter().any(|m| volume_subpath(m).is_some()) {
            return Ok(Cow::Borrowed(spec));
        }
        let mut resolved = spec.clone();
        for mount in &mut resolved.mounts {
            let Some((name, sub)) = volume_subpath(mount) else {
                continue;
            };
            let volume = self.inspect_volume(name).await?;
            mount.source = MountSource::HostPath(subpath_under(&volume, sub)?);
        }
        Ok(Cow::Owned(resolved))
    }

    /// The image reference to create from: the local name an ECR URI maps
    /// to, or the full URI if only that is present.
    async fn creatable_image(&self, reference: &str) -> Result<String> {
        if local_reference(reference) == reference {
            return Ok(reference.to_string());
        }
        Ok(match self.image(reference).await? {
            Some(found) => found.reference,
            None => local_reference(reference),
        })
    }
}

/// The host directory `sub` of a local volume. `sub` is relative and has no
/// `..`, so the bind cannot leave the volume.
fn subpath_under(volume: &VolumeInfo, sub: &str) -> Result<String> {
    let parts: Vec<&str> = sub
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(RuntimeError::Engine(format!(
            "volume subpath '{sub}' must stay inside volume {}",
            volume.name
        )));
    }
    if volume.driver != LOCAL_VOLUME_DRIVER || volume.mountpoint.is_empty() {
        return Err(RuntimeError::Engine(format!(
            "cannot mount a subpath of volume {}: its driver '{}' keeps no host directory",
            volume.name, volume.driver
        )));
    }
    let base = volume.mountpoint.trim_end_matches('/');
    Ok(std::iter::once(base)
        .chain(parts)
        .collect::<Vec<_>>()
        .join("/"))
}

/// (volume name, subpath) of a mount of part of a volume.
fn volume_subpath(m: &Mount) -> Option<(&str, &str)> {
    match &m.source {
        MountSource::Volume {
            name,
            subpath: Some(sub),
        } => Some((name, sub)),
        _ => None,
    }
}

/// `NAME:TAG` -> (`NAME`, `TAG`); `latest` when there is no tag.
fn split_tag(reference: &str) -> (&str, &str) {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.rsplit_once(':') {
        Some((_, tag)) => (&reference[..reference.len() - tag.len() - 1], tag),
        None => (reference, "latest"),
    }
}

fn label_filters(filters: &[LabelFilter]) -> Option<HashMap<String, Vec<String>>> {
    (!filters.is_empty()).then(|| {
        HashMap::from([(
            "label".to_string(),
            filters.iter().map(LabelFilter::to_docker).collect(),
        )])
    })
}

/// The first I/O error kind in `e`'s chain of causes, if any.
fn io_error_kind(e: &DockerError) -> Option<io::ErrorKind> {
    // `IOError` is a transparent wrapper: its `source()` skips the io::Error.
    if let DockerError::IOError { err } = e {
        return Some(err.kind());
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// An error a person can act on when the engine cannot be reached at all.
fn unreachable_error(endpoint: &str, e: &DockerError) -> RuntimeError {
    let reason = match (e, io_error_kind(e)) {
        (DockerError::SocketNotFoundError(_), _) | (_, Some(io::ErrorKind::NotFound)) => {
            "no such socket — is the Docker daemon running? If it listens elsewhere, set DOCKER_HOST"
                .to_string()
        }
        (_, Some(io::ErrorKind::PermissionDenied)) => {
            "permission denied — add your user to the docker group or set DOCKER_HOST".to_string()
        }
        (_, Some(io::ErrorKind::ConnectionRefused)) => {
            "connection refused — is the Docker daemon running? If it listens elsewhere, set DOCKER_HOST"
                .to_string()
        }
        (DockerError::UnsupportedURISchemeError { .. }, _) => {
            "unsupported address — DOCKER_HOST must look like unix:///var/run/docker.sock or tcp://HOST:PORT"
                .to_string()
        }
        _ => e.to_string(),
    };
    RuntimeError::EngineUnreachable {
        endpoint: endpoint.to_string(),
        reason,
    }
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    async fn engine_info(&self) -> Result<EngineInfo> {
        let version = self.docker.version().await.map_err(|e| self.error(e))?;
        let info = self.docker.info().await.map_err(|e| self.error(e))?;
        Ok(EngineInfo {
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            os: version.os.unwrap_or_default(),
            arch: version.arch.unwrap_or_default(),
            kernel_version: version.kernel_version.unwrap_or_default(),
            cpus: info.ncpu.unwrap_or(0),
            memory_bytes: info.mem_total.unwrap_or(0),
        })
    }

    async fn image(&self, reference: &str) -> Result<Option<ImageInfo>> {
        for candidate in lookup_candidates(reference) {
            if let Some(found) = self.inspect_image_as(&candidate).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    async fn ensure_image(&self, reference: &str) -> Result<ImageInfo> {
        if let Some(found) = self.image(reference).await? {
            return Ok(found);
        }
        self.pull(reference).await?;
        self.image(reference)
            .await?
            .ok_or_else(|| RuntimeError::PullFailed {
                reference: reference.to_string(),
                local_reference: local_reference(reference),
                message: "the pull finished but the image is still not present".into(),
            })
    }

    async fn pull_image(
        &self,
        reference: &str,
        credentials: &RegistryCredentials,
    ) -> Result<ImageInfo> {
        let reference = with_default_tag(reference);
        self.pull_with(&reference, Some(credentials)).await?;
        self.inspect_image_as(&reference)
            .await?
            .ok_or_else(|| RuntimeError::PullFailed {
                reference: reference.clone(),
                local_reference: reference.clone(),
                message: "the pull finished but the image is still not present".into(),
            })
    }

    async fn import_image(
        &self,
        rootfs_tar: Vec<u8>,
        reference: &str,
        cmd: &[String],
    ) -> Result<()> {
        let (repo, tag) = split_tag(reference);
        let cmd = serde_json::to_string(cmd).expect("strings serialize");
        let options = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo.to_string()),
            tag: Some(tag.to_string()),
            changes: vec![format!("CMD {cmd}")],
            ..Default::default()
        };
        let body = bollard::body_full(bytes::Bytes::from(rootfs_tar));
        let mut progress = self.docker.create_image(Some(options), Some(body), None);
        while let Some(item) = progress.next().await {
            match item.map_err(|e| self.error(e))?.error_detail {
                Some(detail) => {
                    let message = detail.message.unwrap_or_default();
                    return Err(RuntimeError::Engine(format!(
                        "import image {reference}: {message}"
                    )));
                }
                None => continue,
            }
        }
        Ok(())
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<String> {
        let name_taken =
            || RuntimeError::Conflict(format!("network with name {} already exists", spec.name));
        // Checked first, or a second network with the same subnet would fail
        // with a less helpful "Pool overlaps" error.
        if self.network_named(&spec.name).await?.is_some() {
            return Err(name_taken());
        }
        let request = convert::network_create_request(spec);
        let created = self
            .docker
            .create_network(request)
            .await
            .map_err(|e| self.error(e))?;
        // Docker before API 1.44 creates a second network of the same name
        // and only warns (a race with the check above); names must be unique.
        if created.warning.contains("already exists") {
            let _ = self.docker.remove_network(&created.id).await;
            return Err(name_taken());
        }
        Ok(created.id)
    }

    async fn remove_network(&self, network: &str) -> Result<()> {
        self.docker
            .remove_network(network)
            .await
            .map_err(|e| self.error(e))
    }

    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        ipv4_address: Option<&str>,
    ) -> Result<()> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(convert::endpoint_settings(ipv4_address, &[])),
        };
        self.docker
            .connect_network(network, request)
            .await
            .map_err(|e| self.error(e))
    }

    async fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        let request = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(true),
        };
        self.docker
            .disconnect_network(network, request)
            .await
            .map_err(|e| self.error(e))
    }

    async fn list_networks(&self, filters: &[LabelFilter]) -> Result<Vec<NetworkInfo>> {
        let options = ListNetworksOptions {
            filters: label_filters(filters),
        };
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.error(e))?;
        Ok(networks.into_iter().map(convert::network_info).collect())
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<VolumeInfo> {
        let created = self
            .docker
            .create_volume(convert::volume_create_request(spec))
            .await
            .map_err(|e| self.error(e))?;
        Ok(convert::volume_info(created))
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeInfo> {
        let found = self
            .docker
            .inspect_volume(name)
            .await
            .map_err(|e| self.error(e))?;
        Ok(convert::volume_info(found))
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    async fn list_volumes(&self, filters: &[LabelFilter]) -> Result<Vec<VolumeInfo>> {
        let options = ListVolumesOptions {
            filters: label_filters(filters),
        };
        let listed = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| self.error(e))?;
        Ok(listed
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(convert::volume_info)
            .collect())
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let spec = self.resolve_subpaths(spec).await?;
        let spec = spec.as_ref();
        let image = self.creatable_image(&spec.image).await?;
        let options = CreateContainerOptions {
            name: spec.name.clone(),
            ..Default::default()
        };
        let body = convert::create_body(spec, &image);
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.error(e))?;
        Ok(created.id)
    }

    async fn start_container(&self, container: &str) -> Result<()> {
        self.docker
            .start_container(container, None)
            .await
            .map_err(|e| self.error(e))
    }

    async fn stop_container(&self, container: &str, timeout: Duration) -> Result<()> {
        let secs = convert::whole_seconds(timeout);
        let options = StopContainerOptions {
            t: Some(i32::try_from(secs).unwrap_or(i32::MAX)),
            signal: None,
        };
        // The engine answers only once the container is gone, which can take
        // the whole stop timeout.
        let docker = self.docker.clone().with_timeout(REQUEST_TIMEOUT + timeout);
        docker
            .stop_container(container, Some(options))
            .await
            .map_err(|e| self.error(e))
    }

    async fn kill_container(&self, container: &str, signal: &str) -> Result<()> {
        let options = KillContainerOptions {
            signal: signal.to_string(),
        };
        self.docker
            .kill_container(container, Some(options))
            .await
            .map_err(|e| self.error(e))
    }

    async fn remove_container(&self, container: &str, options: RemoveOptions) -> Result<()> {
        let options = RemoveContainerOptions {
            force: options.force,
            v: options.volumes,
            link: false,
        };
        self.docker
            .remove_container(container, Some(options))
            .await
            .map_err(|e| self.error(e))
    }

    async fn rename_container(&self, container: &str, new_name: &str) -> Result<()> {
        let options = RenameContainerOptions {
            name: new_name.to_string(),
        };
        self.docker
            .rename_container(container, options)
            .await
            .map_err(|e| self.error(e))
    }

    async fn inspect_container(&self, container: &str) -> Result<ContainerInfo> {
        let inspected = self
            .docker
            .inspect_container(container, None)
            .await
            .map_err(|e| self.error(e))?;
        Ok(convert::container_info(inspected))
    }

    async fn list_containers(&self, filters: &[LabelFilter]) -> Result<Vec<ContainerSummary>> {
        let options = ListContainersOptions {
            all: true,
            filters: label_filters(filters),
            ..Default::default()
        };
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error(e))?;
        Ok(found.into_iter().map(convert::container_summary).collect())
    }

    async fn logs(&self, container: &str) -> Result<Vec<LogLine>> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            timestamps: true,
            ..Default::default()
        };
        let mut chunks = self.docker.logs(container, Some(options));
        let mut lines = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let (stream, bytes) = match chunk.map_err(|e| self.error(e))? {
                LogOutput::StdErr { message } => (LogStream::Stderr, message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    (LogStream::Stdout, message)
                }
                LogOutput::StdIn { .. } => continue,
            };
            lines.extend(convert::log_lines(stream, &bytes));
        }
        Ok(lines)
    }

    fn follow_logs(&self, container: &str) -> BoxStream<'static, LogLine> {
        let options = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            timestamps: true,
            ..Default::default()
        };
        self.docker
            .logs(container, Some(options))
            .take_while(|chunk| futures_util::future::ready(chunk.is_ok()))
            .flat_map(|chunk| {
                let lines = match chunk {
                    Ok(LogOutput::StdErr { message }) => {
                        convert::log_lines(LogStream::Stderr, &message)
                    }
                    Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                        convert::log_lines(LogStream::Stdout, &message)
                    }
                    _ => Vec::new(),
                };
                futures_util::stream::iter(lines)
            })
            .boxed()
    }

    async fn stats(&self, container: &str) -> Result<ContainerStats> {
        // Not one-shot: the engine takes a second sample (about a second
        // later) so that `precpu_stats` is filled, as `docker stats` shows it.
        let options = StatsOptions {
            stream: false,
            one_shot: false,
        };
        let mut samples = self.docker.stats(container, Some(options));
        let sample = samples
            .next()
            .await
            .ok_or_else(|| {
                RuntimeError::Engine(format!("the engine sent no stats for {container}"))
            })?
            .map_err(|e| self.error(e))?;
        Ok(convert::container_stats(&sample))
    }

    fn events(&self, filters: &[LabelFilter]) -> BoxStream<'static, RuntimeEvent> {
        events::container_events(self.docker.clone(), filters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_socket_says_what_to_do() {
        let err = DockerRuntime::connect_to("unix:///nonexistent/ecsbox/docker.sock")
            .await
            .err()
            .expect("no engine there");
        let text = err.to_string();
        assert!(
            text.starts_with(
                "cannot reach the Docker engine at unix:///nonexistent/ecsbox/docker.sock:"
            ),
            "{text}"
        );
        assert!(
            text.contains("is the Docker daemon running") && text.contains("DOCKER_HOST"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn socket_without_listener_is_connection_refused() {
        let dir = std::env::temp_dir().join(format!("ecsbox-sock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dead.sock");
        let _ = std::fs::remove_file(&path);
        // Binding creates the socket file; dropping the listener leaves the
        // file with nobody listening behind it.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let host = format!("unix://{}", path.display());
        let err = DockerRuntime::connect_to(&host)
            .await
            .err()
            .expect("nobody listens");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            matches!(err, RuntimeError::EngineUnreachable { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("connection refused"), "{err}");
    }

    #[tokio::test]
    async fn unsupported_scheme_is_explained() {
        let err = DockerRuntime::connect_to("ftp://example")
            .await
            .err()
            .expect("bad scheme");
        assert!(
            err.to_string().contains("DOCKER_HOST must look like"),
            "{err}"
        );
    }

    #[test]
    fn subpaths_stay_under_the_local_volume() {
        let volume = VolumeInfo {
            name: "ecsbox-efs-fs-1".into(),
            driver: LOCAL_VOLUME_DRIVER.into(),
            mountpoint: "/var/lib/docker/volumes/ecsbox-efs-fs-1/_data".into(),
            ..Default::default()
        };
        assert_eq!(
            subpath_under(&volume, "a/./b/").unwrap(),
            "/var/lib/docker/volumes/ecsbox-efs-fs-1/_data/a/b"
        );
        assert!(subpath_under(&volume, "a/../../etc").is_err());
        let remote = VolumeInfo {
            driver: "rexray/efs".into(),
            ..volume
        };
        assert!(subpath_under(&remote, "a").is_err());
    }

    #[test]
    fn import_reference_splits_into_repo_and_tag() {
        assert_eq!(split_tag("ecsbox/pause:1"), ("ecsbox/pause", "1"));
        assert_eq!(
            split_tag("localhost:5000/pause"),
            ("localhost:5000/pause", "latest")
        );
    }

    #[test]
    fn permission_denied_says_to_join_the_docker_group() {
        let denied = DockerError::IOError {
            err: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        let text = unreachable_error(DEFAULT_DOCKER_HOST, &denied).to_string();
        assert_eq!(
            text,
            "cannot reach the Docker engine at unix:///var/run/docker.sock: permission denied \
             — add your user to the docker group or set DOCKER_HOST"
        );
    }
}
