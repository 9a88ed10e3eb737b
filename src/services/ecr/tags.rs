//! TagResource, UntagResource, ListTagsForResource, on repositories by
//! ARN (`arn:aws:ecr:REGION:ACCOUNT:repository/NAME`), the one taggable
//! resource of ECR ecsbox has; and the tag checks CreateRepository shares.

use super::repository::Repository;
use super::{error, invalid_parameter, repository_not_found, Call};
use crate::model::ecr::operations::ErrorCode;
use crate::model::ecr::shapes::*;
use crate::protocol::ApiError;
use crate::tags::{self, pair_of, pairs_of, Rules, TagSet, TagViolation};

// The shared TagSet reads and writes this service's `Tag` shape.
crate::tag_shape!(Tag);

/// ECR's tag rules: lengths, AWS's characters, no `aws:` prefix.
const RULES: Rules = Rules {
    characters: true,
    reserved_prefix: true,
    unique_keys: false,
};

/// A broken rule in ECR's exceptions; the words are ecsbox's.
fn violation(v: TagViolation) -> ApiError {
    match v {
        TagViolation::TooMany { count } => error(
            ErrorCode::TooManyTagsException,
            format!(
                "A repository may have at most {} tags; this request would give it {count}.",
                tags::MAX_TAGS_PER_RESOURCE
            ),
        ),
        other => error(
            ErrorCode::InvalidTagParameterException,
            format!("Invalid tag: {other}."),
        ),
    }
}

/// The tags a CreateRepository gives, checked.
pub(super) fn checked_new(given: &[Tag]) -> Result<TagSet, ApiError> {
    tags::check(pairs_of(given), RULES).map_err(violation)?;
    TagSet::new()
        .merged_within_limit(given.iter().map(pair_of))
        .map_err(violation)
}

/// The repository an ARN names, in the caller's account and region.
fn repository<'a>(c: &'a mut Call<'_>, arn: &str) -> Result<&'a mut Repository, ApiError> {
    let name = arn
        .strip_prefix("arn:")
        .and_then(|rest| {
            let mut parts = rest.splitn(5, ':');
            let (_partition, service, region, account, resource) = (
                parts.next()?,
                parts.next()?,
                parts.next()?,
                parts.next()?,
                parts.next()?,
            );
            let name = resource.strip_prefix("repository/")?;
            (service == "ecr" && !name.is_empty()).then_some((region, account, name))
        })
        .ok_or_else(|| {
            invalid_parameter(
                "resourceArn",
                &format!("'{arn}' is not the ARN of an ECR repository"),
            )
        })?;
    let (region, account, name) = name;
    let (my_region, my_account) = (c.env.region, c.env.account);
    let repo = if region == my_region && account == my_account {
        c.region.repositories.get_mut(name)
    } else {
        None
    };
    repo.ok_or_else(|| repository_not_found(name, account))
}

pub(super) fn tag(
    mut c: Call<'_>,
    input: TagResourceRequest,
) -> Result<TagResourceResponse, ApiError> {
    let given = input.tags.unwrap_or_default();
    let repo = repository(&mut c, input.resource_arn.as_deref().unwrap_or_default())?;
    tags::check(pairs_of(&given), RULES).map_err(violation)?;
    repo.resource_tags = repo
        .resource_tags
        .merged_within_limit(given.iter().map(pair_of))
        .map_err(violation)?;
    Ok(TagResourceResponse {})
}

pub(super) fn untag(
    mut c: Call<'_>,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse, ApiError> {
    let keys = input.tag_keys.unwrap_or_default();
    let repo = repository(&mut c, input.resource_arn.as_deref().unwrap_or_default())?;
    repo.resource_tags
        .remove_keys(keys.iter().map(String::as_str));
    Ok(UntagResourceResponse {})
}

pub(super) fn list(
    mut c: Call<'_>,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, ApiError> {
    let repo = repository(&mut c, input.resource_arn.as_deref().unwrap_or_default())?;
    Ok(ListTagsForResourceResponse {
        tags: Some(repo.resource_tags.to_shapes()),
    })
}
