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
                // The i-th of n rules takes 1/(n-i) of what reaches it:
                // each task gets 1/n in all.
                let pick = if i + 1 < n {
                    format!(
                        "-m statistic --mode random --probability {:.6} ",
                        1.0 / (n - i) as f64
                    )
                } else {
                    String::new()
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
    let (src, sport) = (
        format!("src={}", task.ip()),
        format!("sport={}", task.port()),
    );
    Some(table.lines().any(|l| {
        if !l.contains(" ESTABLISHED ") {
            return false;
        }
        // The reply tuple is the second src=/sport= pair.
        let fields: Vec<&str> = l.split_whitespace().collect();
        let srcs: Vec<&&str> = fields.iter().filter(|f| f.starts_with("src=")).collect();
        let sports: Vec<&&str> = fields.iter().filter(|f| f.starts_with("sport=")).collect();
        srcs.get(1).is_some_and(|s| **s == src) && sports.get(1).is_some_and(|s| **s == sport)
    }))
}
