//! The DNS resolver task containers use, standing in for the VPC resolver
//! (AmazonProvidedDNS, which AWS serves at 169.254.169.253 in every VPC):
//! it answers the names of Cloud Map's DNS namespaces from the registry
//! (`zones`), so `SERVICE.NAMESPACE` resolves inside tasks to the tasks
//! ECS registered, and hands every other name to the host's resolvers
//! (`upstream`).
//!
//! It listens on port 53 (UDP and TCP) of 169.254.169.253, put on the
//! host's loopback interface (`crate::loopback`), where task containers
//! reach it as they reach the task endpoints at 169.254.170.2. Task
//! containers get it as their DNS server (`dns` in Docker's terms: on
//! Docker's user-defined networks, ecsbox's awsvpc network among them,
//! Docker's embedded resolver still answers container names and asks this
//! one for the rest). The host can ask it too: `dig @169.254.169.253
//! api.local`. When another ecsbox holds that address, the first free one
//! of 169.254.171.1-254 is used (the log and `GET /_ecsbox/dns` say
//! which). Without root (port 53, the address) it stays off and tasks keep
//! Docker's resolver; the log says why.

pub mod upstream;
pub mod zones;

use crate::cloudmap::CloudMap;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use upstream::Upstream;

/// Where AWS serves the VPC resolver, and ecsbox its stand-in by default.
pub const VPC_RESOLVER: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 253);
/// The addresses tried, in order, when another ecsbox holds `VPC_RESOLVER`.
const FALLBACK_PREFIX: [u8; 3] = [169, 254, 171];
const PORT: u16 = 53;
/// The largest UDP answer without EDNS (RFC 1035).
const UDP_CLASSIC: usize = 512;
/// What ecsbox offers in its EDNS OPT record (the DNS flag day's size).
const EDNS_PAYLOAD: u16 = 1232;
/// How often the UDP loop, blocked in recv, looks whether to stop.
const UDP_STOP_CHECK: Duration = Duration::from_millis(500);
/// How long a TCP client may sit idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// `--task-dns`: an IPv4 address, `container` (ecsbox in a container:
/// served on it, on every address it has), or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskDnsSetting {
    Off,
    On(Ipv4Addr),
    OwnContainer,
}

impl std::str::FromStr for TaskDnsSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(TaskDnsSetting::Off);
        }
        if s.eq_ignore_ascii_case("container") {
            return Ok(TaskDnsSetting::OwnContainer);
        }
        s.parse()
            .map(TaskDnsSetting::On)
            .map_err(|_| format!("'{s}' is neither an IPv4 address, 'container' nor 'off'"))
    }
}

/// The running resolver (or none).
pub struct TaskDns {
    address: Option<Ipv4Addr>,
    /// Served on ecsbox's own container (`TaskDnsSetting::OwnContainer`),
    /// where `address` is the unspecified one.
    in_own_container: bool,
    stop: tokio::sync::watch::Sender<bool>,
}

impl TaskDns {
    pub fn off() -> Self {
        TaskDns {
            address: None,
            in_own_container: false,
            stop: tokio::sync::watch::channel(false).0,
        }
    }

    /// Binds the resolver's sockets and starts serving (needs a tokio
    /// runtime); `in_container`: ecsbox runs in a container of the engine
    /// (`--own-container`). When it cannot, says why in the log and is off.
    pub fn start(setting: TaskDnsSetting, cloud_map: Arc<CloudMap>, in_container: bool) -> Self {
        let bound = match setting {
            TaskDnsSetting::Off => return Self::off(),
            TaskDnsSetting::On(wanted) => bind(wanted),
            TaskDnsSetting::OwnContainer if in_container => bind_in_own_container(),
            TaskDnsSetting::OwnContainer => Err(
                "--task-dns container needs ecsbox to run in a container (--own-container)".into(),
            ),
        };
        let (udp, tcp, address) = match bound {
            Ok(bound) => bound,
            Err(why) => {
                tracing::warn!(
                    "no DNS for Cloud Map names inside tasks ({why}); tasks keep Docker's resolver"
                );
                return Self::off();
            }
        };
        let upstream = Arc::new(Upstream::of_host(Some(IpAddr::V4(address))));
        tracing::info!(
            "DNS for tasks on {address}:{PORT} (Cloud Map's DNS namespaces; other names go to {:?})",
            upstream.servers()
        );
        let dns = TaskDns {
            address: Some(address),
            in_own_container: setting == TaskDnsSetting::OwnContainer,
            stop: tokio::sync::watch::channel(false).0,
        };
        let resolver = Arc::new(Resolver {
            cloud_map,
            upstream,
        });
        let udp_loop = {
            let (resolver, stop) = (resolver.clone(), dns.stop.subscribe());
            let runtime = tokio::runtime::Handle::current();
            move || serve_udp(udp, resolver, stop, runtime)
        };
        if let Err(e) = std::thread::Builder::new()
            .name("ecsbox-dns".into())
            .spawn(udp_loop)
        {
            tracing::warn!("no DNS for Cloud Map names inside tasks (no thread: {e})");
            return Self::off();
        }
        tokio::spawn(serve_tcp(tcp, resolver, dns.stop.subscribe()));
        dns
    }

