//! The kernel's fast path for Service Connect's endpoints: netfilter DNAT
//! rules that send a new connection to an endpoint's address straight to
//! one of its ready tasks (chosen at random, evenly, as kube-proxy does),
//! so established connections never pass through ecsbox. The proxy in
//! `proxy` stays listening behind them: it takes the connections while an
//! endpoint has no ready task (or where ecsbox cannot change the rules).
//!
//! The rules live in a chain of their own per ServiceConnect instance,
//! `ECSBOX-SC-<pid>-<n>`, jumped to from nat PREROUTING (containers'
//! packets) and OUTPUT (the host's own) for the endpoint range only, ahead
//! of Docker's jump to its DOCKER chain (which would otherwise give the
//! endpoint's port to a task publishing it as a host port: the endpoint
//! addresses are local ones). A POSTROUTING rule masquerades what they
//! DNATed, so a task's answer to a client on its own bridge comes back
//! through the host (else it would go straight to the client, from an
//! address the client never called). A clean stop removes all of it; the
//! next start removes what a process that is gone left (its pid is in the
//! chain's name).
//!
//! `iptables` is the command: Docker drives the same one, whichever
//! backend the host chose for it.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

const PREFIX: &str = "ECSBOX-SC-";
/// The endpoint addresses (`super::address`): 169.254.172.0/23.
const RANGE: &str = "169.254.172.0/23";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One instance's chain and the rules that lead to it.
#[derive(Debug)]
pub struct Nat {
    chain: String,
}

/// What one endpoint's rules say: new connections to `address:port` go to
/// one of `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRule {
    pub address: Ipv4Addr,
    pub port: u16,
    pub to: Vec<SocketAddr>,
}

