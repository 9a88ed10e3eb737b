//! The task controller: moves each task through its life (the table in
//! `state::lifecycle`) by doing the Docker work through `ContainerRuntime`.
//!
//! One async driver per task. A driver is woken by the runtime's events for
//! its containers (routed here by container id) and by StopTask; it never
//! sleep-polls. State is changed only in short, synchronous sections under
//! the region's lock (`with_task`); no lock is held across an `.await`.

use super::awslogs;
use super::container_spec::{self, SpecContext};
use super::image_source::{self, PrivateRegistry};
use super::namespace_pool::{self, NamespacePool};
use super::naming;
use super::task_dns::TaskDnsServers;
use super::volumes;
use crate::lb::TargetKey;
use crate::logs::LogStore;
use crate::model::shapes::{
    Container, ContainerDefinition, KeyValuePair, NetworkBinding, NetworkInterface,
};
use crate::runtime::{
    ContainerEventKind, ContainerInfo, ContainerRuntime, ExtraHost, HealthStatus, LabelFilter,
    NetworkMode, NetworkSpec, RegistryCredentials, RemoveOptions, RuntimeEvent, OWNER_LABEL,
};
use crate::secrets::SecretsStore;
use crate::state::lifecycle::TaskStatus;
use crate::state::tasks::{epoch_now, Effect, StopCode, TaskRecord};
use crate::state::{arn, Store};
use dashmap::DashMap;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The longest a stopping task waits for Service Connect's connections to
/// it to close (ecsbox's choice: ECS's default container stop timeout).
const SERVICE_CONNECT_DRAIN: Duration = Duration::from_secs(30);

/// The Docker network awsvpc tasks of an ecsbox instance get their own IP
/// on. One per instance id, so instances sharing an engine never remove
/// each other's network.
pub fn awsvpc_network_name(instance_id: &str) -> String {
    let safe: String = instance_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("ecsbox-awsvpc-{safe}")
}
/// An effect of an API call, with the (account, region) it happened in.
#[derive(Debug, Clone)]
pub struct RegionEffect {
    pub account: String,
    pub region: String,
    pub effect: Effect,
}

pub type EffectSender = mpsc::UnboundedSender<RegionEffect>;

#[derive(Debug, Clone)]
pub struct TaskSettings {
    /// How long a STOPPED task's containers stay before they are removed.
    pub cleanup_delay: Duration,
    /// The stop timeout of a container whose definition sets none (the ECS
    /// agent's ECS_CONTAINER_STOP_TIMEOUT default).
    pub default_stop_timeout: Duration,
    /// How many started namespace holders wait for awsvpc tasks (see
    /// `namespace_pool`); 0 makes every task its own.
    pub warm_namespaces: usize,
    /// ecsbox's own container, when it runs in one: connected to the awsvpc
    /// network, so that what ecsbox itself reaches in tasks (load balancer
    /// listeners and their health checks) gets to their IPs as it does
    /// from the host (Docker isolates one bridge network from another).
    pub own_container: Option<String>,
    /// The DNS servers task containers get when their definition names
    /// none: ecsbox's resolver for Cloud Map names (`crate::dns`), or
    /// Docker's default.
    pub dns: Arc<TaskDnsServers>,
    /// Where the handshake records the engine's host as containers reach
    /// it (see `RegionSettings::published_ports_host`).
    pub published_ports_host: Arc<std::sync::OnceLock<String>>,
}

impl Default for TaskSettings {
    fn default() -> Self {
        TaskSettings {
            cleanup_delay: Duration::from_secs(300),
            default_stop_timeout: container_spec::DEFAULT_STOP_TIMEOUT,
            warm_namespaces: 0,
            own_container: None,
            dns: Arc::new(TaskDnsServers::Docker),
            published_ports_host: Arc::default(),
        }
    }
}

/// Where a task lives in the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TaskKey {
    account: String,
    region: String,
    task_arn: String,
}

/// What wakes a task's driver.
#[derive(Debug)]
enum Wake {
    /// One of its containers did something (died, changed health, was removed).
    Container {
        id: String,
        kind: ContainerEventKind,
    },
    /// Someone wants it stopped (the record's desired status says so).
    Stop,
    /// Events may have been missed: look at every container again.
    Recheck,
}

pub struct TaskController {
    store: Arc<Store>,
    runtime: Arc<dyn ContainerRuntime>,
    /// This ecsbox instance's id: the value of the owner label on everything it creates.
    owner: String,
    settings: TaskSettings,
    /// The driver of each live task.
    drivers: DashMap<String, mpsc::UnboundedSender<Wake>>,
    /// Docker container id -> the task it belongs to, to route events.
    containers: DashMap<String, String>,
    /// The engine handshake, done before any Docker work until it reaches
    /// the engine: see `ready`.
    handshake: tokio::sync::Mutex<Option<Arc<Handshake>>>,
    /// Signalled whenever a task changes status or a service asks to be
    /// looked at: the service scheduler waits on it.
    changes: Arc<tokio::sync::Notify>,
    /// The awsvpc network's id once made (see `ensure_awsvpc_network`).
    awsvpc_network: tokio::sync::Mutex<Option<String>>,
    /// Started namespace holders awsvpc tasks take instead of making one.
    pool: Arc<NamespacePool>,
    /// Where containers' `secrets` are read from.
    secrets: Arc<SecretsStore>,
    /// ecsbox's ECR, once the server has handed it over (`image_source`).
    registry: std::sync::OnceLock<Arc<dyn PrivateRegistry>>,
    /// Where the awslogs driver writes.
    logs: Arc<LogStore>,
    /// The task metadata and credentials endpoints: each container gets a
    /// token and the variables that point its SDK there.
    metadata: crate::metadata::Endpoints,
    /// "ECS Task State Change" events go out here (to EventBridge).
    events: crate::events_out::Outbox,
    /// Set by `close` at shutdown: nothing launches any more.
    closing: AtomicBool,
    /// Set at a shutdown that leaves the tasks running (a state directory
    /// or --keep-containers): drivers let go of running tasks instead of
    /// stopping them.
    leave_running: AtomicBool,
    /// Set when tasks of an earlier run were adopted (`adopt_restored`):
    /// the handshake keeps their containers, network and volumes.
    adopted: AtomicBool,
    /// Drivers between PROVISIONING and RUNNING (creating Docker objects):
    /// `close` waits for them.
    in_start: AtomicUsize,
    start_done: tokio::sync::Notify,
}

/// What ecsbox learns from the engine before it runs anything.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// For the startup line: the engine's version, or why there is none.
    pub engine: String,
    /// The engine host's CPU count: Docker refuses a cpu cap above it.
    pub host_cpus: Option<i64>,
    /// The engine answered; else the handshake is made again next time.
    reached: bool,
}

/// Why a task could not be started: the stoppedReason AWS would give.
struct StartFailure(String);

/// Why a container's dependsOn can no longer be met: it will not be started.
struct DependencyFailed(String);

