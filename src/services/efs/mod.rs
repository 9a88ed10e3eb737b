//! Amazon EFS, the part ECS users need: file systems (and access points) to
//! name in a task definition's `efsVolumeConfiguration`. The service is
//! spoken in rest-json; it is the one that proves `protocol::rest_json`.
//!
//! A file system is a record here; its data is the local Docker volume
//! `ecsbox-efs-<fileSystemId>` that tasks mounting it share
//! (`controllers::volumes`). The handlers never touch Docker (they are
//! synchronous, Docker is not): DeleteFileSystem forgets the record, and
//! the volume goes at reset, with every other volume ecsbox owns.
//!
//! - `file_systems`: CreateFileSystem, DescribeFileSystems, DeleteFileSystem.
//! - `access_points`: CreateAccessPoint, DescribeAccessPoints, DeleteAccessPoint.
//! - `tags`: TagResource, UntagResource, ListTagsForResource (both kinds).

mod access_points;
mod file_systems;
#[rustfmt::skip]
pub mod generated;
mod tags;

use crate::model::efs::operations::ErrorCode;
use crate::model::efs::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::RegionStore;
use generated::EfsApi;
use std::collections::BTreeMap;

pub struct Efs {
    regions: RegionStore<EfsRegion>,
}

// `--state-dir` keeps its regions.
crate::keeps_state_in_regions!(Efs);

crate::aws_service!(Efs, crate::model::efs::operations, generated::dispatch);

/// One account's file systems and access points in one region, by id (the
/// order DescribeFileSystems and DescribeAccessPoints page in).
#[derive(Default)]
struct EfsRegion {
    file_systems: BTreeMap<String, FileSystem>,
    access_points: BTreeMap<String, AccessPoint>,
}

crate::persistent_fields!(EfsRegion, "efs", [file_systems, access_points]);

#[derive(serde::Serialize, serde::Deserialize)]
struct FileSystem {
    /// The request that created it, to tell a retry (same token, same
    /// request) from a conflict (same token, another request).
    request: CreateFileSystemRequest,
    description: FileSystemDescription,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AccessPoint {
    request: CreateAccessPointRequest,
    description: AccessPointDescription,
}

impl Efs {
    pub fn new() -> Self {
        Efs {
            regions: RegionStore::creating(|_, _| EfsRegion::default()),
        }
    }

    /// Forgets every file system and access point (their Docker volumes go
    /// with the rest of ecsbox's at reset).
    pub fn reset(&self) {
        self.regions.reset();
    }

    fn with_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut EfsRegion) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.regions.with(&ctx.account, &ctx.region, f)
    }
}

impl Default for Efs {
    fn default() -> Self {
        Self::new()
    }
}

/// Every operation of the EFS model ecsbox has not built: a `BadRequest`
/// naming it (ecsbox's wording; EFS has no "unsupported operation" error,
/// and `BadRequest` is one every SDK knows).
pub fn not_supported(op: &str) -> ApiError {
    ApiError::protocol(
        ErrorCode::BadRequest.as_str(),
        400,
        format!("ecsbox does not support the {op} operation of EFS yet."),
    )
}

fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::protocol(code.as_str(), code.status(), message)
}

/// A request parameter ecsbox cannot honour (ecsbox's wording).
fn refused(parameter: &str, why: &str) -> ApiError {
    error(
        ErrorCode::BadRequest,
        format!("ecsbox does not support the parameter {parameter}: {why}."),
    )
}

/// AWS's message (as EFS answers it, quoted in Terraform's issues):
/// "File system 'fs-0123456789abcdef0' does not exist."
fn file_system_not_found(id: &str) -> ApiError {
    error(
        ErrorCode::FileSystemNotFound,
        format!("File system '{id}' does not exist."),
    )
}

/// ecsbox's words, by analogy with FileSystemNotFound's.
fn access_point_not_found(id: &str) -> ApiError {
    error(
        ErrorCode::AccessPointNotFound,
        format!("Access point '{id}' does not exist."),
    )
}

/// The id a `FileSystemId`, `AccessPointId` or `ResourceId` names: the
/// model allows the id or its ARN (`...:file-system/fs-...`).
fn id_of(id_or_arn: &str) -> &str {
    match id_or_arn.strip_prefix("arn:") {
        Some(rest) => rest.rsplit_once('/').map_or(id_or_arn, |(_, id)| id),
        None => id_or_arn,
    }
}

fn arn(ctx: &RequestContext, kind: &str, id: &str) -> String {
    format!(
        "arn:aws:elasticfilesystem:{}:{}:{kind}/{id}",
        ctx.region, ctx.account
    )
}

