//! Capacity providers: Create, Describe, Update, Delete for Auto Scaling
//! group providers. FARGATE and FARGATE_SPOT are not stored: they always
//! exist, cannot be changed, and Describe shows them as AWS does.

use super::pagination::{decode_token, encode_token, page_size};
use crate::domain::messages::{aws, ecsbox};
use crate::domain::validation;
use crate::model::operations::ErrorCode;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::{arn, RegionState};

const ACTIVE: &str = "ACTIVE";
const INACTIVE: &str = "INACTIVE";
const ENABLED: &str = "ENABLED";
const DISABLED: &str = "DISABLED";
const FARGATE_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

fn check_name(name: &str) -> Result<(), ApiError> {
    let lower = name.to_ascii_lowercase();
    let reserved = ["aws", "ecs", "fargate"]
        .iter()
        .any(|p| lower.starts_with(p));
    if reserved || validation::resource_name("Capacity provider", name).is_err() {
        return Err(ApiError::client(aws::CAPACITY_PROVIDER_NAME_INVALID));
    }
    Ok(())
}

/// The name a reference (name or ARN of this account and region) means.
fn name_of<'a>(state: &RegionState, reference: &'a str) -> Option<&'a str> {
    if !reference.starts_with("arn:") {
        return Some(reference);
    }
    let parsed = arn::parse(reference)?;
    let ours = parsed.resource_type == "capacity-provider"
        && parsed.region == state.region
        && parsed.account == state.account;
    ours.then_some(parsed.id)
}

fn not_found(reference: &str) -> ApiError {
    ApiError::invalid_parameter(ecsbox::capacity_provider_not_found(reference))
}

/// The stored, ACTIVE provider a reference names; FARGATE and FARGATE_SPOT
/// are refused with `reserved_action` ("updated", "deleted").
fn active_name(
    state: &RegionState,
    reference: &str,
    reserved_action: &str,
) -> Result<String, ApiError> {
    let name = name_of(state, reference).ok_or_else(|| not_found(reference))?;
    if FARGATE_PROVIDERS.contains(&name) {
        return Err(ApiError::invalid_parameter(
            ecsbox::capacity_provider_reserved(name, reserved_action),
        ));
    }
    match state.capacity_providers.get(name) {
        Some(cp) if cp.status.as_deref() == Some(ACTIVE) => Ok(name.to_string()),
        _ => Err(not_found(reference)),
    }
}

/// Managed Instances providers need EC2 itself; ecsbox has none to manage.
fn refuse_managed_instances<T>(given: &Option<T>) -> Result<(), ApiError> {
    if given.is_some() {
        return Err(ApiError::ecs(
            ErrorCode::UnsupportedFeatureException,
            ecsbox::MANAGED_INSTANCES_UNSUPPORTED,
        ));
    }
    Ok(())
}

/// Managed scaling with AWS's defaults filled in and its ranges checked.
fn complete_scaling(given: Option<ManagedScaling>) -> Result<ManagedScaling, ApiError> {
    let s = given.unwrap_or_default();
    let scaling = ManagedScaling {
        status: Some(s.status.unwrap_or_else(|| DISABLED.into())),
        target_capacity: Some(s.target_capacity.unwrap_or(100)),
        minimum_scaling_step_size: Some(s.minimum_scaling_step_size.unwrap_or(1)),
        maximum_scaling_step_size: Some(s.maximum_scaling_step_size.unwrap_or(10_000)),
        instance_warmup_period: Some(s.instance_warmup_period.unwrap_or(300)),
    };
    check_scaling(&scaling)?;
    Ok(scaling)
}

fn check_scaling(s: &ManagedScaling) -> Result<(), ApiError> {
    let in_range = |what: &str, v: Option<i32>, lo: i32, hi: i32| match v {
        Some(v) if !(lo..=hi).contains(&v) => Err(ApiError::invalid_parameter(
            ecsbox::managed_scaling_range(what, lo, hi, v),
        )),
        _ => Ok(()),
    };
    in_range("targetCapacity", s.target_capacity, 1, 100)?;
    in_range(
        "minimumScalingStepSize",
        s.minimum_scaling_step_size,
        1,
        10_000,
    )?;
    in_range(
        "maximumScalingStepSize",
        s.maximum_scaling_step_size,
        1,
        10_000,
    )?;
    in_range("instanceWarmupPeriod", s.instance_warmup_period, 0, 10_000)?;
    if let (Some(min), Some(max)) = (s.minimum_scaling_step_size, s.maximum_scaling_step_size) {
        if min > max {
            return Err(ApiError::invalid_parameter(ecsbox::managed_scaling_steps(
                min, max,
            )));
        }
    }
    Ok(())
}

