//! Amazon ECR: repositories, their images and the login token, over AWS
//! JSON 1.1; the images themselves are pushed and pulled through ecsbox's
//! registry (`crate::registry`, the OCI Distribution API on its own port),
//! which reads and changes the same repositories through the methods here.
//!
//! - `blobs`: the registry's content-addressed blob files.
//! - `repository`: a repository and its images, the rules a push and a
//!   PutImage share (blobs present, tag mutability, manifest lists).
//! - `token`: GetAuthorizationToken's tokens, which the registry checks.
//! - `lifecycle_policy`: lifecycle policies parsed, checked and evaluated
//!   (which images a policy expires, by which rule).
//! - the handlers of the API, one module per group of operations:
//!   `repositories`, `images`, `policies`, `lifecycle`, `layers`, `login`,
//!   `tags`. Each runs under the lock of the caller's (account, region) with
//!   a `Call`: that region's repositories and the `Env` of the request (the
//!   blob store, the token issuer, the registry's address, who calls, now).
//!
//! What ecsbox records but does not do: `scanOnPush` (there is no scanner:
//! DescribeImageScanFindings answers ScanNotFoundException), the
//! encryption configuration (blobs are plain files under the store's
//! directory), repository policies (there is no IAM to evaluate them).
//!
//! A repository's `repositoryUri` is `HOST:PORT/NAME` on the registry's
//! address (`localhost:4510/web` by default), which the stock Docker engine
//! pushes to without TLS; a task definition may name that URI or the AWS
//! form `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`, and both reach the
//! same images (`runtime::image_ref`).

pub mod blobs;
#[rustfmt::skip]
pub mod generated;
mod images;
mod layers;
pub mod lifecycle;
pub mod lifecycle_policy;
mod login;
mod policies;
pub mod pulls;
mod repositories;
pub mod repository;
mod tags;
pub mod token;

use crate::model::ecr::operations::ErrorCode;
use crate::model::ecr::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::services::ecr::blobs::BlobStore;
use crate::store::RegionStore;
use generated::EcrApi;
use repository::Repository;
use std::collections::BTreeMap;
use std::sync::Arc;
use token::{TokenHolder, TokenIssuer};

pub struct Ecr {
    regions: RegionStore<EcrRegion>,
    blobs: Arc<BlobStore>,
    tokens: TokenIssuer,
    /// `HOST:PORT` of the registry, as repository URIs and the login's
    /// proxyEndpoint name it.
    registry_host: String,
}

crate::aws_service!(Ecr, crate::model::ecr::operations, generated::dispatch);

// `--state-dir` keeps its regions (uploads in progress are not kept: a
// client restarts an upload it cannot resume); the blobs are files of
// the state directory's (`BlobStore::at`).
crate::keeps_state_in_regions!(Ecr);

/// One account's repositories in one region, by name (the order
/// DescribeRepositories pages in).
#[derive(Default)]
pub struct EcrRegion {
    pub repositories: BTreeMap<String, Repository>,
    /// InitiateLayerUpload's uploads in progress (their bytes are the blob
    /// store's): upload id -> the repository it was started in.
    pub layer_uploads: BTreeMap<String, String>,
    /// The last StartLifecyclePolicyPreview of each repository, by name.
    pub lifecycle_previews: BTreeMap<String, lifecycle::Preview>,
}

crate::persistent_fields!(EcrRegion, "ecr", [repositories, lifecycle_previews]);

/// What a handler needs besides the region's repositories.
pub struct Env<'a> {
    pub blobs: &'a BlobStore,
    pub tokens: &'a TokenIssuer,
    /// `HOST:PORT` of the registry.
    pub registry_host: &'a str,
    /// The caller's account: the id of the one registry it may use.
    pub account: &'a str,
    pub region: &'a str,
    /// Epoch seconds, read once per request.
    pub now: f64,
}

/// One API call's view: the caller's region, locked, and its `Env`.
pub struct Call<'a> {
    pub region: &'a mut EcrRegion,
    pub env: Env<'a>,
}

impl Call<'_> {
    /// The repository a request names, in the caller's registry.
    pub fn repository(
        &mut self,
        registry_id: Option<&str>,
        name: Option<&str>,
    ) -> Result<&mut Repository, ApiError> {
        check_registry(&self.env, registry_id)?;
        let name = name.unwrap_or_default();
        let account = self.env.account;
        self.region
            .repositories
            .get_mut(name)
            .ok_or_else(|| repository_not_found(name, account))
    }
}

impl Ecr {
    pub fn new(blobs: Arc<BlobStore>, registry_host: String) -> Self {
        Self::with_tokens(blobs, registry_host, TokenIssuer::new())
    }

    /// With a token issuer of the caller's (a state directory's secret, so
    /// that `docker login` outlives a restart).
    pub fn with_tokens(blobs: Arc<BlobStore>, registry_host: String, tokens: TokenIssuer) -> Self {
        Ecr {
            regions: RegionStore::creating(|_, _| EcrRegion::default()),
            blobs,
            tokens,
            registry_host,
        }
    }

