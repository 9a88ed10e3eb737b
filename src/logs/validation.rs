//! What the Logs model cannot say and the generated checks therefore do not:
//! the `aws/` prefix of log group names, the retention periods AWS accepts,
//! the tag rules in Logs' words, and how a log group is named in a request
//! (name, or ARN in `logGroupIdentifier`/`resourceArn`). The name checks
//! below also guard ecsbox's own awslogs driver, whose names come from task
//! definitions rather than through the API's generated checks. Lengths,
//! patterns and ranges of request members are the model's (generated).

use super::errors::{constraint, group_not_found, invalid_parameter, logs};
use super::store::LogsRegion;
use crate::model::logs::operations::ErrorCode;
use crate::protocol::ApiError;
use crate::tags::{Rules, TagViolation, MAX_KEY_CHARS, MAX_TAGS_PER_RESOURCE, MAX_VALUE_CHARS};
use std::collections::BTreeMap;

const GROUP_PATTERN: &str = r"[\.\-_/#A-Za-z0-9]+";
const MAX_NAME: usize = 512;

/// The retention periods AWS accepts, in days.
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn length(value: &str, member: &str, max: usize) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(constraint(
            value,
            member,
            "have length greater than or equal to 1",
        ));
    }
    if value.chars().count() > max {
        return Err(constraint(
            value,
            member,
            &format!("have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// 1 to 512 of `[.-_/#A-Za-z0-9]`.
pub fn group_name(value: &str, member: &str) -> Result<(), ApiError> {
    length(value, member, MAX_NAME)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b))
    {
        return Err(constraint(
            value,
            member,
            &format!("satisfy regular expression pattern: {GROUP_PATTERN}"),
        ));
    }
    Ok(())
}

/// A name the awslogs driver creates a group under: the model's rules and
/// the `aws/` prefix.
pub fn new_group_name(value: &str) -> Result<(), ApiError> {
    group_name(value, "logGroupName")?;
    not_aws_group(value)
}

/// CreateLogGroup refuses the prefix AWS keeps for its own groups.
pub fn not_aws_group(value: &str) -> Result<(), ApiError> {
    if value.starts_with("aws/") {
        return Err(invalid_parameter(
            "Log group names can't start with the string aws/.",
        ));
    }
    Ok(())
}

/// 1 to 512 characters, none of them `:` or `*`.
pub fn stream_name(value: &str, member: &str) -> Result<(), ApiError> {
    length(value, member, MAX_NAME)?;
    if value.contains([':', '*']) {
        return Err(constraint(
            value,
            member,
            "satisfy regular expression pattern: [^:*]*",
        ));
    }
    Ok(())
}

/// A `limit` within the model's range, or the default.
pub fn limit(value: Option<i32>, default: usize, max: usize) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(n) if n < 1 => Err(constraint(
            n,
            "limit",
            "have value greater than or equal to 1",
        )),
        Some(n) if n as usize > max => Err(constraint(
            n,
            "limit",
            &format!("have value less than or equal to {max}"),
        )),
        Some(n) => Ok(n as usize),
    }
}

pub fn retention(days: i32) -> Result<(), ApiError> {
    if RETENTION_DAYS.contains(&days) {
        return Ok(());
    }
    let allowed: Vec<String> = RETENTION_DAYS.iter().map(|d| d.to_string()).collect();
    Err(constraint(
        days,
        "retentionInDays",
        &format!("satisfy enum value set: [{}]", allowed.join(", ")),
    ))
}

/// Logs checks the characters of tags, not the `aws:` prefix; a map cannot
/// give a key twice.
const TAG_RULES: Rules = Rules {
    characters: true,
    reserved_prefix: false,
    unique_keys: false,
};

/// Tag keys of 1 to 128 and values of up to 256 letters, digits, spaces and
/// `_.:/=+-@`.
pub fn tags(tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    crate::tags::check(
        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        TAG_RULES,
    )
    .map_err(tag_error)
}

/// Logs' words for a broken tag rule: the model's constraint wording, and
/// `TooManyTagsException` for a count over the limit.
pub fn tag_error(violation: TagViolation) -> ApiError {
    match violation {
        TagViolation::EmptyKey => constraint("", "tags", "have length greater than or equal to 1"),
        TagViolation::KeyTooLong { key } => {
            constraint(key, "tags", &format!("have length less than or equal to {MAX_KEY_CHARS}"))
        }
        TagViolation::KeyCharacters { key } => {
            constraint(key, "tags", r"satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$")
        }
        TagViolation::ValueTooLong { value, .. } => {
            constraint(value, "tags", &format!("have length less than or equal to {MAX_VALUE_CHARS}"))
        }
        TagViolation::ValueCharacters { value, .. } => {
            constraint(value, "tags", r"satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")
        }
        TagViolation::TooMany { count } => logs(
            ErrorCode::TooManyTagsException,
            format!(
                "A log group can have at most {MAX_TAGS_PER_RESOURCE} tags; this request would leave it with {count}."
            ),
        ),
        // Not among Logs' rules (`TAG_RULES`): the rule's own description.
        other @ (TagViolation::ReservedKey { .. } | TagViolation::DuplicateKey { .. }) => {
            invalid_parameter(format!("Invalid tag: {other}."))
        }
    }
}