/// Managed termination protection only works with managed scaling, as AWS
/// documents for `managedTerminationProtection`.
fn check_termination_protection(asg: &AutoScalingGroupProvider) -> Result<(), ApiError> {
    let protection = asg.managed_termination_protection.as_deref() == Some(ENABLED);
    let scaling = asg
        .managed_scaling
        .as_ref()
        .and_then(|s| s.status.as_deref())
        == Some(ENABLED);
    if protection && !scaling {
        return Err(ApiError::client(
            ecsbox::TERMINATION_PROTECTION_NEEDS_SCALING,
        ));
    }
    Ok(())
}

/// An Auto Scaling group serves one capacity provider; AWS's wording.
fn check_asg_unused(state: &RegionState, asg_arn: &str) -> Result<(), ApiError> {
    let taken = state.capacity_providers.values().any(|cp| {
        cp.status.as_deref() == Some(ACTIVE)
            && cp
                .auto_scaling_group_provider
                .as_ref()
                .and_then(|a| a.auto_scaling_group_arn.as_deref())
                == Some(asg_arn)
    });
    if taken {
        return Err(ApiError::client(aws::AUTO_SCALING_GROUP_IN_USE));
    }
    Ok(())
}

/// Only Managed Instances providers are cluster-scoped; an Auto Scaling group
/// provider is associated with a cluster by PutClusterCapacityProviders.
fn refuse_cluster_scope(state: &RegionState, cluster: Option<&str>) -> Result<(), ApiError> {
    let Some(cluster) = cluster else {
        return Ok(());
    };
    state
        .active_cluster_name(Some(cluster))
        .ok_or_else(ApiError::cluster_not_found)?;
    Err(ApiError::invalid_parameter(
        ecsbox::CAPACITY_PROVIDER_CLUSTER_SCOPE,
    ))
}

/// The provider as the mutating operations answer it, tags included.
fn with_tags(state: &RegionState, stored: &CapacityProvider) -> CapacityProvider {
    let mut cp = stored.clone();
    cp.tags = Some(state.tags_of(cp.capacity_provider_arn.as_deref().unwrap_or("")));
    cp
}

/// FARGATE and FARGATE_SPOT as DescribeCapacityProviders shows them.
fn fargate_provider(state: &RegionState, name: &str) -> CapacityProvider {
    CapacityProvider {
        capacity_provider_arn: Some(arn::capacity_provider(&state.region, &state.account, name)),
        name: Some(name.to_string()),
        status: Some(ACTIVE.into()),
        r#type: Some(name.to_string()),
        ..Default::default()
    }
}

pub fn create(
    state: &mut RegionState,
    input: CreateCapacityProviderRequest,
) -> Result<CreateCapacityProviderResponse, ApiError> {
    let name = input.name.unwrap_or_default();
    check_name(&name)?;
    refuse_managed_instances(&input.managed_instances_provider)?;
    refuse_cluster_scope(state, input.cluster.as_deref())?;
    let given = input
        .auto_scaling_group_provider
        .ok_or_else(|| ApiError::invalid_parameter(ecsbox::AUTO_SCALING_GROUP_PROVIDER_REQUIRED))?;
    let tags = validation::tags(&input.tags.unwrap_or_default())?;
    let asg_arn = given.auto_scaling_group_arn.clone().unwrap_or_default();
    if asg_arn.is_empty() {
        return Err(ApiError::invalid_parameter(
            ecsbox::AUTO_SCALING_GROUP_ARN_EMPTY,
        ));
    }
    let asg = AutoScalingGroupProvider {
        auto_scaling_group_arn: Some(asg_arn.clone()),
        managed_scaling: Some(complete_scaling(given.managed_scaling)?),
        managed_termination_protection: Some(
            given
                .managed_termination_protection
                .unwrap_or_else(|| DISABLED.into()),
        ),
        // Managed draining is on by default for new Auto Scaling group providers.
        managed_draining: Some(given.managed_draining.unwrap_or_else(|| ENABLED.into())),
    };
    check_termination_protection(&asg)?;
    if state
        .capacity_providers
        .get(&name)
        .is_some_and(|cp| cp.status.as_deref() == Some(ACTIVE))
    {
        return Err(ApiError::client(ecsbox::CAPACITY_PROVIDER_EXISTS));
    }
    check_asg_unused(state, &asg_arn)?;

    let provider_arn = arn::capacity_provider(&state.region, &state.account, &name);
    let provider = CapacityProvider {
        capacity_provider_arn: Some(provider_arn.clone()),
        name: Some(name.clone()),
        status: Some(ACTIVE.into()),
        auto_scaling_group_provider: Some(asg),
        r#type: Some("EC2_AUTOSCALING".into()),
        ..Default::default()
    };
    if tags.is_empty() {
        state.tags.remove(&provider_arn);
    } else {
        state.tags.insert(provider_arn, tags);
    }
    let answer = with_tags(state, &provider);
    state.capacity_providers.insert(name, provider);
    Ok(CreateCapacityProviderResponse {
        capacity_provider: Some(answer),
    })
}

