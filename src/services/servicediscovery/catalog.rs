//! Cloud Map services: a name in a namespace, how its instances are
//! published in DNS (record types, TTLs, routing policy) and how their
//! health is known; and the service's free-form attributes.

use super::operations::{page, tag_pairs};
use super::{
    invalid, namespace_not_found, route53_health_checks_refused, service_exists, service_in_use,
    service_not_found,
};
use crate::cloudmap::{id_of, new_id, CloudMapRegion, DnsRecord, DnsSettings, Service};
use crate::model::servicediscovery::shapes::{self as sh};
use crate::protocol::ApiError;
use std::collections::BTreeMap;

/// The most attributes a service may have (Cloud Map quotas: "Custom
/// attributes per service: 30").
const MAX_SERVICE_ATTRIBUTES: usize = 30;
/// The longest service name (ServiceName's pattern in the model).
const MAX_SERVICE_NAME: usize = 127;

pub fn create(
    r: &mut CloudMapRegion,
    input: sh::CreateServiceRequest,
) -> Result<sh::Service, ApiError> {
    let name = input.name.clone().unwrap_or_default();
    // The model's pattern bounds the name to 127 characters with a
    // lookahead the regex crate lacks (codegen's PATTERN_REWRITES).
    if name.chars().count() > MAX_SERVICE_NAME {
        return Err(invalid(format!(
            "Service name {name} is longer than {MAX_SERVICE_NAME} characters."
        )));
    }
    if let Some(crid) = &input.creator_request_id {
        // A retry with the same CreatorRequestId answers the same service.
        if let Some(s) = r
            .services
            .values()
            .find(|s| s.creator_request_id.as_deref() == Some(crid.as_str()) && s.name == name)
        {
            return Ok(shape(r, s));
        }
    }
    if input.health_check_config.is_some() {
        return Err(route53_health_checks_refused());
    }
    // The namespace: NamespaceId, or (older clients) DnsConfig.NamespaceId.
    let ns_id = input
        .namespace_id
        .clone()
        .or_else(|| {
            input
                .dns_config
                .as_ref()
                .and_then(|d| d.namespace_id.clone())
        })
        .ok_or_else(|| invalid("NamespaceId is required."))?;
    let ns = r
        .namespaces
        .get(id_of(&ns_id))
        .ok_or_else(|| namespace_not_found(&ns_id))?
        .clone();
    if let Some(existing) = r.service_in(&ns.id, &name) {
        return Err(service_exists(&name, &existing.id));
    }
    let http_only = input.r#type.as_deref() == Some("HTTP");
    let dns = match &input.dns_config {
        Some(_) if http_only => {
            return Err(invalid("A service of Type HTTP cannot have a DnsConfig."))
        }
        Some(_) if !ns.kind.is_dns() => {
            return Err(invalid(format!(
                "Namespace {} is an HTTP namespace: its services cannot have a DnsConfig.",
                ns.id
            )))
        }
        Some(d) => Some(dns_settings(
            d.routing_policy.clone(),
            d.dns_records.as_deref().unwrap_or(&[]),
        )?),
        None => None,
    };
    let kind = if dns.is_some() { "DNS_HTTP" } else { "HTTP" };
    let id = new_id("srv");
    let arn = r.service_arn(&id);
    let tags = tag_pairs(input.tags.as_ref())?;
    let service = Service {
        id: id.clone(),
        arn: arn.clone(),
        name,
        namespace_id: ns.id.clone(),
        description: input.description,
        dns,
        custom_health: input.health_check_custom_config.is_some(),
        kind: kind.into(),
        created: crate::clock::now_secs(),
        creator_request_id: input.creator_request_id,
        attributes: BTreeMap::new(),
        instances: BTreeMap::new(),
        revision: 1,
    };
    let out = shape(r, &service);
    r.services.insert(id, service);
    if !tags.is_empty() {
        r.tags.insert(arn, tags);
    }
    Ok(out)
}