    /// Forgets every repository, image and blob.
    pub fn reset(&self) {
        self.regions.reset();
        self.blobs.reset();
    }

    pub fn blobs(&self) -> &Arc<BlobStore> {
        &self.blobs
    }

    pub fn tokens(&self) -> &TokenIssuer {
        &self.tokens
    }

    /// `HOST:PORT` of the registry.
    pub fn registry_host(&self) -> &str {
        &self.registry_host
    }

    /// Runs `f` on the repositories of one account and region (the
    /// registry's way in, with the holder of a login token).
    pub fn with_region<T>(
        &self,
        account: &str,
        region: &str,
        f: impl FnOnce(&mut EcrRegion) -> T,
    ) -> T {
        self.regions.with(account, region, f)
    }

    /// The registry's: runs `f` on the repository `name` of the token's
    /// holder, or answers None when there is no such repository.
    pub fn with_repository<T>(
        &self,
        holder: &TokenHolder,
        name: &str,
        f: impl FnOnce(&mut Repository, &BlobStore) -> T,
    ) -> Option<T> {
        self.regions.with(&holder.account, &holder.region, |r| {
            r.repositories
                .get_mut(name)
                .map(|repo| f(repo, &self.blobs))
        })
    }

    /// Runs a handler with the caller's region locked and its `Env`.
    fn in_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(Call<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let now = crate::clock::now_secs();
        self.regions.with(&ctx.account, &ctx.region, |region| {
            f(Call {
                region,
                env: Env {
                    blobs: &self.blobs,
                    tokens: &self.tokens,
                    registry_host: &self.registry_host,
                    account: &ctx.account,
                    region: &ctx.region,
                    now,
                },
            })
        })
    }

    /// Applies every repository's lifecycle policy of one account and
    /// region at `now` (epoch seconds): the images the policy selects are
    /// deleted, and each policy's `lastEvaluatedAt` becomes `now`. AWS
    /// applies policies by itself within 24 hours of a change; ecsbox
    /// applies them when asked. Answers what was expired.
    pub fn apply_lifecycle_policies(
        &self,
        account: &str,
        region: &str,
        now: f64,
    ) -> Vec<lifecycle::ExpiredImage> {
        self.regions
            .with(account, region, |r| lifecycle::apply_all(r, now))
    }

    /// `apply_lifecycle_policies` in every account and region that has
    /// repositories: (account, region, what was expired).
    pub fn apply_all_lifecycle_policies(
        &self,
        now: f64,
    ) -> Vec<(String, String, lifecycle::ExpiredImage)> {
        let mut expired = Vec::new();
        for (account, region) in self.regions.keys() {
            for image in self.apply_lifecycle_policies(&account, &region, now) {
                expired.push((account.clone(), region.clone(), image));
            }
        }
        expired
    }
}

// One line per implemented operation (`crate::services` has the macro);
// the operations not listed answer `not_supported`.
crate::implemented_operations! {
    impl EcrApi for Ecr, in in_region;

    create_repository => repositories::create(CreateRepositoryRequest) -> CreateRepositoryResponse;
    describe_repositories => repositories::describe(DescribeRepositoriesRequest) -> DescribeRepositoriesResponse;
    delete_repository => repositories::delete(DeleteRepositoryRequest) -> DeleteRepositoryResponse;
    put_image_tag_mutability => repositories::put_tag_mutability(PutImageTagMutabilityRequest) -> PutImageTagMutabilityResponse;
    put_image_scanning_configuration => repositories::put_scanning_configuration(PutImageScanningConfigurationRequest) -> PutImageScanningConfigurationResponse;

    describe_images => images::describe(DescribeImagesRequest) -> DescribeImagesResponse;
    list_images => images::list(ListImagesRequest) -> ListImagesResponse;
    batch_get_image => images::batch_get(BatchGetImageRequest) -> BatchGetImageResponse;
    batch_delete_image => images::batch_delete(BatchDeleteImageRequest) -> BatchDeleteImageResponse;
    put_image => images::put(PutImageRequest) -> PutImageResponse;
    describe_image_scan_findings => images::scan_findings(DescribeImageScanFindingsRequest) -> DescribeImageScanFindingsResponse;

    set_repository_policy => policies::set(SetRepositoryPolicyRequest) -> SetRepositoryPolicyResponse;
    get_repository_policy => policies::get(GetRepositoryPolicyRequest) -> GetRepositoryPolicyResponse;
    delete_repository_policy => policies::delete(DeleteRepositoryPolicyRequest) -> DeleteRepositoryPolicyResponse;

    put_lifecycle_policy => lifecycle::put(PutLifecyclePolicyRequest) -> PutLifecyclePolicyResponse;
    get_lifecycle_policy => lifecycle::get(GetLifecyclePolicyRequest) -> GetLifecyclePolicyResponse;
    delete_lifecycle_policy => lifecycle::delete(DeleteLifecyclePolicyRequest) -> DeleteLifecyclePolicyResponse;
    start_lifecycle_policy_preview => lifecycle::start_preview(StartLifecyclePolicyPreviewRequest) -> StartLifecyclePolicyPreviewResponse;
    get_lifecycle_policy_preview => lifecycle::get_preview(GetLifecyclePolicyPreviewRequest) -> GetLifecyclePolicyPreviewResponse;

    get_authorization_token => login::authorization_token(GetAuthorizationTokenRequest) -> GetAuthorizationTokenResponse;
    describe_registry => login::describe_registry(DescribeRegistryRequest) -> DescribeRegistryResponse;

    initiate_layer_upload => layers::initiate(InitiateLayerUploadRequest) -> InitiateLayerUploadResponse;
    upload_layer_part => layers::upload_part(UploadLayerPartRequest) -> UploadLayerPartResponse;
    complete_layer_upload => layers::complete(CompleteLayerUploadRequest) -> CompleteLayerUploadResponse;
    batch_check_layer_availability => layers::check_availability(BatchCheckLayerAvailabilityRequest) -> BatchCheckLayerAvailabilityResponse;
    get_download_url_for_layer => layers::download_url(GetDownloadUrlForLayerRequest) -> GetDownloadUrlForLayerResponse;

    tag_resource => tags::tag(TagResourceRequest) -> TagResourceResponse;
    untag_resource => tags::untag(UntagResourceRequest) -> UntagResourceResponse;
    list_tags_for_resource => tags::list(ListTagsForResourceRequest) -> ListTagsForResourceResponse;
}

