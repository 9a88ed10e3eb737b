//! PutLifecyclePolicy, GetLifecyclePolicy, DeleteLifecyclePolicy,
//! StartLifecyclePolicyPreview, GetLifecyclePolicyPreview, and applying
//! the policies (`Ecr::apply_lifecycle_policies`). The rules themselves are
//! `lifecycle_policy`'s.
//!
//! A preview is evaluated when it is started, so it is COMPLETE at once
//! (ECR's runs in the background; the `LifecyclePolicyPreviewComplete`
//! waiter sees it done on its first poll).

use super::lifecycle_policy::{self, ImageFacts, PolicyError};
use super::repository::{LifecyclePolicy, Repository};
use super::{error, image_id_text, invalid_parameter, page_start, refused, Call, EcrRegion};
use crate::model::ecr::operations::ErrorCode;
use crate::model::ecr::shapes::*;
use crate::protocol::ApiError;
use crate::store::page_token;

/// The last preview started on a repository.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Preview {
    pub policy_text: String,
    pub results: Vec<PreviewResult>,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct PreviewResult {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at: f64,
    pub rule_priority: i64,
}

/// An image `Ecr::apply_lifecycle_policies` deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredImage {
    pub repository: String,
    pub digest: String,
}

/// A preview page holds up to 100 results (the model's maximum).
const PREVIEW_PAGE: usize = 100;

/// AWS's words (quoted in iann0036/former2#16).
fn not_found(repo: &Repository) -> ApiError {
    error(
        ErrorCode::LifecyclePolicyNotFoundException,
        format!(
            "Lifecycle policy does not exist for the repository with name '{}' in the registry with id '{}'",
            repo.name, repo.registry_id
        ),
    )
}

/// A policy's text, checked. An invalid one is ECR's
/// InvalidParameterException in its form (the prefix "Lifecycle policy
/// validation failure" is AWS's, cloudposse/terraform-aws-ecr#158; the
/// reason is ecsbox's); one ecsbox cannot honour names what it cannot.
fn checked(text: &str) -> Result<lifecycle_policy::Policy, ApiError> {
    lifecycle_policy::parse(text).map_err(|e| match e {
        PolicyError::Invalid(why) => invalid_parameter(
            "LifecyclePolicyText",
            &format!("Lifecycle policy validation failure: {why}"),
        ),
        PolicyError::Unsupported(why) => refused("lifecyclePolicyText", &why),
    })
}

fn facts(repo: &Repository) -> Vec<ImageFacts> {
    repo.images
        .values()
        .map(|i| ImageFacts {
            digest: i.digest.clone(),
            tags: repo.tags_of(&i.digest),
            pushed_at: i.pushed_at,
        })
        .collect()
}

pub(super) fn put(
    mut c: Call<'_>,
    input: PutLifecyclePolicyRequest,
) -> Result<PutLifecyclePolicyResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let text = input.lifecycle_policy_text.unwrap_or_default();
    checked(&text)?;
    repo.lifecycle_policy = Some(LifecyclePolicy {
        text: text.clone(),
        last_evaluated_at: None,
    });
    Ok(PutLifecyclePolicyResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        lifecycle_policy_text: Some(text),
    })
}

pub(super) fn get(
    mut c: Call<'_>,
    input: GetLifecyclePolicyRequest,
) -> Result<GetLifecyclePolicyResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let policy = repo
        .lifecycle_policy
        .as_ref()
        .ok_or_else(|| not_found(repo))?;
    Ok(GetLifecyclePolicyResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        lifecycle_policy_text: Some(policy.text.clone()),
        last_evaluated_at: policy.last_evaluated_at,
    })
}

pub(super) fn delete(
    mut c: Call<'_>,
    input: DeleteLifecyclePolicyRequest,
) -> Result<DeleteLifecyclePolicyResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let policy = repo
        .lifecycle_policy
        .take()
        .ok_or_else(|| not_found(repo))?;
    Ok(DeleteLifecyclePolicyResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        lifecycle_policy_text: Some(policy.text),
        last_evaluated_at: policy.last_evaluated_at,
    })
}

