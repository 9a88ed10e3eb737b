//! Application Auto Scaling for ECS services (`ecs:service:DesiredCount`),
//! over AWS JSON 1.1: scalable targets, target tracking and step scaling
//! policies, scheduled actions and the scaling activities they leave.
//!
//! - `targets`: Register/Deregister/DescribeScalableTargets and the tags of
//!   scalable targets.
//! - `policies`: Put/Describe/DeleteScalingPolicy, the two alarms a target
//!   tracking policy creates (through `alarms::AlarmStore`, CloudWatch's),
//!   and what a policy decides when its alarm fires (capacity math,
//!   cooldowns, suspended scaling).
//! - `scheduled`: Put/Describe/DeleteScheduledAction and which are due;
//!   `schedule` parses at/rate/cron and finds the next time in a time zone.
//! - `activities`: DescribeScalingActivities, in AWS's words.
//!
//! Scaling changes an ECS service's desiredCount through ECS's own
//! UpdateService (the `EcsApi` trait, with a context for the account and
//! region), never by writing ECS's state, so the service scheduler starts
//! and stops tasks exactly as for a user's call. This service's region lock
//! is never held while ECS is called.
//!
//! Time is ecsbox's clock (`crate::clock`): cooldowns compare with it and
//! the scheduler sleeps on it, so a test that advances the clock fires due
//! scheduled actions and ends cooldowns.
//!
//! Other service namespaces (DynamoDB, Lambda, ...) are refused by name:
//! ecsbox serves none of those resources.

mod activities;
pub mod alarms;
pub mod cloudwatch_link;
#[rustfmt::skip]
pub mod generated;
mod policies;
pub mod schedule;
mod scheduled;
mod targets;

use crate::api::EcsApi;
use crate::model::application_autoscaling::operations::ErrorCode;
use crate::model::application_autoscaling::shapes::*;
use crate::model::shapes::{DescribeServicesRequest, UpdateServiceRequest};
use crate::protocol::{ApiError, RequestContext};
use crate::store::RegionStore;
use alarms::{AlarmStore, AlarmTrigger};
use generated::ApplicationAutoScalingApi;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::Notify;

/// The only namespace and dimension ecsbox scales.
pub const NAMESPACE: &str = "ecs";
pub const DIMENSION: &str = "ecs:service:DesiredCount";

pub struct ApplicationAutoScaling {
    regions: RegionStore<ScalingRegion>,
    /// ECS, whose UpdateService changes desired counts.
    ecs: Arc<dyn EcsApi + Send + Sync>,
    /// CloudWatch's alarms, for target tracking policies.
    alarms: Arc<dyn AlarmStore>,
    /// Wakes the scheduler when a scheduled action is put or deleted.
    schedule_changed: Arc<Notify>,
}

// `--state-dir` keeps its regions.
crate::keeps_state_in_regions!(ApplicationAutoScaling);

crate::aws_service!(
    ApplicationAutoScaling,
    crate::model::application_autoscaling::operations,
    generated::dispatch
);

/// One account's scalable targets in one region, by resource id (only
/// `ecs:service:DesiredCount` is served, so the id names the target), and
/// the activities, oldest first.
#[derive(Default)]
pub struct ScalingRegion {
    targets: BTreeMap<String, Target>,
    activities: Vec<activities::Activity>,
}

crate::persistent_fields!(
    ScalingRegion,
    "application-autoscaling",
    [targets, activities]
);

#[derive(serde::Serialize, serde::Deserialize)]
struct Target {
    shape: ScalableTarget,
    tags: BTreeMap<String, String>,
    policies: BTreeMap<String, policies::Policy>,
    scheduled: BTreeMap<String, scheduled::Scheduled>,
    cooldowns: Cooldowns,
}

