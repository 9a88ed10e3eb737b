//! Tasks as the state keeps them: the ECS view (`Task`, what DescribeTasks
//! answers) plus what ecsbox needs to run them (the task definition as it
//! was at launch, the status as a typed value, the Docker ids).
//!
//! API handlers create records and ask for work through `Effect`s; the task
//! controller does the Docker work and moves the status along the table in
//! `lifecycle.rs`. Both change a record only under the region's lock.

use super::lifecycle::TaskStatus;
use crate::model::shapes::{Container, Task, TaskDefinition};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// Work an API call asks of the controllers, handed over after the call's
/// lock is released (see `api::Ecs::with_region`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A task was created in PROVISIONING: start its containers.
    Launch { task_arn: String },
    /// A task's desired status became STOPPED: stop its containers.
    Stop { task_arn: String },
    /// A service changed (created, updated, deleted): let its scheduler look.
    Reconcile,
}

/// Why a task stopped, as ECS's `stopCode` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
}

impl StopCode {
    pub fn as_str(self) -> &'static str {
        match self {
            StopCode::TaskFailedToStart => "TaskFailedToStart",
            StopCode::EssentialContainerExited => "EssentialContainerExited",
            StopCode::UserInitiated => "UserInitiated",
            StopCode::ServiceSchedulerInitiated => "ServiceSchedulerInitiated",
        }
    }
}

/// The Docker objects behind a task.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskRuntime {
    /// Container name (from the task definition) -> Docker container id.
    pub containers: BTreeMap<String, String>,
    /// awsvpc: the container that holds the task's network namespace.
    pub namespace_holder: Option<String>,
    /// Docker volumes made for this task alone, removed with its containers.
    pub volumes: Vec<String>,
    /// Container name -> its token of the task metadata endpoints, and the
    /// id of the task's role credentials: the containers' environment
    /// holds them, so a restart with a state directory gives them back.
    #[serde(default)]
    pub metadata_tokens: BTreeMap<String, String>,
    #[serde(default)]
    pub credentials_id: Option<String>,
    /// The containers and volumes were removed (the cleanup after the task
    /// stopped): the record may be forgotten once it expires.
    pub removed: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TaskRecord {
    /// What DescribeTasks shows. `last_status`/`desired_status` mirror the
    /// typed fields below; use `set_status`/`set_desired` to change them.
    pub task: Task,
    pub id: String,
    pub cluster: String,
    pub status: TaskStatus,
    pub desired: TaskStatus,
    /// The task definition revision as it was when the task was launched,
    /// with the RunTask overrides already applied to its containers.
    pub definition: TaskDefinition,
    pub runtime: TaskRuntime,
    /// Set when the task reached STOPPED, to remove its containers later.
    pub stopped_at: Option<SystemTime>,
    /// awsvpc: the security groups of the task's ENI (the configuration's,
    /// or the VPC's default). Kept here, not in `task`: ECS's attachment
    /// details do not carry them; EC2's DescribeNetworkInterfaces shows them.
    pub security_groups: Vec<String>,
    /// Task scale-in protection (UpdateTaskProtection): when it expires, in
    /// epoch seconds of ecsbox's clock. `None` when never set or removed.
    pub protected_until: Option<f64>,
    /// The load balancer targets ECS registered for this task (a service's
    /// `loadBalancers`), deregistered before its containers stop.
    pub lb_targets: Vec<TargetRegistration>,
}

/// One target a task is registered as: in which target group, under which
/// (Id, Port) — the task's IP and container port (awsvpc), or its container
/// instance's EC2 id and host port (bridge, host).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetRegistration {
    pub target_group_arn: String,
    pub id: String,
    pub port: u16,
    /// The container and port of the service's `loadBalancers` entry.
    pub container_name: String,
    pub container_port: u16,
}

pub use crate::clock::epoch_secs as epoch;
/// The names callers used before `crate::clock` answered for the time; code
/// on other branches still calls them. New code calls `clock::now_secs` and
/// `clock::epoch_secs`.
pub use crate::clock::now_secs as epoch_now;

impl TaskRecord {
    pub fn set_status(&mut self, status: TaskStatus) {
        self.status = status;
        self.task.last_status = Some(status.as_str().to_string());
        if status == TaskStatus::Stopped && self.stopped_at.is_none() {
            self.stopped_at = Some(crate::clock::now_system());
        }
    }

    /// Wants the task stopped (once: the first stop code and reason stay).
    /// Returns false if it was already meant to stop.
    pub fn want_stopped(&mut self, code: StopCode, reason: impl Into<String>) -> bool {
        if self.desired == TaskStatus::Stopped {
            return false;
        }
        self.desired = TaskStatus::Stopped;
        self.task.desired_status = Some("STOPPED".into());
        self.task.stop_code = Some(code.as_str().into());
        self.task.stopped_reason = Some(reason.into());
        self.task.stopping_at = Some(epoch_now());
        true
    }

    pub fn container_mut(&mut self, name: &str) -> Option<&mut Container> {
        self.task
            .containers
            .as_mut()?
            .iter_mut()
            .find(|c| c.name.as_deref() == Some(name))
    }

    /// Whether the task is protected from scale-in and deployments at `now`
    /// (epoch seconds): protection lapses by itself when it expires.
    pub fn protected_at(&self, now: f64) -> bool {
        self.protected_until.is_some_and(|until| now < until)
    }

    pub fn family(&self) -> &str {
        self.definition.family.as_deref().unwrap_or("")
    }

    pub fn launch_type(&self) -> &str {
        self.task.launch_type.as_deref().unwrap_or("EC2")
    }

    pub fn is_fargate(&self) -> bool {
        self.launch_type() == "FARGATE"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TaskRecord {
        TaskRecord {
            task: Task::default(),
            id: "abc".into(),
            cluster: "default".into(),
            status: TaskStatus::Provisioning,
            desired: TaskStatus::Running,
            definition: TaskDefinition::default(),
            runtime: TaskRuntime::default(),
            stopped_at: None,
            security_groups: Vec::new(),
            protected_until: None,
            lb_targets: Vec::new(),
        }
    }

    #[test]
    fn the_first_stop_reason_wins() {
        let mut r = record();
        assert!(r.want_stopped(
            StopCode::EssentialContainerExited,
            "Essential container in task exited"
        ));
        assert!(!r.want_stopped(StopCode::UserInitiated, "later"));
        assert_eq!(
            r.task.stop_code.as_deref(),
            Some("EssentialContainerExited")
        );
        assert_eq!(r.task.desired_status.as_deref(), Some("STOPPED"));
    }

    #[test]
    fn protection_lapses_when_it_expires() {
        let mut r = record();
        assert!(!r.protected_at(100.0));
        r.protected_until = Some(160.0);
        assert!(r.protected_at(159.9));
        assert!(!r.protected_at(160.0));
    }

    #[test]
    fn status_is_mirrored_into_the_view() {
        let mut r = record();
        r.set_status(TaskStatus::Stopped);
        assert_eq!(r.task.last_status.as_deref(), Some("STOPPED"));
        assert!(r.stopped_at.is_some());
    }
}