impl TaskController {
    pub fn new(
        store: Arc<Store>,
        runtime: Arc<dyn ContainerRuntime>,
        owner: String,
        settings: TaskSettings,
        secrets: Arc<SecretsStore>,
        logs: Arc<LogStore>,
        metadata: crate::metadata::Endpoints,
    ) -> Arc<Self> {
        let pool = NamespacePool::new(
            runtime.clone(),
            owner.clone(),
            settings.dns.clone(),
            settings.warm_namespaces,
        );
        Arc::new(TaskController {
            store,
            runtime,
            owner,
            settings,
            pool,
            drivers: DashMap::new(),
            containers: DashMap::new(),
            handshake: tokio::sync::Mutex::new(None),
            changes: Arc::new(tokio::sync::Notify::new()),
            awsvpc_network: tokio::sync::Mutex::new(None),
            secrets,
            registry: std::sync::OnceLock::new(),
            logs,
            metadata,
            events: Default::default(),
            closing: AtomicBool::new(false),
            leave_running: AtomicBool::new(false),
            adopted: AtomicBool::new(false),
            in_start: AtomicUsize::new(0),
            start_done: tokio::sync::Notify::new(),
        })
    }

    /// Tasks pull images naming ecsbox's ECR from `registry` (set once, by
    /// the server).
    pub fn set_private_registry(&self, registry: Arc<dyn PrivateRegistry>) {
        let _ = self.registry.set(registry);
    }

    /// What the service scheduler waits on.
    pub fn changes(&self) -> Arc<tokio::sync::Notify> {
        self.changes.clone()
    }