/// The log group name a log group ARN of this region names
/// (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME`, with or without `:*`).
/// An ARN of another account or region names nothing here.
pub fn group_from_arn(state: &LogsRegion, arn: &str) -> Result<String, ApiError> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = fields[..] else {
        return Err(invalid_parameter(format!("Invalid ARN: {arn}")));
    };
    if prefix != "arn" || !partition.starts_with("aws") || service != "logs" {
        return Err(invalid_parameter(format!("Invalid ARN: {arn}")));
    }
    let Some(name) = resource.strip_prefix("log-group:") else {
        // Destinations and the like: not something ecsbox keeps.
        return Err(group_not_found());
    };
    let name = name.strip_suffix(":*").unwrap_or(name);
    if region != state.region || account != state.account || name.is_empty() {
        return Err(group_not_found());
    }
    Ok(name.to_string())
}

/// The group a request names by `logGroupName` or `logGroupIdentifier`
/// (name or ARN): exactly one of the two.
pub fn group_reference(
    state: &LogsRegion,
    name: Option<&str>,
    identifier: Option<&str>,
) -> Result<String, ApiError> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(invalid_parameter(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (None, None) => Err(invalid_parameter(
            "Either logGroupName or logGroupIdentifier must be specified.",
        )),
        (Some(name), None) => {
            group_name(name, "logGroupName")?;
            Ok(name.to_string())
        }
        (None, Some(id)) if id.starts_with("arn:") => group_from_arn(state, id),
        (None, Some(id)) => {
            group_name(id, "logGroupIdentifier")?;
            Ok(id.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_the_model_pattern() {
        assert!(group_name("/ecs/my-app_1.0#x", "logGroupName").is_ok());
        let err = group_name("has space", "logGroupName").unwrap_err();
        assert_eq!(err.code, "InvalidParameterException");
        assert!(
            err.message.contains("'logGroupName'") && err.message.contains("regular expression"),
            "{}",
            err.message
        );
        assert!(group_name(&"a".repeat(513), "logGroupName").is_err());
        assert!(new_group_name("aws/mine").is_err());
        assert!(new_group_name("/aws/ecs/mine").is_ok());
    }

    #[test]
    fn stream_names_refuse_colon_and_star() {
        assert!(stream_name("prefix/container/0123abc", "logStreamName").is_ok());
        assert!(stream_name("a:b", "logStreamName").is_err());
        assert!(stream_name("a*", "logStreamName").is_err());
        assert!(stream_name("", "logStreamName").is_err());
    }

    /// Logs' words for each broken tag rule, byte for byte as ecsbox has
    /// always sent them.
    #[test]
    fn tag_messages() {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let err = |pairs: &[(&str, &str)]| tags(&map(pairs)).unwrap_err();
        let prefix = "1 validation error detected: Value";
        let cases: [(&[(&str, &str)], String); 5] = [
            (&[("", "v")], format!("{prefix} '' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1")),
            (&[("a*", "v")], format!(r"{prefix} 'a*' at 'tags' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\p{{L}}\p{{Z}}\p{{N}}_.:/=+\-@]+)$")),
            (&[("a", "v#")], format!(r"{prefix} 'v#' at 'tags' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\p{{L}}\p{{Z}}\p{{N}}_.:/=+\-@]*)$")),
            (&[("a", &"v".repeat(257))], format!("{prefix} '{}' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 256", "v".repeat(257))),
            (&[(&"k".repeat(129), "v")], format!("{prefix} '{}' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 128", "k".repeat(129))),
        ];
        for (given, expected) in cases {
            let e = err(given);
            assert_eq!((e.code, e.message), ("InvalidParameterException", expected));
        }
        // The aws: prefix is not among Logs' rules.
        assert!(tags(&map(&[("aws:x", "")])).is_ok());
        let too_many = tag_error(TagViolation::TooMany { count: 51 });
        assert_eq!(
            (too_many.code, too_many.message.as_str()),
            (
                "TooManyTagsException",
                "A log group can have at most 50 tags; this request would leave it with 51."
            )
        );
    }

    #[test]
    fn only_aws_retention_periods_are_accepted() {
        assert!(retention(14).is_ok());
        assert!(retention(1096).is_ok());
        let err = retention(2).unwrap_err();
        assert!(
            err.message.contains("enum value set: [1, 3, 5"),
            "{}",
            err.message
        );
    }

    #[test]
    fn arns_resolve_only_within_their_region() {
        let state = LogsRegion::new("123456789012", "eu-west-1");
        assert_eq!(
            group_from_arn(
                &state,
                "arn:aws:logs:eu-west-1:123456789012:log-group:/a/b:*"
            )
            .unwrap(),
            "/a/b"
        );
        assert_eq!(
            group_from_arn(&state, "arn:aws:logs:eu-west-1:123456789012:log-group:g").unwrap(),
            "g"
        );
        let other =
            group_from_arn(&state, "arn:aws:logs:us-east-1:123456789012:log-group:g").unwrap_err();
        assert_eq!(other.code, "ResourceNotFoundException");
        assert_eq!(
            group_from_arn(&state, "arn:aws:ecs:eu-west-1:1:cluster/x")
                .unwrap_err()
                .code,
            "InvalidParameterException"
        );
    }
}
