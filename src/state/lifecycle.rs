//! A task's life as ECS reports it, as one declared transition table.
//!
//! PROVISIONING -> PENDING -> ACTIVATING -> RUNNING -> DEACTIVATING ->
//! STOPPING -> DEPROVISIONING -> STOPPED. A task that fails before it runs
//! (image missing, a container that cannot be created) leaves the happy path
//! for the stopping half, as ECS's does: it still passes DEPROVISIONING on its
//! way to STOPPED, so waiters and event consumers see the same sequence shape.
//! `desiredStatus` is separate: RUNNING until someone (StopTask, an essential
//! container's exit, a failure) wants the task STOPPED.

use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

use TaskStatus::*;

/// Every transition a task may make, and nothing else.
pub const TRANSITIONS: &[(TaskStatus, TaskStatus)] = &[
    // The way up.
    (Provisioning, Pending),
    (Pending, Activating),
    (Activating, Running),
    // The way down.
    (Running, Deactivating),
    (Deactivating, Stopping),
    (Stopping, Deprovisioning),
    (Deprovisioning, Stopped),
    // Failing (or stopped) before running: straight to the way down.
    (Provisioning, Deprovisioning),
    (Pending, Stopping),
    (Activating, Deactivating),
];

impl TaskStatus {
    pub const ALL: [TaskStatus; 8] = [
        Provisioning,
        Pending,
        Activating,
        Running,
        Deactivating,
        Stopping,
        Deprovisioning,
        Stopped,
    ];

    /// The name ECS uses in `lastStatus` and `desiredStatus`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provisioning => "PROVISIONING",
            Pending => "PENDING",
            Activating => "ACTIVATING",
            Running => "RUNNING",
            Deactivating => "DEACTIVATING",
            Stopping => "STOPPING",
            Deprovisioning => "DEPROVISIONING",
            Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn can_become(self, next: TaskStatus) -> bool {
        TRANSITIONS.contains(&(self, next))
    }

    /// The next status on the way to `target` (RUNNING or STOPPED), if any.
    /// Used to walk a task through every intermediate status in order.
    pub fn next_towards(self, target: TaskStatus) -> Option<TaskStatus> {
        if self == target {
            return None;
        }
        let going_down = target == Stopped;
        TRANSITIONS
            .iter()
            .filter(|(from, _)| *from == self)
            .map(|(_, to)| *to)
            // Going up, only the way up; going down, prefer the shortest way.
            .filter(|to| going_down || *to <= target)
            .max_by_key(|to| if going_down { *to as u8 } else { 0 })
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(from: TaskStatus, to: TaskStatus) -> Vec<TaskStatus> {
        let mut path = vec![from];
        let mut at = from;
        while let Some(next) = at.next_towards(to) {
            assert!(at.can_become(next), "{at} -> {next} is not in the table");
            path.push(next);
            at = next;
            assert!(path.len() < 10, "no loop");
        }
        path
    }

    #[test]
    fn the_happy_path_visits_every_status_in_order() {
        assert_eq!(
            walk(Provisioning, Running),
            vec![Provisioning, Pending, Activating, Running]
        );
        assert_eq!(
            walk(Running, Stopped),
            vec![Running, Deactivating, Stopping, Deprovisioning, Stopped]
        );
    }

    #[test]
    fn a_task_failing_early_still_deprovisions() {
        assert_eq!(
            walk(Provisioning, Stopped),
            vec![Provisioning, Deprovisioning, Stopped]
        );
        assert_eq!(
            walk(Pending, Stopped),
            vec![Pending, Stopping, Deprovisioning, Stopped]
        );
        assert_eq!(
            walk(Activating, Stopped),
            vec![Activating, Deactivating, Stopping, Deprovisioning, Stopped]
        );
    }

    #[test]
    fn no_way_back() {
        for (from, to) in TRANSITIONS {
            assert!(from < to, "{from} -> {to} goes backwards");
        }
        assert!(!Stopped.can_become(Running));
        assert!(!Running.can_become(Pending));
        assert_eq!(Stopped.next_towards(Running), None);
    }

    #[test]
    fn names_round_trip_and_match_the_model() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        // DesiredStatus in the model (ListTasks filter) names these three.
        for s in crate::model::enums::DESIRED_STATUS {
            assert!(TaskStatus::parse(s).is_some(), "{s}");
        }
    }
}
