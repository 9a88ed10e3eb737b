//! Services: Create, Update, Delete, Describe, List, ListServicesByNamespace,
//! and the deployment history (ListServiceDeployments,
//! DescribeServiceDeployments, DescribeServiceRevisions,
//! StopServiceDeployment). Handlers record what is wanted; the service
//! scheduler (`controllers::services`) starts and stops the tasks.

use super::pagination::{decode_token, page_size, take_page};
use super::WithNetwork;
use crate::cloudmap::CloudMap;
use crate::domain::messages::{aws, ecsbox};
use crate::domain::{launch, validation};
use crate::lb::{LoadBalancing, TargetType};
use crate::model::operations::ErrorCode;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::services::{
    new_deployment_id, DeploymentRecord, ServiceDeploymentStatus, ServiceRecord,
};
use crate::state::tasks::{epoch_now, Effect};
use crate::state::{arn, RegionState};

pub(super) fn active_cluster(
    state: &RegionState,
    reference: Option<&str>,
) -> Result<String, ApiError> {
    state
        .active_cluster_name(reference)
        .ok_or_else(ApiError::cluster_not_found)
}

fn service_arn(state: &RegionState, cluster: &str, name: &str) -> String {
    format!(
        "arn:aws:ecs:{}:{}:service/{cluster}/{name}",
        state.region, state.account
    )
}

/// The key of the service a reference (name or ARN) names in `cluster`.
pub(super) fn service_key(state: &RegionState, cluster: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else {
        service_arn(state, cluster, reference)
    }
}

/// The arn of a DescribeServices failure: the ARN asked for, as given, or
/// for a name `arn:aws:ecs:REGION:ACCOUNT:service/NAME`, without the
/// cluster: what AWS answers (see `messages::aws::MISSING`).
fn missing_service_arn(state: &RegionState, reference: &str) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else {
        format!(
            "arn:aws:ecs:{}:{}:service/{reference}",
            state.region, state.account
        )
    }
}

pub(super) fn not_found() -> ApiError {
    ApiError::ecs(
        ErrorCode::ServiceNotFoundException,
        ecsbox::SERVICE_NOT_FOUND,
    )
}

/// A target group a service names must exist, be behind a load balancer,
/// and take targets of the kind the task's network mode gives.
fn check_target_group(
    plane: &LoadBalancing,
    tg: &str,
    td: &TaskDefinition,
) -> Result<(), ApiError> {
    let Some(spec) = plane.target_group(tg) else {
        return Err(ApiError::invalid_parameter(aws::TARGET_GROUP_UNVERIFIABLE));
    };
    if !plane.target_group_in_use(tg) {
        return Err(ApiError::invalid_parameter(
            aws::target_group_without_load_balancer(tg),
        ));
    }
    let mode = td.network_mode.as_deref().unwrap_or("bridge");
    let fits = match spec.target_type {
        TargetType::Ip => mode == "awsvpc",
        TargetType::Instance => mode != "awsvpc",
    };
    if !fits {
        let target_type = match spec.target_type {
            TargetType::Ip => "ip",
            TargetType::Instance => "instance",
        };
        return Err(ApiError::invalid_parameter(aws::target_type_incompatible(
            tg,
            target_type,
            mode,
        )));
    }
    Ok(())
}

/// The service's deployment configuration with ECS's defaults filled in:
/// REPLICA 100/200, DAEMON 0/100, circuit breaker off.
pub(super) fn deployment_configuration(
    given: Option<DeploymentConfiguration>,
    daemon: bool,
) -> Result<DeploymentConfiguration, ApiError> {
    let mut c = given.unwrap_or_default();
    // BLUE_GREEN, LINEAR and CANARY shift traffic between target groups
    // with hooks and bake times: not built, so refused by name rather than
    // run as a rolling deployment.
    if let Some(strategy) = c.strategy.as_deref().filter(|s| *s != "ROLLING") {
        return Err(ApiError::ecs(
            ErrorCode::UnsupportedFeatureException,
            ecsbox::deployment_strategy_unsupported(strategy),
        ));
    }
    let (min, max) = if daemon { (0, 100) } else { (100, 200) };
    let min = *c.minimum_healthy_percent.get_or_insert(min);
    let max = *c.maximum_percent.get_or_insert(max);
    if !(0..=100).contains(&min) {
        return Err(ApiError::invalid_parameter(
            ecsbox::MINIMUM_HEALTHY_PERCENT_RANGE,
        ));
    }
    if max < 100 || (daemon && max != 100) {
        return Err(ApiError::invalid_parameter(if daemon {
            ecsbox::DAEMON_MAXIMUM_PERCENT
        } else {
            "maximumPercent must be at least 100."
        }));
    }
    c.deployment_circuit_breaker
        .get_or_insert(DeploymentCircuitBreaker {
            enable: Some(false),
            rollback: Some(false),
            ..Default::default()
        });
    Ok(c)
}

/// Checks a service's loadBalancers (against the target groups the load
/// balancers' plane knows, as ECS checks them with ELB) and its
/// serviceRegistries (stored; they take effect when service discovery exists).
/// Where a service's registries are looked up: Cloud Map's registry and
/// the caller's account and region (None: not checked, as unit tests and
/// task sets call it).
pub(super) type RegistryLookup<'a> = Option<(&'a CloudMap, &'a str, &'a str)>;

