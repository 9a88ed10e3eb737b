//! RegisterScalableTarget, DeregisterScalableTarget,
//! DescribeScalableTargets, and TagResource, UntagResource,
//! ListTagsForResource on scalable targets (by their ARN).

use super::{
    check_namespace, check_target, error, page_size, page_start, validation, Cooldowns,
    ScalingRegion, Target, DIMENSION, NAMESPACE,
};
use crate::model::application_autoscaling::operations::ErrorCode;
use crate::model::application_autoscaling::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::page_token;
use crate::tags::{self, Rules, TagViolation};
use std::collections::BTreeMap;

/// Creates the target, or changes the one registered (a repeated call
/// updates MinCapacity, MaxCapacity, SuspendedState and RoleARN where
/// given, as AWS does). The ECS service was checked by the caller.
pub(super) fn register(
    r: &mut ScalingRegion,
    ctx: &RequestContext,
    input: RegisterScalableTargetRequest,
    now: f64,
) -> Result<RegisterScalableTargetResponse, ApiError> {
    let resource_id = input.resource_id.clone().unwrap_or_default();
    let given_tags = input.tags.clone().unwrap_or_default();
    check_tags(&given_tags)?;
    for (name, capacity) in [
        ("MinCapacity", input.min_capacity),
        ("MaxCapacity", input.max_capacity),
    ] {
        if capacity.is_some_and(|c| c < 0) {
            // ecsbox's words.
            return Err(validation(format!("{name} must be zero or more.")));
        }
    }
    let existing = r.targets.get(&resource_id);
    let min = input
        .min_capacity
        .or(existing.and_then(|t| t.shape.min_capacity));
    let max = input
        .max_capacity
        .or(existing.and_then(|t| t.shape.max_capacity));
    let (Some(min), Some(max)) = (min, max) else {
        // ecsbox's words: the API reference says both are required to
        // register a new scalable target.
        return Err(validation(
            "MinCapacity and MaxCapacity are required to register a new scalable target.",
        ));
    };
    if min > max {
        // AWS's words.
        return Err(validation(
            "Minimum capacity cannot be greater than maximum capacity",
        ));
    }
    let mut merged = existing.map(|t| t.tags.clone()).unwrap_or_default();
    merged.extend(given_tags);
    check_tags(&merged)?;
    let target = r.targets.entry(resource_id.clone()).or_insert_with(|| {
        let id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            &uuid::Uuid::new_v4().simple().to_string()[..4]
        );
        Target {
            shape: ScalableTarget {
                service_namespace: Some(NAMESPACE.into()),
                resource_id: Some(resource_id.clone()),
                scalable_dimension: Some(DIMENSION.into()),
                role_arn: Some(format!(
                    "arn:aws:iam::{}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
                    ctx.account
                )),
                creation_time: Some(now),
                suspended_state: Some(SuspendedState {
                    dynamic_scaling_in_suspended: Some(false),
                    dynamic_scaling_out_suspended: Some(false),
                    scheduled_scaling_suspended: Some(false),
                }),
                scalable_target_arn: Some(format!(
                    "arn:aws:application-autoscaling:{}:{}:scalable-target/{id}",
                    ctx.region, ctx.account
                )),
                ..Default::default()
            },
            tags: BTreeMap::new(),
            policies: BTreeMap::new(),
            scheduled: BTreeMap::new(),
            cooldowns: Cooldowns::default(),
        }
    });
    target.tags = merged;
    target.shape.min_capacity = Some(min);
    target.shape.max_capacity = Some(max);
    if let Some(role) = input.role_arn {
        target.shape.role_arn = Some(role);
    }
    if let Some(given) = input.suspended_state {
        let state = target
            .shape
            .suspended_state
            .get_or_insert_with(Default::default);
        let keep = |new: Option<bool>, old: Option<bool>| Some(new.or(old).unwrap_or(false));
        state.dynamic_scaling_in_suspended = keep(
            given.dynamic_scaling_in_suspended,
            state.dynamic_scaling_in_suspended,
        );
        state.dynamic_scaling_out_suspended = keep(
            given.dynamic_scaling_out_suspended,
            state.dynamic_scaling_out_suspended,
        );
        state.scheduled_scaling_suspended = keep(
            given.scheduled_scaling_suspended,
            state.scheduled_scaling_suspended,
        );
    }
    Ok(RegisterScalableTargetResponse {
        scalable_target_arn: target.shape.scalable_target_arn.clone(),
    })
}

