//! A repository and its images: what the ECR API describes and the registry
//! serves (`crate::registry`). Both change images through the methods here,
//! so a `docker push` and a PutImage follow the same rules (blobs present,
//! tag mutability, manifest lists whose children exist).

use super::blobs::{digest_of, BlobStore};
use crate::tags::TagSet;
use std::collections::{BTreeMap, BTreeSet, HashSet};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The media types a manifest may have here (Docker schema 1 is gone from
/// ECR too).
pub const MANIFEST_TYPES: [&str; 4] = [
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    OCI_INDEX,
];

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Repository {
    pub name: String,
    pub arn: String,
    pub registry_id: String,
    /// `HOST:PORT/NAME`: where `docker push` sends it.
    pub uri: String,
    pub created_at: f64,
    /// MUTABLE, IMMUTABLE, or one of them `_WITH_EXCLUSION` (then
    /// `tag_mutability_exclusions` are the tags that behave the other way).
    pub tag_mutability: String,
    pub tag_mutability_exclusions: Vec<String>,
    pub scan_on_push: bool,
    pub encryption_type: String,
    pub kms_key: Option<String>,
    /// Images by digest.
    pub images: BTreeMap<String, Image>,
    /// Tag -> digest.
    pub tags: BTreeMap<String, String>,
    /// The blobs this repository may serve: pushed, mounted or uploaded into
    /// it (a layer is readable only where it was pushed, as in ECR).
    pub blobs: HashSet<String>,
    pub policy: Option<String>,
    pub lifecycle_policy: Option<LifecyclePolicy>,
    pub resource_tags: TagSet,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct LifecyclePolicy {
    pub text: String,
    pub last_evaluated_at: Option<f64>,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Image {
    pub digest: String,
    pub manifest: String,
    pub media_type: String,
    /// The config's media type (the artifact's type, for non-images too).
    pub artifact_media_type: Option<String>,
    /// Bytes of its layers; for a manifest list, its largest child's.
    pub size: i64,
    pub pushed_at: f64,
    pub last_pulled_at: Option<f64>,
    /// Who pulled it last for a task: the task's execution role ARN, as
    /// ECS pulls with it (CloudTrail would show that role).
    pub last_pulled_by: Option<String>,
    /// The manifests a manifest list names (they must exist here).
    pub children: Vec<String>,
    /// The blobs an image manifest names (config and layers).
    pub blobs: Vec<String>,
    /// The `subject` digest of a referrer (a signature, an SBOM).
    pub subject: Option<String>,
}

/// Why a manifest is refused; the registry and PutImage each put it in
/// their own words.
#[derive(Debug, PartialEq, Eq)]
pub enum ManifestError {
    /// Not JSON, schema 1, or a media type ECR does not take.
    Invalid(String),
    /// The digest given is not that of the bytes.
    DigestMismatch { given: String, computed: String },
    /// A config or layer the repository does not have.
    BlobUnknown(String),
    /// A child of a manifest list the repository does not have.
    ManifestUnknown(String),
    /// The tag is on another image and may not move.
    TagImmutable { tag: String },
    /// PutImage of an image already there under the same tag (the registry
    /// takes such a push as a no-op).
    AlreadyExists,
}

/// A manifest to store, as the registry's PUT or PutImage brings it.
pub struct NewManifest<'a> {
    pub bytes: &'a [u8],
    /// The request's Content-Type (an OCI manifest may not name its type).
    pub content_type: Option<&'a str>,
    /// The digest the client named (the registry's PUT by digest, PutImage's
    /// imageDigest): it must be that of the bytes.
    pub digest: Option<&'a str>,
    pub tag: Option<&'a str>,
    /// PutImage's rule that the same image under the same tag is an error;
    /// a registry push of it is a no-op.
    pub strict: bool,
}

/// What a stored manifest changed.
pub struct Stored {
    pub digest: String,
    /// Whether the image (by digest) is new to the repository.
    pub new_image: bool,
}

/// What a manifest says, once parsed.
struct Parsed {
    media_type: String,
    artifact_media_type: Option<String>,
    blobs: Vec<(String, i64)>,
    children: Vec<String>,
    subject: Option<String>,
}

/// Whether a manifest would be accepted as `content_type`: for the fuzz
/// targets.
pub fn check_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<(), ManifestError> {
    parse_manifest(bytes, content_type).map(|_| ())
}

fn parse_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, ManifestError> {
    let invalid = |why: &str| ManifestError::Invalid(why.to_string());
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| invalid("the manifest is not valid JSON"))?;
    if doc.get("schemaVersion").and_then(|v| v.as_i64()) != Some(2) {
        return Err(invalid("only schemaVersion 2 manifests are supported"));
    }
    let declared = doc.get("mediaType").and_then(|v| v.as_str());
    let media_type = match (declared, content_type) {
        (Some(t), _) => t.to_string(),
        // OCI manifests may leave mediaType out; the request's
        // Content-Type, or else the document's shape, says which it is.
        (None, Some(t)) if MANIFEST_TYPES.contains(&t) => t.to_string(),
        (None, _) if doc.get("manifests").is_some() => OCI_INDEX.to_string(),
        (None, _) => OCI_MANIFEST.to_string(),
    };
    if !MANIFEST_TYPES.contains(&media_type.as_str()) {
        return Err(ManifestError::Invalid(format!(
            "the manifest media type {media_type} is not supported"
        )));
    }
    let descriptor = |d: &serde_json::Value| -> Result<(String, i64), ManifestError> {
        let digest = d
            .get("digest")
            .and_then(|v| v.as_str())
            .filter(|s| super::blobs::is_digest(s))
            .ok_or_else(|| invalid("a descriptor has no sha256 digest"))?;
        Ok((
            digest.to_string(),
            d.get("size").and_then(|v| v.as_i64()).unwrap_or(0),
        ))
    };
    let subject = match doc.get("subject") {
        Some(s) => Some(descriptor(s)?.0),
        None => None,
    };
    let mut parsed = Parsed {
        media_type: media_type.clone(),
        artifact_media_type: None,
        blobs: Vec::new(),
        children: Vec::new(),
        subject,
    };
    if media_type == DOCKER_MANIFEST_LIST || media_type == OCI_INDEX {
        let manifests = doc
            .get("manifests")
            .and_then(|v| v.as_array())
            .ok_or_else(|| invalid("a manifest list needs a manifests array"))?;
        for m in manifests {
            parsed.children.push(descriptor(m)?.0);
        }
    } else {
        let config = doc
            .get("config")
            .ok_or_else(|| invalid("an image manifest needs a config"))?;
        parsed.blobs.push(descriptor(config)?);
        parsed.artifact_media_type = config
            .get("mediaType")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        for layer in doc
            .get("layers")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            parsed.blobs.push(descriptor(layer)?);
        }
    }
    Ok(parsed)
}

