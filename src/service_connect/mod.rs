//! Service Connect's data plane: the endpoints (`clientAliases`) that
//! tasks of Service Connect services reach at `dnsName:port`.
//!
//! On ECS a proxy container in every task listens on a loopback address
//! per endpoint (127.255.0.x, written into the task's /etc/hosts) and
//! spreads the connections over the endpoint's healthy tasks, which it
//! learns from Cloud Map. ecsbox keeps the proxy out of the tasks: each
//! endpoint gets a link-local address of its own (169.254.172.1 onwards,
//! put on the host's loopback interface as `crate::loopback` explains,
//! where containers reach it through their default route), ecsbox listens
//! there on the alias port, and the tasks get `dnsName -> address` in
//! their /etc/hosts (Docker's extra hosts) when they start. As on ECS, a
//! task learns the endpoints that exist when it starts: "Existing tasks
//! can't resolve and connect to the new endpoint" (the developer guide,
//! "Amazon ECS Service Connect components").
//!
//! Each connection goes to the next healthy instance (round robin) of the
//! endpoint's Cloud Map service, the one ECS registers the server
//! service's tasks in (`controllers::service_registries`); a task that is
//! stopping is deregistered first and its containers stop once the
//! connections through here to it have closed (`in_flight`), as the
//! proxy drains. The proxy joins bytes (the TCP view of Service Connect):
//! per-request features of the HTTP view (perRequestTimeoutSeconds,
//! retries of failed requests) are refused where they are asked for.
//!
//! Which endpoints exist follows the services' deployments: the service
//! scheduler hands every region's wanted set to `reconcile` on each pass.

mod nat;
mod proxy;

use crate::cloudmap::CloudMap;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Endpoint addresses: 169.254.172.1 .. 169.254.173.254.
const FIRST_ADDRESS: [u8; 3] = [169, 254, 172];
const ADDRESS_BLOCKS: u8 = 2;

/// One endpoint: a client alias of a Service Connect service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AliasKey {
    pub account: String,
    pub region: String,
    /// The Cloud Map namespace's id.
    pub namespace_id: String,
    pub dns_name: String,
    pub port: u16,
}

/// Where an endpoint's connections go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The Cloud Map service whose instances serve the endpoint.
    pub discovery_service_id: String,
    /// Closes a connection idle this long (None: never).
    pub idle_timeout: Option<Duration>,
    /// The idle timeout was asked for (`timeout.idleTimeoutSeconds`): only
    /// the proxy can keep it, so the kernel's fast path leaves it alone.
    pub idle_timeout_asked: bool,
}

/// An endpoint a service's deployment declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedAlias {
    pub key: AliasKey,
    pub route: Route,
}

/// An endpoint being served.
struct Served {
    address: Ipv4Addr,
    route: Arc<parking_lot::RwLock<Route>>,
    stop: tokio::sync::watch::Sender<()>,
}

/// Connections open through the proxy, by Cloud Map instance id (ECS
/// registers a task under its task id, unique across regions).
#[derive(Default)]
pub(crate) struct InFlight {
    open: dashmap::DashMap<String, usize>,
}

impl InFlight {
    fn opened(&self, instance: &str) {
        *self.open.entry(instance.to_string()).or_insert(0) += 1;
    }

    fn closed(&self, instance: &str) {
        if let dashmap::mapref::entry::Entry::Occupied(mut e) =
            self.open.entry(instance.to_string())
        {
            *e.get_mut() -= 1;
            if *e.get() == 0 {
                e.remove();
            }
        }
    }

    fn count(&self, instance: &str) -> usize {
        self.open.get(instance).map_or(0, |n| *n)
    }
}

/// The endpoints of every namespace, and what decides whether ecsbox can
/// serve them at all.
pub struct ServiceConnect {
    cloud_map: Arc<CloudMap>,
    /// Why endpoints cannot be served here, when ecsbox knows from the
    /// start (it runs in a container: its addresses are not the host's).
    refused: Option<String>,
    /// Whether endpoint addresses can be put on the loopback interface,
    /// found out at first use.
    can_add_addresses: std::sync::OnceLock<Result<(), String>>,
    served: Mutex<BTreeMap<AliasKey, Served>>,
    in_flight: Arc<InFlight>,
    /// The kernel's fast path (`nat`), made when the first endpoint has a
    /// ready task; Err once ecsbox found it cannot change the rules.
    fast_path: Mutex<FastPath>,
}

