//! PutScalingPolicy, DescribeScalingPolicies, DeleteScalingPolicy, and
//! what a policy decides when its alarm fires.
//!
//! Target tracking (ECSServiceAverageCPUUtilization,
//! ECSServiceAverageMemoryUtilization, ALBRequestCountPerTarget or a
//! customized metric) creates the two alarms AWS creates, as AWS names and
//! sets them (seen in exported accounts):
//! `TargetTracking-service/C/S-AlarmHigh-<uuid>`, metric > target for 3 of
//! 3 one-minute datapoints, and `...-AlarmLow-<uuid>`, metric < 90% of the
//! target for 15 of 15; Average of `AWS/ECS` CPUUtilization (or
//! MemoryUtilization) by ClusterName and ServiceName, unit Percent, or Sum
//! of `AWS/ApplicationELB` RequestCountPerTarget by TargetGroup; missing
//! data treated as missing. Their action is the policy's ARN with a
//! `:createdBy/<uuid>` suffix.
//!
//! When AlarmHigh fires, the new capacity is proportional: ceil(current ×
//! metric / target), within the target's min and max; AlarmLow scales in
//! by the same formula, never below min, and not at all with
//! DisableScaleIn. Step scaling applies the step adjustment whose bounds
//! (relative to the alarm's threshold) hold the breach.
//!
//! Cooldowns, as the API reference words them for ECS (default 300 s):
//! during a scale-out cooldown, the capacity the scale-out added counts as
//! part of the next one (a new scale-out counts from the capacity before
//! it, so only a larger one adds tasks); a scale-in cooldown blocks
//! scale-ins, and a scale-out ends it at once.

use super::alarms::{AlarmSpec, AlarmTrigger};
use super::{
    alarm_shape, check_namespace, check_target, describe_page, error, no_target, validation,
    Filter, ScalingRegion, Target,
};
use crate::model::application_autoscaling::operations::ErrorCode;
use crate::model::application_autoscaling::shapes::*;
use crate::protocol::{ApiError, RequestContext};

/// The cooldowns ECS services get when a policy names none (API reference).
const DEFAULT_COOLDOWN: i32 = 300;
/// Policies per scalable target (Application Auto Scaling's quota).
const MAX_POLICIES: usize = 50;

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Policy {
    pub shape: ScalingPolicy,
    /// The suffix of the action ARN its alarms carry.
    created_by: String,
}

impl Policy {
    pub fn name(&self) -> &str {
        self.shape.policy_name.as_deref().unwrap_or_default()
    }

    /// The alarms target tracking created for it.
    pub fn alarm_names(&self) -> Vec<String> {
        if self.shape.policy_type.as_deref() != Some("TargetTrackingScaling") {
            return Vec::new();
        }
        self.shape
            .alarms
            .iter()
            .flatten()
            .filter_map(|a| a.alarm_name.clone())
            .collect()
    }

    fn action_arn(&self) -> String {
        format!(
            "{}:createdBy/{}",
            self.shape.policy_arn.as_deref().unwrap_or_default(),
            self.created_by
        )
    }
}

/// What PutScalingPolicy leaves for the caller to do after the lock: the
/// alarms to create and those an earlier version of the policy had.
pub(super) struct Put {
    pub response: PutScalingPolicyResponse,
    pub alarms: Vec<AlarmSpec>,
    pub stale_alarms: Vec<String>,
    pub resource_id: String,
    pub policy_name: String,
}

/// The metric a target tracking policy tracks.
struct Tracked {
    namespace: String,
    metric_name: String,
    dimensions: Vec<(String, String)>,
    statistic: String,
    unit: Option<String>,
}

