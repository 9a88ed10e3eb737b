//! CreateRepository, DescribeRepositories, DeleteRepository,
//! PutImageTagMutability, PutImageScanningConfiguration.

use super::repository::Repository;
use super::{
    check_registry, error, invalid_parameter, page_size, page_start, repository_not_found, tags,
    Call, Env,
};
use crate::model::ecr::operations::ErrorCode;
use crate::model::ecr::shapes::*;
use crate::protocol::ApiError;
use crate::store::page_token;

/// The repository as ECR describes it.
pub(super) fn shape(repo: &Repository) -> crate::model::ecr::shapes::Repository {
    crate::model::ecr::shapes::Repository {
        repository_arn: Some(repo.arn.clone()),
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        repository_uri: Some(repo.uri.clone()),
        created_at: Some(repo.created_at),
        image_tag_mutability: Some(repo.tag_mutability.clone()),
        image_tag_mutability_exclusion_filters: exclusion_shapes(repo),
        image_scanning_configuration: Some(ImageScanningConfiguration {
            scan_on_push: Some(repo.scan_on_push),
        }),
        encryption_configuration: Some(EncryptionConfiguration {
            encryption_type: Some(repo.encryption_type.clone()),
            kms_key: repo.kms_key.clone(),
        }),
    }
}

fn exclusion_shapes(repo: &Repository) -> Option<Vec<ImageTagMutabilityExclusionFilter>> {
    if repo.tag_mutability_exclusions.is_empty() {
        return None;
    }
    Some(
        repo.tag_mutability_exclusions
            .iter()
            .map(|f| ImageTagMutabilityExclusionFilter {
                filter_type: Some("WILDCARD".into()),
                filter: Some(f.clone()),
            })
            .collect(),
    )
}

/// The tag mutability and exclusion filters a request sets: filters go
/// with the `*_WITH_EXCLUSION` settings only, and those need at least one
/// (the model checks each filter's form and that there are at most 5).
fn tag_mutability(
    mutability: Option<&str>,
    filters: Option<&[ImageTagMutabilityExclusionFilter]>,
) -> Result<(String, Vec<String>), ApiError> {
    let mutability = mutability.unwrap_or("MUTABLE").to_string();
    let filters: Vec<String> = filters
        .unwrap_or_default()
        .iter()
        .map(|f| f.filter.clone().unwrap_or_default())
        .collect();
    let with_exclusion = mutability.ends_with("_WITH_EXCLUSION");
    if with_exclusion && filters.is_empty() {
        return Err(invalid_parameter(
            "imageTagMutabilityExclusionFilters",
            &format!("imageTagMutability {mutability} needs at least one exclusion filter"),
        ));
    }
    if !with_exclusion && !filters.is_empty() {
        return Err(invalid_parameter(
            "imageTagMutabilityExclusionFilters",
            &format!(
                "exclusion filters go only with imageTagMutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not {mutability}"
            ),
        ));
    }
    Ok((mutability, filters))
}

/// The encryption type and KMS key a repository records. Without a key,
/// KMS names the account's AWS managed key `aws/ecr`, as ECR does; a key
/// id or alias becomes its ARN. ecsbox records the configuration only: the
/// blobs are plain files (the module's doc says so).
fn encryption(
    env: &Env<'_>,
    config: Option<&EncryptionConfiguration>,
) -> Result<(String, Option<String>), ApiError> {
    let Some(config) = config else {
        return Ok(("AES256".into(), None));
    };
    let kind = config.encryption_type.clone().unwrap_or_default();
    let key = config.kms_key.as_deref();
    if kind == "AES256" {
        if key.is_some() {
            return Err(invalid_parameter(
                "encryptionConfiguration.kmsKey",
                "a KMS key can only be given with encryptionType KMS or KMS_DSSE",
            ));
        }
        return Ok((kind, None));
    }
    let (region, account) = (env.region, env.account);
    let arn = match key {
        None => format!("arn:aws:kms:{region}:{account}:alias/aws/ecr"),
        Some(k) if k.starts_with("arn:") => k.to_string(),
        Some(k) if k.starts_with("alias/") => format!("arn:aws:kms:{region}:{account}:{k}"),
        Some(k) => format!("arn:aws:kms:{region}:{account}:key/{k}"),
    };
    Ok((kind, Some(arn)))
}

