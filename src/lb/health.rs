//! Health checks: the probes, and the state machine that turns their
//! outcomes into AWS's target states and reason codes.
//!
//! Only groups "in use" (some open listener forwards to them) are probed;
//! the targets of the others are `unused` / `Target.NotInUse`, as AWS
//! reports them. Each in-use group has one task that probes all its
//! targets every interval (concurrently, each bounded by the timeout), on
//! tokio's real time: intervals are not a deadline a test needs to skip.
//!
//! The states follow AWS's TargetHealth reference and "Health checks for
//! your target groups":
//! - a registered target starts `initial` with `Elb.RegistrationInProgress`,
//!   then `Elb.InitialHealthChecking` once its first probe is under way;
//! - "after your target is registered, it must pass one health check to be
//!   considered healthy": one pass makes an initial target `healthy`;
//! - `unhealthy` after `unhealthy_threshold` consecutive failures, with
//!   `Target.ResponseCodeMismatch` (the codes seen), `Target.Timeout` or
//!   `Target.FailedHealthChecks` (connection refused or reset, or a
//!   malformed answer);
//! - an unhealthy target is `healthy` again after `healthy_threshold`
//!   consecutive passes;
//! - health checks disabled: `unavailable` / `Target.HealthCheckDisabled`.

use std::net::SocketAddr;
use std::sync::Weak;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{HealthCheckSpec, LoadBalancing, Protocol, TargetKey, TargetState};

// The descriptions DescribeTargetHealth shows with each reason code.
pub const REGISTRATION: (&str, &str) = (
    "Elb.RegistrationInProgress",
    "Target registration is in progress",
);
pub const INITIAL_CHECKS: (&str, &str) = (
    "Elb.InitialHealthChecking",
    "Initial health checks in progress",
);
pub const NOT_IN_USE: (&str, &str) = (
    "Target.NotInUse",
    "Target group is not configured to receive traffic from the load balancer",
);
pub const DISABLED: (&str, &str) = ("Target.HealthCheckDisabled", "Health checks are disabled");
pub const DRAINING: (&str, &str) = (
    "Target.DeregistrationInProgress",
    "Target deregistration is in progress",
);
pub const TIMEOUT: (&str, &str) = ("Target.Timeout", "Request timed out");
pub const FAILED: (&str, &str) = ("Target.FailedHealthChecks", "Health checks failed");
pub const CODE_MISMATCH: &str = "Target.ResponseCodeMismatch";

/// One probe to make: the target, where to reach it, the check to run.
pub type Probe = (TargetKey, SocketAddr, HealthCheckSpec);

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// An HTTP answer whose status the matcher does not accept.
    Code(u16),
    Timeout,
    /// Refused, reset, or not HTTP.
    Failed,
}

/// A target's health and the counts that move it.
#[derive(Debug, Clone)]
pub struct Health {
    pub state: TargetState,
    pub reason: Option<&'static str>,
    pub description: Option<String>,
    passes: u32,
    failures: u32,
}

impl Health {
    pub fn with(state: TargetState, (reason, description): (&'static str, &str)) -> Health {
        Health {
            state,
            reason: Some(reason),
            description: Some(description.to_string()),
            passes: 0,
            failures: 0,
        }
    }

    /// A target's health when it is registered (or its group's use changes).
    pub fn registered(in_use: bool, checks_enabled: bool) -> Health {
        match (in_use, checks_enabled) {
            (false, _) => Health::with(TargetState::Unused, NOT_IN_USE),
            (true, false) => Health::with(TargetState::Unavailable, DISABLED),
            (true, true) => Health::with(TargetState::Initial, REGISTRATION),
        }
    }

    /// The first probe of a newly registered target is under way.
    pub fn probing(&mut self) -> bool {
        if self.reason == Some(REGISTRATION.0) {
            *self = Health::with(TargetState::Initial, INITIAL_CHECKS);
            return true;
        }
        false
    }

    /// Applies one probe's outcome; true when what DescribeTargetHealth
    /// shows changed.
    pub fn apply(&mut self, outcome: Outcome, hc: &HealthCheckSpec) -> bool {
        let before = (self.state, self.reason, self.description.clone());
        if outcome == Outcome::Pass {
            self.failures = 0;
            self.passes += 1;
            let enough = match self.state {
                TargetState::Initial => true,
                TargetState::Unhealthy => self.passes >= hc.healthy_threshold.max(1),
                _ => false,
            };
            if enough {
                *self = Health {
                    state: TargetState::Healthy,
                    reason: None,
                    description: None,
                    passes: 0,
                    failures: 0,
                };
            }
        } else {
            self.passes = 0;
            self.failures += 1;
            let (reason, description) = match outcome {
                Outcome::Code(code) => (
                    CODE_MISMATCH,
                    format!("Health checks failed with these codes: [{code}]"),
                ),
                Outcome::Timeout => (TIMEOUT.0, TIMEOUT.1.to_string()),
                _ => (FAILED.0, FAILED.1.to_string()),
            };
            let turns = self.state == TargetState::Unhealthy
                || self.failures >= hc.unhealthy_threshold.max(1);
            if turns {
                self.state = TargetState::Unhealthy;
                self.reason = Some(reason);
                self.description = Some(description);
            }
        }
        before != (self.state, self.reason, self.description.clone())
    }
}

/// Probes one target with the group's health check.
pub async fn probe(addr: SocketAddr, hc: &HealthCheckSpec) -> Outcome {
    let addr = SocketAddr::new(addr.ip(), hc.port.unwrap_or(addr.port()));
    let attempt = async {
        let Ok(tcp) = TcpStream::connect(addr).await else {
            return Outcome::Failed;
        };
        match hc.protocol {
            Protocol::Tcp => Outcome::Pass,
            Protocol::Http => http_get(tcp, addr, hc).await,
            Protocol::Https | Protocol::Tls => match super::tls::connect(tcp, addr).await {
                Err(_) => Outcome::Failed,
                Ok(_) if hc.protocol == Protocol::Tls => Outcome::Pass,
                Ok(tls) => http_get(tls, addr, hc).await,
            },
        }
    };
    tokio::time::timeout(hc.timeout, attempt)
        .await
        .unwrap_or(Outcome::Timeout)
}

async fn http_get<I>(io: I, addr: SocketAddr, hc: &HealthCheckSpec) -> Outcome
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await
    else {
        return Outcome::Failed;
    };
    let conn = tokio::spawn(conn);
    let path = if hc.path.starts_with('/') {
        hc.path.as_str()
    } else {
        "/"
    };
    let req = Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .header(http::header::USER_AGENT, "ELB-HealthChecker/2.0")
        .header(http::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new());
    let outcome = match req {
        Err(_) => Outcome::Failed,
        Ok(req) => match sender.send_request(req).await {
            Err(_) => Outcome::Failed,
            Ok(resp) => {
                let code = resp.status().as_u16();
                if hc
                    .matcher
                    .iter()
                    .any(|(lo, hi)| (*lo..=*hi).contains(&code))
                {
                    Outcome::Pass
                } else {
                    Outcome::Code(code)
                }
            }
        },
    };
    // The load balancer closes the connection after each health check.
    conn.abort();
    outcome
}

