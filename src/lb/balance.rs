//! Which target gets a request or connection: the eligible targets of a
//! group, round robin or least outstanding requests, lb_cookie stickiness,
//! and the weighted choice among the target groups of a forward action.
//!
//! This is the hot path, so nothing here takes a lock: a group's view (its
//! eligible targets and how to balance them) is an immutable snapshot
//! rebuilt by the control side on every change and swapped in with
//! arc-swap; the only shared writes per request are a few atomic counters
//! on the chosen target (outstanding requests, open connections) and the
//! group's round-robin cursor.
//!
//! Slow start (`slow_start.duration_seconds`, AWS's "Slow start mode"): a
//! target that became healthy while another healthy target was not ramping
//! gets a linearly growing share of requests, from none to its full share
//! over the duration. When the round robin (or least outstanding requests)
//! offers it a request, it takes it with the credit its ramp has earned so
//! far (elapsed / duration, accumulated per offer, deterministic rather
//! than random), and otherwise the request goes to the next target.
//!
//! Eligibility follows AWS ("Health checks for your target groups"):
//! healthy targets receive new requests; targets whose health check is
//! disabled (`unavailable`) do too; `initial`, `unhealthy` and `draining`
//! ones do not — except that when a group has only unhealthy registered
//! targets the load balancer "fails open" and routes to all of them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use super::{Algorithm, Protocol, TargetKey, TargetState, WeightedGroup};

/// One registered target as the data plane sees it. Shared between the
/// group's views and the requests in flight to it, so a draining target's
/// counters stay right after it left the view.
#[derive(Debug)]
pub struct TargetRt {
    pub address: SocketAddr,
    /// What the stickiness cookie says for this target.
    pub cookie: String,
    in_flight: AtomicUsize,
    connections: AtomicUsize,
    pub(super) draining: AtomicBool,
    /// Notified when a draining target has nothing in flight any more.
    pub(super) idle: Notify,
    /// The HTTP proxy's idle keep-alive connections to this target.
    pub(super) pool: super::upstream::IdlePool,
    /// Slow start's earned share of offers, in thousandths of a request.
    ramp_credit: AtomicU32,
}

impl TargetRt {
    pub fn new(group_arn: &str, key: TargetKey, address: SocketAddr) -> TargetRt {
        TargetRt {
            cookie: format!("{:016x}", fnv(&[group_arn, &key.id, &key.port.to_string()])),
            address,
            in_flight: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            idle: Notify::new(),
            pool: Default::default(),
            ramp_credit: AtomicU32::new(0),
        }
    }

    pub fn outstanding(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// No request in flight and no connection open (AWS completes a
    /// deregistration early then).
    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && self.connections.load(Ordering::Acquire) == 0
    }

    /// Counts a request until the guard drops (when its response body ends).
    pub fn request(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy {
            target: self.clone(),
            connection: false,
        }
    }

    /// Counts an open (TCP-proxied) connection until the guard drops.
    pub fn connection(self: &Arc<Self>) -> Busy {
        self.connections.fetch_add(1, Ordering::AcqRel);
        Busy {
            target: self.clone(),
            connection: true,
        }
    }
}

/// A request or connection in flight to a target.
#[derive(Debug)]
pub struct Busy {
    target: Arc<TargetRt>,
    connection: bool,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let t = &self.target;
        let counter = if self.connection {
            &t.connections
        } else {
            &t.in_flight
        };
        counter.fetch_sub(1, Ordering::AcqRel);
        if t.draining.load(Ordering::Acquire) && t.is_idle() {
            // notify_one keeps a permit: the drain waiter cannot miss it.
            t.idle.notify_one();
        }
    }
}

/// A group's balancing snapshot.
#[derive(Debug, Default)]
pub struct GroupView {
    pub algorithm: Option<Algorithm>,
    /// lb_cookie stickiness duration, when on.
    pub stickiness: Option<Duration>,
    /// Targets reached over TLS (target group protocol HTTPS/TLS).
    pub tls: bool,
    pub eligible: Vec<Arc<TargetRt>>,
    /// Per eligible target (same order): since when it is in slow start.
    /// Empty when no target is.
    ramps: Vec<Option<SystemTime>>,
    slow_start: Duration,
}

