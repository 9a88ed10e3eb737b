//! PutScheduledAction, DescribeScheduledActions, DeleteScheduledAction,
//! and which actions are due. A due action sets the target's min and max
//! capacity (recorded as AWS words it: "Setting min capacity to 1 and max
//! capacity to 5", cause "scheduled action name NAME was triggered"); the
//! service's caller then brings the desired count within them.
//!
//! An action fires once per due time: when ecsbox's clock jumps past
//! several occurrences of a rate or cron, it fires once and its next time
//! is counted from now.

use super::schedule::{self, Schedule};
use super::{
    activities, check_namespace, check_target, describe_page, error, no_target, validation, Filter,
    ScalingRegion,
};
use crate::model::application_autoscaling::operations::ErrorCode;
use crate::model::application_autoscaling::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use jiff::tz::TimeZone;

pub(super) struct Scheduled {
    shape: ScheduledAction,
    schedule: Schedule,
    tz: TimeZone,
    /// When it fires next (epoch seconds); None when it never will again.
    next: Option<i64>,
}

/// On disk (`crate::persistence`): the action as the client gave it and
/// when it fires next; its schedule and time zone are parsed again from it.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedScheduled {
    shape: ScheduledAction,
    next: Option<i64>,
}

impl serde::Serialize for Scheduled {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SavedScheduled {
            shape: self.shape.clone(),
            next: self.next,
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Scheduled {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let saved = SavedScheduled::deserialize(deserializer)?;
        let expression = saved.shape.schedule.as_deref().unwrap_or_default();
        let schedule = schedule::parse(expression).map_err(serde::de::Error::custom)?;
        let tz = schedule::time_zone(saved.shape.timezone.as_deref())
            .map_err(serde::de::Error::custom)?;
        Ok(Scheduled {
            shape: saved.shape,
            schedule,
            tz,
            next: saved.next,
        })
    }
}

impl Scheduled {
    fn name(&self) -> &str {
        self.shape
            .scheduled_action_name
            .as_deref()
            .unwrap_or_default()
    }

