//! Tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks. Handlers only create
//! and change records; the task controller (`controllers::tasks`) does the
//! Docker work, asked through `Effect`s.

use super::container_instances::{self, PlacementAsk, Slot};
use super::pagination::{decode_token, page_size, take_page};
use super::task_definitions;
use super::validation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::lifecycle::TaskStatus;
use crate::state::tasks::{epoch_now, Effect, StopCode, TaskRecord, TaskRuntime};
use crate::state::{arn, RegionState};

/// How a task is launched: the launch type, and the capacity provider that
/// chose it when a strategy was used.
pub(super) struct Launch {
    pub(super) launch_type: &'static str,
    pub(super) capacity_provider: Option<String>,
}

fn active_cluster(state: &RegionState, reference: Option<&str>) -> Result<String, ApiError> {
    state.active_cluster_name(reference).ok_or_else(ApiError::cluster_not_found)
}

/// launchType, or the first provider of a capacity provider strategy (the
/// request's, else the cluster's default), else EC2, as AWS decides.
fn choose_launch(state: &RegionState, cluster: &str, input: &RunTaskRequest) -> Result<Launch, ApiError> {
    choose_launch_for(state, cluster, input.launch_type.as_deref(), input.capacity_provider_strategy.as_deref())
}

/// `choose_launch` for any caller (RunTask, CreateService).
pub(super) fn choose_launch_for(
    state: &RegionState,
    cluster: &str,
    launch_type: Option<&str>,
    capacity_provider_strategy: Option<&[CapacityProviderStrategyItem]>,
) -> Result<Launch, ApiError> {
    if launch_type.is_some() && capacity_provider_strategy.is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::invalid_parameter(
            "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
        ));
    }
    if let Some(lt) = launch_type {
        let launch_type = match lt {
            "FARGATE" => "FARGATE",
            "EC2" => "EC2",
            "EXTERNAL" => "EXTERNAL",
            other => return Err(ApiError::invalid_parameter(format!("ecsbox does not support launch type {other} yet."))),
        };
        return Ok(Launch { launch_type, capacity_provider: None });
    }
    let cluster_default = state.clusters.get(cluster).and_then(|c| c.default_capacity_provider_strategy.clone()).unwrap_or_default();
    let strategy = capacity_provider_strategy.filter(|s| !s.is_empty()).map(<[_]>::to_vec).unwrap_or(cluster_default);
    if strategy.is_empty() {
        return Ok(Launch { launch_type: "EC2", capacity_provider: None });
    }
    validation::capacity_provider_strategy(&strategy, |p| state.capacity_provider_exists(p))?;
    // The provider with a base gets the first tasks; otherwise the heaviest weight.
    let chosen = strategy
        .iter()
        .max_by_key(|i| (i.base.unwrap_or(0), i.weight.unwrap_or(0)))
        .and_then(|i| i.capacity_provider.clone())
        .unwrap_or_default();
    let launch_type = if validation::is_fargate_provider(&chosen) { "FARGATE" } else { "EC2" };
    Ok(Launch { launch_type, capacity_provider: Some(chosen) })
}