pub(super) fn create(
    c: Call<'_>,
    input: CreateRepositoryRequest,
) -> Result<CreateRepositoryResponse, ApiError> {
    check_registry(&c.env, input.registry_id.as_deref())?;
    let name = input.repository_name.clone().unwrap_or_default();
    if c.region.repositories.contains_key(&name) {
        // AWS's words (moto quotes them).
        return Err(error(
            ErrorCode::RepositoryAlreadyExistsException,
            format!(
                "The repository with name '{name}' already exists in the registry with id '{}'",
                c.env.account
            ),
        ));
    }
    let (mutability, exclusions) = tag_mutability(
        input.image_tag_mutability.as_deref(),
        input.image_tag_mutability_exclusion_filters.as_deref(),
    )?;
    let (encryption_type, kms_key) = encryption(&c.env, input.encryption_configuration.as_ref())?;
    let resource_tags = tags::checked_new(input.tags.as_deref().unwrap_or_default())?;
    let env = &c.env;
    let mut repo = Repository::new(&name, env.region, env.account, env.registry_host, env.now);
    repo.tag_mutability = mutability;
    repo.tag_mutability_exclusions = exclusions;
    repo.scan_on_push = input
        .image_scanning_configuration
        .and_then(|s| s.scan_on_push)
        .unwrap_or(false);
    repo.encryption_type = encryption_type;
    repo.kms_key = kms_key;
    repo.resource_tags = resource_tags;
    let repository = Some(shape(&repo));
    c.region.repositories.insert(name, repo);
    Ok(CreateRepositoryResponse { repository })
}

pub(super) fn describe(
    c: Call<'_>,
    input: DescribeRepositoriesRequest,
) -> Result<DescribeRepositoriesResponse, ApiError> {
    check_registry(&c.env, input.registry_id.as_deref())?;
    let repos = &c.region.repositories;
    if let Some(names) = &input.repository_names {
        // ECR: maxResults and nextToken "cannot be used when you specify
        // repositories with repositoryNames" (API reference); ecsbox's words.
        if input.max_results.is_some() || input.next_token.is_some() {
            return Err(invalid_parameter(
                "maxResults",
                "maxResults and nextToken cannot be used with repositoryNames",
            ));
        }
        let mut out = Vec::new();
        for name in names {
            let repo = repos
                .get(name)
                .ok_or_else(|| repository_not_found(name, c.env.account))?;
            if !out.iter().any(|r: &crate::model::ecr::shapes::Repository| {
                r.repository_name.as_deref() == Some(name)
            }) {
                out.push(shape(repo));
            }
        }
        return Ok(DescribeRepositoriesResponse {
            repositories: Some(out),
            next_token: None,
        });
    }
    let after = page_start(input.next_token.as_deref())?;
    let items = repos
        .iter()
        .filter(|(name, _)| after.as_ref().is_none_or(|a| name.as_str() > a.as_str()));
    let (page, next_token) =
        page_token::take_page(items, page_size(input.max_results), |(n, _)| n.to_string());
    Ok(DescribeRepositoriesResponse {
        repositories: Some(page.into_iter().map(|(_, r)| shape(r)).collect()),
        next_token,
    })
}

pub(super) fn delete(
    mut c: Call<'_>,
    input: DeleteRepositoryRequest,
) -> Result<DeleteRepositoryResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    if !repo.images.is_empty() && input.force != Some(true) {
        // AWS's words (aws-cdk and Pulumi issues quote them).
        return Err(error(
            ErrorCode::RepositoryNotEmptyException,
            format!(
                "The repository with name '{}' in registry with id '{}' cannot be deleted because it still contains images",
                repo.name, repo.registry_id
            ),
        ));
    }
    let name = repo.name.clone();
    let repo = c
        .region
        .repositories
        .remove(&name)
        .expect("found just above");
    c.region.lifecycle_previews.remove(&name);
    let env = &c.env;
    c.region.layer_uploads.retain(|id, r| {
        let gone = *r == name;
        if gone {
            env.blobs.cancel(id);
        }
        !gone
    });
    Ok(DeleteRepositoryResponse {
        repository: Some(shape(&repo)),
    })
}

pub(super) fn put_tag_mutability(
    mut c: Call<'_>,
    input: PutImageTagMutabilityRequest,
) -> Result<PutImageTagMutabilityResponse, ApiError> {
    let (mutability, exclusions) = tag_mutability(
        input.image_tag_mutability.as_deref(),
        input.image_tag_mutability_exclusion_filters.as_deref(),
    )?;
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    repo.tag_mutability = mutability;
    repo.tag_mutability_exclusions = exclusions;
    Ok(PutImageTagMutabilityResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        image_tag_mutability: Some(repo.tag_mutability.clone()),
        image_tag_mutability_exclusion_filters: exclusion_shapes(repo),
    })
}

pub(super) fn put_scanning_configuration(
    mut c: Call<'_>,
    input: PutImageScanningConfigurationRequest,
) -> Result<PutImageScanningConfigurationResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    // Required by the model, which the wire checks before this runs.
    repo.scan_on_push = input
        .image_scanning_configuration
        .and_then(|s| s.scan_on_push)
        .unwrap_or(false);
    Ok(PutImageScanningConfigurationResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        image_scanning_configuration: Some(ImageScanningConfiguration {
            scan_on_push: Some(repo.scan_on_push),
        }),
    })
}
