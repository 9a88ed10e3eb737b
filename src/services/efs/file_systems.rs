//! CreateFileSystem, DescribeFileSystems, DeleteFileSystem.

use super::{
    arn, error, file_system_not_found, id_of, page_size, page_start, refused, EfsRegion, FileSystem,
};
use crate::model::efs::operations::ErrorCode;
use crate::model::efs::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::services::new_resource_id;
use crate::store::page_token;

/// What EFS reports when the caller names none (API reference, CreateFileSystem).
const DEFAULT_PERFORMANCE_MODE: &str = "generalPurpose";
const DEFAULT_THROUGHPUT_MODE: &str = "bursting";

/// Refuses the settings a local Docker volume cannot honour. Accepted, and
/// reported back as given, are the ones that only describe the file system:
/// `PerformanceMode` and `ThroughputMode` `bursting` or `elastic` (a local
/// volume has no performance or throughput policy to keep or break),
/// `Encrypted: false`, `Backup: false` and tags.
pub(super) fn check_supported(input: &CreateFileSystemRequest) -> Result<(), ApiError> {
    if input.encrypted == Some(true) {
        return Err(refused(
            "Encrypted",
            "a file system's data is a local Docker volume, not encrypted at rest",
        ));
    }
    if input.kms_key_id.is_some() {
        return Err(refused(
            "KmsKeyId",
            "a file system's data is a local Docker volume, not encrypted at rest",
        ));
    }
    if input.throughput_mode.as_deref() == Some("provisioned") {
        return Err(refused(
            "ThroughputMode",
            "provisioned throughput cannot be provided by a local Docker volume",
        ));
    }
    if input.provisioned_throughput_in_mibps.is_some() {
        return Err(refused(
            "ProvisionedThroughputInMibps",
            "provisioned throughput cannot be provided by a local Docker volume",
        ));
    }
    if input.availability_zone_name.is_some() {
        return Err(refused("AvailabilityZoneName", "One Zone file systems need Availability Zones; a file system here is a local Docker volume"));
    }
    if input.backup == Some(true) {
        return Err(refused(
            "Backup",
            "there is no AWS Backup to take automatic backups",
        ));
    }
    Ok(())
}

/// Creates the file system, or answers the one a retry of the same request
/// (same `CreationToken`) already created: the token makes the call
/// idempotent. The same token with another request is `FileSystemAlreadyExists`.
pub(super) fn create(
    r: &mut EfsRegion,
    ctx: &RequestContext,
    input: CreateFileSystemRequest,
) -> Result<FileSystemDescription, ApiError> {
    let token = input.creation_token.clone().unwrap_or_default();
    if let Some(existing) = r
        .file_systems
        .values()
        .find(|fs| fs.description.creation_token.as_deref() == Some(token.as_str()))
    {
        if existing.request == input {
            return Ok(existing.description.clone());
        }
        let id = existing
            .description
            .file_system_id
            .clone()
            .unwrap_or_default();
        // ecsbox's words (AWS's are not documented); AWS's error has a
        // FileSystemId member, which here the message names instead.
        return Err(error(
            ErrorCode::FileSystemAlreadyExists,
            format!("File system '{id}' already exists with creation token '{token}'."),
        ));
    }
    let id = new_resource_id("fs");
    let tags = input.tags.clone().unwrap_or_default();
    let description = FileSystemDescription {
        owner_id: Some(ctx.account.clone()),
        creation_token: Some(token),
        file_system_id: Some(id.clone()),
        file_system_arn: Some(arn(ctx, "file-system", &id)),
        creation_time: Some(crate::clock::now_secs().floor()),
        // No provisioning to wait for: usable at once.
        life_cycle_state: Some("available".into()),
        name: name_tag(&tags),
        number_of_mount_targets: Some(0),
        // The data is a Docker volume, whose size these synchronous handlers
        // do not measure: reported as empty.
        size_in_bytes: Some(FileSystemSize {
            value: Some(0),
            value_in_standard: Some(0),
            value_in_ia: Some(0),
            value_in_archive: Some(0),
            timestamp: None,
        }),
        performance_mode: Some(
            input
                .performance_mode
                .clone()
                .unwrap_or_else(|| DEFAULT_PERFORMANCE_MODE.into()),
        ),
        encrypted: Some(false),
        throughput_mode: Some(
            input
                .throughput_mode
                .clone()
                .unwrap_or_else(|| DEFAULT_THROUGHPUT_MODE.into()),
        ),
        tags: Some(tags),
        file_system_protection: Some(FileSystemProtectionDescription {
            replication_overwrite_protection: Some("ENABLED".into()),
        }),
        ..FileSystemDescription::default()
    };
    r.file_systems.insert(
        id,
        FileSystem {
            request: input,
            description: description.clone(),
        },
    );
    Ok(description)
}

/// EFS reports a file system's `Name` tag as its `Name`.
pub(super) fn name_tag(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|t| t.key.as_deref() == Some("Name"))
        .and_then(|t| t.value.clone())
}

pub(super) fn describe(
    r: &EfsRegion,
    input: DescribeFileSystemsRequest,
) -> Result<DescribeFileSystemsResponse, ApiError> {
    let wanted = input.file_system_id.as_deref().map(id_of);
    if let Some(id) = wanted.filter(|id| !r.file_systems.contains_key(*id)) {
        return Err(file_system_not_found(id));
    }
    let after = page_start(input.marker.as_deref(), "Marker")?;
    let matching = r.file_systems.iter().filter(|(id, fs)| {
        wanted.is_none_or(|w| w == id.as_str())
            && input
                .creation_token
                .as_ref()
                .is_none_or(|t| fs.description.creation_token.as_ref() == Some(t))
            && after.as_ref().is_none_or(|a| *id > a)
    });
    let (page, next_marker) =
        page_token::take_page(matching, page_size(input.max_items), |(id, _)| {
            id.to_string()
        });
    Ok(DescribeFileSystemsResponse {
        marker: input.marker,
        file_systems: Some(
            page.into_iter()
                .map(|(_, fs)| fs.description.clone())
                .collect(),
        ),
        next_marker,
    })
}

/// Forgets the file system and its access points. EFS refuses to delete a
/// file system with mount targets (`FileSystemInUse`); ecsbox has none.
pub(super) fn delete(r: &mut EfsRegion, input: DeleteFileSystemRequest) -> Result<(), ApiError> {
    let id = id_of(input.file_system_id.as_deref().unwrap_or_default()).to_string();
    if r.file_systems.remove(&id).is_none() {
        return Err(file_system_not_found(&id));
    }
    r.access_points
        .retain(|_, ap| ap.description.file_system_id.as_deref() != Some(id.as_str()));
    Ok(())
}
