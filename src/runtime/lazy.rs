//! A runtime that connects to the Docker engine on first use. ecsbox
//! answers its first request within milliseconds of starting; the engine
//! handshake (version negotiation, a few round trips) happens beside it, not
//! before it.
//!
//! An engine that cannot be reached is tried again, at most every
//! `RETRY_EVERY`, by the next call that needs it (and by the event stream,
//! which waits for it): meanwhile every call fails at once with the
//! actionable reason (`Unavailable`), so the control plane keeps answering
//! and a task that cannot start says why. Once reached, the connection is
//! kept: bollard reconnects each request, and the event stream reopens
//! itself, when the engine goes away and comes back later.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};

use super::docker::DockerRuntime;
use super::types::*;
use super::unavailable::Unavailable;
use super::{ContainerRuntime, Result};

/// How often an engine that could not be reached is tried again.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct LazyDocker {
    inner: Arc<Inner>,
}

struct Inner {
    /// The engine's address; None: DOCKER_HOST or the default socket.
    host: Option<String>,
    /// The engine, once reached.
    connected: OnceLock<Arc<dyn ContainerRuntime>>,
    /// The last failed attempt: when, and what calls answer until the next.
    failed: tokio::sync::Mutex<Option<(Instant, Arc<dyn ContainerRuntime>)>>,
}

impl Default for LazyDocker {
    fn default() -> Self {
        LazyDocker::at(None)
    }
}

