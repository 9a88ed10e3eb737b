//! Container instances: RegisterContainerInstance, DeregisterContainerInstance,
//! DescribeContainerInstances, ListContainerInstances and
//! UpdateContainerInstancesState; and the virtual instances a cluster is
//! given at creation. What tasks take from an instance is the domain's
//! (`domain::capacity`), as is placing tasks on them (`domain::slots`).

use super::pagination::{decode_token, page_size, take_page};
use crate::domain::capacity::{candidate, usages};
use crate::domain::instance_view::{view, view_of, Include};
use crate::domain::messages::ecsbox;
use crate::domain::placement::query;
use crate::domain::slots::instance_arn;
use crate::domain::validation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::container_instances::{
    availability_zone, new_ec2_instance_id, standard_attributes, Capacity, ContainerInstanceRecord,
    InstanceStatus, InstanceType, AGENT_VERSION, DEFAULT_INSTANCE_TYPE, INSTANCE_TYPES,
};
use crate::state::lifecycle::TaskStatus;
use crate::state::tasks::{epoch_now, Effect, StopCode};
use crate::state::{arn, RegionState};
use std::collections::BTreeSet;

/// Cluster tags that give a new cluster virtual instances (see `virtual_plan`).
pub const TAG_INSTANCE_COUNT: &str = "ecsbox:container-instances";
pub const TAG_INSTANCE_TYPE: &str = "ecsbox:instance-type";
const MAX_VIRTUAL_INSTANCES: u32 = 100;

fn active_cluster(state: &RegionState, reference: Option<&str>) -> Result<String, ApiError> {
    state
        .active_cluster_name(reference)
        .ok_or_else(ApiError::cluster_not_found)
}

// ---- RegisterContainerInstance ----

/// What ECS takes from the signed instance identity document.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityDocument {
    instance_id: Option<String>,
    instance_type: Option<String>,
    availability_zone: Option<String>,
}

fn identity_document(text: Option<&str>) -> Result<IdentityDocument, ApiError> {
    match text.filter(|t| !t.trim().is_empty()) {
        None => Ok(IdentityDocument::default()),
        Some(t) => serde_json::from_str(t)
            .map_err(|e| ApiError::invalid_parameter(ecsbox::identity_document_invalid(&e))),
    }
}

fn resource_number(r: &Resource) -> Option<i64> {
    r.integer_value
        .map(i64::from)
        .filter(|v| *v != 0)
        .or(r.long_value.filter(|v| *v != 0))
        .or(r.double_value.map(|d| d as i64))
}

fn port_set(r: &Resource) -> Result<BTreeSet<u16>, ApiError> {
    r.string_set_value
        .iter()
        .flatten()
        .map(|p| {
            p.parse::<u16>().map_err(|_| {
                ApiError::invalid_parameter(ecsbox::resource_port_invalid(
                    r.name.as_deref().unwrap_or(""),
                    p,
                ))
            })
        })
        .collect()
}

/// The capacity the agent registered (`totalResources`); what it leaves out
/// is the instance type's.
fn registered_capacity(
    total: &[Resource],
    fallback: Capacity,
) -> Result<(Capacity, Vec<Resource>), ApiError> {
    let mut capacity = fallback;
    let mut other = Vec::new();
    for r in total {
        match r.name.as_deref() {
            Some("CPU") => capacity.cpu = resource_number(r).unwrap_or(0),
            Some("MEMORY") => capacity.memory = resource_number(r).unwrap_or(0),
            Some("PORTS") => capacity.reserved_tcp_ports = port_set(r)?,
            Some("PORTS_UDP") => capacity.reserved_udp_ports = port_set(r)?,
            Some(_) => other.push(r.clone()),
            None => return Err(ApiError::invalid_parameter(ecsbox::RESOURCE_NAME_MISSING)),
        }
    }
    if capacity.cpu < 0 || capacity.memory < 0 {
        return Err(ApiError::invalid_parameter(ecsbox::RESOURCES_NEGATIVE));
    }
    Ok((capacity, other))
}