pub(super) fn put(
    r: &mut ScalingRegion,
    ctx: &RequestContext,
    input: PutScalingPolicyRequest,
    now: f64,
) -> Result<Put, ApiError> {
    let resource_id = input.resource_id.clone().unwrap_or_default();
    let (cluster, service) = check_target(
        input.service_namespace.as_deref(),
        Some(resource_id.as_str()),
        input.scalable_dimension.as_deref(),
    )?;
    let (cluster, service) = (cluster.to_string(), service.to_string());
    let policy_name = input.policy_name.clone().unwrap_or_default();
    // AWS's default policy type.
    let policy_type = input
        .policy_type
        .clone()
        .unwrap_or_else(|| "StepScaling".into());
    let tracked = match policy_type.as_str() {
        "TargetTrackingScaling" => {
            if input.step_scaling_policy_configuration.is_some() {
                return Err(validation(
                    "StepScalingPolicyConfiguration cannot be given for a policy of type TargetTrackingScaling.",
                ));
            }
            let config = input.target_tracking_scaling_policy_configuration.as_ref().ok_or_else(|| {
                validation("TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling.")
            })?;
            Some(check_target_tracking(config, &cluster, &service)?)
        }
        "StepScaling" => {
            if input.target_tracking_scaling_policy_configuration.is_some() {
                return Err(validation(
                    "TargetTrackingScalingPolicyConfiguration cannot be given for a policy of type StepScaling.",
                ));
            }
            let config = input.step_scaling_policy_configuration.as_ref().ok_or_else(|| {
                validation("StepScalingPolicyConfiguration is required for a policy of type StepScaling.")
            })?;
            check_step_scaling(config)?;
            None
        }
        other => {
            return Err(validation(format!(
                "ecsbox does not support scaling policies of type {other}: only TargetTrackingScaling and StepScaling."
            )))
        }
    };
    if input.predictive_scaling_policy_configuration.is_some() {
        return Err(validation(
            "ecsbox does not support PredictiveScalingPolicyConfiguration: there are no forecasts.",
        ));
    }
    let target = r
        .targets
        .get_mut(&resource_id)
        .ok_or_else(|| no_target(&resource_id))?;
    let old = target.policies.get(&policy_name);
    if old.is_none() && target.policies.len() >= MAX_POLICIES {
        return Err(error(
            ErrorCode::LimitExceededException,
            format!("A scalable target can have at most {MAX_POLICIES} scaling policies."),
        ));
    }
    // A policy put again keeps its ARN and, where it tracks still, its alarms' names.
    let (policy_id, created_by, creation_time) = match old {
        Some(p) => (
            p.shape
                .policy_arn
                .as_deref()
                .and_then(|a| a.split(':').nth(6))
                .unwrap_or_default()
                .to_string(),
            p.created_by.clone(),
            p.shape.creation_time,
        ),
        None => (
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().to_string(),
            Some(now),
        ),
    };
    let old_alarms = old.map(Policy::alarm_names).unwrap_or_default();
    let alarm_name = |kind: &str, index: usize| {
        old_alarms.get(index).cloned().unwrap_or_else(|| {
            format!(
                "TargetTracking-{resource_id}-{kind}-{}",
                uuid::Uuid::new_v4()
            )
        })
    };
    let names = tracked
        .as_ref()
        .map(|_| vec![alarm_name("AlarmHigh", 0), alarm_name("AlarmLow", 1)])
        .unwrap_or_default();
    let stale_alarms: Vec<String> = old_alarms
        .iter()
        .filter(|n| !names.contains(n))
        .cloned()
        .collect();
    let policy_arn = format!(
        "arn:aws:autoscaling:{}:{}:scalingPolicy:{policy_id}:resource/ecs/{resource_id}:policyName/{policy_name}",
        ctx.region, ctx.account
    );
    let alarm_shapes: Vec<Alarm> = names.iter().map(|name| alarm_shape(ctx, name)).collect();
    let policy = Policy {
        shape: ScalingPolicy {
            policy_arn: Some(policy_arn.clone()),
            policy_name: Some(policy_name.clone()),
            service_namespace: input.service_namespace,
            resource_id: Some(resource_id.clone()),
            scalable_dimension: input.scalable_dimension,
            policy_type: Some(policy_type),
            step_scaling_policy_configuration: input.step_scaling_policy_configuration,
            target_tracking_scaling_policy_configuration: input
                .target_tracking_scaling_policy_configuration,
            predictive_scaling_policy_configuration: None,
            alarms: Some(alarm_shapes.clone()),
            creation_time,
        },
        created_by,
    };
    let alarms = match (
        &tracked,
        &policy.shape.target_tracking_scaling_policy_configuration,
    ) {
        (Some(tracked), Some(config)) => tracking_alarms(
            &policy,
            tracked,
            config.target_value.unwrap_or_default(),
            &names,
        ),
        _ => Vec::new(),
    };
    target.policies.insert(policy_name.clone(), policy);
    Ok(Put {
        response: PutScalingPolicyResponse {
            policy_arn: Some(policy_arn),
            alarms: Some(alarm_shapes),
        },
        alarms,
        stale_alarms,
        resource_id,
        policy_name,
    })
}