/// The names Describe answers for, in order: the ones asked for, or every
/// provider (FARGATE and FARGATE_SPOT first), optionally only a cluster's.
fn described_names(
    state: &RegionState,
    input: &DescribeCapacityProvidersRequest,
) -> Result<Vec<String>, ApiError> {
    let mut names: Vec<String> = match &input.capacity_providers {
        Some(refs) if !refs.is_empty() => {
            if refs.len() > 100 {
                return Err(ApiError::invalid_parameter(
                    ecsbox::DESCRIBE_CAPACITY_PROVIDERS_COUNT,
                ));
            }
            refs.clone()
        }
        _ => FARGATE_PROVIDERS
            .iter()
            .map(|n| n.to_string())
            .chain(
                state
                    .capacity_providers
                    .iter()
                    .filter(|(_, cp)| cp.status.as_deref() == Some(ACTIVE))
                    .map(|(n, _)| n.clone()),
            )
            .collect(),
    };
    if let Some(cluster) = input.cluster.as_deref() {
        let cluster = state
            .active_cluster_name(Some(cluster))
            .ok_or_else(ApiError::cluster_not_found)?;
        let associated = state.clusters[&cluster]
            .capacity_providers
            .clone()
            .unwrap_or_default();
        names.retain(|r| name_of(state, r).is_some_and(|n| associated.iter().any(|a| a == n)));
    }
    Ok(names)
}

fn describe_one(
    state: &RegionState,
    reference: &str,
    with_tags_included: bool,
) -> Result<CapacityProvider, Failure> {
    let missing = || Failure {
        arn: Some(if reference.starts_with("arn:") {
            reference.to_string()
        } else {
            arn::capacity_provider(&state.region, &state.account, reference)
        }),
        reason: Some("MISSING".into()),
        detail: None,
    };
    let name = name_of(state, reference).ok_or_else(missing)?;
    let mut cp = if FARGATE_PROVIDERS.contains(&name) {
        fargate_provider(state, name)
    } else {
        state
            .capacity_providers
            .get(name)
            .cloned()
            .ok_or_else(missing)?
    };
    cp.tags = with_tags_included
        .then(|| state.tags_of(cp.capacity_provider_arn.as_deref().unwrap_or("")));
    Ok(cp)
}

pub fn describe(
    state: &mut RegionState,
    input: DescribeCapacityProvidersRequest,
) -> Result<DescribeCapacityProvidersResponse, ApiError> {
    let size = page_size(input.max_results, 10, 10)?;
    let after = decode_token(input.next_token.as_deref())?;
    let include_tags = input
        .include
        .as_ref()
        .is_some_and(|i| i.iter().any(|f| f == "TAGS"));
    let names = described_names(state, &input)?;
    // A page starts after the position the token names (position, not name:
    // a caller may list the same name twice).
    let start = match after {
        Some(pos) => pos
            .parse::<usize>()
            .map_err(|_| ApiError::invalid_parameter(ecsbox::NEXT_TOKEN_INVALID))?,
        None => 0,
    };
    let page = names.iter().skip(start).take(size);
    let (mut providers, mut failures) = (vec![], vec![]);
    for reference in page {
        match describe_one(state, reference, include_tags) {
            Ok(cp) => providers.push(cp),
            Err(f) => failures.push(f),
        }
    }
    let next_token =
        (start + size < names.len()).then(|| encode_token(&(start + size).to_string()));
    Ok(DescribeCapacityProvidersResponse {
        capacity_providers: Some(providers),
        failures: Some(failures),
        next_token,
    })
}

/// `update` merged into `stored`: only the members given change.
fn merge_update(
    stored: &AutoScalingGroupProvider,
    update: AutoScalingGroupProviderUpdate,
) -> Result<AutoScalingGroupProvider, ApiError> {
    let mut asg = stored.clone();
    if let Some(new) = update.managed_scaling {
        let old = asg.managed_scaling.clone().unwrap_or_default();
        let merged = ManagedScaling {
            status: new.status.or(old.status),
            target_capacity: new.target_capacity.or(old.target_capacity),
            minimum_scaling_step_size: new
                .minimum_scaling_step_size
                .or(old.minimum_scaling_step_size),
            maximum_scaling_step_size: new
                .maximum_scaling_step_size
                .or(old.maximum_scaling_step_size),
            instance_warmup_period: new.instance_warmup_period.or(old.instance_warmup_period),
        };
        check_scaling(&merged)?;
        asg.managed_scaling = Some(merged);
    }
    if let Some(protection) = update.managed_termination_protection {
        asg.managed_termination_protection = Some(protection);
    }
    if let Some(draining) = update.managed_draining {
        asg.managed_draining = Some(draining);
    }
    check_termination_protection(&asg)?;
    Ok(asg)
}

