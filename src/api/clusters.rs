//! Clusters: Create, Describe, List, Delete, Update, UpdateClusterSettings,
//! PutClusterCapacityProviders.

use super::container_instances;
use super::pagination::{decode_token, page_size, take_page};
use crate::domain::messages::{aws, ecsbox};
use crate::domain::validation;
use crate::model::operations::ErrorCode;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::{arn, RegionState};

const ACTIVE: &str = "ACTIVE";
const INACTIVE: &str = "INACTIVE";

/// A cluster reference that names no ACTIVE cluster.
fn not_found(state: &RegionState, reference: Option<&str>) -> Result<String, ApiError> {
    state
        .active_cluster_name(reference)
        .ok_or_else(ApiError::cluster_not_found)
}

fn check_settings(settings: &[ClusterSetting]) -> Result<(), ApiError> {
    for s in settings {
        let name = s.name.as_deref().unwrap_or("");
        let value = s.value.as_deref().unwrap_or("");
        // The model lets only `containerInsights` through as a name; its values are these.
        if name == "containerInsights" && !["enabled", "disabled", "enhanced"].contains(&value) {
            return Err(ApiError::invalid_parameter(ecsbox::cluster_setting_value(
                value,
            )));
        }
    }
    Ok(())
}

fn merge_settings(existing: &mut Vec<ClusterSetting>, new: Vec<ClusterSetting>) {
    for s in new {
        match existing.iter_mut().find(|e| e.name == s.name) {
            Some(e) => e.value = s.value,
            None => existing.push(s),
        }
    }
}

fn default_settings() -> Vec<ClusterSetting> {
    vec![ClusterSetting {
        name: Some("containerInsights".into()),
        value: Some("disabled".into()),
    }]
}

/// Checks a set of capacity providers and a default strategy for a cluster.
fn check_capacity_providers(
    state: &RegionState,
    providers: &[String],
    strategy: &[CapacityProviderStrategyItem],
) -> Result<(), ApiError> {
    for p in providers {
        if !state.capacity_provider_exists(p) {
            return Err(ApiError::invalid_parameter(
                ecsbox::capacity_provider_unknown(p),
            ));
        }
    }
    validation::capacity_provider_strategy(strategy, |name| providers.iter().any(|p| p == name))
        .map_err(|e| {
            if providers.is_empty() && !strategy.is_empty() {
                ApiError::invalid_parameter(ecsbox::DEFAULT_STRATEGY_NOT_ASSOCIATED)
            } else {
                e.into()
            }
        })
}

/// The cluster as Describe shows it: counts from live state, the optional
/// parts only when asked for.
fn view(state: &RegionState, stored: &Cluster, include: &[String]) -> Cluster {
    let mut c = stored.clone();
    let name = c.cluster_name.clone().unwrap_or_default();
    let counts = state.cluster_counts(&name);
    c.registered_container_instances_count = Some(counts.registered_container_instances);
    c.running_tasks_count = Some(counts.running_tasks);
    c.pending_tasks_count = Some(counts.pending_tasks);
    c.active_services_count = Some(counts.active_services);
    let wants = |what: &str| include.iter().any(|i| i == what);
    c.statistics = Some(if wants("STATISTICS") {
        counts.statistics()
    } else {
        vec![]
    });
    c.tags = if wants("TAGS") {
        Some(state.tags_of(c.cluster_arn.as_deref().unwrap_or("")))
    } else {
        None
    };
    if !wants("SETTINGS") {
        c.settings = None;
    }
    if !wants("CONFIGURATIONS") {
        c.configuration = None;
    }
    if !wants("ATTACHMENTS") {
        c.attachments = None;
    }
    c
}

/// The cluster as the mutating operations answer it: everything included.
fn full_view(state: &RegionState, name: &str) -> Cluster {
    let all = [
        "SETTINGS",
        "TAGS",
        "STATISTICS",
        "CONFIGURATIONS",
        "ATTACHMENTS",
    ]
    .map(String::from);
    let mut c = view(state, &state.clusters[name], &all);
    c.statistics = Some(vec![]);
    c
}

