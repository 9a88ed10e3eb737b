//! Log groups: create, delete, describe, retention and deletion protection.

use super::errors::{constraint, group_exists, group_not_found, invalid_parameter, logs};
use super::store::{GroupRecord, LogsRegion};
use super::tokens::{decode_list_token, list_page};
use super::validation;
use crate::model::logs::operations::ErrorCode;
use crate::model::logs::shapes::*;
use crate::protocol::ApiError;

/// Largest page of DescribeLogGroups, and its default.
const MAX_DESCRIBE: usize = 50;

pub fn create(state: &mut LogsRegion, input: CreateLogGroupRequest) -> Result<(), ApiError> {
    let name = input.log_group_name.unwrap_or_default();
    validation::not_aws_group(&name)?;
    if let Some(tags) = &input.tags {
        validation::tags(tags)?;
        crate::tags::check_count(tags.len()).map_err(validation::tag_error)?;
    }
    if state.groups.contains_key(&name) {
        return Err(group_exists());
    }
    let mut group = state.new_group(&name);
    group.kms_key_id = input.kms_key_id;
    group.log_group_class = input
        .log_group_class
        .unwrap_or_else(|| "STANDARD".to_string());
    group.deletion_protection = input.deletion_protection_enabled.unwrap_or(false);
    group.tags = input.tags.unwrap_or_default().into_iter().collect();
    state.groups.insert(name, group);
    Ok(())
}

pub fn delete(state: &mut LogsRegion, input: DeleteLogGroupRequest) -> Result<(), ApiError> {
    let name = input.log_group_name.unwrap_or_default();
    let group = state.groups.get(&name).ok_or_else(group_not_found)?;
    if group.deletion_protection {
        return Err(logs(
            ErrorCode::ValidationException,
            format!("Log group {name} has deletion protection enabled; turn it off with PutLogGroupDeletionProtection first."),
        ));
    }
    if let Some(group) = state.groups.remove(&name) {
        state.memory -= group.memory();
    }
    Ok(())
}

pub fn describe(
    state: &mut LogsRegion,
    input: DescribeLogGroupsRequest,
) -> Result<DescribeLogGroupsResponse, ApiError> {
    let limit = validation::limit(input.limit, MAX_DESCRIBE, MAX_DESCRIBE)?;
    let filter = GroupFilter::from_request(state, &input)?;
    let after = decode_list_token(input.next_token.as_deref())?;
    let items: Vec<(String, &GroupRecord)> = state
        .groups
        .iter()
        .filter(|(name, g)| filter.matches(name, g))
        .map(|(name, g)| (name.clone(), g))
        .collect();
    let (page, next_token) = list_page(items, after.as_deref(), false, limit);
    let brief = input.log_group_name_pattern.is_some();
    let log_groups = page
        .into_iter()
        .map(|g| describe_group(state, g, brief))
        .collect();
    Ok(DescribeLogGroupsResponse {
        log_groups: Some(log_groups),
        next_token,
    })
}

/// What DescribeLogGroups narrows the list by.
struct GroupFilter {
    prefix: Option<String>,
    pattern: Option<String>,
    identifiers: Option<Vec<String>>,
    classes: Option<Vec<&'static str>>,
}

impl GroupFilter {
    fn from_request(
        state: &LogsRegion,
        input: &DescribeLogGroupsRequest,
    ) -> Result<Self, ApiError> {
        if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
            return Err(invalid_parameter(
                "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            ));
        }
        if let Some(pattern) = &input.log_group_name_pattern {
            if !pattern
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b))
            {
                return Err(constraint(
                    pattern,
                    "logGroupNamePattern",
                    r"satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]*",
                ));
            }
        }
        let identifiers = match &input.log_group_identifiers {
            Some(_) if input.log_group_name_prefix.is_some() || input.log_group_name_pattern.is_some() => {
                return Err(invalid_parameter(
                    "logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.",
                ))
            }
            Some(ids) => Some(ids.iter().map(|id| identifier_name(state, id)).collect()),
            None => None,
        };
        // Infrequent Access and Essentials are asked for together, as AWS does.
        let classes = input.log_group_class.as_deref().map(|c| match c {
            "INFREQUENT_ACCESS" | "ESSENTIALS" => vec!["INFREQUENT_ACCESS", "ESSENTIALS"],
            "DELIVERY" => vec!["DELIVERY"],
            _ => vec!["STANDARD"],
        });
        Ok(GroupFilter {
            prefix: input.log_group_name_prefix.clone(),
            pattern: input
                .log_group_name_pattern
                .clone()
                .filter(|p| !p.is_empty()),
            identifiers,
            classes,
        })
    }

    fn matches(&self, name: &str, group: &GroupRecord) -> bool {
        self.prefix.as_deref().is_none_or(|p| name.starts_with(p))
            // A case-sensitive substring, as the model documents.
            && self.pattern.as_deref().is_none_or(|p| name.contains(p))
            && self.identifiers.as_ref().is_none_or(|ids| ids.iter().any(|id| id == name))
            && self.classes.as_ref().is_none_or(|c| c.contains(&group.log_group_class.as_str()))
    }
}

/// A `logGroupIdentifiers` entry as a name; an ARN of elsewhere matches nothing.
fn identifier_name(state: &LogsRegion, id: &str) -> String {
    if id.starts_with("arn:") {
        validation::group_from_arn(state, id).unwrap_or_default()
    } else {
        id.to_string()
    }
}

/// A group as DescribeLogGroups shows it; with a name pattern AWS answers
/// only the name, ARN and creation time.
fn describe_group(state: &LogsRegion, group: &GroupRecord, brief: bool) -> LogGroup {
    let arn = state.group_arn(&group.name);
    let mut out = LogGroup {
        log_group_name: Some(group.name.clone()),
        creation_time: Some(group.creation_time),
        arn: Some(format!("{arn}:*")),
        ..Default::default()
    };
    if brief {
        return out;
    }
    out.retention_in_days = group.retention_in_days;
    out.metric_filter_count = Some(0);
    out.stored_bytes = Some(group.stored_bytes());
    out.kms_key_id = group.kms_key_id.clone();
    out.log_group_class = Some(group.log_group_class.clone());
    out.log_group_arn = Some(arn);
    out.deletion_protection_enabled = Some(group.deletion_protection);
    out
}

pub fn put_retention(
    state: &mut LogsRegion,
    input: PutRetentionPolicyRequest,
) -> Result<(), ApiError> {
    let name = input.log_group_name.unwrap_or_default();
    let days = input.retention_in_days.unwrap_or_default();
    validation::retention(days)?;
    state
        .groups
        .get_mut(&name)
        .ok_or_else(group_not_found)?
        .retention_in_days = Some(days);
    Ok(())
}

pub fn delete_retention(
    state: &mut LogsRegion,
    input: DeleteRetentionPolicyRequest,
) -> Result<(), ApiError> {
    let name = input.log_group_name.unwrap_or_default();
    state
        .groups
        .get_mut(&name)
        .ok_or_else(group_not_found)?
        .retention_in_days = None;
    Ok(())
}

pub fn put_deletion_protection(
    state: &mut LogsRegion,
    input: PutLogGroupDeletionProtectionRequest,
) -> Result<(), ApiError> {
    let name = validation::group_reference(state, None, input.log_group_identifier.as_deref())?;
    let enabled = input.deletion_protection_enabled.unwrap_or(false);
    state
        .groups
        .get_mut(&name)
        .ok_or_else(group_not_found)?
        .deletion_protection = enabled;
    Ok(())
}