/// The checks AWS makes between a task definition and how it is launched.
pub(super) fn check_compatible(td: &TaskDefinition, launch: &Launch, network: Option<&NetworkConfiguration>) -> Result<(), ApiError> {
    let compatibilities = td.compatibilities.clone().unwrap_or_default();
    if !compatibilities.iter().any(|c| c == launch.launch_type) {
        return Err(ApiError::invalid_parameter(format!(
            "Task definition does not support launch_type {}. Its compatibilities are [{}].",
            launch.launch_type,
            compatibilities.join(", ")
        )));
    }
    let awsvpc = td.network_mode.as_deref() == Some("awsvpc");
    let subnets = network.and_then(|n| n.awsvpc_configuration.as_ref()).and_then(|a| a.subnets.as_ref());
    match (awsvpc, network) {
        (true, None) => Err(ApiError::invalid_parameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.")),
        (true, Some(_)) if subnets.is_none_or(|s| s.is_empty()) => {
            Err(ApiError::invalid_parameter("subnets can not be empty."))
        }
        (false, Some(_)) => Err(ApiError::invalid_parameter(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        )),
        _ => Ok(()),
    }
}

/// The task definition as this task runs it: container and task overrides applied.
fn apply_overrides(mut td: TaskDefinition, overrides: &TaskOverride) -> Result<TaskDefinition, ApiError> {
    let containers = td.container_definitions.get_or_insert_with(Vec::new);
    for o in overrides.container_overrides.iter().flatten() {
        let name = o.name.as_deref().unwrap_or("");
        let Some(c) = containers.iter_mut().find(|c| c.name.as_deref() == Some(name)) else {
            return Err(ApiError::invalid_parameter(format!(
                "Override for container named {name} is not a container in the TaskDefinition."
            )));
        };
        if let Some(command) = &o.command {
            c.command = Some(command.clone());
        }
        if let Some(env) = &o.environment {
            let existing = c.environment.get_or_insert_with(Vec::new);
            for kv in env {
                match existing.iter_mut().find(|e| e.name == kv.name) {
                    Some(e) => e.value = kv.value.clone(),
                    None => existing.push(kv.clone()),
                }
            }
        }
        if o.cpu.is_some() {
            c.cpu = o.cpu;
        }
        if o.memory.is_some() {
            c.memory = o.memory;
        }
        if o.memory_reservation.is_some() {
            c.memory_reservation = o.memory_reservation;
        }
    }
    if let Some(cpu) = &overrides.cpu {
        td.cpu = Some(cpu.clone());
    }
    if let Some(memory) = &overrides.memory {
        td.memory = Some(memory.clone());
    }
    if let Some(role) = &overrides.task_role_arn {
        td.task_role_arn = Some(role.clone());
    }
    if let Some(role) = &overrides.execution_role_arn {
        td.execution_role_arn = Some(role.clone());
    }
    Ok(td)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn task_arn(state: &RegionState, cluster: &str, id: &str) -> String {
    format!("arn:aws:ecs:{}:{}:task/{cluster}/{id}", state.region, state.account)
}

/// The containers of a new task, as DescribeTasks shows them before they run.
fn container_views(state: &RegionState, cluster: &str, task_id: &str, task_arn: &str, td: &TaskDefinition) -> Vec<Container> {
    td.container_definitions
        .iter()
        .flatten()
        .map(|c| Container {
            container_arn: Some(format!("arn:aws:ecs:{}:{}:container/{cluster}/{task_id}/{}", state.region, state.account, uuid::Uuid::new_v4())),
            task_arn: Some(task_arn.to_string()),
            name: c.name.clone(),
            image: c.image.clone(),
            last_status: Some("PENDING".into()),
            network_bindings: Some(vec![]),
            network_interfaces: Some(vec![]),
            health_status: c.health_check.as_ref().map(|_| "UNKNOWN".to_string()),
            cpu: Some(c.cpu.unwrap_or(0).to_string()),
            memory: c.memory.map(|m| m.to_string()),
            memory_reservation: c.memory_reservation.map(|m| m.to_string()),
            ..Default::default()
        })
        .collect()
}

/// The ENI attachment an awsvpc task gets; its details (IP, MAC) are
/// filled in by the controller once Docker has given them.
fn eni_attachment(network: &NetworkConfiguration) -> Attachment {
    let subnet = network
        .awsvpc_configuration
        .as_ref()
        .and_then(|a| a.subnets.as_ref())
        .and_then(|s| s.first().cloned())
        .unwrap_or_default();
    let eni = format!("eni-{}", &new_id()[..17]);
    let kv = |k: &str, v: String| KeyValuePair { name: Some(k.into()), value: Some(v) };
    Attachment {
        id: Some(uuid::Uuid::new_v4().to_string()),
        r#type: Some("ElasticNetworkInterface".into()),
        status: Some("PRECREATED".into()),
        details: Some(vec![kv("subnetId", subnet), kv("networkInterfaceId", eni)]),
    }
}

/// Tags of a new task: its own, those propagated from the task definition,
/// and ECS's managed tags when asked for.
fn task_tags(state: &RegionState, cluster: &str, td_arn: &str, input: &RunTaskRequest) -> Result<Vec<Tag>, ApiError> {
    let mut tags = input.tags.clone().unwrap_or_default();
    validation::tags(&tags)?;
    match input.propagate_tags.as_deref() {
        Some("TASK_DEFINITION") => validation::merge_tags(&mut tags, state.tags_of(td_arn)),
        Some("SERVICE") => {
            return Err(ApiError::invalid_parameter("propagateTags SERVICE is only valid for tasks started by a service."))
        }
        _ => {}
    }
    if input.enable_ecs_managed_tags == Some(true) {
        tags.push(Tag { key: Some("aws:ecs:clusterName".into()), value: Some(cluster.to_string()) });
    }
    Ok(tags)
}

/// Where the tasks of a call go: placed by ECS (RunTask), or one on each
/// named container instance (StartTask).
enum Target {
    Placement,
    Instances(Vec<String>),
}

/// The container instance of each task to create (none on Fargate), and
/// the failures of those that found none.
fn task_slots(
    state: &RegionState,
    cluster: &str,
    target: &Target,
    launch: &Launch,
    ask: &PlacementAsk,
) -> Result<(Vec<Option<Slot>>, Vec<Failure>), ApiError> {
    let (slots, failures) = match target {
        Target::Placement if launch.launch_type == "FARGATE" => return Ok(((0..ask.count).map(|_| None).collect(), vec![])),
        Target::Placement => container_instances::place(state, cluster, ask)?,
        Target::Instances(references) => container_instances::on_instances(state, cluster, ask.definition, ask.group, references)?,
    };
    Ok((slots.into_iter().map(Some).collect(), failures))
}

pub fn run(state: &mut RegionState, input: RunTaskRequest) -> Result<RunTaskResponse, ApiError> {
    run_on(state, input, Target::Placement, false)
}

/// How the service scheduler starts a service's tasks: RunTask's records and
/// placement, or one task on each given instance (DAEMON). A service keeps
/// running its revision even after it is deregistered, as in ECS.
pub fn launch_for_service(
    state: &mut RegionState,
    input: RunTaskRequest,
    instances: Option<Vec<String>>,
) -> Result<(Vec<Task>, Vec<Failure>), ApiError> {
    let target = instances.map_or(Target::Placement, Target::Instances);
    let out = run_on(state, input, target, true)?;
    Ok((out.tasks.unwrap_or_default(), out.failures.unwrap_or_default()))
}

/// StartTask: RunTask's checks and records, on the named EC2 instances.
pub fn start(state: &mut RegionState, input: StartTaskRequest) -> Result<StartTaskResponse, ApiError> {
    let request = RunTaskRequest {
        cluster: input.cluster,
        count: Some(1),
        enable_ecs_managed_tags: input.enable_ecs_managed_tags,
        enable_execute_command: input.enable_execute_command,
        group: input.group,
        launch_type: Some("EC2".into()),
        network_configuration: input.network_configuration,
        overrides: input.overrides,
        propagate_tags: input.propagate_tags,
        reference_id: input.reference_id,
        started_by: input.started_by,
        tags: input.tags,
        task_definition: input.task_definition,
        volume_configurations: input.volume_configurations,
        ..Default::default()
    };
    let out = run_on(state, request, Target::Instances(input.container_instances.unwrap_or_default()), false)?;
    Ok(StartTaskResponse { tasks: out.tasks, failures: out.failures })
}

fn run_on(state: &mut RegionState, input: RunTaskRequest, target: Target, for_service: bool) -> Result<RunTaskResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let count = input.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(ApiError::invalid_parameter(format!("count must be between 1 and 10; got {count}.")));
    }
    let td = task_definitions::resolve(state, input.task_definition.as_deref().unwrap_or(""))?;
    if td.status.as_deref() != Some("ACTIVE") && !for_service {
        return Err(ApiError::client(format!(
            "TaskDefinition is inactive: {} cannot be used to run new tasks.",
            td.task_definition_arn.as_deref().unwrap_or("")
        )));
    }
    let launch = choose_launch(state, &cluster, &input)?;
    check_compatible(&td, &launch, input.network_configuration.as_ref())?;
    let overrides = input.overrides.clone().unwrap_or_default();
    let definition = apply_overrides(td.clone(), &overrides)?;
    let td_arn = td.task_definition_arn.clone().unwrap_or_default();
    let tags = task_tags(state, &cluster, &td_arn, &input)?;
    let group = input.group.clone().unwrap_or_else(|| format!("family:{}", td.family.as_deref().unwrap_or("")));
    let ask = PlacementAsk {
        definition: &definition,
        group: &group,
        count: count as usize,
        constraints: input.placement_constraints.as_deref().unwrap_or_default(),
        strategies: input.placement_strategy.as_deref().unwrap_or_default(),
    };
    let (slots, failures) = task_slots(state, &cluster, &target, &launch, &ask)?;

    let mut tasks = Vec::new();
    for slot in slots {
        let id = new_id();
        let arn = task_arn(state, &cluster, &id);
        let task = Task {
            task_arn: Some(arn.clone()),
            cluster_arn: Some(arn::cluster(&state.region, &state.account, &cluster)),
            task_definition_arn: Some(td_arn.clone()),
            containers: Some(container_views(state, &cluster, &id, &arn, &definition)),
            last_status: Some(TaskStatus::Provisioning.as_str().into()),
            desired_status: Some("RUNNING".into()),
            created_at: Some(epoch_now()),
            launch_type: Some(launch.launch_type.into()),
            capacity_provider_name: launch.capacity_provider.clone(),
            cpu: definition.cpu.clone(),
            memory: definition.memory.clone(),
            overrides: Some(TaskOverride {
                container_overrides: Some(overrides.container_overrides.clone().unwrap_or_default()),
                inference_accelerator_overrides: Some(vec![]),
                ..overrides.clone()
            }),
            group: Some(group.clone()),
            started_by: input.started_by.clone(),
            attachments: Some(input.network_configuration.as_ref().map(eni_attachment).into_iter().collect()),
            availability_zone: Some(slot.as_ref().map(|s| s.availability_zone.clone()).unwrap_or_else(|| format!("{}a", state.region))),
            container_instance_arn: slot.as_ref().map(|s| s.instance_arn.clone()),
            attributes: slot.as_ref().map(|_| vec![Attribute { name: Some("ecs.cpu-architecture".into()), value: Some("x86_64".into()), ..Default::default() }]),
            version: Some(1),
            enable_execute_command: Some(input.enable_execute_command.unwrap_or(false)),
            platform_version: (launch.launch_type == "FARGATE").then(|| "1.4.0".into()),
            platform_family: (launch.launch_type == "FARGATE").then(|| "Linux".into()),
            ephemeral_storage: (launch.launch_type == "FARGATE").then(|| EphemeralStorage { size_in_gi_b: Some(20) }),
            health_status: Some("UNKNOWN".into()),
            connectivity: None,
            ..Default::default()
        };
        if !tags.is_empty() {
            state.tags.insert(arn.clone(), tags.clone());
        }
        let record = TaskRecord {
            task,
            id,
            cluster: cluster.clone(),
            status: TaskStatus::Provisioning,
            desired: TaskStatus::Running,
            definition: definition.clone(),
            runtime: TaskRuntime::default(),
            stopped_at: None,
        };
        tasks.push(with_tags(state, record.task.clone()));
        state.tasks.insert(arn.clone(), record);
        state.effects.push(Effect::Launch { task_arn: arn });
    }
    Ok(RunTaskResponse { tasks: Some(tasks), failures: Some(failures) })
}

