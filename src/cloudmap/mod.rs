//! Cloud Map's registry: namespaces, their services and the instances
//! registered in them, per (account, region). Three parties read and write
//! it, so it sits below all of them:
//!
//! - the Cloud Map API (`crate::services::servicediscovery`), which words
//!   AWS's errors for what this module answers;
//! - ECS's controllers (`crate::controllers::service_registries`), which
//!   register a service's tasks as they run and deregister them as they
//!   stop, through `register` and `deregister`;
//! - DNS for private namespaces, which reads `discover`.
//!
//! Locking: each region is one mutex (`RegionStore`). ECS takes its own
//! region lock first and this one inside it; nothing here ever takes ECS's,
//! so the order cannot invert.
//!
//! Operations (CreateXNamespace, RegisterInstance, ...) are asynchronous in
//! AWS: the call answers an OperationId and GetOperation reports SUBMITTED,
//! then SUCCESS. ecsbox applies the change at once (a registered instance
//! is discoverable right away) and reports the operation SUBMITTED the
//! first time anyone looks at it, SUCCESS from then on, so a client's
//! polling loop sees both states in AWS's order without waiting.

use crate::store::RegionStore;
use std::collections::BTreeMap;

/// How a namespace is discovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NamespaceKind {
    Http,
    DnsPrivate,
    DnsPublic,
}