    /// The address task containers use as their DNS server (port 53); the
    /// unspecified address when served on ecsbox's own container.
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.address
    }

    /// Served on ecsbox's own container: a task gets ecsbox's address on
    /// its network (`controllers::task_dns`).
    pub fn in_own_container(&self) -> bool {
        self.in_own_container
    }

    /// Stops answering.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }
}

/// UDP and TCP port 53 of `wanted`, or of a fallback address when another
/// process holds it there.
fn bind(wanted: Ipv4Addr) -> Result<(std::net::UdpSocket, TcpListener, Ipv4Addr), String> {
    let fallbacks = (1..=254u8).map(|n| {
        Ipv4Addr::new(
            FALLBACK_PREFIX[0],
            FALLBACK_PREFIX[1],
            FALLBACK_PREFIX[2],
            n,
        )
    });
    let candidates: Vec<Ipv4Addr> = if wanted == VPC_RESOLVER {
        std::iter::once(wanted).chain(fallbacks).collect()
    } else {
        vec![wanted]
    };
    let mut last = String::new();
    for ip in candidates {
        crate::loopback::ensure_local(IpAddr::V4(ip))?;
        let addr = SocketAddr::from((ip, PORT));
        let udp = match std::net::UdpSocket::bind(addr) {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                last = format!("{addr} is in use");
                continue;
            }
            Err(e) => return Err(format!("cannot listen on {addr} (UDP): {e}")),
        };
        let tcp = match std::net::TcpListener::bind(addr) {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                last = format!("{addr} is in use (TCP)");
                continue;
            }
            Err(e) => return Err(format!("cannot listen on {addr} (TCP): {e}")),
        };
        let (udp, tcp) = ready_to_serve(udp, tcp, addr)?;
        return Ok((udp, tcp, ip));
    }
    Err(format!("no free address for it: {last}"))
}

/// The bound sockets, set up for the serving loops.
fn ready_to_serve(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    addr: SocketAddr,
) -> Result<(std::net::UdpSocket, TcpListener), String> {
    let cannot = |e: std::io::Error| format!("cannot serve {addr}: {e}");
    // The UDP loop blocks in recv on a thread of its own, waking now and
    // then to see whether to stop.
    udp.set_read_timeout(Some(UDP_STOP_CHECK)).map_err(cannot)?;
    tcp.set_nonblocking(true).map_err(cannot)?;
    Ok((udp, TcpListener::from_std(tcp).map_err(cannot)?))
}

/// Port 53 on every address of ecsbox's own container: the networks it
/// joins for tasks come later, each with an address of its own. Docker
/// lets a container's processes bind low ports (it sets
/// `net.ipv4.ip_unprivileged_port_start` to 0), so the image's non-root
/// user may.
fn bind_in_own_container() -> Result<(std::net::UdpSocket, TcpListener, Ipv4Addr), String> {
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT));
    let udp = std::net::UdpSocket::bind(addr)
        .map_err(|e| format!("cannot listen on {addr} (UDP): {e}"))?;
    let tcp = std::net::TcpListener::bind(addr)
        .map_err(|e| format!("cannot listen on {addr} (TCP): {e}"))?;
    let (udp, tcp) = ready_to_serve(udp, tcp, addr)?;
    Ok((udp, tcp, Ipv4Addr::UNSPECIFIED))
}

struct Resolver {
    cloud_map: Arc<CloudMap>,
    upstream: Arc<Upstream>,
}

