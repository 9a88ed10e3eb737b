//! Custom attributes: PutAttributes, DeleteAttributes, ListAttributes.
//!
//! Attributes are kept per cluster, keyed by (container instance ID, name).
//! Their only target type is `container-instance`, and whether a container
//! instance exists is asked of `RegionState::container_instance_exists`,
//! which knows none until container instances are registered (that comes
//! with the tasks issue); until then every target is refused with
//! TargetNotFoundException, as AWS refuses an unknown instance.

use super::pagination::{decode_token, page_size, take_page};
use crate::domain::messages::ecsbox;
use crate::model::operations::ErrorCode;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::{arn, RegionState};

/// At most 10 attributes per call, and 10 custom attributes per resource.
const MAX_ATTRIBUTES: usize = 10;
const TARGET_TYPE: &str = "container-instance";

fn cluster_of(state: &RegionState, reference: Option<&str>) -> Result<String, ApiError> {
    state
        .active_cluster_name(reference)
        .ok_or_else(ApiError::cluster_not_found)
}

/// Names: 1-128 letters, digits, hyphens, underscores, slashes, back
/// slashes and periods.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/\\.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(ecsbox::attribute_name_invalid(
            name,
        )))
    }
}

/// Values: 1-128 letters, digits, hyphens, underscores, periods, at signs,
/// slashes, back slashes, colons and spaces, not starting or ending with a space.
fn check_value(name: &str, value: &str) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&value.chars().count())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@/\\: ".contains(c))
        && !value.starts_with(' ')
        && !value.ends_with(' ');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(
            ecsbox::attribute_value_invalid(name),
        ))
    }
}

/// The container instance ID an attribute targets. A short ID needs
/// `targetType`; an ARN (long `container-instance/CLUSTER/ID` or short
/// `container-instance/ID` format) names its type itself.
fn target_id(
    state: &RegionState,
    cluster: &str,
    attribute: &Attribute,
) -> Result<String, ApiError> {
    let name = attribute.name.as_deref().unwrap_or("");
    let given = attribute
        .target_id
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid_parameter(ecsbox::attribute_target_id_missing(name)))?;
    let id = if given.starts_with("arn:") {
        let parsed = arn::parse(given)
            .filter(|a| a.resource_type == TARGET_TYPE)
            .ok_or_else(|| {
                ApiError::invalid_parameter(ecsbox::attribute_target_id_not_instance_arn(given))
            })?;
        let ours = parsed.region == state.region && parsed.account == state.account;
        let id = parsed.id.rsplit('/').next().unwrap_or("").to_string();
        let in_cluster = parsed.id.split_once('/').is_none_or(|(c, _)| c == cluster);
        if !ours || !in_cluster {
            return Err(target_not_found(given, cluster));
        }
        id
    } else {
        if attribute.target_type.is_none() {
            return Err(ApiError::invalid_parameter(
                ecsbox::attribute_target_type_missing(name),
            ));
        }
        given.to_string()
    };
    if !state.container_instance_exists(cluster, &id) {
        return Err(target_not_found(given, cluster));
    }
    Ok(id)
}

fn target_not_found(target: &str, cluster: &str) -> ApiError {
    ApiError::ecs(
        ErrorCode::TargetNotFoundException,
        ecsbox::attribute_target_not_found(target, cluster),
    )
}

fn too_many() -> ApiError {
    ApiError::ecs(
        ErrorCode::AttributeLimitExceededException,
        ecsbox::attributes_too_many(MAX_ATTRIBUTES),
    )
}

/// The attribute as stored and answered: its target named by ARN.
fn stored(state: &RegionState, cluster: &str, id: &str, attribute: &Attribute) -> Attribute {
    Attribute {
        name: attribute.name.clone(),
        value: attribute.value.clone(),
        target_type: Some(TARGET_TYPE.into()),
        target_id: Some(format!(
            "arn:aws:ecs:{}:{}:container-instance/{cluster}/{id}",
            state.region, state.account
        )),
    }
}

/// Stores checked attributes, refusing all of them if a target would end up
/// with more than the limit.
fn store(
    state: &mut RegionState,
    cluster: &str,
    checked: Vec<(String, Attribute)>,
) -> Result<(), ApiError> {
    let mut merged = state.attributes.get(cluster).cloned().unwrap_or_default();
    for (id, attribute) in checked {
        merged.insert((id, attribute.name.clone().unwrap_or_default()), attribute);
    }
    let mut per_target = std::collections::HashMap::<&str, usize>::new();
    for (id, _) in merged.keys() {
        *per_target.entry(id).or_default() += 1;
    }
    if per_target.values().any(|n| *n > MAX_ATTRIBUTES) {
        return Err(too_many());
    }
    state.attributes.insert(cluster.to_string(), merged);
    Ok(())
}

