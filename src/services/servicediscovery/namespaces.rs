//! Namespaces: HTTP (discovered through the API only), private DNS (also
//! answered by ecsbox's DNS) and public DNS. Creating, updating and
//! deleting one are asynchronous operations, as in AWS.

use super::operations::{page, tag_pairs};
use super::{duplicate_request, invalid, namespace_exists, namespace_in_use, namespace_not_found};
use crate::cloudmap::{new_id, CloudMapRegion, Namespace, NamespaceKind};
use crate::model::servicediscovery::shapes::{self as sh, Tag};
use crate::protocol::ApiError;

/// What the three CreateXNamespace calls share.
pub struct NewNamespace {
    pub name: String,
    pub kind: NamespaceKind,
    pub creator_request_id: Option<String>,
    pub description: Option<String>,
    pub vpc: Option<String>,
    pub soa_ttl: Option<i64>,
    pub tags: Option<Vec<Tag>>,
}

/// Creates a namespace; answers the operation id.
pub fn create(r: &mut CloudMapRegion, new: NewNamespace) -> Result<String, ApiError> {
    // A retried request (same CreatorRequestId) gets the first answer; the
    // id reused for something else is a DuplicateRequest.
    if let Some(crid) = &new.creator_request_id {
        if let Some(op) = r.operations.values().find(|o| {
            o.kind == "CREATE_NAMESPACE" && o.creator_request_id.as_deref() == Some(crid.as_str())
        }) {
            let same = op
                .targets
                .get("NAMESPACE")
                .and_then(|id| r.namespaces.get(id))
                .is_some_and(|n| n.name.eq_ignore_ascii_case(&new.name) && n.kind == new.kind);
            if same {
                return Ok(op.id.clone());
            }
            return Err(duplicate_request(crid, &op.id));
        }
    }
    let name = new.name.trim_end_matches('.').to_string();
    if name.is_empty() {
        return Err(invalid("Name must not be empty."));
    }
    if let Some(existing) = r
        .namespaces
        .values()
        .find(|n| n.name.eq_ignore_ascii_case(&name) || n.http_name.eq_ignore_ascii_case(&name))
    {
        return Err(namespace_exists(&name, &existing.id));
    }
    if new.kind.is_dns() && !is_dns_name(&name) {
        return Err(invalid(format!(
            "Namespace name {name} is not a valid DNS domain name."
        )));
    }
    let id = new_id("ns");
    let arn = r.namespace_arn(&id);
    let tags = tag_pairs(new.tags.as_ref())?;
    let hosted_zone_id = new
        .kind
        .is_dns()
        .then(|| format!("Z{}", new_id("").trim_start_matches('-').to_uppercase()));
    r.namespaces.insert(
        id.clone(),
        Namespace {
            id: id.clone(),
            arn: arn.clone(),
            name: name.clone(),
            kind: new.kind,
            description: new.description,
            vpc: new.vpc,
            soa_ttl: new.kind.is_dns().then_some(new.soa_ttl.unwrap_or(15)),
            http_name: name,
            hosted_zone_id,
            created: crate::clock::now_secs(),
            creator_request_id: new.creator_request_id.clone(),
        },
    );
    if !tags.is_empty() {
        r.tags.insert(arn, tags);
    }
    Ok(r.operation(
        "CREATE_NAMESPACE",
        &[("NAMESPACE", &id)],
        new.creator_request_id,
    ))
}

/// Labels of letters, digits and hyphens (and underscores, which Route 53
/// takes), 63 characters at most, 253 in all.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

pub fn shape(r: &CloudMapRegion, n: &Namespace) -> sh::Namespace {
    sh::Namespace {
        id: Some(n.id.clone()),
        arn: Some(n.arn.clone()),
        resource_owner: Some(r.account.clone()),
        name: Some(n.name.clone()),
        r#type: Some(n.kind.as_str().into()),
        description: n.description.clone(),
        service_count: Some(service_count(r, &n.id)),
        properties: Some(properties(n)),
        create_date: Some(n.created),
        creator_request_id: n.creator_request_id.clone(),
    }
}

fn service_count(r: &CloudMapRegion, id: &str) -> i32 {
    r.services.values().filter(|s| s.namespace_id == id).count() as i32
}

fn properties(n: &Namespace) -> sh::NamespaceProperties {
    sh::NamespaceProperties {
        dns_properties: n.kind.is_dns().then(|| sh::DnsProperties {
            hosted_zone_id: n.hosted_zone_id.clone(),
            soa: n.soa_ttl.map(|ttl| sh::SOA { ttl: Some(ttl) }),
        }),
        http_properties: Some(sh::HttpProperties {
            http_name: Some(n.http_name.clone()),
        }),
    }
}

