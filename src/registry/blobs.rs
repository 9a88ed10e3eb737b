//! Layers and configs in and out: blob HEAD/GET (streamed from its file,
//! with a single byte range if asked), and uploads: started by POST (or
//! done in one POST with `?digest=`, or mounted from another repository
//! with `?mount=&from=`), fed by PATCH (in order, from where the upload
//! ends), looked at by GET (to resume), ended by PUT `?digest=` and
//! cancelled by DELETE.
//!
//! A blob is readable in a repository once it was pushed or mounted there
//! (`Repository::blobs`), as in ECR, even though the bytes are stored once.

use super::body::{self, ResponseBody};
use super::errors::RegistryError;
use super::routes::{query, query_value};
use super::Ctx;
use crate::services::ecr::blobs::{is_digest, UploadError};
use crate::services::ecr::token::TokenHolder;
use http::{header, HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::collections::HashMap;

/// Which repository (of which account and region) an upload was started
/// in; the bytes themselves are the blob store's.
#[derive(Default)]
pub struct Uploads {
    owners: parking_lot::Mutex<HashMap<String, Owner>>,
}

#[derive(PartialEq, Eq)]
struct Owner {
    account: String,
    region: String,
    repository: String,
}

impl Uploads {
    fn insert(&self, id: &str, holder: &TokenHolder, repository: &str) {
        self.owners
            .lock()
            .insert(id.to_string(), owner(holder, repository));
    }

    /// Whether upload `id` is this caller's, in this repository.
    fn owned(&self, id: &str, holder: &TokenHolder, repository: &str) -> bool {
        self.owners.lock().get(id) == Some(&owner(holder, repository))
    }

    fn remove(&self, id: &str) {
        self.owners.lock().remove(id);
    }
}

fn owner(holder: &TokenHolder, repository: &str) -> Owner {
    Owner {
        account: holder.account.clone(),
        region: holder.region.clone(),
        repository: repository.to_string(),
    }
}

/// HEAD or GET of a blob the repository may serve.
pub fn get(
    ctx: &Ctx<'_>,
    name: &str,
    digest: &str,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response<ResponseBody>, RegistryError> {
    if !is_digest(digest) {
        return Err(RegistryError::digest_invalid(format!(
            "{digest} is not a sha256 digest"
        )));
    }
    let size = ctx
        .repo(name, |repo, blobs| {
            repo.blobs
                .contains(digest)
                .then(|| blobs.size(digest))
                .flatten()
        })?
        .ok_or_else(|| RegistryError::blob_unknown(digest))?;
    let builder = Response::builder()
        .header("docker-content-digest", digest)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, format!("\"{digest}\""));
    // One range at most (what the engine asks to resume a pull); a Range
    // this does not understand is ignored and the whole blob is sent.
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| byte_range(v, size));
    let (status, start, len, builder) = match range {
        None => (StatusCode::OK, 0, size, builder),
        Some(Err(())) => {
            return Err(RegistryError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UNKNOWN",
                "the requested range is not in the blob",
            )
            .with_header(header::CONTENT_RANGE, format!("bytes */{size}")))
        }
        Some(Ok((start, end))) => (
            StatusCode::PARTIAL_CONTENT,
            start,
            end - start + 1,
            builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")),
        ),
    };
    let body = if head || len == 0 {
        body::empty()
    } else {
        body::file(ctx.blobs().path(digest), start, len).map_err(RegistryError::internal)?
    };
    Ok(builder
        .status(status)
        .header(header::CONTENT_LENGTH, len)
        .body(body)
        .expect("valid headers"))
}

/// `bytes=S-E` or `bytes=S-` within a blob of `size` bytes: Some(Ok) with
/// the inclusive range, Some(Err) when it is outside the blob, None when it
/// is not a single byte range.
fn byte_range(value: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let (start, end) = value.trim().strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = match end.trim() {
        "" => size.saturating_sub(1),
        end => end.parse().ok()?,
    };
    if start >= size || end < start {
        return Some(Err(()));
    }
    Some(Ok((start, end.min(size - 1))))
}