pub(super) fn start_preview(
    mut c: Call<'_>,
    input: StartLifecyclePolicyPreviewRequest,
) -> Result<StartLifecyclePolicyPreviewResponse, ApiError> {
    let now = c.env.now;
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    // The policy given, or else the repository's own.
    let text = match input.lifecycle_policy_text {
        Some(text) => text,
        None => repo
            .lifecycle_policy
            .as_ref()
            .map(|p| p.text.clone())
            .ok_or_else(|| not_found(repo))?,
    };
    let policy = checked(&text)?;
    let images = facts(repo);
    let results = lifecycle_policy::evaluate(&policy, &images, now)
        .into_iter()
        .map(|e| {
            let image = images
                .iter()
                .find(|i| i.digest == e.digest)
                .expect("the evaluator answers the images it was given");
            PreviewResult {
                digest: e.digest,
                tags: image.tags.clone(),
                pushed_at: image.pushed_at,
                rule_priority: e.rule_priority,
            }
        })
        .collect();
    let (registry_id, name) = (repo.registry_id.clone(), repo.name.clone());
    c.region.lifecycle_previews.insert(
        name.clone(),
        Preview {
            policy_text: text.clone(),
            results,
        },
    );
    Ok(StartLifecyclePolicyPreviewResponse {
        registry_id: Some(registry_id),
        repository_name: Some(name),
        lifecycle_policy_text: Some(text),
        status: Some("COMPLETE".into()),
    })
}

fn result_shape(r: &PreviewResult) -> LifecyclePolicyPreviewResult {
    LifecyclePolicyPreviewResult {
        image_tags: Some(r.tags.clone()),
        image_digest: Some(r.digest.clone()),
        image_pushed_at: Some(r.pushed_at),
        action: Some(LifecyclePolicyRuleAction {
            r#type: Some("EXPIRE".into()),
            target_storage_class: None,
        }),
        applied_rule_priority: Some(r.rule_priority as i32),
        storage_class: None,
    }
}

pub(super) fn get_preview(
    mut c: Call<'_>,
    input: GetLifecyclePolicyPreviewRequest,
) -> Result<GetLifecyclePolicyPreviewResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let (registry_id, name) = (repo.registry_id.clone(), repo.name.clone());
    let preview = c.region.lifecycle_previews.get(&name).ok_or_else(|| {
        // ecsbox's words.
        error(
            ErrorCode::LifecyclePolicyPreviewNotFoundException,
            format!(
                "There is no lifecycle policy preview for the repository with name '{name}' in the registry with id '{registry_id}'"
            ),
        )
    })?;
    if input.image_ids.is_some() && (input.max_results.is_some() || input.next_token.is_some()) {
        return Err(invalid_parameter(
            "maxResults",
            "maxResults and nextToken cannot be used with imageIds",
        ));
    }
    let tag_status = input
        .filter
        .and_then(|f| f.tag_status)
        .unwrap_or_else(|| "ANY".into());
    let ids = input.image_ids.unwrap_or_default();
    for id in &ids {
        if id.image_digest.is_none() && id.image_tag.is_none() {
            return Err(invalid_parameter(
                "imageIds",
                &format!(
                    "the image id {} names neither a digest nor a tag",
                    image_id_text(id)
                ),
            ));
        }
    }
    let selected = preview.results.iter().enumerate().filter(|(_, r)| {
        let by_status = match tag_status.as_str() {
            "TAGGED" => !r.tags.is_empty(),
            "UNTAGGED" => r.tags.is_empty(),
            _ => true,
        };
        let by_id = ids.is_empty()
            || ids.iter().any(|id| {
                id.image_digest.as_ref().is_none_or(|d| *d == r.digest)
                    && id.image_tag.as_ref().is_none_or(|t| r.tags.contains(t))
            });
        by_status && by_id
    });
    let after: Option<usize> =
        match page_start(input.next_token.as_deref())? {
            Some(key) => Some(key.parse().map_err(|_| {
                invalid_parameter("nextToken", "The nextToken is not one ecsbox gave")
            })?),
            None => None,
        };
    let size = input
        .max_results
        .map_or(PREVIEW_PAGE, |n| n.max(1) as usize);
    let (page, next_token) = page_token::take_page(
        selected.filter(|(i, _)| after.is_none_or(|a| *i > a)),
        size,
        |(i, _)| i.to_string(),
    );
    Ok(GetLifecyclePolicyPreviewResponse {
        registry_id: Some(registry_id),
        repository_name: Some(name),
        lifecycle_policy_text: Some(preview.policy_text.clone()),
        status: Some("COMPLETE".into()),
        next_token,
        preview_results: Some(page.into_iter().map(|(_, r)| result_shape(r)).collect()),
        summary: Some(LifecyclePolicyPreviewSummary {
            expiring_image_total_count: Some(preview.results.len() as i32),
            transitioning_image_total_counts: None,
        }),
    })
}

