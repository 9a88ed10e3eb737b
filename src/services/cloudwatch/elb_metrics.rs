//! The `AWS/ApplicationELB` metrics Elastic Load Balancing publishes for
//! the target groups of Application Load Balancers, from the requests
//! ecsbox's own listeners forwarded (`lb::LoadBalancing::take_request_counts`):
//!
//! - `RequestCount`: the requests for which a target was chosen, per
//!   {LoadBalancer} and per {LoadBalancer, TargetGroup};
//! - `RequestCountPerTarget`: RequestCount divided by the number of
//!   healthy targets of the group, per {TargetGroup} and per
//!   {LoadBalancer, TargetGroup}; its only valid statistic is Sum (which
//!   is the average per target, as AWS documents it).
//!
//! Dimension values are the final portions of the ARNs, as AWS names them:
//! `app/NAME/ID` and `targetgroup/NAME/ID`. Both metrics are "always
//! reported" (AWS), so a group an ALB forwards to gets a datapoint of 0
//! in a period without requests: that is what lets target tracking's
//! AlarmLow see an idle service.
//!
//! They are published on the same schedule as the `AWS/ECS` metrics
//! (`--metrics-period`, see `ecs_metrics`) and by the same call
//! (`CloudWatch::publish_metrics_now`). The counts are taken (reset) at
//! each publication, so each request is reported once, in the datapoint
//! of the period it is published for.

use super::statistics::Sample;
use super::{CloudWatch, MetricKey};
use crate::lb::{GroupRequests, LoadBalancing};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NAMESPACE: &str = "AWS/ApplicationELB";

/// Where the metrics come from.
pub(super) struct ElbSource {
    pub lb: Arc<LoadBalancing>,
}

/// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:RESOURCE` as (account,
/// region, RESOURCE minus `prefix`): `loadbalancer/app/N/I` gives `app/N/I`
/// with prefix `loadbalancer/`; a target group keeps `targetgroup/N/I`.
fn split_arn<'a>(arn: &'a str, prefix: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some((account, region, resource.strip_prefix(prefix)?))
}

/// One metric's datapoint for a period: (name, dimensions) -> value.
type Points = BTreeMap<(&'static str, Vec<(String, String)>), f64>;

/// The datapoints of one account and region, by (account, region).
fn datapoints(groups: &[GroupRequests]) -> BTreeMap<(String, String), Points> {
    let mut out: BTreeMap<(String, String), Points> = BTreeMap::new();
    for g in groups {
        let Some((account, region, tg)) = split_arn(&g.target_group_arn, "") else {
            continue;
        };
        let requests = g.requests as f64;
        // AWS: "RequestCount divided by the number of healthy targets". With
        // none healthy the group fails open to its other targets, which then
        // share the requests; with no target at all nothing was routed.
        let targets = if g.healthy_targets > 0 {
            g.healthy_targets
        } else {
            g.routable_targets
        };
        let per_target = requests / targets.max(1) as f64;
        let points = out
            .entry((account.to_string(), region.to_string()))
            .or_default();
        let by_group = vec![("TargetGroup".to_string(), tg.to_string())];
        points.insert(("RequestCountPerTarget", by_group), per_target);
        for lb_arn in &g.load_balancer_arns {
            let Some((_, _, lb)) = split_arn(lb_arn, "loadbalancer/") else {
                continue;
            };
            let by_pair = vec![
                ("LoadBalancer".to_string(), lb.to_string()),
                ("TargetGroup".to_string(), tg.to_string()),
            ];
            points.insert(("RequestCountPerTarget", by_pair.clone()), per_target);
            points.insert(("RequestCount", by_pair), requests);
            *points
                .entry((
                    "RequestCount",
                    vec![("LoadBalancer".to_string(), lb.to_string())],
                ))
                .or_default() += requests;
        }
    }
    out
}

impl CloudWatch {
    /// Publishes the `AWS/ApplicationELB` metrics of `lb`'s target groups
    /// on the schedule of the AWS/ECS metrics (set once; later calls are
    /// ignored).
    pub fn publish_elb_metrics(&self, lb: Arc<LoadBalancing>) {
        let _ = self.elb.set(ElbSource { lb });
    }

    /// Takes the requests counted since the last publication and puts one
    /// datapoint per metric, stamped `at`; answers how many were put.
    pub(super) fn publish_elb_metrics_at(&self, at: f64) -> usize {
        let Some(source) = self.elb.get() else {
            return 0;
        };
        let mut published = 0;
        for ((account, region), points) in datapoints(&source.lb.take_request_counts()) {
            published += points.len();
            self.regions.with(&account, &region, |m| {
                for ((name, dims), value) in points {
                    let key = MetricKey {
                        namespace: NAMESPACE.into(),
                        name: name.into(),
                        dimensions: dims,
                    };
                    m.series.entry(key).or_default().push(Sample {
                        at,
                        unit: Some("Count".into()),
                        count: 1.0,
                        sum: value,
                        min: value,
                        max: value,
                        values: Vec::new(),
                    });
                }
            });
        }
        published
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TG: &str =
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/app/943f017f100becff";
    const LB: &str =
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/778d41231b141a0f";

    fn group(requests: u64, healthy: usize, routable: usize) -> GroupRequests {
        GroupRequests {
            target_group_arn: TG.into(),
            load_balancer_arns: vec![LB.into()],
            requests,
            healthy_targets: healthy,
            routable_targets: routable,
        }
    }

    fn value(points: &Points, name: &'static str, dims: &[(&str, &str)]) -> f64 {
        let dims = dims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        points[&(name, dims)]
    }

    #[test]
    fn requests_per_target_divide_by_the_healthy_targets() {
        let all = datapoints(&[group(30, 3, 3)]);
        let points = &all[&("000000000000".to_string(), "us-east-1".to_string())];
        let tg = ("TargetGroup", "targetgroup/app/943f017f100becff");
        let lb = ("LoadBalancer", "app/web/778d41231b141a0f");
        assert_eq!(value(points, "RequestCountPerTarget", &[tg]), 10.0);
        assert_eq!(value(points, "RequestCountPerTarget", &[lb, tg]), 10.0);
        assert_eq!(value(points, "RequestCount", &[lb, tg]), 30.0);
        assert_eq!(value(points, "RequestCount", &[lb]), 30.0);
        assert_eq!(points.len(), 4);
    }

    #[test]
    fn without_healthy_targets_the_targets_failed_open_to_share_them() {
        let tg = ("TargetGroup", "targetgroup/app/943f017f100becff");
        let key = ("000000000000".to_string(), "us-east-1".to_string());
        let failed_open = datapoints(&[group(8, 0, 2)]);
        assert_eq!(
            value(&failed_open[&key], "RequestCountPerTarget", &[tg]),
            4.0
        );
        // No target at all: nothing could be routed, and 0 is reported.
        let empty = datapoints(&[group(0, 0, 0)]);
        assert_eq!(value(&empty[&key], "RequestCountPerTarget", &[tg]), 0.0);
    }
}
