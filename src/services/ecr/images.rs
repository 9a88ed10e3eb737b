//! DescribeImages, ListImages, BatchGetImage, BatchDeleteImage, PutImage,
//! DescribeImageScanFindings. PutImage stores through
//! `Repository::put_manifest`, the rules a registry push follows too.

use super::repository::{self, ManifestError, NewManifest, Repository};
use super::{
    error, image_id_text, image_not_found, invalid_parameter, page_size, page_start, Call,
};
use crate::model::ecr::operations::ErrorCode;
use crate::model::ecr::shapes::*;
use crate::protocol::ApiError;
use crate::store::page_token;

/// Whether an image with these tags passes a `tagStatus` filter.
fn passes(tag_status: Option<&str>, tags: &[String]) -> bool {
    match tag_status {
        Some("TAGGED") => !tags.is_empty(),
        Some("UNTAGGED") => tags.is_empty(),
        _ => true,
    }
}

/// Every image ecsbox holds is ACTIVE: it has no archive storage class, so
/// an `imageStatus` filter of ARCHIVED or ACTIVATING selects nothing.
fn status_passes(image_status: Option<&str>) -> bool {
    matches!(image_status, None | Some("ACTIVE") | Some("ANY"))
}

fn detail(repo: &Repository, image: &repository::Image) -> ImageDetail {
    let tags = repo.tags_of(&image.digest);
    ImageDetail {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        image_digest: Some(image.digest.clone()),
        image_tags: (!tags.is_empty()).then_some(tags),
        image_size_in_bytes: Some(image.size),
        image_pushed_at: Some(image.pushed_at),
        image_manifest_media_type: Some(image.media_type.clone()),
        artifact_media_type: image.artifact_media_type.clone(),
        last_recorded_pull_time: image.last_pulled_at,
        subject_manifest_digest: image.subject.clone(),
        image_status: Some("ACTIVE".into()),
        ..Default::default()
    }
}

/// The image an id names: by digest, by tag, or by both (then the tag
/// must be on that digest).
fn find<'a>(repo: &'a Repository, id: &ImageIdentifier) -> Option<&'a repository::Image> {
    let by_digest = id.image_digest.as_deref().map(|d| repo.images.get(d));
    let by_tag = id
        .image_tag
        .as_deref()
        .map(|t| repo.tags.get(t).and_then(|d| repo.images.get(d)));
    match (by_digest, by_tag) {
        (Some(d), None) => d,
        (None, Some(t)) => t,
        (Some(Some(d)), Some(Some(t))) if d.digest == t.digest => Some(d),
        _ => None,
    }
}

/// Refuses an id with neither digest nor tag (ecsbox's words).
fn check_id(id: &ImageIdentifier) -> Result<(), ApiError> {
    if id.image_digest.is_none() && id.image_tag.is_none() {
        return Err(invalid_parameter(
            "imageIds",
            "an image id needs an imageDigest or an imageTag",
        ));
    }
    Ok(())
}

fn no_paging_with_ids(
    has_ids: bool,
    max: Option<i32>,
    token: Option<&str>,
) -> Result<(), ApiError> {
    // ECR: maxResults and nextToken cannot be used with imageIds (API
    // reference); ecsbox's words.
    if has_ids && (max.is_some() || token.is_some()) {
        return Err(invalid_parameter(
            "maxResults",
            "maxResults and nextToken cannot be used with imageIds",
        ));
    }
    Ok(())
}

