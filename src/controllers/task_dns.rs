//! Which DNS server a task's containers are given (Docker's `dns`), so that
//! the names of Cloud Map's DNS namespaces resolve inside them
//! (`crate::dns` answers them).
//!
//! As the binary, ecsbox serves at one address on the host's loopback
//! interface that every container reaches through its default route, so
//! every task gets that address. In its image, ecsbox serves on its own
//! container instead, and a container reaches another only over a network
//! both are on: a task gets ecsbox's address on the network the task is on.
//! ecsbox's container already joins the awsvpc network (for the load
//! balancers, `TaskController::ensure_awsvpc_network`); for bridge tasks it
//! joins Docker's default bridge the first time one starts.

use crate::runtime::{ContainerRuntime, NetworkMode};
use std::collections::HashMap;

/// Docker's name of its default bridge network.
const DEFAULT_BRIDGE: &str = "bridge";

#[derive(Debug)]
pub enum TaskDnsServers {
    /// Docker's default resolver (ecsbox's DNS is off).
    Docker,
    /// ecsbox's resolver at one address every container reaches.
    At(String),
    /// ecsbox runs in a container (named here) and serves DNS on it.
    OwnContainer {
        container: String,
        /// ecsbox's address per network (id, or `bridge`), once looked up.
        addresses: tokio::sync::Mutex<HashMap<String, String>>,
    },
}

impl TaskDnsServers {
    pub fn own_container(container: String) -> Self {
        TaskDnsServers::OwnContainer {
            container,
            addresses: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The DNS servers of a container started in `mode` (the awsvpc
    /// network is `NetworkMode::Network` by its id). Empty: Docker's
    /// default, also when ecsbox's address there cannot be had (the log
    /// says why; the task still starts, without Cloud Map's names).
    pub async fn for_mode(
        &self,
        runtime: &dyn ContainerRuntime,
        mode: &NetworkMode,
    ) -> Vec<String> {
        match self {
            TaskDnsServers::Docker => vec![],
            TaskDnsServers::At(address) => vec![address.clone()],
            TaskDnsServers::OwnContainer {
                container,
                addresses,
            } => {
                let network = match mode {
                    NetworkMode::Network { name, .. } => name.as_str(),
                    NetworkMode::Bridge => DEFAULT_BRIDGE,
                    // Host containers keep the host's resolver; the others
                    // take their namespace's.
                    _ => return vec![],
                };
                let mut known = addresses.lock().await;
                if let Some(address) = known.get(network) {
                    return vec![address.clone()];
                }
                match own_address(runtime, container, network).await {
                    Ok(address) => {
                        known.insert(network.to_string(), address.clone());
                        vec![address]
                    }
                    Err(why) => {
                        tracing::warn!(
                            "tasks on network {network} keep Docker's resolver (no Cloud Map \
                             names): {why}"
                        );
                        vec![]
                    }
                }
            }
        }
    }
}

/// ecsbox's own container's address on `network`, joining it first when it
/// is the default bridge (the awsvpc network was joined when it was made).
async fn own_address(
    runtime: &dyn ContainerRuntime,
    container: &str,
    network: &str,
) -> Result<String, String> {
    if network == DEFAULT_BRIDGE {
        if let Err(e) = runtime
            .connect_network(DEFAULT_BRIDGE, container, None)
            .await
        {
            // Already on it (testcontainers starts containers there).
            if !e.to_string().contains("already exists") {
                return Err(format!("ecsbox's container could not join it: {e}"));
            }
        }
    }
    let info = runtime
        .inspect_container(container)
        .await
        .map_err(|e| format!("ecsbox's container could not be inspected: {e}"))?;
    info.networks
        .iter()
        .find(|(name, endpoint)| *name == network || endpoint.network_id == network)
        .and_then(|(_, endpoint)| endpoint.ip_address.clone())
        .filter(|ip| !ip.is_empty())
        .ok_or_else(|| "ecsbox's container has no address on it".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::fake::FakeRuntime;
    use crate::runtime::{ContainerSpec, NetworkSpec};

    async fn running(runtime: &FakeRuntime, name: &str) -> String {
        let spec = ContainerSpec {
            name: Some(name.into()),
            image: "ecsbox".into(),
            ..ContainerSpec::default()
        };
        runtime.add_image("ecsbox");
        let id = runtime.create_container(&spec).await.unwrap();
        runtime.start_container(&id).await.unwrap();
        id
    }

    #[tokio::test]
    async fn in_its_image_tasks_get_ecsbox_address_on_their_own_network() {
        let runtime = FakeRuntime::new();
        let me = running(&runtime, "ecsbox-me").await;
        let network = runtime
            .create_network(&NetworkSpec {
                name: "ecsbox-awsvpc-x".into(),
                labels: HashMap::new(),
                subnet: Some("10.77.0.0/24".into()),
                gateway: None,
            })
            .await
            .unwrap();
        runtime.connect_network(&network, &me, None).await.unwrap();
        let dns = TaskDnsServers::own_container(me.clone());
        let awsvpc = NetworkMode::Network {
            name: network.clone(),
            ipv4_address: None,
            aliases: vec![],
        };

        let on_awsvpc = dns.for_mode(&runtime, &awsvpc).await;
        let info = runtime.inspect_container(&me).await.unwrap();
        let mine = info.networks["ecsbox-awsvpc-x"].ip_address.clone().unwrap();
        assert!(mine.starts_with("10.77.0."), "{mine}");
        assert_eq!(on_awsvpc, vec![mine]);

        // Bridge tasks: ecsbox joins the default bridge and gives its address there.
        let on_bridge = dns.for_mode(&runtime, &NetworkMode::Bridge).await;
        let info = runtime.inspect_container(&me).await.unwrap();
        let bridge = info.networks["bridge"].ip_address.clone().unwrap();
        assert_eq!(on_bridge, vec![bridge.clone()]);
        assert_ne!(on_bridge, on_awsvpc);
        // Asked again, the same (looked up once).
        assert_eq!(
            dns.for_mode(&runtime, &NetworkMode::Bridge).await,
            vec![bridge]
        );

        assert!(dns.for_mode(&runtime, &NetworkMode::Host).await.is_empty());
    }

    #[tokio::test]
    async fn without_an_address_there_the_task_keeps_dockers_resolver() {
        let runtime = FakeRuntime::new();
        let dns = TaskDnsServers::own_container("not-a-container".into());
        assert!(dns
            .for_mode(&runtime, &NetworkMode::Bridge)
            .await
            .is_empty());
        let fixed = TaskDnsServers::At("169.254.169.253".into());
        assert_eq!(
            fixed.for_mode(&runtime, &NetworkMode::Bridge).await,
            vec!["169.254.169.253".to_string()]
        );
        assert!(TaskDnsServers::Docker
            .for_mode(&runtime, &NetworkMode::Bridge)
            .await
            .is_empty());
    }
}
