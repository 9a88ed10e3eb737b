//! Amazon ECR: repositories, their images and the login token, over AWS
//! JSON 1.1; the images themselves are pushed and pulled through ecsbox's
//! registry (`crate::registry`, the OCI Distribution API on its own port),
//! which reads and changes the same repositories through the methods here.
//!
//! - `blobs`: the registry's content-addressed blob files.
//! - `repository`: a repository and its images, the rules a push and a
//!   PutImage share (blobs present, tag mutability, manifest lists).
//! - `token`: GetAuthorizationToken's tokens, which the registry checks.
//! - the handlers of the API, one module per group of operations.
//!
//! A repository's `repositoryUri` is `HOST:PORT/NAME` on the registry's
//! address (`localhost:4510/web` by default), which the stock Docker engine
//! pushes to without TLS; a task definition may name that URI or the AWS
//! form `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`, and both reach the
//! same images (`runtime::image_ref`).

pub mod blobs;
#[rustfmt::skip]
pub mod generated;
pub mod pulls;
pub mod repository;
pub mod token;

use crate::model::ecr::operations::ErrorCode;
use crate::protocol::{ApiError, RequestContext};
use crate::services::ecr::blobs::BlobStore;
use crate::store::RegionStore;
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

/// One account's repositories in one region, by name (the order
/// DescribeRepositories pages in).
#[derive(Default)]
pub struct EcrRegion {
    pub repositories: BTreeMap<String, Repository>,
}

impl Ecr {
    pub fn new(blobs: Arc<BlobStore>, registry_host: String) -> Self {
        Ecr {
            regions: RegionStore::creating(|_, _| EcrRegion::default()),
            blobs,
            tokens: TokenIssuer::new(),
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

    #[allow(dead_code)] // the API's handlers use it (next commit)
    fn in_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut EcrRegion) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.regions.with(&ctx.account, &ctx.region, f)
    }
}

// The handlers come with the API's modules; until then every operation
// answers `not_supported`.
impl generated::EcrApi for Ecr {}

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