/// The agent's standard attributes with the ones registered laid over them.
fn merged_attributes(
    standard: Vec<Attribute>,
    given: &[Attribute],
) -> Result<Vec<Attribute>, ApiError> {
    let mut attributes = standard;
    for a in given {
        let name = a
            .name
            .clone()
            .filter(|n| !n.is_empty() && n.len() <= 128)
            .ok_or_else(|| ApiError::invalid_parameter(ecsbox::REGISTERED_ATTRIBUTE_NAME))?;
        let plain = Attribute {
            name: Some(name.clone()),
            value: a.value.clone(),
            ..Default::default()
        };
        match attributes
            .iter_mut()
            .find(|x| x.name.as_deref() == Some(&name))
        {
            Some(existing) => *existing = plain,
            None => attributes.push(plain),
        }
    }
    Ok(attributes)
}

/// The instance an agent registers again: the one its ARN names, or the
/// one registered for the same EC2 instance (the agent's restart).
fn previous_registration(
    state: &RegionState,
    cluster: &str,
    given_arn: Option<&str>,
    ec2_instance_id: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if let Some(given) = given_arn.filter(|a| !a.is_empty()) {
        let arn = instance_arn(state, cluster, given);
        return match state.container_instances.get(&arn) {
            Some(r) if r.status.is_registered() => Ok(Some(arn)),
            _ => Err(ApiError::invalid_parameter(ecsbox::reregistration_unknown(
                given, cluster,
            ))),
        };
    }
    Ok(ec2_instance_id.and_then(|id| {
        state
            .container_instances_of(cluster)
            .find(|r| r.status.is_registered() && r.ec2_instance_id == id)
            .map(|r| r.arn.clone())
    }))
}

pub fn register(
    state: &mut RegionState,
    input: RegisterContainerInstanceRequest,
) -> Result<RegisterContainerInstanceResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let identity = identity_document(input.instance_identity_document.as_deref())?;
    let tags = validation::tags(&input.tags.unwrap_or_default())?;
    let type_name = identity
        .instance_type
        .clone()
        .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into());
    let fallback = InstanceType::named(&type_name)
        .or_else(|| InstanceType::named(DEFAULT_INSTANCE_TYPE))
        .expect("the default type is known");
    let (capacity, other_resources) = registered_capacity(
        input.total_resources.as_deref().unwrap_or_default(),
        fallback.capacity(),
    )?;
    let previous = previous_registration(
        state,
        &cluster,
        input.container_instance_arn.as_deref(),
        identity.instance_id.as_deref(),
    )?;
    let zone = identity.availability_zone.clone().unwrap_or_else(|| {
        let index = state
            .container_instances_of(&cluster)
            .filter(|r| r.status.is_registered())
            .count();
        availability_zone(&state.region, index)
    });
    let attributes = merged_attributes(
        standard_attributes(&type_name, &zone),
        input.attributes.as_deref().unwrap_or_default(),
    )?;

    let record = match previous.and_then(|arn| state.container_instances.get(&arn).cloned()) {
        Some(old) => ContainerInstanceRecord {
            version: old.version + 1,
            ..old
        },
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            ContainerInstanceRecord {
                arn: arn::container_instance(&state.region, &state.account, &cluster, &id),
                id,
                cluster: cluster.clone(),
                ec2_instance_id: identity
                    .instance_id
                    .clone()
                    .unwrap_or_else(new_ec2_instance_id),
                status: InstanceStatus::Active,
                capacity: Capacity::default(),
                other_resources: vec![],
                attributes: vec![],
                version_info: VersionInfo::default(),
                registered_at: epoch_now(),
                version: 1,
                availability_zone: String::new(),
                is_virtual: false,
            }
        }
    };
    let record = ContainerInstanceRecord {
        capacity,
        other_resources,
        attributes,
        version_info: input.version_info.unwrap_or_default(),
        availability_zone: zone,
        ..record
    };
    let arn = record.arn.clone();
    state.container_instances.insert(arn.clone(), record);
    if !tags.is_empty() {
        state.tags.insert(arn.clone(), tags);
    }
    // The scheduler's pass tells EventBridge of the new instance (and
    // services may now place tasks on it).
    state.effects.push(Effect::Reconcile);
    let include = Include {
        tags: true,
        health: false,
    };
    Ok(RegisterContainerInstanceResponse {
        container_instance: Some(view_of(state, &arn, include)),
    })
}

// ---- DeregisterContainerInstance ----

fn not_found(reference: &str, cluster: &str) -> ApiError {
    ApiError::invalid_parameter(ecsbox::container_instance_not_found(reference, cluster))
}

