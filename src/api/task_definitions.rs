//! Task definitions: Register, Describe, List, ListTaskDefinitionFamilies,
//! Deregister, Delete.
//!
//! Revisions live in `RegionState.task_definitions`, keyed (family, revision)
//! so that the map's order is ListTaskDefinitions' order and every page is a
//! range query starting after its token. A family's revision numbers come
//! from `last_revision` and never repeat, not even after a delete; the region
//! lock makes concurrent registrations of one family take turns.

use super::pagination::{decode_token, page_size, take_page};
use super::task_definition_rules::{self as rules, TaskSize};
use crate::domain::messages::ecsbox;
use crate::domain::task_definitions::{parse_reference, resolve, Reference};
use crate::domain::validation;
use crate::model::shapes::*;
use crate::protocol::ApiError;
use crate::state::task_definitions::{RevisionStatus, StoredTaskDefinition};
use crate::state::{arn, RegionState};
use std::ops::Bound;

const ACTIVE: &str = "ACTIVE";
const INACTIVE: &str = "INACTIVE";
const DELETE_IN_PROGRESS: &str = "DELETE_IN_PROGRESS";

/// DeleteTaskDefinitions takes at most this many revisions per call.
const MAX_DELETE: usize = 10;

/// Now, to the millisecond: the precision task definitions' times have always had here.
fn now() -> f64 {
    crate::clock::now_millis() as f64 / 1000.0
}

// ---- Register ----

pub fn register(
    state: &mut RegionState,
    input: RegisterTaskDefinitionRequest,
) -> Result<RegisterTaskDefinitionResponse, ApiError> {
    let size = rules::check(&input)?;
    let tags = input.tags.clone().unwrap_or_default();
    let tag_set = validation::tags(&tags)?;

    let family = input.family.clone().unwrap_or_default();
    let revision = state.last_revision.get(&family).copied().unwrap_or(0) + 1;
    let definition = build(state, input, size, revision);
    let definition_arn = definition.task_definition_arn.clone().unwrap_or_default();
    state.last_revision.insert(family.clone(), revision);
    state
        .task_definitions
        .insert((family, revision), StoredTaskDefinition::new(&definition));
    if !tag_set.is_empty() {
        state.tags.insert(definition_arn, tag_set);
    }
    Ok(RegisterTaskDefinitionResponse {
        task_definition: Some(definition),
        tags: Some(tags),
    })
}

/// The stored revision: every member of the request as given (task cpu and
/// memory normalized to numbers), the defaults ECS fills in, and what ECS
/// derives: ARN, status, compatibilities, required attributes, who and when.
fn build(
    state: &RegionState,
    input: RegisterTaskDefinitionRequest,
    size: TaskSize,
    revision: i32,
) -> TaskDefinition {
    let compatibilities = rules::compatibilities(&input, size);
    let mode = rules::network_mode(&input).to_string();
    // Destructured in full so that a member added to the model cannot be
    // dropped silently: it fails to compile here until it is carried over.
    let RegisterTaskDefinitionRequest {
        family,
        task_role_arn,
        execution_role_arn,
        network_mode,
        container_definitions,
        volumes,
        placement_constraints,
        requires_compatibilities,
        cpu: _,
        memory: _,
        tags: _,
        pid_mode,
        ipc_mode,
        proxy_configuration,
        inference_accelerators,
        ephemeral_storage,
        runtime_platform,
        enable_fault_injection,
        trusted_execution_configuration,
    } = input;
    let family = family.unwrap_or_default();
    let containers = container_definitions
        .unwrap_or_default()
        .into_iter()
        .map(|c| with_defaults(c, &mode))
        .collect();
    let mut definition = TaskDefinition {
        task_definition_arn: Some(arn::task_definition(
            &state.region,
            &state.account,
            &family,
            revision,
        )),
        container_definitions: Some(containers),
        family: Some(family),
        task_role_arn,
        execution_role_arn,
        network_mode,
        revision: Some(revision),
        volumes: Some(
            volumes
                .unwrap_or_default()
                .into_iter()
                .map(volume_with_defaults)
                .collect(),
        ),
        status: Some(ACTIVE.into()),
        requires_attributes: None,
        placement_constraints: Some(placement_constraints.unwrap_or_default()),
        compatibilities: Some(compatibilities),
        runtime_platform,
        requires_compatibilities,
        cpu: size.cpu.map(|c| c.to_string()),
        memory: size.memory.map(|m| m.to_string()),
        inference_accelerators,
        pid_mode,
        ipc_mode,
        proxy_configuration,
        registered_at: Some(now()),
        deregistered_at: None,
        delete_requested_at: None,
        registered_by: Some(format!("arn:aws:iam::{}:root", state.account)),
        ephemeral_storage,
        enable_fault_injection,
        trusted_execution_configuration,
    };
    let attributes = required_attributes(&definition);
    definition.requires_attributes = (!attributes.is_empty()).then_some(attributes);
    definition
}

