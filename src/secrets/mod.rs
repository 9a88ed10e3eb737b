//! Secrets for task containers: the small part of AWS Secrets Manager and of
//! SSM Parameter Store that puts values into a task's environment, and the
//! resolution of a container definition's `secrets` and `environmentFiles`.
//!
//! - `secretsmanager`: CreateSecret, GetSecretValue, PutSecretValue,
//!   DescribeSecret, DeleteSecret (JSON 1.1, target prefix `secretsmanager`).
//! - `ssm`: PutParameter, GetParameter, GetParameters, GetParametersByPath,
//!   DeleteParameter (JSON 1.1, target prefix `AmazonSSM`).
//! - `resolve`: what the task controller calls before it creates a
//!   container: `secrets` and `environmentFiles` as environment pairs, or the
//!   reason ECS gives when one cannot be read.
//!
//! Both services are generated from their pinned models like the others
//! (codegen/generate.py: shapes and validation in `crate::model::secretsmanager`
//! and `crate::model::ssm`, the traits in `*_generated.rs`); the handlers
//! implement those traits. Every other operation of the two models answers
//! the service's own error naming it.
//!
//! State: a `SecretsStore` of its own, one `RegionSecrets` per (account,
//! region), not a field of the ECS `RegionState`. `state` sits below every
//! service in the import order and must not know these types; and a task
//! resolving its secrets should not take the ECS region lock that every ECS
//! call and controller contends for. Each region's secrets sit behind their
//! own lock in a `RegionStore` of their own.

pub mod resolve;
pub mod secretsmanager;
#[rustfmt::skip]
pub mod secretsmanager_generated;
pub mod ssm;
#[rustfmt::skip]
pub mod ssm_generated;
mod wire;

pub use secretsmanager::SecretsManager;
pub use ssm::Ssm;

use crate::protocol::RequestContext;
use crate::store::RegionStore;

/// Secrets and parameters of every (account, region). Resolving a task's
/// secrets only reads: it asks `existing`, which creates no region.
pub type SecretsStore = RegionStore<RegionSecrets>;

impl RegionStore<RegionSecrets> {
    pub fn new() -> Self {
        RegionStore::creating(RegionSecrets::new)
    }

    /// Runs `f` under the lock of the caller's (account, region), as every
    /// handler of both services does (the lock is never held across an
    /// `.await`: handlers are synchronous).
    pub fn with_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut RegionSecrets) -> T,
    ) -> T {
        self.with(&ctx.account, &ctx.region, f)
    }
}

impl Default for RegionStore<RegionSecrets> {
    fn default() -> Self {
        Self::new()
    }
}

/// What one (account, region) holds of both services.
pub struct RegionSecrets {
    pub account: String,
    pub region: String,
    pub secrets: secretsmanager::Secrets,
    pub parameters: ssm::Parameters,
}

crate::persistent_fields!(RegionSecrets, "secrets", [secrets, parameters]);

impl RegionSecrets {
    pub fn new(account: &str, region: &str) -> Self {
        RegionSecrets {
            account: account.to_string(),
            region: region.to_string(),
            secrets: secretsmanager::Secrets::default(),
            parameters: ssm::Parameters::default(),
        }
    }
}