impl NamespaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NamespaceKind::Http => "HTTP",
            NamespaceKind::DnsPrivate => "DNS_PRIVATE",
            NamespaceKind::DnsPublic => "DNS_PUBLIC",
        }
    }

    pub fn is_dns(self) -> bool {
        self != NamespaceKind::Http
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Namespace {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub kind: NamespaceKind,
    pub description: Option<String>,
    pub vpc: Option<String>,
    /// The SOA record's TTL (DNS namespaces).
    pub soa_ttl: Option<i64>,
    /// The name DiscoverInstances is called with (HttpProperties.HttpName):
    /// the namespace's name.
    pub http_name: String,
    /// The Route 53 hosted zone a DNS namespace stands for (ecsbox makes an
    /// id up: there is no Route 53 here).
    pub hosted_zone_id: Option<String>,
    pub created: f64,
    pub creator_request_id: Option<String>,
}

/// One DNS record type a service's instances get, with its TTL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DnsRecord {
    /// A, AAAA, SRV or CNAME.
    pub kind: String,
    pub ttl: i64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DnsSettings {
    /// MULTIVALUE or WEIGHTED.
    pub routing_policy: String,
    pub records: Vec<DnsRecord>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Service {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub namespace_id: String,
    pub description: Option<String>,
    pub dns: Option<DnsSettings>,
    /// HealthCheckCustomConfig given: instances carry the health their
    /// owner reports (UpdateInstanceCustomHealthStatus).
    pub custom_health: bool,
    /// HTTP (API discovery only), DNS_HTTP or DNS.
    pub kind: String,
    pub created: f64,
    pub creator_request_id: Option<String>,
    /// Free-form service attributes (UpdateServiceAttributes).
    pub attributes: BTreeMap<String, String>,
    pub instances: BTreeMap<String, Instance>,
    /// Bumped on every change of the instances or their health
    /// (DiscoverInstancesRevision).
    pub revision: i64,
}

/// Health as Cloud Map reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Health {
    Healthy,
    Unhealthy,
    /// The service has no health checking.
    Unknown,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "HEALTHY",
            Health::Unhealthy => "UNHEALTHY",
            Health::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    pub id: String,
    pub attributes: BTreeMap<String, String>,
    pub creator_request_id: Option<String>,
    pub health: Health,
    pub created: f64,
}

/// The attribute RegisterInstance reads a custom health check's first
/// status from ("If you don't specify a value ... the initial status is
/// HEALTHY", RegisterInstance in the Cloud Map API reference).
pub const INIT_HEALTH_ATTRIBUTE: &str = "AWS_INIT_HEALTH_STATUS";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OperationRecord {
    pub id: String,
    /// CREATE_NAMESPACE, DELETE_NAMESPACE, UPDATE_NAMESPACE,
    /// UPDATE_SERVICE, REGISTER_INSTANCE or DEREGISTER_INSTANCE.
    pub kind: String,
    /// NAMESPACE / SERVICE / INSTANCE -> id.
    pub targets: BTreeMap<String, String>,
    pub created: f64,
    /// When it was first looked at (and so still SUBMITTED); None: never.
    pub first_seen: Option<f64>,
    /// The CreatorRequestId it was made with (DuplicateRequest).
    pub creator_request_id: Option<String>,
}

impl OperationRecord {
    /// SUBMITTED the first time it is looked at, SUCCESS afterwards, and
    /// when it changed to that (see the module comment).
    pub fn look(&mut self, now: f64) -> (&'static str, f64) {
        match self.first_seen {
            None => {
                self.first_seen = Some(now);
                ("SUBMITTED", self.created)
            }
            Some(seen) => ("SUCCESS", seen),
        }
    }
}

pub struct CloudMapRegion {
    pub account: String,
    pub region: String,
    pub namespaces: BTreeMap<String, Namespace>,
    pub services: BTreeMap<String, Service>,
    pub operations: BTreeMap<String, OperationRecord>,
    /// Resource ARN -> tags, in the order the keys were first given.
    pub tags: BTreeMap<String, Vec<(String, String)>>,
}

crate::persistent_fields!(
    CloudMapRegion,
    "servicediscovery",
    [namespaces, services, operations, tags]
);

impl CloudMapRegion {
    fn new(account: &str, region: &str) -> Self {
        CloudMapRegion {
            account: account.to_string(),
            region: region.to_string(),
            namespaces: BTreeMap::new(),
            services: BTreeMap::new(),
            operations: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    pub fn namespace_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:servicediscovery:{}:{}:namespace/{id}",
            self.region, self.account
        )
    }

    pub fn service_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:servicediscovery:{}:{}:service/{id}",
            self.region, self.account
        )
    }

    /// Records an operation (already applied) and answers its id.
    pub fn operation(
        &mut self,
        kind: &'static str,
        targets: &[(&str, &str)],
        creator_request_id: Option<String>,
    ) -> String {
        // AWS's look: `gv4g5meo7ndmeh4fqskygvk23d2fijwa-k9302yzd`.
        let id = format!("{}-{}", random_chars(32), random_chars(8));
        self.operations.insert(
            id.clone(),
            OperationRecord {
                id: id.clone(),
                kind: kind.to_string(),
                targets: targets
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                created: crate::clock::now_secs(),
                first_seen: None,
                creator_request_id,
            },
        );
        id
    }

    /// A service by its id or ARN.
    pub fn service_mut(&mut self, id_or_arn: &str) -> Option<&mut Service> {
        let id = id_of(id_or_arn);
        self.services.get_mut(id)
    }

    pub fn service(&self, id_or_arn: &str) -> Option<&Service> {
        self.services.get(id_of(id_or_arn))
    }

    /// The namespace of a DiscoverInstances call: by its HTTP name.
    pub fn namespace_by_http_name(&self, name: &str) -> Option<&Namespace> {
        self.namespaces
            .values()
            .find(|n| n.http_name.eq_ignore_ascii_case(name))
    }

    pub fn service_in(&self, namespace_id: &str, name: &str) -> Option<&Service> {
        self.services
            .values()
            .find(|s| s.namespace_id == namespace_id && s.name.eq_ignore_ascii_case(name))
    }
}

/// The Cloud Map service named `name` in a namespace, created (API
/// discovery only, as ECS creates Service Connect's) when there is none;
/// answers its ARN. ECS makes one per `discoveryName` of a Service
/// Connect service.
pub fn ensure_api_service(r: &mut CloudMapRegion, namespace_id: &str, name: &str) -> String {
    if let Some(existing) = r.service_in(namespace_id, name) {
        return existing.arn.clone();
    }
    let id = new_id("srv");
    let arn = r.service_arn(&id);
    r.services.insert(
        id.clone(),
        Service {
            id,
            arn: arn.clone(),
            name: name.to_string(),
            namespace_id: namespace_id.to_string(),
            description: None,
            dns: None,
            custom_health: false,
            kind: "HTTP".into(),
            created: crate::clock::now_secs(),
            creator_request_id: None,
            attributes: BTreeMap::new(),
            instances: BTreeMap::new(),
            revision: 1,
        },
    );
    arn
}

