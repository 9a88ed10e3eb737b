//! The registry's blobs: content-addressed files under one directory, so a
//! 100 MB layer streams from the socket to disk and back without ever being
//! held in memory whole.
//!
//! Blobs are shared by every repository of every account (a digest names
//! the same bytes everywhere); which repository may read which blob is the
//! ECR store's business (`services::ecr`), not this one's.
//!
//! Layout under the root: `blobs/<hex>` for finished blobs (sha256 only, the
//! one algorithm Docker and ECR use) and `uploads/<uuid>` for uploads in
//! progress. Without a state directory the root is a fresh directory under
//! the system's temporary directory, removed when ecsbox resets or exits.

use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `sha256:<64 hex>`: the only digest form the store accepts.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The digest of bytes already in memory (manifests, PutImage).
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[derive(Debug, PartialEq, Eq)]
pub enum UploadError {
    /// No upload of this id (never started, finished or cancelled).
    Unknown,
    /// The bytes uploaded do not hash to the digest the client named.
    DigestMismatch {
        computed: String,
    },
    /// A PATCH whose Content-Range does not start where the upload ends.
    OutOfOrder {
        size: u64,
    },
    Io(String),
}

/// An upload in progress: its open file and the running hash of what it
/// holds. Each has a lock of its own, so uploads write in parallel.
struct Upload {
    file: std::fs::File,
    hasher: Sha256,
    size: u64,
}

type UploadSlot = Arc<Mutex<Upload>>;

pub struct BlobStore {
    root: PathBuf,
    /// Whether `root` is ecsbox's own temporary directory (removed on drop).
    temporary: bool,
    uploads: Mutex<HashMap<String, UploadSlot>>,
}

