//! The load balancers' data plane: listeners that really listen and forward,
//! target groups with their registered targets, and the health checks that
//! move those targets through AWS's states.
//!
//! The ELBv2 API (`services::elbv2`) owns the resources a client sees (load
//! balancers, listeners, rules, target groups and their attributes) and
//! hands this plane what it needs to serve them, as specs: a listener's
//! compiled rules, a target group's health check and attributes. ECS
//! (`controllers`) registers and deregisters its tasks here directly, the
//! way ECS calls ELB for a service's `loadBalancers`. Both read target
//! health from here, the one place it is decided.
//!
//! Nothing here knows a protocol of the API: errors are this module's own
//! and each caller words them for its client.
//!
//! How it is built (each file says why it is so):
//! - `listener`: binding (own port, else a fallback port), accept loops;
//! - `data_plane`: the threads that carry the connections (one
//!   single-threaded runtime per core);
//! - `http_proxy`: ALB's HTTP/1.1 reverse proxy (hyper, streaming bodies,
//!   upgrades, X-Forwarded-*, ALB's error pages);
//! - `upstream`: the proxy's keep-alive connections to targets, pooled per
//!   target;
//! - `tcp_proxy`: NLB's byte-for-byte proxy;
//! - `tls`: the certificate ecsbox generates, TLS both ways;
//! - `routing`: rules and conditions (pure, unit-tested);
//! - `balance`: eligible targets, round robin, least outstanding requests,
//!   weights, stickiness;
//! - `health`: probes and the target state machine;
//! - `draining`: deregistration delay on ecsbox's clock;
//! - `request_counts`: the requests each target group was sent, for
//!   CloudWatch's `AWS/ApplicationELB` metrics.
//!
//! Two sides, two kinds of state. The control side (this file's methods,
//! called by the API and ECS) keeps everything under one mutex, never held
//! across an await. The data side (every request and connection) never
//! takes it: it reads immutable snapshots (a listener's routes, a group's
//! eligible targets, the map of groups) through arc-swap, which the control
//! side replaces whole on every change, and counts in-flight work in
//! per-target atomics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

mod balance;
mod data_plane;
mod draining;
mod health;
mod http_proxy;
mod listener;
mod request_counts;
mod routing;
mod tcp_proxy;
mod tls;
mod upstream;

pub use http_proxy::trace_id;
pub use request_counts::GroupRequests;
pub use routing::{wildcard, Cidr};

use balance::{GroupRt, GroupView, TargetRt};
use health::Health;
use listener::ListenerRt;
use routing::Routes;

/// Where listeners listen, and where they reach instance targets.
#[derive(Debug, Clone)]
pub struct LbSettings {
    /// The address every listener binds (127.0.0.1 unless told otherwise).
    pub listen_host: IpAddr,
    /// Ports a listener takes when its own port cannot be bound (taken, or
    /// privileged for a non-root user): the first free one of the range.
    pub fallback_ports: RangeInclusive<u16>,
    /// Listeners take only ports of `fallback_ports`, even when their own
    /// port is free: under compose only that range is published, so a
    /// listener on its own port 80 inside the container would be
    /// unreachable from the host.
    pub ports_only_from_range: bool,
    /// Where an `instance` target's port is reached: the Docker engine's
    /// host, where bridge tasks publish their host ports. Loopback when
    /// ecsbox runs beside the engine; from inside a container, the host's
    /// address as the container sees it. One setting for both who register
    /// instance targets (ELBv2's RegisterTargets and ECS's services).
    pub instance_address: IpAddr,
}

