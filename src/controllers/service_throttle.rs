//! ECS's service throttle logic: a service whose tasks keep failing to
//! start is relaunched ever more slowly, and says so in its events.
//!
//! The developer guide ("Amazon ECS service throttle logic",
//! docs.aws.amazon.com/AmazonECS/latest/developerguide/service-throttle-logic.html):
//! - it applies when a service's tasks "repeatedly fail to enter the
//!   RUNNING state (progressing directly from a PENDING to a STOPPED
//!   status)"; tasks that stop after they reached RUNNING (a command that
//!   exits at once, failed health checks) never trigger it;
//! - "the time between subsequent restart attempts is incrementally
//!   increased up to a maximum of 27 minutes" (earlier editions: 15);
//! - ECS never stops retrying, and has no user-tunable parameter;
//! - updating the service to a new task definition returns it "to a
//!   normal, non-throttled state immediately";
//! - the service event is "(service service-name) is unable to
//!   consistently start tasks successfully." — as services show it, with
//!   "For more information, see the Troubleshooting section of the Amazon
//!   ECS Developer Guide." after it (quoted from DescribeServices output in
//!   New Relic's ECS troubleshooting docs, 2020, and in a 2023 console
//!   screenshot on alexwlchan.net, "Getting alerts about flaky ECS tasks in
//!   Slack"); EventBridge gets `SERVICE_TASK_START_IMPAIRED` (WARN).
//!
//! AWS does not document how many failures start the throttle nor the
//! steps of its increase; ecsbox's own numbers, below, double from 10 s
//! after the third consecutive failure up to the 27 minute cap. Three is
//! also the circuit breaker's lowest threshold, so a breaker on a one-task
//! service trips exactly when it always did, before any delay.
//!
//! Everything here is derived from the service's task records, so nothing
//! has to be kept in step: the failures that count are the primary task
//! definition's tasks that stopped without ever starting, after the last
//! time any task of the service reached RUNNING.

use crate::state::lifecycle::TaskStatus;
use crate::state::tasks::TaskRecord;
use std::time::Duration;

/// Consecutive failures to start before the scheduler holds back.
pub const THROTTLE_AFTER: u32 = 3;
/// The first delay; each further failure doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(10);
/// The longest delay between launch attempts (the developer guide's).
pub const MAX_DELAY: Duration = Duration::from_secs(27 * 60);

/// The service event of a throttled service.
pub fn unable_event(service: &str) -> String {
    format!(
        "(service {service}) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )
}

/// How long the scheduler waits after the `failures`-th consecutive
/// failure to start before it launches again.
pub fn delay_after(failures: u32) -> Duration {
    if failures < THROTTLE_AFTER {
        return Duration::ZERO;
    }
    let doublings = (failures - THROTTLE_AFTER).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// Where a service stands with the throttle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// Consecutive failures to start (of the primary task definition).
    pub failures: u32,
    /// When the scheduler may launch again, epoch seconds on ecsbox's
    /// clock; None when it may launch at once.
    pub hold_until: Option<f64>,
}

/// Whether `t` went from PENDING to STOPPED without ever running, on its
/// own: a task stopped by a user or by the scheduler (scale-in, a
/// deployment) did not fail.
pub fn failed_to_start(t: &TaskRecord) -> bool {
    t.status == TaskStatus::Stopped
        && t.task.started_at.is_none()
        && !matches!(
            t.task.stop_code.as_deref(),
            Some("UserInitiated") | Some("ServiceSchedulerInitiated")
        )
}

/// The throttle's standing for a service's `tasks`, whose primary
/// deployment runs `task_definition`, at `now` (epoch seconds).
pub fn standing(tasks: &[&TaskRecord], task_definition: &str, now: f64) -> Standing {
    // Any task of the service that started, whatever its revision, shows
    // the service can start tasks: failures before it do not count.
    let last_start = tasks
        .iter()
        .filter_map(|t| t.task.started_at)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut failures = 0u32;
    let mut last_failure = f64::NEG_INFINITY;
    for t in tasks {
        if t.task.task_definition_arn.as_deref() != Some(task_definition) || !failed_to_start(t) {
            continue;
        }
        let at = t.task.stopped_at.or(t.task.created_at).unwrap_or(now);
        if at > last_start {
            failures += 1;
            last_failure = last_failure.max(at);
        }
    }
    let delay = delay_after(failures);
    let hold_until = (!delay.is_zero())
        .then_some(last_failure + delay.as_secs_f64())
        .filter(|until| *until > now);
    Standing {
        failures,
        hold_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::{Task, TaskDefinition};
    use crate::state::tasks::TaskRuntime;

    fn task(td: &str, started: Option<f64>, stopped: Option<f64>, code: &str) -> TaskRecord {
        TaskRecord {
            task: Task {
                task_definition_arn: Some(td.into()),
                started_at: started,
                stopped_at: stopped,
                created_at: Some(0.0),
                stop_code: Some(code.into()),
                ..Default::default()
            },
            id: "t".into(),
            cluster: "c".into(),
            status: if stopped.is_some() {
                TaskStatus::Stopped
            } else {
                TaskStatus::Running
            },
            desired: TaskStatus::Stopped,
            definition: TaskDefinition::default(),
            runtime: TaskRuntime::default(),
            stopped_at: None,
            security_groups: vec![],
            protected_until: None,
            lb_targets: vec![],
        }
    }

    #[test]
    fn the_delay_doubles_from_the_third_failure_up_to_27_minutes() {
        assert_eq!(delay_after(0), Duration::ZERO);
        assert_eq!(delay_after(2), Duration::ZERO);
        assert_eq!(delay_after(3), Duration::from_secs(10));
        assert_eq!(delay_after(4), Duration::from_secs(20));
        assert_eq!(delay_after(5), Duration::from_secs(40));
        assert_eq!(delay_after(10), Duration::from_secs(1280));
        assert_eq!(delay_after(11), MAX_DELAY);
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn failures_after_the_last_start_count_and_hold_the_next_launch() {
        let f = |at| task("td:1", None, Some(at), "TaskFailedToStart");
        let (a, b, c) = (f(100.0), f(101.0), f(102.0));
        let s = standing(&[&a, &b, &c], "td:1", 103.0);
        assert_eq!(s.failures, 3);
        assert_eq!(s.hold_until, Some(112.0));
        // Past the delay the scheduler may launch.
        assert_eq!(standing(&[&a, &b, &c], "td:1", 112.5).hold_until, None);
        // A task that started since resets the count.
        let ran = task("td:1", Some(101.5), None, "");
        assert_eq!(standing(&[&a, &b, &c, &ran], "td:1", 103.0).failures, 1);
    }

    #[test]
    fn a_new_task_definition_and_stops_by_others_are_not_failures() {
        let old = task("td:1", None, Some(100.0), "TaskFailedToStart");
        let scaled_in = task("td:2", None, Some(100.0), "ServiceSchedulerInitiated");
        let by_user = task("td:2", None, Some(100.0), "UserInitiated");
        let exited_after_running =
            task("td:2", Some(99.0), Some(100.0), "EssentialContainerExited");
        let s = standing(
            &[
                &old,
                &old,
                &old,
                &scaled_in,
                &by_user,
                &exited_after_running,
            ],
            "td:2",
            100.0,
        );
        assert_eq!(s.failures, 0);
        assert_eq!(s.hold_until, None);
    }
}
