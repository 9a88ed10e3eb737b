//! The scheduler of an EXTERNAL service: each task set is a group of tasks
//! held at its computedDesiredCount (the service's desiredCount times the
//! set's scale, rounded up). The deployment controller outside ecsbox
//! decides how sets replace each other (UpdateTaskSet, DeleteTaskSet); here
//! each set only starts what it lacks, stops what it has too many of and
//! replaces what stopped or failed its health checks, by the same planner
//! as a deployment's (`service_planner`), with no other deployment in view.
//!
//! Called from the service scheduler's pass, under the region's lock; the
//! starts and stops it records go to the task controller afterwards.

use super::service_load_balancers::LbHealth;
use super::service_planner::{self, Bounds, StopReason, TaskView};
use super::service_tasks::{short_id, tally, task_view, PLACEMENT_RETRY, UNHEALTHY_REASON};
use crate::domain::launch::{launch, Origin, Target};
use crate::model::shapes::RunTaskRequest;
use crate::state::lifecycle::TaskStatus;
use crate::state::services::ServiceRecord;
use crate::state::task_sets::{TaskSetRecord, TaskSetStatus};
use crate::state::tasks::{epoch_now, Effect, StopCode, TaskRecord};
use crate::state::RegionState;
use std::time::Duration;
use tokio::time::Instant;

/// One EXTERNAL service's pass: returns when it wants to be looked at again.
pub fn reconcile(state: &mut RegionState, key: &str) -> Option<Instant> {
    let mut record = state.services.get(key)?.clone();
    let now = epoch_now();
    let grace = Duration::from_secs(
        record
            .service
            .health_check_grace_period_seconds
            .unwrap_or(0)
            .max(0) as u64,
    );
    let group = record.group();
    let prefix = format!(
        "arn:aws:ecs:{}:{}:task/{}/",
        state.region, state.account, record.cluster
    );
    let tasks: Vec<&TaskRecord> = state
        .tasks
        .range(prefix.clone()..)
        .take_while(|(arn, _)| arn.starts_with(&prefix))
        .map(|(_, t)| t)
        .filter(|t| t.task.group.as_deref() == Some(group.as_str()))
        .collect();
    let all_stopped = tasks.iter().all(|t| t.status == TaskStatus::Stopped);
    let mut wake_at: Option<f64> = None;
    let views: Vec<TaskView> = tasks
        .iter()
        .map(|t| {
            let (v, wake) = task_view(t, grace, now, &LbHealth::NotBalanced);
            if let Some(w) = wake {
                wake_at = Some(wake_at.map_or(w, |x: f64| x.min(w)));
            }
            v
        })
        .collect();
    let desired = if record.status() == "ACTIVE" {
        record.service.desired_count.unwrap_or(0)
    } else {
        // A deleted (DRAINING) service stops everything.
        0
    };

    let mut retry = false;
    let mut stops: Vec<(String, String)> = vec![];
    let mut steady_sets: Vec<String> = vec![];
    for i in 0..record.task_sets.len() {
        let ts = record.task_sets[i].clone();
        let target = ts.target(desired).max(0) as u32;
        let mine: Vec<TaskView> = views
            .iter()
            .filter(|v| v.deployment == ts.id())
            .cloned()
            .collect();
        // Only this set's tasks are in view, so the planner has no older
        // deployment to replace: it scales to `target` and replaces the
        // unhealthy. maximumPercent cannot hold a set back (200 is room
        // enough for any count).
        let bounds = Bounds {
            desired: target,
            minimum_healthy_percent: 100,
            maximum_percent: 200,
        };
        let plan = service_planner::plan(ts.id(), &bounds, &mine);
        for (arn, why) in &plan.stop {
            let reason = match why {
                StopReason::Unhealthy => UNHEALTHY_REASON.to_string(),
                StopReason::ScaleIn | StopReason::Replaced => {
                    format!("Scaling activity initiated by (deployment {})", ts.id())
                }
            };
            stops.push((arn.clone(), reason));
        }
        if plan.start > 0 && !start_tasks(state, &mut record, &ts, plan.start) {
            retry = true;
        }
        let stopping: Vec<&str> = plan.stop.iter().map(|(a, _)| a.as_str()).collect();
        let kept = |v: &&TaskView| v.alive && !stopping.contains(&v.arn.as_str());
        let alive = mine.iter().filter(kept).count() as u32;
        let healthy = mine.iter().filter(kept).filter(|v| v.healthy).count() as u32;
        // STEADY_STATE: at the computed count, all healthy, nothing being
        // started or stopped; STABILIZING otherwise (AWS's TaskSet reference).
        let steady =
            plan.start == 0 && plan.stop.is_empty() && alive == target && healthy == target;
        if steady {
            steady_sets.push(ts.id().to_string());
        }
        let status = if steady {
            "STEADY_STATE"
        } else {
            "STABILIZING"
        };
        let set = &mut record.task_sets[i];
        if set.task_set.stability_status.as_deref() != Some(status) {
            set.task_set.stability_status = Some(status.into());
            set.task_set.stability_status_at = Some(now);
        }
    }

    // Tasks of no task set (it was deleted and has gone) stop too.
    for v in views.iter().filter(|v| v.alive) {
        if !record.task_sets.iter().any(|t| t.id() == v.deployment) {
            stops.push((v.arn.clone(), "Task set deleted".to_string()));
        }
    }
    apply_stops(state, &mut record, &stops);

    // A DRAINING set leaves once none of its tasks is left alive.
    let stopped_now: Vec<&str> = stops.iter().map(|(a, _)| a.as_str()).collect();
    let alive_in = |id: &str| {
        views
            .iter()
            .any(|v| v.alive && v.deployment == id && !stopped_now.contains(&v.arn.as_str()))
    };
    let (gone, kept): (Vec<TaskSetRecord>, Vec<TaskSetRecord>) =
        std::mem::take(&mut record.task_sets)
            .into_iter()
            .partition(|t| t.status == TaskSetStatus::Draining && !alive_in(t.id()));
    record.task_sets = kept;
    for t in &gone {
        state.tags.remove(t.arn());
    }

    if record.status() == "DRAINING" && all_stopped && stops.is_empty() {
        // Deleted and drained: its task sets go with it.
        record.service.status = Some("INACTIVE".into());
        for t in std::mem::take(&mut record.task_sets) {
            state.tags.remove(t.arn());
        }
    } else if record.status() == "ACTIVE"
        && !record.task_sets.is_empty()
        && record
            .task_sets
            .iter()
            .all(|t| steady_sets.iter().any(|s| s == t.id()))
        && !record.steady
    {
        record.steady = true;
        record.event(format!(
            "(service {}) has reached a steady state.",
            record.name
        ));
    }
    state.services.insert(key.to_string(), record);

    let mut deadline =
        wake_at.map(|w| Instant::now() + Duration::from_secs_f64((w - now).max(0.0)));
    if retry {
        let r = Instant::now() + PLACEMENT_RETRY;
        deadline = Some(deadline.map_or(r, |d| d.min(r)));
    }
    deadline
}