/// Where an instance ECS registered is reached (`AWS_INSTANCE_IPV4` and
/// `AWS_INSTANCE_PORT`), when it says.
pub fn instance_address(i: &Instance) -> Option<std::net::SocketAddr> {
    let ip: std::net::IpAddr = i.attributes.get("AWS_INSTANCE_IPV4")?.parse().ok()?;
    let port: u16 = i.attributes.get("AWS_INSTANCE_PORT")?.parse().ok()?;
    Some(std::net::SocketAddr::new(ip, port))
}

/// The id in an id or a Cloud Map ARN (`...:service/srv-x` -> `srv-x`).
pub fn id_of(id_or_arn: &str) -> &str {
    if id_or_arn.starts_with("arn:") {
        id_or_arn.rsplit('/').next().unwrap_or(id_or_arn)
    } else {
        id_or_arn
    }
}

/// An id in Cloud Map's form: `ns-` or `srv-` and 16 lowercase letters and
/// digits (`ns-e4anhexample0004`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", random_chars(16))
}

/// `n` random lowercase letters and digits.
fn random_chars(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in uuid::Uuid::new_v4().into_bytes() {
            if out.len() < n {
                out.push(ALPHABET[(b as usize) % ALPHABET.len()] as char);
            }
        }
    }
    out
}

/// Why a registration from ECS did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    ServiceNotFound,
    InstanceNotFound,
}

/// Which instances DiscoverInstances (and DNS) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthFilter {
    Healthy,
    Unhealthy,
    All,
    HealthyOrElseAll,
}

impl HealthFilter {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "HEALTHY" => HealthFilter::Healthy,
            "UNHEALTHY" => HealthFilter::Unhealthy,
            "ALL" => HealthFilter::All,
            "HEALTHY_OR_ELSE_ALL" => HealthFilter::HealthyOrElseAll,
            _ => return None,
        })
    }
}

/// The instances of `service` that a discovery with these filters answers:
/// health first ("This parameter is ignored for services that don't have
/// a health check configured, and all instances are returned", the
/// DiscoverInstances API reference), then every query parameter must
/// match; optional parameters narrow the answer only if some instance
/// matches them all ("If no instances match all of the specified optional
/// parameters, then all instances are returned").
pub fn discover<'a>(
    service: &'a Service,
    health: HealthFilter,
    query: &BTreeMap<String, String>,
    optional: &BTreeMap<String, String>,
) -> Vec<&'a Instance> {
    let all: Vec<&Instance> = service.instances.values().collect();
    let by_health: Vec<&Instance> = if !service.custom_health {
        all
    } else {
        let healthy: Vec<&Instance> = all
            .iter()
            .copied()
            .filter(|i| i.health == Health::Healthy)
            .collect();
        match health {
            HealthFilter::Healthy => healthy,
            HealthFilter::Unhealthy => all
                .into_iter()
                .filter(|i| i.health == Health::Unhealthy)
                .collect(),
            HealthFilter::All => all,
            HealthFilter::HealthyOrElseAll if healthy.is_empty() => all,
            HealthFilter::HealthyOrElseAll => healthy,
        }
    };
    let matches = |i: &Instance, params: &BTreeMap<String, String>| {
        params
            .iter()
            .all(|(k, v)| i.attributes.get(k).is_some_and(|a| a == v))
    };
    let queried: Vec<&Instance> = by_health
        .into_iter()
        .filter(|i| matches(i, query))
        .collect();
    if optional.is_empty() {
        return queried;
    }
    let narrowed: Vec<&Instance> = queried
        .iter()
        .copied()
        .filter(|i| matches(i, optional))
        .collect();
    if narrowed.is_empty() {
        queried
    } else {
        narrowed
    }
}

/// What ECS (or anyone registering) asks for.
#[derive(Debug, Clone)]
pub struct Registration {
    pub service: String,
    pub instance_id: String,
    pub attributes: BTreeMap<String, String>,
    pub creator_request_id: Option<String>,
}

