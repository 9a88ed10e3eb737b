//! Names that are not Cloud Map's go to the resolvers ecsbox itself uses
//! (the `nameserver` lines of its /etc/resolv.conf, read at start), as
//! Docker's own resolver hands a container's queries to the host's: the
//! internet's and the host's names resolve in tasks as they did without
//! ecsbox. A loopback resolver (systemd-resolved's 127.0.0.53) works here,
//! where Docker cannot give it to containers: ecsbox asks it from the host.
//!
//! The query goes out as it came in (same id, same flags) and the first
//! answer comes back as it is; each resolver gets `TIMEOUT` before the
//! next is tried.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;

const TIMEOUT: Duration = Duration::from_secs(2);
/// The largest UDP answer taken from a resolver (EDNS's usual ceiling).
const MAX_ANSWER: usize = 4096;

#[derive(Debug, Clone)]
pub struct Upstream {
    servers: Vec<SocketAddr>,
    /// How long each resolver has to answer.
    per_server: Duration,
}

impl Upstream {
    /// The resolvers of `resolv_conf` (its text), leaving out `own`: a
    /// resolver that is ecsbox itself would loop.
    pub fn from_resolv_conf(resolv_conf: &str, own: Option<IpAddr>) -> Self {
        let servers = resolv_conf
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some("nameserver")).then(|| words.next())?
            })
            // A scoped IPv6 address (fe80::1%eth0) is left out.
            .filter_map(|a| a.parse::<IpAddr>().ok())
            .filter(|ip| Some(*ip) != own)
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
        Upstream {
            servers,
            per_server: TIMEOUT,
        }
    }

    /// The host's resolvers.
    pub fn of_host(own: Option<IpAddr>) -> Self {
        let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        Self::from_resolv_conf(&text, own)
    }

    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// The first answer a resolver gives to `query` (a whole DNS message),
    /// None when none answers.
    pub async fn ask(&self, query: &[u8]) -> Option<Vec<u8>> {
        let id = query.get(..2)?;
        for server in &self.servers {
            let local: SocketAddr = if server.is_ipv4() {
                "0.0.0.0:0".parse().ok()?
            } else {
                "[::]:0".parse().ok()?
            };
            let Ok(socket) = UdpSocket::bind(local).await else {
                continue;
            };
            if socket.connect(server).await.is_err() || socket.send(query).await.is_err() {
                continue;
            }
            let mut buf = vec![0u8; MAX_ANSWER];
            let deadline = tokio::time::Instant::now() + self.per_server;
            // Datagrams with another id (late answers, spoofs) are skipped.
            while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                if buf.get(..2) == Some(id) {
                    buf.truncate(n);
                    return Some(buf);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_come_from_resolv_conf_without_ecsbox_itself() {
        let conf = "# comment\nsearch corp\nnameserver 10.0.0.2\nnameserver 169.254.169.253\nnameserver fe80::1%eth0\nnameserver 2001:db8::1\noptions ndots:5\n";
        let up = Upstream::from_resolv_conf(conf, Some("169.254.169.253".parse().unwrap()));
        let servers: Vec<String> = up.servers().iter().map(|s| s.to_string()).collect();
        assert_eq!(servers, ["10.0.0.2:53", "[2001:db8::1]:53"]);
    }

    #[tokio::test]
    async fn a_query_goes_to_the_next_resolver_when_one_is_silent_and_comes_back_as_answered() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let answering = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let up = Upstream {
            servers: vec![
                silent.local_addr().unwrap(),
                answering.local_addr().unwrap(),
            ],
            per_server: Duration::from_millis(200),
        };
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, peer) = answering.recv_from(&mut buf).await.unwrap();
            // An answer with another id first: ignored.
            answering.send_to(b"\xff\xffwrong", peer).await.unwrap();
            let mut reply = buf[..n].to_vec();
            reply.extend_from_slice(b"-answered");
            answering.send_to(&reply, peer).await.unwrap();
        });
        let got = up.ask(b"\x12\x34query").await.unwrap();
        assert_eq!(got, b"\x12\x34query-answered");
        drop(silent);
    }
}