pub fn put(
    state: &mut RegionState,
    input: PutAttributesRequest,
) -> Result<PutAttributesResponse, ApiError> {
    let cluster = cluster_of(state, input.cluster.as_deref())?;
    let attributes = input.attributes.unwrap_or_default();
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(too_many());
    }
    // Check every attribute before storing any: a refused call changes nothing.
    let mut checked = Vec::with_capacity(attributes.len());
    for attribute in &attributes {
        let name = attribute.name.as_deref().unwrap_or("");
        check_name(name)?;
        if let Some(value) = attribute.value.as_deref() {
            check_value(name, value)?;
        }
        let id = target_id(state, &cluster, attribute)?;
        checked.push((id.clone(), stored(state, &cluster, &id, attribute)));
    }
    let answer = checked.iter().map(|(_, a)| a.clone()).collect();
    store(state, &cluster, checked)?;
    // A container instance's attributes changed: the scheduler's pass
    // tells EventBridge (and placement constraints may now be met).
    state.effects.push(crate::state::tasks::Effect::Reconcile);
    Ok(PutAttributesResponse {
        attributes: Some(answer),
    })
}

pub fn delete(
    state: &mut RegionState,
    input: DeleteAttributesRequest,
) -> Result<DeleteAttributesResponse, ApiError> {
    let cluster = cluster_of(state, input.cluster.as_deref())?;
    let attributes = input.attributes.unwrap_or_default();
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(ApiError::invalid_parameter(
            ecsbox::delete_attributes_too_many(MAX_ATTRIBUTES),
        ));
    }
    let mut keys = Vec::with_capacity(attributes.len());
    for attribute in &attributes {
        check_name(attribute.name.as_deref().unwrap_or(""))?;
        let id = target_id(state, &cluster, attribute)?;
        keys.push((id.clone(), stored(state, &cluster, &id, attribute)));
    }
    // Removing an attribute the target does not have is not an error.
    if let Some(held) = state.attributes.get_mut(&cluster) {
        for (id, attribute) in &keys {
            held.remove(&(id.clone(), attribute.name.clone().unwrap_or_default()));
        }
    }
    state.effects.push(crate::state::tasks::Effect::Reconcile);
    Ok(DeleteAttributesResponse {
        attributes: Some(keys.into_iter().map(|(_, a)| a).collect()),
    })
}

pub fn list(
    state: &mut RegionState,
    input: ListAttributesRequest,
) -> Result<ListAttributesResponse, ApiError> {
    let size = page_size(input.max_results, 100, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let cluster = cluster_of(state, input.cluster.as_deref())?;
    if input.attribute_value.is_some() && input.attribute_name.is_none() {
        return Err(ApiError::invalid_parameter(
            ecsbox::LIST_ATTRIBUTES_VALUE_WITHOUT_NAME,
        ));
    }
    // A page key is "ID/NAME": IDs hold no slash, so the order is the map's.
    let key_of = |(id, name): &(String, String)| format!("{id}/{name}");
    let empty = Default::default();
    let matching = state
        .attributes
        .get(&cluster)
        .unwrap_or(&empty)
        .iter()
        .filter(|(_, a)| a.target_type.as_deref() == input.target_type.as_deref())
        .filter(|(_, a)| input.attribute_name.is_none() || a.name == input.attribute_name)
        .filter(|(_, a)| input.attribute_value.is_none() || a.value == input.attribute_value)
        .filter(|(k, _)| after.as_ref().is_none_or(|a| key_of(k) > *a));
    let (page, next_token) = take_page(matching, size, |(k, _)| key_of(k));
    Ok(ListAttributesResponse {
        attributes: Some(page.into_iter().map(|(_, a)| a.clone()).collect()),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(name: &str) -> Attribute {
        Attribute {
            name: Some(name.into()),
            value: None,
            target_type: Some(TARGET_TYPE.into()),
            target_id: Some("i1".into()),
        }
    }

    #[test]
    fn names_and_values() {
        assert!(check_name("ecs.os-type/x\\y_z").is_ok());
        assert!(check_name("bad name").is_err());
        assert!(check_name(&"a".repeat(129)).is_err());
        assert!(check_value("n", "linux: 5.10 @x").is_ok());
        assert!(check_value("n", " padded").is_err());
        assert!(check_value("n", "").is_err());
    }

    /// The per-resource limit, checked on the storing step directly because
    /// no container instance can be a target yet.
    #[test]
    fn a_resource_holds_at_most_ten_attributes() {
        let mut state = RegionState::new("000000000000", "us-east-1");
        let ten = (0..10)
            .map(|i| ("i1".to_string(), attribute(&format!("a{i}"))))
            .collect();
        store(&mut state, "default", ten).unwrap();
        let err = store(
            &mut state,
            "default",
            vec![("i1".into(), attribute("one-more"))],
        )
        .unwrap_err();
        assert_eq!(err.code, "AttributeLimitExceededException");
        assert_eq!(state.attributes["default"].len(), 10);
        // Replacing an existing one stays within the limit.
        store(&mut state, "default", vec![("i1".into(), attribute("a0"))]).unwrap();
    }
}
