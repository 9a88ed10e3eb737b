//! GetOperation and ListOperations (SUBMITTED the first time an operation
//! is looked at, SUCCESS after: see `crate::cloudmap`), tags on namespaces
//! and services, and the paging every List operation shares.

use super::{bad_token, error, invalid};
use crate::cloudmap::{CloudMapRegion, OperationRecord};
use crate::model::servicediscovery::operations::ErrorCode;
use crate::model::servicediscovery::shapes::{self as sh, Tag};
use crate::protocol::ApiError;
use crate::store::page_token;

/// The most tags one resource may hold (Cloud Map: 50).
const MAX_TAGS: usize = 50;

/// One page of `items` (ordered by `key`), after the token's key.
pub fn page<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    token: Option<&str>,
    max_results: Option<i32>,
    key: impl Fn(&T) -> String,
) -> Result<(Vec<&'a T>, Option<String>), ApiError> {
    let after = match token {
        None | Some("") => None,
        Some(t) => Some(page_token::decode(t).ok_or_else(bad_token)?),
    };
    let size = max_results.filter(|m| *m > 0).unwrap_or(100) as usize;
    let rest = items.filter(|i| after.as_ref().is_none_or(|a| key(i) > *a));
    Ok(page_token::take_page(rest, size, |i| key(i)))
}

fn operation_shape(op: &mut OperationRecord, owner: &str, now: f64) -> sh::Operation {
    let (status, updated) = op.look(now);
    sh::Operation {
        id: Some(op.id.clone()),
        owner_account: Some(owner.to_string()),
        r#type: Some(op.kind.clone()),
        status: Some(status.into()),
        error_message: None,
        error_code: None,
        create_date: Some(op.created),
        update_date: Some(updated),
        targets: Some(op.targets.clone()),
    }
}

pub fn get(r: &mut CloudMapRegion, id: &str) -> Result<sh::Operation, ApiError> {
    let owner = r.account.clone();
    let op = r.operations.get_mut(id).ok_or_else(|| {
        error(
            ErrorCode::OperationNotFound,
            format!("Operation not found: {id}"),
        )
    })?;
    Ok(operation_shape(op, &owner, crate::clock::now_secs()))
}

pub fn list(
    r: &mut CloudMapRegion,
    input: sh::ListOperationsRequest,
) -> Result<sh::ListOperationsResponse, ApiError> {
    let filters = input.filters.unwrap_or_default();
    let now = crate::clock::now_secs();
    let owner = r.account.clone();
    // The status filter sees what this look answers, so look at every
    // operation first.
    let mut shapes: Vec<sh::Operation> = vec![];
    for op in r.operations.values_mut() {
        shapes.push(operation_shape(op, &owner, now));
    }
    for f in &filters {
        let cond = f.condition.as_deref().unwrap_or("EQ");
        let ok = match f.name.as_deref() {
            Some("UPDATE_DATE") => cond == "BETWEEN",
            _ => cond == "EQ" || cond == "IN",
        };
        if !ok {
            return Err(invalid(format!(
                "Condition {cond} is not supported for the {} filter.",
                f.name.as_deref().unwrap_or_default()
            )));
        }
    }
    let matching: Vec<sh::Operation> = shapes
        .into_iter()
        .filter(|o| {
            filters.iter().all(|f| {
                let values = f.values.clone().unwrap_or_default();
                let target = |k: &str| {
                    o.targets
                        .as_ref()
                        .and_then(|t| t.get(k))
                        .cloned()
                        .unwrap_or_default()
                };
                match f.name.as_deref() {
                    Some("NAMESPACE_ID") => values.contains(&target("NAMESPACE")),
                    Some("SERVICE_ID") => values.contains(&target("SERVICE")),
                    Some("STATUS") => o.status.as_ref().is_some_and(|s| values.contains(s)),
                    Some("TYPE") => o.r#type.as_ref().is_some_and(|s| values.contains(s)),
                    Some("UPDATE_DATE") => {
                        let bound = |i: usize| values.get(i).and_then(|v| v.parse::<f64>().ok());
                        let t = o.update_date.unwrap_or_default();
                        bound(0).is_none_or(|b| t >= b) && bound(1).is_none_or(|b| t <= b)
                    }
                    _ => false,
                }
            })
        })
        .collect();
    let (items, next) = page(
        matching.iter(),
        input.next_token.as_deref(),
        input.max_results,
        |o| o.id.clone().unwrap_or_default(),
    )?;
    Ok(sh::ListOperationsResponse {
        operations: Some(
            items
                .into_iter()
                .map(|o| sh::OperationSummary {
                    id: o.id.clone(),
                    status: o.status.clone(),
                })
                .collect(),
        ),
        next_token: next,
    })
}

/// A request's tags as pairs, checked.
pub fn tag_pairs(tags: Option<&Vec<Tag>>) -> Result<Vec<(String, String)>, ApiError> {
    let mut out: Vec<(String, String)> = vec![];
    for t in tags.into_iter().flatten() {
        let key = t.key.clone().unwrap_or_default();
        let value = t.value.clone().unwrap_or_default();
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => out.push((key, value)),
        }
    }
    if out.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    Ok(out)
}

fn too_many_tags() -> ApiError {
    error(
        ErrorCode::TooManyTagsException,
        format!("A resource can have at most {MAX_TAGS} tags."),
    )
}

/// The ARN of a namespace or service that exists, else
/// ResourceNotFoundException.
fn taggable(r: &CloudMapRegion, arn: &str) -> Result<(), ApiError> {
    let known =
        r.namespaces.values().any(|n| n.arn == arn) || r.services.values().any(|s| s.arn == arn);
    if known {
        Ok(())
    } else {
        Err(error(
            ErrorCode::ResourceNotFoundException,
            format!("Resource not found: {arn}"),
        ))
    }
}

pub fn tag(r: &mut CloudMapRegion, arn: &str, tags: Vec<Tag>) -> Result<(), ApiError> {
    taggable(r, arn)?;
    let given = tag_pairs(Some(&tags))?;
    let mut held = r.tags.get(arn).cloned().unwrap_or_default();
    for (k, v) in given {
        match held.iter_mut().find(|(hk, _)| *hk == k) {
            Some(pair) => pair.1 = v,
            None => held.push((k, v)),
        }
    }
    if held.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    r.tags.insert(arn.to_string(), held);
    Ok(())
}

pub fn untag(r: &mut CloudMapRegion, arn: &str, keys: &[String]) -> Result<(), ApiError> {
    taggable(r, arn)?;
    if let Some(held) = r.tags.get_mut(arn) {
        held.retain(|(k, _)| !keys.contains(k));
    }
    Ok(())
}

pub fn list_tags(r: &CloudMapRegion, arn: &str) -> Result<Vec<Tag>, ApiError> {
    taggable(r, arn)?;
    Ok(r.tags
        .get(arn)
        .into_iter()
        .flatten()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect())
}
