//! Tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks. RunTask
//! and StartTask hand off to the domain's launch path (`domain::launch`),
//! which the service scheduler shares; the task controller
//! (`controllers::tasks`) does the Docker work, asked through `Effect`s.

use super::pagination::{decode_token, page_size, take_page};
use super::WithNetwork;
use crate::domain::launch::{launch, task_arn, Origin, Target};
use crate::domain::messages::{aws, ecsbox};
use crate::domain::slots::instance_arn;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::lifecycle::TaskStatus;
use crate::state::tasks::{Effect, StopCode};
use crate::state::RegionState;

fn active_cluster(state: &RegionState, reference: Option<&str>) -> Result<String, ApiError> {
    state
        .active_cluster_name(reference)
        .ok_or_else(ApiError::cluster_not_found)
}

pub fn run(
    state: &mut RegionState,
    request: WithNetwork<RunTaskRequest>,
) -> Result<RunTaskResponse, ApiError> {
    let out = launch(
        state,
        request.input,
        request.network,
        Target::Placement,
        Origin::Standalone,
    )?;
    Ok(RunTaskResponse {
        tasks: Some(out.tasks),
        failures: Some(out.failures),
    })
}

/// StartTask: RunTask's checks and records, on the named EC2 instances.
pub fn start(
    state: &mut RegionState,
    request: WithNetwork<StartTaskRequest>,
) -> Result<StartTaskResponse, ApiError> {
    let WithNetwork { input, network } = request;
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
    let target = Target::Instances(input.container_instances.unwrap_or_default());
    let out = launch(state, request, network, target, Origin::Standalone)?;
    Ok(StartTaskResponse {
        tasks: Some(out.tasks),
        failures: Some(out.failures),
    })
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
    let reason = input
        .reason
        .unwrap_or_else(|| "Task stopped by user".into());
    if reason.len() > 255 {
        return Err(ApiError::invalid_parameter(ecsbox::STOP_REASON_TOO_LONG));
    }
    let Some(record) = state.tasks.get_mut(&key).filter(|r| r.cluster == cluster) else {
        return Err(ApiError::invalid_parameter(ecsbox::TASK_NOT_FOUND));
    };
    if record.want_stopped(StopCode::UserInitiated, reason) {
        state.effects.push(Effect::Stop {
            task_arn: key.clone(),
        });
    }
    let task = state.tasks[&key].task.clone();
    Ok(StopTaskResponse {
        task: Some(with_tags(state, task)),
    })
}

pub fn describe(
    state: &mut RegionState,
    input: DescribeTasksRequest,
) -> Result<DescribeTasksResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let references = input.tasks.unwrap_or_default();
    if references.is_empty() {
        return Err(ApiError::invalid_parameter(aws::TASKS_EMPTY));
    }
    if references.len() > 100 {
        return Err(ApiError::invalid_parameter(ecsbox::DESCRIBE_TASKS_TOO_MANY));
    }
    let include_tags = input
        .include
        .unwrap_or_default()
        .iter()
        .any(|i| i == "TAGS");
    let (mut tasks, mut failures) = (vec![], vec![]);
    for reference in references {
        let key = task_key(state, &cluster, &reference);
        match state.tasks.get(&key).filter(|r| r.cluster == cluster) {
            Some(record) if include_tags => tasks.push(with_tags(state, record.task.clone())),
            Some(record) => tasks.push(record.task.clone()),
            None => failures.push(Failure {
                arn: Some(key),
                reason: Some("MISSING".into()),
                detail: None,
            }),
        }
    }
    Ok(DescribeTasksResponse {
        tasks: Some(tasks),
        failures: Some(failures),
    })
}

pub fn list(
    state: &mut RegionState,
    input: ListTasksRequest,
) -> Result<ListTasksResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    if input.family.is_some() && input.service_name.is_some() {
        return Err(ApiError::invalid_parameter(ecsbox::FAMILY_AND_SERVICE_NAME));
    }
    let size = page_size(input.max_results, 100, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let desired = input.desired_status.as_deref().unwrap_or("RUNNING");
    let service_group = input.service_name.as_ref().map(|s| format!("service:{s}"));
    // An instance by ID or ARN, as tasks record it: by ARN.
    let instance = input
        .container_instance
        .as_deref()
        .map(|i| instance_arn(state, &cluster, i));
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
        .filter(|r| {
            input
                .launch_type
                .as_deref()
                .is_none_or(|lt| r.launch_type() == lt)
        })
        .filter(|r| instance.is_none() || r.task.container_instance_arn == instance);
    let (page, next_token) = take_page(matching, size, |r| {
        r.task.task_arn.clone().unwrap_or_default()
    });
    Ok(ListTasksResponse {
        task_arns: Some(
            page.into_iter()
                .filter_map(|r| r.task.task_arn.clone())
                .collect(),
        ),
        next_token,
    })
}