impl BlobStore {
    /// A store in a new directory under the system's temporary directory.
    /// Directories that earlier ecsbox processes left behind (killed
    /// before they could remove theirs) are removed first.
    pub fn temporary() -> std::io::Result<BlobStore> {
        let tmp = std::env::temp_dir();
        remove_orphans(&tmp);
        let root = tmp.join(format!(
            "{TEMPORARY_PREFIX}{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        Self::open(root, true)
    }

    /// A store under `root` (kept: a state directory's).
    pub fn at(root: PathBuf) -> std::io::Result<BlobStore> {
        Self::open(root, false)
    }

    fn open(root: PathBuf, temporary: bool) -> std::io::Result<BlobStore> {
        std::fs::create_dir_all(root.join("blobs"))?;
        // Uploads do not survive a restart (Docker restarts an upload it
        // cannot resume).
        let _ = std::fs::remove_dir_all(root.join("uploads"));
        std::fs::create_dir_all(root.join("uploads"))?;
        Ok(BlobStore {
            root,
            temporary,
            uploads: Mutex::new(HashMap::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a finished blob (which may not exist).
    pub fn path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.root.join("blobs").join(hex)
    }

    /// The size of a finished blob, if the store has it.
    pub fn size(&self, digest: &str) -> Option<u64> {
        if !is_digest(digest) {
            return None;
        }
        std::fs::metadata(self.path(digest)).ok().map(|m| m.len())
    }

    /// Stores bytes already in memory (a manifest, a PutImage body, a small
    /// config); returns their digest.
    pub fn put(&self, bytes: &[u8]) -> Result<String, UploadError> {
        let digest = digest_of(bytes);
        let path = self.path(&digest);
        if !path.exists() {
            let tmp = self.upload_path(&uuid::Uuid::new_v4().to_string());
            std::fs::write(&tmp, bytes).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
        }
        Ok(digest)
    }

    /// Reads a whole blob (manifests and configs, which are small).
    pub fn read(&self, digest: &str) -> Option<Vec<u8>> {
        if !is_digest(digest) {
            return None;
        }
        std::fs::read(self.path(digest)).ok()
    }

    /// Starts an upload; returns its id.
    pub fn start_upload(&self) -> Result<String, UploadError> {
        let id = uuid::Uuid::new_v4().to_string();
        let file = std::fs::File::create(self.upload_path(&id)).map_err(io)?;
        let upload = Upload {
            file,
            hasher: Sha256::new(),
            size: 0,
        };
        self.uploads
            .lock()
            .insert(id.clone(), Arc::new(Mutex::new(upload)));
        Ok(id)
    }

    /// How many bytes an upload holds so far.
    pub fn upload_size(&self, id: &str) -> Option<u64> {
        let slot = self.uploads.lock().get(id).cloned()?;
        let size = slot.lock().size;
        Some(size)
    }

    /// Appends a chunk to an upload. `at`, when the client sent a
    /// Content-Range, is where the chunk starts: it must be the upload's end.
    /// Returns the upload's new size.
    pub fn append(&self, id: &str, at: Option<u64>, chunk: &[u8]) -> Result<u64, UploadError> {
        let slot = self.uploads.lock().get(id).cloned();
        let slot = slot.ok_or(UploadError::Unknown)?;
        let mut upload = slot.lock();
        if let Some(start) = at {
            if start != upload.size {
                return Err(UploadError::OutOfOrder { size: upload.size });
            }
        }
        upload.file.write_all(chunk).map_err(io)?;
        upload.hasher.update(chunk);
        upload.size += chunk.len() as u64;
        Ok(upload.size)
    }

    /// Ends an upload: the bytes must hash to `digest`; the blob is then
    /// stored under it (a blob already there is kept). The upload is gone
    /// either way on a mismatch, as the distribution spec has it.
    pub fn finish(&self, id: &str, digest: &str) -> Result<u64, UploadError> {
        let slot = self.uploads.lock().remove(id).ok_or(UploadError::Unknown)?;
        let (hasher, size) = {
            let mut upload = slot.lock();
            (std::mem::take(&mut upload.hasher), upload.size)
        };
        let computed = format!("sha256:{}", hex::encode(hasher.finalize()));
        let path = self.upload_path(id);
        if computed != digest {
            let _ = std::fs::remove_file(&path);
            return Err(UploadError::DigestMismatch { computed });
        }
        std::fs::rename(&path, self.path(digest)).map_err(io)?;
        Ok(size)
    }

    /// Forgets an upload and its bytes.
    pub fn cancel(&self, id: &str) -> bool {
        let known = self.uploads.lock().remove(id).is_some();
        let _ = std::fs::remove_file(self.upload_path(id));
        known
    }

    /// Removes a finished blob (no repository references it any more).
    pub fn remove(&self, digest: &str) {
        if is_digest(digest) {
            let _ = std::fs::remove_file(self.path(digest));
        }
    }

    /// Removes a temporary store's directory now (at shutdown: the process
    /// may exit without dropping the store).
    pub fn discard(&self) {
        if self.temporary {
            self.uploads.lock().clear();
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    /// Forgets every blob and upload.
    pub fn reset(&self) {
        self.uploads.lock().clear();
        for dir in ["blobs", "uploads"] {
            let _ = std::fs::remove_dir_all(self.root.join(dir));
            let _ = std::fs::create_dir_all(self.root.join(dir));
        }
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }
}

impl Drop for BlobStore {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

const TEMPORARY_PREFIX: &str = "ecsbox-registry-";

/// Removes `ecsbox-registry-<pid>-*` directories under `tmp` whose process
/// is gone.
fn remove_orphans(tmp: &Path) {
    // Whether a process lives is read from /proc (Linux); elsewhere none is
    // taken for gone.
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMPORARY_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn io(e: std::io::Error) -> UploadError {
    UploadError::Io(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_upload_is_stored_under_its_digest() {
        let store = BlobStore::temporary().unwrap();
        let id = store.start_upload().unwrap();
        assert_eq!(store.append(&id, None, b"hello ").unwrap(), 6);
        assert_eq!(store.append(&id, Some(6), b"world").unwrap(), 11);
        let digest = digest_of(b"hello world");
        assert_eq!(store.finish(&id, &digest).unwrap(), 11);
        assert_eq!(store.read(&digest).unwrap(), b"hello world");
        assert_eq!(store.size(&digest), Some(11));
        assert_eq!(store.upload_size(&id), None);
    }

    #[test]
    fn a_chunk_out_of_order_or_a_wrong_digest_is_refused() {
        let store = BlobStore::temporary().unwrap();
        let id = store.start_upload().unwrap();
        store.append(&id, None, b"abc").unwrap();
        assert_eq!(
            store.append(&id, Some(1), b"x"),
            Err(UploadError::OutOfOrder { size: 3 })
        );
        let wrong = digest_of(b"abd");
        assert!(matches!(
            store.finish(&id, &wrong),
            Err(UploadError::DigestMismatch { .. })
        ));
        assert_eq!(store.size(&wrong), None);
        assert_eq!(store.finish(&id, &wrong), Err(UploadError::Unknown));
    }

    #[test]
    fn the_temporary_directory_goes_with_the_store() {
        let store = BlobStore::temporary().unwrap();
        let root = store.root().to_path_buf();
        store.put(b"x").unwrap();
        drop(store);
        assert!(!root.exists());
    }

    #[test]
    fn only_sha256_digests_are_digests() {
        assert!(is_digest(&digest_of(b"")));
        assert!(!is_digest("sha256:abc"));
        assert!(!is_digest("sha512:00"));
        assert!(!is_digest(&digest_of(b"").to_uppercase()));
    }
}