/// Forgets a policy whose alarms could not be created.
pub(super) fn forget(r: &mut ScalingRegion, resource_id: &str, policy_name: &str) {
    if let Some(target) = r.targets.get_mut(resource_id) {
        target.policies.remove(policy_name);
    }
}

fn check_target_tracking(
    config: &TargetTrackingScalingPolicyConfiguration,
    cluster: &str,
    service: &str,
) -> Result<Tracked, ApiError> {
    if config
        .target_value
        .is_none_or(|v| !(v > 0.0 && v.is_finite()))
    {
        return Err(validation(
            "TargetValue must be a number greater than zero.",
        ));
    }
    for (name, cooldown) in [
        ("ScaleOutCooldown", config.scale_out_cooldown),
        ("ScaleInCooldown", config.scale_in_cooldown),
    ] {
        if cooldown.is_some_and(|c| c < 0) {
            return Err(validation(format!("{name} must be zero or more seconds.")));
        }
    }
    match (&config.predefined_metric_specification, &config.customized_metric_specification) {
        (Some(predefined), None) => {
            let kind = predefined.predefined_metric_type.as_deref().unwrap_or_default();
            let label = predefined.resource_label.as_deref();
            let metric_name = match kind {
                "ECSServiceAverageCPUUtilization" => "CPUUtilization",
                "ECSServiceAverageMemoryUtilization" => "MemoryUtilization",
                "ALBRequestCountPerTarget" => return alb_request_count(label),
                other => {
                    return Err(validation(format!(
                        "The predefined metric type {other} is not valid for an ECS service: use ECSServiceAverageCPUUtilization, ECSServiceAverageMemoryUtilization or ALBRequestCountPerTarget."
                    )))
                }
            };
            if label.is_some() {
                return Err(validation(format!(
                    "ResourceLabel is only for ALBRequestCountPerTarget, not for {kind}."
                )));
            }
            Ok(Tracked {
                namespace: "AWS/ECS".into(),
                metric_name: metric_name.into(),
                dimensions: vec![
                    ("ClusterName".into(), cluster.into()),
                    ("ServiceName".into(), service.into()),
                ],
                statistic: "Average".into(),
                unit: Some("Percent".into()),
            })
        }
        (None, Some(custom)) => {
            if custom.metrics.is_some() {
                return Err(validation(
                    "ecsbox does not support Metrics (metric math) in a CustomizedMetricSpecification yet: name one metric with MetricName, Namespace, Dimensions and Statistic.",
                ));
            }
            let (Some(metric_name), Some(namespace), Some(statistic)) =
                (&custom.metric_name, &custom.namespace, &custom.statistic)
            else {
                return Err(validation(
                    "A CustomizedMetricSpecification needs MetricName, Namespace and Statistic.",
                ));
            };
            Ok(Tracked {
                namespace: namespace.clone(),
                metric_name: metric_name.clone(),
                dimensions: custom
                    .dimensions
                    .iter()
                    .flatten()
                    .map(|d| (d.name.clone().unwrap_or_default(), d.value.clone().unwrap_or_default()))
                    .collect(),
                statistic: statistic.clone(),
                unit: custom.unit.clone(),
            })
        }
        // ecsbox's words.
        _ => Err(validation(
            "A target tracking policy needs exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification.",
        )),
    }
}