/// Checks a DnsConfig's records as Cloud Map does (the DnsRecord
/// reference): each type once; CNAME alone and only with WEIGHTED routing;
/// SRV may come with A and/or AAAA.
fn dns_settings(
    routing_policy: Option<String>,
    records: &[sh::DnsRecord],
) -> Result<DnsSettings, ApiError> {
    let routing_policy = routing_policy.unwrap_or_else(|| "MULTIVALUE".into());
    if records.is_empty() {
        return Err(invalid(
            "DnsConfig.DnsRecords must name at least one record.",
        ));
    }
    let mut out: Vec<DnsRecord> = vec![];
    for rec in records {
        let kind = rec.r#type.clone().unwrap_or_default();
        if out.iter().any(|o| o.kind == kind) {
            return Err(invalid(format!(
                "DnsRecords names the record type {kind} more than once."
            )));
        }
        out.push(DnsRecord {
            kind,
            ttl: rec.ttl.unwrap_or(0),
        });
    }
    if out.iter().any(|o| o.kind == "CNAME") {
        if out.len() > 1 {
            return Err(invalid(
                "A CNAME record cannot be combined with other record types in DnsRecords.",
            ));
        }
        if routing_policy != "WEIGHTED" {
            return Err(invalid(
                "A CNAME record requires the WEIGHTED routing policy.",
            ));
        }
    }
    Ok(DnsSettings {
        routing_policy,
        records: out,
    })
}

pub fn dns_config_shape(s: &Service) -> Option<sh::DnsConfig> {
    s.dns.as_ref().map(|d| sh::DnsConfig {
        namespace_id: Some(s.namespace_id.clone()),
        routing_policy: Some(d.routing_policy.clone()),
        dns_records: Some(
            d.records
                .iter()
                .map(|r| sh::DnsRecord {
                    r#type: Some(r.kind.clone()),
                    ttl: Some(r.ttl),
                })
                .collect(),
        ),
    })
}

fn custom_config(s: &Service) -> Option<sh::HealthCheckCustomConfig> {
    // FailureThreshold is deprecated: Cloud Map always answers 1.
    s.custom_health.then_some(sh::HealthCheckCustomConfig {
        failure_threshold: Some(1),
    })
}

pub fn shape(r: &CloudMapRegion, s: &Service) -> sh::Service {
    sh::Service {
        id: Some(s.id.clone()),
        arn: Some(s.arn.clone()),
        resource_owner: Some(r.account.clone()),
        name: Some(s.name.clone()),
        namespace_id: Some(s.namespace_id.clone()),
        description: s.description.clone(),
        instance_count: Some(s.instances.len() as i32),
        dns_config: dns_config_shape(s),
        r#type: Some(s.kind.clone()),
        health_check_config: None,
        health_check_custom_config: custom_config(s),
        create_date: Some(s.created),
        creator_request_id: s.creator_request_id.clone(),
        created_by_account: Some(r.account.clone()),
    }
}

pub fn get(r: &CloudMapRegion, id: &str) -> Result<sh::Service, ApiError> {
    let s = r.service(id).ok_or_else(|| service_not_found(id))?;
    Ok(shape(r, s))
}

pub fn list(
    r: &CloudMapRegion,
    input: sh::ListServicesRequest,
) -> Result<sh::ListServicesResponse, ApiError> {
    let filters = input.filters.unwrap_or_default();
    let matching = r.services.values().filter(|s| {
        filters.iter().all(|f| {
            let values = f.values.clone().unwrap_or_default();
            match f.name.as_deref() {
                Some("NAMESPACE_ID") => values.iter().any(|v| id_of(v) == s.namespace_id),
                Some("RESOURCE_OWNER") => values.iter().any(|v| v == "SELF"),
                _ => false,
            }
        })
    });
    let (items, next) = page(
        matching,
        input.next_token.as_deref(),
        input.max_results,
        |s| s.id.clone(),
    )?;
    Ok(sh::ListServicesResponse {
        services: Some(
            items
                .into_iter()
                .map(|s| {
                    let x = shape(r, s);
                    sh::ServiceSummary {
                        id: x.id,
                        arn: x.arn,
                        resource_owner: x.resource_owner,
                        name: x.name,
                        r#type: x.r#type,
                        description: x.description,
                        instance_count: x.instance_count,
                        dns_config: x.dns_config,
                        health_check_config: None,
                        health_check_custom_config: x.health_check_custom_config,
                        create_date: x.create_date,
                        created_by_account: x.created_by_account,
                    }
                })
                .collect(),
        ),
        next_token: next,
    })
}