impl GroupView {
    /// `targets`: each with its state and since when it is in slow start.
    pub fn build(
        algorithm: Algorithm,
        stickiness: Option<Duration>,
        protocol: Protocol,
        slow_start: Duration,
        targets: &[(Arc<TargetRt>, TargetState, Option<SystemTime>)],
    ) -> GroupView {
        let live: Vec<_> = targets
            .iter()
            .filter(|(_, s, _)| *s != TargetState::Draining)
            .collect();
        let mut chosen: Vec<_> = live
            .iter()
            .filter(|(_, s, _)| matches!(s, TargetState::Healthy | TargetState::Unavailable))
            .map(|(t, _, since)| (t.clone(), *since))
            .collect();
        if chosen.is_empty()
            && !live.is_empty()
            && live.iter().all(|(_, s, _)| *s == TargetState::Unhealthy)
        {
            // Fail open: only unhealthy registered targets, so all of them
            // (none is in slow start: an unhealthy target leaves it).
            chosen = live.iter().map(|(t, _, _)| (t.clone(), None)).collect();
        }
        let ramps: Vec<Option<SystemTime>> = if slow_start.is_zero() {
            Vec::new()
        } else {
            chosen.iter().map(|(_, since)| *since).collect()
        };
        let ramps = if ramps.iter().any(Option::is_some) {
            ramps
        } else {
            Vec::new()
        };
        GroupView {
            algorithm: Some(algorithm),
            stickiness,
            tls: matches!(protocol, Protocol::Https | Protocol::Tls),
            eligible: chosen.into_iter().map(|(t, _)| t).collect(),
            ramps,
            slow_start,
        }
    }