impl Default for LbSettings {
    fn default() -> Self {
        LbSettings {
            listen_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            fallback_ports: 4511..=4559,
            ports_only_from_range: false,
            instance_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbType {
    Application,
    Network,
}

/// A listener's or target group's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Https,
    Tcp,
    Tls,
}

/// One listener as the plane serves it.
#[derive(Debug, Clone)]
pub struct ListenerSpec {
    pub listener_arn: String,
    pub load_balancer_arn: String,
    pub lb_type: LbType,
    pub protocol: Protocol,
    /// The port the client asked for (what DescribeListeners shows).
    pub port: u16,
    /// Rules by ascending priority; the default actions apply when none matches.
    pub rules: Vec<Rule>,
    pub default_actions: Vec<Action>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub priority: u32,
    /// All must match (AWS: conditions of a rule are ANDed; values within a
    /// condition are ORed).
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone)]
pub enum Condition {
    /// Patterns with `*` and `?`, case-sensitive, against the path.
    PathPattern(Vec<String>),
    /// Patterns with `*` and `?`, case-insensitive, against Host without port.
    HostHeader(Vec<String>),
    HttpHeader {
        name: String,
        values: Vec<String>,
    },
    /// (key, value) pairs; a missing key matches any key. Patterns allowed.
    QueryString(Vec<(Option<String>, String)>),
    /// CIDR blocks the client's address must fall in.
    SourceIp(Vec<String>),
    HttpRequestMethod(Vec<String>),
}

#[derive(Debug, Clone)]
pub enum Action {
    Forward {
        groups: Vec<WeightedGroup>,
        /// Target group stickiness of the forward action (AWSALBTG cookie).
        stickiness: Option<Duration>,
    },
    FixedResponse {
        status: u16,
        content_type: Option<String>,
        body: Option<String>,
    },
    /// Each part as AWS's redirect config has it, `#{...}` placeholders kept.
    Redirect {
        protocol: String,
        host: String,
        port: String,
        path: String,
        query: String,
        status: u16,
    },
}

#[derive(Debug, Clone)]
pub struct WeightedGroup {
    pub target_group_arn: String,
    pub weight: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RoundRobin,
    LeastOutstandingRequests,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetType {
    Ip,
    Instance,
}

/// A target group's health check, as CreateTargetGroup and
/// ModifyTargetGroup set it.
#[derive(Debug, Clone)]
pub struct HealthCheckSpec {
    pub enabled: bool,
    pub protocol: Protocol,
    /// None: the traffic port (the target's own port).
    pub port: Option<u16>,
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    /// HTTP codes that count as healthy, as inclusive ranges ("200-299,302").
    pub matcher: Vec<(u16, u16)>,
}

#[derive(Debug, Clone)]
pub struct TargetGroupSpec {
    pub arn: String,
    pub name: String,
    pub protocol: Protocol,
    pub port: Option<u16>,
    pub target_type: TargetType,
    pub health_check: HealthCheckSpec,
    pub algorithm: Algorithm,
    pub deregistration_delay: Duration,
    pub slow_start: Duration,
    /// `stickiness.enabled` with type lb_cookie: the cookie's duration.
    pub stickiness: Option<Duration>,
}

/// A target's identity in its group: AWS's (Id, Port).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TargetKey {
    pub id: String,
    pub port: u16,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Target {
    pub key: TargetKey,
    /// Where the plane connects (the task's IP, or the host port of an
    /// instance target).
    pub address: SocketAddr,
    pub availability_zone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy,
    Unused,
    Draining,
    Unavailable,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
            TargetState::Unused => "unused",
            TargetState::Draining => "draining",
            TargetState::Unavailable => "unavailable",
        }
    }
}

/// One target's health as DescribeTargetHealth reports it.
#[derive(Debug, Clone)]
pub struct TargetHealth {
    pub key: TargetKey,
    pub state: TargetState,
    /// AWS's reason code (`Elb.RegistrationInProgress`, `Target.ResponseCodeMismatch`, ...).
    pub reason: Option<&'static str>,
    pub description: Option<String>,
    /// The port probed, as text ("traffic-port" resolved to the number).
    pub health_check_port: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerError {
    /// Neither the listener's port nor any fallback port could be bound.
    NoFreePort { port: u16 },
    /// The data plane's threads could not be started (the system's limit
    /// on threads).
    NoThreads(String),
}

/// An ALB's default idle timeout (attribute `idle_timeout.timeout_seconds`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The plane: every listener and target group of every account and region
/// (ARNs are unique across them).
pub struct LoadBalancing {
    settings: LbSettings,
    /// The control side's state; never held across an await.
    inner: Mutex<Plane>,
    /// What the data side reads without a lock.
    shared: Arc<Shared>,
    /// Notified whenever a target's state changes (ECS's scheduler waits on it).
    changes: Arc<Notify>,
    /// The plane itself, for the tasks it spawns (health checks, drains).
    me: Weak<LoadBalancing>,
}

/// The data side's view of the target groups.
pub(crate) struct Shared {
    groups: ArcSwap<HashMap<String, Arc<GroupRt>>>,
}

#[derive(Default)]
struct Plane {
    listeners: HashMap<String, OpenListener>,
    groups: HashMap<String, Group>,
    /// Load balancer ARN -> its idle timeout, where set.
    idle_timeouts: HashMap<String, Duration>,
    /// The threads the listeners' connections run on, started with the
    /// first listener (an ecsbox without listeners has no such threads).
    threads: Option<Arc<data_plane::DataPlane>>,
}

struct OpenListener {
    spec: ListenerSpec,
    addr: SocketAddr,
    /// The listening socket (the accept task has a duplicate of it).
    socket: std::net::TcpListener,
    rt: Arc<ListenerRt>,
    accept: tokio::task::AbortHandle,
    /// Dropped on close: every connection of the listener ends with it.
    _closed: watch::Sender<()>,
}

impl Drop for OpenListener {
    fn drop(&mut self) {
        // The accept task drops its copy of the socket only when the
        // runtime next polls it; shutting the socket down stops it
        // listening now, so the port can be bound again when
        // close_listener returns.
        let _ = socket2::SockRef::from(&self.socket).shutdown(std::net::Shutdown::Both);
        self.accept.abort();
    }
}

struct Group {
    spec: TargetGroupSpec,
    rt: Arc<GroupRt>,
    targets: BTreeMap<TargetKey, Registered>,
    in_use: bool,
    checker: Option<tokio::task::AbortHandle>,
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(c) = self.checker.take() {
            c.abort();
        }
    }
}