pub fn deregister(
    state: &mut RegionState,
    input: DeregisterContainerInstanceRequest,
) -> Result<DeregisterContainerInstanceResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let reference = input.container_instance.unwrap_or_default();
    let arn = instance_arn(state, &cluster, &reference);
    let Some(record) = state
        .container_instances
        .get(&arn)
        .filter(|r| r.status.is_registered())
    else {
        return Err(not_found(&reference, &cluster));
    };
    let id = record.id.clone();
    let busy = usages(state, &cluster)
        .get(&arn)
        .is_some_and(|u| u.running + u.pending > 0);
    // AWS refuses while tasks are on the instance; with force, they stay
    // as they are, orphaned, until they stop by other means.
    if busy && input.force != Some(true) {
        return Err(ApiError::invalid_parameter(
            ecsbox::DEREGISTER_BUSY_INSTANCE,
        ));
    }
    let record = state
        .container_instances
        .get_mut(&arn)
        .expect("found above");
    record.status = InstanceStatus::Inactive;
    record.version += 1;
    // Custom attributes go with the instance.
    if let Some(held) = state.attributes.get_mut(&cluster) {
        held.retain(|(target, _), _| *target != id);
    }
    // The scheduler's pass tells EventBridge the instance is INACTIVE.
    state.effects.push(Effect::Reconcile);
    Ok(DeregisterContainerInstanceResponse {
        container_instance: Some(view_of(
            state,
            &arn,
            Include {
                tags: true,
                health: false,
            },
        )),
    })
}

// ---- DescribeContainerInstances ----

fn include_of(include: Option<Vec<String>>) -> Include {
    let include = include.unwrap_or_default();
    Include {
        tags: include.iter().any(|i| i == "TAGS"),
        health: include.iter().any(|i| i == "CONTAINER_INSTANCE_HEALTH"),
    }
}

pub fn describe(
    state: &mut RegionState,
    input: DescribeContainerInstancesRequest,
) -> Result<DescribeContainerInstancesResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let references = input.container_instances.unwrap_or_default();
    if references.is_empty() || references.len() > 100 {
        return Err(ApiError::invalid_parameter(
            ecsbox::DESCRIBE_CONTAINER_INSTANCES_COUNT,
        ));
    }
    let include = include_of(input.include);
    let usages = usages(state, &cluster);
    let (mut instances, mut failures) = (vec![], vec![]);
    for reference in references {
        let arn = instance_arn(state, &cluster, &reference);
        match state
            .container_instances
            .get(&arn)
            .filter(|r| r.cluster == cluster)
        {
            Some(record) => instances.push(view(state, record, usages.get(&arn), include)),
            None => failures.push(Failure {
                arn: Some(arn),
                reason: Some("MISSING".into()),
                detail: None,
            }),
        }
    }
    Ok(DescribeContainerInstancesResponse {
        container_instances: Some(instances),
        failures: Some(failures),
    })
}

// ---- ListContainerInstances ----

fn parse_filter(filter: Option<&str>) -> Result<Option<query::Expr>, ApiError> {
    filter
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            query::parse(f)
                .map_err(|why| ApiError::invalid_parameter(ecsbox::filter_invalid(f, &why)))
        })
        .transpose()
}

pub fn list(
    state: &mut RegionState,
    input: ListContainerInstancesRequest,
) -> Result<ListContainerInstancesResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let size = page_size(input.max_results, 100, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let filter = parse_filter(input.filter.as_deref())?;
    let usages = usages(state, &cluster);
    // Without a status, every instance but the deregistered (INACTIVE) ones.
    let status_matches = |r: &ContainerInstanceRecord| match input.status.as_deref() {
        Some(wanted) => r.status.as_str() == wanted,
        None => r.status.is_registered(),
    };
    let matching = state
        .container_instances_of(&cluster)
        .filter(|r| after.as_ref().is_none_or(|a| r.arn > *a))
        .filter(|r| status_matches(r))
        .filter(|r| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(&candidate(state, r, usages.get(&r.arn))))
        });
    let (page, next_token) = take_page(matching, size, |r| r.arn.clone());
    Ok(ListContainerInstancesResponse {
        container_instance_arns: Some(page.into_iter().map(|r| r.arn.clone()).collect()),
        next_token,
    })
}