pub(super) fn check_attachments(
    td: &TaskDefinition,
    lbs: &[LoadBalancer],
    registries: &[ServiceRegistry],
    plane: Option<&LoadBalancing>,
    cloud_map: RegistryLookup,
) -> Result<(), ApiError> {
    let container = |name: Option<&str>| {
        td.container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == name)
            .cloned()
    };
    for lb in lbs {
        if lb.target_group_arn.is_none() && lb.load_balancer_name.is_none() {
            return Err(ApiError::invalid_parameter(ecsbox::LOAD_BALANCER_TARGET));
        }
        let Some(tg) = &lb.target_group_arn else {
            return Err(ApiError::ecs(
                ErrorCode::UnsupportedFeatureException,
                ecsbox::CLASSIC_LOAD_BALANCER_UNSUPPORTED,
            ));
        };
        if !tg.starts_with("arn:") || !tg.contains(":targetgroup/") {
            return Err(ApiError::invalid_parameter(
                ecsbox::target_group_arn_invalid(tg),
            ));
        }
        if let Some(plane) = plane {
            check_target_group(plane, tg, td)?;
        }
        let Some(c) = container(lb.container_name.as_deref()) else {
            return Err(ApiError::invalid_parameter(
                ecsbox::load_balancer_container_unknown(lb.container_name.as_deref().unwrap_or("")),
            ));
        };
        let port = lb.container_port.unwrap_or(0);
        if !c
            .port_mappings
            .iter()
            .flatten()
            .any(|pm| pm.container_port == Some(port))
        {
            return Err(ApiError::invalid_parameter(
                ecsbox::load_balancer_port_unknown(c.name.as_deref().unwrap_or(""), port),
            ));
        }
    }
    for r in registries {
        if !r
            .registry_arn
            .as_deref()
            .is_some_and(|a| a.starts_with("arn:") && a.contains(":service/"))
        {
            return Err(ApiError::invalid_parameter(ecsbox::SERVICE_REGISTRY_ARN));
        }
        if r.container_name.is_some() && container(r.container_name.as_deref()).is_none() {
            return Err(ApiError::invalid_parameter(
                ecsbox::SERVICE_REGISTRY_CONTAINER,
            ));
        }
        check_registry(td, r, cloud_map)?;
    }
    Ok(())
}

/// ECS's rules for one `serviceRegistries` entry ("Service discovery" in
/// the ECS developer guide): the Cloud Map service exists; bridge and host
/// tasks are published as SRV records, so they name the container and
/// port; `port` and `containerName`/`containerPort` exclude each other; a
/// port is given only where an SRV record needs it.
fn check_registry(
    td: &TaskDefinition,
    r: &ServiceRegistry,
    cloud_map: RegistryLookup,
) -> Result<(), ApiError> {
    let arn = r.registry_arn.as_deref().unwrap_or_default();
    let by_container = r.container_name.is_some() || r.container_port.is_some();
    if r.port.is_some() && by_container {
        return Err(ApiError::invalid_parameter(
            aws::REGISTRY_PORT_AND_CONTAINER,
        ));
    }
    let mode = td.network_mode.as_deref().unwrap_or("bridge");
    if mode != "awsvpc" && (r.container_name.is_none() || r.container_port.is_none()) {
        return Err(ApiError::invalid_parameter(
            aws::registry_needs_container_port(arn),
        ));
    }
    let Some((cloud_map, account, region)) = cloud_map else {
        return Ok(());
    };
    if !cloud_map.service_exists(account, region, arn) {
        return Err(ApiError::invalid_parameter(
            ecsbox::service_registry_unknown(arn),
        ));
    }
    let kinds = cloud_map.record_kinds(account, region, arn);
    let srv = kinds.iter().any(|k| k == "SRV");
    if !kinds.is_empty() && !srv && (r.port.is_some() || r.container_port.is_some()) {
        return Err(ApiError::invalid_parameter(aws::REGISTRY_PORT_NOT_NEEDED));
    }
    if srv && r.port.is_none() && r.container_port.is_none() {
        return Err(ApiError::invalid_parameter(
            ecsbox::service_registry_needs_port(arn),
        ));
    }
    if mode != "awsvpc" && !kinds.is_empty() && kinds.iter().any(|k| k != "SRV") {
        return Err(ApiError::invalid_parameter(
            ecsbox::service_registry_needs_srv(arn, mode),
        ));
    }
    Ok(())
}