/// ALBRequestCountPerTarget tracks the Sum of `AWS/ApplicationELB`
/// RequestCountPerTarget of the target group the ResourceLabel names
/// (dimension TargetGroup, the label's `targetgroup/NAME/ID` half; the Sum
/// is the average per target, AWS's only valid statistic for it), as the
/// alarms AWS creates for it do. The label is
/// `app/LB-NAME/LB-ID/targetgroup/TG-NAME/TG-ID` (API reference,
/// PredefinedMetricSpecification). The messages are ecsbox's words.
fn alb_request_count(label: Option<&str>) -> Result<Tracked, ApiError> {
    let label = label.filter(|l| !l.is_empty()).ok_or_else(|| {
        validation(
            "ResourceLabel is required for the predefined metric type ALBRequestCountPerTarget: app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>.",
        )
    })?;
    let parts: Vec<&str> = label.split('/').collect();
    let valid = parts.len() == 6
        && parts[0] == "app"
        && parts[3] == "targetgroup"
        && parts.iter().all(|p| !p.is_empty());
    if !valid {
        return Err(validation(format!(
            "The ResourceLabel {label} is not valid for ALBRequestCountPerTarget: it must be app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>, the final portions of an Application Load Balancer's ARN and its target group's ARN."
        )));
    }
    Ok(Tracked {
        namespace: "AWS/ApplicationELB".into(),
        metric_name: "RequestCountPerTarget".into(),
        dimensions: vec![("TargetGroup".into(), parts[3..].join("/"))],
        statistic: "Sum".into(),
        unit: None,
    })
}

/// The step adjustments must cover one range without gaps or overlaps
/// (AWS's rule), each with a lower bound below its upper one.
fn check_step_scaling(config: &StepScalingPolicyConfiguration) -> Result<(), ApiError> {
    let kind = config.adjustment_type.as_deref().ok_or_else(|| {
        validation("AdjustmentType is required for a policy of type StepScaling.")
    })?;
    if config.min_adjustment_magnitude.is_some() && kind != "PercentChangeInCapacity" {
        return Err(validation(
            "MinAdjustmentMagnitude can only be given with AdjustmentType PercentChangeInCapacity.",
        ));
    }
    if config.cooldown.is_some_and(|c| c < 0) {
        return Err(validation("Cooldown must be zero or more seconds."));
    }
    let mut steps: Vec<(f64, f64)> = Vec::new();
    for step in config.step_adjustments.iter().flatten() {
        let lower = step
            .metric_interval_lower_bound
            .unwrap_or(f64::NEG_INFINITY);
        let upper = step.metric_interval_upper_bound.unwrap_or(f64::INFINITY);
        if lower >= upper {
            return Err(validation(format!(
                "A step adjustment's MetricIntervalLowerBound ({lower}) must be below its MetricIntervalUpperBound ({upper})."
            )));
        }
        if kind == "ExactCapacity" && step.scaling_adjustment.is_some_and(|a| a < 0) {
            return Err(validation(
                "An ExactCapacity step adjustment must be zero or more.",
            ));
        }
        steps.push((lower, upper));
    }
    if steps.is_empty() {
        return Err(validation(
            "A StepScaling policy needs at least one StepAdjustment.",
        ));
    }
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in steps.windows(2) {
        if pair[0].1 != pair[1].0 {
            return Err(validation(
                "The step adjustments' intervals must not overlap or leave gaps: each MetricIntervalUpperBound must be the next step's MetricIntervalLowerBound.",
            ));
        }
    }
    Ok(())
}