/// POST `/blobs/uploads/`: a mount, a monolithic upload, or the start of
/// a chunked one.
pub async fn start(
    ctx: &Ctx<'_>,
    name: &str,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, RegistryError> {
    let q = query(req.uri());
    // Pushing needs the repository (ECR does not create one on push).
    ctx.repo(name, |_, _| ())?;
    if let Some(digest) = query_value(&q, "mount").filter(|d| is_digest(d)) {
        if let Some(from) = query_value(&q, "from") {
            if mount(ctx, name, digest, from)? {
                return Ok(created(name, digest));
            }
        }
        // Not there to mount: the spec's fallback, an ordinary upload.
    }
    let blobs = ctx.blobs();
    let id = blobs.start_upload().map_err(upload_error)?;
    ctx.uploads.insert(&id, &ctx.holder, name);
    let Some(digest) = query_value(&q, "digest") else {
        return Ok(accepted(name, &id, 0, StatusCode::ACCEPTED));
    };
    // Monolithic: the whole blob in this request's body.
    let digest = digest.to_string();
    if !is_digest(&digest) {
        blobs.cancel(&id);
        ctx.uploads.remove(&id);
        return Err(RegistryError::digest_invalid(format!(
            "{digest} is not a sha256 digest"
        )));
    }
    let appended = body::append_body(blobs, &id, None, req.into_body()).await;
    if let Err(e) = appended {
        blobs.cancel(&id);
        ctx.uploads.remove(&id);
        return Err(upload_error(e));
    }
    complete(ctx, name, &id, &digest)
}

/// Adds `digest` to repository `name` if the caller's repository `from`
/// may serve it; false when it may not (or does not exist).
fn mount(ctx: &Ctx<'_>, name: &str, digest: &str, from: &str) -> Result<bool, RegistryError> {
    let present = ctx
        .ecr
        .with_repository(&ctx.holder, from, |repo, blobs| {
            repo.blobs.contains(digest) && blobs.size(digest).is_some()
        })
        .unwrap_or(false);
    if present {
        ctx.repo(name, |repo, _| repo.blobs.insert(digest.to_string()))?;
    }
    Ok(present)
}

/// GET of an upload: how much it holds, so a client resumes from there.
pub fn status(
    ctx: &Ctx<'_>,
    name: &str,
    id: &str,
) -> Result<Response<ResponseBody>, RegistryError> {
    let size = upload_size(ctx, name, id)?;
    Ok(accepted(name, id, size, StatusCode::NO_CONTENT))
}

/// PATCH: one more chunk, which must start where the upload ends.
pub async fn patch(
    ctx: &Ctx<'_>,
    name: &str,
    id: &str,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, RegistryError> {
    let size = upload_size(ctx, name, id)?;
    let at = content_range_start(req.headers(), name, id, size)?;
    // Checked before the body is read, so an out-of-order chunk is refused
    // at once; the store checks again as it appends (two PATCHes at once).
    if let Some(start) = at {
        if start != size {
            return Err(out_of_order(name, id, size));
        }
    }
    match body::append_body(ctx.blobs(), id, at, req.into_body()).await {
        Ok(size) => Ok(accepted(name, id, size, StatusCode::ACCEPTED)),
        Err(UploadError::OutOfOrder { size }) => Err(out_of_order(name, id, size)),
        Err(e) => Err(upload_error(e)),
    }
}

/// PUT `?digest=`: the last chunk (if the body has one), then the blob is
/// checked against its digest and stored.
pub async fn finish(
    ctx: &Ctx<'_>,
    name: &str,
    id: &str,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, RegistryError> {
    let size = upload_size(ctx, name, id)?;
    let q = query(req.uri());
    let digest = query_value(&q, "digest")
        .ok_or_else(|| RegistryError::digest_invalid("the upload's digest parameter is missing"))?
        .to_string();
    if !is_digest(&digest) {
        return Err(RegistryError::digest_invalid(format!(
            "{digest} is not a sha256 digest"
        )));
    }
    let at = content_range_start(req.headers(), name, id, size)?;
    match body::append_body(ctx.blobs(), id, at, req.into_body()).await {
        Ok(_) => {}
        Err(UploadError::OutOfOrder { size }) => return Err(out_of_order(name, id, size)),
        Err(e) => return Err(upload_error(e)),
    }
    complete(ctx, name, id, &digest)
}

/// DELETE of an upload: its bytes go.
pub fn cancel(
    ctx: &Ctx<'_>,
    name: &str,
    id: &str,
) -> Result<Response<ResponseBody>, RegistryError> {
    upload_size(ctx, name, id)?;
    ctx.blobs().cancel(id);
    ctx.uploads.remove(id);
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(body::empty())
        .expect("valid headers"))
}

/// Stores a finished upload as `digest` and lets the repository serve it.
fn complete(
    ctx: &Ctx<'_>,
    name: &str,
    id: &str,
    digest: &str,
) -> Result<Response<ResponseBody>, RegistryError> {
    let finished = ctx.blobs().finish(id, digest);
    // Finished or refused, the upload is over (the store forgot it).
    ctx.uploads.remove(id);
    match finished {
        Ok(_) => {}
        Err(UploadError::DigestMismatch { computed }) => {
            return Err(RegistryError::digest_invalid(
                "provided digest did not match uploaded content",
            )
            .with_detail(serde_json::json!({ "digest": digest, "computed": computed })))
        }
        Err(e) => return Err(upload_error(e)),
    }
    ctx.repo(name, |repo, _| repo.blobs.insert(digest.to_string()))?;
    Ok(created(name, digest))
}

/// The size of an upload this caller started in this repository.
fn upload_size(ctx: &Ctx<'_>, name: &str, id: &str) -> Result<u64, RegistryError> {
    ctx.repo(name, |_, _| ())?;
    if !ctx.uploads.owned(id, &ctx.holder, name) {
        return Err(RegistryError::upload_unknown());
    }
    ctx.blobs().upload_size(id).ok_or_else(|| {
        // Gone from the store (a reset): forget it here too.
        ctx.uploads.remove(id);
        RegistryError::upload_unknown()
    })
}

/// Where a chunk's Content-Range (`<start>-<end>`, or the HTTP form
/// `bytes <start>-<end>/<total>`) says it starts.
fn content_range_start(
    headers: &HeaderMap,
    name: &str,
    id: &str,
    size: u64,
) -> Result<Option<u64>, RegistryError> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let parsed = value.to_str().ok().and_then(|v| {
        let v = v.trim();
        let v = v.strip_prefix("bytes ").unwrap_or(v);
        let range = v.split('/').next()?;
        let (start, end) = range.split_once('-')?;
        let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
        (end >= start).then_some(start)
    });
    parsed.map(Some).ok_or_else(|| out_of_order(name, id, size))
}

/// 416 for a chunk that does not start where the upload ends, with the
/// upload's Range and Location so the client can carry on from there.
fn out_of_order(name: &str, id: &str, size: u64) -> RegistryError {
    RegistryError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "BLOB_UPLOAD_INVALID",
        format!("the chunk does not start where the upload ends (byte {size})"),
    )
    .with_header(header::LOCATION, upload_location(name, id))
    .with_header(header::RANGE, range(size))
    .with_header(
        http::HeaderName::from_static("docker-upload-uuid"),
        id.to_string(),
    )
}

