//! Instances: registered (by a client, or by ECS for a service's tasks),
//! listed, discovered by namespace and service name, and their health.

use super::operations::page;
use super::{
    error, instance_not_found, invalid, namespace_not_found, registry_error, service_not_found,
};
use crate::cloudmap::{self, CloudMapRegion, Health, HealthFilter, Registration};
use crate::model::servicediscovery::operations::ErrorCode;
use crate::model::servicediscovery::shapes::{self as sh};
use crate::protocol::ApiError;
use std::collections::BTreeMap;

/// Attributes an instance may have ("Custom attributes per instance: 30",
/// Cloud Map quotas).
const MAX_INSTANCE_ATTRIBUTES: usize = 30;
/// What DiscoverInstances answers at most when MaxResults is not given.
const DEFAULT_MAX_RESULTS: usize = 100;

pub fn register(
    r: &mut CloudMapRegion,
    input: sh::RegisterInstanceRequest,
) -> Result<String, ApiError> {
    let service_id = input.service_id.unwrap_or_default();
    let instance_id = input.instance_id.unwrap_or_default();
    let attributes = input.attributes.unwrap_or_default();
    // A retried request (same CreatorRequestId) answers its first operation.
    if let Some(crid) = &input.creator_request_id {
        if let Some(op) = r.operations.values().find(|o| {
            o.kind == "REGISTER_INSTANCE"
                && o.creator_request_id.as_deref() == Some(crid.as_str())
                && o.targets.get("INSTANCE") == Some(&instance_id)
        }) {
            return Ok(op.id.clone());
        }
    }
    let service = r
        .service(&service_id)
        .ok_or_else(|| service_not_found(&service_id))?;
    check_attributes(service, &attributes)?;
    cloudmap::register(
        r,
        Registration {
            service: service_id.clone(),
            instance_id: instance_id.clone(),
            attributes,
            creator_request_id: input.creator_request_id,
        },
    )
    .map_err(|e| registry_error(e, &service_id, &instance_id))
}

