//! Link-local addresses ecsbox serves task containers on (169.254.170.2
//! for the task endpoints, 169.254.169.253 for DNS), put on the host's
//! loopback interface: the host then answers for them on every interface,
//! the Docker bridges included, so a task container's packets to them
//! leave through its default route (the bridge gateway, the host) and are
//! delivered locally. Needs root or CAP_NET_ADMIN once; an address stays
//! after ecsbox exits (`ip addr del ADDRESS/32 dev lo` removes it).

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::process::Command;

/// `ip addr add <ip>/32 dev lo`, unless the host has `ip` already. Err
/// says why not, in words a person can act on.
pub fn ensure_local(ip: IpAddr) -> Result<(), String> {
    if ip.is_loopback() || ip.is_unspecified() || is_local(ip) {
        return Ok(());
    }
    let prefix = if ip.is_ipv4() { 32 } else { 128 };
    let cidr = format!("{ip}/{prefix}");
    let how_to_fix = format!(
        "run ecsbox as root (or with CAP_NET_ADMIN), or add the address once yourself: sudo ip addr add {cidr} dev lo"
    );
    let output = Command::new("ip")
        .args(["addr", "add", &cidr, "dev", "lo"])
        .output()
        .map_err(|e| {
            format!("cannot add {cidr} to the loopback interface (running `ip`: {e}); {how_to_fix}")
        })?;
    if output.status.success() {
        tracing::info!("added {cidr} to the loopback interface");
        return Ok(());
    }
    // Another process (a second ecsbox) may have added it meanwhile.
    if is_local(ip) {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "cannot add {cidr} to the loopback interface ({}); {how_to_fix}",
        stderr.trim()
    ))
}

/// Whether the host has `ip` as one of its addresses.
pub fn is_local(ip: IpAddr) -> bool {
    !matches!(TcpListener::bind(SocketAddr::new(ip, 0)), Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_local_and_a_documentation_address_is_not() {
        assert!(is_local("127.0.0.1".parse().unwrap()));
        assert!(!is_local("192.0.2.77".parse().unwrap()));
        ensure_local("127.0.0.1".parse().unwrap()).unwrap();
    }
}