fn with_tags(state: &RegionState, mut task: Task) -> Task {
    let tags = state.tags_of(task.task_arn.as_deref().unwrap_or(""));
    task.tags = Some(tags);
    task
}

/// The ARN of the task a reference (ARN, or ID within `cluster`) names.
fn task_key(state: &RegionState, cluster: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else {
        task_arn(state, cluster, reference)
    }
}

pub fn stop(state: &mut RegionState, input: StopTaskRequest) -> Result<StopTaskResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let key = task_key(state, &cluster, input.task.as_deref().unwrap_or(""));
    let reason = input.reason.unwrap_or_else(|| "Task stopped by user".into());
    if reason.len() > 255 {
        return Err(ApiError::invalid_parameter("reason must be at most 255 characters."));
    }
    let Some(record) = state.tasks.get_mut(&key).filter(|r| r.cluster == cluster) else {
        return Err(ApiError::invalid_parameter("The referenced task was not found."));
    };
    if record.want_stopped(StopCode::UserInitiated, reason) {
        state.effects.push(Effect::Stop { task_arn: key.clone() });
    }
    let task = state.tasks[&key].task.clone();
    Ok(StopTaskResponse { task: Some(with_tags(state, task)) })
}

pub fn describe(state: &mut RegionState, input: DescribeTasksRequest) -> Result<DescribeTasksResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let references = input.tasks.unwrap_or_default();
    if references.is_empty() || references.len() > 100 {
        return Err(ApiError::invalid_parameter("Tasks cannot be empty, and at most 100 tasks can be described at once."));
    }
    let include_tags = input.include.unwrap_or_default().iter().any(|i| i == "TAGS");
    let (mut tasks, mut failures) = (vec![], vec![]);
    for reference in references {
        let key = task_key(state, &cluster, &reference);
        match state.tasks.get(&key).filter(|r| r.cluster == cluster) {
            Some(record) if include_tags => tasks.push(with_tags(state, record.task.clone())),
            Some(record) => tasks.push(record.task.clone()),
            None => failures.push(Failure { arn: Some(key), reason: Some("MISSING".into()), detail: None }),
        }
    }
    Ok(DescribeTasksResponse { tasks: Some(tasks), failures: Some(failures) })
}