fn new_deployment(
    state: &RegionState,
    cluster: &str,
    name: &str,
    td: TaskDefinition,
    desired: i32,
    service: &Service,
    source_revision: Option<String>,
) -> DeploymentRecord {
    let now = epoch_now();
    let id = new_deployment_id();
    let short = id.trim_start_matches("ecs-svc/").to_string();
    DeploymentRecord {
        deployment: Deployment {
            id: Some(id),
            status: Some("PRIMARY".into()),
            task_definition: td.task_definition_arn.clone(),
            desired_count: Some(desired),
            pending_count: Some(0),
            running_count: Some(0),
            failed_tasks: Some(0),
            created_at: Some(now),
            updated_at: Some(now),
            launch_type: service.launch_type.clone(),
            capacity_provider_strategy: service.capacity_provider_strategy.clone(),
            platform_version: service.platform_version.clone(),
            platform_family: service.platform_family.clone(),
            network_configuration: service.network_configuration.clone(),
            rollout_state: Some("IN_PROGRESS".into()),
            rollout_state_reason: Some(
                "ECS deployment ecs-svc/".to_string() + &short + " in progress.",
            ),
            ..Default::default()
        },
        service_deployment_arn: format!(
            "arn:aws:ecs:{}:{}:service-deployment/{cluster}/{name}/{}",
            state.region,
            state.account,
            &uuid::Uuid::new_v4().simple().to_string()[..22]
        ),
        service_revision_arn: format!(
            "arn:aws:ecs:{}:{}:service-revision/{cluster}/{name}/{short}",
            state.region, state.account
        ),
        definition: td,
        status: ServiceDeploymentStatus::InProgress,
        status_reason: None,
        source_revision_arn: source_revision,
        started_at: now,
        finished_at: None,
        rollback_of: None,
        // The caller's: the network as looked up for this deployment.
        network: None,
    }
}