/// What ECS adds to a container it stores: cpu 0, essential, empty lists
/// for the list members it always shows, and port mappings completed (tcp;
/// in awsvpc and host modes the host port is the container port, in bridge
/// mode an omitted host port is 0, a dynamic port).
fn with_defaults(mut c: ContainerDefinition, network_mode: &str) -> ContainerDefinition {
    c.cpu.get_or_insert(0);
    c.essential.get_or_insert(true);
    let ports = c.port_mappings.take().unwrap_or_default();
    c.port_mappings = Some(
        ports
            .into_iter()
            .map(|pm| complete_port_mapping(pm, network_mode))
            .collect(),
    );
    c.environment.get_or_insert_with(Vec::new);
    c.mount_points.get_or_insert_with(Vec::new);
    c.volumes_from.get_or_insert_with(Vec::new);
    c.system_controls.get_or_insert_with(Vec::new);
    c
}

/// A volume with no configuration at all is a task-scoped bind mount, which
/// ECS shows as `"host": {}`.
fn volume_with_defaults(mut v: Volume) -> Volume {
    let configured = v.host.is_some()
        || v.docker_volume_configuration.is_some()
        || v.efs_volume_configuration.is_some()
        || v.fsx_windows_file_server_volume_configuration.is_some()
        || v.s3files_volume_configuration.is_some()
        || v.configured_at_launch.is_some();
    if !configured {
        v.host = Some(HostVolumeProperties::default());
    }
    // ECS describes an EFS volume registered without rootDirectory with
    // "/", the file system's root, even when an access point is used
    // (CircleCI-Public/aws-ecs-orb#105: "AWS adds it once new revision is
    // created"; hashicorp/terraform-provider-aws#26793 shows "/" read back).
    if let Some(efs) = v.efs_volume_configuration.as_mut() {
        efs.root_directory.get_or_insert_with(|| "/".into());
    }
    v
}

fn complete_port_mapping(mut pm: PortMapping, network_mode: &str) -> PortMapping {
    pm.protocol.get_or_insert_with(|| "tcp".into());
    if pm.host_port.is_none() {
        if let Some(port) = pm.container_port {
            pm.host_port = Some(if network_mode == "bridge" { 0 } else { port });
        }
    }
    pm
}

// ---- requiresAttributes ----

const DOCKER_API: &str = "com.amazonaws.ecs.capability.docker-remote-api.";