/// Registers (or re-registers, replacing its attributes) an instance and
/// records the operation; answers the operation id.
pub fn register(region: &mut CloudMapRegion, reg: Registration) -> Result<String, RegistryError> {
    let now = crate::clock::now_secs();
    let service = region
        .service_mut(&reg.service)
        .ok_or(RegistryError::ServiceNotFound)?;
    let health = if service.custom_health {
        match reg
            .attributes
            .get(INIT_HEALTH_ATTRIBUTE)
            .map(String::as_str)
        {
            Some("UNHEALTHY") => Health::Unhealthy,
            _ => Health::Healthy,
        }
    } else {
        Health::Unknown
    };
    let previous = service.instances.get(&reg.instance_id).map(|i| i.created);
    service.instances.insert(
        reg.instance_id.clone(),
        Instance {
            id: reg.instance_id.clone(),
            attributes: reg.attributes,
            creator_request_id: reg.creator_request_id.clone(),
            health,
            created: previous.unwrap_or(now),
        },
    );
    service.revision += 1;
    let service_id = service.id.clone();
    Ok(region.operation(
        "REGISTER_INSTANCE",
        &[("SERVICE", &service_id), ("INSTANCE", &reg.instance_id)],
        reg.creator_request_id,
    ))
}

/// Deregisters an instance and records the operation.
pub fn deregister(
    region: &mut CloudMapRegion,
    service: &str,
    instance_id: &str,
) -> Result<String, RegistryError> {
    let service = region
        .service_mut(service)
        .ok_or(RegistryError::ServiceNotFound)?;
    if service.instances.remove(instance_id).is_none() {
        return Err(RegistryError::InstanceNotFound);
    }
    service.revision += 1;
    let service_id = service.id.clone();
    Ok(region.operation(
        "DEREGISTER_INSTANCE",
        &[("SERVICE", &service_id), ("INSTANCE", instance_id)],
        None,
    ))
}

/// Cloud Map's state, one `CloudMapRegion` per (account, region).
pub struct CloudMap {
    regions: RegionStore<CloudMapRegion>,
}

// `--state-dir` keeps its regions.
crate::keeps_state_in_regions!(CloudMap);

impl Default for CloudMap {
    fn default() -> Self {
        Self::new()
    }
}

impl CloudMap {
    pub fn new() -> Self {
        CloudMap {
            regions: RegionStore::creating(CloudMapRegion::new),
        }
    }

    /// Runs `f` under the lock of one region (see the module comment for
    /// the order of locks).
    pub fn with<R>(
        &self,
        account: &str,
        region: &str,
        f: impl FnOnce(&mut CloudMapRegion) -> R,
    ) -> R {
        self.regions.with(account, region, f)
    }

    /// The (account, region) pairs ever used.
    pub fn keys(&self) -> Vec<(String, String)> {
        self.regions.keys()
    }

    pub fn reset(&self) {
        self.regions.reset();
    }

    /// Whether the service an ECS `serviceRegistries` entry names exists.
    pub fn service_exists(&self, account: &str, region: &str, arn: &str) -> bool {
        self.with(account, region, |r| r.service(arn).is_some())
    }

    /// The ids of the instances registered in a service (None: no such
    /// service).
    pub fn instance_ids(&self, account: &str, region: &str, service: &str) -> Option<Vec<String>> {
        self.with(account, region, |r| {
            r.service(service)
                .map(|s| s.instances.keys().cloned().collect())
        })
    }

    /// The kinds of DNS records a service's instances get (empty: an HTTP
    /// service, or no such service).
    pub fn record_kinds(&self, account: &str, region: &str, service: &str) -> Vec<String> {
        self.with(account, region, |r| {
            r.service(service)
                .and_then(|s| s.dns.as_ref())
                .map(|d| d.records.iter().map(|x| x.kind.clone()).collect())
                .unwrap_or_default()
        })
    }

    pub fn register(
        &self,
        account: &str,
        region: &str,
        reg: Registration,
    ) -> Result<String, RegistryError> {
        self.with(account, region, |r| register(r, reg))
    }

    pub fn deregister(
        &self,
        account: &str,
        region: &str,
        service: &str,
        instance_id: &str,
    ) -> Result<String, RegistryError> {
        self.with(account, region, |r| deregister(r, service, instance_id))
    }

