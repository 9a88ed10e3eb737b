//! Bodies in and out of the registry without holding a blob in memory:
//! a layer streams from the socket to its upload file in bounded pieces,
//! and from its file back to the socket through a small channel, so a
//! 100 MB push or pull costs a few MiB of memory whatever the layer's size.

use super::errors::RegistryError;
use crate::services::ecr::blobs::{BlobStore, UploadError};
use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Every answer of the registry: small ones in one piece, blobs streamed.
pub type ResponseBody = BoxBody<Bytes, std::io::Error>;

/// How much of a request body is gathered before it is written to the
/// upload file (fewer, larger writes off the async threads).
const WRITE_BATCH: usize = 1024 * 1024;
/// How much one read of a blob file sends.
const READ_CHUNK: usize = 256 * 1024;
/// How many read chunks may wait for a slow client (1 MiB in all).
const READ_AHEAD: usize = 4;

pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty() -> ResponseBody {
    full(Bytes::new())
}

/// `len` bytes of the file at `path` from `start`, read on a blocking
/// thread ahead of the client by at most `READ_AHEAD` chunks (the channel's
/// bound is the back-pressure; a client that goes away ends the reader).
pub fn file(path: PathBuf, start: u64, len: u64) -> std::io::Result<ResponseBody> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(start))?;
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut left = len;
        while left > 0 {
            let mut buf = vec![0u8; READ_CHUNK.min(left as usize)];
            let piece = match f.read(&mut buf) {
                Ok(0) => Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf.truncate(n);
                    left -= n as u64;
                    Ok(Bytes::from(buf))
                }
                Err(e) => Err(e),
            };
            let failed = piece.is_err();
            if tx.blocking_send(piece).is_err() || failed {
                return;
            }
        }
    });
    Ok(FileBody { rx, remaining: len }.boxed())
}

/// The receiving end of `file`: its exact length is known up front, so the
/// answer has a Content-Length (Docker checks it) rather than chunks.
struct FileBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    remaining: u64,
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(bytes))) => {
                self.remaining = self.remaining.saturating_sub(bytes.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            // The reader stopped short (it cannot without an error, but a
            // body must not claim more than it sends).
            Poll::Ready(None) => Poll::Ready(Some(Err(std::io::ErrorKind::UnexpectedEof.into()))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Appends a request body to upload `id` as it arrives, never holding more
/// than `WRITE_BATCH` of it; `at` is where the client said the body starts
/// (its Content-Range), checked against the upload's end by the store.
/// Returns the upload's size afterwards.
pub async fn append_body(
    blobs: &Arc<BlobStore>,
    id: &str,
    mut at: Option<u64>,
    mut body: Incoming,
) -> Result<u64, UploadError> {
    let mut batch = BytesMut::new();
    let mut size = None;
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            // The client went away or broke the framing: what arrived is
            // kept (it may resume from the upload's status).
            Some(Err(e)) => {
                if !batch.is_empty() {
                    write(blobs, id, at.take(), batch.split().freeze()).await?;
                }
                return Err(UploadError::Io(format!("the request body broke off: {e}")));
            }
        };
        if let Ok(data) = frame.into_data() {
            batch.extend_from_slice(&data);
            if batch.len() >= WRITE_BATCH {
                size = Some(write(blobs, id, at.take(), batch.split().freeze()).await?);
            }
        }
    }
    if !batch.is_empty() || at.is_some() {
        size = Some(write(blobs, id, at.take(), batch.freeze()).await?);
    }
    match size {
        Some(size) => Ok(size),
        None => blobs.upload_size(id).ok_or(UploadError::Unknown),
    }
}

/// One append, on a blocking thread (it writes a file).
async fn write(
    blobs: &Arc<BlobStore>,
    id: &str,
    at: Option<u64>,
    chunk: Bytes,
) -> Result<u64, UploadError> {
    let (blobs, id) = (blobs.clone(), id.to_string());
    tokio::task::spawn_blocking(move || blobs.append(&id, at, &chunk))
        .await
        .unwrap_or_else(|e| Err(UploadError::Io(e.to_string())))
}

/// Reads a small body whole (a manifest), refusing one over `limit` bytes.
pub async fn collect_limited(body: Incoming, limit: usize) -> Result<Bytes, RegistryError> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(RegistryError::manifest_invalid(format!(
                "the manifest is larger than the {} MiB a manifest may be",
                limit / (1024 * 1024)
            )))
        }
        Err(e) => Err(RegistryError::manifest_invalid(format!(
            "the request body broke off: {e}"
        ))),
    }
}
