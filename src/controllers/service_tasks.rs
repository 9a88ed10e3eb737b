//! What the two service schedulers share (the deployment one in
//! `services`, the task set one in `task_set_scheduler`): how a service's
//! task looks to the planner, how a launch's outcome is tallied, and the
//! scheduler's shared timings and wordings.

use super::service_load_balancers::LbHealth;
use super::service_planner::TaskView;
use crate::domain::launch::Launched;
use crate::domain::DomainError;
use crate::state::lifecycle::TaskStatus;
use crate::state::tasks::TaskRecord;
use std::time::Duration;

/// How long the scheduler waits before trying again to place tasks that
/// found no room (ECS retries on its own too).
pub const PLACEMENT_RETRY: Duration = Duration::from_secs(10);

/// The stoppedReason of a task stopped for failing its health checks.
pub const UNHEALTHY_REASON: &str = "Task failed container health checks";

/// What the scheduler sees of one task of the service: its containers'
/// health checks and, for a service behind load balancers, its targets'
/// health (`lb`). The grace period covers both, as ECS's
/// healthCheckGracePeriodSeconds does.
pub fn task_view(
    t: &TaskRecord,
    grace: Duration,
    now: f64,
    lb: &LbHealth,
) -> (TaskView, Option<f64>) {
    let alive = t.desired == TaskStatus::Running && t.status != TaskStatus::Stopped;
    let running = t.status == TaskStatus::Running;
    let has_checks = t
        .definition
        .container_definitions
        .iter()
        .flatten()
        .any(|c| c.essential.unwrap_or(true) && c.health_check.is_some());
    let health = t.task.health_status.as_deref().unwrap_or("UNKNOWN");
    let started = t.task.started_at.unwrap_or(now);
    let grace_ends = started + grace.as_secs_f64();
    let in_grace = now < grace_ends;
    let lb_ok = matches!(lb, LbHealth::NotBalanced | LbHealth::Healthy);
    let failing = health == "UNHEALTHY" || matches!(lb, LbHealth::Unhealthy { .. });
    let view = TaskView {
        arn: t.task.task_arn.clone().unwrap_or_default(),
        deployment: t.task.started_by.clone().unwrap_or_default(),
        alive,
        healthy: running && (!has_checks || health == "HEALTHY") && lb_ok,
        unhealthy: alive && running && failing && !in_grace,
        protected: alive && t.protected_at(now),
    };
    let wake = (alive && running && failing && in_grace).then_some(grace_ends);
    (view, wake)
}

/// A task ARN's last part, as the service events name tasks.
pub fn short_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

/// Records what one launch did: the tasks it started, and why any could not
/// be placed. False when the launch failed outright.
pub fn tally(
    result: Result<Launched, DomainError>,
    started: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> bool {
    match result {
        Ok(Launched { tasks, failures }) => {
            started.extend(tasks.into_iter().filter_map(|t| t.task_arn));
            problems.extend(
                failures
                    .into_iter()
                    .map(|f| f.reason.unwrap_or_else(|| "placement failed".into())),
            );
            true
        }
        Err(e) => {
            problems.push(e.message);
            false
        }
    }
}