fn upload_error(e: UploadError) -> RegistryError {
    match e {
        UploadError::Unknown => RegistryError::upload_unknown(),
        UploadError::DigestMismatch { computed } => RegistryError::digest_invalid(format!(
            "provided digest did not match uploaded content ({computed})"
        )),
        UploadError::OutOfOrder { size } => RegistryError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UPLOAD_INVALID",
            format!("the chunk does not start where the upload ends (byte {size})"),
        ),
        UploadError::Io(why) => RegistryError::internal(why),
    }
}

/// Where an upload continues; relative, as the spec allows, so it holds
/// whatever host name the client used.
fn upload_location(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

/// The upload's `Range` header: `0-<last byte>` (`0-0` when empty).
fn range(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// 202 (or 204 for a status) for an upload in progress.
fn accepted(name: &str, id: &str, size: u64, status: StatusCode) -> Response<ResponseBody> {
    Response::builder()
        .status(status)
        .header(header::LOCATION, upload_location(name, id))
        .header(header::RANGE, range(size))
        .header("docker-upload-uuid", id)
        .header(header::CONTENT_LENGTH, 0)
        .body(body::empty())
        .expect("valid headers")
}

/// 201 for a blob now in the repository.
fn created(name: &str, digest: &str) -> Response<ResponseBody> {
    Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/blobs/{digest}"))
        .header("docker-content-digest", digest)
        .header(header::CONTENT_LENGTH, 0)
        .body(body::empty())
        .expect("valid headers")
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn single_byte_ranges_are_read_and_bounded() {
        assert_eq!(byte_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(byte_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(byte_range("bytes=90-500", 100), Some(Ok((90, 99))));
        assert_eq!(byte_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
    }
}