struct Registered {
    target: Target,
    rt: Arc<TargetRt>,
    health: Health,
    /// When the target entered slow start mode (see `balance`), on
    /// ecsbox's clock; None when it is not ramping up.
    slow_start_since: Option<std::time::SystemTime>,
}

impl Group {
    /// Publishes a new view of the group to the data side.
    fn publish(&self) {
        let targets: Vec<_> = self
            .targets
            .values()
            .map(|r| (r.rt.clone(), r.health.state, r.slow_start_since))
            .collect();
        self.rt.view.store(Arc::new(GroupView::build(
            self.spec.algorithm,
            self.spec.stickiness,
            self.spec.protocol,
            self.spec.slow_start,
            &targets,
        )));
    }

    fn checks_enabled(&self) -> bool {
        self.spec.health_check.enabled
    }
}

impl LoadBalancing {
    pub fn new(settings: LbSettings) -> Arc<Self> {
        Arc::new_cyclic(|me| LoadBalancing {
            settings,
            inner: Mutex::new(Plane::default()),
            shared: Arc::new(Shared {
                groups: ArcSwap::from_pointee(HashMap::new()),
            }),
            changes: Arc::new(Notify::new()),
            me: me.clone(),
        })
    }

    pub fn settings(&self) -> &LbSettings {
        &self.settings
    }

    /// Signalled on every change of a target's state.
    pub fn changes(&self) -> Arc<Notify> {
        self.changes.clone()
    }

    /// The PEM of the certificate authority that signed the HTTPS/TLS
    /// listeners' certificate (for clients that verify). Additive.
    pub fn ca_certificate_pem(&self) -> String {
        tls::certificates().ca_pem.clone()
    }

    /// Starts serving a listener; returns the local address it listens on.
    /// Must be called within a tokio runtime (the listener runs on it).
    pub fn open_listener(&self, spec: ListenerSpec) -> Result<SocketAddr, ListenerError> {
        let mut plane = self.inner.lock();
        // Opening an ARN again replaces it (its port is released first).
        plane.listeners.remove(&spec.listener_arn);
        let threads = match &plane.threads {
            Some(t) => t.clone(),
            None => {
                let t = Arc::new(
                    data_plane::DataPlane::start()
                        .map_err(|e| ListenerError::NoThreads(e.to_string()))?,
                );
                plane.threads.insert(t).clone()
            }
        };
        let socket = listener::bind(&self.settings, spec.port)?;
        let addr = socket
            .local_addr()
            .map_err(|_| ListenerError::NoFreePort { port: spec.port })?;
        let idle = idle_timeout(&plane, &spec.load_balancer_arn);
        let rt = Arc::new(ListenerRt {
            routes: ArcSwap::from_pointee(Routes::compile(&spec, idle)),
            cursor: Default::default(),
        });
        let (closed_tx, closed_rx) = watch::channel(());
        let task_socket = socket
            .try_clone()
            .map_err(|_| ListenerError::NoFreePort { port: spec.port })?;
        let accept = tokio::spawn(listener::accept_loop(
            task_socket,
            spec.protocol,
            self.shared.clone(),
            rt.clone(),
            threads,
            closed_rx,
        ))
        .abort_handle();
        plane.listeners.insert(
            spec.listener_arn.clone(),
            OpenListener {
                spec,
                addr,
                socket,
                rt,
                accept,
                _closed: closed_tx,
            },
        );
        self.recompute_use(&mut plane);
        Ok(addr)
    }

