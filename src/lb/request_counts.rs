//! What the Application Load Balancers' target groups were sent, for
//! CloudWatch's `AWS/ApplicationELB` RequestCount and RequestCountPerTarget.
//!
//! The proxy counts in one atomic per group (`GroupRt::count_request`);
//! this side takes the counts (swapping them to zero, so each request is
//! reported once) with what the metrics need beside them: the load
//! balancers whose listeners forward to the group and how many of its
//! targets are healthy at the moment of taking (AWS divides RequestCount
//! by the healthy targets).

use std::collections::{BTreeMap, BTreeSet};

use super::routing::Routes;
use super::{LbType, LoadBalancing, TargetState};

/// One target group's requests since the counts were last taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRequests {
    pub target_group_arn: String,
    /// The Application Load Balancers with a listener that forwards to it.
    pub load_balancer_arns: Vec<String>,
    pub requests: u64,
    /// Targets in state `healthy`.
    pub healthy_targets: usize,
    /// Targets the group sends requests to: the healthy ones, or, when none
    /// is (health checks off, or all failing, where ALB fails open), all
    /// that are not draining.
    pub routable_targets: usize,
}

impl LoadBalancing {
    /// Takes the request counts of every target group an Application Load
    /// Balancer's listener forwards to, including groups that were sent
    /// nothing (ALB reports RequestCount "always"). Groups only Network Load
    /// Balancers use are left out: NLB has no request metrics.
    pub fn take_request_counts(&self) -> Vec<GroupRequests> {
        let plane = self.inner.lock();
        let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for l in plane.listeners.values() {
            if l.spec.lb_type != LbType::Application {
                continue;
            }
            for group in Routes::forwarded_groups(&l.spec) {
                users
                    .entry(group)
                    .or_default()
                    .insert(l.spec.load_balancer_arn.as_str());
            }
        }
        users
            .into_iter()
            .filter_map(|(arn, lbs)| {
                let g = plane.groups.get(arn)?;
                let healthy = g
                    .targets
                    .values()
                    .filter(|r| r.health.state == TargetState::Healthy)
                    .count();
                Some(GroupRequests {
                    target_group_arn: arn.to_string(),
                    load_balancer_arns: lbs.into_iter().map(str::to_string).collect(),
                    requests: g.rt.take_requests(),
                    healthy_targets: healthy,
                    routable_targets: g.rt.view.load().eligible.len(),
                })
            })
            .collect()
    }
}