pub(super) fn describe(
    mut c: Call<'_>,
    input: DescribeImagesRequest,
) -> Result<DescribeImagesResponse, ApiError> {
    let account = c.env.account;
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let filter = input.filter.unwrap_or_default();
    let tag_status = filter.tag_status.as_deref();
    let image_status = filter.image_status.as_deref();
    if let Some(ids) = &input.image_ids {
        no_paging_with_ids(true, input.max_results, input.next_token.as_deref())?;
        let mut details: Vec<ImageDetail> = Vec::new();
        for id in ids {
            check_id(id)?;
            let image = find(repo, id).ok_or_else(|| image_not_found(id, &repo.name, account))?;
            let seen = details
                .iter()
                .any(|d| d.image_digest.as_deref() == Some(image.digest.as_str()));
            let tags = repo.tags_of(&image.digest);
            if !seen && passes(tag_status, &tags) && status_passes(image_status) {
                details.push(detail(repo, image));
            }
        }
        return Ok(DescribeImagesResponse {
            image_details: Some(details),
            next_token: None,
        });
    }
    let after = page_start(input.next_token.as_deref())?;
    let images = repo.images.values().filter(|i| {
        after
            .as_ref()
            .is_none_or(|a| i.digest.as_str() > a.as_str())
            && passes(tag_status, &repo.tags_of(&i.digest))
            && status_passes(image_status)
    });
    let (page, next_token) =
        page_token::take_page(images, page_size(input.max_results), |i| i.digest.clone());
    Ok(DescribeImagesResponse {
        image_details: Some(page.into_iter().map(|i| detail(repo, i)).collect()),
        next_token,
    })
}

/// ListImages: one id per tag (digest and tag), and one per untagged
/// image (digest only); in digest order, then tag order.
pub(super) fn list(
    mut c: Call<'_>,
    input: ListImagesRequest,
) -> Result<ListImagesResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let filter = input.filter.unwrap_or_default();
    let tag_status = filter.tag_status.as_deref();
    if !status_passes(filter.image_status.as_deref()) {
        return Ok(ListImagesResponse {
            image_ids: Some(Vec::new()),
            next_token: None,
        });
    }
    let mut ids: Vec<(String, ImageIdentifier)> = Vec::new();
    for digest in repo.images.keys() {
        let tags = repo.tags_of(digest);
        if tags.is_empty() {
            if passes(tag_status, &tags) {
                ids.push((
                    format!("{digest}/"),
                    ImageIdentifier {
                        image_digest: Some(digest.clone()),
                        image_tag: None,
                    },
                ));
            }
            continue;
        }
        if tag_status == Some("UNTAGGED") {
            continue;
        }
        for tag in tags {
            ids.push((
                format!("{digest}/{tag}"),
                ImageIdentifier {
                    image_digest: Some(digest.clone()),
                    image_tag: Some(tag),
                },
            ));
        }
    }
    let after = page_start(input.next_token.as_deref())?;
    let (page, next_token) = page_token::take_page(
        ids.into_iter()
            .filter(|(key, _)| after.as_ref().is_none_or(|a| key > a)),
        page_size(input.max_results),
        |(key, _)| key.clone(),
    );
    Ok(ListImagesResponse {
        image_ids: Some(page.into_iter().map(|(_, id)| id).collect()),
        next_token,
    })
}

fn failure(id: &ImageIdentifier, code: &str, reason: impl Into<String>) -> ImageFailure {
    ImageFailure {
        image_id: Some(id.clone()),
        failure_code: Some(code.into()),
        failure_reason: Some(reason.into()),
    }
}

/// The failure of an id that names no image: "Requested image not found"
/// is AWS's reason (aws/aws-cli#6424); a tag on another digest is
/// ImageTagDoesNotMatchDigest (ecsbox's words).
fn not_found_failure(repo: &Repository, id: &ImageIdentifier) -> ImageFailure {
    if let (Some(digest), Some(tag)) = (&id.image_digest, &id.image_tag) {
        if repo.images.contains_key(digest) && repo.tags.contains_key(tag) {
            return failure(
                id,
                "ImageTagDoesNotMatchDigest",
                format!("The tag '{tag}' is not on the image '{digest}'"),
            );
        }
    }
    failure(id, "ImageNotFound", "Requested image not found")
}

/// An id with neither digest nor tag (ecsbox's words).
fn missing_failure(id: &ImageIdentifier) -> ImageFailure {
    failure(
        id,
        "MissingDigestAndTag",
        "Invalid request parameters: the image id names neither a digest nor a tag",
    )
}

