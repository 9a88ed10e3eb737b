//! TagResource, UntagResource, ListTagsForResource, for file systems
//! (`fs-…`) and access points (`fsap-…`), by id or ARN.

use super::{
    access_point_not_found, file_system_not_found, file_systems::name_tag, id_of, page_size,
    page_start, EfsRegion,
};
use crate::model::efs::shapes::*;
use crate::protocol::ApiError;
use crate::store::page_token;
use crate::tags::{pair_of, TagSet};

/// The tags and name of the resource an id names, or its kind's not-found error.
fn tags_of<'a>(
    r: &'a mut EfsRegion,
    resource: &str,
) -> Result<(&'a mut Option<Vec<Tag>>, &'a mut Option<String>), ApiError> {
    let id = id_of(resource);
    if id.starts_with("fsap-") {
        let ap = r
            .access_points
            .get_mut(id)
            .ok_or_else(|| access_point_not_found(id))?;
        return Ok((&mut ap.description.tags, &mut ap.description.name));
    }
    let fs = r
        .file_systems
        .get_mut(id)
        .ok_or_else(|| file_system_not_found(id))?;
    Ok((&mut fs.description.tags, &mut fs.description.name))
}

/// Changes the resource's tags through the shared `TagSet` (a key given
/// again replaces its value; order of first appearance kept), and keeps the
/// `Name` EFS derives from the `Name` tag in step.
fn change_tags(
    r: &mut EfsRegion,
    resource: &str,
    change: impl FnOnce(&mut TagSet),
) -> Result<(), ApiError> {
    let (tags, name) = tags_of(r, resource)?;
    let mut set = TagSet::from_shapes(tags.as_deref().unwrap_or_default());
    change(&mut set);
    let shapes: Vec<Tag> = set.to_shapes();
    *name = name_tag(&shapes);
    *tags = Some(shapes);
    Ok(())
}

/// Adds the tags, replacing the values of keys already there.
pub(super) fn tag(r: &mut EfsRegion, input: TagResourceRequest) -> Result<(), ApiError> {
    let new: Vec<Tag> = input.tags.unwrap_or_default();
    change_tags(r, input.resource_id.as_deref().unwrap_or_default(), |set| {
        set.merge(new.iter().map(pair_of))
    })
}

pub(super) fn untag(r: &mut EfsRegion, input: UntagResourceRequest) -> Result<(), ApiError> {
    let keys = input.tag_keys.unwrap_or_default();
    change_tags(r, input.resource_id.as_deref().unwrap_or_default(), |set| {
        set.remove_keys(keys.iter().map(String::as_str))
    })
}

// The shared TagSet reads and writes this service's `Tag` shape.
crate::tag_shape!(Tag);

/// The resource's tags in the order they were added, paged by position.
pub(super) fn list(
    r: &mut EfsRegion,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, ApiError> {
    let (tags, _) = tags_of(r, input.resource_id.as_deref().unwrap_or_default())?;
    let after: Option<usize> = match page_start(input.next_token.as_deref(), "NextToken")? {
        Some(position) => Some(position.parse().map_err(|_| {
            super::error(
                crate::model::efs::operations::ErrorCode::BadRequest,
                "The NextToken is not one ecsbox gave.",
            )
        })?),
        None => None,
    };
    let start = after.map_or(0, |a| a + 1);
    let all = tags.as_deref().unwrap_or_default();
    let (page, next_token) = page_token::take_page(
        all.iter().enumerate().skip(start),
        page_size(input.max_results),
        |(i, _)| i.to_string(),
    );
    Ok(ListTagsForResourceResponse {
        tags: Some(page.into_iter().map(|(_, t)| t.clone()).collect()),
        next_token,
    })
}