    /// Whether the target at `index` takes a request offered to it now:
    /// always, unless it is ramping up and has not earned one yet.
    fn takes(&self, index: usize, now: SystemTime) -> bool {
        let Some(Some(since)) = self.ramps.get(index) else {
            return true;
        };
        let Some(share) = ramp_share(*since, self.slow_start, now) else {
            return true;
        };
        let credit = &self.eligible[index].ramp_credit;
        let earned =
            credit.fetch_add((share * 1000.0) as u32, Ordering::Relaxed) + (share * 1000.0) as u32;
        if earned >= 1000 {
            credit.fetch_sub(1000, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// The fraction of its full share a target in slow start gets at `now`
/// (elapsed / duration); None once the ramp is over.
fn ramp_share(since: SystemTime, duration: Duration, now: SystemTime) -> Option<f64> {
    let elapsed = now.duration_since(since).unwrap_or_default();
    (elapsed < duration).then(|| elapsed.as_secs_f64() / duration.as_secs_f64())
}

/// Whether a target that entered slow start at `since` is still in it.
pub fn ramping(since: Option<SystemTime>, duration: Duration, now: SystemTime) -> bool {
    since.is_some_and(|s| ramp_share(s, duration, now).is_some())
}

/// A group's runtime: its current view, its round-robin cursor and the
/// requests it was sent since CloudWatch last took them (`requests`).
#[derive(Debug, Default)]
pub struct GroupRt {
    pub view: ArcSwap<GroupView>,
    cursor: AtomicUsize,
    /// Requests for which a target of the group was chosen (ALB's
    /// RequestCount counts those); one relaxed add per request, taken and
    /// reset by `take_requests`.
    requests: AtomicU64,
}

impl GroupRt {
    /// One more request was routed to a target of the group.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The requests counted since the last call (swapped, so none is lost
    /// or counted twice while requests keep arriving).
    pub fn take_requests(&self) -> u64 {
        self.requests.swap(0, Ordering::Relaxed)
    }

    /// Picks a target among the eligible ones; `sticky`: the target the
    /// client's AWSALB cookie names, honoured while it is eligible.
    pub fn pick(&self, view: &GroupView, sticky: Option<&str>) -> Option<Arc<TargetRt>> {
        let now = if view.ramps.is_empty() {
            SystemTime::UNIX_EPOCH // not read
        } else {
            crate::clock::now_system()
        };
        self.pick_at(view, sticky, now)
    }

    /// `pick` at a given time (slow start's ramps depend on it).
    pub fn pick_at(
        &self,
        view: &GroupView,
        sticky: Option<&str>,
        now: SystemTime,
    ) -> Option<Arc<TargetRt>> {
        let eligible = &view.eligible;
        if eligible.is_empty() {
            return None;
        }
        if let (Some(_), Some(cookie)) = (view.stickiness, sticky) {
            if let Some(t) = eligible.iter().find(|t| t.cookie == cookie) {
                return Some(t.clone());
            }
        }
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        let n = eligible.len();
        let chosen = match view.algorithm {
            Some(Algorithm::LeastOutstandingRequests) => (0..n)
                .map(|i| (start + i) % n)
                .min_by_key(|i| eligible[*i].outstanding())
                .expect("not empty"),
            _ => start % n,
        };
        if view.ramps.is_empty() {
            return Some(eligible[chosen].clone());
        }
        // Offered to the chosen target first, then on round the ring; a
        // target not ramping always takes it.
        let index = (0..n)
            .map(|i| (chosen + i) % n)
            .find(|i| view.takes(*i, now))
            .unwrap_or(chosen);
        Some(eligible[index].clone())
    }
}

/// The weighted choice among a forward action's target groups: a counter
/// walked over the cumulative weights (a smooth, deterministic spread: with
/// weights 80/20, exactly 8 of every 10 requests go to the first group).
pub fn pick_weighted<'a>(
    groups: &'a [WeightedGroup],
    counter: &AtomicUsize,
) -> Option<&'a WeightedGroup> {
    let total: u64 = groups.iter().map(|g| u64::from(g.weight)).sum();
    if total == 0 {
        // All weights zero: AWS sends nothing to a zero-weight group; one
        // group alone (weight left out) counts as weight 1.
        return (groups.len() == 1).then(|| &groups[0]);
    }
    let mut n = (counter.fetch_add(1, Ordering::Relaxed) as u64) % total;
    groups.iter().find(|g| {
        let w = u64::from(g.weight);
        if n < w {
            true
        } else {
            n -= w;
            false
        }
    })
}

/// FNV-1a: a stable short id for cookies (not a secret: AWS's cookies are
/// opaque, these only need to be stable and distinct).
pub fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(port: u16) -> Arc<TargetRt> {
        Arc::new(TargetRt::new(
            "tg",
            TargetKey {
                id: "10.0.0.1".into(),
                port,
            },
            SocketAddr::from(([127, 0, 0, 1], port)),
        ))
    }

    fn view(states: &[TargetState], algorithm: Algorithm) -> GroupView {
        let targets: Vec<_> = states
            .iter()
            .enumerate()
            .map(|(i, s)| (target(1000 + i as u16), *s, None))
            .collect();
        GroupView::build(algorithm, None, Protocol::Http, Duration::ZERO, &targets)
    }

    #[test]
    fn a_target_in_slow_start_gets_a_linearly_growing_share() {
        let since = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let targets = vec![
            (target(1000), TargetState::Healthy, None),
            (target(1001), TargetState::Healthy, Some(since)),
        ];
        let v = GroupView::build(
            Algorithm::RoundRobin,
            None,
            Protocol::Http,
            Duration::from_secs(100),
            &targets,
        );
        let rt = GroupRt::default();
        let share_of_new = |at_secs: u64| {
            let now = since + Duration::from_secs(at_secs);
            (0..400)
                .filter(|_| rt.pick_at(&v, None, now).unwrap().address.port() == 1001)
                .count()
        };
        // Round robin offers the new target every other request (200 of
        // 400); it takes elapsed/duration of its offers.
        assert_eq!(share_of_new(0), 0);
        let quarter = share_of_new(25);
        assert!((48..=52).contains(&quarter), "{quarter}");
        let three_quarters = share_of_new(75);
        assert!((148..=152).contains(&three_quarters), "{three_quarters}");
        // The ramp is over: its full share.
        assert_eq!(share_of_new(100), 200);
    }

    #[test]
    fn only_healthy_targets_are_eligible_unless_all_are_unhealthy() {
        use TargetState::*;
        assert_eq!(
            view(
                &[Healthy, Initial, Unhealthy, Draining],
                Algorithm::RoundRobin
            )
            .eligible
            .len(),
            1
        );
        assert_eq!(
            view(&[Unhealthy, Unhealthy, Draining], Algorithm::RoundRobin)
                .eligible
                .len(),
            2
        );
        assert_eq!(
            view(&[Initial, Unhealthy], Algorithm::RoundRobin)
                .eligible
                .len(),
            0
        );
        assert_eq!(
            view(&[Unavailable], Algorithm::RoundRobin).eligible.len(),
            1
        );
        assert_eq!(view(&[Draining], Algorithm::RoundRobin).eligible.len(), 0);
    }

    #[test]
    fn round_robin_cycles_and_least_outstanding_avoids_busy_targets() {
        use TargetState::*;
        let rt = GroupRt::default();
        let v = view(&[Healthy, Healthy, Healthy], Algorithm::RoundRobin);
        let ports: Vec<u16> = (0..6)
            .map(|_| rt.pick(&v, None).unwrap().address.port())
            .collect();
        assert_eq!(ports, [1000, 1001, 1002, 1000, 1001, 1002]);
        let v = view(&[Healthy, Healthy], Algorithm::LeastOutstandingRequests);
        let _busy = v.eligible[0].request();
        for _ in 0..4 {
            assert_eq!(rt.pick(&v, None).unwrap().address.port(), 1001);
        }
    }

    #[test]
    fn weights_split_exactly() {
        let groups = vec![
            WeightedGroup {
                target_group_arn: "a".into(),
                weight: 3,
            },
            WeightedGroup {
                target_group_arn: "b".into(),
                weight: 1,
            },
            WeightedGroup {
                target_group_arn: "c".into(),
                weight: 0,
            },
        ];
        let c = AtomicUsize::new(0);
        let picks: Vec<&str> = (0..8)
            .map(|_| {
                pick_weighted(&groups, &c)
                    .unwrap()
                    .target_group_arn
                    .as_str()
            })
            .collect();
        assert_eq!(picks.iter().filter(|p| **p == "a").count(), 6);
        assert_eq!(picks.iter().filter(|p| **p == "b").count(), 2);
    }
}
