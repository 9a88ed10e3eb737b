//! Images by tag or digest: PUT stores a manifest through the same rules
//! as ECR's PutImage (`Repository::put_manifest`: blobs pushed here first,
//! children of an index present, immutable tags kept); GET and HEAD serve
//! the stored bytes as they were pushed, under their own media type (ECR
//! answers with what it stores rather than converting for `Accept`);
//! DELETE removes an image by digest, or one tag.

use super::body::{self, ResponseBody};
use super::errors::RegistryError;
use super::routes::is_tag;
use super::Ctx;
use crate::services::ecr::blobs::is_digest;
use crate::services::ecr::repository::{ManifestError, NewManifest};
use http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;

/// ECR's limit on a manifest's size.
const MANIFEST_LIMIT: usize = 4 * 1024 * 1024;

enum Reference<'a> {
    Tag(&'a str),
    Digest(&'a str),
}

fn reference(text: &str) -> Result<Reference<'_>, RegistryError> {
    if text.contains(':') {
        if is_digest(text) {
            return Ok(Reference::Digest(text));
        }
        return Err(RegistryError::digest_invalid(format!(
            "{text} is not a sha256 digest"
        )));
    }
    if is_tag(text) {
        Ok(Reference::Tag(text))
    } else {
        Err(RegistryError::tag_invalid(format!(
            "'{text}' is not a valid tag"
        )))
    }
}

pub async fn put(
    ctx: &Ctx<'_>,
    name: &str,
    reference_text: &str,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, RegistryError> {
    let (tag, digest) = match reference(reference_text)? {
        Reference::Tag(tag) => (Some(tag), None),
        Reference::Digest(digest) => (None, Some(digest)),
    };
    // The repository first: a push to a missing one says so, whatever the
    // body holds.
    ctx.repo(name, |_, _| ())?;
    // Only the media type, not its parameters (`; charset=utf-8`).
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
    let bytes = body::collect_limited(req.into_body(), MANIFEST_LIMIT).await?;
    let now = crate::clock::now_secs();
    let stored = ctx
        .repo(name, |repo, blobs| {
            repo.put_manifest(
                blobs,
                NewManifest {
                    bytes: &bytes,
                    content_type: content_type.as_deref(),
                    digest,
                    tag,
                    strict: false,
                },
                now,
            )
        })?
        .map_err(|e| manifest_error(e, name))?;
    Ok(Response::builder()
        .status(StatusCode::CREATED)
        .header(
            header::LOCATION,
            format!("/v2/{name}/manifests/{}", stored.digest),
        )
        .header("docker-content-digest", &stored.digest)
        .header(header::CONTENT_LENGTH, 0)
        .body(body::empty())
        .expect("valid headers"))
}

fn manifest_error(e: ManifestError, name: &str) -> RegistryError {
    match e {
        ManifestError::Invalid(why) => RegistryError::manifest_invalid(why),
        ManifestError::DigestMismatch { given, computed } => RegistryError::digest_invalid(
            "provided digest did not match uploaded content",
        )
        .with_detail(serde_json::json!({ "digest": given, "computed": computed })),
        ManifestError::BlobUnknown(digest) => RegistryError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(serde_json::json!({ "digest": digest })),
        ManifestError::ManifestUnknown(digest) => RegistryError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_UNKNOWN",
            format!("the manifest list names {digest}, which is not in the repository"),
        )
        .with_detail(serde_json::json!({ "digest": digest })),
        // ECR's words, as `docker push` prints them ("tag invalid: The
        // image tag 'v1' already exists in the 'web' repository and cannot
        // be overwritten because the repository is immutable.").
        ManifestError::TagImmutable { tag } => RegistryError::tag_invalid(format!(
            "The image tag '{tag}' already exists in the '{name}' repository and cannot be overwritten because the repository is immutable."
        )),
        // Only PutImage's strict mode refuses the same push twice.
        ManifestError::AlreadyExists => {
            RegistryError::internal("an unexpected duplicate image error")
        }
    }
}

/// GET or HEAD by tag or digest; a GET counts as a pull.
pub fn get(
    ctx: &Ctx<'_>,
    name: &str,
    reference_text: &str,
    head: bool,
) -> Result<Response<ResponseBody>, RegistryError> {
    let reference_text = match reference(reference_text)? {
        Reference::Tag(t) | Reference::Digest(t) => t,
    };
    let now = crate::clock::now_secs();
    let found = ctx.repo(name, |repo, _| {
        let digest = repo.resolve(reference_text)?.digest.clone();
        let image = repo.images.get_mut(&digest)?;
        if !head {
            image.last_pulled_at = Some(now);
        }
        Some((
            image.digest.clone(),
            image.media_type.clone(),
            image.manifest.clone().into_bytes(),
        ))
    })?;
    let (digest, media_type, manifest) = found.ok_or_else(RegistryError::manifest_unknown)?;
    let len = manifest.len();
    let body = if head {
        body::empty()
    } else {
        body::full(manifest)
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, media_type)
        .header("docker-content-digest", &digest)
        .header(header::ETAG, format!("\"{digest}\""))
        .header(header::CONTENT_LENGTH, len)
        .body(body)
        .expect("valid headers"))
}

/// DELETE by digest removes the image and its tags; by tag, only the tag
/// (and the image with its last tag, as ECR's BatchDeleteImage by tag).
pub fn delete(
    ctx: &Ctx<'_>,
    name: &str,
    reference_text: &str,
) -> Result<Response<ResponseBody>, RegistryError> {
    let reference = reference(reference_text)?;
    let outcome = ctx.repo(name, |repo, _| match reference {
        Reference::Digest(digest) => {
            if !repo.images.contains_key(digest) {
                return Err(RegistryError::manifest_unknown());
            }
            // A child of an index in the repository stays while the index
            // does (ECR's BatchDeleteImage refuses it too; its wording).
            if repo.is_referenced_by_list(digest) {
                return Err(RegistryError::new(
                    StatusCode::CONFLICT,
                    "DENIED",
                    format!("Requested image referenced by manifest list: [{digest}]"),
                ));
            }
            repo.delete_image(digest);
            Ok(())
        }
        Reference::Tag(tag) => repo
            .untag(tag)
            .map(drop)
            .ok_or_else(RegistryError::manifest_unknown),
    })?;
    outcome?;
    Ok(Response::builder()
        .status(StatusCode::ACCEPTED)
        .header(header::CONTENT_LENGTH, 0)
        .body(body::empty())
        .expect("valid headers"))
}