    /// New rules or actions for a listener that is open.
    pub fn update_listener(&self, spec: ListenerSpec) {
        let mut plane = self.inner.lock();
        let idle = idle_timeout(&plane, &spec.load_balancer_arn);
        if let Some(l) = plane.listeners.get_mut(&spec.listener_arn) {
            l.rt.routes.store(Arc::new(Routes::compile(&spec, idle)));
            l.spec = spec;
        }
        self.recompute_use(&mut plane);
    }

    /// Stops accepting and releases the port before returning; the
    /// listener's open connections are closed.
    pub fn close_listener(&self, listener_arn: &str) {
        let mut plane = self.inner.lock();
        plane.listeners.remove(listener_arn);
        self.recompute_use(&mut plane);
    }

    /// A load balancer's idle timeout (attribute
    /// `idle_timeout.timeout_seconds`, 60 s unless set): how long the proxy
    /// waits for a target's answer before a 504. Additive.
    pub fn set_idle_timeout(&self, load_balancer_arn: &str, timeout: Duration) {
        let mut plane = self.inner.lock();
        plane
            .idle_timeouts
            .insert(load_balancer_arn.to_string(), timeout);
        for l in plane.listeners.values() {
            if l.spec.load_balancer_arn == load_balancer_arn {
                l.rt.routes
                    .store(Arc::new(Routes::compile(&l.spec, timeout)));
            }
        }
    }

    /// Where a listener listens on this machine.
    pub fn listener_address(&self, listener_arn: &str) -> Option<SocketAddr> {
        self.inner
            .lock()
            .listeners
            .get(listener_arn)
            .map(|l| l.addr)
    }

    /// Every open listener: (listener ARN, its port, its local address).
    pub fn listeners(&self) -> Vec<(String, u16, SocketAddr)> {
        self.inner
            .lock()
            .listeners
            .values()
            .map(|l| (l.spec.listener_arn.clone(), l.spec.port, l.addr))
            .collect()
    }

    /// Creates a target group, or changes its health check and attributes.
    pub fn put_target_group(&self, spec: TargetGroupSpec) {
        let mut plane = self.inner.lock();
        let arn = spec.arn.clone();
        match plane.groups.get_mut(&arn) {
            Some(g) => {
                let was_enabled = g.checks_enabled();
                g.spec = spec;
                if was_enabled != g.checks_enabled() && g.in_use {
                    let (in_use, enabled) = (g.in_use, g.checks_enabled());
                    for r in g.targets.values_mut() {
                        if r.health.state != TargetState::Draining {
                            r.health = Health::registered(in_use, enabled);
                        }
                    }
                    self.changes.notify_waiters();
                }
            }
            None => {
                plane.groups.insert(
                    arn.clone(),
                    Group {
                        spec,
                        rt: Arc::new(GroupRt::default()),
                        targets: BTreeMap::new(),
                        in_use: false,
                        checker: None,
                    },
                );
                self.publish_groups(&plane);
            }
        }
        // A new group may be one a listener already forwards to.
        self.recompute_use(&mut plane);
        if let Some(g) = plane.groups.get_mut(&arn) {
            self.ensure_checker(g);
            g.publish();
        }
    }

    pub fn remove_target_group(&self, arn: &str) {
        let mut plane = self.inner.lock();
        if plane.groups.remove(arn).is_some() {
            self.publish_groups(&plane);
        }
    }

    pub fn target_group(&self, arn: &str) -> Option<TargetGroupSpec> {
        self.inner.lock().groups.get(arn).map(|g| g.spec.clone())
    }

    /// Whether an open listener forwards to the group (by a rule or its
    /// default actions): ECS refuses a service whose group none does.
    pub fn target_group_in_use(&self, arn: &str) -> bool {
        self.inner.lock().groups.get(arn).is_some_and(|g| g.in_use)
    }