pub fn create(
    state: &mut RegionState,
    request: WithNetwork<CreateServiceRequest>,
) -> Result<CreateServiceResponse, ApiError> {
    let WithNetwork { input, network } = request;
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let name = input.service_name.clone().unwrap_or_default();
    validation::resource_name("Service", &name)?;
    let arn = service_arn(state, &cluster, &name);
    if let Some(existing) = state
        .services
        .get(&arn)
        .filter(|s| s.status() != "INACTIVE")
    {
        // clientToken makes CreateService idempotent; anything else is a clash.
        if input.client_token.is_some() && existing.client_token == input.client_token {
            return Ok(CreateServiceResponse {
                service: Some(view(state, existing)),
            });
        }
        return Err(ApiError::invalid_parameter(ecsbox::SERVICE_NOT_IDEMPOTENT));
    }
    match input
        .deployment_controller
        .as_ref()
        .and_then(|c| c.r#type.as_deref())
    {
        None | Some("ECS") => {}
        Some("EXTERNAL") => {
            return super::task_sets::create_external(state, input, cluster, name, arn)
        }
        Some("CODE_DEPLOY") => {
            return Err(ApiError::ecs(
                ErrorCode::UnsupportedFeatureException,
                ecsbox::CODE_DEPLOY_UNSUPPORTED,
            ))
        }
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "ecsbox does not know the deployment controller {other}."
            )))
        }
    }
    let daemon = input.scheduling_strategy.as_deref() == Some("DAEMON");
    if daemon && input.desired_count.is_some() {
        return Err(ApiError::invalid_parameter(aws::DAEMON_DESIRED_COUNT));
    }
    // A DAEMON service's count is the number of its cluster's instances.
    let desired = if daemon {
        state.active_container_instance_arns(&cluster).len() as i32
    } else {
        input.desired_count.unwrap_or(0)
    };
    if desired < 0 {
        return Err(ApiError::invalid_parameter(ecsbox::DESIRED_COUNT_NEGATIVE));
    }
    // CreateService's own answer for a definition that does not exist.
    let td = crate::domain::task_definitions::find(
        state,
        input.task_definition.as_deref().unwrap_or(""),
    )?
    .ok_or_else(|| ApiError::client(aws::TASK_DEFINITION_NOT_FOUND))?;
    if td.status.as_deref() != Some("ACTIVE") {
        return Err(ApiError::client(ecsbox::TASK_DEFINITION_INACTIVE));
    }
    let chosen = launch::choose_launch_for(
        state,
        &cluster,
        input.launch_type.as_deref(),
        input.capacity_provider_strategy.as_deref(),
    )?;
    if daemon && chosen.launch_type == "FARGATE" {
        return Err(ApiError::invalid_parameter(ecsbox::DAEMON_ON_FARGATE));
    }
    launch::check_compatible(&td, &chosen, input.network_configuration.as_ref())?;
    let network = network?;
    let deployment_configuration =
        deployment_configuration(input.deployment_configuration.clone(), daemon)?;
    check_attachments(
        &td,
        input.load_balancers.as_deref().unwrap_or(&[]),
        input.service_registries.as_deref().unwrap_or(&[]),
        state.settings.load_balancing.as_deref(),
        state
            .settings
            .cloud_map
            .as_deref()
            .map(|c| (c, state.account.as_str(), state.region.as_str())),
    )?;
    let tags = validation::tags(input.tags.as_deref().unwrap_or_default())?;
    if let Some(grace) = input.health_check_grace_period_seconds {
        if !(0..=2_147_483_647).contains(&grace) {
            return Err(ApiError::invalid_parameter(ecsbox::GRACE_PERIOD_NEGATIVE));
        }
    }

    // Last of the checks: it creates the Cloud Map services it names.
    let service_connect = super::service_connect::resolve(
        state,
        &cluster,
        &name,
        input.service_connect_configuration.as_ref(),
        &td,
    )?;

    let fargate = chosen.launch_type == "FARGATE";
    let service = Service {
        service_arn: Some(arn.clone()),
        service_name: Some(name.clone()),
        cluster_arn: Some(arn::cluster(&state.region, &state.account, &cluster)),
        load_balancers: Some(input.load_balancers.clone().unwrap_or_default()),
        service_registries: Some(input.service_registries.clone().unwrap_or_default()),
        status: Some("ACTIVE".into()),
        desired_count: Some(desired),
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
        task_definition: td.task_definition_arn.clone(),
        deployment_configuration: Some(deployment_configuration),
        role_arn: input.role.clone(),
        created_at: Some(epoch_now()),
        created_by: Some(format!("arn:aws:iam::{}:root", state.account)),
        placement_constraints: Some(input.placement_constraints.clone().unwrap_or_default()),
        placement_strategy: Some(input.placement_strategy.clone().unwrap_or_default()),
        network_configuration: input.network_configuration.clone(),
        health_check_grace_period_seconds: input.health_check_grace_period_seconds,
        scheduling_strategy: Some(if daemon { "DAEMON" } else { "REPLICA" }.into()),
        deployment_controller: Some(DeploymentController {
            r#type: Some("ECS".into()),
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
    let mut deployment = DeploymentRecord {
        network,
        ..new_deployment(state, &cluster, &name, td, desired, &service, None)
    };
    if let Some(sc) = service_connect {
        deployment.set_service_connect(sc.configuration, sc.resources);
    }
    let record = ServiceRecord {
        service,
        name,
        cluster,
        deployments: vec![deployment],
        past_deployments: vec![],
        events: vec![],
        client_token: input.client_token.clone(),
        steady: false,
        start_impaired_at: 0,
        task_sets: vec![],
    };
    if tags.is_empty() {
        state.tags.remove(&arn);
    } else {
        state.tags.insert(arn.clone(), tags);
    }
    let answer = view(state, &record);
    state.services.insert(arn, record);
    state.effects.push(Effect::Reconcile);
    Ok(CreateServiceResponse {
        service: Some(answer),
    })
}

/// The tasks of a service: (deployment id, task record) pairs.
pub(super) fn service_tasks<'a>(
    state: &'a RegionState,
    record: &'a ServiceRecord,
) -> impl Iterator<Item = &'a crate::state::tasks::TaskRecord> + 'a {
    let group = record.group();
    let prefix = format!(
        "arn:aws:ecs:{}:{}:task/{}/",
        state.region, state.account, record.cluster
    );
    state
        .tasks
        .range(prefix.clone()..)
        .take_while(move |(arn, _)| arn.starts_with(&prefix))
        .map(|(_, t)| t)
        .filter(move |t| t.task.group.as_deref() == Some(group.as_str()))
}

/// The service as DescribeServices shows it: counts from its live tasks.
pub fn view(state: &RegionState, record: &ServiceRecord) -> Service {
    use crate::state::lifecycle::TaskStatus;
    let mut s = record.service.clone();
    let (mut running, mut pending) = (0, 0);
    let mut deployments: Vec<Deployment> = record
        .deployments
        .iter()
        .map(|d| Deployment {
            running_count: Some(0),
            pending_count: Some(0),
            ..d.deployment.clone()
        })
        .collect();
    for t in service_tasks(state, record).filter(|t| t.desired == TaskStatus::Running) {
        let is_running = t.status == TaskStatus::Running;
        if is_running {
            running += 1;
        } else if t.status < TaskStatus::Running {
            pending += 1;
        }
        if let Some(d) = deployments.iter_mut().find(|d| d.id == t.task.started_by) {
            if is_running {
                *d.running_count.get_or_insert(0) += 1;
            } else if t.status < TaskStatus::Running {
                *d.pending_count.get_or_insert(0) += 1;
            }
        }
    }
    s.running_count = Some(running);
    s.pending_count = Some(pending);
    s.deployments = Some(deployments);
    s.events = Some(record.events.clone());
    s.task_definition = record
        .primary()
        .and_then(|d| d.deployment.task_definition.clone());
    s.task_sets = Some(vec![]);
    if record.is_external() {
        super::task_sets::describe_external(state, record, &mut s);
    }
    s
}

pub fn describe(
    state: &mut RegionState,
    input: DescribeServicesRequest,
) -> Result<DescribeServicesResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let references = input.services.unwrap_or_default();
    if references.is_empty() || references.len() > 10 {
        return Err(ApiError::invalid_parameter(ecsbox::DESCRIBE_SERVICES_COUNT));
    }
    let include_tags = input
        .include
        .unwrap_or_default()
        .iter()
        .any(|i| i == "TAGS");
    let (mut services, mut failures) = (vec![], vec![]);
    for reference in references {
        let key = service_key(state, &cluster, &reference);
        match state.services.get(&key).filter(|s| s.cluster == cluster) {
            Some(record) => {
                let mut s = view(state, record);
                if include_tags {
                    s.tags = Some(state.tags_of(&key));
                }
                services.push(s);
            }
            None => failures.push(Failure {
                arn: Some(missing_service_arn(state, &reference)),
                reason: Some(aws::MISSING.into()),
                detail: None,
            }),
        }
    }
    Ok(DescribeServicesResponse {
        services: Some(services),
        failures: Some(failures),
    })
}