/// UpdateService: the description and the records' TTLs (the record types
/// and routing policy cannot change, as in AWS's DnsConfigChange).
pub fn update(
    r: &mut CloudMapRegion,
    id: &str,
    change: sh::ServiceChange,
) -> Result<String, ApiError> {
    if change.health_check_config.is_some() {
        return Err(route53_health_checks_refused());
    }
    let s = r.service_mut(id).ok_or_else(|| service_not_found(id))?;
    if let Some(d) = change.description {
        s.description = Some(d);
    }
    if let Some(dns) = change.dns_config {
        let Some(current) = s.dns.as_mut() else {
            return Err(invalid(format!(
                "Service {} has no DnsConfig to change.",
                s.id
            )));
        };
        let records = dns.dns_records.unwrap_or_default();
        let kinds = |v: Vec<String>| {
            let mut v = v;
            v.sort();
            v
        };
        let given = kinds(
            records
                .iter()
                .map(|r| r.r#type.clone().unwrap_or_default())
                .collect(),
        );
        let have = kinds(current.records.iter().map(|r| r.kind.clone()).collect());
        if given != have {
            return Err(invalid(
                "UpdateService can change the TTLs of a service's DNS records, not their types.",
            ));
        }
        for rec in records {
            if let Some(c) = current
                .records
                .iter_mut()
                .find(|c| Some(&c.kind) == rec.r#type.as_ref())
            {
                c.ttl = rec.ttl.unwrap_or(c.ttl);
            }
        }
    }
    let sid = s.id.clone();
    Ok(r.operation("UPDATE_SERVICE", &[("SERVICE", &sid)], None))
}

pub fn delete(r: &mut CloudMapRegion, id: &str) -> Result<(), ApiError> {
    let s = r.service(id).ok_or_else(|| service_not_found(id))?;
    if !s.instances.is_empty() {
        return Err(service_in_use(&s.id));
    }
    let (sid, arn) = (s.id.clone(), s.arn.clone());
    r.services.remove(&sid);
    r.tags.remove(&arn);
    Ok(())
}

pub fn attributes(r: &CloudMapRegion, id: &str) -> Result<sh::ServiceAttributes, ApiError> {
    let s = r.service(id).ok_or_else(|| service_not_found(id))?;
    Ok(sh::ServiceAttributes {
        service_arn: Some(s.arn.clone()),
        resource_owner: Some(r.account.clone()),
        attributes: Some(s.attributes.clone()),
    })
}

pub fn update_attributes(
    r: &mut CloudMapRegion,
    id: &str,
    attrs: BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let s = r.service_mut(id).ok_or_else(|| service_not_found(id))?;
    let mut merged = s.attributes.clone();
    merged.extend(attrs);
    if merged.len() > MAX_SERVICE_ATTRIBUTES {
        return Err(super::error(
            crate::model::servicediscovery::operations::ErrorCode::ServiceAttributesLimitExceededException,
            format!("A service can have at most {MAX_SERVICE_ATTRIBUTES} attributes."),
        ));
    }
    s.attributes = merged;
    Ok(())
}

pub fn delete_attributes(
    r: &mut CloudMapRegion,
    id: &str,
    keys: Vec<String>,
) -> Result<(), ApiError> {
    let s = r.service_mut(id).ok_or_else(|| service_not_found(id))?;
    for k in keys {
        s.attributes.remove(&k);
    }
    Ok(())
}
