//! Launching tasks: what RunTask, StartTask and the service scheduler
//! share. Resolve the task definition, choose the launch type, check the
//! two agree, apply overrides, place the tasks, create their records and
//! record an `Effect::Launch` for each; the task controller does the Docker
//! work afterwards.

use super::messages::{aws, ecsbox};
use super::network::NetworkLookup;
use super::slots::{self, PlacementAsk, Slot};
use super::task_definitions::resolve;
use super::validation;
use super::DomainError;
use crate::model::shapes::*;
use crate::state::lifecycle::TaskStatus;
use crate::state::tasks::{epoch_now, Effect, TaskRecord, TaskRuntime};
use crate::state::{arn, RegionState};
use crate::tags::TagSet;

/// How a task is launched: the launch type, and the capacity provider that
/// chose it when a strategy was used.
pub struct Launch {
    pub launch_type: &'static str,
    pub capacity_provider: Option<String>,
}

fn active_cluster(state: &RegionState, reference: Option<&str>) -> Result<String, DomainError> {
    state
        .active_cluster_name(reference)
        .ok_or_else(DomainError::cluster_not_found)
}

/// launchType, or the first provider of a capacity provider strategy (the
/// request's, else the cluster's default), else EC2, as AWS decides.
fn choose_launch(
    state: &RegionState,
    cluster: &str,
    input: &RunTaskRequest,
) -> Result<Launch, DomainError> {
    choose_launch_for(
        state,
        cluster,
        input.launch_type.as_deref(),
        input.capacity_provider_strategy.as_deref(),
    )
}

/// `choose_launch` for any caller (RunTask, CreateService).
pub fn choose_launch_for(
    state: &RegionState,
    cluster: &str,
    launch_type: Option<&str>,
    capacity_provider_strategy: Option<&[CapacityProviderStrategyItem]>,
) -> Result<Launch, DomainError> {
    if launch_type.is_some() && capacity_provider_strategy.is_some_and(|s| !s.is_empty()) {
        return Err(DomainError::invalid_parameter(
            aws::LAUNCH_TYPE_AND_STRATEGY,
        ));
    }
    if let Some(lt) = launch_type {
        let launch_type = match lt {
            "FARGATE" => "FARGATE",
            "EC2" => "EC2",
            "EXTERNAL" => "EXTERNAL",
            other => {
                return Err(DomainError::invalid_parameter(
                    ecsbox::launch_type_not_supported_yet(other),
                ))
            }
        };
        return Ok(Launch {
            launch_type,
            capacity_provider: None,
        });
    }
    let cluster_default = state
        .clusters
        .get(cluster)
        .and_then(|c| c.default_capacity_provider_strategy.clone())
        .unwrap_or_default();
    let strategy = capacity_provider_strategy
        .filter(|s| !s.is_empty())
        .map(<[_]>::to_vec)
        .unwrap_or(cluster_default);
    if strategy.is_empty() {
        return Ok(Launch {
            launch_type: "EC2",
            capacity_provider: None,
        });
    }
    validation::capacity_provider_strategy(&strategy, |p| state.capacity_provider_exists(p))?;
    // The provider with a base gets the first tasks; otherwise the heaviest weight.
    let chosen = strategy
        .iter()
        .max_by_key(|i| (i.base.unwrap_or(0), i.weight.unwrap_or(0)))
        .and_then(|i| i.capacity_provider.clone())
        .unwrap_or_default();
    let launch_type = if validation::is_fargate_provider(&chosen) {
        "FARGATE"
    } else {
        "EC2"
    };
    Ok(Launch {
        launch_type,
        capacity_provider: Some(chosen),
    })
}