/// Applies every repository's policy in one region: deletes the images it
/// expires (an image a remaining manifest list names stays, so no list
/// loses a child), stamps `lastEvaluatedAt`.
pub(super) fn apply_all(region: &mut EcrRegion, now: f64) -> Vec<ExpiredImage> {
    let mut expired = Vec::new();
    for repo in region.repositories.values_mut() {
        let Some(policy) = repo.lifecycle_policy.as_mut() else {
            continue;
        };
        policy.last_evaluated_at = Some(now);
        // A stored policy was checked when it was put.
        let Ok(parsed) = lifecycle_policy::parse(&policy.text) else {
            continue;
        };
        let mut doomed: Vec<String> = lifecycle_policy::evaluate(&parsed, &facts(repo), now)
            .into_iter()
            .map(|e| e.digest)
            .collect();
        // Lists first, then the children no remaining list names.
        loop {
            let before = doomed.len();
            doomed.retain(|digest| {
                if repo.is_referenced_by_list(digest) {
                    return true;
                }
                repo.delete_image(digest);
                expired.push(ExpiredImage {
                    repository: repo.name.clone(),
                    digest: digest.clone(),
                });
                false
            });
            if doomed.len() == before {
                break;
            }
        }
    }
    expired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ecr::blobs::{digest_of, BlobStore};
    use crate::services::ecr::repository::{NewManifest, DOCKER_MANIFEST};

    /// A repository with one image per (tag, pushed_at): each its own layer.
    fn repository(blobs: &BlobStore, images: &[(Option<&str>, f64)]) -> Repository {
        let mut repo = Repository::new("web", "us-east-1", "000000000000", "localhost:4510", 0.0);
        for (i, (tag, at)) in images.iter().enumerate() {
            let config = blobs.put(b"{}").unwrap();
            let layer = blobs.put(format!("layer {i}").as_bytes()).unwrap();
            repo.blobs.insert(config.clone());
            repo.blobs.insert(layer.clone());
            let manifest = serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 2},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 7}],
            }))
            .unwrap();
            repo.put_manifest(
                blobs,
                NewManifest {
                    bytes: &manifest,
                    content_type: None,
                    digest: None,
                    tag: *tag,
                    strict: true,
                },
                *at,
            )
            .unwrap();
            assert!(repo.images.contains_key(&digest_of(&manifest)));
        }
        repo
    }

    #[test]
    fn applying_a_policy_deletes_what_it_expires_and_stamps_the_policy() {
        let blobs = BlobStore::temporary().unwrap();
        let mut region = EcrRegion::default();
        let mut repo = repository(&blobs, &[(None, 10.0), (None, 20.0), (Some("v1"), 5.0)]);
        repo.lifecycle_policy = Some(LifecyclePolicy {
            text: r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#.into(),
            last_evaluated_at: None,
        });
        let oldest_untagged = repo
            .images
            .values()
            .find(|i| i.pushed_at == 10.0)
            .unwrap()
            .digest
            .clone();
        region.repositories.insert("web".into(), repo);
        let expired = apply_all(&mut region, 100.0);
        assert_eq!(
            expired,
            [ExpiredImage {
                repository: "web".into(),
                digest: oldest_untagged.clone()
            }]
        );
        let repo = &region.repositories["web"];
        assert_eq!(repo.images.len(), 2);
        assert!(!repo.images.contains_key(&oldest_untagged));
        assert_eq!(
            repo.lifecycle_policy.as_ref().unwrap().last_evaluated_at,
            Some(100.0)
        );
        // Nothing more to expire the second time.
        assert!(apply_all(&mut region, 200.0).is_empty());
    }
}