/// The last scale-out and scale-in, which the cooldowns count from.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Cooldowns {
    /// When the last scale-out was, and the capacity before the scale-out
    /// that started its cooldown (what a scale-out during the cooldown
    /// counts from, so only a larger one adds capacity).
    scale_out: Option<(f64, i32)>,
    /// When the last scale-in was.
    scale_in: Option<f64>,
}

impl ApplicationAutoScaling {
    pub fn new(ecs: Arc<dyn EcsApi + Send + Sync>, alarms: Arc<dyn AlarmStore>) -> Self {
        ApplicationAutoScaling {
            regions: RegionStore::creating(|_, _| ScalingRegion::default()),
            ecs,
            alarms,
            schedule_changed: Arc::new(Notify::new()),
        }
    }

    /// Forgets every target, policy, scheduled action and activity.
    pub fn reset(&self) {
        self.regions.reset();
        self.schedule_changed.notify_one();
    }

    /// The entry point of CloudWatch alarm actions: an alarm whose action
    /// names a scaling policy (`arn:aws:autoscaling:...:scalingPolicy:...`,
    /// with or without the `:createdBy/...` suffix target tracking alarms
    /// carry) changed state. The policy acts on ALARM only. Scaling, if
    /// the policy decides so, goes through ECS's UpdateService and is
    /// recorded as a scaling activity; an action naming no policy is
    /// logged and dropped.
    pub fn alarm_fired(&self, account: &str, region: &str, action_arn: &str, alarm: &AlarmTrigger) {
        if alarm.state != "ALARM" {
            return;
        }
        let policy_arn = action_arn
            .split_once(":createdBy/")
            .map_or(action_arn, |(arn, _)| arn);
        let found = self.regions.with(account, region, |r| {
            r.targets.iter().find_map(|(id, t)| {
                t.policies
                    .values()
                    .find(|p| p.shape.policy_arn.as_deref() == Some(policy_arn))
                    .map(|p| (id.clone(), p.name().to_string()))
            })
        });
        let Some((resource_id, policy_name)) = found else {
            tracing::info!(
                action_arn,
                "an alarm action names no scaling policy ecsbox has"
            );
            return;
        };
        let Some((cluster, service)) = service_of(&resource_id) else {
            return;
        };
        let current = match self.desired_count(account, region, cluster, service) {
            Ok(Some(current)) => current,
            Ok(None) | Err(_) => {
                tracing::info!(resource_id, "the service of a scalable target is gone");
                return;
            }
        };
        let now = crate::clock::now_secs();
        let decision = self.regions.with(account, region, |r| {
            let target = r.targets.get(&resource_id)?;
            let policy = target.policies.get(&policy_name)?;
            policies::decide(target, policy, alarm, current, now)
        });
        let Some(decision) = decision else {
            return;
        };
        if self.set_desired(
            account,
            region,
            &resource_id,
            decision.desired,
            &decision.cause,
        ) {
            self.regions.with(account, region, |r| {
                if let Some(target) = r.targets.get_mut(&resource_id) {
                    policies::record_scaling(target, current, decision.desired, decision.base, now);
                }
            });
        }
    }

