//! CreateAccessPoint, DescribeAccessPoints, DeleteAccessPoint.
//!
//! An access point's `PosixUser` and `RootDirectory` are recorded and
//! reported back; a task that mounts through an access point mounts the
//! file system's root (`controllers::volumes` says so), which README's
//! "Known differences" lists.

use super::{
    access_point_not_found, arn, error, file_system_not_found, id_of, page_size, page_start,
    AccessPoint, EfsRegion,
};
use crate::model::efs::operations::ErrorCode;
use crate::model::efs::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::services::new_resource_id;
use crate::store::page_token;

/// Creates the access point, or answers the one a retry of the same request
/// (same `ClientToken`) created; the same token with another request is
/// `AccessPointAlreadyExists`.
pub(super) fn create(
    r: &mut EfsRegion,
    ctx: &RequestContext,
    input: CreateAccessPointRequest,
) -> Result<AccessPointDescription, ApiError> {
    let token = input.client_token.clone().unwrap_or_default();
    if let Some(existing) = r
        .access_points
        .values()
        .find(|ap| ap.description.client_token.as_deref() == Some(token.as_str()))
    {
        if existing.request == input {
            return Ok(existing.description.clone());
        }
        let id = existing
            .description
            .access_point_id
            .clone()
            .unwrap_or_default();
        // ecsbox's words (AWS's are not documented).
        return Err(error(
            ErrorCode::AccessPointAlreadyExists,
            format!("Access point '{id}' already exists with client token '{token}'."),
        ));
    }
    let file_system_id = id_of(input.file_system_id.as_deref().unwrap_or_default()).to_string();
    if !r.file_systems.contains_key(&file_system_id) {
        return Err(file_system_not_found(&file_system_id));
    }
    let id = new_resource_id("fsap");
    let tags = input.tags.clone().unwrap_or_default();
    let description = AccessPointDescription {
        client_token: Some(token),
        name: super::file_systems::name_tag(&tags),
        tags: Some(tags),
        access_point_id: Some(id.clone()),
        access_point_arn: Some(arn(ctx, "access-point", &id)),
        file_system_id: Some(file_system_id),
        posix_user: input.posix_user.clone(),
        // EFS reports "/" for an access point created without one.
        root_directory: Some(
            input
                .root_directory
                .clone()
                .unwrap_or_else(|| RootDirectory {
                    path: Some("/".into()),
                    creation_info: None,
                }),
        ),
        owner_id: Some(ctx.account.clone()),
        life_cycle_state: Some("available".into()),
    };
    r.access_points.insert(
        id,
        AccessPoint {
            request: input,
            description: description.clone(),
        },
    );
    Ok(description)
}

pub(super) fn describe(
    r: &EfsRegion,
    input: DescribeAccessPointsRequest,
) -> Result<DescribeAccessPointsResponse, ApiError> {
    let wanted = input.access_point_id.as_deref().map(id_of);
    if let Some(id) = wanted.filter(|id| !r.access_points.contains_key(*id)) {
        return Err(access_point_not_found(id));
    }
    let file_system = input.file_system_id.as_deref().map(id_of);
    if let Some(id) = file_system.filter(|id| !r.file_systems.contains_key(*id)) {
        return Err(file_system_not_found(id));
    }
    let after = page_start(input.next_token.as_deref(), "NextToken")?;
    let matching = r.access_points.iter().filter(|(id, ap)| {
        wanted.is_none_or(|w| w == id.as_str())
            && file_system.is_none_or(|f| ap.description.file_system_id.as_deref() == Some(f))
            && after.as_ref().is_none_or(|a| *id > a)
    });
    let (page, next_token) =
        page_token::take_page(matching, page_size(input.max_results), |(id, _)| {
            id.to_string()
        });
    Ok(DescribeAccessPointsResponse {
        access_points: Some(
            page.into_iter()
                .map(|(_, ap)| ap.description.clone())
                .collect(),
        ),
        next_token,
    })
}

pub(super) fn delete(r: &mut EfsRegion, input: DeleteAccessPointRequest) -> Result<(), ApiError> {
    let id = id_of(input.access_point_id.as_deref().unwrap_or_default()).to_string();
    r.access_points
        .remove(&id)
        .map(|_| ())
        .ok_or_else(|| access_point_not_found(&id))
}