/// The container instance attributes a revision needs, as ECS derives them
/// from the features it uses (the ECS guide's "container agent attributes").
/// A subset: the features whose attribute is documented.
fn required_attributes(td: &TaskDefinition) -> Vec<Attribute> {
    let mut names: Vec<String> = Vec::new();
    task_attributes(td, &mut names);
    for c in td.container_definitions.as_deref().unwrap_or_default() {
        container_attributes(td, c, &mut names);
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
        .into_iter()
        .map(|name| Attribute {
            name: Some(name),
            ..Default::default()
        })
        .collect()
}

fn task_attributes(td: &TaskDefinition, names: &mut Vec<String>) {
    let mut add = |n: &str| names.push(n.to_string());
    if td.task_role_arn.is_some() {
        add("com.amazonaws.ecs.capability.task-iam-role");
    }
    if td.network_mode.as_deref() == Some("awsvpc") {
        add("ecs.capability.task-eni");
    }
    if td.pid_mode.is_some() || td.ipc_mode.is_some() {
        add("ecs.capability.pid-ipc-namespace-sharing");
    }
    if td.proxy_configuration.is_some() {
        add("ecs.capability.aws-appmesh");
    }
    for v in td.volumes.as_deref().unwrap_or_default() {
        if let Some(efs) = &v.efs_volume_configuration {
            add("ecs.capability.efs");
            if efs.authorization_config.is_some() {
                add("ecs.capability.efsAuth");
            }
        }
        if v.fsx_windows_file_server_volume_configuration.is_some() {
            add("ecs.capability.fsxWindowsFileServer");
        }
        if v.docker_volume_configuration.is_some() {
            add(&format!("{DOCKER_API}1.25"));
        }
    }
}

fn container_attributes(td: &TaskDefinition, c: &ContainerDefinition, names: &mut Vec<String>) {
    let has_execution_role = td.execution_role_arn.is_some();
    let mut add = |n: String| names.push(n);
    if let Some(driver) = c
        .log_configuration
        .as_ref()
        .and_then(|l| l.log_driver.as_deref())
    {
        add(format!(
            "com.amazonaws.ecs.capability.logging-driver.{driver}"
        ));
        add(format!("{DOCKER_API}1.18"));
        if driver == "awslogs" {
            add(format!("{DOCKER_API}1.19"));
            if has_execution_role {
                add("ecs.capability.execution-role-awslogs".into());
            }
        }
    }
    if rules::is_ecr_image(c.image.as_deref().unwrap_or("")) {
        add("com.amazonaws.ecs.capability.ecr-auth".into());
        if has_execution_role {
            add("ecs.capability.execution-role-ecr-pull".into());
        }
    }
    for secret in c.secrets.as_deref().unwrap_or_default() {
        let from = secret.value_from.as_deref().unwrap_or("");
        let store = if from.contains(":secretsmanager:") {
            "asm"
        } else {
            "ssm"
        };
        add(format!(
            "ecs.capability.secrets.{store}.environment-variables"
        ));
    }
    if c.repository_credentials.is_some() {
        add("com.amazonaws.ecs.capability.private-registry-authentication.secretsmanager".into());
    }
    if c.health_check.is_some() {
        add("ecs.capability.container-health-check".into());
        add(format!("{DOCKER_API}1.24"));
    }
    if c.depends_on.as_ref().is_some_and(|d| !d.is_empty()) {
        add("ecs.capability.container-ordering".into());
    }
    if c.environment_files.as_ref().is_some_and(|e| !e.is_empty()) {
        add("ecs.capability.env-files.s3".into());
    }
    if let Some(kind) = c
        .firelens_configuration
        .as_ref()
        .and_then(|f| f.r#type.as_deref())
    {
        add(format!("ecs.capability.firelens.{kind}"));
    }
    docker_api_attributes(c, &mut add);
}

/// Container settings that need a minimum Docker Remote API version.
fn docker_api_attributes(c: &ContainerDefinition, add: &mut impl FnMut(String)) {
    let non_empty = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
    if non_empty(&c.docker_security_options) || c.readonly_root_filesystem.is_some() {
        add(format!("{DOCKER_API}1.17"));
    }
    if c.docker_labels.as_ref().is_some_and(|l| !l.is_empty())
        || c.ulimits.as_ref().is_some_and(|u| !u.is_empty())
    {
        add(format!("{DOCKER_API}1.18"));
    }
    if c.memory_reservation.is_some() {
        add(format!("{DOCKER_API}1.21"));
    }
    if c.linux_parameters
        .as_ref()
        .is_some_and(|l| l.init_process_enabled.is_some())
    {
        add(format!("{DOCKER_API}1.25"));
    }
}

pub fn describe(
    state: &mut RegionState,
    input: DescribeTaskDefinitionRequest,
) -> Result<DescribeTaskDefinitionResponse, ApiError> {
    let definition = resolve(state, input.task_definition.as_deref().unwrap_or(""))?;
    let with_tags = input
        .include
        .unwrap_or_default()
        .iter()
        .any(|i| i == "TAGS");
    let tags =
        with_tags.then(|| state.tags_of(definition.task_definition_arn.as_deref().unwrap_or("")));
    Ok(DescribeTaskDefinitionResponse {
        task_definition: Some(definition),
        tags,
    })
}

// ---- ListTaskDefinitions ----

/// A page token stands for the (family, revision) key last returned.
fn revision_token_key(token: Option<&str>) -> Result<Option<(String, i32)>, ApiError> {
    let bad = || ApiError::invalid_parameter(ecsbox::LIST_TASK_DEFINITIONS_TOKEN_INVALID);
    let Some(key) = decode_token(token)? else {
        return Ok(None);
    };
    let (family, rev) = key.rsplit_once(':').ok_or_else(bad)?;
    Ok(Some((family.to_string(), rev.parse().map_err(|_| bad())?)))
}

pub fn list(
    state: &mut RegionState,
    input: ListTaskDefinitionsRequest,
) -> Result<ListTaskDefinitionsResponse, ApiError> {
    let size = page_size(input.max_results, 100, 100)?;
    let after = revision_token_key(input.next_token.as_deref())?;
    let status = input.status.unwrap_or_else(|| ACTIVE.into());
    let descending = input.sort.as_deref() == Some("DESC");
    // `familyPrefix` is, despite its name, the full family name (ECS API reference).
    let family = input.family_prefix.filter(|f| !f.is_empty());
    if let (Some(f), Some((token_family, _))) = (&family, &after) {
        if f != token_family {
            return Err(ApiError::invalid_parameter(
                ecsbox::LIST_TASK_DEFINITIONS_TOKEN_OTHER_FAMILY,
            ));
        }
    }
    let family_start = family
        .as_ref()
        .map(|f| Bound::Included((f.clone(), i32::MIN)))
        .unwrap_or(Bound::Unbounded);
    let family_end = family
        .as_ref()
        .map(|f| Bound::Included((f.clone(), i32::MAX)))
        .unwrap_or(Bound::Unbounded);
    let after = after.map(Bound::Excluded);
    let matching =
        |(_, td): &(&(String, i32), &StoredTaskDefinition)| td.status().as_str() == status;
    let (page, next_token) = if descending {
        let range = state
            .task_definitions
            .range((family_start, after.unwrap_or(family_end)));
        take_page(range.rev().filter(matching), size, key_of)
    } else {
        let range = state
            .task_definitions
            .range((after.unwrap_or(family_start), family_end));
        take_page(range.filter(matching), size, key_of)
    };
    Ok(ListTaskDefinitionsResponse {
        task_definition_arns: Some(
            page.into_iter()
                .map(|((family, revision), _)| {
                    arn::task_definition(&state.region, &state.account, family, *revision)
                })
                .collect(),
        ),
        next_token,
    })
}

fn key_of((key, _): &(&(String, i32), &StoredTaskDefinition)) -> String {
    format!("{}:{}", key.0, key.1)
}

// ---- ListTaskDefinitionFamilies ----

/// Walks (family, revision) entries and yields each family once, with
/// whether any of its revisions is ACTIVE.
struct Families<I: Iterator> {
    entries: std::iter::Peekable<I>,
}

impl<'a, I: Iterator<Item = (&'a (String, i32), &'a StoredTaskDefinition)>> Iterator
    for Families<I>
{
    type Item = (&'a str, bool);

    fn next(&mut self) -> Option<Self::Item> {
        let ((family, _), first) = self.entries.next()?;
        let mut active = first.is_active();
        while let Some((_, td)) = self.entries.next_if(|((f, _), _)| f == family) {
            active |= td.is_active();
        }
        Some((family.as_str(), active))
    }
}

pub fn list_families(
    state: &mut RegionState,
    input: ListTaskDefinitionFamiliesRequest,
) -> Result<ListTaskDefinitionFamiliesResponse, ApiError> {
    let size = page_size(input.max_results, 100, 100)?;
    let after = decode_token(input.next_token.as_deref())?;
    let prefix = input.family_prefix.unwrap_or_default();
    // A family is ACTIVE while it has an ACTIVE revision, INACTIVE otherwise;
    // by default both are listed.
    let wanted = |active: bool| match input.status.as_deref() {
        Some(ACTIVE) => active,
        Some(INACTIVE) => !active,
        _ => true,
    };
    let start = match after {
        Some(family) if family >= prefix => Bound::Excluded((family, i32::MAX)),
        _ => Bound::Included((prefix.clone(), i32::MIN)),
    };
    let entries = state
        .task_definitions
        .range((start, Bound::Unbounded))
        .take_while(|((f, _), _)| f.starts_with(&prefix));
    let families = Families {
        entries: entries.peekable(),
    }
    .filter(|(_, active)| wanted(*active));
    let (page, next_token) = take_page(families, size, |(family, _)| family.to_string());
    Ok(ListTaskDefinitionFamiliesResponse {
        families: Some(
            page.into_iter()
                .map(|(family, _)| family.to_string())
                .collect(),
        ),
        next_token,
    })
}

// ---- Deregister and Delete ----

/// The (family, revision) a Deregister or Delete reference names, which
/// must include the revision.
fn revision_key(state: &RegionState, reference: &str) -> Result<Option<(String, i32)>, ApiError> {
    match parse_reference(state, reference)? {
        Some(Reference::Revision(family, revision)) => Ok(Some((family, revision))),
        Some(Reference::Family(family)) => Err(ApiError::client(
            ecsbox::task_definition_revision_required(&family),
        )),
        None => Ok(None),
    }
}

pub fn deregister(
    state: &mut RegionState,
    input: DeregisterTaskDefinitionRequest,
) -> Result<DeregisterTaskDefinitionResponse, ApiError> {
    let reference = input.task_definition.unwrap_or_default();
    let key = revision_key(state, &reference)?;
    let definition = key
        .and_then(|k| state.task_definitions.get_mut(&k))
        .ok_or_else(|| ApiError::client(ecsbox::deregister_revision_not_found(&reference)))?;
    // Deregistering an INACTIVE revision again answers it as it is.
    let answer = if definition.is_active() {
        definition.update(|td| {
            td.status = Some(INACTIVE.into());
            td.deregistered_at = Some(now());
        })
    } else {
        definition.get()
    };
    Ok(DeregisterTaskDefinitionResponse {
        task_definition: Some(answer),
    })
}

pub fn delete(
    state: &mut RegionState,
    input: DeleteTaskDefinitionsRequest,
) -> Result<DeleteTaskDefinitionsResponse, ApiError> {
    let references = input.task_definitions.unwrap_or_default();
    if references.is_empty() || references.len() > MAX_DELETE {
        return Err(ApiError::invalid_parameter(
            ecsbox::delete_task_definitions_count(MAX_DELETE, references.len()),
        ));
    }
    let (mut deleted, mut failures) = (vec![], vec![]);
    for reference in references {
        match delete_one(state, &reference) {
            Ok(definition) => deleted.push(definition),
            Err(reason) => failures.push(Failure {
                arn: Some(failure_arn(state, &reference)),
                reason: Some(reason),
                detail: None,
            }),
        }
    }
    Ok(DeleteTaskDefinitionsResponse {
        task_definitions: Some(deleted),
        failures: Some(failures),
    })
}

/// Moves one INACTIVE revision to DELETE_IN_PROGRESS and answers it; it is
/// gone once no task or service uses it. The family keeps its revision count.
fn delete_one(state: &mut RegionState, reference: &str) -> Result<TaskDefinition, String> {
    let key = revision_key(state, reference)
        .map_err(|e| e.message)?
        .ok_or_else(|| ecsbox::NO_SUCH_REVISION.to_string())?;
    let definition = state
        .task_definitions
        .get_mut(&key)
        .ok_or_else(|| ecsbox::NO_SUCH_REVISION.to_string())?;
    match definition.status() {
        RevisionStatus::Active => return Err(ecsbox::DELETE_ACTIVE_TASK_DEFINITION.into()),
        RevisionStatus::DeleteInProgress => return Ok(definition.get()),
        RevisionStatus::Inactive => {}
    }
    let answer = definition.update(|td| {
        td.status = Some(DELETE_IN_PROGRESS.into());
        td.delete_requested_at = Some(now());
    });
    let definition_arn = answer.task_definition_arn.clone().unwrap_or_default();
    if !state.task_definition_in_use(&definition_arn) {
        state.task_definitions.remove(&key);
        state.tags.remove(&definition_arn);
    }
    Ok(answer)
}

/// The ARN a failure names: the revision's ARN where the reference is a
/// `family:revision`, else the reference as given.
fn failure_arn(state: &RegionState, reference: &str) -> String {
    match parse_reference(state, reference) {
        Ok(Some(Reference::Revision(family, revision))) if !reference.starts_with("arn:") => {
            arn::task_definition(&state.region, &state.account, &family, revision)
        }
        _ => reference.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> RegionState {
        RegionState::new("000000000000", "us-east-1")
    }

    fn register_one(state: &mut RegionState, family: &str) -> TaskDefinition {
        let container = ContainerDefinition {
            name: Some("app".into()),
            image: Some("busybox".into()),
            memory: Some(64),
            ..Default::default()
        };
        let input = RegisterTaskDefinitionRequest {
            family: Some(family.into()),
            container_definitions: Some(vec![container]),
            ..Default::default()
        };
        register(state, input).unwrap().task_definition.unwrap()
    }

    fn list_all(state: &mut RegionState, sort: Option<&str>, page: i32) -> Vec<String> {
        let mut out = vec![];
        let mut token = None;
        loop {
            let input = ListTaskDefinitionsRequest {
                sort: sort.map(String::from),
                max_results: Some(page),
                next_token: token,
                ..Default::default()
            };
            let answer = list(state, input).unwrap();
            out.extend(answer.task_definition_arns.unwrap());
            token = answer.next_token;
            if token.is_none() {
                return out;
            }
        }
    }

    #[test]
    fn pages_walk_every_revision_in_order_both_ways() {
        let mut s = state();
        for family in ["b", "a", "c"] {
            for _ in 0..7 {
                register_one(&mut s, family);
            }
        }
        let ascending = list_all(&mut s, None, 4);
        assert_eq!(ascending.len(), 21);
        assert!(ascending[0].ends_with("/a:1") && ascending[20].ends_with("/c:7"));
        let mut descending = list_all(&mut s, Some("DESC"), 5);
        descending.reverse();
        assert_eq!(ascending, descending);
    }

    #[test]
    fn families_group_revisions_and_page() {
        let mut s = state();
        for family in ["web", "web", "worker", "api"] {
            register_one(&mut s, family);
        }
        deregister(
            &mut s,
            DeregisterTaskDefinitionRequest {
                task_definition: Some("api:1".into()),
            },
        )
        .unwrap();
        let all = |s: &mut RegionState, status: Option<&str>, max: i32, token: Option<String>| {
            let input = ListTaskDefinitionFamiliesRequest {
                status: status.map(String::from),
                max_results: Some(max),
                next_token: token,
                ..Default::default()
            };
            list_families(s, input).unwrap()
        };
        let first = all(&mut s, None, 2, None);
        assert_eq!(first.families.unwrap(), ["api", "web"]);
        let second = all(&mut s, None, 2, first.next_token);
        assert_eq!(second.families.unwrap(), ["worker"]);
        assert_eq!(second.next_token, None);
        assert_eq!(
            all(&mut s, Some("ACTIVE"), 10, None).families.unwrap(),
            ["web", "worker"]
        );
        assert_eq!(
            all(&mut s, Some("INACTIVE"), 10, None).families.unwrap(),
            ["api"]
        );
    }

    #[test]
    fn a_token_deep_in_5000_revisions_resumes_right_after_it() {
        let mut s = state();
        for _ in 0..5000 {
            register_one(&mut s, "big");
        }
        let token = crate::api::pagination::encode_token("big:4998");
        let input = ListTaskDefinitionsRequest {
            next_token: Some(token),
            ..Default::default()
        };
        let page = list(&mut s, input).unwrap();
        let arns = page.task_definition_arns.unwrap();
        assert!(
            arns[0].ends_with("/big:4999") && arns[1].ends_with("/big:5000") && arns.len() == 2,
            "{arns:?}"
        );
        assert_eq!(page.next_token, None);
    }
}
