//! TagResource, UntagResource, ListTagsForResource. Tags live in one map by
//! resource ARN (`RegionState::tags`); this module decides which ARNs name a
//! taggable resource that exists, with the exception AWS gives when not.
//!
//! Each resource type is one arm of `existing_resource`, each answering the
//! ARN its tags are kept under. Task sets are one arm too: `task_set` is the
//! hook the task-set work fills in.

use crate::domain::messages::{aws, ecsbox};
use crate::domain::validation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::arn::Arn;
use crate::state::{arn, RegionState};
use crate::tags::{is_reserved_key, TagViolation, MAX_TAGS_PER_RESOURCE};

/// Checks that `resource_arn` names a taggable resource of this account and
/// region that exists, and returns the ARN its tags are kept under (the
/// resource's own ARN, as ecsbox builds it).
fn existing_resource(state: &RegionState, resource_arn: &str) -> Result<String, ApiError> {
    // AWS's words for an ARN that is not an ECS one: boto/boto3#2774 quotes
    // them for an ECR repository ARN given to ListTagsForResource.
    let parsed =
        arn::parse(resource_arn).ok_or_else(|| ApiError::invalid_parameter(aws::ARN_INVALID))?;
    // Another account's or region's resource is not one this caller can see.
    let elsewhere = parsed.region != state.region || parsed.account != state.account;
    match parsed.resource_type {
        "cluster" => cluster(state, parsed.id, elsewhere),
        "task-definition" => task_definition(state, parsed.id, elsewhere),
        "capacity-provider" => capacity_provider(state, parsed.id, elsewhere),
        "service" => service(state, &parsed, elsewhere),
        "task" => task(state, &parsed, elsewhere),
        "container-instance" => container_instance(state, &parsed, elsewhere),
        "task-set" => task_set(state, &parsed, elsewhere),
        other => Err(ApiError::invalid_parameter(
            ecsbox::resource_type_not_taggable(other),
        )),
    }
}

/// The cluster and the rest of a long ARN's path (`CLUSTER/NAME`). A short
/// one (no cluster: `service/NAME`, `task/ID`, as before the long format)
/// is refused with AWS's words, quoted for a short service ARN in
/// boto/boto3#2473, pulumi/pulumi-aws#930 and
/// hashicorp/terraform-provider-aws#35867. ecsbox only ever makes long ARNs,
/// so a short one never names a resource it has.
fn long_form<'a>(parsed: &Arn<'a>) -> Result<(&'a str, &'a str), ApiError> {
    parsed
        .id
        .split_once('/')
        .filter(|(cluster, rest)| !cluster.is_empty() && !rest.is_empty())
        .ok_or_else(|| ApiError::invalid_parameter(aws::LONG_ARN_REQUIRED_FOR_TAGGING))
}

/// A resource inside a cluster: a cluster ecsbox never had gets
/// ClusterNotFoundException, as every call naming a cluster does (a deleted
/// cluster's services and instances are INACTIVE and answered below).
fn in_cluster<'a>(
    state: &RegionState,
    parsed: &Arn<'a>,
    elsewhere: bool,
) -> Result<(&'a str, &'a str), ApiError> {
    let (cluster, rest) = long_form(parsed)?;
    if elsewhere || !state.clusters.contains_key(cluster) {
        return Err(ApiError::cluster_not_found());
    }
    Ok((cluster, rest))
}

/// Services until deleted: an INACTIVE one has lost its tags, as AWS deletes
/// a resource's tags with it.
fn service(state: &RegionState, parsed: &Arn, elsewhere: bool) -> Result<String, ApiError> {
    let (cluster, name) = in_cluster(state, parsed, elsewhere)?;
    let key = format!(
        "arn:aws:ecs:{}:{}:service/{cluster}/{name}",
        state.region, state.account
    );
    match state.services.get(&key) {
        Some(s) if s.status() != "INACTIVE" => Ok(key),
        _ => Err(resource_not_found()),
    }
}

/// Tasks as long as DescribeTasks shows them, STOPPED ones included.
fn task(state: &RegionState, parsed: &Arn, elsewhere: bool) -> Result<String, ApiError> {
    let (cluster, id) = in_cluster(state, parsed, elsewhere)?;
    let key = crate::domain::launch::task_arn(state, cluster, id);
    if state.tasks.contains_key(&key) {
        Ok(key)
    } else {
        Err(resource_not_found())
    }
}

/// Container instances as long as DescribeContainerInstances shows them.
fn container_instance(
    state: &RegionState,
    parsed: &Arn,
    elsewhere: bool,
) -> Result<String, ApiError> {
    let (cluster, id) = in_cluster(state, parsed, elsewhere)?;
    let key = arn::container_instance(&state.region, &state.account, cluster, id);
    if state.container_instances.contains_key(&key) {
        Ok(key)
    } else {
        Err(resource_not_found())
    }
}

/// Task sets (`task-set/CLUSTER/SERVICE/ecs-svc/ID`), while they exist (a
/// DRAINING one until its tasks have stopped); their tags are kept under
/// their ARN like every other resource's.
fn task_set(state: &RegionState, parsed: &Arn, elsewhere: bool) -> Result<String, ApiError> {
    let (cluster, rest) = in_cluster(state, parsed, elsewhere)?;
    let arn = format!(
        "arn:aws:ecs:{}:{}:task-set/{cluster}/{rest}",
        state.region, state.account
    );
    state
        .task_set_by_arn(&arn)
        .map(|_| arn.clone())
        .ok_or_else(resource_not_found)
}