pub fn list(
    state: &mut RegionState,
    input: ListServicesRequest,
) -> Result<ListServicesResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let size = page_size(input.max_results, 10, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let prefix = service_arn(state, &cluster, "");
    let matching = state
        .services
        .range(prefix.clone()..)
        .take_while(|(arn, _)| arn.starts_with(&prefix))
        .filter(|(arn, _)| after.as_ref().is_none_or(|a| *arn > a))
        .map(|(_, s)| s)
        .filter(|s| s.status() != "INACTIVE")
        .filter(|s| input.launch_type.is_none() || s.service.launch_type == input.launch_type)
        .filter(|s| {
            input.scheduling_strategy.is_none()
                || s.service.scheduling_strategy == input.scheduling_strategy
        });
    let (page, next_token) = take_page(matching, size, |s| {
        s.service.service_arn.clone().unwrap_or_default()
    });
    Ok(ListServicesResponse {
        service_arns: Some(
            page.into_iter()
                .filter_map(|s| s.service.service_arn.clone())
                .collect(),
        ),
        next_token,
    })
}

/// The services whose Service Connect configuration is in a namespace
/// (its name or ARN), across clusters, as ECS lists them.
pub fn list_by_namespace(
    state: &mut RegionState,
    input: ListServicesByNamespaceRequest,
) -> Result<ListServicesByNamespaceResponse, ApiError> {
    let namespace = input.namespace.unwrap_or_default();
    let size = page_size(input.max_results, 10, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let arn = state.settings.cloud_map.as_ref().and_then(|c| {
        c.with(&state.account, &state.region, |r| {
            r.namespaces
                .get(crate::cloudmap::id_of(&namespace))
                .or_else(|| r.namespaces.values().find(|n| n.name == namespace))
                .map(|n| n.arn.clone())
        })
    });
    let Some(arn) = arn else {
        return Err(ApiError::ecs(
            ErrorCode::NamespaceNotFoundException,
            ecsbox::namespace_not_found(&namespace),
        ));
    };
    let matching = state
        .services
        .iter()
        .filter(|(key, _)| after.as_ref().is_none_or(|a| *key > a))
        .map(|(_, s)| s)
        .filter(|s| {
            s.status() == "ACTIVE"
                && s.service_connect()
                    .is_some_and(|c| c.namespace.as_deref() == Some(arn.as_str()))
        });
    let (page, next_token) = take_page(matching, size, |s| {
        s.service.service_arn.clone().unwrap_or_default()
    });
    Ok(ListServicesByNamespaceResponse {
        service_arns: Some(
            page.into_iter()
                .filter_map(|s| s.service.service_arn.clone())
                .collect(),
        ),
        next_token,
    })
}

pub fn update(
    state: &mut RegionState,
    request: WithNetwork<UpdateServiceRequest>,
) -> Result<UpdateServiceResponse, ApiError> {
    let WithNetwork {
        input,
        network: new_network,
    } = request;
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let key = service_key(state, &cluster, input.service.as_deref().unwrap_or(""));
    let record = state
        .services
        .get(&key)
        .filter(|s| s.cluster == cluster)
        .ok_or_else(not_found)?;
    if record.status() != "ACTIVE" {
        return Err(ApiError::ecs(
            ErrorCode::ServiceNotActiveException,
            ecsbox::SERVICE_NOT_ACTIVE,
        ));
    }
    if record.is_external() {
        return super::task_sets::update_external(state, key, input);
    }
    let daemon = record.service.scheduling_strategy.as_deref() == Some("DAEMON");
    if daemon && input.desired_count.is_some() {
        return Err(ApiError::invalid_parameter(aws::DAEMON_DESIRED_COUNT));
    }
    if input.desired_count.is_some_and(|d| d < 0) {
        return Err(ApiError::invalid_parameter(ecsbox::DESIRED_COUNT_NEGATIVE));
    }
    let primary_td = record
        .primary()
        .map(|d| d.definition.clone())
        .unwrap_or_default();
    let new_td = match input.task_definition.as_deref() {
        Some(reference) => {
            let td = crate::domain::task_definitions::resolve(state, reference)?;
            if td.status.as_deref() != Some("ACTIVE") {
                return Err(ApiError::client(ecsbox::TASK_DEFINITION_INACTIVE));
            }
            Some(td)
        }
        None => None,
    };
    let configuration = input
        .network_configuration
        .clone()
        .or_else(|| record.service.network_configuration.clone());
    let launch_type = record.service.launch_type.clone();
    let chosen = launch::choose_launch_for(
        state,
        &cluster,
        launch_type.as_deref(),
        record.service.capacity_provider_strategy.as_deref(),
    )?;
    let effective_td = new_td.clone().unwrap_or_else(|| primary_td.clone());
    launch::check_compatible(&effective_td, &chosen, configuration.as_ref())?;
    // The new configuration as looked up, else the one the service runs.
    let network = if input.network_configuration.is_some() {
        new_network?
    } else {
        record.primary().and_then(|d| d.network.clone())
    };
    let deployment_configuration = match input.deployment_configuration.clone() {
        Some(c) => Some(deployment_configuration(Some(c), daemon)?),
        None => None,
    };
    check_attachments(
        &effective_td,
        input.load_balancers.as_deref().unwrap_or(&[]),
        input.service_registries.as_deref().unwrap_or(&[]),
        state.settings.load_balancing.as_deref(),
        state
            .settings
            .cloud_map
            .as_deref()
            .map(|c| (c, state.account.as_str(), state.region.as_str())),
    )?;

    // Last of the checks: it creates the Cloud Map services it names.
    let service_connect = super::service_connect::resolve(
        state,
        &cluster,
        &record.name,
        input.service_connect_configuration.as_ref(),
        &effective_td,
    )?;
    // Without a new configuration the new deployment keeps the primary's.
    if service_connect.is_none() {
        super::service_connect::check_kept(
            record
                .primary()
                .and_then(|d| d.deployment.service_connect_configuration.as_ref()),
            &effective_td,
        )?;
    }
    let (sc_configuration, sc_resources) = match service_connect {
        Some(sc) => (Some(sc.configuration), Some(sc.resources)),
        None => record
            .primary()
            .map(|d| {
                (
                    d.deployment.service_connect_configuration.clone(),
                    d.deployment.service_connect_resources.clone(),
                )
            })
            .unwrap_or_default(),
    };

    let changes_revision = new_td
        .as_ref()
        .is_some_and(|td| td.task_definition_arn != primary_td.task_definition_arn)
        || input.network_configuration.is_some()
        || input.service_connect_configuration.is_some()
        || input.force_new_deployment == Some(true);
    let mut record = state.services.remove(&key).expect("found above");
    if let Some(d) = input.desired_count {
        record.service.desired_count = Some(d);
        for dep in record.deployments.iter_mut().filter(|d| d.is_primary()) {
            dep.deployment.desired_count = Some(d);
        }
    }
    if let Some(c) = deployment_configuration {
        record.service.deployment_configuration = Some(c);
    }
    if input.network_configuration.is_some() {
        record.service.network_configuration = input.network_configuration.clone();
    }
    if let Some(g) = input.health_check_grace_period_seconds {
        record.service.health_check_grace_period_seconds = Some(g);
    }
    if let Some(p) = input.placement_constraints.clone() {
        record.service.placement_constraints = Some(p);
    }
    if let Some(p) = input.placement_strategy.clone() {
        record.service.placement_strategy = Some(p);
    }
    if let Some(lbs) = input.load_balancers.clone() {
        record.service.load_balancers = Some(lbs);
    }
    if let Some(r) = input.service_registries.clone() {
        record.service.service_registries = Some(r);
    }
    if let Some(e) = input.enable_execute_command {
        record.service.enable_execute_command = Some(e);
    }
    if let Some(p) = input.propagate_tags.clone() {
        record.service.propagate_tags = Some(p);
    }
    if changes_revision {
        let desired = record.service.desired_count.unwrap_or(0);
        let source = record.primary().map(|d| d.service_revision_arn.clone());
        // A deployment that had reached its count (the services-stable
        // waiter's test) but not yet settled is complete now that it is
        // superseded: it is what a rollback returns to.
        let at_count = {
            let described = view(state, &record);
            described
                .deployments
                .as_deref()
                .is_some_and(|d| d.len() == 1 && d[0].running_count == d[0].desired_count)
        };
        if let Some(primary) = record
            .deployments
            .first_mut()
            .filter(|d| at_count && d.rollout_state() == "IN_PROGRESS")
        {
            let now = epoch_now();
            let id = primary.id().to_string();
            primary.deployment.rollout_state = Some("COMPLETED".into());
            primary.deployment.rollout_state_reason =
                Some(format!("ECS deployment {id} completed."));
            primary.deployment.updated_at = Some(now);
            primary.finished_at = Some(now);
            primary.status = ServiceDeploymentStatus::Successful;
        }
        for dep in record.deployments.iter_mut() {
            dep.deployment.status = Some("ACTIVE".into());
        }
        let mut deployment = DeploymentRecord {
            network,
            ..new_deployment(
                state,
                &cluster,
                &record.name,
                effective_td,
                desired,
                &record.service,
                source,
            )
        };
        deployment.deployment.service_connect_configuration = sc_configuration;
        deployment.deployment.service_connect_resources = sc_resources;
        record.deployments.insert(0, deployment);
    }
    record.steady = false;
    let answer = view(state, &record);
    state.services.insert(key, record);
    state.effects.push(Effect::Reconcile);
    Ok(UpdateServiceResponse {
        service: Some(answer),
    })
}

pub fn delete(
    state: &mut RegionState,
    input: DeleteServiceRequest,
) -> Result<DeleteServiceResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let key = service_key(state, &cluster, input.service.as_deref().unwrap_or(""));
    let record = state
        .services
        .get(&key)
        .filter(|s| s.cluster == cluster && s.status() != "INACTIVE")
        .ok_or_else(not_found)?;
    let daemon = record.service.scheduling_strategy.as_deref() == Some("DAEMON");
    if !daemon && record.service.desired_count.unwrap_or(0) > 0 && input.force != Some(true) {
        return Err(ApiError::invalid_parameter(ecsbox::DELETE_SCALED_SERVICE));
    }
    let record = state.services.get_mut(&key).expect("found above");
    record.service.status = Some("DRAINING".into());
    record.service.desired_count = Some(0);
    for dep in record.deployments.iter_mut() {
        dep.deployment.desired_count = Some(0);
    }
    let record = state.services[&key].clone();
    state.effects.push(Effect::Reconcile);
    Ok(DeleteServiceResponse {
        service: Some(view(state, &record)),
    })
}

