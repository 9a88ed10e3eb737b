//! AWS Cloud Map (`servicediscovery`): the API over `crate::cloudmap`'s
//! registry, spoken in Smithy RPC v2 CBOR (what botocore and the newer
//! SDKs send) and AWS JSON 1.1 (target prefix `Route53AutoNaming_v20170314`).
//!
//! - `namespaces`: HTTP, private DNS and public DNS namespaces.
//! - `catalog`: services (DNS configs, custom health) and their attributes.
//! - `instances`: RegisterInstance/DeregisterInstance, GetInstance,
//!   ListInstances, DiscoverInstances(+Revision) and health.
//! - `operations`: GetOperation/ListOperations, and tags.
//!
//! Every handler runs under the lock of the caller's (account, region) in
//! the registry. Route 53 health checks (`HealthCheckConfig`) are refused by
//! name: there is no Route 53 here to probe anything.
//!
//! Messages: Cloud Map's exact words for its errors are not published (the
//! API reference names the exceptions only), so every message below is
//! ecsbox's own; they are all in this file.

mod catalog;
#[rustfmt::skip]
pub mod generated;
mod handlers;
mod instances;
mod namespaces;
mod operations;

use crate::cloudmap::{CloudMap, CloudMapRegion, RegistryError};
use crate::model::servicediscovery::operations::ErrorCode;
use crate::protocol::{ApiError, RequestContext};
use std::sync::Arc;

pub struct ServiceDiscovery {
    cloud_map: Arc<CloudMap>,
}

crate::aws_service!(
    ServiceDiscovery,
    crate::model::servicediscovery::operations,
    generated::dispatch
);

impl ServiceDiscovery {
    pub fn new(cloud_map: Arc<CloudMap>) -> Self {
        ServiceDiscovery { cloud_map }
    }

    fn in_region<T>(
        &self,
        ctx: &RequestContext,
        f: impl FnOnce(&mut CloudMapRegion) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.cloud_map.with(&ctx.account, &ctx.region, f)
    }
}

pub fn not_supported(op: &str) -> ApiError {
    invalid(format!(
        "ecsbox does not support the {op} operation of Cloud Map yet."
    ))
}

pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::protocol(code.as_str(), code.status(), message)
}

pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    error(ErrorCode::InvalidInput, message)
}

pub(crate) fn namespace_not_found(id: &str) -> ApiError {
    error(
        ErrorCode::NamespaceNotFound,
        format!("Namespace not found: {id}"),
    )
}

pub(crate) fn service_not_found(id: &str) -> ApiError {
    error(
        ErrorCode::ServiceNotFound,
        format!("Service not found: {id}"),
    )
}

pub(crate) fn instance_not_found(id: &str) -> ApiError {
    error(
        ErrorCode::InstanceNotFound,
        format!("Instance not found: {id}"),
    )
}

pub(crate) fn registry_error(e: RegistryError, service: &str, instance: &str) -> ApiError {
    match e {
        RegistryError::ServiceNotFound => service_not_found(service),
        RegistryError::InstanceNotFound => instance_not_found(instance),
    }
}

pub(crate) fn namespace_exists(name: &str, id: &str) -> ApiError {
    error(
        ErrorCode::NamespaceAlreadyExists,
        format!("Namespace with name {name} already exists: {id}"),
    )
}

pub(crate) fn service_exists(name: &str, id: &str) -> ApiError {
    error(
        ErrorCode::ServiceAlreadyExists,
        format!("Service with name {name} already exists: {id}"),
    )
}

pub(crate) fn namespace_in_use(id: &str) -> ApiError {
    error(
        ErrorCode::ResourceInUse,
        format!("Namespace {id} has associated services; delete them first."),
    )
}

pub(crate) fn service_in_use(id: &str) -> ApiError {
    error(
        ErrorCode::ResourceInUse,
        format!("Service {id} has registered instances; deregister them first."),
    )
}

pub(crate) fn duplicate_request(creator_request_id: &str, operation_id: &str) -> ApiError {
    error(
        ErrorCode::DuplicateRequest,
        format!(
            "CreatorRequestId {creator_request_id} was already used for another request (operation {operation_id})."
        ),
    )
}

pub(crate) fn route53_health_checks_refused() -> ApiError {
    invalid(
        "ecsbox does not support HealthCheckConfig (Route 53 health checks): use HealthCheckCustomConfig, \
         whose status UpdateInstanceCustomHealthStatus sets.",
    )
}

pub(crate) fn bad_token() -> ApiError {
    invalid("The NextToken is not valid.")
}