impl LazyDocker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The engine at `host` (`unix:///path`, `tcp://host:port`) rather
    /// than DOCKER_HOST's.
    pub fn for_host(host: &str) -> Self {
        LazyDocker::at(Some(host.to_string()))
    }

    fn at(host: Option<String>) -> Self {
        LazyDocker {
            inner: Arc::new(Inner {
                host,
                connected: OnceLock::new(),
                failed: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// The engine if it was reached (now or before); else an `Unavailable`
    /// saying why not.
    async fn get(&self) -> Arc<dyn ContainerRuntime> {
        if let Some(engine) = self.inner.connected.get() {
            return engine.clone();
        }
        // One attempt at a time; the others wait for its outcome.
        let mut failed = self.inner.failed.lock().await;
        if let Some(engine) = self.inner.connected.get() {
            return engine.clone();
        }
        if let Some((at, unavailable)) = failed.as_ref() {
            if at.elapsed() < RETRY_EVERY {
                return unavailable.clone();
            }
        }
        let attempt = match &self.inner.host {
            Some(host) => DockerRuntime::connect_to(host).await,
            None => DockerRuntime::connect().await,
        };
        match attempt {
            Ok(docker) => {
                if failed.is_some() {
                    tracing::info!(
                        "reached the Docker engine at {}; tasks can run",
                        docker.endpoint()
                    );
                }
                *failed = None;
                self.inner
                    .connected
                    .get_or_init(|| Arc::new(docker))
                    .clone()
            }
            Err(e) => {
                if failed.is_none() {
                    tracing::warn!("{e}; tasks cannot run until it can be reached (ecsbox tries again every {RETRY_EVERY:?})");
                }
                let unavailable: Arc<dyn ContainerRuntime> = Arc::new(Unavailable::new(e));
                *failed = Some((Instant::now(), unavailable.clone()));
                unavailable
            }
        }
    }

    /// Waits until the engine is reached, trying every `RETRY_EVERY`;
    /// answers it and whether it had to wait.
    async fn reached(&self) -> (Arc<dyn ContainerRuntime>, bool) {
        let mut waited = false;
        loop {
            let engine = self.get().await;
            if self.inner.connected.get().is_some() {
                return (engine, waited);
            }
            waited = true;
            tokio::time::sleep(RETRY_EVERY).await;
        }
    }
}

#[async_trait]
impl ContainerRuntime for LazyDocker {
    async fn engine_info(&self) -> Result<EngineInfo> {
        self.get().await.engine_info().await
    }
    async fn image(&self, reference: &str) -> Result<Option<ImageInfo>> {
        self.get().await.image(reference).await
    }
    async fn ensure_image(&self, reference: &str) -> Result<ImageInfo> {
        self.get().await.ensure_image(reference).await
    }
    async fn pull_image(
        &self,
        reference: &str,
        credentials: &RegistryCredentials,
    ) -> Result<ImageInfo> {
        self.get().await.pull_image(reference, credentials).await
    }
    async fn import_image(
        &self,
        rootfs_tar: Vec<u8>,
        reference: &str,
        cmd: &[String],
    ) -> Result<()> {
        self.get()
            .await
            .import_image(rootfs_tar, reference, cmd)
            .await
    }
    async fn create_network(&self, spec: &NetworkSpec) -> Result<String> {
        self.get().await.create_network(spec).await
    }
    async fn remove_network(&self, network: &str) -> Result<()> {
        self.get().await.remove_network(network).await
    }
    async fn connect_network(
        &self,
        network: &str,
        container: &str,
        ipv4_address: Option<&str>,
    ) -> Result<()> {
        self.get()
            .await
            .connect_network(network, container, ipv4_address)
            .await
    }
    async fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        self.get()
            .await
            .disconnect_network(network, container)
            .await
    }
    async fn list_networks(&self, filters: &[LabelFilter]) -> Result<Vec<NetworkInfo>> {
        self.get().await.list_networks(filters).await
    }
    async fn create_volume(&self, spec: &VolumeSpec) -> Result<VolumeInfo> {
        self.get().await.create_volume(spec).await
    }
    async fn inspect_volume(&self, name: &str) -> Result<VolumeInfo> {
        self.get().await.inspect_volume(name).await
    }
    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.get().await.remove_volume(name).await
    }
    async fn list_volumes(&self, filters: &[LabelFilter]) -> Result<Vec<VolumeInfo>> {
        self.get().await.list_volumes(filters).await
    }
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        self.get().await.create_container(spec).await
    }
    async fn start_container(&self, container: &str) -> Result<()> {
        self.get().await.start_container(container).await
    }
    async fn stop_container(&self, container: &str, timeout: Duration) -> Result<()> {
        self.get().await.stop_container(container, timeout).await
    }
    async fn kill_container(&self, container: &str, signal: &str) -> Result<()> {
        self.get().await.kill_container(container, signal).await
    }
    async fn remove_container(&self, container: &str, options: RemoveOptions) -> Result<()> {
        self.get().await.remove_container(container, options).await
    }
    async fn rename_container(&self, container: &str, new_name: &str) -> Result<()> {
        self.get().await.rename_container(container, new_name).await
    }
    async fn inspect_container(&self, container: &str) -> Result<ContainerInfo> {
        self.get().await.inspect_container(container).await
    }
    async fn list_containers(&self, filters: &[LabelFilter]) -> Result<Vec<ContainerSummary>> {
        self.get().await.list_containers(filters).await
    }
    async fn logs(&self, container: &str) -> Result<Vec<LogLine>> {
        self.get().await.logs(container).await
    }
    fn follow_logs(&self, container: &str) -> BoxStream<'static, LogLine> {
        let this = self.clone();
        let container = container.to_string();
        stream::once(async move { this.get().await.follow_logs(&container) })
            .flatten()
            .boxed()
    }
    async fn stats(&self, container: &str) -> Result<ContainerStats> {
        self.get().await.stats(container).await
    }
    fn events(&self, filters: &[LabelFilter]) -> BoxStream<'static, RuntimeEvent> {
        let this = self.clone();
        let filters = filters.to_vec();
        // An engine reached late is one the consumer never saw: it is told
        // `Reconnected`, as after the engine came back, to look again.
        stream::once(async move {
            let (engine, waited) = this.reached().await;
            let events = engine.events(&filters);
            if waited {
                stream::once(async { RuntimeEvent::Reconnected })
                    .chain(events)
                    .boxed()
            } else {
                events
            }
        })
        .flatten()
        .boxed()
    }
}