pub fn create(
    state: &mut RegionState,
    input: CreateClusterRequest,
) -> Result<CreateClusterResponse, ApiError> {
    let name = input.cluster_name.unwrap_or_else(|| "default".to_string());
    validation::resource_name("Cluster", &name)?;
    let tags = input.tags.unwrap_or_default();
    let tag_set = validation::tags(&tags)?;
    let settings = input.settings.unwrap_or_default();
    check_settings(&settings)?;
    let providers = input.capacity_providers.unwrap_or_default();
    let strategy = input.default_capacity_provider_strategy.unwrap_or_default();
    check_capacity_providers(state, &providers, &strategy)?;
    let virtual_instances = container_instances::virtual_plan(state, &tags)?;

    // CreateCluster is idempotent: an ACTIVE cluster of that name is returned as it is.
    if state.active_cluster_name(Some(&name)).is_some() {
        return Ok(CreateClusterResponse {
            cluster: Some(full_view(state, &name)),
        });
    }
    let cluster_arn = arn::cluster(&state.region, &state.account, &name);
    let mut all_settings = default_settings();
    merge_settings(&mut all_settings, settings);
    let cluster = Cluster {
        cluster_arn: Some(cluster_arn.clone()),
        cluster_name: Some(name.clone()),
        status: Some(ACTIVE.into()),
        configuration: input.configuration,
        settings: Some(all_settings),
        capacity_providers: Some(providers),
        default_capacity_provider_strategy: Some(strategy),
        attachments: Some(vec![]),
        service_connect_defaults: input.service_connect_defaults.map(|d| {
            ClusterServiceConnectDefaults {
                namespace: d.namespace,
            }
        }),
        ..Default::default()
    };
    state.clusters.insert(name.clone(), cluster);
    container_instances::add_virtual_instances(state, &name, virtual_instances);
    if tag_set.is_empty() {
        state.tags.remove(&cluster_arn);
    } else {
        state.tags.insert(cluster_arn, tag_set);
    }
    Ok(CreateClusterResponse {
        cluster: Some(full_view(state, &name)),
    })
}

pub fn describe(
    state: &mut RegionState,
    input: DescribeClustersRequest,
) -> Result<DescribeClustersResponse, ApiError> {
    let include = input.include.unwrap_or_default();
    let references = input
        .clusters
        .unwrap_or_else(|| vec!["default".to_string()]);
    if references.len() > 100 {
        return Err(ApiError::invalid_parameter(ecsbox::DESCRIBE_CLUSTERS_COUNT));
    }
    let (mut clusters, mut failures) = (vec![], vec![]);
    for reference in references {
        let found = arn::cluster_name(Some(&reference))
            .filter(|name| {
                // An ARN must also name this account and region.
                !reference.starts_with("arn:")
                    || reference == arn::cluster(&state.region, &state.account, name)
            })
            .and_then(|name| state.clusters.get(name));
        match found {
            Some(c) => clusters.push(view(state, c, &include)),
            None => {
                let failed_arn = match arn::cluster_name(Some(&reference)) {
                    Some(name) if !reference.starts_with("arn:") => {
                        arn::cluster(&state.region, &state.account, name)
                    }
                    _ => reference.clone(),
                };
                failures.push(Failure {
                    arn: Some(failed_arn),
                    reason: Some(aws::MISSING.into()),
                    detail: None,
                });
            }
        }
    }
    Ok(DescribeClustersResponse {
        clusters: Some(clusters),
        failures: Some(failures),
    })
}

