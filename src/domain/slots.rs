//! Where the tasks of one launch go on EC2: placed by ECS's rules over the
//! cluster's ACTIVE container instances (RunTask, REPLICA services), or
//! one on each named instance (StartTask, DAEMON services).

use super::capacity::{candidate, demand, usages};
use super::placement::{self, Candidate};
use super::DomainError;
use crate::model::shapes::{Failure, PlacementConstraint, PlacementStrategy, TaskDefinition};
use crate::state::container_instances::{ContainerInstanceRecord, InstanceStatus};
use crate::state::{arn, RegionState};
use std::collections::HashMap;

/// The ARN a container instance reference stands for in `cluster`: an ID,
/// a long ARN (`container-instance/CLUSTER/ID`) or an old short one
/// (`container-instance/ID`).
pub fn instance_arn(state: &RegionState, cluster: &str, reference: &str) -> String {
    match arn::parse(reference).filter(|a| a.resource_type == "container-instance") {
        Some(a) if a.id.contains('/') => reference.to_string(),
        Some(a) => arn::container_instance(&state.region, &state.account, cluster, a.id),
        None => arn::container_instance(&state.region, &state.account, cluster, reference),
    }
}

/// Where an EC2 task goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub instance_arn: String,
    pub availability_zone: String,
}

/// What RunTask asks of placement.
pub struct PlacementAsk<'a> {
    pub definition: &'a TaskDefinition,
    pub group: &'a str,
    pub count: usize,
    pub constraints: &'a [PlacementConstraint],
    pub strategies: &'a [PlacementStrategy],
}

fn failure(arn: String, reason: &str) -> Failure {
    Failure {
        arn: Some(arn),
        reason: Some(reason.into()),
        detail: None,
    }
}

/// RunTask on EC2: the instances the tasks go to, and a failure for each
/// instance that refused a task that could go nowhere.
pub fn place(
    state: &RegionState,
    cluster: &str,
    ask: &PlacementAsk,
) -> Result<(Vec<Slot>, Vec<Failure>), DomainError> {
    let no_constraints = vec![];
    let defined = ask
        .definition
        .placement_constraints
        .as_ref()
        .unwrap_or(&no_constraints);
    let constraints = placement::constraints(ask.constraints, defined)?;
    let strategies = placement::strategies(ask.strategies)?;
    let records: Vec<&ContainerInstanceRecord> = state
        .container_instances_of(cluster)
        .filter(|r| r.status == InstanceStatus::Active)
        .collect();
    if records.is_empty() {
        return Err(DomainError::invalid_parameter(
            "No Container Instances were found in your cluster.",
        ));
    }
    let usages = usages(state, cluster);
    let mut candidates: Vec<Candidate> = records
        .iter()
        .map(|r| candidate(state, r, usages.get(&r.arn)))
        .collect();
    let demand = demand(ask.definition);
    let request = placement::Request {
        demand: &demand,
        group: ask.group,
        count: ask.count,
        constraints: &constraints,
        strategies: &strategies,
        seed: uuid::Uuid::new_v4().as_u64_pair().0,
    };
    let outcome = placement::place(&mut candidates, &request);
    let slots = outcome
        .placed
        .iter()
        .map(|&i| Slot {
            instance_arn: records[i].arn.clone(),
            availability_zone: records[i].availability_zone.clone(),
        })
        .collect();
    let failures = outcome
        .rejections
        .into_iter()
        .map(|r| failure(r.instance_arn, &r.reason))
        .collect();
    Ok((slots, failures))
}

/// StartTask: one task on each named instance that exists, is registered
/// and has room; a failure (MISSING, INACTIVE, RESOURCE:...) for the others.
pub fn on_instances(
    state: &RegionState,
    cluster: &str,
    definition: &TaskDefinition,
    group: &str,
    references: &[String],
) -> Result<(Vec<Slot>, Vec<Failure>), DomainError> {
    if references.is_empty() || references.len() > 10 {
        return Err(DomainError::invalid_parameter(
            "containerInstances must name from 1 to 10 container instances.",
        ));
    }
    let demand = demand(definition);
    let usages = usages(state, cluster);
    // Two tasks on one instance: the second sees what the first took.
    let mut working: HashMap<String, Candidate> = HashMap::new();
    let (mut slots, mut failures) = (vec![], vec![]);
    for reference in references {
        let arn = instance_arn(state, cluster, reference);
        let record = match state
            .container_instances
            .get(&arn)
            .filter(|r| r.cluster == cluster)
        {
            None => {
                failures.push(failure(arn, "MISSING"));
                continue;
            }
            Some(r) if !r.status.is_registered() => {
                failures.push(failure(arn, "INACTIVE"));
                continue;
            }
            Some(r) => r,
        };
        let c = working
            .entry(arn.clone())
            .or_insert_with(|| candidate(state, record, usages.get(&arn)));
        match placement::fits(c, &demand) {
            Ok(()) => {
                placement::take(c, &demand, group);
                slots.push(Slot {
                    instance_arn: arn,
                    availability_zone: record.availability_zone.clone(),
                });
            }
            Err(reason) => failures.push(failure(arn, reason)),
        }
    }
    Ok((slots, failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_references_resolve_to_long_arns() {
        let state = RegionState::new("000000000000", "us-east-1");
        let long = "arn:aws:ecs:us-east-1:000000000000:container-instance/c/abc";
        assert_eq!(instance_arn(&state, "c", "abc"), long);
        assert_eq!(instance_arn(&state, "c", long), long);
        assert_eq!(
            instance_arn(
                &state,
                "c",
                "arn:aws:ecs:us-east-1:000000000000:container-instance/abc"
            ),
            long
        );
    }
}