/// The checks AWS makes between a task definition and how it is launched.
pub fn check_compatible(
    td: &TaskDefinition,
    launch: &Launch,
    network: Option<&NetworkConfiguration>,
) -> Result<(), DomainError> {
    let compatibilities = td.compatibilities.clone().unwrap_or_default();
    if !compatibilities.iter().any(|c| c == launch.launch_type) {
        // AWS's sentence alone: clients match it whole.
        return Err(DomainError::invalid_parameter(
            aws::launch_type_not_supported(launch.launch_type),
        ));
    }
    let awsvpc = td.network_mode.as_deref() == Some("awsvpc");
    let subnets = network
        .and_then(|n| n.awsvpc_configuration.as_ref())
        .and_then(|a| a.subnets.as_ref());
    match (awsvpc, network) {
        (true, None) => Err(DomainError::invalid_parameter(
            aws::NETWORK_CONFIGURATION_REQUIRED,
        )),
        (true, Some(_)) if subnets.is_none_or(|s| s.is_empty()) => {
            Err(DomainError::invalid_parameter(ecsbox::SUBNETS_EMPTY))
        }
        (false, Some(_)) => Err(DomainError::invalid_parameter(
            aws::NETWORK_CONFIGURATION_NOT_VALID,
        )),
        _ => Ok(()),
    }
}

/// The task definition as this task runs it: container and task overrides applied.
fn apply_overrides(
    mut td: TaskDefinition,
    overrides: &TaskOverride,
) -> Result<TaskDefinition, DomainError> {
    let containers = td.container_definitions.get_or_insert_with(Vec::new);
    for o in overrides.container_overrides.iter().flatten() {
        let name = o.name.as_deref().unwrap_or("");
        let Some(c) = containers
            .iter_mut()
            .find(|c| c.name.as_deref() == Some(name))
        else {
            return Err(DomainError::invalid_parameter(
                ecsbox::container_override_unknown(name),
            ));
        };
        if let Some(command) = &o.command {
            c.command = Some(command.clone());
        }
        if let Some(env) = &o.environment {
            let existing = c.environment.get_or_insert_with(Vec::new);
            for kv in env {
                match existing.iter_mut().find(|e| e.name == kv.name) {
                    Some(e) => e.value = kv.value.clone(),
                    None => existing.push(kv.clone()),
                }
            }
        }
        if o.cpu.is_some() {
            c.cpu = o.cpu;
        }
        if o.memory.is_some() {
            c.memory = o.memory;
        }
        if o.memory_reservation.is_some() {
            c.memory_reservation = o.memory_reservation;
        }
    }
    if let Some(cpu) = &overrides.cpu {
        td.cpu = Some(cpu.clone());
    }
    if let Some(memory) = &overrides.memory {
        td.memory = Some(memory.clone());
    }
    if let Some(role) = &overrides.task_role_arn {
        td.task_role_arn = Some(role.clone());
    }
    if let Some(role) = &overrides.execution_role_arn {
        td.execution_role_arn = Some(role.clone());
    }
    Ok(td)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn task_arn(state: &RegionState, cluster: &str, id: &str) -> String {
    format!(
        "arn:aws:ecs:{}:{}:task/{cluster}/{id}",
        state.region, state.account
    )
}

/// The containers of a new task, as DescribeTasks shows them before they run.
fn container_views(
    state: &RegionState,
    cluster: &str,
    task_id: &str,
    task_arn: &str,
    td: &TaskDefinition,
) -> Vec<Container> {
    td.container_definitions
        .iter()
        .flatten()
        .map(|c| Container {
            container_arn: Some(format!(
                "arn:aws:ecs:{}:{}:container/{cluster}/{task_id}/{}",
                state.region,
                state.account,
                uuid::Uuid::new_v4()
            )),
            task_arn: Some(task_arn.to_string()),
            name: c.name.clone(),
            image: c.image.clone(),
            last_status: Some("PENDING".into()),
            network_bindings: Some(vec![]),
            network_interfaces: Some(vec![]),
            health_status: c.health_check.as_ref().map(|_| "UNKNOWN".to_string()),
            cpu: Some(c.cpu.unwrap_or(0).to_string()),
            memory: c.memory.map(|m| m.to_string()),
            memory_reservation: c.memory_reservation.map(|m| m.to_string()),
            ..Default::default()
        })
        .collect()
}

/// The ENI attachment an awsvpc task gets, in `subnet`; its details (IP,
/// MAC) are filled in by the controller once Docker has given them.
fn eni_attachment(subnet: &str) -> Attachment {
    let eni = format!("eni-{}", &new_id()[..17]);
    let kv = |k: &str, v: String| KeyValuePair {
        name: Some(k.into()),
        value: Some(v),
    };
    Attachment {
        id: Some(uuid::Uuid::new_v4().to_string()),
        r#type: Some("ElasticNetworkInterface".into()),
        status: Some("PRECREATED".into()),
        details: Some(vec![
            kv("subnetId", subnet.to_string()),
            kv("networkInterfaceId", eni),
        ]),
    }
}

/// Tags of a new task: its own (for a service's task, the service's when it
/// propagates them), those propagated from the task definition, and ECS's
/// managed tags when asked for: `aws:ecs:clusterName`, and for a service's
/// task `aws:ecs:serviceName` too ("Amazon ECS managed tags" in the
/// developer guide; ListTagsForResource shows both on a service's task, e.g.
/// the aws_ecs_tag resources generated from a real account's tasks in
/// xneyder/finisterra-1, terraform/generated/ecs/aws_ecs_tag.tf).
fn task_tags(
    state: &RegionState,
    cluster: &str,
    td_arn: &str,
    input: &RunTaskRequest,
    origin: Origin,
) -> Result<TagSet, DomainError> {
    let mut tags = validation::tags(input.tags.as_deref().unwrap_or_default())?;
    match input.propagate_tags.as_deref() {
        // The task definition's value wins over the task's own for a key both have.
        Some("TASK_DEFINITION") => tags.merge(state.tag_set_of(td_arn)),
        Some("SERVICE") => {
            return Err(DomainError::invalid_parameter(
                ecsbox::PROPAGATE_TAGS_SERVICE_STANDALONE,
            ))
        }
        _ => {}
    }
    if input.enable_ecs_managed_tags == Some(true) {
        tags.insert("aws:ecs:clusterName".into(), cluster.to_string());
        // A service's tasks are in its group `service:NAME`.
        let service = input
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"));
        if let (Origin::Service, Some(name)) = (origin, service) {
            tags.insert("aws:ecs:serviceName".into(), name.to_string());
        }
    }
    Ok(tags)
}

/// Where the tasks of a launch go: placed by ECS (RunTask, REPLICA
/// services), or one on each named container instance (StartTask, DAEMON
/// services).
pub enum Target {
    Placement,
    Instances(Vec<String>),
}

/// The container instance of each task to create (none on Fargate), and
/// the failures of those that found none.
fn task_slots(
    state: &RegionState,
    cluster: &str,
    target: &Target,
    launch: &Launch,
    ask: &PlacementAsk,
) -> Result<(Vec<Option<Slot>>, Vec<Failure>), DomainError> {
    let (slots, failures) = match target {
        Target::Placement if launch.launch_type == "FARGATE" => {
            return Ok(((0..ask.count).map(|_| None).collect(), vec![]))
        }
        Target::Placement => slots::place(state, cluster, ask)?,
        Target::Instances(references) => {
            slots::on_instances(state, cluster, ask.definition, ask.group, references)?
        }
    };
    Ok((slots.into_iter().map(Some).collect(), failures))
}

/// Who launches: a caller of RunTask or StartTask, or the service scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Standalone,
    /// A service keeps running its revision even after it is deregistered,
    /// as in ECS.
    Service,
}