pub fn list(
    state: &mut RegionState,
    input: ListClustersRequest,
) -> Result<ListClustersResponse, ApiError> {
    let size = page_size(input.max_results, 100, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let active = state.clusters.iter().filter(|(name, c)| {
        c.status.as_deref() == Some(ACTIVE) && after.as_ref().is_none_or(|a| *name > a)
    });
    let (page, next_token) = take_page(active, size, |(name, _)| name.to_string());
    Ok(ListClustersResponse {
        cluster_arns: Some(
            page.into_iter()
                .map(|(_, c)| c.cluster_arn.clone().unwrap_or_default())
                .collect(),
        ),
        next_token,
    })
}

pub fn delete(
    state: &mut RegionState,
    input: DeleteClusterRequest,
) -> Result<DeleteClusterResponse, ApiError> {
    let name = not_found(state, input.cluster.as_deref())?;
    let counts = state.cluster_counts(&name);
    // ecsbox's virtual instances go with their cluster; an agent's keep it.
    if container_instances::registered_agent_instances(state, &name) > 0 {
        return Err(ApiError::ecs(
            ErrorCode::ClusterContainsContainerInstancesException,
            ecsbox::CLUSTER_HAS_INSTANCES,
        ));
    }
    if counts.active_services + counts.draining_services > 0 {
        return Err(ApiError::ecs(
            ErrorCode::ClusterContainsServicesException,
            ecsbox::CLUSTER_HAS_SERVICES,
        ));
    }
    // A task still on its way down (STOPPING, DEPROVISIONING) is active too.
    let live_tasks = state
        .tasks
        .values()
        .any(|t| t.cluster == name && t.status != crate::state::lifecycle::TaskStatus::Stopped);
    if live_tasks {
        return Err(ApiError::ecs(
            ErrorCode::ClusterContainsTasksException,
            ecsbox::CLUSTER_HAS_TASKS,
        ));
    }
    let cluster = state.clusters.get_mut(&name).expect("found above");
    cluster.status = Some(INACTIVE.into());
    let deleted_arn = cluster.cluster_arn.clone().unwrap_or_default();
    state.mark_inactive(&deleted_arn, crate::clock::now_secs());
    let cluster = state.clusters.get_mut(&name).expect("found above");
    // Attachments and capacity providers go with the cluster.
    cluster.capacity_providers = Some(vec![]);
    cluster.default_capacity_provider_strategy = Some(vec![]);
    state.attributes.remove(&name);
    container_instances::retire_virtual_instances(state, &name);
    Ok(DeleteClusterResponse {
        cluster: Some(full_view(state, &name)),
    })
}

pub fn update(
    state: &mut RegionState,
    input: UpdateClusterRequest,
) -> Result<UpdateClusterResponse, ApiError> {
    let name = not_found(state, input.cluster.as_deref())?;
    let settings = input.settings.unwrap_or_default();
    check_settings(&settings)?;
    let cluster = state.clusters.get_mut(&name).expect("found above");
    if let Some(configuration) = input.configuration {
        cluster.configuration = Some(configuration);
    }
    if let Some(defaults) = input.service_connect_defaults {
        cluster.service_connect_defaults = Some(ClusterServiceConnectDefaults {
            namespace: defaults.namespace,
        });
    }
    merge_settings(cluster.settings.get_or_insert_with(Vec::new), settings);
    Ok(UpdateClusterResponse {
        cluster: Some(full_view(state, &name)),
    })
}

pub fn update_settings(
    state: &mut RegionState,
    input: UpdateClusterSettingsRequest,
) -> Result<UpdateClusterSettingsResponse, ApiError> {
    let name = not_found(state, input.cluster.as_deref())?;
    let settings = input.settings.unwrap_or_default();
    check_settings(&settings)?;
    let cluster = state.clusters.get_mut(&name).expect("found above");
    merge_settings(cluster.settings.get_or_insert_with(Vec::new), settings);
    Ok(UpdateClusterSettingsResponse {
        cluster: Some(full_view(state, &name)),
    })
}

pub fn put_capacity_providers(
    state: &mut RegionState,
    input: PutClusterCapacityProvidersRequest,
) -> Result<PutClusterCapacityProvidersResponse, ApiError> {
    let name = not_found(state, input.cluster.as_deref())?;
    let providers = input.capacity_providers.unwrap_or_default();
    let strategy = input.default_capacity_provider_strategy.unwrap_or_default();
    check_capacity_providers(state, &providers, &strategy)?;
    // An Auto Scaling group provider serves one cluster only.
    for p in &providers {
        let other = state.clusters.iter().find(|(n, c)| {
            **n != name
                && c.status.as_deref() == Some(ACTIVE)
                && !validation::is_fargate_provider(p)
                && c.capacity_providers
                    .as_ref()
                    .is_some_and(|cps| cps.contains(p))
        });
        if let Some((other, _)) = other {
            return Err(ApiError::ecs(
                ErrorCode::ResourceInUseException,
                ecsbox::capacity_provider_in_other_cluster(p, other),
            ));
        }
    }
    let cluster = state.clusters.get_mut(&name).expect("found above");
    cluster.capacity_providers = Some(providers);
    cluster.default_capacity_provider_strategy = Some(strategy);
    Ok(PutClusterCapacityProvidersResponse {
        cluster: Some(full_view(state, &name)),
    })
}

#[cfg(test)]
mod tests {
    use crate::model::enums;

    #[test]
    fn enums_used_here_exist_in_the_model() {
        for include in [
            "SETTINGS",
            "TAGS",
            "STATISTICS",
            "CONFIGURATIONS",
            "ATTACHMENTS",
        ] {
            assert!(enums::CLUSTER_FIELD.contains(&include), "{include}");
        }
    }
}