// ---- UpdateContainerInstancesState ----

pub fn update_state(
    state: &mut RegionState,
    input: UpdateContainerInstancesStateRequest,
) -> Result<UpdateContainerInstancesStateResponse, ApiError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let references = input.container_instances.unwrap_or_default();
    if references.is_empty() {
        return Err(ApiError::invalid_parameter(
            ecsbox::CONTAINER_INSTANCES_EMPTY,
        ));
    }
    if references.len() > 10 {
        return Err(ApiError::invalid_parameter(
            ecsbox::UPDATE_INSTANCES_STATE_COUNT,
        ));
    }
    let status = match input.status.as_deref() {
        Some("ACTIVE") => InstanceStatus::Active,
        Some("DRAINING") => InstanceStatus::Draining,
        other => {
            return Err(ApiError::invalid_parameter(
                ecsbox::container_instance_status_invalid(other.unwrap_or("(none)")),
            ))
        }
    };
    let (mut changed, mut failures) = (vec![], vec![]);
    for reference in references {
        let arn = instance_arn(state, &cluster, &reference);
        match state
            .container_instances
            .get_mut(&arn)
            .filter(|r| r.cluster == cluster)
        {
            Some(r) if r.status.is_registered() => {
                if r.status != status {
                    r.status = status;
                    r.version += 1;
                }
                changed.push(arn);
            }
            Some(_) => failures.push(Failure {
                arn: Some(arn),
                reason: Some("INACTIVE".into()),
                detail: None,
            }),
            None => failures.push(Failure {
                arn: Some(arn),
                reason: Some("MISSING".into()),
                detail: None,
            }),
        }
    }
    if status == InstanceStatus::Draining {
        for arn in &changed {
            stop_pending_service_tasks(state, arn);
        }
    }
    // Services replace their tasks on a DRAINING instance (and may use an
    // instance that is ACTIVE again).
    if !changed.is_empty() {
        state.effects.push(crate::state::tasks::Effect::Reconcile);
    }
    let instances = changed
        .iter()
        .map(|arn| view_of(state, arn, Include::default()))
        .collect();
    Ok(UpdateContainerInstancesStateResponse {
        container_instances: Some(instances),
        failures: Some(failures),
    })
}

/// DRAINING, as the API reference describes it: "Service tasks on the
/// container instance that are in the PENDING state are stopped
/// immediately." RUNNING service tasks are the service scheduler's to
/// replace; "Any PENDING or RUNNING tasks that do not belong to a service
/// aren't affected."
fn stop_pending_service_tasks(state: &mut RegionState, instance_arn: &str) {
    let mut stopped = vec![];
    for (task_arn, t) in state.tasks.iter_mut() {
        let on_instance = t.task.container_instance_arn.as_deref() == Some(instance_arn);
        let service_task = t
            .task
            .group
            .as_deref()
            .is_some_and(|g| g.starts_with("service:"));
        if on_instance
            && service_task
            && t.status < TaskStatus::Running
            && t.want_stopped(
                StopCode::ServiceSchedulerInitiated,
                "Container instance is being drained",
            )
        {
            stopped.push(task_arn.clone());
        }
    }
    state.effects.extend(
        stopped
            .into_iter()
            .map(|task_arn| Effect::Stop { task_arn }),
    );
}

// ---- virtual instances ----

/// The virtual instances a new cluster gets: `count` of one type.
#[derive(Debug, Clone, Copy)]
pub(super) struct VirtualPlan {
    count: u32,
    instance_type: InstanceType,
}