    /// The engine handshake: ask the engine who it is and remove what an
    /// earlier run with this instance id left behind. Every driver waits
    /// for it before touching Docker, so the cleanup can never remove a new
    /// task's containers; the server does not wait for it to answer API
    /// calls. Made once the engine answers; until then (no engine at start)
    /// each call tries again, so an engine that comes later is set up the
    /// same way.
    pub async fn ready(&self) -> Arc<Handshake> {
        let mut handshake = self.handshake.lock().await;
        if let Some(done) = handshake.as_ref().filter(|h| h.reached) {
            return done.clone();
        }
        let made = Arc::new(match self.runtime.engine_info().await {
            Ok(info) => {
                if let Some(gateway) = self.bridge_gateway().await {
                    let _ = self.settings.published_ports_host.set(gateway);
                }
                let leftovers = self.remove_leftovers().await;
                if leftovers > 0 {
                    tracing::info!("removed {leftovers} containers an earlier run with instance id {} left behind", self.owner);
                }
                Handshake {
                    engine: format!("Docker {}", info.version),
                    host_cpus: Some(info.cpus),
                    reached: true,
                }
            }
            Err(e) => Handshake {
                engine: format!("no Docker engine ({e})"),
                host_cpus: None,
                reached: false,
            },
        });
        *handshake = Some(made.clone());
        made
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The default bridge network's gateway: the engine's host as every
    /// container reaches it (it is one of the host's addresses, so from a
    /// container on any network too), where published ports answer.
    async fn bridge_gateway(&self) -> Option<String> {
        let networks = self.runtime.list_networks(&[]).await.ok()?;
        let bridge = networks
            .into_iter()
            .find(|n| n.name == "bridge" && n.driver == "bridge")?;
        // The default bridge often lists its subnet only: Docker then gives
        // the gateway the subnet's first address.
        bridge
            .gateway
            .or_else(|| first_address(bridge.subnet.as_deref()?))
    }

    /// Starts the controller's loops: effects from the API and runtime events.
    pub fn spawn(self: &Arc<Self>, mut effects: mpsc::UnboundedReceiver<RegionEffect>) {
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(e) = effects.recv().await {
                me.apply(e);
            }
        });
        let me = self.clone();
        let mut events = self
            .runtime
            .events(&[LabelFilter::equals(OWNER_LABEL, self.owner.clone())]);
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                me.route(event);
            }
        });
    }

    fn apply(self: &Arc<Self>, e: RegionEffect) {
        match e.effect {
            // Shutting down: the task would be removed as soon as it ran.
            Effect::Launch { .. } if self.closing.load(Ordering::SeqCst) => {}
            Effect::Launch { task_arn } => {
                let (tx, rx) = mpsc::unbounded_channel();
                self.drivers.insert(task_arn.clone(), tx);
                let key = TaskKey {
                    account: e.account,
                    region: e.region,
                    task_arn,
                };
                let me = self.clone();
                tokio::spawn(async move { me.drive(key, rx).await });
            }
            Effect::Stop { task_arn } => {
                if let Some(tx) = self.drivers.get(&task_arn) {
                    let _ = tx.send(Wake::Stop);
                }
            }
            Effect::Reconcile => self.changes.notify_one(),
        }
    }

    fn route(self: &Arc<Self>, event: RuntimeEvent) {
        match event {
            RuntimeEvent::Container(ev) => {
                let Some(task_arn) = self.containers.get(&ev.container_id).map(|t| t.clone())
                else {
                    if matches!(
                        ev.kind,
                        ContainerEventKind::Die { .. } | ContainerEventKind::Destroy
                    ) {
                        // A warm holder killed or removed from outside.
                        self.pool.discard(&ev.container_id);
                    }
                    return;
                };
                if let Some(tx) = self.drivers.get(&task_arn) {
                    let _ = tx.send(Wake::Container {
                        id: ev.container_id,
                        kind: ev.kind,
                    });
                }
            }
            RuntimeEvent::Reconnected => {
                for d in self.drivers.iter() {
                    let _ = d.value().send(Wake::Recheck);
                }
                // An engine reached only now gets its handshake (and its
                // leftovers removed) without waiting for a task to start.
                let me = self.clone();
                tokio::spawn(async move {
                    me.ready().await;
                });
            }
        }
    }

    /// Runs `f` on the task's record under its region's lock. None if the
    /// task is gone (e.g. after a reset).
    fn with_task<T>(&self, key: &TaskKey, f: impl FnOnce(&mut TaskRecord) -> T) -> Option<T> {
        let region = self.store.region(&key.account, &key.region);
        let mut state = region.lock();
        state.tasks.get_mut(&key.task_arn).map(f)
    }

    /// Moves the task to `status`, through every status in between, as the
    /// transition table allows.
    fn advance(&self, key: &TaskKey, status: TaskStatus) {
        let connected = self.events.is_connected();
        let changed = self.with_task(key, |r| {
            let before = r.status;
            while let Some(next) = r.status.next_towards(status) {
                r.set_status(next);
                if next >= status || (status == TaskStatus::Stopped && next == TaskStatus::Stopped)
                {
                    break;
                }
            }
            (connected && r.status != before).then(|| r.task.clone())
        });
        if let Some(Some(task)) = changed {
            self.emit_task_state_change(key, task);
        }
        self.changes.notify_one();
    }

    /// "ECS Task State Change" on the default bus: the task as
    /// DescribeTasks shows it (times in ISO 8601, as ECS's events have them).
    fn emit_task_state_change(&self, key: &TaskKey, task: crate::model::shapes::Task) {
        let now = crate::clock::now_system();
        let detail =
            crate::events_out::task_detail(serde_json::to_value(&task).unwrap_or_default(), now);
        self.events.emit(crate::events_out::OutEvent {
            account: key.account.clone(),
            region: key.region.clone(),
            source: "aws.ecs",
            detail_type: "ECS Task State Change",
            resources: vec![key.task_arn.clone()],
            detail,
            time: now,
        });
    }

    /// Where this controller's events go (the server connects EventBridge).
    pub fn events_outbox(&self) -> &crate::events_out::Outbox {
        &self.events
    }

    /// Whether the task should stop (or not start): its desired status says
    /// so, it is gone, or ecsbox is shutting down.
    fn wants_stop(&self, key: &TaskKey) -> bool {
        self.closing.load(Ordering::SeqCst)
            || self
                .with_task(key, |r| r.desired == TaskStatus::Stopped)
                .unwrap_or(true)
    }

    /// Shutdown, before the instance's containers are removed: no task
    /// launches any more, tasks still starting give up at their next step,
    /// and this returns once none is creating Docker objects (or after
    /// `limit`), so the removal that follows sees every container.
    pub async fn close(&self, limit: Duration) {
        self.closing.store(true, Ordering::SeqCst);
        let idle = async {
            loop {
                let done = self.start_done.notified();
                tokio::pin!(done);
                done.as_mut().enable();
                if self.in_start.load(Ordering::SeqCst) == 0 {
                    return;
                }
                done.await;
            }
        };
        if tokio::time::timeout(limit, idle).await.is_err() {
            tracing::warn!(
                "{} tasks were still starting after {limit:?}; removing the containers anyway",
                self.in_start.load(Ordering::SeqCst)
            );
        }
    }

    async fn drive(self: Arc<Self>, key: TaskKey, mut wake: mpsc::UnboundedReceiver<Wake>) {
        self.ready().await;
        let starting = self.pool.starting();
        let started = {
            let _in_start = InStart::new(&self.in_start, &self.start_done);
            if self.closing.load(Ordering::SeqCst) {
                Err(StartFailure("Task stopped before it started".into()))
            } else {
                self.start(&key, &mut wake).await
            }
        };
        drop(starting);
        match started {
            Ok(()) => self.watch(&key, &mut wake).await,
            Err(StartFailure(reason)) => {
                self.with_task(&key, |r| {
                    r.want_stopped(StopCode::TaskFailedToStart, reason)
                });
            }
        }
        self.finish(key).await;
    }

    /// After `watch`: stops the task and removes its containers later,
    /// unless ecsbox is shutting down and leaves running tasks running.
    async fn finish(self: Arc<Self>, key: TaskKey) {
        let running = self.with_task(&key, |r| {
            r.status == TaskStatus::Running && r.desired == TaskStatus::Running
        });
        if self.closing.load(Ordering::SeqCst)
            && self.leave_running.load(Ordering::SeqCst)
            && running == Some(true)
        {
            self.drivers.remove(&key.task_arn);
            return;
        }
        self.stop(&key).await;
        self.drivers.remove(&key.task_arn);
        self.cleanup_later(key);
    }

    /// At a shutdown that keeps the tasks (`--state-dir`,
    /// `--keep-containers`): running tasks are left as they are, not stopped.
    pub fn leave_running(&self) {
        self.leave_running.store(true, Ordering::SeqCst);
    }

    /// After a restart with a state directory: every task the restored
    /// state holds that had not stopped gets a driver again. Its containers
    /// are kept (the handshake removes only what no task claims); a task
    /// that was RUNNING is watched again, with its containers' metadata
    /// tokens, its awslogs streams and (through its service) its load
    /// balancer targets back, and stops as usual if a container died while
    /// ecsbox was down; a task caught starting is stopped, with the reason.
    /// STOPPED tasks whose containers were not removed yet are removed
    /// after the cleanup delay.
    pub fn adopt_restored(self: &Arc<Self>) {
        let mut adopted = 0;
        for (account, region) in self.store.keys() {
            let Some(state) = self.store.existing(&account, &region) else {
                continue;
            };
            let tasks: Vec<(String, TaskRecord)> = {
                let mut state = state.lock();
                state
                    .tasks
                    .iter_mut()
                    .filter(|(_, r)| r.status != TaskStatus::Stopped || !r.runtime.removed)
                    .map(|(arn, r)| {
                        // The load balancers' targets are registered again
                        // by the service scheduler (the data plane is new).
                        r.lb_targets.clear();
                        (arn.clone(), r.clone())
                    })
                    .collect()
            };
            for (task_arn, record) in tasks {
                let key = TaskKey {
                    account: account.clone(),
                    region: region.clone(),
                    task_arn,
                };
                for id in record
                    .runtime
                    .containers
                    .values()
                    .chain(record.runtime.namespace_holder.iter())
                {
                    self.containers.insert(id.clone(), key.task_arn.clone());
                }
                if record.status == TaskStatus::Stopped {
                    self.clone().cleanup_later(key);
                    continue;
                }
                adopted += 1;
                let (tx, rx) = mpsc::unbounded_channel();
                self.drivers.insert(key.task_arn.clone(), tx);
                let me = self.clone();
                tokio::spawn(async move { me.drive_adopted(key, record, rx).await });
            }
        }
        self.adopted.store(true, Ordering::SeqCst);
        if adopted > 0 {
            tracing::info!("adopting {adopted} tasks of the state directory");
        }
        self.changes.notify_one();
    }

    /// The driver of a task adopted after a restart (`adopt_restored`).
    async fn drive_adopted(
        self: Arc<Self>,
        key: TaskKey,
        record: TaskRecord,
        mut wake: mpsc::UnboundedReceiver<Wake>,
    ) {
        self.ready().await;
        if record.status == TaskStatus::Running {
            self.metadata
                .adopt_task(&key.account, &key.region, &key.task_arn, &record);
            for c in record.definition.container_definitions.iter().flatten() {
                let name = c.name.clone().unwrap_or_default();
                let (Some(target), Some(id)) = (
                    awslogs::target(c, &key.region),
                    record.runtime.containers.get(&name),
                ) else {
                    continue;
                };
                let stream = target.stream(&name, &record.id, id);
                awslogs::follow(
                    self.runtime.clone(),
                    self.logs.clone(),
                    key.account.clone(),
                    target,
                    stream,
                    id.clone(),
                    awslogs::From::WhereTheStreamStopped,
                );
            }
            // A container that died while ecsbox was down stops the task
            // here (watch looks at every container first).
            self.watch(&key, &mut wake).await;
        } else {
            self.with_task(&key, |r| {
                if r.desired != TaskStatus::Stopped {
                    r.want_stopped(
                        StopCode::TaskFailedToStart,
                        "Task stopped: ecsbox restarted while the task was starting",
                    );
                }
            });
        }
        self.finish(key).await;
    }

    /// PROVISIONING -> PENDING -> ACTIVATING -> RUNNING: network, images,
    /// containers created, then started in dependsOn order.
    async fn start(
        &self,
        key: &TaskKey,
        wake: &mut mpsc::UnboundedReceiver<Wake>,
    ) -> Result<(), StartFailure> {
        let Some((record_view, definition)) =
            self.with_task(key, |r| (r.clone(), r.definition.clone()))
        else {
            return Err(StartFailure("Task was removed".into()));
        };
        let network_mode = definition
            .network_mode
            .clone()
            .unwrap_or_else(|| "bridge".into());
        let containers: Vec<ContainerDefinition> =
            definition.container_definitions.clone().unwrap_or_default();
        let record_id = record_view.id.clone();

        // PROVISIONING: the task's network (awsvpc). A warm holder from the
        // pool if one waits (already started: the fastest start). Else a
        // task of one container needs no holder: that container is
        // essential, owns the namespace and the task ends with it. With
        // more, a holder keeps the namespace while containers come and go,
        // as the agent's pause container does.
        let awsvpc = network_mode == "awsvpc";
        let init_failed = |e: String| {
            StartFailure(format!(
                "ResourceInitializationError: failed to set up the task network: {e}"
            ))
        };
        let network = if awsvpc {
            Some(self.ensure_awsvpc_network().await.map_err(init_failed)?)
        } else {
            None
        };
        // A task of a Service Connect service starts knowing the
        // namespace's endpoints, in its /etc/hosts: on its holder, made
        // for it (warm holders were made knowing none), or on its one
        // container.
        let service_connect_hosts = self.service_connect_hosts(key, &record_view);
        let warm = match &network {
            Some(_) if !service_connect_hosts.is_empty() => None,
            Some(network) => {
                let warm = self.pool.take();
                // Refills once no task is starting, this one included.
                self.pool.fill(network.clone());
                warm
            }
            None => None,
        };
        let holder_is_warm = warm.is_some();
        let holder = match (&network, warm) {
            (_, Some(warm)) => Some(warm),
            (Some(network), None) if containers.len() > 1 => Some(
                self.create_namespace_holder(&record_view, network, &service_connect_hosts)
                    .await
                    .map_err(init_failed)?,
            ),
            _ => None,
        };
        let holder = match holder {
            Some(holder) => {
                self.containers.insert(holder.clone(), key.task_arn.clone());
                if self
                    .with_task(key, |r| r.runtime.namespace_holder = Some(holder.clone()))
                    .is_none()
                {
                    let _ = self
                        .runtime
                        .remove_container(&holder, RemoveOptions::FORCE)
                        .await;
                    return Err(StartFailure("Task was removed".into()));
                }
                Some(holder)
            }
            _ => None,
        };
        if self.wants_stop(key) {
            return Err(StartFailure("Task stopped before it started".into()));
        }
        self.advance(key, TaskStatus::Pending);

        let mode = match (&holder, &network, network_mode.as_str()) {
            (Some(h), _, _) => NetworkMode::Container(h.clone()),
            (None, Some(n), _) => NetworkMode::Network {
                name: n.clone(),
                ipv4_address: None,
                aliases: vec![],
            },
            (None, None, "host") => NetworkMode::Host,
            (None, None, "none") => NetworkMode::None,
            _ => NetworkMode::Bridge,
        };
        // The holder starts while images are looked up and the containers
        // created: only starting the containers needs it running. A warm
        // one runs already and only gets the task's pause container name.
        let holder_started = async {
            match &holder {
                Some(h) if holder_is_warm => {
                    if let Err(e) = self
                        .runtime
                        .rename_container(h, &pause_container_name(&record_view))
                        .await
                    {
                        tracing::debug!(task = %key.task_arn, "could not rename warm namespace holder {h}: {e}");
                    }
                    Ok(())
                }
                Some(h) => self
                    .runtime
                    .start_container(h)
                    .await
                    .map_err(|e| init_failed(e.to_string())),
                None => Ok(()),
            }
        };
        let (started, created) = tokio::join!(
            holder_started,
            self.create_containers(
                key,
                &record_view,
                &definition,
                &containers,
                mode,
                &service_connect_hosts
            )
        );
        let ids = created?;
        started?;
        // Where the task's address is read from.
        let namespace_owner = holder
            .clone()
            .or_else(|| network.as_ref().and_then(|_| ids.values().next().cloned()));

        let waves = container_spec::start_order(&definition)
            .map_err(|e| StartFailure(format!("CannotStartContainerError: {e}")))?;
        for wave in waves {
            for name in &wave {
                let def = containers
                    .iter()
                    .find(|c| c.name.as_deref() == Some(name))
                    .expect("start_order names containers of the definition");
                if let Err(DependencyFailed(reason)) =
                    self.wait_for_dependencies(key, def, &ids, wake).await?
                {
                    // As the agent does: the container is never started and
                    // reported stopped; only an essential one stops the task.
                    self.with_task(key, |r| {
                        let essential = is_essential(r, name);
                        if let Some(c) = r.container_mut(name) {
                            c.last_status = Some("STOPPED".into());
                            c.reason = Some(reason.clone());
                            c.exit_code = Some(143);
                        }
                        if essential {
                            r.want_stopped(
                                StopCode::EssentialContainerExited,
                                "Essential container in task exited",
                            );
                        }
                    });
                    if self.wants_stop(key) {
                        return Ok(());
                    }
                    continue;
                }
                let id = &ids[name];
                self.runtime
                    .start_container(id)
                    .await
                    .map_err(|e| StartFailure(format!("CannotStartContainerError: {e}")))?;
                if let Some(target) = awslogs::target(def, &key.region) {
                    // A follow without `since` replays every line from the
                    // container's start, so none is missed.
                    let stream = target.stream(name, &record_id, id);
                    awslogs::follow(
                        self.runtime.clone(),
                        self.logs.clone(),
                        key.account.clone(),
                        target,
                        stream,
                        id.clone(),
                        awslogs::From::Start,
                    );
                }
                self.refresh_container(key, name, id).await;
            }
        }
        // Every container started: the task did start, even when one has
        // exited already (its die event can beat this line on a busy
        // engine). A command that exits at once is a task that ran and
        // stopped, not one that failed to start, for the service throttle
        // (`service_throttle::failed_to_start`) as for ECS.
        self.with_task(key, |r| {
            if r.status == TaskStatus::Stopped {
                return;
            }
            let now = epoch_now();
            r.task.started_at = Some(now);
            r.task.connectivity = Some("CONNECTED".into());
            r.task.connectivity_at = Some(now);
        });
        if self.wants_stop(key) {
            return Ok(());
        }
        self.refresh_network(key, namespace_owner.as_deref()).await;
        self.advance(key, TaskStatus::Running);
        Ok(())
    }

    /// PENDING -> ACTIVATING: the images (local first), then every container
    /// created (not started), recorded in the task as it goes.
    async fn create_containers(
        &self,
        key: &TaskKey,
        record_view: &TaskRecord,
        definition: &crate::model::shapes::TaskDefinition,
        containers: &[ContainerDefinition],
        mode: NetworkMode,
        service_connect_hosts: &[ExtraHost],
    ) -> Result<BTreeMap<String, String>, StartFailure> {
        // Secrets and environment files first: a missing secret fails the
        // task before anything is pulled, as ECS's ResourceInitializationError.
        let mut extra_env = HashMap::new();
        for c in containers {
            let env = crate::secrets::resolve::container_extra_env(
                &self.secrets,
                &key.account,
                &key.region,
                c,
            )
            .map_err(StartFailure)?;
            extra_env.insert(c.name.clone().unwrap_or_default(), env);
            if let Some(target) = awslogs::target(c, &key.region) {
                awslogs::prepare_group(&self.logs, &key.account, &target).map_err(StartFailure)?;
            }
        }
        self.with_task(key, |r| r.task.pull_started_at = Some(epoch_now()));
        let mut images = HashMap::new();
        for c in containers {
            let name = c.name.clone().unwrap_or_default();
            let image = c.image.as_deref().unwrap_or_default();
            let repository_credentials =
                crate::secrets::resolve::registry_credentials(&self.secrets, c)
                    .map_err(StartFailure)?
                    .map(|(username, password)| RegistryCredentials {
                        username,
                        password,
                        server: image_source::registry_of(image),
                    });
            let obtained = image_source::obtain(
                self.runtime.as_ref(),
                self.registry.get().map(|r| r.as_ref()),
                &key.account,
                &key.region,
                image,
                definition.execution_role_arn.as_deref(),
                repository_credentials,
            )
            .await;
            match obtained {
                Ok(info) => {
                    images.insert(name, info);
                }
                Err(e) => {
                    let reason = format!("CannotPullContainerError: {e}");
                    self.with_task(key, |r| {
                        if let Some(view) = r.container_mut(&name) {
                            view.reason = Some(reason.clone());
                        }
                    });
                    return Err(StartFailure(reason));
                }
            }
        }
        self.with_task(key, |r| r.task.pull_stopped_at = Some(epoch_now()));
        if self.wants_stop(key) {
            return Err(StartFailure("Task stopped before it started".into()));
        }
        self.advance(key, TaskStatus::Activating);

        let task_volumes = volumes::prepare_task_volumes(
            self.runtime.as_ref(),
            &self.owner,
            &key.task_arn,
            &record_view.id,
            definition,
        )
        .await
        .map_err(StartFailure)?;
        if self
            .with_task(key, |r| {
                r.runtime.volumes = task_volumes.task_scoped.clone()
            })
            .is_none()
        {
            volumes::release_task_volumes(self.runtime.as_ref(), &task_volumes).await;
            return Err(StartFailure("Task was removed".into()));
        }

        // In start order, so a volumesFrom source exists before its user.
        let order: Vec<String> = container_spec::start_order(definition)
            .map_err(|e| StartFailure(format!("CannotCreateContainerError: {e}")))?
            .concat();
        let dns_servers = self
            .settings
            .dns
            .for_mode(self.runtime.as_ref(), &mode)
            .await;
        let mut ids = BTreeMap::new();
        for c in order
            .iter()
            .filter_map(|n| containers.iter().find(|c| c.name.as_deref() == Some(n)))
        {
            let name = c.name.clone().unwrap_or_default();
            let info = &images[&name];
            let token =
                self.metadata
                    .register_container(&key.account, &key.region, &key.task_arn, &name);
            // Secrets and env files first, then the agent's own variables, which win.
            let mut env = extra_env.remove(&name).unwrap_or_default();
            env.extend(self.metadata.container_env(&token, record_view, c));
            let ctx = SpecContext {
                task_arn: key.task_arn.clone(),
                task_id: record_view.id.clone(),
                cluster_arn: arn::cluster(&key.region, &key.account, &record_view.cluster),
                owner_id: self.owner.clone(),
                image: info.reference.clone(),
                network_mode: mode.clone(),
                extra_env: env,
                fargate: record_view.is_fargate(),
                host_cpus: self.ready().await.host_cpus,
                dns_servers: dns_servers.clone(),
                service_connect_hosts: match &mode {
                    NetworkMode::Container(_) => vec![],
                    _ => service_connect_hosts.to_vec(),
                },
            };
            let spec = container_spec::container_spec(&ctx, definition, c)
                .map_err(|e| StartFailure(format!("CannotCreateContainerError: {e}")))?;
            let id = self
                .runtime
                .create_container(&spec)
                .await
                .map_err(|e| StartFailure(format!("CannotCreateContainerError: {e}")))?;
            self.containers.insert(id.clone(), key.task_arn.clone());
            ids.insert(name.clone(), id.clone());
            let digest = info
                .repo_digest
                .clone()
                .map(|d| d.rsplit('@').next().unwrap_or(&d).to_string())
                .unwrap_or_else(|| info.id.clone());
            let credentials_id = self.metadata.credentials_id(&key.task_arn);
            let recorded = self.with_task(key, |r| {
                r.runtime.containers.insert(name.clone(), id.clone());
                r.runtime
                    .metadata_tokens
                    .insert(name.clone(), token.to_string());
                r.runtime.credentials_id = credentials_id;
                if let Some(view) = r.container_mut(&name) {
                    view.runtime_id = Some(id.clone());
                    view.image_digest = Some(digest);
                }
            });
            if recorded.is_none() {
                // The task vanished (a reset) while its container was being
                // created: nobody would ever remove this one.
                let _ = self
                    .runtime
                    .remove_container(&id, RemoveOptions::FORCE)
                    .await;
                return Err(StartFailure("Task was removed".into()));
            }
        }
        Ok(ids)
    }

    /// Waits until every `dependsOn` condition of a container holds, as the
    /// agent does: START (started), COMPLETE (exited), SUCCESS (exited 0),
    /// HEALTHY (health check passing). A condition that can no longer hold
    /// fails the task.
    async fn wait_for_dependencies(
        &self,
        key: &TaskKey,
        def: &ContainerDefinition,
        ids: &BTreeMap<String, String>,
        wake: &mut mpsc::UnboundedReceiver<Wake>,
    ) -> Result<Result<(), DependencyFailed>, StartFailure> {
        let deps = def.depends_on.clone().unwrap_or_default();
        let target = def.name.as_deref().unwrap_or("");
        let unmet = |name: &str, why: &str| {
            Ok(Err(DependencyFailed(format!(
                "CannotStartContainerError: dependency graph: failed to resolve container ordering dependency [{name}] for target [{target}] as dependency {why}."
            ))))
        };
        loop {
            let mut waiting = false;
            for dep in &deps {
                let name = dep.container_name.clone().unwrap_or_default();
                let condition = dep.condition.clone().unwrap_or_else(|| "START".into());
                let Some(id) = ids.get(&name) else { continue };
                let info = self
                    .runtime
                    .inspect_container(id)
                    .await
                    .map_err(|e| StartFailure(format!("CannotStartContainerError: {e}")))?;
                let exited = info.status.is_terminal();
                let ok = match condition.as_str() {
                    "COMPLETE" => exited,
                    "SUCCESS" if exited && info.exit_code != Some(0) => {
                        return unmet(&name, "did not exit successfully")
                    }
                    "SUCCESS" => exited,
                    "HEALTHY" if info.health == HealthStatus::Unhealthy || exited => {
                        return unmet(&name, "did not become healthy")
                    }
                    "HEALTHY" => info.health == HealthStatus::Healthy,
                    _ => {
                        info.started_at.is_some()
                            || info.status != crate::runtime::ContainerStatus::Created
                    }
                };
                waiting |= !ok;
            }
            if !waiting {
                return Ok(Ok(()));
            }
            match wake.recv().await {
                Some(Wake::Stop) | None => {
                    return Err(StartFailure("Task stopped before it started".into()))
                }
                Some(Wake::Container { id, .. }) => {
                    // A dependency's own state is read above; others' events still count.
                    if let Some(name) = ids.iter().find(|(_, v)| **v == id).map(|(k, _)| k.clone())
                    {
                        self.refresh_container(key, &name, &id).await;
                    }
                }
                Some(Wake::Recheck) => {}
            }
        }
    }

    /// RUNNING: reacts to container events until the task must stop.
    async fn watch(&self, key: &TaskKey, wake: &mut mpsc::UnboundedReceiver<Wake>) {
        // A container may have exited before we started listening.
        self.recheck_all(key).await;
        while !self.wants_stop(key) {
            match wake.recv().await {
                None | Some(Wake::Stop) => break,
                Some(Wake::Recheck) => self.recheck_all(key).await,
                Some(Wake::Container { id, kind }) => {
                    let name = self
                        .with_task(key, |r| {
                            r.runtime
                                .containers
                                .iter()
                                .find(|(_, v)| **v == id)
                                .map(|(k, _)| k.clone())
                        })
                        .flatten();
                    match (name, kind) {
                        (Some(name), ContainerEventKind::Destroy) => {
                            self.container_gone(key, &name)
                        }
                        (Some(name), _) => self.refresh_container(key, &name, &id).await,
                        // The namespace holder died: the task lost its network.
                        (None, ContainerEventKind::Die { .. } | ContainerEventKind::Destroy) => {
                            self.with_task(key, |r| {
                                r.want_stopped(
                                    StopCode::TaskFailedToStart,
                                    "Task network namespace was removed outside ecsbox",
                                )
                            });
                        }
                        (None, _) => {}
                    }
                }
            }
        }
    }

    async fn recheck_all(&self, key: &TaskKey) {
        let ids = self
            .with_task(key, |r| r.runtime.containers.clone())
            .unwrap_or_default();
        for (name, id) in ids {
            self.refresh_container(key, &name, &id).await;
        }
    }

    /// A container removed from outside (docker rm -f): its task stops.
    fn container_gone(&self, key: &TaskKey, name: &str) {
        self.with_task(key, |r| {
            let essential = is_essential(r, name);
            if let Some(c) = r.container_mut(name) {
                c.last_status = Some("STOPPED".into());
                if c.reason.is_none() {
                    c.reason = Some("The container was removed outside ecsbox".into());
                }
            }
            if essential {
                r.want_stopped(
                    StopCode::EssentialContainerExited,
                    "Essential container in task exited",
                );
            }
        });
    }

    /// Reads a container's state from the engine into the task's view, and
    /// stops the task when an essential container has exited.
    async fn refresh_container(&self, key: &TaskKey, name: &str, id: &str) {
        let info = match self.runtime.inspect_container(id).await {
            Ok(info) => info,
            Err(e) if e.is_not_found() => return self.container_gone(key, name),
            Err(e) => {
                tracing::warn!(task = %key.task_arn, container = name, "inspect failed: {e}");
                return;
            }
        };
        self.with_task(key, |r| {
            let essential = is_essential(r, name);
            let has_health_check = r
                .definition
                .container_definitions
                .iter()
                .flatten()
                .any(|c| c.name.as_deref() == Some(name) && c.health_check.is_some());
            if let Some(view) = r.container_mut(name) {
                apply_container_info(view, &info, has_health_check);
            }
            r.task.health_status = Some(task_health(r));
            if info.status.is_terminal() && essential {
                r.want_stopped(
                    StopCode::EssentialContainerExited,
                    "Essential container in task exited",
                );
            }
        });
        // Health and exits matter to the service scheduler.
        self.changes.notify_one();
    }

    /// The task's address: the namespace holder's IP on the awsvpc network,
    /// reported as the ENI attachment and each container's interface.
    async fn refresh_network(&self, key: &TaskKey, holder: Option<&str>) {
        let Some(holder) = holder else { return };
        let Ok(info) = self.runtime.inspect_container(holder).await else {
            return;
        };
        let name = awsvpc_network_name(&self.owner);
        let id = self.awsvpc_network.lock().await.clone().unwrap_or_default();
        let Some(endpoint) = info
            .networks
            .iter()
            .find(|(n, ep)| **n == name || ep.network_id == id)
            .map(|(_, ep)| ep.clone())
        else {
            return;
        };
        self.with_task(key, |r| {
            let ip = endpoint.ip_address.clone().unwrap_or_default();
            let mut attachment_id = None;
            for a in r.task.attachments.iter_mut().flatten() {
                a.status = Some("ATTACHED".into());
                attachment_id = a.id.clone();
                let details = a.details.get_or_insert_with(Vec::new);
                let mut set = |k: &str, v: String| match details
                    .iter_mut()
                    .find(|d| d.name.as_deref() == Some(k))
                {
                    Some(d) => d.value = Some(v),
                    None => details.push(KeyValuePair {
                        name: Some(k.into()),
                        value: Some(v),
                    }),
                };
                set(
                    "macAddress",
                    endpoint.mac_address.clone().unwrap_or_default(),
                );
                set(
                    "privateDnsName",
                    format!("ip-{}.ec2.internal", ip.replace('.', "-")),
                );
                set("privateIPv4Address", ip.clone());
            }
            for c in r.task.containers.iter_mut().flatten() {
                c.network_interfaces = Some(vec![NetworkInterface {
                    attachment_id: attachment_id.clone(),
                    private_ipv4_address: Some(ip.clone()),
                    ipv6_address: None,
                }]);
            }
        });
    }

    /// The Service Connect endpoints of the namespace of the deployment
    /// that started `task` (none for a task of no Service Connect service).
    fn service_connect_hosts(&self, key: &TaskKey, task: &TaskRecord) -> Vec<ExtraHost> {
        let (Some(group), Some(deployment)) =
            (task.task.group.as_deref(), task.task.started_by.as_deref())
        else {
            return vec![];
        };
        let region = self.store.region(&key.account, &key.region);
        let state = region.lock();
        let Some(service_connect) = state.settings.service_connect.clone() else {
            return vec![];
        };
        let namespace = state
            .services
            .values()
            .filter(|s| s.cluster == task.cluster && s.group() == group)
            .flat_map(|s| s.deployments.iter())
            .find(|d| d.id() == deployment)
            .and_then(|d| d.service_connect())
            .and_then(|c| c.namespace.clone());
        drop(state);
        let Some(namespace) = namespace else {
            return vec![];
        };
        service_connect
            .hosts_for(
                &key.account,
                &key.region,
                crate::cloudmap::id_of(&namespace),
            )
            .into_iter()
            .map(|(hostname, ip)| ExtraHost {
                hostname,
                ip: ip.to_string(),
            })
            .collect()
    }

    /// Creates (does not start) the container that holds the task's network
    /// namespace on the awsvpc network.
    async fn create_namespace_holder(
        &self,
        record: &TaskRecord,
        network: &str,
        extra_hosts: &[ExtraHost],
    ) -> Result<String, String> {
        // The agent's pause container carries the same labels as the task's
        // own containers, under this reserved container name.
        let labels = HashMap::from([
            (
                naming::LABEL_TASK_ARN.to_string(),
                record.task.task_arn.clone().unwrap_or_default(),
            ),
            (naming::LABEL_CLUSTER.to_string(), record.cluster.clone()),
            (
                naming::LABEL_CONTAINER_NAME.to_string(),
                "~internal~ecs~pause".to_string(),
            ),
            (
                naming::LABEL_FAMILY.to_string(),
                record.family().to_string(),
            ),
            (
                naming::LABEL_REVISION.to_string(),
                record.definition.revision.unwrap_or(0).to_string(),
            ),
        ]);
        let dns_servers = self
            .settings
            .dns
            .for_mode(self.runtime.as_ref(), &NetworkMode::network(network))
            .await;
        namespace_pool::create_holder(
            self.runtime.as_ref(),
            &self.owner,
            &dns_servers,
            extra_hosts,
            network,
            pause_container_name(record),
            labels,
        )
        .await
    }

    /// The id of this instance's awsvpc network, created on first use. Tasks
    /// starting together wait on one lock here: Docker accepts two networks
    /// of the same name, and a name that matches two is unusable.
    async fn ensure_awsvpc_network(&self) -> Result<String, String> {
        let mut known = self.awsvpc_network.lock().await;
        if let Some(id) = known.as_ref() {
            return Ok(id.clone());
        }
        let name = awsvpc_network_name(&self.owner);
        let existing = self
            .runtime
            .list_networks(&[LabelFilter::equals(OWNER_LABEL, self.owner.clone())])
            .await
            .map_err(|e| e.to_string())?;
        let id = match existing.into_iter().find(|n| n.name == name) {
            Some(n) => n.id,
            None => {
                let mut labels = HashMap::new();
                labels.insert(OWNER_LABEL.to_string(), self.owner.clone());
                let spec = NetworkSpec {
                    name,
                    labels,
                    subnet: None,
                    gateway: None,
                };
                self.runtime
                    .create_network(&spec)
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        if let Some(me) = &self.settings.own_container {
            // Already connected (a restart with the same instance id) is fine.
            if let Err(e) = self.runtime.connect_network(&id, me, None).await {
                if !e.to_string().contains("already exists") {
                    tracing::warn!(
                        container = %me,
                        "could not connect ecsbox's own container to the awsvpc network \
                         (load balancers will not reach awsvpc tasks): {e}"
                    );
                }
            }
        }
        *known = Some(id.clone());
        Ok(id)
    }

    /// DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED: stop every
    /// container (SIGTERM, SIGKILL after its stopTimeout), then release the
    /// network namespace.
    async fn stop(&self, key: &TaskKey) {
        let Some((containers, holder, timeouts)) = self.with_task(key, |r| {
            let timeouts: HashMap<String, Duration> = r
                .definition
                .container_definitions
                .iter()
                .flatten()
                .map(|c| {
                    let t = c
                        .stop_timeout
                        .map(|s| Duration::from_secs(s.max(0) as u64))
                        .unwrap_or(self.settings.default_stop_timeout);
                    (c.name.clone().unwrap_or_default(), t)
                })
                .collect();
            (
                r.runtime.containers.clone(),
                r.runtime.namespace_holder.clone(),
                timeouts,
            )
        }) else {
            return;
        };
        self.with_task(key, |r| {
            if r.desired != TaskStatus::Stopped {
                r.want_stopped(StopCode::TaskFailedToStart, "Task stopped");
            }
        });
        self.drain_load_balancers(key).await;
        self.drain_service_connect(key).await;
        self.advance(key, TaskStatus::Stopping);
        let stops = containers.iter().map(|(name, id)| {
            let timeout = timeouts
                .get(name)
                .copied()
                .unwrap_or(self.settings.default_stop_timeout);
            async move {
                if let Err(e) = self.runtime.stop_container(id, timeout).await {
                    if !e.is_not_found() {
                        tracing::warn!(container = %id, "stop failed: {e}");
                    }
                }
            }
        });
        futures_util::future::join_all(stops).await;
        for (name, id) in &containers {
            self.refresh_container(key, name, id).await;
        }
        self.advance(key, TaskStatus::Deprovisioning);
        if let Some(holder) = holder {
            let _ = self.runtime.kill_container(&holder, "SIGKILL").await;
        }
        self.with_task(key, |r| {
            let now = epoch_now();
            r.task.execution_stopped_at = Some(now);
            r.task.stopped_at = Some(now);
            r.task.connectivity = None;
            for a in r.task.attachments.iter_mut().flatten() {
                a.status = Some("DELETED".into());
            }
            for c in r.task.containers.iter_mut().flatten() {
                if c.last_status.as_deref() != Some("STOPPED") {
                    c.last_status = Some("STOPPED".into());
                }
            }
        });
        self.advance(key, TaskStatus::Stopped);
    }

    /// DEACTIVATING: a task its service registered in target groups leaves
    /// them first and waits until the load balancers have drained it (the
    /// groups' deregistration delay), as ECS does before it stops the
    /// containers; the service's events say so.
    async fn drain_load_balancers(&self, key: &TaskKey) {
        let region = self.store.region(&key.account, &key.region);
        let (registrations, plane) = {
            let mut state = region.lock();
            let plane = state.settings.load_balancing.clone();
            let regs = state
                .tasks
                .get_mut(&key.task_arn)
                .map(|r| std::mem::take(&mut r.lb_targets))
                .unwrap_or_default();
            (regs, plane)
        };
        let Some(plane) = plane.filter(|_| !registrations.is_empty()) else {
            return;
        };
        self.advance(key, TaskStatus::Deactivating);
        let mut by_group: BTreeMap<String, Vec<TargetKey>> = BTreeMap::new();
        for r in &registrations {
            by_group
                .entry(r.target_group_arn.clone())
                .or_default()
                .push(TargetKey {
                    id: r.id.clone(),
                    port: r.port,
                });
        }
        for (tg, keys) in &by_group {
            plane.deregister_targets(tg, keys);
        }
        let changes = plane.changes();
        loop {
            // Armed before looking, so a change between the look and the
            // wait is not missed.
            let changed = changes.notified();
            let draining = by_group.iter().any(|(tg, keys)| {
                plane
                    .target_health(tg)
                    .iter()
                    .any(|h| keys.contains(&h.key))
            });
            if !draining {
                break;
            }
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        let mut state = region.lock();
        let (cluster, group) = match state.tasks.get(&key.task_arn) {
            Some(r) => (r.cluster.clone(), r.task.group.clone().unwrap_or_default()),
            None => return,
        };
        if let Some(service) = state
            .services
            .values_mut()
            .find(|s| s.cluster == cluster && s.group() == group)
        {
            for (tg, keys) in &by_group {
                service.event(format!(
                    "(service {}) deregistered {} targets in (target-group {tg})",
                    service.name,
                    keys.len()
                ));
            }
        }
    }

    /// A task its service registered in Cloud Map leaves it before its
    /// containers stop (its names stop resolving, Service Connect sends it
    /// no new connection), and a task behind a Service Connect endpoint
    /// stops once the connections to it through the endpoint have closed,
    /// as the proxy drains it: for at most `SERVICE_CONNECT_DRAIN`.
    async fn drain_service_connect(&self, key: &TaskKey) {
        let region = self.store.region(&key.account, &key.region);
        let (cloud_map, service_connect, task) = {
            let state = region.lock();
            (
                state.settings.cloud_map.clone(),
                state.settings.service_connect.clone(),
                state
                    .tasks
                    .get(&key.task_arn)
                    .map(|t| (t.id.clone(), t.cluster.clone())),
            )
        };
        let (Some(cloud_map), Some((task_id, cluster))) = (cloud_map, task) else {
            return;
        };
        // Usually the service scheduler has deregistered the task already,
        // as its desired status went STOPPED; a task stopped otherwise
        // leaves here.
        cloud_map.with(&key.account, &key.region, |r| {
            let holding: Vec<String> = r
                .services
                .values()
                .filter_map(|s| {
                    let i = s.instances.get(&task_id)?;
                    let ours = i.attributes.get("ECS_CLUSTER_NAME") == Some(&cluster)
                        && i.attributes.contains_key("ECS_SERVICE_NAME");
                    ours.then(|| s.id.clone())
                })
                .collect();
            for service in &holding {
                let _ = crate::cloudmap::deregister(r, service, &task_id);
            }
        });
        if let Some(service_connect) = service_connect {
            service_connect.drain(&task_id, SERVICE_CONNECT_DRAIN).await;
        }
    }

    /// Removes a stopped task's containers after the cleanup delay.
    fn cleanup_later(self: Arc<Self>, key: TaskKey) {
        let delay = self.settings.cleanup_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            self.remove_containers(&key).await;
        });
    }

    async fn remove_containers(&self, key: &TaskKey) {
        let (ids, task_scoped): (Vec<String>, Vec<String>) = self
            .with_task(key, |r| {
                (
                    r.runtime
                        .containers
                        .values()
                        .cloned()
                        .chain(r.runtime.namespace_holder.clone())
                        .collect(),
                    r.runtime.volumes.clone(),
                )
            })
            .unwrap_or_default();
        for id in ids {
            self.containers.remove(&id);
            let _ = self
                .runtime
                .remove_container(&id, RemoveOptions::FORCE)
                .await;
        }
        volumes::release_task_volumes(self.runtime.as_ref(), &volumes::TaskVolumes { task_scoped })
            .await;
        self.metadata.forget_task(&key.task_arn);
        self.with_task(key, |r| r.runtime.removed = true);
    }

    /// Removes everything this instance owns: containers, then networks.
    /// Used on reset and shutdown (and, at start, for an earlier run's leftovers).
    pub async fn remove_everything(&self) {
        let mine = [LabelFilter::equals(OWNER_LABEL, self.owner.clone())];
        let mut network = self.awsvpc_network.lock().await;
        // The warm holders carry the owner label: removed with the rest.
        self.pool.clear().await;
        self.remove_labeled(&mine).await;
        *network = None;
    }

    /// Removes the warm namespace holders only: on a shutdown that keeps
    /// the tasks' containers (they belong to no task).
    pub async fn remove_warm_namespaces(&self) {
        for id in self.pool.clear().await {
            let _ = self
                .runtime
                .remove_container(&id, RemoveOptions::FORCE)
                .await;
        }
    }

    async fn remove_labeled(&self, filters: &[LabelFilter]) {
        if let Ok(list) = self.runtime.list_containers(filters).await {
            let removals = list
                .iter()
                .map(|c| self.runtime.remove_container(&c.id, RemoveOptions::FORCE));
            futures_util::future::join_all(removals).await;
        }
        if let Ok(networks) = self.runtime.list_networks(filters).await {
            for n in networks {
                // ecsbox's own container joined the awsvpc network (see
                // `ensure_awsvpc_network`): Docker refuses to remove a
                // network with an endpoint, so it leaves first.
                if let Some(me) = &self.settings.own_container {
                    let _ = self.runtime.disconnect_network(&n.id, me).await;
                }
                if let Err(e) = self.runtime.remove_network(&n.id).await {
                    tracing::warn!("could not remove network {}: {e}", n.name);
                }
            }
        }
        volumes::remove_owned_volumes(self.runtime.as_ref(), &self.owner).await;
        self.containers.clear();
    }

    /// Containers and networks an earlier run with this instance id left
    /// behind are removed (part of `ready`). State is in memory, so their tasks did not
    /// survive the restart; adopting the containers would report tasks
    /// nobody can describe. Other instances' objects are never touched.
    async fn remove_leftovers(&self) -> usize {
        let mine = [LabelFilter::equals(OWNER_LABEL, self.owner.clone())];
        if self.adopted.load(Ordering::SeqCst) {
            // Tasks of the state directory were adopted: only containers
            // no task claims go (warm namespace holders, a container made
            // for a task the state never recorded); the network and the
            // volumes stay with the tasks.
            let unclaimed: Vec<String> = self
                .runtime
                .list_containers(&mine)
                .await
                .map(|l| l.into_iter().map(|c| c.id).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .filter(|id| !self.containers.contains_key(id))
                .collect();
            for id in &unclaimed {
                let _ = self
                    .runtime
                    .remove_container(id, RemoveOptions::FORCE)
                    .await;
            }
            return unclaimed.len();
        }
        let count = self
            .runtime
            .list_containers(&mine)
            .await
            .map(|l| l.len())
            .unwrap_or(0);
        self.remove_labeled(&mine).await;
        count
    }

    /// Forget every driver (after a reset removed the state they drive).
    pub fn forget_tasks(&self) {
        self.drivers.clear();
    }
}

/// Counts a driver in `TaskController::in_start` while it lives.
struct InStart<'a> {
    count: &'a AtomicUsize,
    done: &'a tokio::sync::Notify,
}