/// The service deployments ListServiceDeployments shows: a rollback is part
/// of the deployment it rolls back (AWS makes no new service deployment or
/// revision for it), so it is not listed on its own.
fn all_deployments(record: &ServiceRecord) -> impl Iterator<Item = &DeploymentRecord> {
    record
        .deployments
        .iter()
        .chain(record.past_deployments.iter())
        .filter(|d| d.rollback_of.is_none())
}

/// The deployment that rolled `failed` back, if one did.
fn rollback_of<'a>(
    record: &'a ServiceRecord,
    failed: &DeploymentRecord,
) -> Option<&'a DeploymentRecord> {
    record
        .deployments
        .iter()
        .chain(record.past_deployments.iter())
        .find(|d| d.rollback_of.as_deref() == Some(failed.id()))
}

fn brief(record: &ServiceRecord, d: &DeploymentRecord) -> ServiceDeploymentBrief {
    ServiceDeploymentBrief {
        service_deployment_arn: Some(d.service_deployment_arn.clone()),
        service_arn: record.service.service_arn.clone(),
        cluster_arn: record.service.cluster_arn.clone(),
        started_at: Some(d.started_at),
        created_at: Some(d.started_at),
        finished_at: d.finished_at,
        target_service_revision_arn: Some(d.service_revision_arn.clone()),
        status: Some(d.status.as_str().into()),
        status_reason: d.status_reason.clone(),
    }
}