/// What the fast path's rules say and what they were made from.
#[derive(Default)]
struct FastPath {
    nat: Option<Result<nat::Nat, String>>,
    applied: Vec<nat::EndpointRule>,
    /// Task addresses that accepted a connection (a task is only sent
    /// connections once it does: the kernel cannot retry a refusal, as the
    /// proxy does).
    ready: std::collections::HashSet<SocketAddr>,
    /// The addresses each Cloud Map instance behind an endpoint was listed
    /// at, and when it last was: what a drain waits on once the instance
    /// has left Cloud Map (the service scheduler deregisters a task as soon
    /// as it is to stop, before the task's own stop drains it). Forgotten
    /// when drained, or `FORGET_UNLISTED` after the instance left.
    listed: std::collections::HashMap<String, Listed>,
}

/// Where an instance was listed, and when last.
struct Listed {
    addresses: std::collections::HashSet<SocketAddr>,
    at: std::time::Instant,
}

/// How often the fast path is brought in line with Cloud Map.
const FAST_PATH_REFRESH: Duration = Duration::from_millis(50);
/// How long a task address may take to accept the readiness probe.
const READY_PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// How long an instance that left Cloud Map is remembered for a drain
/// that has not come (a task that stopped on its own is never drained):
/// longer than any drain waits.
const FORGET_UNLISTED: Duration = Duration::from_secs(120);