impl<'a> InStart<'a> {
    fn new(count: &'a AtomicUsize, done: &'a tokio::sync::Notify) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InStart { count, done }
    }
}

impl Drop for InStart<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
        self.done.notify_waiters();
    }
}

/// The name the agent gives a task's pause container.
/// The first host address of an IPv4 subnet (`172.17.0.0/16` -> 172.17.0.1).
fn first_address(cidr: &str) -> Option<String> {
    let (net, len) = cidr.split_once('/')?;
    let net: std::net::Ipv4Addr = net.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    if len >= 31 {
        return None;
    }
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    Some(std::net::Ipv4Addr::from((u32::from(net) & mask) + 1).to_string())
}

fn pause_container_name(record: &TaskRecord) -> String {
    format!(
        "ecs-{}-{}-internalecspause-{}",
        record.family(),
        record.definition.revision.unwrap_or(0),
        &record.id[..12]
    )
}

fn is_essential(r: &TaskRecord, name: &str) -> bool {
    r.definition
        .container_definitions
        .iter()
        .flatten()
        .any(|c| c.name.as_deref() == Some(name) && c.essential.unwrap_or(true))
}

/// The engine's view of a container, in DescribeTasks' terms.
fn apply_container_info(view: &mut Container, info: &ContainerInfo, has_health_check: bool) {
    use crate::runtime::ContainerStatus as S;
    let status = match info.status {
        S::Created => "PENDING",
        S::Running | S::Paused | S::Restarting => "RUNNING",
        S::Removing | S::Exited | S::Dead => "STOPPED",
    };
    view.last_status = Some(status.into());
    if info.status.is_terminal() {
        view.exit_code = info.exit_code.map(|c| c as i32);
        if info.oom_killed {
            view.reason = Some("OutOfMemoryError: Container killed due to memory usage".into());
        } else if let Some(err) = info.error.as_ref().filter(|e| !e.is_empty()) {
            view.reason = Some(err.clone());
        }
    }
    view.network_bindings = Some(
        info.ports
            .iter()
            .map(|p| NetworkBinding {
                bind_ip: Some(p.host_ip.clone()),
                container_port: Some(p.container_port as i32),
                host_port: Some(p.host_port as i32),
                protocol: Some(p.protocol.as_str().into()),
                ..Default::default()
            })
            .collect(),
    );
    if has_health_check {
        view.health_status = Some(
            match info.health {
                HealthStatus::Healthy => "HEALTHY",
                HealthStatus::Unhealthy => "UNHEALTHY",
                _ => "UNKNOWN",
            }
            .into(),
        );
    }
}