/// The attributes each DNS record type needs (RegisterInstance's
/// Attributes in the API reference), and what ecsbox cannot honour.
fn check_attributes(
    service: &cloudmap::Service,
    attributes: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    if attributes.len() > MAX_INSTANCE_ATTRIBUTES {
        return Err(invalid(format!(
            "An instance can have at most {MAX_INSTANCE_ATTRIBUTES} attributes."
        )));
    }
    if attributes.contains_key("AWS_ALIAS_DNS_NAME") {
        return Err(invalid(
            "ecsbox does not support AWS_ALIAS_DNS_NAME (Route 53 alias records to an Elastic Load Balancing load balancer).",
        ));
    }
    if attributes.contains_key("AWS_EC2_INSTANCE_ID") {
        return Err(invalid(
            "ecsbox does not support AWS_EC2_INSTANCE_ID: give AWS_INSTANCE_IPV4 instead.",
        ));
    }
    if let Some(v) = attributes.get(cloudmap::INIT_HEALTH_ATTRIBUTE) {
        if !service.custom_health {
            return Err(invalid(format!(
                "{} is allowed only for services with HealthCheckCustomConfig.",
                cloudmap::INIT_HEALTH_ATTRIBUTE
            )));
        }
        if v != "HEALTHY" && v != "UNHEALTHY" {
            return Err(invalid(format!(
                "{} must be HEALTHY or UNHEALTHY.",
                cloudmap::INIT_HEALTH_ATTRIBUTE
            )));
        }
    }
    let need = |attr: &str, why: &str| -> Result<(), ApiError> {
        if attributes.get(attr).is_none_or(|v| v.is_empty()) {
            return Err(invalid(format!(
                "The {attr} attribute is required: the service's DNS configuration has {why}."
            )));
        }
        Ok(())
    };
    if let Some(v) = attributes.get("AWS_INSTANCE_IPV4") {
        if v.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(invalid(format!(
                "AWS_INSTANCE_IPV4 {v} is not an IPv4 address."
            )));
        }
    }
    if let Some(v) = attributes.get("AWS_INSTANCE_IPV6") {
        if v.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(invalid(format!(
                "AWS_INSTANCE_IPV6 {v} is not an IPv6 address."
            )));
        }
    }
    if let Some(v) = attributes.get("AWS_INSTANCE_PORT") {
        if v.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(invalid(format!(
                "AWS_INSTANCE_PORT {v} is not a port (1-65535)."
            )));
        }
    }
    for rec in service.dns.iter().flat_map(|d| d.records.iter()) {
        match rec.kind.as_str() {
            "A" => need("AWS_INSTANCE_IPV4", "an A record")?,
            "AAAA" => need("AWS_INSTANCE_IPV6", "an AAAA record")?,
            "CNAME" => need("AWS_INSTANCE_CNAME", "a CNAME record")?,
            "SRV" => {
                need("AWS_INSTANCE_PORT", "an SRV record")?;
                if !attributes.contains_key("AWS_INSTANCE_IPV4")
                    && !attributes.contains_key("AWS_INSTANCE_IPV6")
                {
                    need("AWS_INSTANCE_IPV4", "an SRV record")?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn deregister(
    r: &mut CloudMapRegion,
    service_id: &str,
    instance_id: &str,
) -> Result<String, ApiError> {
    cloudmap::deregister(r, service_id, instance_id)
        .map_err(|e| registry_error(e, service_id, instance_id))
}

pub fn get(
    r: &CloudMapRegion,
    service_id: &str,
    instance_id: &str,
) -> Result<sh::GetInstanceResponse, ApiError> {
    let s = r
        .service(service_id)
        .ok_or_else(|| service_not_found(service_id))?;
    let i = s
        .instances
        .get(instance_id)
        .ok_or_else(|| instance_not_found(instance_id))?;
    Ok(sh::GetInstanceResponse {
        resource_owner: Some(r.account.clone()),
        instance: Some(sh::Instance {
            id: Some(i.id.clone()),
            creator_request_id: i.creator_request_id.clone(),
            attributes: Some(i.attributes.clone()),
            created_by_account: Some(r.account.clone()),
        }),
    })
}

pub fn list(
    r: &CloudMapRegion,
    input: sh::ListInstancesRequest,
) -> Result<sh::ListInstancesResponse, ApiError> {
    let service_id = input.service_id.unwrap_or_default();
    let s = r
        .service(&service_id)
        .ok_or_else(|| service_not_found(&service_id))?;
    let (items, next) = page(
        s.instances.values(),
        input.next_token.as_deref(),
        input.max_results,
        |i| i.id.clone(),
    )?;
    Ok(sh::ListInstancesResponse {
        resource_owner: Some(r.account.clone()),
        instances: Some(
            items
                .into_iter()
                .map(|i| sh::InstanceSummary {
                    id: Some(i.id.clone()),
                    attributes: Some(i.attributes.clone()),
                    created_by_account: Some(r.account.clone()),
                })
                .collect(),
        ),
        next_token: next,
    })
}

/// The service a DiscoverInstances call names, by the namespace's HTTP
/// name and the service's name.
fn discovered<'a>(
    r: &'a CloudMapRegion,
    namespace: &str,
    service: &str,
) -> Result<&'a cloudmap::Service, ApiError> {
    let ns = r
        .namespace_by_http_name(namespace)
        .ok_or_else(|| namespace_not_found(namespace))?;
    r.service_in(&ns.id, service)
        .ok_or_else(|| service_not_found(service))
}

pub fn discover(
    r: &CloudMapRegion,
    input: sh::DiscoverInstancesRequest,
) -> Result<sh::DiscoverInstancesResponse, ApiError> {
    refuse_other_accounts(input.owner_account.as_deref(), &r.account)?;
    let ns_name = input.namespace_name.unwrap_or_default();
    let svc_name = input.service_name.unwrap_or_default();
    let s = discovered(r, &ns_name, &svc_name)?;
    // Without HealthStatus, Cloud Map answers the healthy instances ("When
    // you configure a health check, AWS Cloud Map returns healthy resources
    // by default", "AWS Cloud Map service health check configuration").
    let filter = input
        .health_status
        .as_deref()
        .and_then(HealthFilter::parse)
        .unwrap_or(HealthFilter::Healthy);
    let query = input.query_parameters.unwrap_or_default();
    let optional = input.optional_parameters.unwrap_or_default();
    let max = input
        .max_results
        .map(|m| m.max(1) as usize)
        .unwrap_or(DEFAULT_MAX_RESULTS);
    let ns = r.namespace_by_http_name(&ns_name).map(|n| n.name.clone());
    let found = cloudmap::discover(s, filter, &query, &optional);
    Ok(sh::DiscoverInstancesResponse {
        instances: Some(
            found
                .into_iter()
                .take(max)
                .map(|i| sh::HttpInstanceSummary {
                    instance_id: Some(i.id.clone()),
                    namespace_name: ns.clone(),
                    service_name: Some(s.name.clone()),
                    health_status: Some(i.health.as_str().into()),
                    attributes: Some(i.attributes.clone()),
                })
                .collect(),
        ),
        instances_revision: Some(s.revision),
    })
}

pub fn discover_revision(
    r: &CloudMapRegion,
    input: sh::DiscoverInstancesRevisionRequest,
) -> Result<sh::DiscoverInstancesRevisionResponse, ApiError> {
    refuse_other_accounts(input.owner_account.as_deref(), &r.account)?;
    let s = discovered(
        r,
        input.namespace_name.as_deref().unwrap_or_default(),
        input.service_name.as_deref().unwrap_or_default(),
    )?;
    Ok(sh::DiscoverInstancesRevisionResponse {
        instances_revision: Some(s.revision),
    })
}

/// Namespaces shared from other accounts (AWS RAM) do not exist here.
fn refuse_other_accounts(owner: Option<&str>, account: &str) -> Result<(), ApiError> {
    match owner {
        Some(o) if o != account => Err(invalid(format!(
            "ecsbox does not support OwnerAccount {o}: namespaces shared from other accounts do not exist here."
        ))),
        _ => Ok(()),
    }
}

pub fn health_status(
    r: &CloudMapRegion,
    input: sh::GetInstancesHealthStatusRequest,
) -> Result<sh::GetInstancesHealthStatusResponse, ApiError> {
    let service_id = input.service_id.unwrap_or_default();
    let s = r
        .service(&service_id)
        .ok_or_else(|| service_not_found(&service_id))?;
    let wanted: Vec<&cloudmap::Instance> = match &input.instances {
        Some(ids) => {
            let mut out = vec![];
            for id in ids {
                out.push(s.instances.get(id).ok_or_else(|| instance_not_found(id))?);
            }
            out
        }
        None => s.instances.values().collect(),
    };
    let (items, next) = page(
        wanted.into_iter(),
        input.next_token.as_deref(),
        input.max_results,
        |i| i.id.clone(),
    )?;
    Ok(sh::GetInstancesHealthStatusResponse {
        status: Some(
            items
                .into_iter()
                .map(|i| (i.id.clone(), i.health.as_str().to_string()))
                .collect(),
        ),
        next_token: next,
    })
}

pub fn update_custom_health(
    r: &mut CloudMapRegion,
    input: sh::UpdateInstanceCustomHealthStatusRequest,
) -> Result<(), ApiError> {
    let service_id = input.service_id.unwrap_or_default();
    let instance_id = input.instance_id.unwrap_or_default();
    let s = r
        .service_mut(&service_id)
        .ok_or_else(|| service_not_found(&service_id))?;
    if !s.custom_health {
        return Err(error(
            ErrorCode::CustomHealthNotFound,
            format!("Service {} has no HealthCheckCustomConfig.", s.id),
        ));
    }
    let i = s
        .instances
        .get_mut(&instance_id)
        .ok_or_else(|| instance_not_found(&instance_id))?;
    let health = match input.status.as_deref() {
        Some("UNHEALTHY") => Health::Unhealthy,
        _ => Health::Healthy,
    };
    if i.health != health {
        i.health = health;
        s.revision += 1;
    }
    Ok(())
}