fn tracking_alarms(
    policy: &Policy,
    tracked: &Tracked,
    target: f64,
    names: &[String],
) -> Vec<AlarmSpec> {
    let action = policy.action_arn();
    let alarm = |name: &String, comparison: &str, periods: i32, threshold: f64| AlarmSpec {
        alarm_name: name.clone(),
        alarm_description: format!(
            "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}."
        ),
        namespace: tracked.namespace.clone(),
        metric_name: tracked.metric_name.clone(),
        dimensions: tracked.dimensions.clone(),
        statistic: tracked.statistic.clone(),
        unit: tracked.unit.clone(),
        period: 60,
        evaluation_periods: periods,
        datapoints_to_alarm: periods,
        threshold,
        comparison_operator: comparison.into(),
        alarm_actions: vec![action.clone()],
        treat_missing_data: "missing".into(),
    };
    vec![
        alarm(&names[0], "GreaterThanThreshold", 3, target),
        // 90% of the target (AlarmLow of a 70% target is at 63).
        alarm(&names[1], "LessThanThreshold", 15, target * 9.0 / 10.0),
    ]
}

pub(super) fn describe(
    r: &mut ScalingRegion,
    input: DescribeScalingPoliciesRequest,
) -> Result<DescribeScalingPoliciesResponse, ApiError> {
    check_namespace(input.service_namespace.as_deref())?;
    let names = input.policy_names.unwrap_or_default();
    let filter = Filter {
        resource_id: input.resource_id.as_deref(),
        dimension: input.scalable_dimension.as_deref(),
        names: &names,
        max_results: input.max_results,
        next_token: input.next_token.as_deref(),
    };
    let (page, next) = describe_page(r, filter, |t| &t.policies)?;
    Ok(DescribeScalingPoliciesResponse {
        scaling_policies: Some(page.into_iter().map(|p| p.shape.clone()).collect()),
        next_token: next,
    })
}

/// Forgets the policy; answers the names of the alarms it had.
pub(super) fn delete(
    r: &mut ScalingRegion,
    input: DeleteScalingPolicyRequest,
) -> Result<Vec<String>, ApiError> {
    let resource_id = input.resource_id.clone().unwrap_or_default();
    check_target(
        input.service_namespace.as_deref(),
        Some(resource_id.as_str()),
        input.scalable_dimension.as_deref(),
    )?;
    let name = input.policy_name.unwrap_or_default();
    let policy = r
        .targets
        .get_mut(&resource_id)
        .and_then(|t| t.policies.remove(&name))
        .ok_or_else(|| {
            // ecsbox's words, in the form of AWS's "No scalable target registered ...".
            error(
                ErrorCode::ObjectNotFoundException,
                format!("No scaling policy found for service namespace: ecs, resource ID: {resource_id}, scalable dimension: ecs:service:DesiredCount, policy name: {name}"),
            )
        })?;
    Ok(policy.alarm_names())
}

/// A scaling a policy asks for.
pub(super) struct Decision {
    pub desired: i32,
    pub cause: String,
    /// What a scale-out counted from (for the cooldown it starts).
    pub base: i32,
}