pub fn get(r: &CloudMapRegion, id: &str) -> Result<sh::Namespace, ApiError> {
    let n = r
        .namespaces
        .get(crate::cloudmap::id_of(id))
        .ok_or_else(|| namespace_not_found(id))?;
    Ok(shape(r, n))
}

pub fn list(
    r: &CloudMapRegion,
    input: sh::ListNamespacesRequest,
) -> Result<sh::ListNamespacesResponse, ApiError> {
    let filters = input.filters.unwrap_or_default();
    for f in &filters {
        check_filter(f)?;
    }
    let matching = r.namespaces.values().filter(|n| {
        filters.iter().all(|f| {
            let values = f.values.clone().unwrap_or_default();
            let cond = f.condition.as_deref().unwrap_or("EQ");
            let field = match f.name.as_deref() {
                Some("TYPE") => n.kind.as_str().to_string(),
                Some("NAME") => n.name.clone(),
                Some("HTTP_NAME") => n.http_name.clone(),
                // Every namespace here is the caller's own.
                Some("RESOURCE_OWNER") => "SELF".to_string(),
                _ => return false,
            };
            match cond {
                "BEGINS_WITH" => values.iter().any(|v| field.starts_with(v.as_str())),
                _ => values.contains(&field),
            }
        })
    });
    let (items, next) = page(
        matching,
        input.next_token.as_deref(),
        input.max_results,
        |n| n.id.clone(),
    )?;
    Ok(sh::ListNamespacesResponse {
        namespaces: Some(
            items
                .into_iter()
                .map(|n| {
                    let s = shape(r, n);
                    sh::NamespaceSummary {
                        id: s.id,
                        arn: s.arn,
                        resource_owner: s.resource_owner,
                        name: s.name,
                        r#type: s.r#type,
                        description: s.description,
                        service_count: s.service_count,
                        properties: s.properties,
                        create_date: s.create_date,
                    }
                })
                .collect(),
        ),
        next_token: next,
    })
}

/// The conditions each filter takes (the NamespaceFilter reference).
fn check_filter(f: &sh::NamespaceFilter) -> Result<(), ApiError> {
    let name = f.name.as_deref().unwrap_or_default();
    let cond = f.condition.as_deref().unwrap_or("EQ");
    let allowed: &[&str] = match name {
        "TYPE" => &["EQ", "IN"],
        "NAME" | "HTTP_NAME" => &["EQ", "BEGINS_WITH"],
        _ => &["EQ"],
    };
    if !allowed.contains(&cond) {
        return Err(invalid(format!(
            "Condition {cond} is not supported for the {name} filter."
        )));
    }
    if cond == "EQ" && f.values.as_ref().is_some_and(|v| v.len() != 1) {
        return Err(invalid(format!(
            "The EQ condition of the {name} filter takes exactly one value."
        )));
    }
    Ok(())
}

pub fn delete(r: &mut CloudMapRegion, id: &str) -> Result<String, ApiError> {
    let id = crate::cloudmap::id_of(id).to_string();
    if !r.namespaces.contains_key(&id) {
        return Err(namespace_not_found(&id));
    }
    if r.services.values().any(|s| s.namespace_id == id) {
        return Err(namespace_in_use(&id));
    }
    if let Some(n) = r.namespaces.remove(&id) {
        r.tags.remove(&n.arn);
    }
    Ok(r.operation("DELETE_NAMESPACE", &[("NAMESPACE", &id)], None))
}

/// UpdateXNamespace: a new description and, for DNS namespaces, a new SOA TTL.
pub fn update(
    r: &mut CloudMapRegion,
    id: &str,
    kind: NamespaceKind,
    description: Option<String>,
    soa_ttl: Option<i64>,
) -> Result<String, ApiError> {
    let id = crate::cloudmap::id_of(id).to_string();
    let n = r
        .namespaces
        .get_mut(&id)
        .ok_or_else(|| namespace_not_found(&id))?;
    if n.kind != kind {
        return Err(invalid(format!(
            "Namespace {id} is of type {}, not {}.",
            n.kind.as_str(),
            kind.as_str()
        )));
    }
    if description.is_some() {
        n.description = description;
    }
    if soa_ttl.is_some() {
        n.soa_ttl = soa_ttl;
    }
    Ok(r.operation("UPDATE_NAMESPACE", &[("NAMESPACE", &id)], None))
}