/// How many items a Describe or List page holds when the caller names no
/// MaxItems/MaxResults (AWS: 100).
const DEFAULT_PAGE: usize = 100;

/// The page size asked for (the model already refuses one below 1).
fn page_size(asked: Option<i32>) -> usize {
    asked.map_or(DEFAULT_PAGE, |n| n.max(1) as usize)
}

/// The id after which a page starts, from a `Marker` or `NextToken`
/// ecsbox gave (ecsbox's wording for one it did not).
fn page_start(token: Option<&str>, parameter: &str) -> Result<Option<String>, ApiError> {
    token
        .map(|t| {
            crate::store::page_token::decode(t).ok_or_else(|| {
                error(
                    ErrorCode::BadRequest,
                    format!("The {parameter} '{t}' is not one ecsbox gave."),
                )
            })
        })
        .transpose()
}

impl EfsApi for Efs {
    fn create_file_system(
        &self,
        ctx: &RequestContext,
        input: CreateFileSystemRequest,
    ) -> Result<FileSystemDescription, ApiError> {
        file_systems::check_supported(&input)?;
        self.with_region(ctx, |r| file_systems::create(r, ctx, input))
    }

    fn describe_file_systems(
        &self,
        ctx: &RequestContext,
        input: DescribeFileSystemsRequest,
    ) -> Result<DescribeFileSystemsResponse, ApiError> {
        self.with_region(ctx, |r| file_systems::describe(r, input))
    }

    fn delete_file_system(
        &self,
        ctx: &RequestContext,
        input: DeleteFileSystemRequest,
    ) -> Result<(), ApiError> {
        self.with_region(ctx, |r| file_systems::delete(r, input))
    }

    fn create_access_point(
        &self,
        ctx: &RequestContext,
        input: CreateAccessPointRequest,
    ) -> Result<AccessPointDescription, ApiError> {
        self.with_region(ctx, |r| access_points::create(r, ctx, input))
    }

    fn describe_access_points(
        &self,
        ctx: &RequestContext,
        input: DescribeAccessPointsRequest,
    ) -> Result<DescribeAccessPointsResponse, ApiError> {
        self.with_region(ctx, |r| access_points::describe(r, input))
    }

    fn delete_access_point(
        &self,
        ctx: &RequestContext,
        input: DeleteAccessPointRequest,
    ) -> Result<(), ApiError> {
        self.with_region(ctx, |r| access_points::delete(r, input))
    }

    fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<(), ApiError> {
        self.with_region(ctx, |r| tags::tag(r, input))
    }

    fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<(), ApiError> {
        self.with_region(ctx, |r| tags::untag(r, input))
    }

    fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, ApiError> {
        self.with_region(ctx, |r| tags::list(r, input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate::Validate;
    use crate::services::new_resource_id;

    /// Two of the model's patterns use Java lookahead and are checked
    /// through equivalents (codegen's PATTERN_REWRITES): the same verdicts.
    #[test]
    fn lookahead_patterns_keep_their_meaning() {
        let tag = |key: &str| {
            Tag {
                key: Some(key.into()),
                value: Some("v".into()),
            }
            .validate()
            .is_empty()
        };
        for ok in [
            "Name",
            "a",
            "aw",
            "aws",
            "AWS",
            "awsx:",
            "aw:s",
            "team:aws:x",
            "ä:1",
        ] {
            assert!(tag(ok), "{ok}");
        }
        for refused in ["aws:x", "AWS:", "aWs:cloudformation", ""] {
            assert!(!tag(refused), "{refused}");
        }
        let root = |path: &str| {
            RootDirectory {
                path: Some(path.into()),
                creation_info: None,
            }
            .validate()
            .is_empty()
        };
        for ok in ["/", "/app", "/a/b.c/d", "/a/b/c/d"] {
            assert!(root(ok), "{ok}");
        }
        for refused in ["/.hidden", "/a/.b", "/a/b/c/d/e", "app", "/a*"] {
            assert!(!root(refused), "{refused}");
        }
    }

    #[test]
    fn ids_have_aws_form_and_arns_name_them() {
        let id = new_resource_id("fs");
        assert_eq!(id.len(), 20);
        assert!(id[3..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            id_of(
                "arn:aws:elasticfilesystem:us-east-1:000000000000:file-system/fs-0123456789abcdef0"
            ),
            "fs-0123456789abcdef0"
        );
        assert_eq!(id_of("fs-0123456789abcdef0"), "fs-0123456789abcdef0");
    }
}
