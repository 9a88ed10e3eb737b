//! Serving 169.254.170.2:80 without holding host port 80: a netfilter rule
//! sends the address's port 80 to the port the endpoints really listen on,
//! as the ECS agent does. Host port 80 is then free for a task to publish
//! (Docker's published ports bind 0.0.0.0:PORT, which a listener on
//! 169.254.170.2:80 would block).
//!
//! The agent DNATs 169.254.170.2:80 to 127.0.0.1:51679, which needs
//! `net.ipv4.conf.all.route_localnet=1` (and, against what that opens, a
//! filter rule dropping other traffic to 127.0.0.0/8). ecsbox already puts
//! 169.254.170.2 on the loopback interface (see `listener`), so it DNATs
//! to 169.254.170.2:PORT instead: a local address that is not loopback
//! needs neither sysctl nor filter rule, and nothing is exposed on
//! 127.0.0.1.
//!
//! Two rules, each first in its chain of the nat table (ahead of Docker's
//! jump to its DOCKER chain, which would otherwise hand the address's port
//! 80 to a task publishing host port 80: 169.254.170.2 is a local address):
//! PREROUTING for containers' packets, OUTPUT for the host's own (host
//! network tasks). Both carry the comment `ecsbox instance=<id> pid=<pid>`:
//! the next start with the same instance id removes what a crashed run
//! left, and any start removes the rules of an instance whose process is
//! gone (a killed test server) or whose listener is (an instance dropped
//! inside a process that goes on); a clean shutdown removes them itself.
//!
//! Only one instance on a host holds the redirect: the others find its rule
//! and serve on a port of their own (`Refused::Taken`). Looking for another
//! rule and inserting one's own happen under a lock file, as two instances
//! starting together would otherwise both insert, and the one whose rule
//! ended up second would get the other's traffic (or none, once the other
//! stopped listening). (An
//! ecsbox in a container sharing the host's network but not its process
//! namespace would look gone to one outside: such a pair is not
//! supported.)
//!
//! `iptables` is the command: Docker drives the same one, whichever backend
//! (nf_tables or legacy) the host chose for it.

use std::net::SocketAddrV4;
use std::process::Command;

/// The two chains a redirect needs a rule in.
const CHAINS: [&str; 2] = ["PREROUTING", "OUTPUT"];

/// The installed rules; removed by `remove` (shutdown) or, after a crash,
/// by the next start with the same instance id.
#[derive(Debug)]
pub struct Redirect {
    comment: String,
    from: SocketAddrV4,
    to: SocketAddrV4,
    removed: bool,
}

/// Why a redirect was not installed.
#[derive(Debug)]
pub enum Refused {
    /// Another rule already redirects the address (the ECS agent's, another
    /// ecsbox instance's): its port 80 is not free.
    Taken(String),
    /// ecsbox cannot change the rules here (no `iptables`, not root).
    Cannot(String),
}

/// What every instance's comment starts with.
const MARK: &str = "ecsbox instance=";

/// The comment that marks an instance's rules, up to its pid.
pub fn comment_for(instance_id: &str) -> String {
    // iptables comments are at most 256 characters and are quoted in `-S`.
    let safe: String = instance_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.:".contains(*c))
        .take(200)
        .collect();
    format!("{MARK}{safe}")
}

/// The pid an ecsbox rule names, if the rule is one of ecsbox's.
fn pid_of(rule: &str) -> Option<u32> {
    let rest = &rule[rule.find(&format!("\"{MARK}"))?..];
    let pid = rest.split(" pid=").nth(1)?;
    pid.split('"').next()?.parse().ok()
}