    /// Starts the task that fires scheduled actions when they are due on
    /// ecsbox's clock. It holds the service weakly and ends with it.
    pub fn spawn_scheduler(self: &Arc<Self>) {
        let service: Weak<Self> = Arc::downgrade(self);
        let changed = self.schedule_changed.clone();
        tokio::spawn(async move {
            loop {
                let woken = changed.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let next = match service.upgrade() {
                    Some(service) => service.fire_due(),
                    None => return,
                };
                // Nothing scheduled: look again in an hour or when told.
                let deadline = next
                    .map(|secs| UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
                    .unwrap_or_else(|| crate::clock::now_system() + Duration::from_secs(3600));
                tokio::select! {
                    _ = crate::clock::sleep_until(deadline) => {}
                    _ = woken => {}
                }
            }
        });
    }

    /// Fires every scheduled action due now, in every account and region;
    /// answers when the next one is due (epoch seconds).
    pub fn fire_due(&self) -> Option<i64> {
        let now = crate::clock::now_secs();
        let mut next: Option<i64> = None;
        for (account, region) in self.regions.keys() {
            let (firings, region_next) = self
                .regions
                .with(&account, &region, |r| scheduled::fire_due(r, now));
            for firing in firings {
                self.bring_within(
                    &account,
                    &region,
                    &firing.resource_id,
                    None,
                    firing.min,
                    firing.max,
                );
            }
            next = match (next, region_next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        next
    }

    /// The desired count of an ACTIVE ECS service, None when there is no
    /// such service.
    fn desired_count(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> Result<Option<i32>, ApiError> {
        let out = self.ecs.describe_services(
            &ecs_context(account, region),
            DescribeServicesRequest {
                cluster: Some(cluster.into()),
                services: Some(vec![service.into()]),
                include: None,
            },
        )?;
        Ok(out
            .services
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.status.as_deref() == Some("ACTIVE"))
            .map(|s| s.desired_count.unwrap_or(0)))
    }

    /// Sets the service's desired count through ECS's UpdateService and
    /// records the activity; answers whether ECS took it.
    fn set_desired(
        &self,
        account: &str,
        region: &str,
        resource_id: &str,
        desired: i32,
        cause: &str,
    ) -> bool {
        let started = crate::clock::now_secs();
        let Some((cluster, service)) = service_of(resource_id) else {
            return false;
        };
        let result = self.ecs.update_service(
            &ecs_context(account, region),
            UpdateServiceRequest {
                cluster: Some(cluster.into()),
                service: Some(service.into()),
                desired_count: Some(desired),
                ..Default::default()
            },
        );
        let (status, message) = match &result {
            Ok(_) => (
                "Successful",
                format!("Successfully set desired count to {desired}. Change successfully fulfilled by ecs."),
            ),
            Err(e) => (
                "Failed",
                format!("Failed to set desired count to {desired}. {}: {}", e.code, e.message),
            ),
        };
        self.regions.with(account, region, |r| {
            activities::record(
                r,
                activities::Record {
                    resource_id,
                    description: format!("Setting desired count to {desired}."),
                    cause: cause.to_string(),
                    status,
                    message,
                    start: started,
                },
            )
        });
        result.is_ok()
    }

    /// Brings the service's desired count within `min`..=`max` (the
    /// target's, where None), as AWS does when a target is registered or a
    /// scheduled action changes its bounds.
    fn bring_within(
        &self,
        account: &str,
        region: &str,
        resource_id: &str,
        current: Option<i32>,
        min: Option<i32>,
        max: Option<i32>,
    ) {
        let Some((cluster, service)) = service_of(resource_id) else {
            return;
        };
        let current = match current {
            Some(c) => c,
            None => match self.desired_count(account, region, cluster, service) {
                Ok(Some(c)) => c,
                _ => return,
            },
        };
        let bounds = self.regions.with(account, region, |r| {
            r.targets.get(resource_id).map(|t| {
                (
                    min.or(t.shape.min_capacity).unwrap_or(0),
                    max.or(t.shape.max_capacity).unwrap_or(i32::MAX),
                )
            })
        });
        let Some((min, max)) = bounds else {
            return;
        };
        if current < min {
            self.set_desired(
                account,
                region,
                resource_id,
                min,
                &format!("minimum capacity was set to {min}"),
            );
        } else if current > max {
            self.set_desired(
                account,
                region,
                resource_id,
                max,
                &format!("maximum capacity was set to {max}"),
            );
        }
    }

    fn with_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut ScalingRegion) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.regions.with(&ctx.account, &ctx.region, f)
    }
}

/// The context ECS is called in for an account and region: Application
/// Auto Scaling calling on the user's behalf.
fn ecs_context(account: &str, region: &str) -> RequestContext {
    RequestContext {
        account: account.into(),
        region: region.into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        access_key: None,
        host: None,
    }
}

/// (cluster, service) of `service/<cluster>/<service>`.
fn service_of(resource_id: &str) -> Option<(&str, &str)> {
    let rest = resource_id.strip_prefix("service/")?;
    let (cluster, service) = rest.split_once('/')?;
    (!cluster.is_empty() && !service.is_empty() && !service.contains('/'))
        .then_some((cluster, service))
}

/// A CloudWatch alarm as policies name it.
fn alarm_shape(ctx: &RequestContext, name: &str) -> Alarm {
    Alarm {
        alarm_name: Some(name.into()),
        alarm_arn: Some(format!(
            "arn:aws:cloudwatch:{}:{}:alarm:{name}",
            ctx.region, ctx.account
        )),
    }
}

pub fn not_supported(op: &str) -> ApiError {
    error(
        ErrorCode::ValidationException,
        format!("ecsbox does not support the {op} operation of Application Auto Scaling yet."),
    )
}

fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::protocol(code.as_str(), code.status(), message)
}