/// Every operation of the ECR model ecsbox has not built: ECR's
/// `ValidationException` naming it (ecsbox's wording; ECR has no
/// "unsupported operation" error, and every SDK knows this one).
pub fn not_supported(op: &str) -> ApiError {
    error(
        ErrorCode::ValidationException,
        format!("ecsbox does not support the {op} operation of ECR yet."),
    )
}

pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::protocol(code.as_str(), code.status(), message)
}

/// A request parameter ecsbox cannot honour, named (ecsbox's wording).
pub(crate) fn refused(parameter: &str, why: &str) -> ApiError {
    error(
        ErrorCode::InvalidParameterException,
        format!("ecsbox does not support the parameter {parameter}: {why}."),
    )
}

/// ECR's `InvalidParameterException` in its usual form, "Invalid parameter
/// at 'X' failed to satisfy constraint: 'Y'" (as AWS answers, e.g.
/// terraform-aws-ecr#132); the constraint's words are ecsbox's.
pub(crate) fn invalid_parameter(parameter: &str, constraint: &str) -> ApiError {
    error(
        ErrorCode::InvalidParameterException,
        format!("Invalid parameter at '{parameter}' failed to satisfy constraint: '{constraint}'"),
    )
}

/// A `registryId` must be the caller's own account: ecsbox serves no
/// cross-account access (there is no IAM to grant it).
pub(crate) fn check_registry(env: &Env<'_>, registry_id: Option<&str>) -> Result<(), ApiError> {
    match registry_id {
        Some(id) if id != env.account => Err(refused(
            "registryId",
            &format!(
                "only the caller's own registry ('{}') is served, not '{id}'",
                env.account
            ),
        )),
        _ => Ok(()),
    }
}

/// AWS's words (moto and Terraform issues quote them).
pub(crate) fn repository_not_found(name: &str, account: &str) -> ApiError {
    error(
        ErrorCode::RepositoryNotFoundException,
        format!(
            "The repository with name '{name}' does not exist in the registry with id '{account}'"
        ),
    )
}

/// `{imageDigest:'sha256:…', imageTag:'null'}`: how ECR prints an image
/// id in its messages (hashicorp/terraform-provider-aws#35268).
pub(crate) fn image_id_text(id: &ImageIdentifier) -> String {
    format!(
        "{{imageDigest:'{}', imageTag:'{}'}}",
        id.image_digest.as_deref().unwrap_or("null"),
        id.image_tag.as_deref().unwrap_or("null")
    )
}

/// AWS's words (hashicorp/terraform-provider-aws#35268): "The image with
/// imageId {imageDigest:'null', imageTag:'latest'} does not exist within
/// the repository with name 'main' in the registry with id '…'".
pub(crate) fn image_not_found(id: &ImageIdentifier, repository: &str, account: &str) -> ApiError {
    error(
        ErrorCode::ImageNotFoundException,
        format!(
            "The image with imageId {} does not exist within the repository with name '{repository}' in the registry with id '{account}'",
            image_id_text(id)
        ),
    )
}

/// How many items a Describe or List page holds when the caller names no
/// maxResults (ECR: 100).
const DEFAULT_PAGE: usize = 100;

pub(crate) fn page_size(asked: Option<i32>) -> usize {
    asked.map_or(DEFAULT_PAGE, |n| n.max(1) as usize)
}

/// The key after which a page starts, from a `nextToken` ecsbox gave.
pub(crate) fn page_start(token: Option<&str>) -> Result<Option<String>, ApiError> {
    token
        .filter(|t| !t.is_empty())
        .map(|t| {
            crate::store::page_token::decode(t).ok_or_else(|| {
                invalid_parameter("nextToken", "The nextToken is not one ecsbox gave")
            })
        })
        .transpose()
}