/// What one incoming message calls for.
enum Reply {
    Send(Vec<u8>),
    /// Not a Cloud Map name: the message goes to the upstream resolvers.
    Forward,
    /// Not a query at all (an answer, a runt): no reply.
    Ignore,
}

impl Resolver {
    /// The reply to `packet`; `udp`: over UDP, where an answer longer than
    /// the client takes is sent truncated (TC set), for it to ask over TCP.
    fn respond(&self, packet: &[u8], udp: bool) -> Reply {
        let request = match Message::from_vec(packet) {
            Ok(m) => m,
            // Garbage with a header gets FORMERR under its id; less, nothing.
            Err(_) => {
                return match packet.get(..2) {
                    Some(id) if packet.len() >= 12 => {
                        let id = u16::from_be_bytes([id[0], id[1]]);
                        encode(Message::error_msg(id, OpCode::Query, ResponseCode::FormErr))
                    }
                    _ => Reply::Ignore,
                }
            }
        };
        if request.metadata.message_type != MessageType::Query {
            return Reply::Ignore;
        }
        let mut answer = match zones::resolve(&request, &self.cloud_map) {
            zones::Outcome::Forward => return Reply::Forward,
            zones::Outcome::Answer(m) => m,
        };
        let mut limit = UDP_CLASSIC;
        if let Some(edns) = &request.edns {
            limit = usize::from(edns.max_payload().max(UDP_CLASSIC as u16).min(EDNS_PAYLOAD));
            let mut ours = Edns::new();
            ours.set_max_payload(EDNS_PAYLOAD);
            answer.set_edns(ours);
        }
        match answer.to_vec() {
            Ok(bytes) if udp && bytes.len() > limit => encode(answer.truncate()),
            Ok(bytes) => Reply::Send(bytes),
            Err(_) => encode(zones::error(&request, ResponseCode::ServFail)),
        }
    }

    /// The reply to `packet`, asking upstream when it is not ours; SERVFAIL
    /// when no upstream resolver answers.
    async fn reply(&self, packet: &[u8], udp: bool) -> Option<Vec<u8>> {
        match self.respond(packet, udp) {
            Reply::Send(bytes) => Some(bytes),
            Reply::Ignore => None,
            Reply::Forward => match self.upstream.ask(packet).await {
                Some(answer) => Some(answer),
                None => {
                    let request = Message::from_vec(packet).ok()?;
                    zones::error(&request, ResponseCode::ServFail).to_vec().ok()
                }
            },
        }
    }
}

/// The reply ecsbox's resolver gives `packet` when it answers it itself
/// (None: a name it forwards, or a message it ignores): for the fuzz
/// targets, without sockets.
pub fn respond_to(cloud_map: Arc<CloudMap>, packet: &[u8], udp: bool) -> Option<Vec<u8>> {
    let resolver = Resolver {
        cloud_map,
        upstream: Arc::new(Upstream::from_resolv_conf("", None)),
    };
    match resolver.respond(packet, udp) {
        Reply::Send(bytes) => Some(bytes),
        Reply::Forward | Reply::Ignore => None,
    }
}

fn encode(m: Message) -> Reply {
    m.to_vec().map(Reply::Send).unwrap_or(Reply::Ignore)
}

/// The UDP loop, on a thread of its own: a blocking recv wakes as soon as
/// the kernel has a packet, without a trip through tokio's scheduler, which
/// took most of the answer time (the DNS benchmark: p50 about 90 us through
/// a tokio socket, against Docker's resolver's 35 us). Names ecsbox answers
/// are answered here; queries for other names go to a tokio task, as an
/// upstream answer takes milliseconds.
fn serve_udp(
    socket: std::net::UdpSocket,
    resolver: Arc<Resolver>,
    stop: tokio::sync::watch::Receiver<bool>,
    runtime: tokio::runtime::Handle,
) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; 4096];
    while !*stop.borrow() {
        let (n, peer) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            // The read timeout (time to look at `stop`), or an ICMP error
            // for an earlier reply: not fatal.
            Err(_) => continue,
        };
        let packet = &buf[..n];
        match resolver.respond(packet, true) {
            Reply::Send(bytes) => {
                let _ = socket.send_to(&bytes, peer);
            }
            Reply::Ignore => {}
            Reply::Forward => {
                let (socket, resolver, packet) =
                    (socket.clone(), resolver.clone(), packet.to_vec());
                runtime.spawn(async move {
                    if let Some(bytes) = resolver.reply(&packet, true).await {
                        // A UDP send does not block for long.
                        let _ = socket.send_to(&bytes, peer);
                    }
                });
            }
        }
    }
}