/// `*` matches any run of characters, as ECR's WILDCARD filters do.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(mut tail) = text.strip_prefix(head) else {
                return false;
            };
            loop {
                if wildcard_match(rest, tail) {
                    return true;
                }
                let mut chars = tail.chars();
                if chars.next().is_none() {
                    return false;
                }
                tail = chars.as_str();
            }
        }
    }
}

impl Repository {
    /// An empty repository with ECR's defaults (mutable tags, no scan on
    /// push, AES256 encryption), in the registry `registry_id` (the
    /// account), reached at `registry_host`.
    pub fn new(name: &str, region: &str, registry_id: &str, registry_host: &str, now: f64) -> Self {
        Repository {
            name: name.to_string(),
            arn: format!("arn:aws:ecr:{region}:{registry_id}:repository/{name}"),
            registry_id: registry_id.to_string(),
            uri: format!("{registry_host}/{name}"),
            created_at: now,
            tag_mutability: "MUTABLE".into(),
            tag_mutability_exclusions: Vec::new(),
            scan_on_push: false,
            encryption_type: "AES256".into(),
            kms_key: None,
            images: BTreeMap::new(),
            tags: BTreeMap::new(),
            blobs: HashSet::new(),
            policy: None,
            lifecycle_policy: None,
            resource_tags: TagSet::new(),
        }
    }

    /// Whether `tag` may not be moved to another image.
    pub fn tag_is_immutable(&self, tag: &str) -> bool {
        let excluded = self
            .tag_mutability_exclusions
            .iter()
            .any(|f| wildcard_match(f, tag));
        match self.tag_mutability.as_str() {
            "IMMUTABLE" => true,
            "IMMUTABLE_WITH_EXCLUSION" => !excluded,
            "MUTABLE_WITH_EXCLUSION" => excluded,
            _ => false,
        }
    }

    /// The image a tag or digest names.
    pub fn resolve(&self, reference: &str) -> Option<&Image> {
        let digest = self.tags.get(reference).map_or(reference, String::as_str);
        self.images.get(digest)
    }

