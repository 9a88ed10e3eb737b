//! A runtime that connects to the Docker engine on first use. ecsbox
//! answers its first request within milliseconds of starting; the engine
//! handshake (version negotiation, a few round trips) happens beside it, not
//! before it. An engine that cannot be reached becomes `Unavailable`, whose
//! every call fails with the actionable reason.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::OnceCell;

use super::docker::DockerRuntime;
use super::types::*;
use super::unavailable::Unavailable;
use super::{ContainerRuntime, Result};

#[derive(Clone, Default)]
pub struct LazyDocker {
    engine: Arc<OnceCell<Arc<dyn ContainerRuntime>>>,
}

impl LazyDocker {
    pub fn new() -> Self {
        Self::default()
    }

    async fn get(&self) -> &Arc<dyn ContainerRuntime> {
        self.engine
            .get_or_init(|| async {
                match DockerRuntime::connect().await {
                    Ok(docker) => Arc::new(docker) as Arc<dyn ContainerRuntime>,
                    Err(e) => {
                        tracing::warn!("{e}; tasks cannot run until ecsbox is restarted with access to a Docker engine");
                        Arc::new(Unavailable::new(e))
                    }
                }
            })
            .await
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
        stream::once(async move { this.get().await.events(&filters) })
            .flatten()
            .boxed()
    }
}