/// From the cluster's tags `ecsbox:container-instances` and
/// `ecsbox:instance-type`, else ecsbox's `--container-instances` on the
/// default type. Checked before the cluster exists, so a bad tag changes nothing.
pub(super) fn virtual_plan(state: &RegionState, tags: &[Tag]) -> Result<VirtualPlan, ApiError> {
    let tag = |key: &str| {
        tags.iter()
            .find(|t| t.key.as_deref() == Some(key))
            .map(|t| t.value.clone().unwrap_or_default())
    };
    let count = match tag(TAG_INSTANCE_COUNT) {
        None => state.settings.container_instances,
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_VIRTUAL_INSTANCES)
            .ok_or_else(|| {
                ApiError::invalid_parameter(ecsbox::virtual_instance_count_tag(
                    TAG_INSTANCE_COUNT,
                    MAX_VIRTUAL_INSTANCES,
                    &v,
                ))
            })?,
    };
    let type_name = tag(TAG_INSTANCE_TYPE).unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into());
    let instance_type = InstanceType::named(type_name.trim()).ok_or_else(|| {
        let known: Vec<&str> = INSTANCE_TYPES.iter().map(|t| t.name).collect();
        ApiError::invalid_parameter(ecsbox::virtual_instance_type_tag(
            TAG_INSTANCE_TYPE,
            &type_name,
            &known,
        ))
    })?;
    Ok(VirtualPlan {
        count,
        instance_type,
    })
}

/// Registers the plan's instances in `cluster`, spread over zones a, b, c.
pub(super) fn add_virtual_instances(state: &mut RegionState, cluster: &str, plan: VirtualPlan) {
    let first = state
        .container_instances_of(cluster)
        .filter(|r| r.status.is_registered())
        .count();
    for index in first..first + plan.count as usize {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let zone = availability_zone(&state.region, index);
        let record = ContainerInstanceRecord {
            arn: arn::container_instance(&state.region, &state.account, cluster, &id),
            id,
            cluster: cluster.to_string(),
            ec2_instance_id: new_ec2_instance_id(),
            status: InstanceStatus::Active,
            capacity: plan.instance_type.capacity(),
            other_resources: vec![],
            attributes: standard_attributes(plan.instance_type.name, &zone),
            version_info: VersionInfo {
                agent_version: Some(AGENT_VERSION.into()),
                agent_hash: Some("ecsbox".into()),
                docker_version: Some("DockerVersion: 25.0.8".into()),
            },
            registered_at: epoch_now(),
            version: 1,
            availability_zone: zone,
            is_virtual: true,
        };
        state.container_instances.insert(record.arn.clone(), record);
    }
    if plan.count > 0 {
        // The scheduler's pass tells EventBridge of the new instances.
        state.effects.push(Effect::Reconcile);
    }
}

/// Registered instances that keep a cluster from being deleted: those an
/// agent registered. Virtual ones are the cluster's own and go with it
/// (`retire_virtual_instances`), as an Auto Scaling group's would be
/// terminated first in AWS.
pub(super) fn registered_agent_instances(state: &RegionState, cluster: &str) -> usize {
    state
        .container_instances_of(cluster)
        .filter(|r| r.status.is_registered() && !r.is_virtual)
        .count()
}

pub(super) fn retire_virtual_instances(state: &mut RegionState, cluster: &str) {
    let arns: Vec<String> = state
        .container_instances_of(cluster)
        .filter(|r| r.is_virtual)
        .map(|r| r.arn.clone())
        .collect();
    for arn in arns {
        if let Some(r) = state.container_instances.get_mut(&arn) {
            r.status = InstanceStatus::Inactive;
            r.version += 1;
            // The scheduler's pass tells EventBridge they are INACTIVE.
            state.effects.push(Effect::Reconcile);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_plans_come_from_tags_or_the_setting() {
        let mut state = RegionState::new("000000000000", "us-east-1");
        state.settings.container_instances = 2;
        let tag = |k: &str, v: &str| Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        let plan = virtual_plan(&state, &[]).unwrap();
        assert_eq!((plan.count, plan.instance_type.name), (2, "m5.large"));
        let plan = virtual_plan(&state, &[tag(TAG_INSTANCE_COUNT, "0")]).unwrap();
        assert_eq!(plan.count, 0, "the tag wins over the setting");
        let plan = virtual_plan(
            &state,
            &[
                tag(TAG_INSTANCE_COUNT, "3"),
                tag(TAG_INSTANCE_TYPE, "t2.micro"),
            ],
        )
        .unwrap();
        assert_eq!((plan.count, plan.instance_type.name), (3, "t2.micro"));
        assert!(virtual_plan(&state, &[tag(TAG_INSTANCE_COUNT, "many")]).is_err());
        assert!(virtual_plan(&state, &[tag(TAG_INSTANCE_COUNT, "101")]).is_err());
        assert!(virtual_plan(&state, &[tag(TAG_INSTANCE_TYPE, "x9.huge")]).is_err());
    }
}
