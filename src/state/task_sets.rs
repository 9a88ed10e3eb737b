//! Task sets as the state keeps them: the groups of tasks an EXTERNAL
//! deployment controller manages inside one service (CreateTaskSet and its
//! kin). A task set lives in its service's record (`ServiceRecord::task_sets`)
//! because it exists only there: its ARN names the service, its count is a
//! share of the service's desiredCount, and it goes when the service goes.
//!
//! A task set's tasks are ordinary task records, tied to it as ECS ties a
//! deployment's tasks: `group` is the service's (`service:NAME`) and
//! `startedBy` is the task set's id (`ecs-svc/...`; AWS's StartTask
//! documentation: "If a task is started by an Amazon ECS service, the
//! startedBy parameter contains the deployment ID of the service that starts
//! it", and ECS counts task sets as the service's deployments). Counts are
//! derived from those records, never stored.

use super::network::TaskNetwork;
use crate::model::shapes::{TaskDefinition, TaskSet};

/// The most task sets one service holds at once (AWS's quota; its answer
/// past it: "5 deployments exist on the service. Unable to create new
/// TaskSet since this exceeds the maximum limit.").
pub const MAX_TASK_SETS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TaskSetStatus {
    /// The task set the service's own fields (task definition, launch type,
    /// network, load balancers) are described from.
    Primary,
    Active,
    /// Deleted: its tasks are stopping; it leaves the service once none runs.
    Draining,
}

impl TaskSetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "PRIMARY",
            Self::Active => "ACTIVE",
            Self::Draining => "DRAINING",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TaskSetRecord {
    /// What DescribeTaskSets shows, but for the derived parts (status,
    /// counts, computedDesiredCount) filled in when described.
    pub task_set: TaskSet,
    pub status: TaskSetStatus,
    /// The revision this task set runs, as it was when the set was created
    /// (a task set keeps running it even once deregistered, as a service does).
    pub definition: TaskDefinition,
    /// The awsvpc network as looked up in EC2 at creation; the scheduler
    /// launches the set's tasks into it.
    pub network: Option<TaskNetwork>,
    pub client_token: Option<String>,
}

impl TaskSetRecord {
    pub fn id(&self) -> &str {
        self.task_set.id.as_deref().unwrap_or("")
    }

    pub fn arn(&self) -> &str {
        self.task_set.task_set_arn.as_deref().unwrap_or("")
    }

    /// The scale's value in percent of the service's desiredCount.
    pub fn scale_percent(&self) -> f64 {
        self.task_set
            .scale
            .as_ref()
            .and_then(|s| s.value)
            .unwrap_or(0.0)
    }

    /// Whether a reference (the task set's id or its ARN) names this set.
    pub fn is_named_by(&self, reference: &str) -> bool {
        reference == self.id() || reference == self.arn()
    }

    /// How many tasks the set should run when its service wants `desired`:
    /// none once DRAINING, else its share of the service's count.
    pub fn target(&self, service_desired: i32) -> i32 {
        match self.status {
            TaskSetStatus::Draining => 0,
            _ => computed_desired_count(service_desired, self.scale_percent()),
        }
    }
}

/// A task set's computedDesiredCount: the service's desiredCount times the
/// scale percentage, rounded up ("The result is always rounded up. For
/// example, if the computed desired count is 1.2, it rounds up to 2 tasks."
/// — TaskSet.computedDesiredCount in AWS's ECS API reference).
pub fn computed_desired_count(service_desired: i32, percent: f64) -> i32 {
    let exact = service_desired.max(0) as f64 * percent / 100.0;
    // A product such as 3 x 33.333...% is 0.99999...: float noise, not a
    // fraction of a task, must not round up to one more task.
    (exact - 1e-9).ceil().max(0.0) as i32
}

/// A task set's ARN: `task-set/CLUSTER/SERVICE/ID`, the id keeping its own
/// slash (`ecs-svc/...`), as AWS's examples show.
pub fn task_set_arn(region: &str, account: &str, cluster: &str, service: &str, id: &str) -> String {
    format!("arn:aws:ecs:{region}:{account}:task-set/{cluster}/{service}/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's own example (1.2 rounds up to 2), and the edges.
    #[test]
    fn computed_desired_count_rounds_up_as_ecs_does() {
        assert_eq!(computed_desired_count(4, 30.0), 2); // 1.2 -> 2
        assert_eq!(computed_desired_count(2, 50.0), 1);
        assert_eq!(computed_desired_count(3, 50.0), 2); // 1.5 -> 2
        assert_eq!(computed_desired_count(10, 100.0), 10);
        assert_eq!(computed_desired_count(10, 0.0), 0);
        assert_eq!(computed_desired_count(1, 0.1), 1);
        assert_eq!(computed_desired_count(0, 100.0), 0);
        assert_eq!(computed_desired_count(3, 100.0 / 3.0), 1);
    }

    #[test]
    fn task_set_arns_keep_the_ids_slash() {
        assert_eq!(
            task_set_arn("us-west-2", "123456789012", "c", "web", "ecs-svc/1"),
            "arn:aws:ecs:us-west-2:123456789012:task-set/c/web/ecs-svc/1"
        );
    }
}
