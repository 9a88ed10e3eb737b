//! Command line and environment configuration. Every option has an
//! environment variable, shown by `ecsbox --help`.

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;

/// Where ECS serves the task metadata and credentials endpoints, and the
/// only host the SDKs' relative credentials URI goes to.
pub const ECS_ENDPOINT_ADDRESS: &str = "169.254.170.2:80";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SigV4Mode {
    /// No signature needed; region and account still come from one if present.
    Off,
    /// A well-formed, fresh SigV4 Authorization header for the right service; any key.
    Lenient,
    /// Keys from --credentials only, and the signature is verified.
    Strict,
}

/// Whether task containers get the task metadata and credentials endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskEndpoints {
    /// Serve them at --task-endpoint-listen and give tasks the variables
    /// that point there (ECS_CONTAINER_METADATA_URI_V4, ...).
    On,
    /// No endpoints and none of those variables in tasks.
    Off,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "ecsbox",
    version,
    about = "A local emulator of Amazon ECS: point the aws CLI or any AWS SDK at it."
)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (the startup line says which).
    #[arg(long, env = "ECSBOX_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,

    /// How requests are authenticated.
    #[arg(long, env = "ECSBOX_SIGV4", value_enum, default_value = "lenient")]
    pub sigv4: SigV4Mode,

    /// Access keys accepted in strict mode, as AKID:SECRET (repeatable; the
    /// variable takes a comma-separated list).
    #[arg(
        long = "credentials",
        env = "ECSBOX_CREDENTIALS",
        value_delimiter = ',',
        value_name = "AKID:SECRET"
    )]
    pub credentials: Vec<String>,

    /// Account of every access key that is not itself a 12-digit account id.
    #[arg(long, env = "ECSBOX_DEFAULT_ACCOUNT", default_value = "000000000000")]
    pub default_account: String,

    /// Region of a request that carries no credential scope (only with --sigv4 off).
    #[arg(long, env = "ECSBOX_DEFAULT_REGION", default_value = "us-east-1")]
    pub default_region: String,

    /// Names this ecsbox instance on the Docker engine: everything it creates
    /// carries the label `ecsbox.owner=<id>`, and at start it removes what an
    /// earlier run with the same id left behind. Give concurrent instances
    /// sharing one engine different ids.
    #[arg(long, env = "ECSBOX_INSTANCE_ID", default_value = "default")]
    pub instance_id: String,

    /// MiB of CloudWatch Logs events kept per account and region, at most:
    /// past it the oldest events are removed (AWS keeps them all; in memory
    /// something must give).
    #[arg(long, env = "ECSBOX_LOG_MEMORY_LIMIT_MIB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub log_memory_limit_mib: u64,

    /// Seconds a STOPPED task's containers are kept (for `docker logs`)
    /// before they are removed.
    #[arg(long, env = "ECSBOX_TASK_CLEANUP_DELAY", default_value_t = 300)]
    pub task_cleanup_delay: u64,

    /// ecsbox's own container (id or name) when it runs in one: it joins
    /// the awsvpc network it creates so its load balancers reach the
    /// tasks. Found by itself in a container (its hostname, Docker's short
    /// container id); set it when the container's hostname was changed.
    #[arg(long, env = "ECSBOX_OWN_CONTAINER")]
    pub own_container: Option<String>,

    /// How many started network namespaces (pause containers on the awsvpc
    /// network) ecsbox keeps ready for awsvpc tasks, so that a task's start
    /// skips making one; refilled while no task is starting. 0 turns it off.
    #[arg(long, env = "ECSBOX_WARM_TASK_NAMESPACES", default_value_t = 2)]
    pub warm_task_namespaces: usize,

    /// Keep every resource of every service in this directory (an embedded
    /// database, `ecsbox.redb`), so that a restart, clean or after a crash,
    /// finds them again, and the tasks still running are adopted. Without
    /// it state is in memory and lost when ecsbox exits.
    #[arg(long, env = "ECSBOX_STATE_DIR")]
    pub state_dir: Option<std::path::PathBuf>,

    /// Leave task containers running when ecsbox shuts down (by default it
    /// stops and removes everything it owns).
    #[arg(long, env = "ECSBOX_KEEP_CONTAINERS")]
    pub keep_containers: bool,

    /// Virtual container instances every new cluster gets, backed by the
    /// local engine (m5.large: 2048 CPU units, 7680 MiB; zones a, b, c), so
    /// EC2 tasks can be placed. A cluster's tags `ecsbox:container-instances`
    /// and `ecsbox:instance-type` override this per cluster. 0 keeps AWS's
    /// answer for an empty cluster.
    #[arg(long, env = "ECSBOX_CONTAINER_INSTANCES", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub container_instances: u32,

    /// The task metadata endpoint (v3, v4) and task-role credentials
    /// endpoint inside task containers, as ECS serves them.
    #[arg(long, env = "ECSBOX_TASK_ENDPOINTS", value_enum, default_value = "on")]
    pub task_endpoints: TaskEndpoints,

    /// Where the task endpoints listen. 169.254.170.2:80 is where ECS serves
    /// them and the only place the AWS SDKs' relative credentials URI goes;
    /// ecsbox adds the address to the loopback interface when the host lacks
    /// it (needs root or CAP_NET_ADMIN once). When port 80 is taken, a free
    /// port is used and tasks get AWS_CONTAINER_CREDENTIALS_FULL_URI instead.
    #[arg(long, env = "ECSBOX_TASK_ENDPOINT_LISTEN", default_value = ECS_ENDPOINT_ADDRESS)]
    pub task_endpoint_listen: SocketAddr,

    /// The DNS server task containers use, standing in for the VPC resolver
    /// AWS serves at 169.254.169.253: ecsbox answers Cloud Map's DNS
    /// namespaces there (port 53, UDP and TCP) and passes every other name
    /// to the resolvers of its own /etc/resolv.conf. The address goes on
    /// the loopback interface (root or CAP_NET_ADMIN); when another ecsbox
    /// holds it, the first free one of 169.254.171.1-254 is used.
    /// `container` (the image's setting): served on every address of
    /// ecsbox's own container, each task given ecsbox's address on the
    /// task's network. `off`: tasks keep Docker's resolver. A container's
    /// own dnsServers win.
    #[arg(long, env = "ECSBOX_TASK_DNS", default_value = "169.254.169.253")]
    pub task_dns: crate::dns::TaskDnsSetting,

    /// Do not set AWS_ENDPOINT_URL in task containers. By default it points
    /// at the task endpoints' listener, which also serves the ecsbox API, so
    /// the AWS SDKs inside a task talk to ecsbox.
    #[arg(long, env = "ECSBOX_NO_TASK_ENDPOINT_URL")]
    pub no_task_endpoint_url: bool,

    /// Where ecsbox's container registry (the OCI Distribution API behind
    /// ECR: `docker push`, `docker pull`) listens; port 0 picks a free port.
    /// The stock Docker engine pushes to a loopback registry without TLS.
    #[arg(long, env = "ECSBOX_REGISTRY_LISTEN", default_value = "127.0.0.1:4510")]
    pub registry_listen: SocketAddr,

    /// The `HOST[:PORT]` that ECR repository URIs and the login's
    /// proxyEndpoint name, when the registry is reached at another address
    /// than it listens on (a published port under compose). Default:
    /// `localhost:<the registry's port>`.
    #[arg(long, env = "ECSBOX_REGISTRY_HOST")]
    pub registry_host: Option<String>,

    /// The address every load balancer listener binds (ELBv2's
    /// CreateListener): loopback unless told otherwise (`0.0.0.0` under
    /// compose, where the host reaches listeners through published ports).
    #[arg(long, env = "ECSBOX_LB_LISTEN_HOST", default_value = "127.0.0.1")]
    pub lb_listen_host: std::net::IpAddr,

    /// The ports a listener takes, first free one first, when its own port
    /// cannot be bound (taken, or privileged for a non-root user): `LOW-HIGH`.
    /// `GET /_ecsbox/elbv2/listeners` tells where each listener listens.
    #[arg(long, env = "ECSBOX_LB_PORTS", default_value = "4511-4559", value_parser = parse_port_range)]
    pub lb_ports: std::ops::RangeInclusive<u16>,

    /// Listeners take a port of `--lb-ports` even when their own port is
    /// free (unless it lies in the range). ecsbox's image sets it: under
    /// compose only that range is published to the host.
    #[arg(long, env = "ECSBOX_LB_PORTS_ONLY")]
    pub lb_ports_only: bool,

    /// The address listeners connect to for an `instance` target (an ECS
    /// container instance's ec2InstanceId, registered by RegisterTargets or
    /// by a service's loadBalancers): the Docker engine's host, where bridge
    /// tasks publish their host ports. An address, or `gateway`: the
    /// default route's gateway, which is the engine's host for a container
    /// on it (Linux) and Docker Desktop's VM alike; the image sets that.
    /// Not guessed from "running in a container": a container may run its
    /// own engine, whose host ports are on its own loopback.
    #[arg(long, env = "ECSBOX_LB_INSTANCE_ADDRESS", default_value = "127.0.0.1", value_parser = parse_instance_address)]
    pub lb_instance_address: InstanceAddress,

    /// Seconds between two samples of the AWS/ECS metrics (CPUUtilization,
    /// MemoryUtilization) from the tasks' Docker stats, and between two
    /// publications of the load balancers' AWS/ApplicationELB request
    /// metrics. ECS and ELB publish every 60 s; shorter periods are for
    /// development.
    #[arg(long, env = "ECSBOX_METRICS_PERIOD", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub metrics_period: u64,

    /// Log filter (tracing's syntax, e.g. `info` or `ecsbox=debug`); RUST_LOG wins when set.
    #[arg(long, env = "ECSBOX_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