fn validation(message: impl Into<String>) -> ApiError {
    error(ErrorCode::ValidationException, message)
}

/// Every operation's ServiceNamespace: only `ecs` is served; the others
/// are refused by name (ecsbox's words).
fn check_namespace(namespace: Option<&str>) -> Result<(), ApiError> {
    match namespace.unwrap_or_default() {
        NAMESPACE => Ok(()),
        other => Err(validation(format!(
            "ecsbox supports Application Auto Scaling for the service namespace ecs only (the desired count of ECS services); the service namespace '{other}' is not supported."
        ))),
    }
}

/// The namespace, resource id and dimension of one scalable target:
/// (cluster, service) of an `ecs` target, or AWS's ValidationException
/// ("Unsupported service namespace, resource type or scalable dimension").
fn check_target<'a>(
    namespace: Option<&str>,
    resource_id: Option<&'a str>,
    dimension: Option<&str>,
) -> Result<(&'a str, &'a str), ApiError> {
    check_namespace(namespace)?;
    let unsupported =
        || validation("Unsupported service namespace, resource type or scalable dimension");
    if dimension != Some(DIMENSION) {
        return Err(unsupported());
    }
    service_of(resource_id.unwrap_or_default()).ok_or_else(unsupported)
}

/// AWS's words (PutScalingPolicy, PutScheduledAction on a target not
/// registered; quoted in cloudposse/terraform-aws-ecs-cloudwatch-autoscaling#36).
fn no_target(resource_id: &str) -> ApiError {
    error(
        ErrorCode::ObjectNotFoundException,
        format!("No scalable target registered for service namespace: {NAMESPACE}, resource ID: {resource_id}, scalable dimension: {DIMENSION}"),
    )
}

/// How many items a Describe page holds (AWS: MaxResults 1-50, default 50).
fn page_size(asked: Option<i32>) -> Result<usize, ApiError> {
    match asked {
        None => Ok(50),
        Some(n) if (1..=50).contains(&n) => Ok(n as usize),
        Some(n) => Err(validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50"
        ))),
    }
}

/// The key after which a page starts, from a NextToken ecsbox gave.
fn page_start(token: Option<&str>) -> Result<Option<String>, ApiError> {
    match token {
        None | Some("") => Ok(None),
        Some(t) => crate::store::page_token::decode(t)
            .map(Some)
            .ok_or_else(|| error(ErrorCode::InvalidNextTokenException, "Invalid token")),
    }
}

/// What DescribeScalingPolicies and DescribeScheduledActions select.
struct Filter<'a> {
    resource_id: Option<&'a str>,
    dimension: Option<&'a str>,
    /// Policy or action names; empty: all.
    names: &'a [String],
    max_results: Option<i32>,
    next_token: Option<&'a str>,
}