/// Where a rule sends its traffic (`--to-destination ADDR:PORT`).
fn target_of(rule: &str) -> Option<SocketAddrV4> {
    rule.split("--to-destination ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Whether a connection to `addr` is refused: the instance that installed
/// a rule sending traffic there no longer listens. (Any other outcome,
/// a timeout included, counts as someone listening: the rule stays.)
fn nobody_listens(addr: SocketAddrV4) -> bool {
    let probe =
        std::net::TcpStream::connect_timeout(&addr.into(), std::time::Duration::from_millis(500));
    matches!(probe, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// An exclusive lock on a file shared by every ecsbox on the host, held
/// while an instance looks for other instances' rules and inserts its own.
/// `flock` locks belong to the open file, so two instances in one process
/// (the tests' servers) exclude each other too. Released on drop.
struct InstallLock {
    /// Held for its lock, which closing it on drop releases.
    _file: std::fs::File,
}

impl InstallLock {
    fn take() -> Result<Self, String> {
        let path = std::env::temp_dir().join("ecsbox-metadata-redirect.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
        file.lock()
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
        Ok(InstallLock { _file: file })
    }
}

/// Whether a process of this pid runs (in ecsbox's pid namespace).
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl Redirect {
    /// Sends TCP `from` (169.254.170.2:80) to `to` (where the endpoints
    /// listen). Err says why not, in words a person can act on; nothing is
    /// left installed then.
    pub fn install(
        instance_id: &str,
        from: SocketAddrV4,
        to: SocketAddrV4,
    ) -> Result<Self, Refused> {
        let prefix = comment_for(instance_id);
        let _turn = InstallLock::take().map_err(Refused::Cannot)?;
        let removed = remove_marked(|rule| {
            marked(rule, &prefix)
                || pid_of(rule).is_some_and(|pid| !alive(pid))
                || (pid_of(rule).is_some() && target_of(rule).is_some_and(nobody_listens))
        })
        .map_err(Refused::Cannot)?;
        if removed > 0 {
            tracing::info!(
                "removed {removed} netfilter rules of ecsbox runs that ended without removing them \
                 (instance id {instance_id}, or a process or listener that is gone)"
            );
        }
        let comment = format!("{prefix} pid={}", std::process::id());
        for chain in CHAINS {
            if let Some(rule) = foreign_rule(chain, from).map_err(Refused::Cannot)? {
                return Err(Refused::Taken(format!(
                    "another rule already redirects {from}: {rule}"
                )));
            }
        }
        let mut redirect = Redirect {
            comment,
            from,
            to,
            removed: false,
        };
        for chain in CHAINS {
            if let Err(e) = iptables(&redirect.rule_args("-I", chain)) {
                redirect.remove();
                return Err(Refused::Cannot(e));
            }
        }
        Ok(redirect)
    }

    /// Where the rules send the traffic.
    pub fn target(&self) -> SocketAddrV4 {
        self.to
    }

    fn rule_args(&self, op: &str, chain: &str) -> Vec<String> {
        let mut args: Vec<String> = vec!["-t".into(), "nat".into(), op.into(), chain.into()];
        if op == "-I" {
            args.push("1".into());
        }
        args.extend(
            [
                "-d",
                &format!("{}/32", self.from.ip()),
                "-p",
                "tcp",
                "--dport",
                &self.from.port().to_string(),
                "-m",
                "comment",
                "--comment",
                &self.comment,
                "-j",
                "DNAT",
                "--to-destination",
                &self.to.to_string(),
            ]
            .map(String::from),
        );
        args
    }

    /// Removes the rules (once; also on drop).
    pub fn remove(&mut self) {
        if std::mem::replace(&mut self.removed, true) {
            return;
        }
        for chain in CHAINS {
            // A rule already gone (removed by hand) is not an error here.
            let _ = iptables(&self.rule_args("-D", chain));
        }
    }
}

impl Drop for Redirect {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Runs `iptables ARGS`; Err carries its stderr, or why it could not run.
fn iptables(args: &[String]) -> Result<String, String> {
    let output = Command::new("iptables").args(args).output().map_err(|e| {
        format!("cannot run iptables ({e}); install it (Debian: apt-get install iptables)")
    })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "`iptables {}` failed: {} (needs root or CAP_NET_ADMIN)",
        args.join(" "),
        stderr.trim()
    ))
}

/// The nat table's rules of `chain`, as `iptables -S` prints them.
fn rules(chain: &str) -> Result<Vec<String>, String> {
    let listed = iptables(&["-t".into(), "nat".into(), "-S".into(), chain.into()])?;
    Ok(listed.lines().map(str::to_string).collect())
}

/// Deletes every rule of the chains that `doomed` picks; how many.
fn remove_marked(doomed: impl Fn(&str) -> bool) -> Result<usize, String> {
    let mut removed = 0;
    for chain in CHAINS {
        for rule in rules(chain)? {
            if !doomed(&rule) {
                continue;
            }
            // `-A CHAIN spec...` back into `-D CHAIN spec...`.
            let Some(spec) = rule.strip_prefix("-A ") else {
                continue;
            };
            let mut args = vec!["-t".to_string(), "nat".into(), "-D".into()];
            args.extend(split_rule(spec));
            iptables(&args)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether an `iptables -S` line is one of the instance's (`prefix` is
/// its comment up to the pid).
fn marked(rule: &str, prefix: &str) -> bool {
    rule.contains(&format!("--comment \"{prefix} pid="))
}

/// A rule of `chain` that already DNATs or redirects `from` and is not
/// ecsbox's: the ECS agent's own, or another ecsbox instance's.
fn foreign_rule(chain: &str, from: SocketAddrV4) -> Result<Option<String>, String> {
    let address = format!("-d {}/32", from.ip());
    let port = format!("--dport {}", from.port());
    Ok(rules(chain)?
        .into_iter()
        .find(|r| r.contains(&address) && r.contains(&port)))
}

/// Splits an `iptables -S` rule into arguments, keeping quoted comments whole.
fn split_rule(spec: &str) -> Vec<String> {
    let mut args = vec![];
    let mut current = String::new();
    let mut quoted = false;
    for c in spec.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        args.push(current);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_rules_split_back_into_arguments() {
        let spec = r#"PREROUTING -d 169.254.170.2/32 -p tcp -m tcp --dport 80 -m comment --comment "ecsbox instance=a-1 pid=7" -j DNAT --to-destination 169.254.170.2:51679"#;
        let args = split_rule(spec);
        assert_eq!(args[0], "PREROUTING");
        assert!(args.contains(&"ecsbox instance=a-1 pid=7".to_string()));
        assert_eq!(args.last().unwrap(), "169.254.170.2:51679");
    }

    #[test]
    fn a_comment_marks_only_its_own_instance_and_names_its_pid() {
        let c = comment_for("a-1");
        let rule = r#"-A OUTPUT -d 169.254.170.2/32 -m comment --comment "ecsbox instance=a-1 pid=42" -j DNAT"#;
        assert!(marked(rule, &c));
        assert!(!marked(rule, &comment_for("a-10")));
        assert!(!marked(rule, &comment_for("a")));
        assert_eq!(pid_of(rule), Some(42));
        assert_eq!(pid_of("-A OUTPUT -d 10.0.0.1/32 -j DNAT"), None);
        assert_eq!(comment_for("we ird\"id"), "ecsbox instance=weirdid");
    }

    #[test]
    fn a_rule_names_where_it_sends_traffic() {
        let rule = r#"-A OUTPUT -d 169.254.170.2/32 -p tcp -m comment --comment "ecsbox instance=a-1 pid=7" -j DNAT --to-destination 169.254.170.2:51679"#;
        assert_eq!(
            target_of(rule),
            Some("169.254.170.2:51679".parse().unwrap())
        );
        assert_eq!(target_of("-A OUTPUT -j ACCEPT"), None);
    }

    #[test]
    fn a_closed_port_is_one_nobody_listens_on() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std::net::SocketAddr::V4(addr) = open.local_addr().unwrap() else {
            unreachable!()
        };
        assert!(!nobody_listens(addr));
        drop(open);
        assert!(nobody_listens(addr));
    }

    #[test]
    fn the_install_lock_excludes_a_second_holder_in_the_same_process() {
        let first = InstallLock::take().unwrap();
        let path = std::env::temp_dir().join("ecsbox-metadata-redirect.lock");
        let second = std::fs::File::open(&path).unwrap();
        assert!(matches!(
            second.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(first);
        second.try_lock().unwrap();
    }

    #[test]
    fn this_process_is_alive() {
        assert!(alive(std::process::id()));
    }
}