/// Forgets the target with its policies and scheduled actions; answers
/// the names of the alarms its target tracking policies had.
pub(super) fn deregister(
    r: &mut ScalingRegion,
    input: DeregisterScalableTargetRequest,
) -> Result<Vec<String>, ApiError> {
    let resource_id = input.resource_id.as_deref().unwrap_or_default();
    check_target(
        input.service_namespace.as_deref(),
        Some(resource_id),
        input.scalable_dimension.as_deref(),
    )?;
    let target = r.targets.remove(resource_id).ok_or_else(|| {
        // ecsbox's words, in the form of AWS's "No scalable target registered ...".
        error(
            ErrorCode::ObjectNotFoundException,
            format!("No scalable target found for service namespace: {NAMESPACE}, resource ID: {resource_id}, scalable dimension: {DIMENSION}"),
        )
    })?;
    Ok(target
        .policies
        .values()
        .flat_map(|p| p.alarm_names())
        .collect())
}

pub(super) fn describe(
    r: &mut ScalingRegion,
    input: DescribeScalableTargetsRequest,
) -> Result<DescribeScalableTargetsResponse, ApiError> {
    check_namespace(input.service_namespace.as_deref())?;
    let size = page_size(input.max_results)?;
    let after = page_start(input.next_token.as_deref())?;
    let ids = input.resource_ids.unwrap_or_default();
    let dimension = input.scalable_dimension;
    let matching = r
        .targets
        .iter()
        .filter(|(id, _)| ids.is_empty() || ids.iter().any(|i| i == *id))
        .filter(|_| dimension.as_deref().is_none_or(|d| d == DIMENSION))
        .filter(|(id, _)| after.as_ref().is_none_or(|a| *id > a));
    let (page, next) = page_token::take_page(matching, size, |(id, _)| id.to_string());
    Ok(DescribeScalableTargetsResponse {
        scalable_targets: Some(page.into_iter().map(|(_, t)| t.shape.clone()).collect()),
        next_token: next,
    })
}

fn target_by_arn<'a>(
    r: &'a mut ScalingRegion,
    arn: Option<&str>,
) -> Result<&'a mut Target, ApiError> {
    let arn = arn.unwrap_or_default();
    r.targets
        .values_mut()
        .find(|t| t.shape.scalable_target_arn.as_deref() == Some(arn))
        // ecsbox's words.
        .ok_or_else(|| {
            error(
                ErrorCode::ResourceNotFoundException,
                format!("No scalable target found for ARN {arn}"),
            )
        })
}

/// AWS's tag rules: keys and values within their lengths, no `aws:` keys,
/// at most 50 tags on a target.
fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let rules = Rules {
        reserved_prefix: true,
        ..Rules::default()
    };
    tags::check(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), rules)
        .and_then(|_| tags::check_count(tags.len()))
        .map_err(|v| match v {
            TagViolation::TooMany { .. } => error(
                ErrorCode::TooManyTagsException,
                format!("Too many tags: {v}."),
            ),
            other => validation(format!("Invalid tags: {other}.")),
        })
}

pub(super) fn tag(
    r: &mut ScalingRegion,
    input: TagResourceRequest,
) -> Result<TagResourceResponse, ApiError> {
    let target = target_by_arn(r, input.resource_arn.as_deref())?;
    let mut merged = target.tags.clone();
    merged.extend(input.tags.unwrap_or_default());
    check_tags(&merged)?;
    target.tags = merged;
    Ok(TagResourceResponse {})
}

pub(super) fn untag(
    r: &mut ScalingRegion,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse, ApiError> {
    let target = target_by_arn(r, input.resource_arn.as_deref())?;
    for key in input.tag_keys.unwrap_or_default() {
        target.tags.remove(&key);
    }
    Ok(UntagResourceResponse {})
}

pub(super) fn list_tags(
    r: &mut ScalingRegion,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, ApiError> {
    let target = target_by_arn(r, input.resource_arn.as_deref())?;
    Ok(ListTagsForResourceResponse {
        tags: Some(target.tags.clone()),
    })
}
