//! Services as the state keeps them: the ECS view (`Service`) plus the
//! deployments and events the scheduler maintains.
//!
//! A service's tasks are ordinary task records, tied to it the way ECS ties
//! them: `group` is `service:NAME` and `startedBy` is the deployment id
//! (`ecs-svc/...`). Counts are derived from those records, never stored.

use crate::model::shapes::{Deployment, Service, ServiceEvent, TaskDefinition};
use crate::state::network::TaskNetwork;
use crate::state::task_sets::TaskSetRecord;
use crate::state::tasks::epoch_now;

/// How many events a service keeps (AWS shows the latest 100).
pub const MAX_EVENTS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ServiceDeploymentStatus {
    Pending,
    InProgress,
    Successful,
    Stopped,
    StopRequested,
    RollbackRequested,
    RollbackInProgress,
    RollbackSuccessful,
    RollbackFailed,
}

impl ServiceDeploymentStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::InProgress => "IN_PROGRESS",
            Self::Successful => "SUCCESSFUL",
            Self::Stopped => "STOPPED",
            Self::StopRequested => "STOP_REQUESTED",
            Self::RollbackRequested => "ROLLBACK_REQUESTED",
            Self::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            Self::RollbackSuccessful => "ROLLBACK_SUCCESSFUL",
            Self::RollbackFailed => "ROLLBACK_FAILED",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeploymentRecord {
    /// The ECS view: id (`ecs-svc/...`), status PRIMARY / ACTIVE / INACTIVE,
    /// rolloutState, counts (filled in when described).
    pub deployment: Deployment,
    /// The revision this deployment runs, as it was when deployed.
    pub definition: TaskDefinition,
    /// The service deployment (ListServiceDeployments) this deployment is.
    pub service_deployment_arn: String,
    pub service_revision_arn: String,
    pub status: ServiceDeploymentStatus,
    pub status_reason: Option<String>,
    /// The deployment this one replaced (its revision is the source).
    pub source_revision_arn: Option<String>,
    pub started_at: f64,
    pub finished_at: Option<f64>,
    /// Set when this deployment rolls back a failed one.
    pub rollback_of: Option<String>,
    /// The deployment's awsvpc network as looked up in EC2 when it was
    /// asked for; the scheduler launches its tasks into it.
    pub network: Option<TaskNetwork>,
}

impl DeploymentRecord {
    pub fn id(&self) -> &str {
        self.deployment.id.as_deref().unwrap_or("")
    }

    /// The Service Connect configuration this deployment runs, when enabled.
    pub fn service_connect(&self) -> Option<&crate::model::shapes::ServiceConnectConfiguration> {
        self.deployment
            .service_connect_configuration
            .as_ref()
            .filter(|c| c.enabled == Some(true))
    }

    /// Each Service Connect service of the deployment with the ARN of the
    /// Cloud Map service ECS made for it (`serviceConnectResources`).
    pub fn service_connect_services(
        &self,
    ) -> Vec<(&crate::model::shapes::ServiceConnectService, &str)> {
        let resources = self
            .deployment
            .service_connect_resources
            .as_deref()
            .unwrap_or(&[]);
        self.service_connect()
            .into_iter()
            .flat_map(|c| c.services.iter().flatten())
            .filter_map(|s| {
                let arn = resources
                    .iter()
                    .find(|r| r.discovery_name == s.discovery_name)?
                    .discovery_arn
                    .as_deref()?;
                Some((s, arn))
            })
            .collect()
    }

    /// Sets the Service Connect configuration this deployment runs and
    /// the Cloud Map services it registers its tasks in.
    pub fn set_service_connect(
        &mut self,
        configuration: crate::model::shapes::ServiceConnectConfiguration,
        resources: Vec<crate::model::shapes::ServiceConnectServiceResource>,
    ) {
        self.deployment.service_connect_configuration = Some(configuration);
        self.deployment.service_connect_resources = Some(resources);
    }

    pub fn is_primary(&self) -> bool {
        self.deployment.status.as_deref() == Some("PRIMARY")
    }