/// What `policy` does when `alarm` fires with the service at `current`:
/// a new desired count within the target's bounds, or None (no change,
/// suspended, in cooldown, DisableScaleIn, no metric value to track).
pub(super) fn decide(
    target: &Target,
    policy: &Policy,
    alarm: &AlarmTrigger,
    current: i32,
    now: f64,
) -> Option<Decision> {
    let min = target.shape.min_capacity.unwrap_or(0);
    let max = target.shape.max_capacity.unwrap_or(i32::MAX);
    let suspended = target.shape.suspended_state.clone().unwrap_or_default();
    let (out_suspended, in_suspended) = (
        suspended.dynamic_scaling_out_suspended == Some(true),
        suspended.dynamic_scaling_in_suspended == Some(true),
    );
    let (in_cooldown, want_out, want_in): (i32, Option<i32>, Option<i32>);
    let base: i32;
    if let Some(config) = &policy.shape.target_tracking_scaling_policy_configuration {
        let out_cooldown = config.scale_out_cooldown.unwrap_or(DEFAULT_COOLDOWN);
        in_cooldown = config.scale_in_cooldown.unwrap_or(DEFAULT_COOLDOWN);
        base = base_for_scale_out(target, current, now, out_cooldown);
        let target_value = config.target_value?;
        let metric = alarm.metric_value?;
        let names = policy.alarm_names();
        let high = match names.iter().position(|n| *n == alarm.alarm_name) {
            Some(i) => i == 0,
            None => metric > target_value,
        };
        let proportional =
            |capacity: i32| ((capacity.max(1) as f64) * metric / target_value - 1e-9).ceil() as i32;
        if high {
            want_out = Some(proportional(base));
            want_in = None;
        } else {
            if config.disable_scale_in == Some(true) {
                return None;
            }
            want_out = None;
            want_in = Some(proportional(current));
        }
    } else {
        let config = policy.shape.step_scaling_policy_configuration.as_ref()?;
        in_cooldown = config.cooldown.unwrap_or(DEFAULT_COOLDOWN);
        base = base_for_scale_out(target, current, now, in_cooldown);
        let breach = alarm.metric_value.map_or(0.0, |m| m - alarm.threshold);
        let step = find_step(
            config.step_adjustments.as_deref().unwrap_or_default(),
            breach,
        )?;
        let adjustment = step.scaling_adjustment?;
        let kind = config
            .adjustment_type
            .as_deref()
            .unwrap_or("ChangeInCapacity");
        let apply = |capacity: i32| match kind {
            "ExactCapacity" => adjustment,
            "PercentChangeInCapacity" => {
                capacity + percent_change(capacity, adjustment, config.min_adjustment_magnitude)
            }
            _ => capacity.saturating_add(adjustment),
        };
        let direct = apply(current);
        if direct > current {
            want_out = Some(apply(base));
            want_in = None;
        } else {
            want_out = None;
            want_in = Some(direct);
        }
    }
    let cause = format!(
        "monitor alarm {} in state ALARM triggered policy {}",
        alarm.alarm_name,
        policy.name()
    );
    if let Some(want) = want_out {
        let desired = want.clamp(min, max.max(min));
        return (!out_suspended && desired > current).then_some(Decision {
            desired,
            cause,
            base,
        });
    }
    let want = want_in?;
    let cooling = target
        .cooldowns
        .scale_in
        .is_some_and(|at| now < at + f64::from(in_cooldown));
    let desired = want.clamp(min, max.max(min));
    (!in_suspended && !cooling && desired < current).then_some(Decision {
        desired,
        cause,
        base,
    })
}

/// The capacity a scale-out counts from: the capacity before the last
/// scale-out while its cooldown lasts, else the current one.
fn base_for_scale_out(target: &Target, current: i32, now: f64, cooldown: i32) -> i32 {
    match target.cooldowns.scale_out {
        Some((at, base)) if now < at + f64::from(cooldown) => base,
        _ => current,
    }
}

/// PercentChangeInCapacity, rounded as AWS documents: above 1 down, between
/// 0 and 1 to 1, between -1 and 0 to -1, below -1 up (toward zero); then at
/// least MinAdjustmentMagnitude.
fn percent_change(capacity: i32, percent: i32, min_magnitude: Option<i32>) -> i32 {
    let raw = f64::from(capacity) * f64::from(percent) / 100.0;
    let mut change = if raw > 0.0 && raw < 1.0 {
        1
    } else if raw < 0.0 && raw > -1.0 {
        -1
    } else {
        raw.trunc() as i32
    };
    if let Some(min) = min_magnitude {
        if change != 0 && change.abs() < min {
            change = min * change.signum();
        }
    }
    change
}

