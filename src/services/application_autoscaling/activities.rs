//! Scaling activities: what each scaling did, in AWS's words (the API
//! reference's DescribeScalingActivities examples):
//!
//! - Description "Setting desired count to 2.", StatusMessage
//!   "Successfully set desired count to 2. Change successfully fulfilled by ecs.";
//! - Cause "monitor alarm NAME in state ALARM triggered policy NAME" (a
//!   policy), "minimum capacity was set to N" / "maximum capacity was set
//!   to N" (a registration or a scheduled action moved the bounds), or
//!   "scheduled action name NAME was triggered" with Description "Setting
//!   min capacity to 1 and max capacity to 5".
//!
//! DescribeScalingActivities answers the newest first. ecsbox keeps the
//! last `KEPT` of each account and region (AWS keeps six weeks).

use super::{check_namespace, page_size, page_start, ScalingRegion, DIMENSION, NAMESPACE};
use crate::model::application_autoscaling::shapes::*;
use crate::protocol::ApiError;
use crate::store::page_token;

const KEPT: usize = 1000;

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Activity {
    shape: ScalingActivity,
}

/// One activity to record.
pub(super) struct Record<'a> {
    pub resource_id: &'a str,
    pub description: String,
    pub cause: String,
    /// `Successful` or `Failed`.
    pub status: &'static str,
    pub message: String,
    /// When it started (epoch seconds); it ends now.
    pub start: f64,
}

pub(super) fn record(r: &mut ScalingRegion, record: Record<'_>) {
    r.activities.push(Activity {
        shape: ScalingActivity {
            activity_id: Some(uuid::Uuid::new_v4().to_string()),
            service_namespace: Some(NAMESPACE.into()),
            resource_id: Some(record.resource_id.into()),
            scalable_dimension: Some(DIMENSION.into()),
            description: Some(record.description),
            cause: Some(record.cause),
            start_time: Some(record.start),
            end_time: Some(crate::clock::now_secs()),
            status_code: Some(record.status.into()),
            status_message: Some(record.message),
            details: None,
            not_scaled_reasons: None,
        },
    });
    if r.activities.len() > KEPT {
        let excess = r.activities.len() - KEPT;
        r.activities.drain(..excess);
    }
}

/// The activities of the namespace (and resource and dimension, when
/// named), newest first, paged by activity id. ecsbox records only the
/// activities that scaled (or failed to), so IncludeNotScaledActivities
/// adds nothing.
pub(super) fn describe(
    r: &mut ScalingRegion,
    input: DescribeScalingActivitiesRequest,
) -> Result<DescribeScalingActivitiesResponse, ApiError> {
    check_namespace(input.service_namespace.as_deref())?;
    let size = page_size(input.max_results)?;
    let after = page_start(input.next_token.as_deref())?;
    let resource = input.resource_id;
    let dimension = input.scalable_dimension;
    let mut newest_first = r
        .activities
        .iter()
        .rev()
        .filter(|a| resource.is_none() || a.shape.resource_id == resource)
        .filter(|_| dimension.as_deref().is_none_or(|d| d == DIMENSION))
        .peekable();
    if let Some(after) = after {
        // Skip up to and including the last activity of the previous page.
        while newest_first
            .next()
            .is_some_and(|a| a.shape.activity_id.as_deref() != Some(after.as_str()))
        {}
    }
    let (page, next) = page_token::take_page(newest_first, size, |a| {
        a.shape.activity_id.clone().unwrap_or_default()
    });
    Ok(DescribeScalingActivitiesResponse {
        scaling_activities: Some(page.into_iter().map(|a| a.shape.clone()).collect()),
        next_token: next,
    })
}