async fn serve_tcp(
    listener: TcpListener,
    resolver: Arc<Resolver>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        tokio::spawn(serve_tcp_client(stream, resolver.clone()));
    }
}

/// DNS over TCP: each message behind its two-byte length, as long as the
/// client keeps asking.
async fn serve_tcp_client(mut stream: TcpStream, resolver: Arc<Resolver>) {
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(TCP_IDLE, stream.read_u16()).await else {
            return;
        };
        let mut packet = vec![0u8; usize::from(len)];
        if !matches!(
            tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut packet)).await,
            Ok(Ok(_))
        ) {
            return;
        }
        let Some(answer) = resolver.reply(&packet, false).await else {
            return;
        };
        let Ok(len) = u16::try_from(answer.len()) else {
            return;
        };
        if stream.write_u16(len).await.is_err() || stream.write_all(&answer).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::{Name, RecordType};

    fn resolver() -> Resolver {
        let cloud_map = Arc::new(CloudMap::new());
        cloud_map.with("000000000000", "us-east-1", |r| {
            r.namespaces.insert(
                "ns-1".into(),
                crate::cloudmap::Namespace {
                    id: "ns-1".into(),
                    arn: String::new(),
                    name: "app.local".into(),
                    kind: crate::cloudmap::NamespaceKind::DnsPrivate,
                    description: None,
                    vpc: None,
                    soa_ttl: None,
                    http_name: "app.local".into(),
                    hosted_zone_id: None,
                    created: 0.0,
                    creator_request_id: None,
                },
            );
        });
        Resolver {
            cloud_map,
            upstream: Arc::new(Upstream::from_resolv_conf("", None)),
        }
    }

    fn query(name: &str) -> Message {
        let mut q = Message::query();
        q.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        q
    }

    fn sent(reply: Reply) -> Message {
        match reply {
            Reply::Send(bytes) => Message::from_vec(&bytes).unwrap(),
            Reply::Forward => panic!("forwarded"),
            Reply::Ignore => panic!("ignored"),
        }
    }

    #[test]
    fn garbage_with_a_header_is_a_format_error_under_its_id_and_less_is_ignored() {
        let r = resolver();
        let mut garbage = vec![0xab, 0xcd];
        garbage.extend_from_slice(&[0xff; 20]);
        let m = sent(r.respond(&garbage, true));
        assert_eq!(m.metadata.id, 0xabcd);
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
        assert!(matches!(r.respond(&[1, 2, 3], true), Reply::Ignore));
        // An answer sent to the resolver is not answered.
        let mut answer = query("x.app.local.");
        answer.metadata.message_type = MessageType::Response;
        assert!(matches!(
            r.respond(&answer.to_vec().unwrap(), true),
            Reply::Ignore
        ));
    }

    #[test]
    fn an_edns_query_gets_an_opt_record_back_and_others_are_forwarded() {
        let r = resolver();
        let mut q = query("nope.app.local.");
        q.set_edns(Edns::new());
        let m = sent(r.respond(&q.to_vec().unwrap(), true));
        assert_eq!(m.metadata.id, q.metadata.id);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(m.edns.map(|e| e.max_payload()), Some(EDNS_PAYLOAD));
        assert!(matches!(
            r.respond(&query("example.org.").to_vec().unwrap(), true),
            Reply::Forward
        ));
    }

    #[tokio::test]
    async fn without_an_upstream_resolver_other_names_get_servfail() {
        let r = resolver();
        let q = query("example.org.");
        let m = Message::from_vec(&r.reply(&q.to_vec().unwrap(), true).await.unwrap()).unwrap();
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
        assert_eq!(m.queries, q.queries);
    }

    #[test]
    fn the_setting_is_an_address_or_off() {
        assert_eq!("off".parse(), Ok(TaskDnsSetting::Off));
        assert_eq!(
            "169.254.169.253".parse(),
            Ok(TaskDnsSetting::On(VPC_RESOLVER))
        );
        assert!("dns.local".parse::<TaskDnsSetting>().is_err());
    }
}