    /// The tags of one image, sorted.
    pub fn tags_of(&self, digest: &str) -> Vec<String> {
        self.tags
            .iter()
            .filter(|(_, d)| d.as_str() == digest)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Stores a manifest (under its tag, if it has one).
    pub fn put_manifest(
        &mut self,
        blobs: &BlobStore,
        new: NewManifest<'_>,
        now: f64,
    ) -> Result<Stored, ManifestError> {
        let NewManifest {
            bytes: manifest,
            content_type,
            digest: expected_digest,
            tag,
            strict,
        } = new;
        let digest = digest_of(manifest);
        if let Some(given) = expected_digest {
            if given != digest {
                return Err(ManifestError::DigestMismatch {
                    given: given.to_string(),
                    computed: digest,
                });
            }
        }
        let parsed = parse_manifest(manifest, content_type)?;
        for (blob, _) in &parsed.blobs {
            if !self.blobs.contains(blob) || blobs.size(blob).is_none() {
                return Err(ManifestError::BlobUnknown(blob.clone()));
            }
        }
        for child in &parsed.children {
            if !self.images.contains_key(child) {
                return Err(ManifestError::ManifestUnknown(child.clone()));
            }
        }
        if let Some(tag) = tag {
            match self.tags.get(tag) {
                Some(current) if *current == digest && strict => {
                    return Err(ManifestError::AlreadyExists);
                }
                // The same image under the same tag: nothing moves.
                Some(current) if *current == digest => {}
                Some(_) if self.tag_is_immutable(tag) => {
                    return Err(ManifestError::TagImmutable {
                        tag: tag.to_string(),
                    });
                }
                _ => {}
            }
        }
        let new_image = !self.images.contains_key(&digest);
        if new_image {
            let size = if parsed.children.is_empty() {
                // ECR counts the layers (the config is not part of the size).
                parsed.blobs.iter().skip(1).map(|(_, size)| size).sum()
            } else {
                parsed
                    .children
                    .iter()
                    .filter_map(|c| self.images.get(c))
                    .map(|i| i.size)
                    .max()
                    .unwrap_or(0)
            };
            self.images.insert(
                digest.clone(),
                Image {
                    digest: digest.clone(),
                    manifest: String::from_utf8_lossy(manifest).into_owned(),
                    media_type: parsed.media_type,
                    artifact_media_type: parsed.artifact_media_type,
                    size,
                    pushed_at: now,
                    last_pulled_at: None,
                    last_pulled_by: None,
                    children: parsed.children,
                    blobs: parsed.blobs.into_iter().map(|(d, _)| d).collect(),
                    subject: parsed.subject,
                },
            );
        }
        if let Some(tag) = tag {
            self.tags.insert(tag.to_string(), digest.clone());
        }
        Ok(Stored { digest, new_image })
    }

    /// Whether a manifest list in this repository names the image.
    pub fn is_referenced_by_list(&self, digest: &str) -> bool {
        self.images
            .values()
            .any(|i| i.children.iter().any(|c| c == digest))
    }

    /// Removes an image and every tag on it.
    pub fn delete_image(&mut self, digest: &str) -> Option<Image> {
        let image = self.images.remove(digest)?;
        self.tags.retain(|_, d| d != digest);
        Some(image)
    }

    /// Removes one tag; the image goes with its last tag, as ECR's
    /// BatchDeleteImage does. Returns the image's digest.
    pub fn untag(&mut self, tag: &str) -> Option<String> {
        let digest = self.tags.remove(tag)?;
        if !self.tags.values().any(|d| *d == digest) {
            self.images.remove(&digest);
        }
        Some(digest)
    }

    /// The tags of the whole repository, sorted (the registry's tags list).
    pub fn tag_names(&self) -> BTreeSet<&str> {
        self.tags.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository() -> Repository {
        Repository::new("web", "us-east-1", "000000000000", "localhost:4510", 0.0)
    }

    fn put<'a>(bytes: &'a [u8], tag: Option<&'a str>, strict: bool) -> NewManifest<'a> {
        NewManifest {
            bytes,
            content_type: None,
            digest: None,
            tag,
            strict,
        }
    }

    /// A manifest over one config and one layer, both pushed.
    fn pushed_manifest(repo: &mut Repository, blobs: &BlobStore, layer: &[u8]) -> Vec<u8> {
        let config = blobs.put(b"{}").unwrap();
        let layer_digest = blobs.put(layer).unwrap();
        repo.blobs.insert(config.clone());
        repo.blobs.insert(layer_digest.clone());
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 2},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer_digest, "size": layer.len()}],
        }))
        .unwrap()
    }

    #[test]
    fn a_manifest_is_stored_by_digest_and_tag_with_its_layers_size() {
        let blobs = BlobStore::temporary().unwrap();
        let mut repo = repository();
        let manifest = pushed_manifest(&mut repo, &blobs, b"layer-bytes");
        let stored = repo
            .put_manifest(&blobs, put(&manifest, Some("v1"), false), 1.0)
            .unwrap();
        assert!(stored.new_image);
        let image = repo.resolve("v1").unwrap();
        assert_eq!(image.digest, stored.digest);
        assert_eq!(image.size, 11);
        assert_eq!(
            image.artifact_media_type.as_deref(),
            Some("application/vnd.docker.container.image.v1+json")
        );
        assert!(repo.resolve(&stored.digest).is_some());
    }

    #[test]
    fn a_manifest_naming_a_blob_the_repository_lacks_is_refused() {
        let blobs = BlobStore::temporary().unwrap();
        let mut repo = repository();
        let manifest = pushed_manifest(&mut repo, &blobs, b"layer");
        repo.blobs.clear();
        assert!(matches!(
            repo.put_manifest(&blobs, put(&manifest, None, false), 1.0),
            Err(ManifestError::BlobUnknown(_))
        ));
        assert!(repo.images.is_empty());
    }

    #[test]
    fn an_immutable_tag_does_not_move_but_the_same_push_again_is_fine() {
        let blobs = BlobStore::temporary().unwrap();
        let mut repo = repository();
        repo.tag_mutability = "IMMUTABLE".into();
        let first = pushed_manifest(&mut repo, &blobs, b"one");
        let second = pushed_manifest(&mut repo, &blobs, b"two");
        repo.put_manifest(&blobs, put(&first, Some("v1"), false), 1.0)
            .unwrap();
        repo.put_manifest(&blobs, put(&first, Some("v1"), false), 2.0)
            .unwrap();
        assert_eq!(
            repo.put_manifest(&blobs, put(&first, Some("v1"), true), 2.0)
                .err(),
            Some(ManifestError::AlreadyExists)
        );
        assert_eq!(
            repo.put_manifest(&blobs, put(&second, Some("v1"), false), 3.0)
                .err(),
            Some(ManifestError::TagImmutable { tag: "v1".into() })
        );
    }

    #[test]
    fn exclusion_filters_flip_mutability_for_matching_tags() {
        let mut repo = repository();
        repo.tag_mutability = "IMMUTABLE_WITH_EXCLUSION".into();
        repo.tag_mutability_exclusions = vec!["dev-*".into()];
        assert!(repo.tag_is_immutable("v1"));
        assert!(!repo.tag_is_immutable("dev-42"));
        assert!(wildcard_match("*-rc*", "1.0-rc2"));
        assert!(!wildcard_match("v*", "latest"));
    }

    #[test]
    fn untagging_the_last_tag_deletes_the_image() {
        let blobs = BlobStore::temporary().unwrap();
        let mut repo = repository();
        let manifest = pushed_manifest(&mut repo, &blobs, b"x");
        let d = repo
            .put_manifest(&blobs, put(&manifest, Some("a"), false), 1.0)
            .unwrap()
            .digest;
        repo.put_manifest(&blobs, put(&manifest, Some("b"), false), 1.0)
            .unwrap();
        assert_eq!(repo.untag("a"), Some(d.clone()));
        assert!(repo.images.contains_key(&d));
        assert_eq!(repo.untag("b"), Some(d.clone()));
        assert!(!repo.images.contains_key(&d));
    }

    #[test]
    fn a_manifest_list_needs_its_children_and_takes_their_largest_size() {
        let blobs = BlobStore::temporary().unwrap();
        let mut repo = repository();
        let child = pushed_manifest(&mut repo, &blobs, b"123456");
        let child_digest = digest_of(&child);
        let list = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": child_digest, "size": child.len()}],
        }))
        .unwrap();
        assert_eq!(
            repo.put_manifest(&blobs, put(&list, None, false), 1.0)
                .err(),
            Some(ManifestError::ManifestUnknown(child_digest.clone()))
        );
        repo.put_manifest(&blobs, put(&child, None, false), 1.0)
            .unwrap();
        let stored = repo
            .put_manifest(&blobs, put(&list, Some("multi"), false), 1.0)
            .unwrap();
        assert_eq!(repo.images[&stored.digest].size, 6);
        assert!(repo.is_referenced_by_list(&child_digest));
    }
}