pub fn list_deployments(
    state: &mut RegionState,
    input: ListServiceDeploymentsRequest,
) -> Result<ListServiceDeploymentsResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let key = service_key(state, &cluster, input.service.as_deref().unwrap_or(""));
    let record = state
        .services
        .get(&key)
        .filter(|s| s.cluster == cluster)
        .ok_or_else(not_found)?;
    let size = page_size(input.max_results, 20, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let statuses = input.status.unwrap_or_default();
    let created = input.created_at.unwrap_or_default();
    let mut seen_token = after.is_none();
    let matching = all_deployments(record)
        .filter(|d| statuses.is_empty() || statuses.iter().any(|s| s == d.status.as_str()))
        .filter(|d| {
            created.after.is_none_or(|a| d.started_at >= a)
                && created.before.is_none_or(|b| d.started_at <= b)
        })
        .filter(|d| {
            if seen_token {
                return true;
            }
            if Some(&d.service_deployment_arn) == after.as_ref() {
                seen_token = true;
            }
            false
        });
    let (page, next_token) = take_page(matching, size, |d| d.service_deployment_arn.clone());
    Ok(ListServiceDeploymentsResponse {
        service_deployments: Some(page.into_iter().map(|d| brief(record, d)).collect()),
        next_token,
    })
}

fn find_deployment<'a>(
    state: &'a RegionState,
    arn: &str,
) -> Option<(&'a ServiceRecord, &'a DeploymentRecord)> {
    state.services.values().find_map(|s| {
        all_deployments(s)
            .find(|d| d.service_deployment_arn == arn || d.service_revision_arn == arn)
            .map(|d| (s, d))
    })
}

