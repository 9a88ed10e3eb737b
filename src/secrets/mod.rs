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
//! The request and response types are written by hand (a handful of members
//! per operation) rather than generated from the two services' models: only
//! ECS and CloudWatch Logs are generated (codegen/generate.py).
//!
//! State: a `SecretsStore` of its own, one `RegionSecrets` per (account,
//! region), not a field of the ECS `RegionState`. `state` sits below every
//! service in the import order and must not know these types; and a task
//! resolving its secrets should not take the ECS region lock that every ECS
//! call and controller contends for. Each region's secrets sit behind their
//! own lock in a `RegionStore` of their own.

pub mod operations;
pub mod resolve;
pub mod secretsmanager;
pub mod ssm;
mod wire;

use crate::model::schema::{OpWire, Protocol, ServiceMeta};
use crate::protocol::{ApiError, RequestContext, Wire};
use crate::store::RegionStore;
use std::sync::Arc;

/// The two services, as `server` routes to them by `X-Amz-Target` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    SecretsManager,
    Ssm,
}

impl Service {
    /// The service whose JSON 1.1 target prefix this is.
    pub fn for_target_prefix(prefix: &str) -> Option<Service> {
        match prefix {
            "secretsmanager" => Some(Service::SecretsManager),
            "AmazonSSM" => Some(Service::Ssm),
            _ => None,
        }
    }

    /// The SigV4 signing name (the credential scope's service).
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "ssm",
        }
    }

    /// How the service is spoken on the wire. Written here, not generated:
    /// these two services' types are still hand-written (see above).
    pub fn meta(self) -> &'static ServiceMeta {
        match self {
            Service::SecretsManager => &SECRETS_MANAGER,
            Service::Ssm => &SSM,
        }
    }

    fn operations(self) -> &'static [&'static str] {
        match self {
            Service::SecretsManager => operations::SECRETS_MANAGER_OPERATIONS,
            Service::Ssm => operations::SSM_OPERATIONS,
        }
    }
}

/// Decodes, runs and encodes one operation of `service` for the caller in
/// `ctx`. An operation of the model that ecsbox does not serve gets the
/// service's own error naming it; a name the model lacks is unknown.
pub fn dispatch(
    store: &SecretsStore,
    service: Service,
    ctx: &RequestContext,
    op: &str,
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    if service.operations().binary_search(&op).is_err() {
        return Err(ApiError::protocol(
            "UnknownOperationException",
            400,
            format!("Unknown operation {op}."),
        ));
    }
    let region = store.region(&ctx.account, &ctx.region);
    let mut region = region.lock();
    match service {
        Service::SecretsManager => secretsmanager::call(&mut region, op, body),
        Service::Ssm => ssm::call(&mut region, op, body),
    }
}

static SECRETS_MANAGER: ServiceMeta = ServiceMeta {
    name: "secretsmanager",
    label: "Secrets Manager",
    protocol: Protocol::Json,
    json_version: "1.1",
    target_prefix: "secretsmanager",
    signing_name: "secretsmanager",
    api_version: "2017-10-17",
    xml_namespace: "",
    validation_error: "InvalidParameterException",
    shapes: &[],
};

static SSM: ServiceMeta = ServiceMeta {
    name: "ssm",
    label: "SSM",
    protocol: Protocol::Json,
    json_version: "1.1",
    target_prefix: "AmazonSSM",
    signing_name: "ssm",
    api_version: "2014-11-06",
    xml_namespace: "",
    validation_error: "ValidationException",
    shapes: &[],
};

/// One of the two services as the server routes to it.
pub struct SecretsService {
    pub store: Arc<SecretsStore>,
    pub service: Service,
}

impl crate::services::AwsService for SecretsService {
    fn meta(&self) -> &'static ServiceMeta {
        self.service.meta()
    }

    fn operation(&self, name: &str) -> Option<OpWire> {
        let ops = self.service.operations();
        ops.binary_search(&name).ok().map(|i| OpWire { name: ops[i], input: None, output: None, result_wrapper: None })
    }

    fn call(&self, ctx: &RequestContext, wire: &Wire) -> Result<Vec<u8>, ApiError> {
        dispatch(&self.store, self.service, ctx, wire.op.name, wire.body)
    }
}

/// Secrets and parameters of every (account, region). Resolving a task's
/// secrets only reads: it asks `existing`, which creates no region.
pub type SecretsStore = RegionStore<RegionSecrets>;

impl RegionStore<RegionSecrets> {
    pub fn new() -> Self {
        RegionStore::creating(RegionSecrets::new)
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
