//! SetRepositoryPolicy, GetRepositoryPolicy, DeleteRepositoryPolicy. A
//! policy is recorded and answered back; ecsbox has no IAM to evaluate it
//! with (so `force`, which only skips ECR's check that the policy does not
//! lock the caller out, changes nothing here).

use super::repository::Repository;
use super::{error, invalid_parameter, Call};
use crate::model::ecr::operations::ErrorCode;
use crate::model::ecr::shapes::*;
use crate::protocol::ApiError;

/// AWS's words (moto quotes them).
fn not_found(repo: &Repository) -> ApiError {
    error(
        ErrorCode::RepositoryPolicyNotFoundException,
        format!(
            "Repository policy does not exist for the repository with name '{}' in the registry with id '{}'",
            repo.name, repo.registry_id
        ),
    )
}

/// A policy must be a JSON object with a `Statement` (ecsbox checks the
/// form, not the IAM grammar).
fn check(text: &str) -> Result<(), ApiError> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        invalid_parameter("PolicyText", "Invalid repository policy provided: not JSON")
    })?;
    if !doc.is_object() || doc.get("Statement").is_none() {
        return Err(invalid_parameter(
            "PolicyText",
            "Invalid repository policy provided: a policy is a JSON object with a Statement",
        ));
    }
    Ok(())
}

pub(super) fn set(
    mut c: Call<'_>,
    input: SetRepositoryPolicyRequest,
) -> Result<SetRepositoryPolicyResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let text = input.policy_text.unwrap_or_default();
    check(&text)?;
    repo.policy = Some(text.clone());
    Ok(SetRepositoryPolicyResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        policy_text: Some(text),
    })
}

pub(super) fn get(
    mut c: Call<'_>,
    input: GetRepositoryPolicyRequest,
) -> Result<GetRepositoryPolicyResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let text = repo.policy.clone().ok_or_else(|| not_found(repo))?;
    Ok(GetRepositoryPolicyResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        policy_text: Some(text),
    })
}

pub(super) fn delete(
    mut c: Call<'_>,
    input: DeleteRepositoryPolicyRequest,
) -> Result<DeleteRepositoryPolicyResponse, ApiError> {
    let repo = c.repository(
        input.registry_id.as_deref(),
        input.repository_name.as_deref(),
    )?;
    let text = repo.policy.take().ok_or_else(|| not_found(repo))?;
    Ok(DeleteRepositoryPolicyResponse {
        registry_id: Some(repo.registry_id.clone()),
        repository_name: Some(repo.name.clone()),
        policy_text: Some(text),
    })
}