pub fn describe_deployments(
    state: &mut RegionState,
    input: DescribeServiceDeploymentsRequest,
) -> Result<DescribeServiceDeploymentsResponse, ApiError> {
    let arns = input.service_deployment_arns.unwrap_or_default();
    if arns.is_empty() || arns.len() > 20 {
        return Err(ApiError::invalid_parameter(
            ecsbox::DESCRIBE_DEPLOYMENTS_COUNT,
        ));
    }
    let (mut found, mut failures) = (vec![], vec![]);
    for arn in arns {
        match find_deployment(state, &arn).filter(|(_, d)| d.service_deployment_arn == arn) {
            Some((s, d)) => found.push(ServiceDeployment {
                service_deployment_arn: Some(d.service_deployment_arn.clone()),
                service_arn: s.service.service_arn.clone(),
                cluster_arn: s.service.cluster_arn.clone(),
                created_at: Some(d.started_at),
                started_at: Some(d.started_at),
                finished_at: d.finished_at,
                updated_at: d.deployment.updated_at,
                source_service_revisions: Some(
                    d.source_revision_arn
                        .iter()
                        .map(|a| ServiceRevisionSummary {
                            arn: Some(a.clone()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                target_service_revision: Some(ServiceRevisionSummary {
                    arn: Some(d.service_revision_arn.clone()),
                    requested_task_count: d.deployment.desired_count,
                    running_task_count: d.deployment.running_count,
                    pending_task_count: d.deployment.pending_count,
                    ..Default::default()
                }),
                status: Some(d.status.as_str().into()),
                status_reason: d.status_reason.clone(),
                deployment_configuration: s.service.deployment_configuration.clone(),
                rollback: rollback_of(s, d).map(|back| Rollback {
                    reason: d.deployment.rollout_state_reason.clone(),
                    started_at: Some(back.started_at),
                    service_revision_arn: Some(back.service_revision_arn.clone()),
                }),
                deployment_circuit_breaker: circuit_breaker_of(s, d),
                ..Default::default()
            }),
            None => failures.push(Failure {
                arn: Some(arn),
                reason: Some("MISSING".into()),
                detail: None,
            }),
        }
    }
    Ok(DescribeServiceDeploymentsResponse {
        service_deployments: Some(found),
        failures: Some(failures),
    })
}

/// The circuit breaker's view of a service deployment: TRIGGERED when it
/// failed it, with the failures counted and the threshold.
fn circuit_breaker_of(
    s: &ServiceRecord,
    d: &DeploymentRecord,
) -> Option<ServiceDeploymentCircuitBreaker> {
    let breaker = s
        .service
        .deployment_configuration
        .as_ref()?
        .deployment_circuit_breaker
        .as_ref()?;
    if breaker.enable != Some(true) {
        return Some(ServiceDeploymentCircuitBreaker {
            status: Some("DISABLED".into()),
            failure_count: Some(0),
            threshold: Some(0),
        });
    }
    let desired = d.deployment.desired_count.unwrap_or(0).max(0) as u32;
    use crate::controllers::service_planner::{circuit_breaker_threshold, Threshold};
    let threshold = circuit_breaker_threshold(desired, Threshold::default()) as i32;
    let tripped = d.deployment.rollout_state.as_deref() == Some("FAILED");
    Some(ServiceDeploymentCircuitBreaker {
        status: Some(
            if tripped {
                "TRIGGERED"
            } else if d.finished_at.is_some() {
                "MONITORING_COMPLETE"
            } else {
                "MONITORING"
            }
            .into(),
        ),
        failure_count: d.deployment.failed_tasks,
        threshold: Some(threshold),
    })
}

pub fn describe_revisions(
    state: &mut RegionState,
    input: DescribeServiceRevisionsRequest,
) -> Result<DescribeServiceRevisionsResponse, ApiError> {
    let arns = input.service_revision_arns.unwrap_or_default();
    if arns.is_empty() || arns.len() > 20 {
        return Err(ApiError::invalid_parameter(
            ecsbox::DESCRIBE_REVISIONS_COUNT,
        ));
    }
    let (mut found, mut failures) = (vec![], vec![]);
    for arn in arns {
        match find_deployment(state, &arn).filter(|(_, d)| d.service_revision_arn == arn) {
            Some((s, d)) => found.push(ServiceRevision {
                service_revision_arn: Some(d.service_revision_arn.clone()),
                service_arn: s.service.service_arn.clone(),
                cluster_arn: s.service.cluster_arn.clone(),
                task_definition: d.deployment.task_definition.clone(),
                capacity_provider_strategy: d.deployment.capacity_provider_strategy.clone(),
                launch_type: d.deployment.launch_type.clone(),
                platform_version: d.deployment.platform_version.clone(),
                platform_family: d.deployment.platform_family.clone(),
                load_balancers: s.service.load_balancers.clone(),
                service_registries: s.service.service_registries.clone(),
                network_configuration: d.deployment.network_configuration.clone(),
                service_connect_configuration: d.deployment.service_connect_configuration.clone(),
                container_images: Some(
                    d.definition
                        .container_definitions
                        .iter()
                        .flatten()
                        .map(|c| ContainerImage {
                            container_name: c.name.clone(),
                            image: c.image.clone(),
                            image_digest: None,
                        })
                        .collect(),
                ),
                guard_duty_enabled: Some(false),
                created_at: Some(d.started_at),
                ..Default::default()
            }),
            None => failures.push(Failure {
                arn: Some(arn),
                reason: Some("MISSING".into()),
                detail: None,
            }),
        }
    }
    Ok(DescribeServiceRevisionsResponse {
        service_revisions: Some(found),
        failures: Some(failures),
    })
}

pub fn stop_deployment(
    state: &mut RegionState,
    input: StopServiceDeploymentRequest,
) -> Result<StopServiceDeploymentResponse, ApiError> {
    let arn = input.service_deployment_arn.unwrap_or_default();
    let key = state
        .services
        .iter()
        .find(|(_, s)| all_deployments(s).any(|d| d.service_deployment_arn == arn))
        .map(|(k, _)| k.clone())
        .ok_or_else(|| {
            ApiError::ecs(
                ErrorCode::ServiceDeploymentNotFoundException,
                ecsbox::SERVICE_DEPLOYMENT_NOT_FOUND,
            )
        })?;
    let record = state.services.get_mut(&key).expect("found above");
    let Some(d) = record
        .deployments
        .iter_mut()
        .find(|d| d.service_deployment_arn == arn && d.is_primary())
    else {
        return Err(ApiError::ecs(
            ErrorCode::ConflictException,
            ecsbox::SERVICE_DEPLOYMENT_NOT_IN_PROGRESS,
        ));
    };
    if d.status != ServiceDeploymentStatus::InProgress {
        return Err(ApiError::ecs(
            ErrorCode::ConflictException,
            ecsbox::SERVICE_DEPLOYMENT_NOT_IN_PROGRESS,
        ));
    }
    // ROLLBACK (the default stop type): go back to the last completed revision.
    d.status = ServiceDeploymentStatus::RollbackRequested;
    d.status_reason = Some("Service deployment stopped by user; rolling back.".into());
    state.effects.push(Effect::Reconcile);
    Ok(StopServiceDeploymentResponse {
        service_deployment_arn: Some(arn),
    })
}