    /// Registers targets (again: a target already there keeps its state;
    /// a draining one is registered anew).
    pub fn register_targets(&self, target_group_arn: &str, targets: Vec<Target>) {
        let mut plane = self.inner.lock();
        let Some(g) = plane.groups.get_mut(target_group_arn) else {
            return;
        };
        let (in_use, enabled) = (g.in_use, g.checks_enabled());
        for t in targets {
            let draining = g
                .targets
                .get(&t.key)
                .is_some_and(|r| r.health.state == TargetState::Draining);
            if g.targets.contains_key(&t.key) && !draining {
                continue;
            }
            let rt = Arc::new(TargetRt::new(target_group_arn, t.key.clone(), t.address));
            g.targets.insert(
                t.key.clone(),
                Registered {
                    target: t,
                    rt,
                    health: Health::registered(in_use, enabled),
                    slow_start_since: None,
                },
            );
        }
        g.publish();
        self.changes.notify_waiters();
    }

    /// Deregisters targets: they drain for the group's deregistration delay
    /// (or until nothing is in flight to them), then leave it.
    pub fn deregister_targets(&self, target_group_arn: &str, keys: &[TargetKey]) {
        let mut plane = self.inner.lock();
        let Some(g) = plane.groups.get_mut(target_group_arn) else {
            return;
        };
        for k in keys {
            let Some(r) = g.targets.get_mut(k) else {
                continue;
            };
            if r.health.state == TargetState::Draining {
                continue;
            }
            if !g.in_use {
                // No traffic can be in flight to a group no listener uses.
                g.targets.remove(k);
                continue;
            }
            r.health = Health::with(TargetState::Draining, health::DRAINING);
            r.rt.draining
                .store(true, std::sync::atomic::Ordering::Release);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(draining::drain(
                    self.me.clone(),
                    target_group_arn.to_string(),
                    k.clone(),
                    r.rt.clone(),
                    g.spec.deregistration_delay,
                ));
            } else {
                g.targets.remove(k);
            }
        }
        g.publish();
        self.changes.notify_waiters();
    }

    /// Every registered (or draining) target of a group, with its health.
    pub fn target_health(&self, target_group_arn: &str) -> Vec<TargetHealth> {
        let plane = self.inner.lock();
        let Some(g) = plane.groups.get(target_group_arn) else {
            return Vec::new();
        };
        g.targets
            .values()
            .map(|r| TargetHealth {
                key: r.target.key.clone(),
                state: r.health.state,
                reason: r.health.reason,
                description: r.health.description.clone(),
                health_check_port: g
                    .spec
                    .health_check
                    .port
                    .unwrap_or(r.target.key.port)
                    .to_string(),
            })
            .collect()
    }

    /// Forgets everything and closes every listener.
    pub fn reset(&self) {
        let old = std::mem::take(&mut *self.inner.lock());
        self.shared.groups.store(Arc::new(HashMap::new()));
        // Dropped outside the lock: listeners close, checkers stop.
        drop(old);
        self.changes.notify_waiters();
    }

    // ---- the control side's helpers ----

    fn publish_groups(&self, plane: &Plane) {
        let map = plane
            .groups
            .iter()
            .map(|(arn, g)| (arn.clone(), g.rt.clone()))
            .collect();
        self.shared.groups.store(Arc::new(map));
    }

    /// Marks the groups some open listener forwards to as in use (their
    /// targets are checked), the others as unused.
    fn recompute_use(&self, plane: &mut Plane) {
        let used: HashSet<&str> = plane
            .listeners
            .values()
            .flat_map(|l| Routes::forwarded_groups(&l.spec))
            .collect();
        let mut changed = false;
        for (arn, g) in plane.groups.iter_mut() {
            let in_use = used.contains(arn.as_str());
            if in_use == g.in_use {
                continue;
            }
            g.in_use = in_use;
            let enabled = g.checks_enabled();
            for r in g.targets.values_mut() {
                if r.health.state != TargetState::Draining {
                    r.health = Health::registered(in_use, enabled);
                }
            }
            self.ensure_checker(g);
            g.publish();
            changed = true;
        }
        if changed {
            self.changes.notify_waiters();
        }
    }

    /// Runs a group's health checks while it is in use and they are on.
    fn ensure_checker(&self, g: &mut Group) {
        let want = g.in_use && g.checks_enabled();
        match (&g.checker, want) {
            (None, true) => {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let task = rt.spawn(health::run(self.me.clone(), g.spec.arn.clone()));
                    g.checker = Some(task.abort_handle());
                }
            }
            (Some(c), false) => {
                c.abort();
                g.checker = None;
            }
            _ => {}
        }
    }

    /// The probes of one round of a group's checks: (target, address,
    /// health check); None when the group is gone or out of use.
    fn health_jobs(&self, group_arn: &str) -> Option<(Duration, Vec<health::Probe>)> {
        let mut plane = self.inner.lock();
        let g = plane.groups.get_mut(group_arn)?;
        if !g.in_use || !g.checks_enabled() {
            return None;
        }
        let hc = g.spec.health_check.clone();
        let mut changed = false;
        let mut jobs = Vec::new();
        for (k, r) in g.targets.iter_mut() {
            if r.health.state == TargetState::Draining {
                continue;
            }
            changed |= r.health.probing();
            jobs.push((k.clone(), r.target.address, hc.clone()));
        }
        if changed {
            self.changes.notify_waiters();
        }
        Some((hc.interval, jobs))
    }

    fn apply_health(
        &self,
        group_arn: &str,
        results: Vec<(TargetKey, health::Outcome, HealthCheckSpec)>,
    ) {
        let mut plane = self.inner.lock();
        let Some(g) = plane.groups.get_mut(group_arn) else {
            return;
        };
        let mut changed = false;
        let now = crate::clock::now_system();
        for (k, outcome, hc) in results {
            // AWS ("Slow start mode"): a target enters it when it becomes
            // healthy, but "only when there is at least one healthy target
            // that is not in slow start mode".
            let steady_other = g.targets.iter().any(|(other, r)| {
                *other != k
                    && r.health.state == TargetState::Healthy
                    && !balance::ramping(r.slow_start_since, g.spec.slow_start, now)
            });
            if let Some(r) = g.targets.get_mut(&k) {
                if !matches!(
                    r.health.state,
                    TargetState::Initial | TargetState::Healthy | TargetState::Unhealthy
                ) {
                    continue;
                }
                let was_healthy = r.health.state == TargetState::Healthy;
                if r.health.apply(outcome, &hc) {
                    let healthy = r.health.state == TargetState::Healthy;
                    if healthy && !was_healthy && !g.spec.slow_start.is_zero() && steady_other {
                        r.slow_start_since = Some(now);
                    } else if !healthy {
                        // An unhealthy target leaves slow start; it enters
                        // it again when it is healthy again.
                        r.slow_start_since = None;
                    }
                    tracing::debug!(
                        "target group {group_arn}: target {}:{} is {} ({:?})",
                        k.id,
                        k.port,
                        r.health.state.as_str(),
                        r.health.reason
                    );
                    changed = true;
                }
            }
        }
        if changed {
            g.publish();
            self.changes.notify_waiters();
        }
    }

    /// A drain ended: the target leaves its group (unless it was
    /// registered again meanwhile).
    fn finish_drain(&self, group_arn: &str, key: &TargetKey, target: &Arc<TargetRt>) {
        let mut plane = self.inner.lock();
        let Some(g) = plane.groups.get_mut(group_arn) else {
            return;
        };
        if g.targets
            .get(key)
            .is_some_and(|r| Arc::ptr_eq(&r.rt, target))
        {
            g.targets.remove(key);
            g.publish();
            self.changes.notify_waiters();
        }
    }
}

fn idle_timeout(plane: &Plane, load_balancer_arn: &str) -> Duration {
    plane
        .idle_timeouts
        .get(load_balancer_arn)
        .copied()
        .unwrap_or(DEFAULT_IDLE_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_threads(plane: &LoadBalancing) -> bool {
        plane.inner.lock().threads.is_some()
    }

    /// The data plane's threads cost memory (a runtime and a malloc arena
    /// each): an ecsbox that serves no listener has none.
    #[tokio::test]
    async fn data_plane_threads_start_with_the_first_listener_and_end_with_reset() {
        let plane = LoadBalancing::new(LbSettings::default());
        assert!(!has_threads(&plane));
        plane
            .open_listener(ListenerSpec {
                listener_arn: "l".into(),
                load_balancer_arn: "lb".into(),
                lb_type: LbType::Application,
                protocol: Protocol::Http,
                // Any free port (the system picks one).
                port: 0,
                rules: vec![],
                default_actions: vec![],
            })
            .unwrap();
        assert!(has_threads(&plane));
        plane.reset();
        assert!(!has_threads(&plane));
    }
}