/// `LOW-HIGH` (or one port) as an inclusive range of ports.
fn parse_port_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("'{text}' is not a port range like 4511-4559"))
    };
    let (low, high) = (port(low)?, port(high)?);
    if low == 0 || low > high {
        return Err(format!("'{text}' is not a port range like 4511-4559"));
    }
    Ok(low..=high)
}

/// Where instance targets are reached (`--lb-instance-address`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceAddress {
    Ip(std::net::IpAddr),
    /// The default route's gateway, read when ecsbox starts.
    DefaultGateway,
}

fn parse_instance_address(text: &str) -> Result<InstanceAddress, String> {
    if text == "gateway" {
        return Ok(InstanceAddress::DefaultGateway);
    }
    text.parse()
        .map(InstanceAddress::Ip)
        .map_err(|_| format!("'{text}' is neither an IP address nor `gateway`"))
}

/// The default route's gateway in a `/proc/net/route` table (Linux's
/// format: hex, in the host's byte order, which is little-endian on every
/// platform Docker runs containers on).
pub fn default_gateway(route_table: &str) -> Option<std::net::Ipv4Addr> {
    route_table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (destination, gateway, mask) = (cols.get(1)?, cols.get(2)?, cols.get(7)?);
        if *destination != "00000000" || *mask != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(gateway, 16).ok().filter(|g| *g != 0)?;
        Some(std::net::Ipv4Addr::from(gw.to_le_bytes()))
    })
}