/// The task's health, as ECS derives it: UNHEALTHY if an essential
/// container's check fails, HEALTHY if every essential container with a
/// check passes, else UNKNOWN.
fn task_health(r: &TaskRecord) -> String {
    let mut statuses = vec![];
    for def in r.definition.container_definitions.iter().flatten() {
        if def.essential.unwrap_or(true) && def.health_check.is_some() {
            let name = def.name.as_deref().unwrap_or("");
            let s = r
                .task
                .containers
                .iter()
                .flatten()
                .find(|c| c.name.as_deref() == Some(name))
                .and_then(|c| c.health_status.clone())
                .unwrap_or_else(|| "UNKNOWN".into());
            statuses.push(s);
        }
    }
    if statuses.iter().any(|s| s == "UNHEALTHY") {
        "UNHEALTHY".into()
    } else if !statuses.is_empty() && statuses.iter().all(|s| s == "HEALTHY") {
        "HEALTHY".into()
    } else {
        "UNKNOWN".into()
    }
}

#[cfg(test)]
mod tests {
    use super::first_address;

    #[test]
    fn a_subnet_first_address_is_docker_default_gateway() {
        assert_eq!(
            first_address("172.17.0.0/16").as_deref(),
            Some("172.17.0.1")
        );
        assert_eq!(
            first_address("10.250.7.9/24").as_deref(),
            Some("10.250.7.1")
        );
        assert_eq!(first_address("10.0.0.0/32"), None);
        assert_eq!(first_address("fd00::/64"), None);
        assert_eq!(first_address("garbage"), None);
    }
}