pub(super) fn batch_get(
    mut c: Call<'_>,
    input: BatchGetImageRequest,
) -> Result<BatchGetImageResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let accepted = input.accepted_media_types.unwrap_or_default();
    let mut images = Vec::new();
    let mut failures = Vec::new();
    for id in input.image_ids.unwrap_or_default() {
        if id.image_digest.is_none() && id.image_tag.is_none() {
            failures.push(missing_failure(&id));
            continue;
        }
        let Some(image) = find(repo, &id) else {
            failures.push(not_found_failure(repo, &id));
            continue;
        };
        // ECR converts a Docker manifest to the schema 1 a client may ask
        // for; ecsbox keeps manifests as pushed and cannot.
        if !accepted.is_empty() && !accepted.contains(&image.media_type) {
            return Err(error(
                ErrorCode::UnsupportedImageTypeException,
                format!(
                    "The image {} is a {} manifest, which is not among the acceptedMediaTypes; ecsbox does not convert manifests.",
                    image_id_text(&id),
                    image.media_type
                ),
            ));
        }
        images.push(Image {
            registry_id: Some(repo.registry_id.clone()),
            repository_name: Some(repo.name.clone()),
            image_id: Some(ImageIdentifier {
                image_digest: Some(image.digest.clone()),
                image_tag: id.image_tag.clone(),
            }),
            image_manifest: Some(image.manifest.clone()),
            image_manifest_media_type: Some(image.media_type.clone()),
        });
    }
    Ok(BatchGetImageResponse {
        images: Some(images),
        failures: Some(failures),
    })
}

/// ImageReferencedByManifestList, in ecsbox's words.
fn referenced_failure(id: &ImageIdentifier, digest: &str) -> ImageFailure {
    failure(
        id,
        "ImageReferencedByManifestList",
        format!("Requested image {digest} is referenced by a manifest list in the repository"),
    )
}

/// BatchDeleteImage: by tag, the tag goes (and the image with its last
/// tag); by digest, the image and all its tags. An image a manifest list
/// of the repository names is not deleted.
pub(super) fn batch_delete(
    mut c: Call<'_>,
    input: BatchDeleteImageRequest,
) -> Result<BatchDeleteImageResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for id in input.image_ids.unwrap_or_default() {
        if id.image_digest.is_none() && id.image_tag.is_none() {
            failures.push(missing_failure(&id));
            continue;
        }
        let Some(digest) = find(repo, &id).map(|i| i.digest.clone()) else {
            failures.push(not_found_failure(repo, &id));
            continue;
        };
        match id.image_tag.as_deref() {
            Some(tag) => {
                let last_tag = repo.tags_of(&digest).len() == 1;
                if last_tag && repo.is_referenced_by_list(&digest) {
                    failures.push(referenced_failure(&id, &digest));
                    continue;
                }
                repo.untag(tag);
                deleted.push(ImageIdentifier {
                    image_digest: Some(digest),
                    image_tag: Some(tag.to_string()),
                });
            }
            None => {
                if repo.is_referenced_by_list(&digest) {
                    failures.push(referenced_failure(&id, &digest));
                    continue;
                }
                let tags = repo.tags_of(&digest);
                repo.delete_image(&digest);
                if tags.is_empty() {
                    deleted.push(ImageIdentifier {
                        image_digest: Some(digest.clone()),
                        image_tag: None,
                    });
                }
                for tag in tags {
                    deleted.push(ImageIdentifier {
                        image_digest: Some(digest.clone()),
                        image_tag: Some(tag),
                    });
                }
            }
        }
    }
    Ok(BatchDeleteImageResponse {
        image_ids: Some(deleted),
        failures: Some(failures),
    })
}

