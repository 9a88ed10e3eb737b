//! Task sets and the EXTERNAL deployment controller: CreateService and
//! UpdateService for a service whose deployments someone else controls,
//! CreateTaskSet, DescribeTaskSets, UpdateTaskSet, UpdateServicePrimaryTaskSet
//! and DeleteTaskSet, and what DescribeServices shows of such a service.
//! Handlers record what is wanted; the task set scheduler
//! (`controllers::task_set_scheduler`) holds each set at its computed count.
//!
//! Messages come from `domain::messages`: AWS's (`aws`, with their
//! sources) and ecsbox's wording where AWS's text could not be found
//! (`ecsbox`).

use super::services::{
    active_cluster, check_attachments, deployment_configuration, not_found, service_key,
    service_tasks, view as service_view,
};
use super::WithNetwork;
use crate::domain::messages::{aws, ecsbox};
use crate::domain::{launch, validation};
use crate::model::operations::ErrorCode;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::lifecycle::TaskStatus;
use crate::state::services::{new_deployment_id, ServiceRecord};
use crate::state::task_sets::{task_set_arn, TaskSetRecord, TaskSetStatus, MAX_TASK_SETS};
use crate::state::tasks::{epoch_now, Effect};
use crate::state::{arn, RegionState};

fn task_set_not_found() -> ApiError {
    ApiError::ecs(
        ErrorCode::TaskSetNotFoundException,
        ecsbox::TASK_SET_NOT_FOUND,
    )
}

fn not_active() -> ApiError {
    ApiError::ecs(
        ErrorCode::ServiceNotActiveException,
        ecsbox::SERVICE_NOT_ACTIVE,
    )
}

// ---- the service ---------------------------------------------------------