    /// Sets a custom-health instance's status (ECS reports a task's
    /// container health this way); a service without custom health keeps
    /// UNKNOWN.
    pub fn set_health(
        &self,
        account: &str,
        region: &str,
        service: &str,
        instance_id: &str,
        healthy: bool,
    ) -> Result<(), RegistryError> {
        self.with(account, region, |r| {
            let s = r
                .service_mut(service)
                .ok_or(RegistryError::ServiceNotFound)?;
            if !s.custom_health {
                return Ok(());
            }
            let i = s
                .instances
                .get_mut(instance_id)
                .ok_or(RegistryError::InstanceNotFound)?;
            let health = if healthy {
                Health::Healthy
            } else {
                Health::Unhealthy
            };
            if i.health != health {
                i.health = health;
                s.revision += 1;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(custom_health: bool) -> Service {
        Service {
            id: "srv-1".into(),
            arn: "arn".into(),
            name: "api".into(),
            namespace_id: "ns-1".into(),
            description: None,
            dns: None,
            custom_health,
            kind: "HTTP".into(),
            created: 0.0,
            creator_request_id: None,
            attributes: BTreeMap::new(),
            instances: BTreeMap::new(),
            revision: 0,
        }
    }

    fn instance(id: &str, health: Health, attrs: &[(&str, &str)]) -> Instance {
        Instance {
            id: id.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            creator_request_id: None,
            health,
            created: 0.0,
        }
    }

    fn ids(found: Vec<&Instance>) -> Vec<&str> {
        found.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn health_filters_apply_only_to_services_with_health_checking() {
        let none = BTreeMap::new();
        let mut s = service(true);
        s.instances
            .insert("a".into(), instance("a", Health::Healthy, &[]));
        s.instances
            .insert("b".into(), instance("b", Health::Unhealthy, &[]));
        assert_eq!(
            ids(discover(&s, HealthFilter::Healthy, &none, &none)),
            ["a"]
        );
        assert_eq!(
            ids(discover(&s, HealthFilter::Unhealthy, &none, &none)),
            ["b"]
        );
        assert_eq!(
            ids(discover(&s, HealthFilter::All, &none, &none)),
            ["a", "b"]
        );
        s.instances.get_mut("a").unwrap().health = Health::Unhealthy;
        // Failing open: nothing healthy, so everything.
        assert_eq!(
            ids(discover(&s, HealthFilter::HealthyOrElseAll, &none, &none)),
            ["a", "b"]
        );
        s.custom_health = false;
        assert_eq!(
            ids(discover(&s, HealthFilter::Healthy, &none, &none)),
            ["a", "b"]
        );
    }

    #[test]
    fn optional_parameters_narrow_only_when_something_matches() {
        let mut s = service(false);
        s.instances.insert(
            "a".into(),
            instance("a", Health::Unknown, &[("stage", "blue")]),
        );
        s.instances.insert(
            "b".into(),
            instance("b", Health::Unknown, &[("stage", "green")]),
        );
        let q = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        let none = BTreeMap::new();
        assert_eq!(
            ids(discover(&s, HealthFilter::All, &q("stage", "green"), &none)),
            ["b"]
        );
        assert_eq!(
            ids(discover(&s, HealthFilter::All, &none, &q("stage", "blue"))),
            ["a"]
        );
        assert_eq!(
            ids(discover(&s, HealthFilter::All, &none, &q("stage", "red"))),
            ["a", "b"]
        );
    }

    #[test]
    fn an_operation_is_submitted_when_first_seen_then_succeeds() {
        let mut op = OperationRecord {
            id: "x".into(),
            kind: "CREATE_NAMESPACE".into(),
            targets: BTreeMap::new(),
            created: 1.0,
            first_seen: None,
            creator_request_id: None,
        };
        assert_eq!(op.look(2.0), ("SUBMITTED", 1.0));
        assert_eq!(op.look(3.0), ("SUCCESS", 2.0));
    }

    #[test]
    fn ids_come_from_ids_or_arns() {
        assert_eq!(id_of("srv-abc"), "srv-abc");
        assert_eq!(
            id_of("arn:aws:servicediscovery:us-east-1:1:service/srv-abc"),
            "srv-abc"
        );
        let id = new_id("ns");
        assert!(id.starts_with("ns-") && id.len() == 19, "{id}");
    }
}