pub(super) fn put(mut c: Call<'_>, input: PutImageRequest) -> Result<PutImageResponse, ApiError> {
    let now = c.env.now;
    let blobs = c.env.blobs;
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let manifest = input.image_manifest.unwrap_or_default();
    let given_type = input.image_manifest_media_type.as_deref();
    let declared = serde_json::from_str::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|doc| doc.get("mediaType")?.as_str().map(str::to_string));
    if let (Some(given), Some(declared)) = (given_type, declared.as_deref()) {
        if given != declared {
            return Err(invalid_parameter(
                "imageManifestMediaType",
                &format!("the manifest declares the media type '{declared}', not '{given}'"),
            ));
        }
    }
    let tag = input.image_tag.as_deref();
    let stored = repo
        .put_manifest(
            blobs,
            NewManifest {
                bytes: manifest.as_bytes(),
                content_type: given_type,
                digest: input.image_digest.as_deref(),
                tag,
                strict: true,
            },
            now,
        )
        .map_err(|e| put_error(repo, tag, e))?;
    let image = &repo.images[&stored.digest];
    Ok(PutImageResponse {
        image: Some(Image {
            registry_id: Some(repo.registry_id.clone()),
            repository_name: Some(repo.name.clone()),
            image_id: Some(ImageIdentifier {
                image_digest: Some(stored.digest.clone()),
                image_tag: input.image_tag.clone(),
            }),
            image_manifest: Some(image.manifest.clone()),
            image_manifest_media_type: Some(image.media_type.clone()),
        }),
    })
}

/// A refused manifest in PutImage's exceptions.
fn put_error(repo: &Repository, tag: Option<&str>, e: ManifestError) -> ApiError {
    let (name, registry) = (&repo.name, &repo.registry_id);
    match e {
        ManifestError::Invalid(why) => invalid_parameter("imageManifest", &why),
        // ecsbox's words.
        ManifestError::DigestMismatch { given, computed } => error(
            ErrorCode::ImageDigestDoesNotMatchException,
            format!("The imageDigest '{given}' does not match the digest of the manifest, '{computed}'."),
        ),
        ManifestError::BlobUnknown(digest) => error(
            ErrorCode::LayersNotFoundException,
            format!(
                "The manifest names the layer '{digest}', which the repository with name '{name}' in the registry with id '{registry}' does not have."
            ),
        ),
        ManifestError::ManifestUnknown(digest) => error(
            ErrorCode::ReferencedImagesNotFoundException,
            format!(
                "The manifest list names the image '{digest}', which the repository with name '{name}' in the registry with id '{registry}' does not have."
            ),
        ),
        // AWS's words (moby/buildkit#3776).
        ManifestError::TagImmutable { tag } => error(
            ErrorCode::ImageTagAlreadyExistsException,
            format!(
                "The image tag '{tag}' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable."
            ),
        ),
        // AWS's words (buildkite-plugins/ecr-buildkite-plugin#111).
        ManifestError::AlreadyExists => {
            let digest = repo
                .tags
                .get(tag.unwrap_or_default())
                .cloned()
                .unwrap_or_default();
            error(
                ErrorCode::ImageAlreadyExistsException,
                format!(
                    "Image with digest '{digest}' and tag '{}' already exists in the repository with name '{name}' in registry with id '{registry}'",
                    tag.unwrap_or_default()
                ),
            )
        }
    }
}

/// ecsbox runs no scanner, so no image has findings: ScanNotFoundException
/// (ecsbox's words), after the repository and the image are checked.
pub(super) fn scan_findings(
    mut c: Call<'_>,
    input: DescribeImageScanFindingsRequest,
) -> Result<DescribeImageScanFindingsResponse, ApiError> {
    let account = c.env.account;
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let id = input.image_id.unwrap_or_default();
    check_id(&id)?;
    if find(repo, &id).is_none() {
        return Err(image_not_found(&id, &repo.name, account));
    }
    Err(error(
        ErrorCode::ScanNotFoundException,
        format!(
            "There is no scan of the image with imageId {} in the repository with name '{}': ecsbox records scanOnPush but runs no image scanner.",
            image_id_text(&id),
            repo.name
        ),
    ))
}
