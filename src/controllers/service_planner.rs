//! What a service's scheduler should do next, as a pure function of the
//! service's deployments and its tasks. ECS's rules, in one place:
//!
//! - The PRIMARY deployment is brought to the desired count; tasks of older
//!   deployments are stopped as the new ones become healthy.
//! - `maximumPercent` caps the tasks alive at once (rounded down), and
//!   `minimumHealthyPercent` keeps a floor of healthy tasks (rounded up)
//!   while old tasks are stopped.
//! - A task that stopped is simply no longer alive: the next plan starts a
//!   replacement.
//! - Protected tasks (UpdateTaskProtection, not expired) are never stopped
//!   by scale-in or by a deployment: ECS waits until their protection
//!   expires or is removed ("Task scale-in protection" in the developer
//!   guide). Failing health checks still replace them, as ECS's protection
//!   covers scale-in and deployments only.
//! - The circuit breaker counts a deployment's failed tasks; at the
//!   threshold (half the desired count, at least 3 and at most 200) the
//!   deployment fails.

/// A task of the service, as the planner needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub arn: String,
    pub deployment: String,
    /// Desired RUNNING and not STOPPED yet.
    pub alive: bool,
    /// RUNNING (and, where the task has health checks, HEALTHY).
    pub healthy: bool,
    /// RUNNING but failing its health checks (past the grace period).
    pub unhealthy: bool,
    /// Under task scale-in protection now.
    pub protected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    pub desired: u32,
    pub minimum_healthy_percent: u32,
    pub maximum_percent: u32,
}

impl Bounds {
    /// Most tasks alive at once: maximumPercent of desired, rounded down,
    /// and never below desired (else a rollout could never start).
    pub fn max_alive(&self) -> u32 {
        (self.desired * self.maximum_percent / 100).max(self.desired.min(1))
    }

    /// Fewest healthy tasks to keep while stopping old ones: rounded up.
    pub fn min_healthy(&self) -> u32 {
        (self.desired * self.minimum_healthy_percent).div_ceil(100)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// How many tasks to start for the primary deployment.
    pub start: u32,
    /// Tasks to stop, and why.
    pub stop: Vec<(String, StopReason)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// More tasks than desired.
    ScaleIn,
    /// An older deployment's task, replaced by the primary's.
    Replaced,
    /// Failing its container health checks.
    Unhealthy,
}

/// The next step for one service. `primary` is the id of its PRIMARY
/// deployment; every other deployment is draining.
pub fn plan(primary: &str, bounds: &Bounds, tasks: &[TaskView]) -> Plan {
    let mut plan = Plan::default();
    let alive: Vec<&TaskView> = tasks.iter().filter(|t| t.alive).collect();

    // Unhealthy tasks go first: they will be replaced like any stopped task.
    for t in alive.iter().filter(|t| t.unhealthy) {
        plan.stop.push((t.arn.clone(), StopReason::Unhealthy));
    }
    let alive: Vec<&TaskView> = alive.into_iter().filter(|t| !t.unhealthy).collect();
    let (new, old): (Vec<&TaskView>, Vec<&TaskView>) =
        alive.iter().partition(|t| t.deployment == primary);

    // Scale the primary deployment in: pending tasks before running ones,
    // never a protected one (the service stays above its desired count
    // until their protection ends).
    let mut new_alive = new.len() as u32;
    if new_alive > bounds.desired {
        let mut extra: Vec<&&TaskView> = new.iter().filter(|t| !t.protected).collect();
        extra.sort_by_key(|t| t.healthy);
        for t in extra
            .into_iter()
            .take((new_alive - bounds.desired) as usize)
        {
            plan.stop.push((t.arn.clone(), StopReason::ScaleIn));
            new_alive -= 1;
        }
    }

    // Start new tasks as far as maximumPercent allows.
    let alive_total = new_alive + old.len() as u32;
    let wanted = bounds.desired.saturating_sub(new_alive);
    let room = bounds.max_alive().saturating_sub(alive_total);
    plan.start = wanted.min(room);
    // With no room at all and old tasks in the way, ECS still makes progress
    // by stopping old tasks first (minimumHealthyPercent permitting), below.

    // Stop old tasks: pending ones freely (they are not healthy), running
    // ones while the healthy count stays at or above the floor.
    let healthy_total = alive.iter().filter(|t| t.healthy).count() as u32;
    let mut can_stop_healthy = healthy_total.saturating_sub(bounds.min_healthy());
    let mut old_sorted = old.clone();
    old_sorted.sort_by_key(|t| t.healthy);
    for t in old_sorted.into_iter().filter(|t| !t.protected) {
        if !t.healthy {
            plan.stop.push((t.arn.clone(), StopReason::Replaced));
        } else if can_stop_healthy > 0 {
            can_stop_healthy -= 1;
            plan.stop.push((t.arn.clone(), StopReason::Replaced));
        }
    }
    plan
}

/// How the circuit breaker's threshold is set (`thresholdConfiguration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// `value` percent of the desired count, kept within 3..=200 (the default, 50).
    BoundedPercent(u32),
    UnboundedPercent(u32),
    Count(u32),
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold::BoundedPercent(50)
    }
}

