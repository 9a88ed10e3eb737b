//! Task scale-in protection: UpdateTaskProtection and GetTaskProtection.
//! A protected task of a service is passed over by the service scheduler's
//! scale-in and deployments until its protection expires or is removed
//! (`controllers::service_planner`); expiry is read against ecsbox's clock
//! (`crate::clock`), so tests move time instead of waiting.

use crate::domain::launch::task_arn;
use crate::domain::messages::ecsbox;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::tasks::{epoch_now, Effect, TaskRecord};
use crate::state::RegionState;

/// "If you don't specify the time, then the task is automatically protected
/// for 120 minutes", and at most 2,880 minutes (48 hours): the
/// UpdateTaskProtection API reference.
const DEFAULT_MINUTES: i32 = 120;
const MAX_MINUTES: i32 = 2880;

/// The tasks one call may name: "up to 10" for UpdateTaskProtection, "up to
/// 100" for GetTaskProtection (the API reference of each).
const MAX_UPDATE: usize = 10;
const MAX_GET: usize = 100;

fn active_cluster(state: &RegionState, reference: Option<&str>) -> Result<String, ApiError> {
    state
        .active_cluster_name(reference)
        .ok_or_else(ApiError::cluster_not_found)
}

/// The task ARN a reference (ID or ARN) names in `cluster`.
fn task_key(state: &RegionState, cluster: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else {
        task_arn(state, cluster, reference)
    }
}

/// A task of a service: the scheduler starts them in the group
/// `service:NAME` under a deployment id (`ecs-svc/...`).
fn of_a_service(t: &TaskRecord) -> bool {
    t.task
        .group
        .as_deref()
        .is_some_and(|g| g.starts_with("service:"))
        && t.task
            .started_by
            .as_deref()
            .is_some_and(|s| s.starts_with("ecs-svc/"))
}

fn failure(arn: String, reason: &str) -> Failure {
    Failure {
        arn: Some(arn),
        reason: Some(reason.into()),
        detail: None,
    }
}

/// A task's protection as both operations answer it: `expirationDate` only
/// while protected (the AWS CLI's get-task-protection example shows a task
/// without protection as `taskArn` and `protectionEnabled: false` alone).
fn protected_task(arn: &str, t: &TaskRecord, now: f64) -> ProtectedTask {
    let on = t.protected_at(now);
    ProtectedTask {
        task_arn: Some(arn.to_string()),
        protection_enabled: Some(on),
        expiration_date: t.protected_until.filter(|_| on),
    }
}

/// Resolves each reference to a task of a service in `cluster`: the ARNs
/// found, and a failure for each that is not. Failure reasons are ECS's
/// (the "API failure reasons" of the developer guide): MISSING for a task
/// ECS does not know, TASK_NOT_VALID for a standalone task ("Invoking this
/// operation for a standalone task will result in an TASK_NOT_VALID
/// failure", the UpdateTaskProtection API reference).
fn resolve(
    state: &RegionState,
    cluster: &str,
    references: &[String],
) -> (Vec<String>, Vec<Failure>) {
    let (mut found, mut failures) = (vec![], vec![]);
    for reference in references {
        let key = task_key(state, cluster, reference);
        match state.tasks.get(&key).filter(|t| t.cluster == cluster) {
            None => failures.push(failure(key, "MISSING")),
            Some(t) if !of_a_service(t) => failures.push(failure(key, "TASK_NOT_VALID")),
            Some(_) => found.push(key),
        }
    }
    (found, failures)
}

pub fn update(
    state: &mut RegionState,
    input: UpdateTaskProtectionRequest,
) -> Result<UpdateTaskProtectionResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let references = input.tasks.unwrap_or_default();
    // ecsbox's wording: AWS's message for these limits is not known.
    if references.is_empty() || references.len() > MAX_UPDATE {
        return Err(ApiError::invalid_parameter(
            ecsbox::update_protection_count(MAX_UPDATE, references.len()),
        ));
    }
    let enable = input.protection_enabled.unwrap_or(false);
    // `expiresInMinutes` only means something when protecting; with
    // `protectionEnabled: false` protection ends now whatever it says, as in
    // AWS. Its range is checked either way.
    let minutes = input.expires_in_minutes.unwrap_or(DEFAULT_MINUTES);
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(ApiError::invalid_parameter(
            ecsbox::protection_expiry_range(MAX_MINUTES, minutes),
        ));
    }
    let (found, failures) = resolve(state, &cluster, &references);
    let now = epoch_now();
    let mut protected_tasks = vec![];
    for key in found {
        let Some(t) = state.tasks.get_mut(&key) else {
            continue;
        };
        // Each call sets the expiry anew ("The expiresInMinutes property is
        // always reset when you invoke this operation for a task that
        // already has protectionEnabled set to true").
        t.protected_until = enable.then_some(now + f64::from(minutes) * 60.0);
        protected_tasks.push(protected_task(&key, t, now));
    }
    // Removing protection may let the scheduler stop tasks it passed over.
    if !enable && !protected_tasks.is_empty() {
        state.effects.push(Effect::Reconcile);
    }
    Ok(UpdateTaskProtectionResponse {
        protected_tasks: Some(protected_tasks),
        failures: Some(failures),
    })
}

pub fn get(
    state: &mut RegionState,
    input: GetTaskProtectionRequest,
) -> Result<GetTaskProtectionResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let references = match input.tasks {
        // ecsbox's wording: AWS's message for this limit is not known.
        Some(r) if r.len() > MAX_GET => {
            return Err(ApiError::invalid_parameter(ecsbox::get_protection_count(
                MAX_GET,
                r.len(),
            )))
        }
        Some(r) if !r.is_empty() => r,
        // `tasks` is optional in the model and its answer without it is not
        // documented; ecsbox answers for every service task of the cluster
        // that has not stopped.
        _ => {
            let prefix = task_arn(state, &cluster, "");
            state
                .tasks
                .range(prefix.clone()..)
                .take_while(|(arn, _)| arn.starts_with(&prefix))
                .filter(|(_, t)| {
                    of_a_service(t) && t.task.last_status.as_deref() != Some("STOPPED")
                })
                .map(|(arn, _)| arn.clone())
                .collect()
        }
    };
    let (found, failures) = resolve(state, &cluster, &references);
    let now = epoch_now();
    let protected_tasks = found
        .iter()
        .filter_map(|key| Some(protected_task(key, state.tasks.get(key)?, now)))
        .collect();
    Ok(GetTaskProtectionResponse {
        protected_tasks: Some(protected_tasks),
        failures: Some(failures),
    })
}