/// The step whose interval holds `breach` (metric minus threshold): above
/// the threshold the lower bound is inclusive and the upper exclusive,
/// below it the other way round (API reference, StepAdjustment). A breach
/// of exactly 0 (also: an alarm set by SetAlarmState, with no value) takes
/// either reading.
fn find_step(steps: &[StepAdjustment], breach: f64) -> Option<&StepAdjustment> {
    steps.iter().find(|s| {
        let lower = s.metric_interval_lower_bound.unwrap_or(f64::NEG_INFINITY);
        let upper = s.metric_interval_upper_bound.unwrap_or(f64::INFINITY);
        let above = lower <= breach && breach < upper;
        let below = lower < breach && breach <= upper;
        if breach > 0.0 {
            above
        } else if breach < 0.0 {
            below
        } else {
            above || below
        }
    })
}

/// Starts the cooldown a scaling from `from` to `to` begins; a scale-out
/// counted from `base` (during a cooldown, the capacity before the scale-out
/// that started it, which the next keeps counting from).
pub(super) fn record_scaling(target: &mut Target, from: i32, to: i32, base: i32, now: f64) {
    if to > from {
        target.cooldowns.scale_out = Some((now, base));
        target.cooldowns.scale_in = None;
    } else if to < from {
        target.cooldowns.scale_in = Some(now);
        target.cooldowns.scale_out = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(lower: Option<f64>, upper: Option<f64>, adjustment: i32) -> StepAdjustment {
        StepAdjustment {
            metric_interval_lower_bound: lower,
            metric_interval_upper_bound: upper,
            scaling_adjustment: Some(adjustment),
        }
    }

    #[test]
    fn steps_are_chosen_by_the_breach_with_aws_bounds() {
        let steps = [step(Some(0.0), Some(10.0), 1), step(Some(10.0), None, 3)];
        assert_eq!(find_step(&steps, 5.0).unwrap().scaling_adjustment, Some(1));
        assert_eq!(find_step(&steps, 10.0).unwrap().scaling_adjustment, Some(3));
        assert_eq!(find_step(&steps, 0.0).unwrap().scaling_adjustment, Some(1));
        assert!(find_step(&steps, -1.0).is_none());
        let down = [
            step(None, Some(-10.0), -2),
            step(Some(-10.0), Some(0.0), -1),
        ];
        assert_eq!(
            find_step(&down, -10.0).unwrap().scaling_adjustment,
            Some(-2)
        );
        assert_eq!(find_step(&down, -5.0).unwrap().scaling_adjustment, Some(-1));
        assert_eq!(find_step(&down, 0.0).unwrap().scaling_adjustment, Some(-1));
    }

    #[test]
    fn percent_changes_round_as_aws_documents() {
        assert_eq!(percent_change(10, 25, None), 2);
        assert_eq!(percent_change(2, 10, None), 1);
        assert_eq!(percent_change(2, -10, None), -1);
        assert_eq!(percent_change(10, -25, None), -2);
        assert_eq!(percent_change(10, 10, Some(3)), 3);
        assert_eq!(percent_change(10, -10, Some(3)), -3);
    }

    #[test]
    fn step_intervals_must_not_overlap_or_leave_gaps() {
        let config = |steps: Vec<StepAdjustment>| StepScalingPolicyConfiguration {
            adjustment_type: Some("ChangeInCapacity".into()),
            step_adjustments: Some(steps),
            ..Default::default()
        };
        assert!(check_step_scaling(&config(vec![
            step(Some(0.0), Some(10.0), 1),
            step(Some(10.0), None, 2)
        ]))
        .is_ok());
        assert!(check_step_scaling(&config(vec![
            step(Some(0.0), Some(10.0), 1),
            step(Some(20.0), None, 2)
        ]))
        .is_err());
        assert!(check_step_scaling(&config(vec![
            step(Some(0.0), Some(10.0), 1),
            step(Some(5.0), None, 2)
        ]))
        .is_err());
        assert!(check_step_scaling(&config(vec![step(Some(5.0), Some(5.0), 1)])).is_err());
        assert!(check_step_scaling(&config(vec![])).is_err());
    }
}