/// One page of the items of every target (`of` picks which: its policies
/// or its scheduled actions, each by name) the filter selects, in the order
/// of resource id and name (the page token's key).
fn describe_page<'a, T>(
    r: &'a ScalingRegion,
    filter: Filter<'_>,
    of: impl Fn(&'a Target) -> &'a BTreeMap<String, T>,
) -> Result<(Vec<&'a T>, Option<String>), ApiError> {
    let size = page_size(filter.max_results)?;
    let after = page_start(filter.next_token)?;
    let matching = r
        .targets
        .iter()
        .filter(|(id, _)| filter.resource_id.is_none_or(|want| want == id.as_str()))
        .filter(|_| filter.dimension.is_none_or(|d| d == DIMENSION))
        .flat_map(|(id, t)| {
            of(t)
                .iter()
                .map(move |(name, item)| (format!("{id}\n{name}"), name, item))
        })
        .filter(|(_, name, _)| filter.names.is_empty() || filter.names.contains(name))
        .filter(|(key, _, _)| after.as_ref().is_none_or(|a| key > a));
    let (page, next) =
        crate::store::page_token::take_page(matching, size, |(key, _, _)| key.clone());
    Ok((page.into_iter().map(|(_, _, item)| item).collect(), next))
}

impl ApplicationAutoScalingApi for ApplicationAutoScaling {
    fn register_scalable_target(
        &self,
        ctx: &RequestContext,
        input: RegisterScalableTargetRequest,
    ) -> Result<RegisterScalableTargetResponse, ApiError> {
        let resource_id = input.resource_id.clone().unwrap_or_default();
        let (cluster, service) = check_target(
            input.service_namespace.as_deref(),
            Some(resource_id.as_str()),
            input.scalable_dimension.as_deref(),
        )?;
        // AWS's words (quoted by Terraform's provider, which retries on them).
        let current = self
            .desired_count(&ctx.account, &ctx.region, cluster, service)?
            .ok_or_else(|| validation(format!("ECS service doesn't exist: {resource_id}")))?;
        let now = crate::clock::now_secs();
        let out = self.with_region(ctx, |r| targets::register(r, ctx, input, now))?;
        self.bring_within(
            &ctx.account,
            &ctx.region,
            &resource_id,
            Some(current),
            None,
            None,
        );
        Ok(out)
    }

    fn deregister_scalable_target(
        &self,
        ctx: &RequestContext,
        input: DeregisterScalableTargetRequest,
    ) -> Result<DeregisterScalableTargetResponse, ApiError> {
        let alarms = self.with_region(ctx, |r| targets::deregister(r, input))?;
        self.alarms
            .delete_alarms(&ctx.account, &ctx.region, &alarms);
        self.schedule_changed.notify_one();
        Ok(DeregisterScalableTargetResponse {})
    }