fn iptables(args: &[&str]) -> Result<String, String> {
    let out = Command::new("iptables")
        .args(["-w", "5"])
        .args(args)
        .output()
        .map_err(|e| format!("running iptables: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "iptables {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The rules that jump to `chain` (and masquerade what it DNATed).
fn hooks(chain: &str) -> [Vec<String>; 3] {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    [
        s(&["PREROUTING", "-d", RANGE, "-j", chain]),
        s(&["OUTPUT", "-d", RANGE, "-j", chain]),
        s(&[
            "POSTROUTING",
            "-m",
            "conntrack",
            "--ctstate",
            "DNAT",
            "--ctorigdst",
            RANGE,
            "-m",
            "comment",
            "--comment",
            chain,
            "-j",
            "MASQUERADE",
        ]),
    ]
}

fn remove_chain(chain: &str) {
    for hook in hooks(chain) {
        let mut args = vec!["-t", "nat", "-D"];
        args.extend(hook.iter().map(String::as_str));
        while iptables(&args).is_ok() {}
    }
    let _ = iptables(&["-t", "nat", "-F", chain]);
    let _ = iptables(&["-t", "nat", "-X", chain]);
}

/// Removes the chains of ecsbox processes that are gone.
fn reap_stale() {
    let Ok(rules) = iptables(&["-t", "nat", "-S"]) else {
        return;
    };
    for line in rules.lines() {
        let Some(chain) = line.strip_prefix("-N ") else {
            continue;
        };
        let Some(pid) = chain
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            remove_chain(chain);
        }
    }
}

impl Nat {
    /// Makes this instance's chain and its hooks; Err when ecsbox cannot
    /// change the rules here (no iptables, not root).
    pub fn install() -> Result<Nat, String> {
        reap_stale();
        let chain = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        iptables(&["-t", "nat", "-N", &chain])?;
        let nat = Nat { chain };
        for hook in hooks(&nat.chain) {
            let (chain, rest) = hook.split_first().expect("a hook names its chain");
            let mut args = vec!["-t", "nat", "-I", chain.as_str(), "1"];
            args.extend(rest.iter().map(String::as_str));
            iptables(&args)?;
        }
        Ok(nat)
    }

    /// Replaces the chain's rules with `endpoints`' (one atomic
    /// iptables-restore: declaring the chain flushes it).
    pub fn apply(&self, endpoints: &[EndpointRule]) -> Result<(), String> {
        let mut input = format!("*nat\n:{} - [0:0]\n", self.chain);
        for e in endpoints {
            let n = e.to.len();
            for (i, to) in e.to.iter().enumerate() {
                let pick = match probability(i, n) {
                    Some(p) => format!("-m statistic --mode random --probability {p:.6} "),
                    None => String::new(),
                };
                input.push_str(&format!(
                    "-A {} -d {}/32 -p tcp --dport {} {pick}-j DNAT --to-destination {to}\n",
                    self.chain, e.address, e.port
                ));
            }
        }
        input.push_str("COMMIT\n");
        let mut child = Command::new("iptables-restore")
            .args(["-w", "5", "--noflush"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("running iptables-restore: {e}"))?;
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("piped");
            stdin
                .write_all(input.as_bytes())
                .map_err(|e| format!("iptables-restore: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("iptables-restore: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "iptables-restore: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }
}

/// The share of the connections reaching the i-th of n rules that it
/// takes, 1/(n-i), so that each task gets 1/n in all; the last takes the
/// rest (None: no statistic match).
fn probability(i: usize, n: usize) -> Option<f64> {
    (i + 1 < n).then(|| 1.0 / (n - i) as f64)
}

impl Drop for Nat {
    fn drop(&mut self) {
        remove_chain(&self.chain);
    }
}

/// Whether the host's connection tracking has an established connection
/// whose answers come from `task` (a connection a DNAT rule sent there);
/// None when the table cannot be read.
pub fn has_established_to(task: SocketAddr) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/nf_conntrack").ok()?;
    Some(established_to(&table, task))
}

/// `has_established_to` on the text of /proc/net/nf_conntrack: a line per
/// connection, the original tuple's `src= dst= sport= dport=` then the
/// reply tuple's, whose `src`/`sport` are the task after a DNAT.
fn established_to(table: &str, task: SocketAddr) -> bool {
    let (src, sport) = (
        format!("src={}", task.ip()),
        format!("sport={}", task.port()),
    );
    table.lines().any(|l| {
        if !l.contains(" ESTABLISHED ") {
            return false;
        }
        let fields: Vec<&str> = l.split_whitespace().collect();
        let reply_src = fields.iter().filter(|f| f.starts_with("src=")).nth(1);
        let reply_sport = fields.iter().filter(|f| f.starts_with("sport=")).nth(1);
        reply_src == Some(&src.as_str()) && reply_sport == Some(&sport.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
ipv4     2 tcp      6 431999 ESTABLISHED src=172.18.0.5 dst=169.254.172.1 sport=40112 dport=8080 src=172.18.0.3 dst=172.18.0.1 sport=8080 dport=40112 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 119 TIME_WAIT src=172.18.0.5 dst=169.254.172.1 sport=40110 dport=8080 src=172.18.0.4 dst=172.18.0.1 sport=8080 dport=40110 [ASSURED] mark=0 zone=0 use=2
ipv4     2 tcp      6 431999 ESTABLISHED src=172.18.0.4 dst=10.0.0.9 sport=8080 dport=5000 src=10.0.0.9 dst=172.18.0.4 sport=5000 dport=8080 [ASSURED] mark=0 zone=0 use=2
";

    #[test]
    fn only_established_connections_answered_by_the_task_count() {
        let task = |s: &str| s.parse::<SocketAddr>().unwrap();
        // DNATed to .3 and still open.
        assert!(established_to(TABLE, task("172.18.0.3:8080")));
        // .4's DNATed connection is closing; its own outgoing one from
        // port 8080 is answered by someone else.
        assert!(!established_to(TABLE, task("172.18.0.4:8080")));
        assert!(!established_to(TABLE, task("172.18.0.3:9090")));
    }

    #[test]
    fn each_task_gets_an_even_share_of_the_rules() {
        for n in 1..=5 {
            let mut left = 1.0;
            for i in 0..n {
                let share = left * probability(i, n).unwrap_or(1.0);
                assert!(
                    (share - 1.0 / n as f64).abs() < 1e-9,
                    "rule {i} of {n}: {share}"
                );
                left -= share;
            }
            assert_eq!(probability(n - 1, n), None, "the last rule takes the rest");
        }
    }
}