fn apply_stops(state: &mut RegionState, record: &mut ServiceRecord, stops: &[(String, String)]) {
    let mut stopped = vec![];
    for (arn, reason) in stops {
        if let Some(t) = state.tasks.get_mut(arn) {
            if t.want_stopped(StopCode::ServiceSchedulerInitiated, reason.clone()) {
                state.effects.push(Effect::Stop {
                    task_arn: arn.clone(),
                });
                stopped.push(format!("(task {})", short_id(arn)));
            }
        }
    }
    if !stopped.is_empty() {
        record.event(format!(
            "(service {}) has stopped {} running tasks: {}.",
            record.name,
            stopped.len(),
            stopped.join(" ")
        ));
        record.steady = false;
    }
}

/// Starts `count` tasks of one task set: its revision, launch and network,
/// the service's placement and tag settings, `startedBy` the set's id.
/// False when some could not be placed (the scheduler tries again later).
fn start_tasks(
    state: &mut RegionState,
    record: &mut ServiceRecord,
    ts: &TaskSetRecord,
    count: u32,
) -> bool {
    let s = &record.service;
    let tags = (s.propagate_tags.as_deref() == Some("SERVICE"))
        .then(|| state.tags_of(s.service_arn.as_deref().unwrap_or("")))
        .filter(|t| !t.is_empty());
    let set = &ts.task_set;
    let request = |n: u32| RunTaskRequest {
        cluster: Some(record.cluster.clone()),
        task_definition: ts.definition.task_definition_arn.clone(),
        count: Some(n as i32),
        launch_type: set.launch_type.clone(),
        capacity_provider_strategy: set.capacity_provider_strategy.clone(),
        network_configuration: set.network_configuration.clone(),
        group: Some(record.group()),
        started_by: set.id.clone(),
        placement_constraints: s.placement_constraints.clone().filter(|c| !c.is_empty()),
        placement_strategy: s.placement_strategy.clone().filter(|c| !c.is_empty()),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags,
        propagate_tags: s.propagate_tags.clone().filter(|p| p == "TASK_DEFINITION"),
        tags: tags.clone(),
        ..Default::default()
    };
    let (mut started, mut problems) = (vec![], vec![]);
    let mut left = count;
    while left > 0 {
        let n = left.min(10);
        left -= n;
        let result = launch(
            state,
            request(n),
            Ok(ts.network.clone()),
            Target::Placement,
            Origin::Service,
        );
        if !tally(result, &mut started, &mut problems) {
            break;
        }
    }
    if !started.is_empty() {
        let list: Vec<String> = started
            .iter()
            .map(|a| format!("(task {})", short_id(a)))
            .collect();
        record.event(format!(
            "(service {}) has started {} tasks: {}.",
            record.name,
            started.len(),
            list.join(" ")
        ));
        record.steady = false;
    }
    if let Some(problem) = problems.first() {
        record.event(format!(
            "(service {}) was unable to place a task because no container instance met all of its requirements. Reason: {problem}",
            record.name
        ));
    }
    problems.is_empty()
}
