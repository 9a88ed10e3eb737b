//! A runtime for when the Docker engine cannot be reached (`lazy` tries it
//! again now and then): the control plane keeps working and every container
//! operation fails with the original, actionable reason (e.g. "cannot reach the Docker engine at
//! unix:///var/run/docker.sock: permission denied — ...").

use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};

use super::types::*;
use super::{ContainerRuntime, Result, RuntimeError};

pub struct Unavailable {
    reason: RuntimeError,
}

impl Unavailable {
    pub fn new(reason: RuntimeError) -> Self {
        Unavailable { reason }
    }

    fn fail<T>(&self) -> Result<T> {
        Err(self.reason.clone())
    }
}

#[async_trait]
impl ContainerRuntime for Unavailable {
    async fn engine_info(&self) -> Result<EngineInfo> {
        self.fail()
    }
    async fn image(&self, _reference: &str) -> Result<Option<ImageInfo>> {
        self.fail()
    }
    async fn ensure_image(&self, _reference: &str) -> Result<ImageInfo> {
        self.fail()
    }
    async fn pull_image(
        &self,
        _reference: &str,
        _creds: &RegistryCredentials,
    ) -> Result<ImageInfo> {
        self.fail()
    }
    async fn import_image(&self, _tar: Vec<u8>, _reference: &str, _cmd: &[String]) -> Result<()> {
        self.fail()
    }
    async fn create_network(&self, _spec: &NetworkSpec) -> Result<String> {
        self.fail()
    }
    async fn remove_network(&self, _network: &str) -> Result<()> {
        self.fail()
    }
    async fn connect_network(
        &self,
        _network: &str,
        _container: &str,
        _ip: Option<&str>,
    ) -> Result<()> {
        self.fail()
    }
    async fn disconnect_network(&self, _network: &str, _container: &str) -> Result<()> {
        self.fail()
    }
    async fn list_networks(&self, _filters: &[LabelFilter]) -> Result<Vec<NetworkInfo>> {
        self.fail()
    }
    async fn create_volume(&self, _spec: &VolumeSpec) -> Result<VolumeInfo> {
        self.fail()
    }
    async fn inspect_volume(&self, _name: &str) -> Result<VolumeInfo> {
        self.fail()
    }
    async fn remove_volume(&self, _name: &str) -> Result<()> {
        self.fail()
    }
    async fn list_volumes(&self, _filters: &[LabelFilter]) -> Result<Vec<VolumeInfo>> {
        self.fail()
    }
    async fn create_container(&self, _spec: &ContainerSpec) -> Result<String> {
        self.fail()
    }
    async fn start_container(&self, _container: &str) -> Result<()> {
        self.fail()
    }
    async fn stop_container(&self, _container: &str, _timeout: Duration) -> Result<()> {
        self.fail()
    }
    async fn kill_container(&self, _container: &str, _signal: &str) -> Result<()> {
        self.fail()
    }
    async fn remove_container(&self, _container: &str, _options: RemoveOptions) -> Result<()> {
        self.fail()
    }
    async fn rename_container(&self, _container: &str, _new_name: &str) -> Result<()> {
        self.fail()
    }
    async fn inspect_container(&self, _container: &str) -> Result<ContainerInfo> {
        self.fail()
    }
    async fn list_containers(&self, _filters: &[LabelFilter]) -> Result<Vec<ContainerSummary>> {
        self.fail()
    }
    async fn logs(&self, _container: &str) -> Result<Vec<LogLine>> {
        self.fail()
    }
    fn follow_logs(&self, _container: &str) -> BoxStream<'static, LogLine> {
        stream::empty().boxed()
    }
    async fn stats(&self, _container: &str) -> Result<ContainerStats> {
        self.fail()
    }
    /// Nothing ever happens without an engine; the stream stays open.
    fn events(&self, _filters: &[LabelFilter]) -> BoxStream<'static, RuntimeEvent> {
        stream::pending().boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_operation_reports_why_the_engine_is_missing() {
        let reason = RuntimeError::EngineUnreachable {
            endpoint: "unix:///var/run/docker.sock".into(),
            reason: "permission denied — add your user to the docker group or set DOCKER_HOST"
                .into(),
        };
        let rt: &dyn ContainerRuntime = &Unavailable::new(reason.clone());
        assert_eq!(rt.engine_info().await.unwrap_err(), reason);
        let spec = ContainerSpec {
            image: "x".into(),
            ..Default::default()
        };
        assert_eq!(rt.create_container(&spec).await.unwrap_err(), reason);
        assert_eq!(rt.list_containers(&[]).await.unwrap_err(), reason);
    }
}