pub fn list(state: &mut RegionState, input: ListTasksRequest) -> Result<ListTasksResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    if input.family.is_some() && input.service_name.is_some() {
        return Err(ApiError::invalid_parameter("family and serviceName cannot be specified together."));
    }
    let size = page_size(input.max_results, 100, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let desired = input.desired_status.as_deref().unwrap_or("RUNNING");
    let service_group = input.service_name.as_ref().map(|s| format!("service:{s}"));
    // An instance by ID or ARN, as tasks record it: by ARN.
    let instance = input.container_instance.as_deref().map(|i| container_instances::instance_arn(state, &cluster, i));
    let prefix = task_arn(state, &cluster, "");
    let matching = state
        .tasks
        .range(prefix.clone()..)
        .take_while(|(arn, _)| arn.starts_with(&prefix))
        .filter(|(arn, _)| after.as_ref().is_none_or(|a| *arn > a))
        .map(|(_, r)| r)
        .filter(|r| match desired {
            "STOPPED" => r.desired == TaskStatus::Stopped,
            "PENDING" => r.desired == TaskStatus::Running && r.status < TaskStatus::Running,
            _ => r.desired == TaskStatus::Running,
        })
        .filter(|r| input.family.as_deref().is_none_or(|f| r.family() == f))
        .filter(|r| input.started_by.is_none() || r.task.started_by == input.started_by)
        .filter(|r| service_group.is_none() || r.task.group == service_group)
        .filter(|r| input.launch_type.as_deref().is_none_or(|lt| r.launch_type() == lt))
        .filter(|r| instance.is_none() || r.task.container_instance_arn == instance);
    let (page, next_token) = take_page(matching, size, |r| r.task.task_arn.clone().unwrap_or_default());
    Ok(ListTasksResponse {
        task_arns: Some(page.into_iter().filter_map(|r| r.task.task_arn.clone()).collect()),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::operations::ErrorCode;

    fn td(network_mode: &str, compat: &[&str]) -> TaskDefinition {
        TaskDefinition {
            network_mode: Some(network_mode.into()),
            compatibilities: Some(compat.iter().map(|s| s.to_string()).collect()),
            container_definitions: Some(vec![ContainerDefinition { name: Some("app".into()), ..Default::default() }]),
            ..Default::default()
        }
    }

    fn fargate() -> Launch {
        Launch { launch_type: "FARGATE", capacity_provider: None }
    }

    #[test]
    fn awsvpc_needs_a_network_configuration() {
        let e = check_compatible(&td("awsvpc", &["EC2", "FARGATE"]), &fargate(), None).unwrap_err();
        assert!(e.message.contains("Network Configuration must be provided"), "{}", e.message);
        let net = NetworkConfiguration {
            awsvpc_configuration: Some(AwsVpcConfiguration { subnets: Some(vec!["subnet-1".into()]), ..Default::default() }),
        };
        assert!(check_compatible(&td("awsvpc", &["EC2", "FARGATE"]), &fargate(), Some(&net)).is_ok());
        let e = check_compatible(&td("bridge", &["EC2", "FARGATE"]), &fargate(), Some(&net)).unwrap_err();
        assert!(e.message.contains("not valid for the given networkMode"), "{}", e.message);
    }

    #[test]
    fn launch_type_must_be_compatible() {
        let e = check_compatible(&td("bridge", &["EC2"]), &fargate(), None).unwrap_err();
        assert!(e.message.contains("does not support launch_type FARGATE"), "{}", e.message);
    }

    #[test]
    fn overrides_replace_and_merge() {
        let mut def = td("awsvpc", &["EC2"]);
        def.container_definitions.as_mut().unwrap()[0].environment =
            Some(vec![KeyValuePair { name: Some("A".into()), value: Some("1".into()) }]);
        let o = TaskOverride {
            container_overrides: Some(vec![ContainerOverride {
                name: Some("app".into()),
                command: Some(vec!["echo".into(), "hi".into()]),
                environment: Some(vec![
                    KeyValuePair { name: Some("A".into()), value: Some("2".into()) },
                    KeyValuePair { name: Some("B".into()), value: Some("3".into()) },
                ]),
                memory: Some(64),
                ..Default::default()
            }]),
            cpu: Some("512".into()),
            ..Default::default()
        };
        let out = apply_overrides(def.clone(), &o).unwrap();
        let c = &out.container_definitions.as_ref().unwrap()[0];
        assert_eq!(c.command.as_ref().unwrap(), &vec!["echo".to_string(), "hi".to_string()]);
        let env: Vec<_> = c.environment.as_ref().unwrap().iter().map(|kv| (kv.name.clone().unwrap(), kv.value.clone().unwrap())).collect();
        assert_eq!(env, vec![("A".to_string(), "2".to_string()), ("B".to_string(), "3".to_string())]);
        assert_eq!(c.memory, Some(64));
        assert_eq!(out.cpu.as_deref(), Some("512"));

        let bad = TaskOverride {
            container_overrides: Some(vec![ContainerOverride { name: Some("ghost".into()), ..Default::default() }]),
            ..Default::default()
        };
        assert_eq!(apply_overrides(def, &bad).unwrap_err().code, ErrorCode::InvalidParameterException.as_str());
    }
}
