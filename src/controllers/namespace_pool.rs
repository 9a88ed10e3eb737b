//! Warm network namespaces for awsvpc tasks.
//!
//! Making a network namespace is the slowest part of starting a container:
//! on the engines measured by `compat-tests/bench/tasks.py`, `docker run`
//! takes about 340 ms and a container that joins another one's namespace
//! (`--network container:<id>`) about 180 ms. So the pool keeps a few
//! namespace holders already started on the awsvpc network; a starting
//! awsvpc task takes one and its containers join it, and the namespace work
//! was done before RunTask was called. (The ECS agent makes its pause
//! container per task; the result inside the task is the same: one
//! namespace, one address, shared by the task's containers.)
//!
//! The pool refills only while no task is starting, so a burst of tasks is
//! never slowed by it: tasks that find it empty make their namespace as
//! before. It fills for the first time when the first awsvpc task starts, so
//! an ecsbox that never runs one creates nothing.
//!
//! A warm holder carries ecsbox's owner and role labels, so reset, shutdown
//! and the next start remove it with everything else the instance owns. It
//! cannot carry its task's agent labels (Docker fixes labels at creation);
//! once taken it is renamed the way the agent names a task's pause container.

use super::task_dns::TaskDnsServers;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::runtime::{
    ContainerRuntime, ContainerSpec, ExtraHost, NetworkMode, RemoveOptions, OWNER_LABEL,
};

/// The label that marks an ecsbox task's namespace holder container.
pub const ROLE_LABEL: &str = "ecsbox.role";
/// The value of `ecsbox.role` on every namespace holder, warm or not.
pub const HOLDER_ROLE: &str = "namespace-holder";
/// The name prefix of a holder that waits in the pool.
pub const WARM_NAME_PREFIX: &str = "ecsbox-warm-";

pub struct NamespacePool {
    runtime: Arc<dyn ContainerRuntime>,
    owner: String,
    /// The DNS servers of the holders (and so of their tasks' containers).
    dns: Arc<TaskDnsServers>,
    /// How many started holders the pool keeps (0 turns it off).
    target: usize,
    state: Mutex<PoolState>,
    /// Tasks between "start begun" and "started or failed": the pool fills
    /// only when this is 0.
    starting: AtomicUsize,
    idle: Notify,
    /// Signalled when a fill has finished with the holder it was making.
    made: Notify,
}

#[derive(Default)]
struct PoolState {
    /// Started holders nobody has taken, oldest first.
    warm: Vec<String>,
    /// Bumped by `clear`: a holder made by a fill that began before the
    /// clear is removed, not pooled.
    generation: u64,
    /// A fill loop is running.
    filling: bool,
    /// A fill is creating a holder right now (`clear` waits for it).
    making: bool,
}

/// Held while a task starts; see `NamespacePool::starting`.
pub struct StartingGuard(Arc<NamespacePool>);

