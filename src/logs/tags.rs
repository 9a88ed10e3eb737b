//! Tags of log groups: by ARN (TagResource, UntagResource,
//! ListTagsForResource) and by name (the older TagLogGroup, UntagLogGroup,
//! ListTagsLogGroup). Both name the same tags.

use super::errors::group_not_found;
use super::store::{GroupRecord, LogsRegion};
use super::validation;
use crate::model::logs::shapes::*;
use crate::protocol::ApiError;
use std::collections::BTreeMap;

fn group_by_arn<'a>(
    state: &'a mut LogsRegion,
    arn: Option<&str>,
) -> Result<&'a mut GroupRecord, ApiError> {
    let name = validation::group_from_arn(state, arn.unwrap_or_default())?;
    state.groups.get_mut(&name).ok_or_else(group_not_found)
}

fn group_by_name<'a>(
    state: &'a mut LogsRegion,
    name: Option<&str>,
) -> Result<&'a mut GroupRecord, ApiError> {
    let name = name.unwrap_or_default();
    state.groups.get_mut(name).ok_or_else(group_not_found)
}

/// Adds or overwrites tags; nothing changes when the result would be invalid.
fn add(group: &mut GroupRecord, tags: BTreeMap<String, String>) -> Result<(), ApiError> {
    validation::tags(&tags)?;
    group.tags = group
        .tags
        .merged_within_limit(tags)
        .map_err(validation::tag_error)?;
    Ok(())
}

pub fn tag_resource(state: &mut LogsRegion, input: TagResourceRequest) -> Result<(), ApiError> {
    let group = group_by_arn(state, input.resource_arn.as_deref())?;
    add(group, input.tags.unwrap_or_default())
}

pub fn untag_resource(state: &mut LogsRegion, input: UntagResourceRequest) -> Result<(), ApiError> {
    let group = group_by_arn(state, input.resource_arn.as_deref())?;
    group
        .tags
        .remove_keys(input.tag_keys.iter().flatten().map(String::as_str));
    Ok(())
}

pub fn list_tags_for_resource(
    state: &mut LogsRegion,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, ApiError> {
    let group = group_by_arn(state, input.resource_arn.as_deref())?;
    Ok(ListTagsForResourceResponse {
        tags: Some(group.tags.to_map()),
    })
}

pub fn tag_log_group(state: &mut LogsRegion, input: TagLogGroupRequest) -> Result<(), ApiError> {
    let group = group_by_name(state, input.log_group_name.as_deref())?;
    add(group, input.tags.unwrap_or_default())
}

pub fn untag_log_group(
    state: &mut LogsRegion,
    input: UntagLogGroupRequest,
) -> Result<(), ApiError> {
    let group = group_by_name(state, input.log_group_name.as_deref())?;
    group
        .tags
        .remove_keys(input.tags.iter().flatten().map(String::as_str));
    Ok(())
}

pub fn list_tags_log_group(
    state: &mut LogsRegion,
    input: ListTagsLogGroupRequest,
) -> Result<ListTagsLogGroupResponse, ApiError> {
    let group = group_by_name(state, input.log_group_name.as_deref())?;
    Ok(ListTagsLogGroupResponse {
        tags: Some(group.tags.to_map()),
    })
}
