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

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// Where listeners listen.
#[derive(Debug, Clone)]
pub struct LbSettings {
    /// The address every listener binds (127.0.0.1 unless told otherwise).
    pub listen_host: IpAddr,
    /// Ports a listener takes when its own port cannot be bound (taken, or
    /// privileged for a non-root user): the first free one of the range.
    pub fallback_ports: RangeInclusive<u16>,
}

impl Default for LbSettings {
    fn default() -> Self {
        LbSettings {
            listen_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            fallback_ports: 4511..=4559,
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub id: String,
    pub port: u16,
}

#[derive(Debug, Clone)]
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
}

/// The plane: every listener and target group of every account and region
/// (ARNs are unique across them).
pub struct LoadBalancing {
    settings: LbSettings,
    inner: Mutex<Plane>,
    /// Notified whenever a target's state changes (ECS's scheduler waits on it).
    changes: Arc<Notify>,
}

#[derive(Default)]
struct Plane {
    listeners: HashMap<String, (ListenerSpec, SocketAddr)>,
    groups: HashMap<String, Group>,
}

struct Group {
    spec: TargetGroupSpec,
    targets: BTreeMap<TargetKey, (Target, TargetState)>,
}

impl LoadBalancing {
    pub fn new(settings: LbSettings) -> Arc<Self> {
        Arc::new(LoadBalancing {
            settings,
            inner: Mutex::new(Plane::default()),
            changes: Arc::new(Notify::new()),
        })
    }

    pub fn settings(&self) -> &LbSettings {
        &self.settings
    }

    /// Signalled on every change of a target's state.
    pub fn changes(&self) -> Arc<Notify> {
        self.changes.clone()
    }

    /// Starts serving a listener; returns the local address it listens on.
    pub fn open_listener(&self, spec: ListenerSpec) -> Result<SocketAddr, ListenerError> {
        // Placeholder until the proxy lands: records the listener only.
        let addr = SocketAddr::new(self.settings.listen_host, spec.port);
        self.inner
            .lock()
            .listeners
            .insert(spec.listener_arn.clone(), (spec, addr));
        Ok(addr)
    }

    /// New rules or actions for a listener that is open.
    pub fn update_listener(&self, spec: ListenerSpec) {
        if let Some(entry) = self.inner.lock().listeners.get_mut(&spec.listener_arn) {
            entry.0 = spec;
        }
    }

    pub fn close_listener(&self, listener_arn: &str) {
        self.inner.lock().listeners.remove(listener_arn);
    }

    /// Where a listener listens on this machine.
    pub fn listener_address(&self, listener_arn: &str) -> Option<SocketAddr> {
        self.inner.lock().listeners.get(listener_arn).map(|l| l.1)
    }

    /// Every open listener: (listener ARN, its port, its local address).
    pub fn listeners(&self) -> Vec<(String, u16, SocketAddr)> {
        self.inner
            .lock()
            .listeners
            .values()
            .map(|(s, a)| (s.listener_arn.clone(), s.port, *a))
            .collect()
    }

    /// Creates a target group, or changes its health check and attributes.
    pub fn put_target_group(&self, spec: TargetGroupSpec) {
        let mut plane = self.inner.lock();
        match plane.groups.get_mut(&spec.arn) {
            Some(g) => g.spec = spec,
            None => {
                plane.groups.insert(
                    spec.arn.clone(),
                    Group {
                        spec,
                        targets: BTreeMap::new(),
                    },
                );
            }
        }
    }

    pub fn remove_target_group(&self, arn: &str) {
        self.inner.lock().groups.remove(arn);
    }

    pub fn target_group(&self, arn: &str) -> Option<TargetGroupSpec> {
        self.inner.lock().groups.get(arn).map(|g| g.spec.clone())
    }

    /// Whether an open listener forwards to the group (by a rule or its
    /// default actions): ECS refuses a service whose group none does.
    pub fn target_group_in_use(&self, arn: &str) -> bool {
        let forwards_to = |actions: &[Action]| {
            actions.iter().any(|a| match a {
                Action::Forward { groups, .. } => groups.iter().any(|g| g.target_group_arn == arn),
                _ => false,
            })
        };
        self.inner.lock().listeners.values().any(|(l, _)| {
            forwards_to(&l.default_actions) || l.rules.iter().any(|r| forwards_to(&r.actions))
        })
    }

    /// Registers targets (again: a target already there keeps its state).
    pub fn register_targets(&self, target_group_arn: &str, targets: Vec<Target>) {
        let mut plane = self.inner.lock();
        if let Some(g) = plane.groups.get_mut(target_group_arn) {
            for t in targets {
                g.targets
                    .entry(t.key.clone())
                    .or_insert((t, TargetState::Initial));
            }
        }
        self.changes.notify_waiters();
    }

    /// Deregisters targets: they drain for the group's deregistration delay,
    /// then leave it.
    pub fn deregister_targets(&self, target_group_arn: &str, keys: &[TargetKey]) {
        let mut plane = self.inner.lock();
        if let Some(g) = plane.groups.get_mut(target_group_arn) {
            for k in keys {
                g.targets.remove(k);
            }
        }
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
            .map(|(t, state)| TargetHealth {
                key: t.key.clone(),
                state: *state,
                reason: None,
                description: None,
                health_check_port: g.spec.health_check.port.unwrap_or(t.key.port).to_string(),
            })
            .collect()
    }

    /// Forgets everything and closes every listener.
    pub fn reset(&self) {
        *self.inner.lock() = Plane::default();
    }
}