/// One group's checks, every interval, until the group leaves use or the
/// plane goes away.
pub async fn run(plane: Weak<LoadBalancing>, group_arn: String) {
    loop {
        let started = Instant::now();
        let Some(jobs) = plane.upgrade().and_then(|lb| lb.health_jobs(&group_arn)) else {
            return;
        };
        let (interval, jobs) = jobs;
        let probes = jobs.into_iter().map(|(key, addr, hc)| async move {
            let outcome = probe(addr, &hc).await;
            (key, outcome, hc)
        });
        let results: Vec<(TargetKey, Outcome, HealthCheckSpec)> =
            futures_util::future::join_all(probes).await;
        match plane.upgrade() {
            Some(lb) => lb.apply_health(&group_arn, results),
            None => return,
        }
        let interval = interval.max(Duration::from_millis(100));
        tokio::time::sleep(interval.saturating_sub(started.elapsed())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc() -> HealthCheckSpec {
        HealthCheckSpec {
            enabled: true,
            protocol: Protocol::Http,
            port: None,
            path: "/".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            healthy_threshold: 3,
            unhealthy_threshold: 2,
            matcher: vec![(200, 299)],
        }
    }

    #[test]
    fn a_new_target_is_healthy_after_one_pass() {
        let mut h = Health::registered(true, true);
        assert_eq!(h.reason, Some("Elb.RegistrationInProgress"));
        assert!(h.probing());
        assert_eq!(h.reason, Some("Elb.InitialHealthChecking"));
        assert!(h.apply(Outcome::Pass, &hc()));
        assert_eq!((h.state, h.reason), (TargetState::Healthy, None));
    }

    #[test]
    fn thresholds_move_healthy_and_unhealthy() {
        let mut h = Health::registered(true, true);
        h.apply(Outcome::Pass, &hc());
        assert!(
            !h.apply(Outcome::Code(500), &hc()),
            "one failure is below the threshold"
        );
        assert!(h.apply(Outcome::Code(500), &hc()));
        assert_eq!(h.state, TargetState::Unhealthy);
        assert_eq!(h.reason, Some("Target.ResponseCodeMismatch"));
        assert_eq!(
            h.description.as_deref(),
            Some("Health checks failed with these codes: [500]")
        );
        assert!(h.apply(Outcome::Timeout, &hc()));
        assert_eq!(h.reason, Some("Target.Timeout"));
        h.apply(Outcome::Pass, &hc());
        h.apply(Outcome::Pass, &hc());
        assert_eq!(h.state, TargetState::Unhealthy);
        h.apply(Outcome::Pass, &hc());
        assert_eq!(h.state, TargetState::Healthy);
    }

    #[test]
    fn unused_and_disabled_groups_say_so() {
        let h = Health::registered(false, true);
        assert_eq!(
            (h.state, h.reason),
            (TargetState::Unused, Some("Target.NotInUse"))
        );
        let h = Health::registered(true, false);
        assert_eq!(
            (h.state, h.reason),
            (TargetState::Unavailable, Some("Target.HealthCheckDisabled"))
        );
    }
}