    fn describe_scalable_targets(
        &self,
        ctx: &RequestContext,
        input: DescribeScalableTargetsRequest,
    ) -> Result<DescribeScalableTargetsResponse, ApiError> {
        self.with_region(ctx, |r| targets::describe(r, input))
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, ApiError> {
        self.with_region(ctx, |r| targets::tag(r, input))
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, ApiError> {
        self.with_region(ctx, |r| targets::untag(r, input))
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        self.with_region(ctx, |r| targets::list_tags(r, input))
    }

    fn put_scaling_policy(
        &self,
        ctx: &RequestContext,
        input: PutScalingPolicyRequest,
    ) -> Result<PutScalingPolicyResponse, ApiError> {
        let now = crate::clock::now_secs();
        let put = self.with_region(ctx, |r| policies::put(r, ctx, input, now))?;
        self.alarms
            .delete_alarms(&ctx.account, &ctx.region, &put.stale_alarms);
        for alarm in &put.alarms {
            if let Err(e) = self.alarms.put_alarm(&ctx.account, &ctx.region, alarm) {
                // The policy cannot work without its alarms: undo it.
                let names: Vec<String> = put.alarms.iter().map(|a| a.alarm_name.clone()).collect();
                self.alarms.delete_alarms(&ctx.account, &ctx.region, &names);
                self.regions.with(&ctx.account, &ctx.region, |r| {
                    policies::forget(r, &put.resource_id, &put.policy_name)
                });
                return Err(e);
            }
        }
        Ok(put.response)
    }

    fn describe_scaling_policies(
        &self,
        ctx: &RequestContext,
        input: DescribeScalingPoliciesRequest,
    ) -> Result<DescribeScalingPoliciesResponse, ApiError> {
        let mut out = self.with_region(ctx, |r| policies::describe(r, input))?;
        // A step scaling policy's alarms are the user's, in CloudWatch
        // (asked after this service's lock is released).
        for policy in out.scaling_policies.iter_mut().flatten() {
            if policy.policy_type.as_deref() == Some("StepScaling") {
                let arn = policy.policy_arn.as_deref().unwrap_or_default();
                let names = self.alarms.alarms_naming(&ctx.account, &ctx.region, arn);
                policy.alarms = Some(names.iter().map(|name| alarm_shape(ctx, name)).collect());
            }
        }
        Ok(out)
    }

    fn delete_scaling_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteScalingPolicyRequest,
    ) -> Result<DeleteScalingPolicyResponse, ApiError> {
        let alarms = self.with_region(ctx, |r| policies::delete(r, input))?;
        self.alarms
            .delete_alarms(&ctx.account, &ctx.region, &alarms);
        Ok(DeleteScalingPolicyResponse {})
    }

    fn put_scheduled_action(
        &self,
        ctx: &RequestContext,
        input: PutScheduledActionRequest,
    ) -> Result<PutScheduledActionResponse, ApiError> {
        let now = crate::clock::now_secs();
        self.with_region(ctx, |r| scheduled::put(r, ctx, input, now))?;
        self.schedule_changed.notify_one();
        Ok(PutScheduledActionResponse {})
    }

    fn describe_scheduled_actions(
        &self,
        ctx: &RequestContext,
        input: DescribeScheduledActionsRequest,
    ) -> Result<DescribeScheduledActionsResponse, ApiError> {
        self.with_region(ctx, |r| scheduled::describe(r, input))
    }

    fn delete_scheduled_action(
        &self,
        ctx: &RequestContext,
        input: DeleteScheduledActionRequest,
    ) -> Result<DeleteScheduledActionResponse, ApiError> {
        self.with_region(ctx, |r| scheduled::delete(r, input))?;
        self.schedule_changed.notify_one();
        Ok(DeleteScheduledActionResponse {})
    }

    fn describe_scaling_activities(
        &self,
        ctx: &RequestContext,
        input: DescribeScalingActivitiesRequest,
    ) -> Result<DescribeScalingActivitiesResponse, ApiError> {
        self.with_region(ctx, |r| activities::describe(r, input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_name_a_cluster_and_a_service() {
        assert_eq!(service_of("service/default/web"), Some(("default", "web")));
        for bad in [
            "service/default",
            "service//web",
            "service/a/b/c",
            "table/t",
            "",
        ] {
            assert_eq!(service_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn other_namespaces_are_refused_by_name() {
        let err = check_target(
            Some("dynamodb"),
            Some("table/t"),
            Some("dynamodb:table:ReadCapacityUnits"),
        )
        .unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert!(
            err.message.contains("'dynamodb' is not supported"),
            "{}",
            err.message
        );
        let err = check_target(
            Some("ecs"),
            Some("service/c/s"),
            Some("ec2:spot-fleet-request:TargetCapacity"),
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Unsupported service namespace, resource type or scalable dimension"
        );
        assert_eq!(
            check_target(Some("ecs"), Some("service/c/s"), Some(DIMENSION)).unwrap(),
            ("c", "s")
        );
    }
}