/// ecsbox's wording: the model's own description of the exception. AWS's
/// message for a missing service, task or container instance has not been
/// found quoted anywhere public.
fn resource_not_found() -> ApiError {
    ApiError::ecs(
        crate::model::operations::ErrorCode::ResourceNotFoundException,
        ecsbox::RESOURCE_NOT_FOUND,
    )
}

/// A deleted (INACTIVE) cluster gets the message Terraform's provider
/// recognises as "parent gone"; one that never existed is not found.
fn cluster(state: &RegionState, name: &str, elsewhere: bool) -> Result<String, ApiError> {
    match state.clusters.get(name) {
        _ if elsewhere => Err(ApiError::cluster_not_found()),
        Some(c) if c.status.as_deref() == Some("ACTIVE") => {
            Ok(arn::cluster(&state.region, &state.account, name))
        }
        Some(_) => Err(ApiError::invalid_parameter(aws::CLUSTER_INACTIVE)),
        None => Err(ApiError::cluster_not_found()),
    }
}

/// Task definitions of any status can be tagged; a missing revision gets the
/// answer DescribeTaskDefinition gives.
fn task_definition(state: &RegionState, id: &str, elsewhere: bool) -> Result<String, ApiError> {
    let key = id
        .rsplit_once(':')
        .and_then(|(family, rev)| Some((family.to_string(), rev.parse::<i32>().ok()?)));
    let Some(key) = key else {
        return Err(ApiError::invalid_parameter(
            ecsbox::task_definition_arn_invalid(id),
        ));
    };
    if elsewhere || !state.task_definitions.contains_key(&key) {
        return Err(ApiError::client(aws::UNABLE_TO_DESCRIBE_TASK_DEFINITION));
    }
    Ok(arn::task_definition(
        &state.region,
        &state.account,
        &key.0,
        key.1,
    ))
}

fn capacity_provider(state: &RegionState, name: &str, elsewhere: bool) -> Result<String, ApiError> {
    if !elsewhere && state.capacity_provider_exists(name) {
        Ok(arn::capacity_provider(&state.region, &state.account, name))
    } else {
        Err(resource_not_found())
    }
}

pub fn tag(
    state: &mut RegionState,
    input: TagResourceRequest,
) -> Result<TagResourceResponse, ApiError> {
    let key = existing_resource(state, input.resource_arn.as_deref().unwrap_or(""))?;
    let new = validation::tags(&input.tags.unwrap_or_default())?;
    let merged = state
        .tag_set_of(&key)
        .merged_within_limit(new)
        .map_err(|v| match v {
            TagViolation::TooMany { count } => ApiError::invalid_parameter(
                ecsbox::resource_tags_too_many(MAX_TAGS_PER_RESOURCE, count),
            ),
            other => validation::tag_error(other).into(),
        })?;
    if !merged.is_empty() {
        state.tags.insert(key, merged);
    }
    Ok(TagResourceResponse::default())
}

pub fn untag(
    state: &mut RegionState,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse, ApiError> {
    let key = existing_resource(state, input.resource_arn.as_deref().unwrap_or(""))?;
    let remove = input.tag_keys.unwrap_or_default();
    // ECS's own tags (`aws:ecs:clusterName`, ...) cannot be removed: "You
    // cannot edit or delete tag keys or values with this prefix" (the
    // TagResource API reference).
    if let Some(key) = remove.iter().find(|k| is_reserved_key(k)) {
        return Err(ApiError::invalid_parameter(
            ecsbox::reserved_tag_key_removal(key),
        ));
    }
    // Keys the resource does not have are simply not there to remove.
    if let Some(tags) = state.tags.get_mut(&key) {
        tags.remove_keys(remove.iter().map(String::as_str));
        if tags.is_empty() {
            state.tags.remove(&key);
        }
    }
    Ok(UntagResourceResponse::default())
}

pub fn list(
    state: &mut RegionState,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, ApiError> {
    let key = existing_resource(state, input.resource_arn.as_deref().unwrap_or(""))?;
    Ok(ListTagsForResourceResponse {
        tags: Some(state.tags_of(&key)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_of(k: &str, v: &str) -> Tag {
        Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        }
    }

    /// Task definitions are tagged by ARN whatever their status (registered
    /// directly here so this test does not depend on RegisterTaskDefinition).
    #[test]
    fn task_definitions_of_any_status_are_taggable() {
        let mut state = RegionState::new("000000000000", "us-east-1");
        let td = TaskDefinition {
            family: Some("app".into()),
            revision: Some(1),
            status: Some("INACTIVE".into()),
            ..Default::default()
        };
        state.task_definitions.insert(
            ("app".into(), 1),
            crate::state::task_definitions::StoredTaskDefinition::new(&td),
        );
        let td_arn = arn::task_definition("us-east-1", "000000000000", "app", 1);
        tag(
            &mut state,
            TagResourceRequest {
                resource_arn: Some(td_arn.clone()),
                tags: Some(vec![tag_of("a", "1")]),
            },
        )
        .unwrap();
        let listed = list(
            &mut state,
            ListTagsForResourceRequest {
                resource_arn: Some(td_arn),
            },
        )
        .unwrap();
        assert_eq!(listed.tags.unwrap(), vec![tag_of("a", "1")]);

        let missing = arn::task_definition("us-east-1", "000000000000", "app", 2);
        let err = list(
            &mut state,
            ListTagsForResourceRequest {
                resource_arn: Some(missing),
            },
        )
        .unwrap_err();
        assert_eq!(err.code, "ClientException");
        let malformed = "arn:aws:ecs:us-east-1:000000000000:task-definition/app".to_string();
        let err = list(
            &mut state,
            ListTagsForResourceRequest {
                resource_arn: Some(malformed),
            },
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidParameterException");
    }
}