pub fn update(
    state: &mut RegionState,
    input: UpdateCapacityProviderRequest,
) -> Result<UpdateCapacityProviderResponse, ApiError> {
    let reference = input.name.unwrap_or_default();
    let name = active_name(state, &reference, "updated")?;
    refuse_managed_instances(&input.managed_instances_provider)?;
    refuse_cluster_scope(state, input.cluster.as_deref())?;
    let update = input.auto_scaling_group_provider.ok_or_else(|| {
        ApiError::invalid_parameter(ecsbox::AUTO_SCALING_GROUP_PROVIDER_REQUIRED_FOR_UPDATE)
    })?;
    let stored = state.capacity_providers[&name]
        .auto_scaling_group_provider
        .clone()
        .unwrap_or_default();
    let asg = merge_update(&stored, update)?;
    let cp = state
        .capacity_providers
        .get_mut(&name)
        .expect("found above");
    cp.auto_scaling_group_provider = Some(asg);
    cp.update_status = Some("UPDATE_COMPLETE".into());
    cp.update_status_reason = None;
    let answer = with_tags(state, &state.capacity_providers[&name]);
    Ok(UpdateCapacityProviderResponse {
        capacity_provider: Some(answer),
    })
}

/// The ACTIVE cluster a provider is associated with, if any.
fn associated_cluster(state: &RegionState, name: &str) -> Option<String> {
    state
        .clusters
        .iter()
        .find(|(_, c)| {
            c.status.as_deref() == Some(ACTIVE)
                && c.capacity_providers
                    .as_ref()
                    .is_some_and(|cps| cps.iter().any(|p| p == name))
        })
        .map(|(n, _)| n.clone())
}

pub fn delete(
    state: &mut RegionState,
    input: DeleteCapacityProviderRequest,
) -> Result<DeleteCapacityProviderResponse, ApiError> {
    let reference = input.capacity_provider.unwrap_or_default();
    let name = active_name(state, &reference, "deleted")?;
    refuse_cluster_scope(state, input.cluster.as_deref())?;
    let associated = associated_cluster(state, &name);
    let cp = state
        .capacity_providers
        .get_mut(&name)
        .expect("found above");
    match associated {
        // AWS answers 200 here but fails the deletion: the provider stays
        // ACTIVE with updateStatus DELETE_FAILED and a reason, and a later
        // DeleteCapacityProvider succeeds once the cluster lets it go.
        Some(cluster) => {
            cp.update_status = Some("DELETE_FAILED".into());
            cp.update_status_reason = Some(ecsbox::capacity_provider_delete_associated(&cluster));
        }
        None => {
            cp.status = Some(INACTIVE.into());
            cp.update_status = Some("DELETE_COMPLETE".into());
            cp.update_status_reason = None;
        }
    }
    let answer = with_tags(state, &state.capacity_providers[&name]);
    if state.capacity_providers[&name].status.as_deref() == Some(INACTIVE) {
        let deleted_arn = answer.capacity_provider_arn.clone().unwrap_or_default();
        state.mark_inactive(&deleted_arn, crate::clock::now_secs());
        // A deleted resource's tags go with it.
        state
            .tags
            .remove(answer.capacity_provider_arn.as_deref().unwrap_or(""));
    }
    Ok(DeleteCapacityProviderResponse {
        capacity_provider: Some(answer),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("my-provider_1").is_ok());
        for bad in [
            "awsProvider",
            "ECS-x",
            "Fargate1",
            "bad name",
            "",
            &"a".repeat(256),
        ] {
            assert_eq!(
                check_name(bad).unwrap_err().code,
                "ClientException",
                "{bad}"
            );
        }
    }

    #[test]
    fn scaling_defaults_and_ranges() {
        let s = complete_scaling(None).unwrap();
        assert_eq!(
            (
                s.status.as_deref(),
                s.target_capacity,
                s.minimum_scaling_step_size,
                s.maximum_scaling_step_size,
                s.instance_warmup_period
            ),
            (Some(DISABLED), Some(100), Some(1), Some(10_000), Some(300))
        );
        let bad = ManagedScaling {
            target_capacity: Some(0),
            ..Default::default()
        };
        assert_eq!(
            complete_scaling(Some(bad)).unwrap_err().code,
            "InvalidParameterException"
        );
        let inverted = ManagedScaling {
            minimum_scaling_step_size: Some(5),
            maximum_scaling_step_size: Some(2),
            ..Default::default()
        };
        assert!(complete_scaling(Some(inverted)).is_err());
    }
}