    pub fn rollout_state(&self) -> &str {
        self.deployment.rollout_state.as_deref().unwrap_or("")
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ServiceRecord {
    /// What DescribeServices shows, but for the derived parts (counts,
    /// deployments, events) filled in from the fields below.
    pub service: Service,
    pub name: String,
    pub cluster: String,
    /// Newest first; the PRIMARY one is first. INACTIVE ones are dropped.
    pub deployments: Vec<DeploymentRecord>,
    /// Deployments that finished, newest first, for ListServiceDeployments.
    pub past_deployments: Vec<DeploymentRecord>,
    /// Newest first, at most MAX_EVENTS.
    pub events: Vec<ServiceEvent>,
    pub client_token: Option<String>,
    /// Whether "has reached a steady state" was said since the last change.
    pub steady: bool,
    /// The count of consecutive failures to start for which the service
    /// last said it "is unable to consistently start tasks successfully"
    /// (0: it has not since its last task started); see
    /// `controllers::service_throttle`.
    pub start_impaired_at: u32,
    /// An EXTERNAL service's task sets, oldest first (none for the others).
    pub task_sets: Vec<TaskSetRecord>,
}

impl ServiceRecord {
    pub fn status(&self) -> &str {
        self.service.status.as_deref().unwrap_or("")
    }

    /// The Service Connect configuration the service runs (its primary
    /// deployment's), when enabled.
    pub fn service_connect(&self) -> Option<&crate::model::shapes::ServiceConnectConfiguration> {
        self.primary().and_then(DeploymentRecord::service_connect)
    }

    pub fn group(&self) -> String {
        format!("service:{}", self.name)
    }

    pub fn primary(&self) -> Option<&DeploymentRecord> {
        self.deployments.first()
    }

    /// Adds an event in AWS's wording, newest first.
    pub fn event(&mut self, message: String) {
        self.events.insert(
            0,
            ServiceEvent {
                id: Some(uuid::Uuid::new_v4().to_string()),
                created_at: Some(epoch_now()),
                message: Some(message),
            },
        );
        self.events.truncate(MAX_EVENTS);
    }
}

impl ServiceRecord {
    /// Whether an EXTERNAL deployment controller runs this service: its
    /// tasks come from task sets, not from deployments.
    pub fn is_external(&self) -> bool {
        self.service
            .deployment_controller
            .as_ref()
            .and_then(|c| c.r#type.as_deref())
            == Some("EXTERNAL")
    }

    pub fn primary_task_set(&self) -> Option<&TaskSetRecord> {
        self.task_sets
            .iter()
            .find(|t| t.status == crate::state::task_sets::TaskSetStatus::Primary)
    }

    pub fn task_set(&self, reference: &str) -> Option<&TaskSetRecord> {
        self.task_sets.iter().find(|t| t.is_named_by(reference))
    }
}

/// A new deployment id as ECS makes them: `ecs-svc/` and 19 digits.
pub fn new_deployment_id() -> String {
    let n = u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .expect("8 bytes"),
    ) % 9_000_000_000_000_000_000;
    format!("ecs-svc/{}", 1_000_000_000_000_000_000 + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_ids_look_like_ecs_ones() {
        let id = new_deployment_id();
        let digits = id.strip_prefix("ecs-svc/").unwrap();
        assert_eq!(digits.len(), 19, "{id}");
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn events_are_newest_first_and_capped() {
        let mut s = ServiceRecord {
            service: Service::default(),
            name: "web".into(),
            cluster: "c".into(),
            deployments: vec![],
            past_deployments: vec![],
            events: vec![],
            client_token: None,
            steady: false,
            start_impaired_at: 0,
            task_sets: vec![],
        };
        for i in 0..(MAX_EVENTS + 5) {
            s.event(format!("e{i}"));
        }
        assert_eq!(s.events.len(), MAX_EVENTS);
        assert_eq!(
            s.events[0].message.as_deref(),
            Some(format!("e{}", MAX_EVENTS + 4).as_str())
        );
    }
}