/// The number of failed tasks at which the circuit breaker trips a
/// deployment. By default half the desired count, at least 3 and at most
/// 200 (ECS's ServiceDeploymentCircuitBreaker documentation).
pub fn circuit_breaker_threshold(desired: u32, threshold: Threshold) -> u32 {
    match threshold {
        Threshold::BoundedPercent(p) => (desired * p).div_ceil(100).clamp(3, 200),
        Threshold::UnboundedPercent(p) => (desired * p).div_ceil(100).max(1),
        Threshold::Count(n) => n.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(n: usize, deployment: &str, healthy: bool) -> TaskView {
        TaskView {
            arn: format!("t{n}-{deployment}"),
            deployment: deployment.into(),
            alive: true,
            healthy,
            unhealthy: false,
            protected: false,
        }
    }

    fn bounds(desired: u32, min: u32, max: u32) -> Bounds {
        Bounds {
            desired,
            minimum_healthy_percent: min,
            maximum_percent: max,
        }
    }

    #[test]
    fn a_new_service_starts_its_desired_count() {
        assert_eq!(plan("d1", &bounds(3, 100, 200), &[]).start, 3);
    }

    #[test]
    fn stopped_tasks_are_replaced() {
        let mut tasks: Vec<_> = (0..3).map(|i| task(i, "d1", true)).collect();
        tasks[1].alive = false;
        let p = plan("d1", &bounds(3, 100, 200), &tasks);
        assert_eq!(p.start, 1);
        assert!(p.stop.is_empty());
    }

    /// The example: desired 4, min 50, max 200 starts 4 new tasks
    /// at once and may stop 2 old ones right away (4 healthy, floor 2).
    #[test]
    fn rolling_update_within_min_50_max_200() {
        let tasks: Vec<_> = (0..4).map(|i| task(i, "old", true)).collect();
        let p = plan("new", &bounds(4, 50, 200), &tasks);
        assert_eq!(p.start, 4);
        assert_eq!(p.stop.len(), 2);
    }

    /// min 100 / max 200 (the ECS default): old tasks stop only as new ones
    /// become healthy, so the healthy count never drops below desired.
    #[test]
    fn rolling_update_min_100_never_drops_below_desired() {
        let mut tasks: Vec<_> = (0..3).map(|i| task(i, "old", true)).collect();
        let p = plan("new", &bounds(3, 100, 200), &tasks);
        assert_eq!((p.start, p.stop.len()), (3, 0));
        // Two new tasks healthy, one still pending: two old may stop.
        tasks.push(task(10, "new", true));
        tasks.push(task(11, "new", true));
        tasks.push(task(12, "new", false));
        let p = plan("new", &bounds(3, 100, 200), &tasks);
        assert_eq!(p.start, 0);
        assert_eq!(p.stop.len(), 2);
        assert!(p.stop.iter().all(|(arn, _)| arn.ends_with("-old")));
    }

    /// max 100: no room for extra tasks, so old ones must go first, as far
    /// as min 50 allows.
    #[test]
    fn rolling_update_with_max_100_stops_before_starting() {
        let tasks: Vec<_> = (0..4).map(|i| task(i, "old", true)).collect();
        let p = plan("new", &bounds(4, 50, 100), &tasks);
        assert_eq!(p.start, 0);
        assert_eq!(p.stop.len(), 2);
        let mut after: Vec<_> = tasks.clone();
        for t in after.iter_mut().take(2) {
            t.alive = false;
        }
        assert_eq!(plan("new", &bounds(4, 50, 100), &after).start, 2);
    }

    #[test]
    fn scale_in_stops_pending_before_running() {
        let tasks = vec![task(0, "d", true), task(1, "d", false), task(2, "d", true)];
        let p = plan("d", &bounds(1, 100, 200), &tasks);
        assert_eq!(p.stop.len(), 2);
        assert_eq!(p.stop[0].0, "t1-d");
    }

    #[test]
    fn scale_in_passes_over_protected_tasks() {
        let mut tasks: Vec<_> = (0..3).map(|i| task(i, "d", true)).collect();
        tasks[0].protected = true;
        tasks[1].protected = true;
        // Desired 1: only the unprotected task may go; two stay above desired.
        let p = plan("d", &bounds(1, 100, 200), &tasks);
        assert_eq!(p.stop, vec![("t2-d".to_string(), StopReason::ScaleIn)]);
        assert_eq!(p.start, 0);
        // All protected: nothing stops, nothing starts.
        tasks[2].protected = true;
        assert_eq!(plan("d", &bounds(1, 100, 200), &tasks), Plan::default());
    }

    #[test]
    fn a_deployment_leaves_protected_old_tasks_running() {
        let mut tasks: Vec<_> = (0..2).map(|i| task(i, "old", true)).collect();
        tasks[0].protected = true;
        tasks.push(task(10, "new", true));
        tasks.push(task(11, "new", true));
        let p = plan("new", &bounds(2, 100, 200), &tasks);
        assert_eq!(p.stop, vec![("t1-old".to_string(), StopReason::Replaced)]);
    }

    #[test]
    fn unhealthy_tasks_are_stopped_and_replaced() {
        let mut tasks: Vec<_> = (0..2).map(|i| task(i, "d", true)).collect();
        tasks[0].unhealthy = true;
        tasks[0].healthy = false;
        let p = plan("d", &bounds(2, 100, 200), &tasks);
        assert_eq!(p.stop, vec![("t0-d".to_string(), StopReason::Unhealthy)]);
        assert_eq!(p.start, 1);
    }

    #[test]
    fn percent_rounding_as_ecs() {
        assert_eq!(bounds(3, 50, 150).min_healthy(), 2); // 1.5 up
        assert_eq!(bounds(3, 50, 150).max_alive(), 4); // 4.5 down
        assert_eq!(bounds(0, 100, 200).max_alive(), 0);
    }

    #[test]
    fn circuit_breaker_threshold_is_half_between_3_and_200() {
        let default = Threshold::default();
        assert_eq!(circuit_breaker_threshold(1, default), 3);
        assert_eq!(circuit_breaker_threshold(10, default), 5);
        assert_eq!(circuit_breaker_threshold(11, default), 6);
        assert_eq!(circuit_breaker_threshold(1000, default), 200);
        assert_eq!(
            circuit_breaker_threshold(1000, Threshold::UnboundedPercent(50)),
            500
        );
        assert_eq!(circuit_breaker_threshold(10, Threshold::Count(2)), 2);
    }
}