    /// The first due time after `after`, within StartTime and EndTime.
    fn next_after(&self, after: i64) -> Option<i64> {
        let start = self.shape.start_time.map(|t| t.ceil() as i64);
        let end = self.shape.end_time.map(|t| t.floor() as i64);
        let anchor = start.unwrap_or_else(|| self.shape.creation_time.unwrap_or_default() as i64);
        let after = start.map_or(after, |s| after.max(s - 1));
        self.schedule
            .next_after(after, anchor, &self.tz)
            .filter(|t| end.is_none_or(|e| *t <= e))
    }
}

/// Creates the action or changes the one of that name (what the request
/// leaves out stays as it was, as AWS documents).
pub(super) fn put(
    r: &mut ScalingRegion,
    ctx: &RequestContext,
    input: PutScheduledActionRequest,
    now: f64,
) -> Result<(), ApiError> {
    let resource_id = input.resource_id.clone().unwrap_or_default();
    check_target(
        input.service_namespace.as_deref(),
        Some(resource_id.as_str()),
        input.scalable_dimension.as_deref(),
    )?;
    let target = r
        .targets
        .get_mut(&resource_id)
        .ok_or_else(|| no_target(&resource_id))?;
    let name = input.scheduled_action_name.clone().unwrap_or_default();
    let old = target.scheduled.get(&name).map(|s| s.shape.clone());
    let merged = ScheduledAction {
        scheduled_action_name: Some(name.clone()),
        scheduled_action_arn: old.as_ref().and_then(|o| o.scheduled_action_arn.clone()).or_else(|| {
            Some(format!(
                "arn:aws:autoscaling:{}:{}:scheduledAction:{}:resource/ecs/{resource_id}:scheduledActionName/{name}",
                ctx.region,
                ctx.account,
                uuid::Uuid::new_v4()
            ))
        }),
        service_namespace: input.service_namespace,
        schedule: input.schedule.or_else(|| old.as_ref().and_then(|o| o.schedule.clone())),
        timezone: input.timezone.or_else(|| old.as_ref().and_then(|o| o.timezone.clone())),
        resource_id: Some(resource_id.clone()),
        scalable_dimension: input.scalable_dimension,
        start_time: input.start_time.or_else(|| old.as_ref().and_then(|o| o.start_time)),
        end_time: input.end_time.or_else(|| old.as_ref().and_then(|o| o.end_time)),
        scalable_target_action: input
            .scalable_target_action
            .or_else(|| old.as_ref().and_then(|o| o.scalable_target_action.clone())),
        creation_time: old.as_ref().and_then(|o| o.creation_time).or(Some(now)),
    };
    // ecsbox's words for what AWS refuses.
    let expression = merged
        .schedule
        .as_deref()
        .ok_or_else(|| validation("Schedule is required to create a scheduled action."))?;
    let parsed = schedule::parse(expression).map_err(validation)?;
    let tz = schedule::time_zone(merged.timezone.as_deref()).map_err(validation)?;
    if let (Some(start), Some(end)) = (merged.start_time, merged.end_time) {
        if start >= end {
            return Err(validation("StartTime must be before EndTime."));
        }
    }
    if let Some(action) = &merged.scalable_target_action {
        if action.min_capacity.is_some_and(|c| c < 0) || action.max_capacity.is_some_and(|c| c < 0)
        {
            return Err(validation(
                "A ScalableTargetAction's capacities must be zero or more.",
            ));
        }
        if let (Some(min), Some(max)) = (action.min_capacity, action.max_capacity) {
            if min > max {
                return Err(validation(
                    "Minimum capacity cannot be greater than maximum capacity",
                ));
            }
        }
    }
    let mut action = Scheduled {
        shape: merged,
        schedule: parsed,
        tz,
        next: None,
    };
    action.next = action.next_after(now.floor() as i64);
    target.scheduled.insert(name, action);
    Ok(())
}

pub(super) fn describe(
    r: &mut ScalingRegion,
    input: DescribeScheduledActionsRequest,
) -> Result<DescribeScheduledActionsResponse, ApiError> {
    check_namespace(input.service_namespace.as_deref())?;
    let names = input.scheduled_action_names.unwrap_or_default();
    let filter = Filter {
        resource_id: input.resource_id.as_deref(),
        dimension: input.scalable_dimension.as_deref(),
        names: &names,
        max_results: input.max_results,
        next_token: input.next_token.as_deref(),
    };
    let (page, next) = describe_page(r, filter, |t| &t.scheduled)?;
    Ok(DescribeScheduledActionsResponse {
        scheduled_actions: Some(page.into_iter().map(|s| s.shape.clone()).collect()),
        next_token: next,
    })
}

pub(super) fn delete(
    r: &mut ScalingRegion,
    input: DeleteScheduledActionRequest,
) -> Result<(), ApiError> {
    let resource_id = input.resource_id.clone().unwrap_or_default();
    check_target(
        input.service_namespace.as_deref(),
        Some(resource_id.as_str()),
        input.scalable_dimension.as_deref(),
    )?;
    let name = input.scheduled_action_name.unwrap_or_default();
    r.targets
        .get_mut(&resource_id)
        .and_then(|t| t.scheduled.remove(&name))
        .map(|_| ())
        .ok_or_else(|| {
            // ecsbox's words, in the form of AWS's "No scalable target registered ...".
            error(
                ErrorCode::ObjectNotFoundException,
                format!("No scheduled action found for service namespace: ecs, resource ID: {resource_id}, scalable dimension: ecs:service:DesiredCount, scheduled action name: {name}"),
            )
        })
}

/// A due action that changed a target's bounds: the desired count is
/// brought within them next.
pub(super) struct Firing {
    pub resource_id: String,
    pub min: Option<i32>,
    pub max: Option<i32>,
}

/// Fires the region's due actions (the bounds change here, under the
/// lock); answers what fired and when the next is due.
pub(super) fn fire_due(r: &mut ScalingRegion, now: f64) -> (Vec<Firing>, Option<i64>) {
    let now_secs = now.floor() as i64;
    let mut firings = Vec::new();
    let mut records = Vec::new();
    for (resource_id, target) in r.targets.iter_mut() {
        let suspended = target
            .shape
            .suspended_state
            .as_ref()
            .and_then(|s| s.scheduled_scaling_suspended)
            == Some(true);
        for action in target.scheduled.values_mut() {
            if action.next.is_none_or(|t| t > now_secs) {
                continue;
            }
            action.next = action.next_after(now_secs);
            if suspended {
                continue;
            }
            let wanted = action
                .shape
                .scalable_target_action
                .clone()
                .unwrap_or_default();
            let min = wanted
                .min_capacity
                .or(target.shape.min_capacity)
                .unwrap_or(0);
            let max = wanted
                .max_capacity
                .or(target.shape.max_capacity)
                .unwrap_or(0);
            let what = match (wanted.min_capacity, wanted.max_capacity) {
                (Some(min), Some(max)) => {
                    format!("min capacity to {min} and max capacity to {max}")
                }
                (Some(min), None) => format!("min capacity to {min}"),
                (None, Some(max)) => format!("max capacity to {max}"),
                (None, None) => continue,
            };
            let cause = format!("scheduled action name {} was triggered", action.name());
            let (status, message) = if min > max {
                (
                    "Failed",
                    format!("Failed to set {what}: the minimum capacity would be greater than the maximum capacity"),
                )
            } else {
                target.shape.min_capacity = Some(min);
                target.shape.max_capacity = Some(max);
                firings.push(Firing {
                    resource_id: resource_id.clone(),
                    min: Some(min),
                    max: Some(max),
                });
                ("Successful", format!("Successfully set {what}"))
            };
            records.push((
                resource_id.clone(),
                format!("Setting {what}"),
                cause,
                status,
                message,
            ));
        }
    }
    for (resource_id, description, cause, status, message) in records {
        activities::record(
            r,
            activities::Record {
                resource_id: &resource_id,
                description,
                cause,
                status,
                message,
                start: now,
            },
        );
    }
    let next = r
        .targets
        .values()
        .flat_map(|t| t.scheduled.values())
        .filter_map(|s| s.next)
        .min();
    (firings, next)
}