impl Config {
    /// Where instance targets are reached (`--lb-instance-address`, the
    /// gateway resolved; loopback, with a warning, when there is none).
    pub fn lb_instance_address(&self) -> std::net::IpAddr {
        match self.lb_instance_address {
            InstanceAddress::Ip(ip) => ip,
            InstanceAddress::DefaultGateway => {
                let gateway = std::fs::read_to_string("/proc/net/route")
                    .ok()
                    .and_then(|t| default_gateway(&t));
                match gateway {
                    Some(gw) => std::net::IpAddr::V4(gw),
                    None => {
                        tracing::warn!(
                            "--lb-instance-address gateway: no default route in /proc/net/route; \
                             instance targets are reached on 127.0.0.1"
                        );
                        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
                    }
                }
            }
        }
    }

    /// The configuration a test server uses: free loopback ports (the task
    /// endpoints too, so tests change nothing on the host and never compete
    /// for 169.254.170.2:80), defaults otherwise. Tests whose containers must
    /// reach the task endpoints set `task_endpoint_listen` to
    /// `ECS_ENDPOINT_ADDRESS`.
    pub fn for_tests() -> Self {
        let id = format!("test-{}", uuid::Uuid::new_v4().simple());
        Config::parse_from([
            "ecsbox",
            "--listen",
            "127.0.0.1:0",
            "--instance-id",
            &id,
            "--task-endpoint-listen",
            "127.0.0.1:0",
            "--registry-listen",
            "127.0.0.1:0",
            "--warm-task-namespaces",
            "0",
            // No port 53 for servers that run no containers.
            "--task-dns",
            "off",
        ])
    }

