//! AddTags, RemoveTags, DescribeTags, for load balancers, target groups,
//! listeners and rules alike (by ARN), and the tag checks their Create
//! calls share. The rules are `crate::tags`'; the words ELBv2's.

use super::{
    error, listeners_not_found, load_balancers_not_found, rules_not_found, target_groups_not_found,
    validation, Elbv2Region,
};
use crate::model::elbv2::operations::ErrorCode;
use crate::model::elbv2::shapes::*;
use crate::protocol::ApiError;
use crate::tags::{self, pair_of, TagSet, TagViolation};

// The shared TagSet reads and writes this service's `Tag` shape.
crate::tag_shape!(Tag);

/// ELBv2's limit of tags per resource (AWS: 50).
const MAX_TAGS: usize = 50;

/// The tags of a request, checked: a key given twice is
/// `DuplicateTagKeys`, an `aws:` key and more than 50 tags refused.
pub(super) fn checked(given: Option<&[Tag]>) -> Result<TagSet, ApiError> {
    let given = given.unwrap_or_default();
    let rules = tags::Rules {
        characters: false,
        reserved_prefix: true,
        unique_keys: true,
    };
    tags::check(tags::pairs_of(given), rules).map_err(|v| match v {
        // ecsbox's words for both (AWS's are not documented).
        TagViolation::DuplicateKey { key } => error(
            ErrorCode::DuplicateTagKeysException,
            format!("Tag key '{key}' was specified more than once"),
        ),
        other => validation(format!("Invalid tag: {other}")),
    })?;
    let set: TagSet = given.iter().map(pair_of).collect();
    too_many(set.len())?;
    Ok(set)
}

fn too_many(count: usize) -> Result<(), ApiError> {
    if count > MAX_TAGS {
        return Err(error(
            ErrorCode::TooManyTagsException,
            format!(
                "A resource can have at most {MAX_TAGS} tags; this request would give it {count}"
            ),
        ));
    }
    Ok(())
}

/// The tags of the resource an ARN names, or its kind's not-found error.
fn tags_of<'a>(r: &'a mut Elbv2Region, resource: &str) -> Result<&'a mut TagSet, ApiError> {
    let kind = resource
        .rsplit_once(':')
        .map(|(_, res)| res.split('/').next().unwrap_or_default())
        .unwrap_or_default();
    match kind {
        "loadbalancer" => r
            .load_balancers
            .get_mut(resource)
            .map(|x| &mut x.tags)
            .ok_or_else(load_balancers_not_found),
        "targetgroup" => r
            .target_groups
            .get_mut(resource)
            .map(|x| &mut x.tags)
            .ok_or_else(target_groups_not_found),
        "listener" => r
            .listeners
            .get_mut(resource)
            .map(|x| &mut x.tags)
            .ok_or_else(listeners_not_found),
        "listener-rule" => r
            .rules
            .get_mut(resource)
            .map(|x| &mut x.tags)
            .ok_or_else(rules_not_found),
        _ => Err(validation(format!(
            "'{resource}' is not the ARN of a load balancer, target group, listener or rule"
        ))),
    }
}

pub(super) fn add(r: &mut Elbv2Region, input: AddTagsInput) -> Result<AddTagsOutput, ApiError> {
    let new = checked(input.tags.as_deref())?;
    let arns = input.resource_arns.unwrap_or_default();
    // Every resource must exist and stay within the limit before any changes.
    for arn in &arns {
        let set = tags_of(r, arn)?;
        let mut merged = set.clone();
        merged.merge(new.clone());
        too_many(merged.len())?;
    }
    for arn in &arns {
        tags_of(r, arn)?.merge(new.clone());
    }
    Ok(AddTagsOutput {})
}

pub(super) fn remove(
    r: &mut Elbv2Region,
    input: RemoveTagsInput,
) -> Result<RemoveTagsOutput, ApiError> {
    let keys = input.tag_keys.unwrap_or_default();
    let arns = input.resource_arns.unwrap_or_default();
    for arn in &arns {
        tags_of(r, arn)?;
    }
    for arn in &arns {
        tags_of(r, arn)?.remove_keys(keys.iter().map(String::as_str));
    }
    Ok(RemoveTagsOutput {})
}

pub(super) fn describe(
    r: &mut Elbv2Region,
    input: DescribeTagsInput,
) -> Result<DescribeTagsOutput, ApiError> {
    let mut out = Vec::new();
    for arn in input.resource_arns.unwrap_or_default() {
        let tags = tags_of(r, &arn)?.to_shapes();
        out.push(TagDescription {
            resource_arn: Some(arn),
            tags: Some(tags),
        });
    }
    Ok(DescribeTagsOutput {
        tag_descriptions: Some(out),
    })
}
