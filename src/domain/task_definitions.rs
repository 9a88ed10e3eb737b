//! How ECS reads a task definition when it launches one: which revision a
//! reference names, and the task-level cpu and memory as numbers. The API
//! (Describe, Deregister, Delete, RegisterTaskDefinition's checks) and the
//! launch path read them the same way.

use super::messages::aws;
use super::DomainError;
use crate::model::shapes::TaskDefinition;
use crate::state::{arn, RegionState};

// ---- finding a revision ----

/// What a task definition reference names: a family (its latest ACTIVE
/// revision) or one revision.
#[derive(Debug, PartialEq, Eq)]
pub enum Reference {
    Family(String),
    Revision(String, i32),
}

/// Parses `family`, `family:revision` or a task definition ARN of this
/// account and region. An ARN elsewhere, or of another resource, names
/// nothing here (`Ok(None)`); a revision that is not a number is an error.
pub fn parse_reference(
    state: &RegionState,
    reference: &str,
) -> Result<Option<Reference>, DomainError> {
    let id = if reference.starts_with("arn:") {
        match arn::parse(reference) {
            Some(a)
                if a.resource_type == "task-definition"
                    && a.region == state.region
                    && a.account == state.account =>
            {
                a.id
            }
            _ => return Ok(None),
        }
    } else {
        reference
    };
    match id.split_once(':') {
        None => Ok(Some(Reference::Family(id.to_string()))),
        Some((family, rev)) => match rev.parse::<i32>() {
            Ok(n) if n >= 1 => Ok(Some(Reference::Revision(family.to_string(), n))),
            _ => Err(DomainError::client(format!(
                "Invalid revision number. Number: {rev}. A revision is a whole number of 1 or more, as in '{family}:1'."
            ))),
        },
    }
}

/// The key of the latest ACTIVE revision of a family.
fn latest_active(state: &RegionState, family: &str) -> Option<(String, i32)> {
    let range = (family.to_string(), i32::MIN)..=(family.to_string(), i32::MAX);
    state
        .task_definitions
        .range(range)
        .rev()
        .find(|(_, td)| td.is_active())
        .map(|(key, _)| key.clone())
}

/// The revision a reference (family, family:revision or ARN) names: a bare
/// family means its latest ACTIVE revision. RunTask and DescribeTaskDefinition
/// resolve references the same way.
pub fn resolve(state: &RegionState, reference: &str) -> Result<TaskDefinition, DomainError> {
    // ECS's answer for any reference that names no revision.
    find(state, reference)?
        .ok_or_else(|| DomainError::client(aws::UNABLE_TO_DESCRIBE_TASK_DEFINITION))
}

/// The revision a reference names, if any: `resolve` for callers whose
/// answer for "none" is their own (CreateService says "TaskDefinition not
/// found.").
pub fn find(state: &RegionState, reference: &str) -> Result<Option<TaskDefinition>, DomainError> {
    let key = match parse_reference(state, reference)? {
        Some(Reference::Family(family)) => latest_active(state, &family),
        Some(Reference::Revision(family, revision)) => Some((family, revision)),
        None => None,
    };
    Ok(key
        .and_then(|k| state.task_definitions.get(&k))
        .map(|td| td.get()))
}

// ---- task cpu and memory ----

/// Task cpu as CPU units: "1024", or vCPUs as "1 vCPU" / "0.5 vcpu".
pub fn parse_task_cpu(text: &str) -> Option<i32> {
    let t = text.trim().to_ascii_lowercase();
    match t.strip_suffix("vcpu") {
        Some(vcpus) => scaled(vcpus, 1024),
        None => t.parse::<i32>().ok().filter(|n| *n > 0),
    }
}

/// Task memory as MiB: "2048", "2048 MiB", or "2 GB" (1 GB = 1024 MiB).
pub fn parse_task_memory(text: &str) -> Option<i32> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(gb) = t.strip_suffix("gb") {
        return scaled(gb, 1024);
    }
    let mib = t
        .strip_suffix("mib")
        .or_else(|| t.strip_suffix("mb"))
        .unwrap_or(&t);
    mib.trim().parse::<i32>().ok().filter(|n| *n > 0)
}

/// `number * factor` when that is a positive whole number.
fn scaled(number: &str, factor: i32) -> Option<i32> {
    let n: f64 = number.trim().parse().ok()?;
    let value = n * factor as f64;
    let whole = value.round();
    ((value - whole).abs() < 1e-6 && whole >= 1.0 && whole <= i32::MAX as f64)
        .then_some(whole as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::operations::ErrorCode;

    #[test]
    fn references_parse() {
        let s = RegionState::new("000000000000", "us-east-1");
        assert_eq!(
            parse_reference(&s, "web").unwrap(),
            Some(Reference::Family("web".into()))
        );
        assert_eq!(
            parse_reference(&s, "web:3").unwrap(),
            Some(Reference::Revision("web".into(), 3))
        );
        let arn = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:7";
        assert_eq!(
            parse_reference(&s, arn).unwrap(),
            Some(Reference::Revision("web".into(), 7))
        );
        assert_eq!(
            parse_reference(
                &s,
                "arn:aws:ecs:eu-west-1:000000000000:task-definition/web:7"
            )
            .unwrap(),
            None
        );
        assert_eq!(
            parse_reference(&s, "web:latest").unwrap_err().code,
            ErrorCode::ClientException
        );
    }

    #[test]
    fn cpu_and_memory_forms_normalize() {
        assert_eq!(parse_task_cpu("1024"), Some(1024));
        assert_eq!(parse_task_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_task_cpu(".25 vcpu"), Some(256));
        assert_eq!(parse_task_cpu("0.5vCPU"), Some(512));
        assert_eq!(parse_task_cpu("lots"), None);
        assert_eq!(parse_task_cpu("-5"), None);
        assert_eq!(parse_task_memory("2 GB"), Some(2048));
        assert_eq!(parse_task_memory("0.5GB"), Some(512));
        assert_eq!(parse_task_memory("512 MiB"), Some(512));
        assert_eq!(parse_task_memory("3072"), Some(3072));
        assert_eq!(parse_task_memory("2 TB"), None);
        assert_eq!(
            parse_task_memory("0.1 GB"),
            None,
            "102.4 MiB is not a whole number"
        );
    }
}
