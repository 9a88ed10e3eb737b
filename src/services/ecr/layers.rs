//! The layer API: InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload
//! (a layer pushed over JSON, on the blob store's streamed uploads),
//! BatchCheckLayerAvailability and GetDownloadUrlForLayer.
//!
//! A finished layer is added to the repository's blobs, exactly as a
//! registry push of it would: a PutImage may then name it, and the
//! registry serves it.

use super::blobs::{is_digest, UploadError};
use super::repository::Repository;
use super::{error, refused, Call};
use crate::model::ecr::operations::ErrorCode;
use crate::model::ecr::shapes::*;
use crate::protocol::ApiError;
use base64::Engine;

/// The part size InitiateLayerUpload suggests (a hint: ecsbox takes parts
/// of any size).
const PART_SIZE: i64 = 10 * 1024 * 1024;

/// ecsbox's words; ECR does not document its own.
fn upload_not_found(id: &str, repo: &Repository) -> ApiError {
    error(
        ErrorCode::UploadNotFoundException,
        format!(
            "The upload with id '{id}' does not exist in the repository with name '{}' in the registry with id '{}'",
            repo.name, repo.registry_id
        ),
    )
}

pub(super) fn initiate(
    mut c: Call<'_>,
    input: InitiateLayerUploadRequest,
) -> Result<InitiateLayerUploadResponse, ApiError> {
    let name = c
        .repository(
            input.registry_id.as_deref(),
            input.repository_name.as_deref(),
        )?
        .name
        .clone();
    let id = c.env.blobs.start_upload().map_err(store_error)?;
    c.region.layer_uploads.insert(id.clone(), name);
    Ok(InitiateLayerUploadResponse {
        upload_id: Some(id),
        part_size: Some(PART_SIZE),
    })
}

/// The repository a request names and whether the upload is one of its own.
fn upload_of<'a>(
    c: &'a mut Call<'_>,
    registry_id: Option<&str>,
    name: Option<&str>,
    upload_id: &str,
) -> Result<&'a mut Repository, ApiError> {
    let owner = c.region.layer_uploads.get(upload_id).cloned();
    let repo = c.repository(registry_id, name)?;
    if owner.as_deref() != Some(repo.name.as_str()) {
        return Err(upload_not_found(upload_id, repo));
    }
    Ok(repo)
}

pub(super) fn upload_part(
    mut c: Call<'_>,
    input: UploadLayerPartRequest,
) -> Result<UploadLayerPartResponse, ApiError> {
    let id = input.upload_id.clone().unwrap_or_default();
    let blobs = c.env.blobs;
    let repo = upload_of(
        &mut c,
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
        &id,
    )?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(input.layer_part_blob.as_deref().unwrap_or_default())
        .map_err(|_| refused("layerPartBlob", "it is not base64"))?;
    let first = input.part_first_byte.unwrap_or_default();
    let last = input.part_last_byte.unwrap_or_default();
    let size = blobs
        .upload_size(&id)
        .ok_or_else(|| upload_not_found(&id, repo))? as i64;
    // ecsbox's words: a part must start where the upload ends and span
    // exactly the bytes it carries.
    if first != size || last - first + 1 != bytes.len() as i64 {
        return Err(error(
            ErrorCode::InvalidLayerPartException,
            format!(
                "The layer part with partFirstByte {first} and partLastByte {last} ({} bytes) does not continue the upload '{id}', which holds {size} bytes.",
                bytes.len()
            ),
        ));
    }
    let new_size = blobs
        .append(&id, Some(first as u64), &bytes)
        .map_err(store_error)?;
    Ok(UploadLayerPartResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        upload_id: Some(id),
        last_byte_received: Some(new_size as i64 - 1),
    })
}

pub(super) fn complete(
    mut c: Call<'_>,
    input: CompleteLayerUploadRequest,
) -> Result<CompleteLayerUploadResponse, ApiError> {
    let id = input.upload_id.clone().unwrap_or_default();
    let blobs = c.env.blobs;
    let digests = input.layer_digests.unwrap_or_default();
    let repo = upload_of(
        &mut c,
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
        &id,
    )?;
    let [digest] = digests.as_slice() else {
        return Err(refused(
            "layerDigests",
            "an upload is one layer: name exactly one digest",
        ));
    };
    if !is_digest(digest) {
        return Err(error(
            ErrorCode::InvalidLayerException,
            format!("The layer digest '{digest}' is not a sha256 digest."),
        ));
    }
    if blobs.upload_size(&id) == Some(0) {
        return Err(error(
            ErrorCode::EmptyUploadException,
            format!("The upload '{id}' has no layer parts."),
        ));
    }
    if repo.blobs.contains(digest) && blobs.size(digest).is_some() {
        blobs.cancel(&id);
        let name = repo.name.clone();
        let registry = repo.registry_id.clone();
        c.region.layer_uploads.remove(&id);
        return Err(error(
            ErrorCode::LayerAlreadyExistsException,
            format!(
                "The layer with digest '{digest}' already exists in the repository with name '{name}' in the registry with id '{registry}'"
            ),
        ));
    }
    let finished = blobs.finish(&id, digest);
    let result = match finished {
        Ok(_) => {
            repo.blobs.insert(digest.clone());
            Ok(CompleteLayerUploadResponse {
                registry_id: Some(repo.registry_id.clone()),
                repository_name: Some(repo.name.clone()),
                upload_id: Some(id.clone()),
                layer_digest: Some(digest.clone()),
            })
        }
        Err(UploadError::DigestMismatch { computed }) => Err(error(
            ErrorCode::InvalidLayerException,
            format!("The layer digest '{digest}' does not match the digest of the uploaded bytes, '{computed}'."),
        )),
        Err(UploadError::Unknown) => Err(upload_not_found(&id, repo)),
        Err(e) => Err(store_error(e)),
    };
    // The upload is over either way (the store forgot it).
    c.region.layer_uploads.remove(&id);
    result
}