impl ServiceConnect {
    /// `in_container`: ecsbox runs in a container (its image), where the
    /// addresses it could listen on are not reachable from the tasks.
    /// Also starts keeping the fast path in line (needs a tokio runtime;
    /// the loop ends when the instance is dropped).
    pub fn new(cloud_map: Arc<CloudMap>, in_container: bool) -> Arc<Self> {
        let sc = Arc::new(ServiceConnect {
            cloud_map,
            refused: in_container.then(|| {
                "ecsbox runs in a container here, and Service Connect's endpoints need addresses on the Docker host: run ecsbox on the host for Service Connect, or use serviceRegistries (Cloud Map DNS names)".to_string()
            }),
            can_add_addresses: std::sync::OnceLock::new(),
            served: Mutex::new(BTreeMap::new()),
            in_flight: Arc::new(InFlight::default()),
            fast_path: Mutex::new(FastPath::default()),
        });
        if !in_container {
            let weak = Arc::downgrade(&sc);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(FAST_PATH_REFRESH).await;
                    let Some(sc) = weak.upgrade() else { return };
                    sc.refresh_fast_path().await;
                }
            });
        }
        sc
    }

    /// Each endpoint's ready tasks, as the fast path's rules should say.
    /// The iptables commands run on the refresher's own task, holding the
    /// fast path's lock for their few milliseconds, and only when the rules
    /// change (a task came or went).
    async fn refresh_fast_path(&self) {
        let endpoints: Vec<(AliasKey, Ipv4Addr, Route)> = self
            .served
            .lock()
            .iter()
            .map(|(k, s)| (k.clone(), s.address, s.route.read().clone()))
            .collect();
        let mut wanted = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let now = std::time::Instant::now();
        for (key, address, route) in endpoints {
            if route.idle_timeout_asked {
                continue;
            }
            let mut to = proxy::instance_addresses(
                &self.cloud_map,
                &key.account,
                &key.region,
                &route.discovery_service_id,
            );
            to.sort_by_key(|(_, addr)| *addr);
            let mut ready = Vec::new();
            for (instance, addr) in to {
                seen.insert(addr);
                {
                    let mut fp = self.fast_path.lock();
                    let listed = fp.listed.entry(instance).or_insert_with(|| Listed {
                        addresses: Default::default(),
                        at: now,
                    });
                    listed.addresses.insert(addr);
                    listed.at = now;
                }
                let known = self.fast_path.lock().ready.contains(&addr);
                if known || probe(addr).await {
                    self.fast_path.lock().ready.insert(addr);
                    ready.push(addr);
                }
            }
            if !ready.is_empty() {
                wanted.push(nat::EndpointRule {
                    address,
                    port: key.port,
                    to: ready,
                });
            }
        }
        let mut fp = self.fast_path.lock();
        fp.ready.retain(|a| seen.contains(a));
        fp.listed
            .retain(|_, l| now.duration_since(l.at) < FORGET_UNLISTED);
        if fp.applied == wanted {
            return;
        }
        if fp.nat.is_none() {
            if wanted.is_empty() {
                return;
            }
            let made = nat::Nat::install();
            if let Err(why) = &made {
                tracing::warn!("Service Connect: no kernel fast path ({why}); ecsbox's proxy carries every connection");
            }
            fp.nat = Some(made);
        }
        let Some(Ok(nat)) = &fp.nat else {
            return;
        };
        match nat.apply(&wanted) {
            Ok(()) => fp.applied = wanted,
            Err(why) => tracing::warn!("Service Connect: fast path rules not applied: {why}"),
        }
    }

    /// Whether the fast path still sends new connections to `task`.
    fn routes_to(&self, task: SocketAddr) -> bool {
        self.fast_path
            .lock()
            .applied
            .iter()
            .any(|e| e.to.contains(&task))
    }

    /// Waits, for at most `limit`, until no new connection goes to the
    /// task registered as `instance_id`, which has left Cloud Map, and the
    /// connections to it through an endpoint have closed: through the
    /// proxy (counted by instance) and through the fast path (the host's
    /// connection tracking, at the addresses the endpoints listed it at).
    /// A task no endpoint listed (a name in a DNS namespace only) is not
    /// drained.
    pub async fn drain(&self, instance_id: &str, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        // Read on each check: a pass of the fast path that read Cloud Map
        // just before the task left may list it (and route to it) late.
        let busy = |sc: &Self| {
            let addresses: Vec<SocketAddr> = sc
                .fast_path
                .lock()
                .listed
                .get(instance_id)
                .map(|l| l.addresses.iter().copied().collect())
                .unwrap_or_default();
            sc.in_flight(instance_id) > 0
                || addresses
                    .iter()
                    .any(|a| sc.routes_to(*a) || nat::has_established_to(*a).unwrap_or(false))
        };
        while busy(self) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(DRAIN_CHECK).await;
        }
        self.fast_path.lock().listed.remove(instance_id);
    }

    /// Ok when ecsbox can serve endpoints; else why not, for the error
    /// CreateService and UpdateService answer.
    pub fn available(&self) -> Result<(), String> {
        if let Some(why) = &self.refused {
            return Err(why.clone());
        }
        self.can_add_addresses
            .get_or_init(|| crate::loopback::ensure_local(IpAddr::V4(address(0))))
            .clone()
    }

    /// Makes the served endpoints of (`account`, `region`) the `wanted`
    /// ones (the first route given for a key wins): starts listening for
    /// new ones, points changed ones at their new route, stops the ones no
    /// deployment declares any more (their open connections go on until
    /// they close). Needs a tokio runtime.
    pub fn reconcile(&self, account: &str, region: &str, wanted: Vec<WantedAlias>) {
        if self.available().is_err() {
            return;
        }
        let mut served = self.served.lock();
        // An alias several deployments declare takes the first one's route.
        let mut routes: BTreeMap<AliasKey, Route> = BTreeMap::new();
        for w in wanted {
            routes.entry(w.key).or_insert(w.route);
        }
        let wanted = routes;
        served.retain(|key, s| {
            let keep = key.account != account || key.region != region || wanted.contains_key(key);
            if !keep {
                s.stop.send_replace(());
            }
            keep
        });
        for (key, route) in wanted {
            if let Some(s) = served.get(&key) {
                if *s.route.read() != route {
                    *s.route.write() = route;
                }
                continue;
            }
            match self.listen(&served, &key) {
                Ok((address, listener)) => {
                    let route = Arc::new(parking_lot::RwLock::new(route));
                    let (stop, stopped) = tokio::sync::watch::channel(());
                    tokio::spawn(proxy::serve(
                        listener,
                        proxy::Endpoint {
                            account: key.account.clone(),
                            region: key.region.clone(),
                            route: route.clone(),
                        },
                        self.cloud_map.clone(),
                        self.in_flight.clone(),
                        stopped,
                    ));
                    tracing::info!(
                        "Service Connect endpoint {}:{} on {address}",
                        key.dns_name,
                        key.port
                    );
                    served.insert(
                        key,
                        Served {
                            address,
                            route,
                            stop,
                        },
                    );
                }
                Err(why) => tracing::warn!(
                    "Service Connect endpoint {}:{} not served: {why}",
                    key.dns_name,
                    key.port
                ),
            }
        }
    }

    /// A listening socket for `key`: on the address its name already has
    /// (another port of the same name), else on the first address where
    /// the port is free (other ecsbox instances on the host hold some).
    fn listen(
        &self,
        served: &BTreeMap<AliasKey, Served>,
        key: &AliasKey,
    ) -> Result<(Ipv4Addr, tokio::net::TcpListener), String> {
        let same_name = served
            .iter()
            .find(|(k, _)| {
                k.account == key.account
                    && k.region == key.region
                    && k.namespace_id == key.namespace_id
                    && k.dns_name == key.dns_name
            })
            .map(|(_, s)| s.address);
        let taken: Vec<Ipv4Addr> = served.values().map(|s| s.address).collect();
        let candidates = same_name.into_iter().chain(
            (0..u16::from(ADDRESS_BLOCKS) * 254)
                .map(address)
                .filter(|a| !taken.contains(a)),
        );
        let mut last = String::from("no free address");
        for ip in candidates {
            crate::loopback::ensure_local(IpAddr::V4(ip))?;
            let addr = SocketAddr::from((ip, key.port));
            match std::net::TcpListener::bind(addr) {
                Ok(l) => {
                    l.set_nonblocking(true).map_err(|e| e.to_string())?;
                    let l = tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string())?;
                    return Ok((ip, l));
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(last)
    }

    /// The /etc/hosts entries a task of a Service Connect service in
    /// `namespace_id` starts with: every endpoint of the namespace.
    pub fn hosts_for(
        &self,
        account: &str,
        region: &str,
        namespace_id: &str,
    ) -> Vec<(String, Ipv4Addr)> {
        let mut hosts: Vec<(String, Ipv4Addr)> = self
            .served
            .lock()
            .iter()
            .filter(|(k, _)| {
                k.account == account && k.region == region && k.namespace_id == namespace_id
            })
            .map(|(k, s)| (k.dns_name.clone(), s.address))
            .collect();
        hosts.dedup();
        hosts
    }

    /// Connections open through the proxy to the task registered as
    /// `instance_id`.
    pub fn in_flight(&self, instance_id: &str) -> usize {
        self.in_flight.count(instance_id)
    }

    /// The served endpoints, for `GET /_ecsbox/service-connect`.
    pub fn describe(&self) -> Vec<serde_json::Value> {
        let applied = self.fast_path.lock().applied.clone();
        self.served
            .lock()
            .iter()
            .map(|(k, s)| {
                let fast: Vec<String> = applied
                    .iter()
                    .filter(|e| e.address == s.address && e.port == k.port)
                    .flat_map(|e| e.to.iter().map(|a| a.to_string()))
                    .collect();
                serde_json::json!({
                    "fastPath": fast,
                    "account": k.account,
                    "region": k.region,
                    "namespaceId": k.namespace_id,
                    "dnsName": k.dns_name,
                    "port": k.port,
                    "address": format!("{}:{}", s.address, k.port),
                    "discoveryServiceId": s.route.read().discovery_service_id,
                })
            })
            .collect()
    }

    /// Stops serving every endpoint and removes the fast path's rules (a
    /// reset, shutdown).
    pub fn reset(&self) {
        for (_, s) in std::mem::take(&mut *self.served.lock()) {
            s.stop.send_replace(());
        }
        let mut fp = self.fast_path.lock();
        *fp = FastPath::default();
    }
}

impl Drop for ServiceConnect {
    fn drop(&mut self) {
        self.reset();
    }
}

/// How often a drain looks whether the task is done.
const DRAIN_CHECK: Duration = Duration::from_millis(20);

/// Whether `addr` accepts a TCP connection now.
async fn probe(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(READY_PROBE_TIMEOUT, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// The `n`th endpoint address (0-based).
fn address(n: u16) -> Ipv4Addr {
    let block = u8::try_from(n / 254).unwrap_or(0);
    let host = u8::try_from(n % 254).unwrap_or(0) + 1;
    Ipv4Addr::new(
        FIRST_ADDRESS[0],
        FIRST_ADDRESS[1],
        FIRST_ADDRESS[2] + block,
        host,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_addresses_run_through_two_blocks_without_network_or_broadcast() {
        assert_eq!(address(0), Ipv4Addr::new(169, 254, 172, 1));
        assert_eq!(address(253), Ipv4Addr::new(169, 254, 172, 254));
        assert_eq!(address(254), Ipv4Addr::new(169, 254, 173, 1));
        assert_eq!(address(507), Ipv4Addr::new(169, 254, 173, 254));
    }

    #[test]
    fn in_flight_counts_each_instance_down_to_zero() {
        let f = InFlight::default();
        f.opened("a");
        f.opened("a");
        f.opened("b");
        f.closed("a");
        assert_eq!((f.count("a"), f.count("b")), (1, 1));
        f.closed("a");
        f.closed("a");
        assert_eq!(f.count("a"), 0);
        assert!(!f.open.contains_key("a"));
    }
}