/// CreateService with `deploymentController: EXTERNAL`. Everything a task
/// set decides (task definition, launch, network, load balancers, service
/// registries) is left to the task sets, as AWS requires: "If a service uses
/// the EXTERNAL deployment controller, you can specify only parameters that
/// aren't controlled at the task set level."
pub fn create_external(
    state: &mut RegionState,
    input: CreateServiceRequest,
    cluster: String,
    name: String,
    service_arn: String,
) -> Result<CreateServiceResponse, ApiError> {
    // AWS's words (terraform-aws-modules/terraform-aws-ecs#278; aws-cdk#26335;
    // hashicorp/terraform-provider-aws#27362 for the empty string).
    match input.task_definition.as_deref() {
        Some("") => return Err(ApiError::invalid_parameter(aws::EXTERNAL_FAMILY_EMPTY)),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                aws::EXTERNAL_TASK_DEFINITION_NOT_BLANK,
            ))
        }
        None => {}
    }
    if input.network_configuration.is_some() {
        return Err(ApiError::invalid_parameter(
            aws::EXTERNAL_NETWORK_CONFIGURATION_NOT_NULL,
        ));
    }
    // ecsbox's wording, after AWS's two above: the other task set level
    // parameters.
    let task_set_level = [
        ("LaunchType", input.launch_type.is_some()),
        (
            "CapacityProviderStrategy",
            input
                .capacity_provider_strategy
                .as_ref()
                .is_some_and(|s| !s.is_empty()),
        ),
        ("PlatformVersion", input.platform_version.is_some()),
        (
            "LoadBalancers",
            input.load_balancers.as_ref().is_some_and(|l| !l.is_empty()),
        ),
        (
            "ServiceRegistries",
            input
                .service_registries
                .as_ref()
                .is_some_and(|r| !r.is_empty()),
        ),
    ];
    if let Some((what, _)) = task_set_level.iter().find(|(_, given)| *given) {
        return Err(ApiError::invalid_parameter(
            ecsbox::external_task_set_level_given(what),
        ));
    }
    if input.scheduling_strategy.as_deref() == Some("DAEMON") {
        // ecsbox's wording of AWS's documented rule ("The Fargate launch type
        // or EXTERNAL deployment controller types don't support the DAEMON
        // scheduling strategy.").
        return Err(ApiError::invalid_parameter(ecsbox::EXTERNAL_DAEMON));
    }
    let desired = input.desired_count.unwrap_or(0);
    if desired < 0 {
        return Err(ApiError::invalid_parameter(ecsbox::DESIRED_COUNT_NEGATIVE));
    }
    let deployment_configuration =
        deployment_configuration(input.deployment_configuration.clone(), false)?;
    let tags = validation::tags(input.tags.as_deref().unwrap_or_default())?;
    let service = Service {
        service_arn: Some(service_arn.clone()),
        service_name: Some(name.clone()),
        cluster_arn: Some(arn::cluster(&state.region, &state.account, &cluster)),
        status: Some("ACTIVE".into()),
        desired_count: Some(desired),
        deployment_configuration: Some(deployment_configuration),
        role_arn: input.role.clone(),
        created_at: Some(epoch_now()),
        created_by: Some(format!("arn:aws:iam::{}:root", state.account)),
        placement_constraints: Some(input.placement_constraints.clone().unwrap_or_default()),
        placement_strategy: Some(input.placement_strategy.clone().unwrap_or_default()),
        health_check_grace_period_seconds: input.health_check_grace_period_seconds,
        scheduling_strategy: Some("REPLICA".into()),
        deployment_controller: Some(DeploymentController {
            r#type: Some("EXTERNAL".into()),
        }),
        enable_ecs_managed_tags: Some(input.enable_ecs_managed_tags.unwrap_or(false)),
        propagate_tags: Some(
            input
                .propagate_tags
                .clone()
                .unwrap_or_else(|| "NONE".into()),
        ),
        enable_execute_command: Some(input.enable_execute_command.unwrap_or(false)),
        availability_zone_rebalancing: Some(
            input
                .availability_zone_rebalancing
                .clone()
                .unwrap_or_else(|| "DISABLED".into()),
        ),
        ..Default::default()
    };
    let record = ServiceRecord {
        service,
        name,
        cluster,
        deployments: vec![],
        past_deployments: vec![],
        events: vec![],
        client_token: input.client_token.clone(),
        steady: false,
        start_impaired_at: 0,
        task_sets: vec![],
    };
    if tags.is_empty() {
        state.tags.remove(&service_arn);
    } else {
        state.tags.insert(service_arn.clone(), tags);
    }
    let answer = service_view(state, &record);
    state.services.insert(service_arn, record);
    state.effects.push(Effect::Reconcile);
    Ok(CreateServiceResponse {
        service: Some(answer),
    })
}