    /// (access key id, secret) pairs from --credentials; an entry without a
    /// colon is a configuration error reported at start-up.
    pub fn credential_pairs(&self) -> Result<Vec<(String, String)>, String> {
        self.credentials
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| {
                c.trim()
                    .split_once(':')
                    .map(|(k, s)| (k.to_string(), s.to_string()))
                    .ok_or_else(|| format!("--credentials entry '{c}' is not AKID:SECRET"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_endpoints_default_to_where_ecs_serves_them() {
        let c = Config::parse_from(["ecsbox"]);
        assert_eq!(c.task_endpoints, TaskEndpoints::On);
        assert_eq!(c.task_endpoint_listen.to_string(), "169.254.170.2:80");
        assert!(!c.no_task_endpoint_url);
        let off = Config::parse_from([
            "ecsbox",
            "--task-endpoints",
            "off",
            "--no-task-endpoint-url",
        ]);
        assert_eq!(off.task_endpoints, TaskEndpoints::Off);
        assert!(off.no_task_endpoint_url);
        assert!(Config::for_tests().task_endpoint_listen.ip().is_loopback());
    }

    #[test]
    fn load_balancer_listeners_default_to_loopback_and_a_port_range() {
        let c = Config::parse_from(["ecsbox"]);
        assert_eq!(c.lb_listen_host.to_string(), "127.0.0.1");
        assert_eq!(c.lb_ports, 4511..=4559);
        assert_eq!(c.lb_instance_address().to_string(), "127.0.0.1");
        let c = Config::parse_from(["ecsbox", "--lb-instance-address", "172.17.0.1"]);
        assert_eq!(c.lb_instance_address().to_string(), "172.17.0.1");
        let c = Config::parse_from(["ecsbox", "--lb-instance-address", "gateway"]);
        assert_eq!(c.lb_instance_address, InstanceAddress::DefaultGateway);
        assert!(Config::try_parse_from(["ecsbox", "--lb-instance-address", "host"]).is_err());
        assert!(!c.lb_ports_only);
        let c = Config::parse_from(["ecsbox", "--lb-ports", "5000-5002", "--lb-ports-only"]);
        assert_eq!(c.lb_ports, 5000..=5002);
        assert!(c.lb_ports_only);
        for bad in ["5002-5000", "x-1", "0-10", "70000"] {
            assert!(
                Config::try_parse_from(["ecsbox", "--lb-ports", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_default_gateway_is_read_from_the_route_table() {
        // A container's /proc/net/route on Docker's default bridge.
        let table =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                     eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                     eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(
            default_gateway(table),
            Some(std::net::Ipv4Addr::new(172, 17, 0, 1))
        );
        let no_default = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
                          eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\n";
        assert_eq!(default_gateway(no_default), None);
    }

    #[test]
    fn container_instances_default_to_none_and_are_bounded() {
        let parse = |args: &[&str]| Config::try_parse_from([&["ecsbox"], args].concat());
        assert_eq!(parse(&[]).unwrap().container_instances, 0);
        assert_eq!(
            parse(&["--container-instances", "3"])
                .unwrap()
                .container_instances,
            3
        );
        assert!(parse(&["--container-instances", "101"]).is_err());
        assert!(parse(&["--container-instances", "-1"]).is_err());
    }
}