/// Whether the repository has the layer, and its size.
fn layer_size(c: &Call<'_>, repo: &Repository, digest: &str) -> Option<u64> {
    if repo.blobs.contains(digest) {
        c.env.blobs.size(digest)
    } else {
        None
    }
}

pub(super) fn check_availability(
    mut c: Call<'_>,
    input: BatchCheckLayerAvailabilityRequest,
) -> Result<BatchCheckLayerAvailabilityResponse, ApiError> {
    c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let repo = &c.region.repositories[input.repository_name.as_deref().unwrap_or_default()];
    let mut layers = Vec::new();
    let mut failures = Vec::new();
    for digest in input.layer_digests.unwrap_or_default() {
        if !is_digest(&digest) {
            failures.push(LayerFailure {
                layer_digest: Some(digest.clone()),
                failure_code: Some("InvalidLayerDigest".into()),
                failure_reason: Some(format!("'{digest}' is not a sha256 digest")),
            });
            continue;
        }
        match layer_size(&c, repo, &digest) {
            Some(size) => layers.push(Layer {
                media_type: media_type_of(repo, &digest),
                layer_digest: Some(digest),
                layer_availability: Some("AVAILABLE".into()),
                layer_size: Some(size as i64),
            }),
            None => failures.push(LayerFailure {
                layer_digest: Some(digest),
                failure_code: Some("MissingLayerDigest".into()),
                // ecsbox's words.
                failure_reason: Some("The repository does not have this layer".into()),
            }),
        }
    }
    Ok(BatchCheckLayerAvailabilityResponse {
        layers: Some(layers),
        failures: Some(failures),
    })
}

/// The media type a manifest of the repository gives the blob, if any does.
fn media_type_of(repo: &Repository, digest: &str) -> Option<String> {
    repo.images
        .values()
        .filter(|i| i.blobs.iter().any(|b| b == digest))
        .find_map(|i| {
            let doc: serde_json::Value = serde_json::from_str(&i.manifest).ok()?;
            let config = doc.get("config").into_iter();
            let layers = doc
                .get("layers")
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten();
            config
                .chain(layers)
                .find(|d| d.get("digest").and_then(|v| v.as_str()) == Some(digest))
                .and_then(|d| d.get("mediaType")?.as_str().map(str::to_string))
        })
}

pub(super) fn download_url(
    mut c: Call<'_>,
    input: GetDownloadUrlForLayerRequest,
) -> Result<GetDownloadUrlForLayerResponse, ApiError> {
    c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let repo = &c.region.repositories[input.repository_name.as_deref().unwrap_or_default()];
    let digest = input.layer_digest.unwrap_or_default();
    if layer_size(&c, repo, &digest).is_none() {
        // ecsbox's words.
        return Err(error(
            ErrorCode::LayersNotFoundException,
            format!(
                "The layer with digest '{digest}' does not exist in the repository with name '{}' in the registry with id '{}'",
                repo.name, repo.registry_id
            ),
        ));
    }
    if !repo.images.values().any(|i| i.blobs.contains(&digest)) {
        // ECR: "The specified layer is not available because it is not
        // associated with an image" (API reference); ecsbox's words.
        return Err(error(
            ErrorCode::LayerInaccessibleException,
            format!("The layer with digest '{digest}' is not associated with an image in the repository with name '{}'.", repo.name),
        ));
    }
    Ok(GetDownloadUrlForLayerResponse {
        download_url: Some(format!(
            "http://{}/v2/{}/blobs/{digest}",
            c.env.registry_host, repo.name
        )),
        layer_digest: Some(digest),
    })
}

/// The blob store failed on disk: ECR's ServerException.
fn store_error(e: UploadError) -> ApiError {
    error(
        ErrorCode::ServerException,
        format!("ecsbox could not store the layer: {e:?}"),
    )
}