/// UpdateService on an EXTERNAL service: "For services using an external
/// deployment controller, you can update only the desired count, task
/// placement constraints and strategies, health check grace period, enable
/// ECS managed tags option, and propagate tags option, using this API. If the
/// launch type, load balancer, network configuration, platform version, or
/// task definition need to be updated, create a new task set." (AWS's
/// UpdateService reference). Anything else is refused, named.
pub fn update_external(
    state: &mut RegionState,
    key: String,
    input: UpdateServiceRequest,
) -> Result<UpdateServiceResponse, ApiError> {
    let refused = [
        ("task definition", input.task_definition.is_some()),
        (
            "network configuration",
            input.network_configuration.is_some(),
        ),
        ("load balancers", input.load_balancers.is_some()),
        ("service registries", input.service_registries.is_some()),
        ("platform version", input.platform_version.is_some()),
        (
            "capacity provider strategy",
            input.capacity_provider_strategy.is_some(),
        ),
        (
            "force new deployment",
            input.force_new_deployment == Some(true),
        ),
        (
            "deployment configuration",
            input.deployment_configuration.is_some(),
        ),
        (
            "deployment controller",
            input
                .deployment_controller
                .as_ref()
                .is_some_and(|c| c.r#type.as_deref() != Some("EXTERNAL")),
        ),
        (
            "enable execute command",
            input.enable_execute_command.is_some(),
        ),
        (
            "availability zone rebalancing",
            input.availability_zone_rebalancing.is_some(),
        ),
        (
            "service connect configuration",
            input.service_connect_configuration.is_some(),
        ),
        (
            "volume configurations",
            input.volume_configurations.is_some(),
        ),
        (
            "VPC Lattice configurations",
            input.vpc_lattice_configurations.is_some(),
        ),
    ];
    if let Some((what, _)) = refused.iter().find(|(_, given)| *given) {
        // ecsbox's wording, after AWS's for CODE_DEPLOY ("Unable to update
        // task definition on services with a CODE_DEPLOY deployment
        // controller. Use AWS CodeDeploy to trigger a new deployment.").
        return Err(ApiError::invalid_parameter(
            ecsbox::external_update_refused(what),
        ));
    }
    if input.desired_count.is_some_and(|d| d < 0) {
        return Err(ApiError::invalid_parameter(ecsbox::DESIRED_COUNT_NEGATIVE));
    }
    let record = state.services.get_mut(&key).expect("found by the caller");
    if let Some(d) = input.desired_count {
        record.service.desired_count = Some(d);
    }
    if let Some(g) = input.health_check_grace_period_seconds {
        record.service.health_check_grace_period_seconds = Some(g);
    }
    if let Some(p) = input.placement_constraints {
        record.service.placement_constraints = Some(p);
    }
    if let Some(p) = input.placement_strategy {
        record.service.placement_strategy = Some(p);
    }
    if let Some(e) = input.enable_ecs_managed_tags {
        record.service.enable_ecs_managed_tags = Some(e);
    }
    if let Some(p) = input.propagate_tags {
        record.service.propagate_tags = Some(p);
    }
    record.steady = false;
    let record = record.clone();
    state.effects.push(Effect::Reconcile);
    Ok(UpdateServiceResponse {
        service: Some(service_view(state, &record)),
    })
}

/// DescribeServices of an EXTERNAL service: no deployments, its task sets,
/// and the task set level fields of its PRIMARY task set ("When you call the
/// DescribeServices API action, it returns all fields specified for a
/// primary task set. [...] If no primary task set is defined for a service,
/// when describing the service, the task set fields are null." — AWS's
/// developer guide, external deployments).
pub fn describe_external(state: &RegionState, record: &ServiceRecord, s: &mut Service) {
    s.deployments = Some(vec![]);
    s.task_sets = Some(
        record
            .task_sets
            .iter()
            .map(|t| view(state, record, t))
            .collect(),
    );
    let primary = record.primary_task_set().map(|p| &p.task_set);
    s.task_definition = primary.and_then(|p| p.task_definition.clone());
    s.launch_type = primary.and_then(|p| p.launch_type.clone());
    s.capacity_provider_strategy = primary.and_then(|p| p.capacity_provider_strategy.clone());
    s.platform_version = primary.and_then(|p| p.platform_version.clone());
    s.platform_family = primary.and_then(|p| p.platform_family.clone());
    s.network_configuration = primary.and_then(|p| p.network_configuration.clone());
    s.load_balancers = primary.and_then(|p| p.load_balancers.clone());
    s.service_registries = primary.and_then(|p| p.service_registries.clone());
}

// ---- task sets -------------------------------------------------------------

/// A task set as DescribeTaskSets shows it: status, computedDesiredCount and
/// counts from the live tasks.
pub fn view(state: &RegionState, record: &ServiceRecord, ts: &TaskSetRecord) -> TaskSet {
    let mut v = ts.task_set.clone();
    v.status = Some(ts.status.as_str().into());
    let desired = if record.status() == "ACTIVE" {
        record.service.desired_count.unwrap_or(0)
    } else {
        0
    };
    v.computed_desired_count = Some(ts.target(desired));
    let (mut running, mut pending) = (0, 0);
    for t in service_tasks(state, record)
        .filter(|t| t.desired == TaskStatus::Running)
        .filter(|t| t.task.started_by.as_deref() == Some(ts.id()))
    {
        if t.status == TaskStatus::Running {
            running += 1;
        } else if t.status < TaskStatus::Running {
            pending += 1;
        }
    }
    v.running_count = Some(running);
    v.pending_count = Some(pending);
    v
}

/// The EXTERNAL service a task set call names, checked as AWS checks it:
/// the cluster, the service, then its controller.
fn external_service(
    state: &RegionState,
    cluster: Option<&str>,
    service: Option<&str>,
    must_be_active: bool,
) -> Result<String, ApiError> {
    let cluster = active_cluster(state, cluster)?;
    let key = service_key(state, &cluster, service.unwrap_or(""));
    let record = state
        .services
        .get(&key)
        .filter(|s| s.cluster == cluster)
        .ok_or_else(not_found)?;
    if (must_be_active && record.status() != "ACTIVE") || record.status() == "INACTIVE" {
        return Err(not_active());
    }
    if !record.is_external() {
        return Err(ApiError::invalid_parameter(aws::TASK_SETS_NOT_EXTERNAL));
    }
    Ok(key)
}

/// A scale as ECS keeps it: PERCENT, 0 to 100 ("Accepted values are numbers
/// between 0 and 100." — AWS's Scale reference). An absent scale is 0%, as
/// AWS's own CreateTaskSet example answers (`"scale": {"value": 0.0, "unit":
/// "PERCENT"}` for a call without one).
fn scale_of(given: Option<Scale>) -> Result<Scale, ApiError> {
    let given = given.unwrap_or_default();
    if given.unit.as_deref().is_some_and(|u| u != "PERCENT") {
        return Err(ApiError::invalid_parameter(ecsbox::SCALE_UNIT));
    }
    let value = given.value.unwrap_or(0.0);
    if !(0.0..=100.0).contains(&value) || value.is_nan() {
        return Err(ApiError::invalid_parameter(ecsbox::scale_value_range(
            value,
        )));
    }
    Ok(Scale {
        value: Some(value),
        unit: Some("PERCENT".into()),
    })
}

fn with_tags(state: &RegionState, mut v: TaskSet) -> TaskSet {
    v.tags = Some(state.tags_of(v.task_set_arn.as_deref().unwrap_or("")));
    v
}

pub fn create(
    state: &mut RegionState,
    request: WithNetwork<CreateTaskSetRequest>,
) -> Result<CreateTaskSetResponse, ApiError> {
    let WithNetwork { input, network } = request;
    let key = external_service(
        state,
        input.cluster.as_deref(),
        input.service.as_deref(),
        true,
    )?;
    let record = &state.services[&key];
    if let Some(existing) = record
        .task_sets
        .iter()
        .find(|t| input.client_token.is_some() && t.client_token == input.client_token)
    {
        // clientToken makes CreateTaskSet idempotent.
        return Ok(CreateTaskSetResponse {
            task_set: Some(with_tags(state, view(state, record, existing))),
        });
    }
    if record.task_sets.len() >= MAX_TASK_SETS {
        return Err(ApiError::invalid_parameter(aws::task_sets_limit(
            record.task_sets.len(),
        )));
    }
    let cluster = record.cluster.clone();
    let service_name = record.name.clone();
    let service_arn = key.clone();
    let td = crate::domain::task_definitions::resolve(
        state,
        input.task_definition.as_deref().unwrap_or(""),
    )?;
    if td.status.as_deref() != Some("ACTIVE") {
        return Err(ApiError::client(ecsbox::TASK_DEFINITION_INACTIVE));
    }
    let chosen = launch::choose_launch_for(
        state,
        &cluster,
        input.launch_type.as_deref(),
        input.capacity_provider_strategy.as_deref(),
    )?;
    launch::check_compatible(&td, &chosen, input.network_configuration.as_ref())?;
    let network = network?;
    let load_balancers = input.load_balancers.clone().unwrap_or_default();
    if load_balancers.len() > 1 {
        return Err(ApiError::invalid_parameter(ecsbox::TASK_SET_LOAD_BALANCERS));
    }
    if !load_balancers.is_empty() {
        // Task sets' traffic is shifted by the external controller between
        // target groups; ecsbox does not register task set tasks.
        return Err(ApiError::ecs(
            ErrorCode::UnsupportedFeatureException,
            ecsbox::TASK_SET_LOAD_BALANCERS_UNSUPPORTED,
        ));
    }
    let registries = input.service_registries.clone().unwrap_or_default();
    check_attachments(&td, &load_balancers, &registries, None, None)?;
    let scale = scale_of(input.scale.clone())?;
    let tags = validation::tags(input.tags.as_deref().unwrap_or_default())?;

    let id = new_deployment_id();
    let arn = task_set_arn(&state.region, &state.account, &cluster, &service_name, &id);
    let now = epoch_now();
    let fargate = chosen.launch_type == "FARGATE";
    let task_set = TaskSet {
        id: Some(id),
        task_set_arn: Some(arn.clone()),
        service_arn: Some(service_arn),
        cluster_arn: Some(arn::cluster(&state.region, &state.account, &cluster)),
        // "If an external deployment created the task set, the startedBy
        // field isn't used." (AWS's TaskSet reference)
        started_by: None,
        external_id: input.external_id.clone(),
        task_definition: td.task_definition_arn.clone(),
        created_at: Some(now),
        updated_at: Some(now),
        launch_type: chosen
            .capacity_provider
            .is_none()
            .then(|| chosen.launch_type.to_string()),
        capacity_provider_strategy: input
            .capacity_provider_strategy
            .clone()
            .filter(|s| !s.is_empty()),
        platform_version: fargate.then(|| {
            input
                .platform_version
                .clone()
                .unwrap_or_else(|| "LATEST".into())
        }),
        platform_family: fargate.then(|| "Linux".into()),
        network_configuration: input.network_configuration.clone(),
        load_balancers: Some(load_balancers),
        service_registries: Some(registries),
        scale: Some(scale),
        stability_status: Some("STABILIZING".into()),
        stability_status_at: Some(now),
        ..Default::default()
    };
    let ts = TaskSetRecord {
        task_set,
        status: TaskSetStatus::Active,
        definition: td,
        network,
        client_token: input.client_token.clone(),
    };
    if !tags.is_empty() {
        state.tags.insert(arn.clone(), tags);
    }
    let record = state.services.get_mut(&key).expect("found above");
    record.task_sets.push(ts.clone());
    record.steady = false;
    let record = record.clone();
    state.effects.push(Effect::Reconcile);
    Ok(CreateTaskSetResponse {
        task_set: Some(with_tags(state, view(state, &record, &ts))),
    })
}

pub fn describe(
    state: &mut RegionState,
    input: DescribeTaskSetsRequest,
) -> Result<DescribeTaskSetsResponse, ApiError> {
    let key = external_service(
        state,
        input.cluster.as_deref(),
        input.service.as_deref(),
        false,
    )?;
    let record = &state.services[&key];
    let include_tags = input
        .include
        .unwrap_or_default()
        .iter()
        .any(|i| i == "TAGS");
    let shown = |t: &TaskSetRecord| {
        let v = view(state, record, t);
        if include_tags {
            with_tags(state, v)
        } else {
            v
        }
    };
    let (mut task_sets, mut failures) = (vec![], vec![]);
    match input.task_sets.filter(|r| !r.is_empty()) {
        None => task_sets.extend(record.task_sets.iter().map(&shown)),
        Some(references) => {
            for reference in references {
                match record.task_set(&reference) {
                    Some(t) => task_sets.push(shown(t)),
                    None => failures.push(Failure {
                        arn: Some(reference),
                        reason: Some("MISSING".into()),
                        detail: None,
                    }),
                }
            }
        }
    }
    Ok(DescribeTaskSetsResponse {
        task_sets: Some(task_sets),
        failures: Some(failures),
    })
}

/// The service and the index of the task set a call names.
fn find(
    state: &RegionState,
    cluster: Option<&str>,
    service: Option<&str>,
    task_set: Option<&str>,
) -> Result<(String, usize), ApiError> {
    let key = external_service(state, cluster, service, true)?;
    let reference = task_set.unwrap_or("");
    let index = state.services[&key]
        .task_sets
        .iter()
        .position(|t| t.is_named_by(reference))
        .ok_or_else(task_set_not_found)?;
    Ok((key, index))
}

/// Changes one task set and answers its new view.
fn change(
    state: &mut RegionState,
    key: &str,
    index: usize,
    f: impl FnOnce(&mut ServiceRecord, usize),
) -> TaskSet {
    let record = state.services.get_mut(key).expect("found by the caller");
    f(record, index);
    record.steady = false;
    let record = record.clone();
    state.effects.push(Effect::Reconcile);
    view(state, &record, &record.task_sets[index])
}

pub fn update(
    state: &mut RegionState,
    input: UpdateTaskSetRequest,
) -> Result<UpdateTaskSetResponse, ApiError> {
    let (key, index) = find(
        state,
        input.cluster.as_deref(),
        input.service.as_deref(),
        input.task_set.as_deref(),
    )?;
    let scale = scale_of(input.scale)?;
    let v = change(state, &key, index, |record, i| {
        let ts = &mut record.task_sets[i];
        ts.task_set.scale = Some(scale);
        let now = epoch_now();
        ts.task_set.updated_at = Some(now);
        ts.task_set.stability_status = Some("STABILIZING".into());
        ts.task_set.stability_status_at = Some(now);
    });
    Ok(UpdateTaskSetResponse { task_set: Some(v) })
}

pub fn update_primary(
    state: &mut RegionState,
    input: UpdateServicePrimaryTaskSetRequest,
) -> Result<UpdateServicePrimaryTaskSetResponse, ApiError> {
    let (key, index) = find(
        state,
        input.cluster.as_deref(),
        input.service.as_deref(),
        input.primary_task_set.as_deref(),
    )?;
    if state.services[&key].task_sets[index].status == TaskSetStatus::Draining {
        return Err(ApiError::invalid_parameter(
            ecsbox::PRIMARY_TASK_SET_DRAINING,
        ));
    }
    let v = change(state, &key, index, |record, i| {
        let now = epoch_now();
        for (j, ts) in record.task_sets.iter_mut().enumerate() {
            if j == i {
                ts.status = TaskSetStatus::Primary;
                ts.task_set.updated_at = Some(now);
            } else if ts.status == TaskSetStatus::Primary {
                ts.status = TaskSetStatus::Active;
                ts.task_set.updated_at = Some(now);
            }
        }
    });
    Ok(UpdateServicePrimaryTaskSetResponse { task_set: Some(v) })
}

pub fn delete(
    state: &mut RegionState,
    input: DeleteTaskSetRequest,
) -> Result<DeleteTaskSetResponse, ApiError> {
    let (key, index) = find(
        state,
        input.cluster.as_deref(),
        input.service.as_deref(),
        input.task_set.as_deref(),
    )?;
    let ts = &state.services[&key].task_sets[index];
    // "force: If true, you can delete a task set even if it hasn't been
    // scaled down to zero." (AWS's DeleteTaskSet reference)
    if ts.scale_percent() > 0.0 && input.force != Some(true) {
        return Err(ApiError::invalid_parameter(ecsbox::DELETE_SCALED_TASK_SET));
    }
    let v = change(state, &key, index, |record, i| {
        let ts = &mut record.task_sets[i];
        let now = epoch_now();
        ts.status = TaskSetStatus::Draining;
        ts.task_set.updated_at = Some(now);
        ts.task_set.stability_status = Some("STABILIZING".into());
        ts.task_set.stability_status_at = Some(now);
    });
    Ok(DeleteTaskSetResponse { task_set: Some(v) })
}