/// What a launch did: the tasks it created (PROVISIONING, each with an
/// `Effect::Launch` recorded for the task controller), and the instances
/// that could take none.
#[derive(Debug, Default)]
pub struct Launched {
    pub tasks: Vec<Task>,
    pub failures: Vec<Failure>,
}

/// The one launch path of RunTask, StartTask and the service scheduler:
/// resolves the task definition, checks it against the launch, places the
/// tasks and creates their records. `network` is the awsvpc configuration
/// of `input` as looked up in EC2 before the region lock was taken
/// (`domain::network`); a service's launches pass their deployment's.
pub fn launch(
    state: &mut RegionState,
    input: RunTaskRequest,
    network: NetworkLookup,
    target: Target,
    origin: Origin,
) -> Result<Launched, DomainError> {
    let cluster = active_cluster(state, input.cluster.as_deref())?;
    let count = input.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(DomainError::invalid_parameter(ecsbox::run_task_count(
            count,
        )));
    }
    let td = resolve(state, input.task_definition.as_deref().unwrap_or(""))?;
    if td.status.as_deref() != Some("ACTIVE") && origin == Origin::Standalone {
        return Err(DomainError::client(
            ecsbox::task_definition_inactive_for_run(
                td.task_definition_arn.as_deref().unwrap_or(""),
            ),
        ));
    }
    let launch = choose_launch(state, &cluster, &input)?;
    check_compatible(&td, &launch, input.network_configuration.as_ref())?;
    // check_compatible let a configuration through only for awsvpc.
    let network = network?;
    let overrides = input.overrides.clone().unwrap_or_default();
    let definition = apply_overrides(td.clone(), &overrides)?;
    let td_arn = td.task_definition_arn.clone().unwrap_or_default();
    let tags = task_tags(state, &cluster, &td_arn, &input, origin)?;
    let group = input
        .group
        .clone()
        .unwrap_or_else(|| format!("family:{}", td.family.as_deref().unwrap_or("")));
    let ask = PlacementAsk {
        definition: &definition,
        group: &group,
        count: count as usize,
        constraints: input.placement_constraints.as_deref().unwrap_or_default(),
        strategies: input.placement_strategy.as_deref().unwrap_or_default(),
    };
    let (slots, failures) = task_slots(state, &cluster, &target, &launch, &ask)?;

    let mut tasks = Vec::new();
    for slot in slots {
        let slot_zone = slot.as_ref().map(|s| s.availability_zone.clone());
        let subnet = network
            .as_ref()
            .and_then(|n| n.subnet_for(slot_zone.as_deref()));
        // A subnet EC2 knows decides the zone (the ENI is in it); else the
        // container instance's, else the region's first.
        let availability_zone = subnet
            .and_then(|s| s.known.as_ref())
            .map(|k| k.availability_zone.clone())
            .or(slot_zone)
            .unwrap_or_else(|| format!("{}a", state.region));
        let id = new_id();
        let arn = task_arn(state, &cluster, &id);
        let task = Task {
            task_arn: Some(arn.clone()),
            cluster_arn: Some(arn::cluster(&state.region, &state.account, &cluster)),
            task_definition_arn: Some(td_arn.clone()),
            containers: Some(container_views(state, &cluster, &id, &arn, &definition)),
            last_status: Some(TaskStatus::Provisioning.as_str().into()),
            desired_status: Some("RUNNING".into()),
            created_at: Some(epoch_now()),
            launch_type: Some(launch.launch_type.into()),
            capacity_provider_name: launch.capacity_provider.clone(),
            cpu: definition.cpu.clone(),
            memory: definition.memory.clone(),
            overrides: Some(TaskOverride {
                container_overrides: Some(
                    overrides.container_overrides.clone().unwrap_or_default(),
                ),
                inference_accelerator_overrides: Some(vec![]),
                ..overrides.clone()
            }),
            group: Some(group.clone()),
            started_by: input.started_by.clone(),
            attachments: Some(
                network
                    .as_ref()
                    .map(|_| eni_attachment(subnet.map(|s| s.id.as_str()).unwrap_or("")))
                    .into_iter()
                    .collect(),
            ),
            availability_zone: Some(availability_zone),
            container_instance_arn: slot.as_ref().map(|s| s.instance_arn.clone()),
            attributes: slot.as_ref().map(|_| {
                vec![Attribute {
                    name: Some("ecs.cpu-architecture".into()),
                    value: Some("x86_64".into()),
                    ..Default::default()
                }]
            }),
            version: Some(1),
            enable_execute_command: Some(input.enable_execute_command.unwrap_or(false)),
            platform_version: (launch.launch_type == "FARGATE").then(|| "1.4.0".into()),
            platform_family: (launch.launch_type == "FARGATE").then(|| "Linux".into()),
            ephemeral_storage: (launch.launch_type == "FARGATE").then_some(EphemeralStorage {
                size_in_gi_b: Some(20),
            }),
            health_status: Some("UNKNOWN".into()),
            connectivity: None,
            ..Default::default()
        };
        if !tags.is_empty() {
            state.tags.insert(arn.clone(), tags.clone());
        }
        let record = TaskRecord {
            task,
            id,
            cluster: cluster.clone(),
            status: TaskStatus::Provisioning,
            desired: TaskStatus::Running,
            definition: definition.clone(),
            runtime: TaskRuntime::default(),
            stopped_at: None,
            security_groups: network
                .as_ref()
                .map(|n| n.security_groups.clone())
                .unwrap_or_default(),
            protected_until: None,
            lb_targets: Vec::new(),
        };
        let mut view = record.task.clone();
        view.tags = Some(state.tags_of(&arn));
        tasks.push(view);
        state.tasks.insert(arn.clone(), record);
        state.effects.push(Effect::Launch { task_arn: arn });
    }
    Ok(Launched { tasks, failures })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::operations::ErrorCode;

    fn td(network_mode: &str, compat: &[&str]) -> TaskDefinition {
        TaskDefinition {
            network_mode: Some(network_mode.into()),
            compatibilities: Some(compat.iter().map(|s| s.to_string()).collect()),
            container_definitions: Some(vec![ContainerDefinition {
                name: Some("app".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn fargate() -> Launch {
        Launch {
            launch_type: "FARGATE",
            capacity_provider: None,
        }
    }

    #[test]
    fn awsvpc_needs_a_network_configuration() {
        let e = check_compatible(&td("awsvpc", &["EC2", "FARGATE"]), &fargate(), None).unwrap_err();
        assert!(
            e.message.contains("Network Configuration must be provided"),
            "{}",
            e.message
        );
        let net = NetworkConfiguration {
            awsvpc_configuration: Some(AwsVpcConfiguration {
                subnets: Some(vec!["subnet-0123abcd".into()]),
                ..Default::default()
            }),
        };
        assert!(
            check_compatible(&td("awsvpc", &["EC2", "FARGATE"]), &fargate(), Some(&net)).is_ok()
        );
        let e = check_compatible(&td("bridge", &["EC2", "FARGATE"]), &fargate(), Some(&net))
            .unwrap_err();
        assert!(
            e.message.contains("not valid for the given networkMode"),
            "{}",
            e.message
        );
    }

    #[test]
    fn launch_type_must_be_compatible() {
        let e = check_compatible(&td("bridge", &["EC2"]), &fargate(), None).unwrap_err();
        // AWS's words, nothing appended (sil-org/ecs-deploy#134).
        assert_eq!(
            e.message,
            "Task definition does not support launch_type FARGATE."
        );
    }

    #[test]
    fn overrides_replace_and_merge() {
        let mut def = td("awsvpc", &["EC2"]);
        def.container_definitions.as_mut().unwrap()[0].environment = Some(vec![KeyValuePair {
            name: Some("A".into()),
            value: Some("1".into()),
        }]);
        let o = TaskOverride {
            container_overrides: Some(vec![ContainerOverride {
                name: Some("app".into()),
                command: Some(vec!["echo".into(), "hi".into()]),
                environment: Some(vec![
                    KeyValuePair {
                        name: Some("A".into()),
                        value: Some("2".into()),
                    },
                    KeyValuePair {
                        name: Some("B".into()),
                        value: Some("3".into()),
                    },
                ]),
                memory: Some(64),
                ..Default::default()
            }]),
            cpu: Some("512".into()),
            ..Default::default()
        };
        let out = apply_overrides(def.clone(), &o).unwrap();
        let c = &out.container_definitions.as_ref().unwrap()[0];
        assert_eq!(
            c.command.as_ref().unwrap(),
            &vec!["echo".to_string(), "hi".to_string()]
        );
        let env: Vec<_> = c
            .environment
            .as_ref()
            .unwrap()
            .iter()
            .map(|kv| (kv.name.clone().unwrap(), kv.value.clone().unwrap()))
            .collect();
        assert_eq!(
            env,
            vec![
                ("A".to_string(), "2".to_string()),
                ("B".to_string(), "3".to_string())
            ]
        );
        assert_eq!(c.memory, Some(64));
        assert_eq!(out.cpu.as_deref(), Some("512"));

        let bad = TaskOverride {
            container_overrides: Some(vec![ContainerOverride {
                name: Some("ghost".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(
            apply_overrides(def, &bad).unwrap_err().code,
            ErrorCode::InvalidParameterException
        );
    }
}