impl Drop for StartingGuard {
    fn drop(&mut self) {
        if self.0.starting.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl NamespacePool {
    pub fn new(
        runtime: Arc<dyn ContainerRuntime>,
        owner: String,
        dns: Arc<TaskDnsServers>,
        target: usize,
    ) -> Arc<Self> {
        Arc::new(NamespacePool {
            runtime,
            owner,
            dns,
            target,
            state: Mutex::new(PoolState::default()),
            starting: AtomicUsize::new(0),
            idle: Notify::new(),
            made: Notify::new(),
        })
    }

    /// Marks a task start: the pool does not fill until it is dropped.
    pub fn starting(self: &Arc<Self>) -> StartingGuard {
        self.starting.fetch_add(1, Ordering::SeqCst);
        StartingGuard(self.clone())
    }

    /// A started holder on the awsvpc network, if one is waiting.
    pub fn take(&self) -> Option<String> {
        let mut st = self.state.lock();
        if st.warm.is_empty() {
            None
        } else {
            Some(st.warm.remove(0))
        }
    }

    /// Forgets a warm holder that died or was removed outside ecsbox.
    pub fn discard(&self, id: &str) {
        self.state.lock().warm.retain(|w| w != id);
    }

    /// Forgets every warm holder and returns their ids (the caller removes
    /// the containers). Returns once no fill is making a holder: one made
    /// meanwhile has been removed by then, so a reset that returns leaves no
    /// container behind.
    pub async fn clear(&self) -> Vec<String> {
        let forgotten = {
            let mut st = self.state.lock();
            st.generation += 1;
            std::mem::take(&mut st.warm)
        };
        wait_until(&self.made, || !self.state.lock().making).await;
        forgotten
    }

    /// Brings the pool up to its target on `network`, in the background,
    /// one holder at a time and only while no task is starting. Does
    /// nothing when a fill is already running or the pool is off.
    pub fn fill(self: &Arc<Self>, network: String) {
        if self.target == 0 {
            return;
        }
        let generation = {
            let mut st = self.state.lock();
            if st.filling || st.warm.len() >= self.target {
                return;
            }
            st.filling = true;
            st.generation
        };
        let me = self.clone();
        tokio::spawn(async move {
            me.fill_loop(&network, generation).await;
            me.state.lock().filling = false;
        });
    }

    async fn fill_loop(&self, network: &str, generation: u64) {
        loop {
            wait_until(&self.idle, || self.starting.load(Ordering::SeqCst) == 0).await;
            {
                let mut st = self.state.lock();
                if st.generation != generation || st.warm.len() >= self.target {
                    return;
                }
                st.making = true;
            }
            let pooled = self.make_and_pool(network, generation).await;
            self.state.lock().making = false;
            self.made.notify_waiters();
            if !pooled {
                return;
            }
        }
    }

    /// Makes one holder and pools it; false when it could not be made or a
    /// `clear` came meanwhile (then it is removed again).
    async fn make_and_pool(&self, network: &str, generation: u64) -> bool {
        let id = match self.make_holder(network).await {
            Ok(id) => id,
            Err(e) => {
                // The next awsvpc task tries again; no retry loop against an
                // engine that refuses.
                tracing::debug!("warm namespace pool: could not start a holder on {network}: {e}");
                return false;
            }
        };
        let pooled = {
            let mut st = self.state.lock();
            let keep = st.generation == generation && st.warm.len() < self.target;
            if keep {
                st.warm.push(id.clone());
            }
            keep
        };
        if !pooled {
            // A reset happened meanwhile: nobody would ever take or remove
            // this one.
            let _ = self
                .runtime
                .remove_container(&id, RemoveOptions::FORCE)
                .await;
        }
        pooled
    }

    /// Creates and starts one warm holder.
    async fn make_holder(&self, network: &str) -> Result<String, String> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{WARM_NAME_PREFIX}{}", &suffix[..12]);
        let dns_servers = self
            .dns
            .for_mode(self.runtime.as_ref(), &NetworkMode::network(network))
            .await;
        let id = create_holder(
            self.runtime.as_ref(),
            &self.owner,
            &dns_servers,
            &[],
            network,
            name,
            HashMap::new(),
        )
        .await?;
        if let Err(e) = self.runtime.start_container(&id).await {
            let _ = self
                .runtime
                .remove_container(&id, RemoveOptions::FORCE)
                .await;
            return Err(e.to_string());
        }
        Ok(id)
    }
}

/// Returns once `done` holds, checking it again each time `signal` is
/// notified (registered before the check, so a notification between the
/// check and the wait is not lost).
async fn wait_until(signal: &Notify, done: impl Fn() -> bool) {
    loop {
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if done() {
            return;
        }
        notified.await;
    }
}

/// Creates (does not start) a namespace holder on `network`: the pause
/// image and nothing else, labeled as owned by `owner` with the holder role
/// plus `labels`. Warm holders and the holders made for one task (which add
/// the agent's task labels) both come from here. `dns_servers` become the
/// namespace's resolvers (on a user-defined network, the ones Docker's
/// embedded resolver asks for names that are not containers').
pub async fn create_holder(
    runtime: &dyn ContainerRuntime,
    owner: &str,
    dns_servers: &[String],
    extra_hosts: &[ExtraHost],
    network: &str,
    name: String,
    mut labels: HashMap<String, String>,
) -> Result<String, String> {
    let image = crate::runtime::pause::ensure_pause_image(runtime)
        .await
        .map_err(|e| e.to_string())?;
    labels.insert(OWNER_LABEL.to_string(), owner.to_string());
    labels.insert(ROLE_LABEL.to_string(), HOLDER_ROLE.to_string());
    let spec = ContainerSpec {
        name: Some(name),
        image,
        labels,
        network_mode: NetworkMode::Network {
            name: network.to_string(),
            ipv4_address: None,
            aliases: vec![],
        },
        dns_servers: dns_servers.to_vec(),
        extra_hosts: extra_hosts.to_vec(),
        ..Default::default()
    };
    runtime
        .create_container(&spec)
        .await
        .map_err(|e| e.to_string())
}
