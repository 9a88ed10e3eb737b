//! Where the task endpoints listen, and making that address reachable from
//! task containers.
//!
//! The AWS SDKs' container credential provider fetches
//! `http://169.254.170.2` + `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, port
//! 80, fixed; a `FULL_URI` over plain HTTP is accepted only for a loopback
//! host or 169.254.170.2/.23 (botocore's `ContainerMetadataFetcher`, the
//! Rust SDK's ECS provider, and the others alike). So ecsbox listens on
//! 169.254.170.2:80 itself: the address goes on the host's loopback
//! interface, and a task container's packets to it leave through its
//! default route (the Docker bridge gateway, the host) and are delivered
//! locally. Bridge, awsvpc (the ecsbox network is a bridge too) and host
//! tasks reach it alike; no sysctl. It needs root or
//! CAP_NET_ADMIN once; the address stays after ecsbox exits (remove it with
//! `ip addr del 169.254.170.2/32 dev lo`).
//!
//! Where it can (root and `iptables`), ecsbox listens on another port of
//! that address and a netfilter rule redirects port 80 to it (`redirect`),
//! so that host port 80 stays free for tasks; `bind` below, listening on
//! port 80 itself, is the way when it cannot.
//!
//! When port 80 there is taken (another ecsbox, an ECS agent) or not
//! allowed, ecsbox listens on a free port of the same address and tasks get
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`, which the SDKs accept for that host.

use crate::loopback::ensure_local;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};

/// Binds `wanted`, putting its address on the loopback interface first if
/// the host does not have it. Err says why task containers cannot reach the
/// endpoints, in words a person can act on.
pub fn bind(wanted: SocketAddr) -> Result<TcpListener, String> {
    let listener = match TcpListener::bind(wanted) {
        Err(e) if e.kind() == ErrorKind::AddrNotAvailable => {
            ensure_local(wanted.ip())?;
            TcpListener::bind(wanted)
        }
        other => other,
    };
    let listener = match listener {
        Ok(l) => l,
        Err(e)
            if wanted.port() != 0
                && matches!(e.kind(), ErrorKind::AddrInUse | ErrorKind::PermissionDenied) =>
        {
            let l = TcpListener::bind(SocketAddr::new(wanted.ip(), 0))
                .map_err(|e| cannot_listen(wanted, &e))?;
            tracing::warn!(
                "the task endpoints cannot listen on {wanted} ({e}: another ecsbox or an ECS agent?); they listen on {} \
                 instead, and tasks get AWS_CONTAINER_CREDENTIALS_FULL_URI in place of the RELATIVE_URI ECS sets",
                l.local_addr().map(|a| a.to_string()).unwrap_or_default()
            );
            l
        }
        Err(e) => return Err(cannot_listen(wanted, &e)),
    };
    listener
        .set_nonblocking(true)
        .map_err(|e| cannot_listen(wanted, &e))?;
    Ok(listener)
}

/// The port the endpoints listen on behind the netfilter redirect: the ECS
/// agent's (51679), or any free one when that is taken.
pub const REDIRECT_TARGET_PORT: u16 = 51679;

/// The listener behind the redirect of `ip`:80 (see `redirect`): on `ip`
/// itself, put on the loopback interface first if the host lacks it.
pub fn bind_redirect_target(ip: Ipv4Addr) -> Result<TcpListener, String> {
    ensure_local(IpAddr::V4(ip))?;
    let listener = TcpListener::bind(SocketAddr::from((ip, REDIRECT_TARGET_PORT)))
        .or_else(|_| TcpListener::bind(SocketAddr::from((ip, 0))))
        .map_err(|e| cannot_listen(SocketAddr::from((ip, 0)), &e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| cannot_listen(SocketAddr::from((ip, 0)), &e))?;
    Ok(listener)
}

/// False when something already listens on `addr` (an ecsbox of an older
/// version, an ECS agent): a redirect would take its traffic. Err when the
/// probe itself fails otherwise.
pub fn port_is_free(addr: SocketAddrV4) -> Result<bool, String> {
    match TcpListener::bind(addr) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AddrInUse => Ok(false),
        Err(e) => Err(cannot_listen(SocketAddr::V4(addr), &e)),
    }
}

fn cannot_listen(wanted: SocketAddr, e: &std::io::Error) -> String {
    format!("cannot listen on {wanted}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_falls_back_to_a_free_one_on_the_same_address() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let wanted = taken.local_addr().unwrap();
        let got = bind(wanted).unwrap().local_addr().unwrap();
        assert_eq!(got.ip(), wanted.ip());
        assert_ne!(got.port(), wanted.port());
    }

    #[test]
    fn loopback_needs_no_address_setup() {
        let l = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(l.local_addr().unwrap().ip().is_loopback());
    }
}
