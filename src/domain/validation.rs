//! Checks shared by several resource groups, with AWS's exceptions: tags,
//! resource names, capacity provider strategies. The messages are read from
//! the catalogue, `domain::messages::ecsbox` (ecsbox's wording, AWS's not
//! confirmed).

use super::messages::ecsbox;
use super::DomainError;
use crate::model::shapes::{CapacityProviderStrategyItem, Tag};
use crate::tags::{pairs_of, Rules, TagSet, TagViolation, MAX_TAGS_PER_RESOURCE};

/// ECS's tag rules beyond the lengths: the `aws:` prefix is AWS's, and a
/// key may not be given twice in one request. ECS in AWS also restricts
/// the characters; ecsbox has never checked them (README, "Known
/// differences from AWS"), so that rule stays off.
const RULES: Rules = Rules {
    characters: false,
    reserved_prefix: true,
    unique_keys: true,
};

/// The tags of a create or run request, checked by AWS's rules (at most 50,
/// keys 1-128 and values 0-256 characters, keys unique, the `aws:` prefix
/// reserved), as the set the resource will hold.
pub fn tags(tags: &[Tag]) -> Result<TagSet, DomainError> {
    crate::tags::check_count(tags.len()).map_err(tag_error)?;
    crate::tags::check(pairs_of(tags), RULES).map_err(tag_error)?;
    Ok(TagSet::from_shapes(tags))
}

/// ECS's words for a broken tag rule (the count as given in one request;
/// TagResource words a count after merging itself).
pub fn tag_error(violation: TagViolation) -> DomainError {
    let message = match violation {
        TagViolation::TooMany { count } => ecsbox::tags_too_many(MAX_TAGS_PER_RESOURCE, count),
        TagViolation::EmptyKey => ecsbox::tag_key_length(""),
        TagViolation::KeyTooLong { key } => ecsbox::tag_key_length(&key),
        TagViolation::ValueTooLong { key, .. } => ecsbox::tag_value_too_long(&key),
        TagViolation::ReservedKey { key } => ecsbox::reserved_tag_key(&key),
        TagViolation::DuplicateKey { key } => ecsbox::tag_key_duplicate(&key),
        // Not among ECS's rules (`RULES`): the rule's own description.
        other @ (TagViolation::KeyCharacters { .. } | TagViolation::ValueCharacters { .. }) => {
            ecsbox::tag_invalid(&other.to_string())
        }
    };
    DomainError::invalid_parameter(message)
}

/// Names of clusters, capacity providers and families: letters, digits,
/// hyphens and underscores, 1 to 255 characters.
pub fn resource_name(kind: &str, name: &str) -> Result<(), DomainError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid_parameter(
            ecsbox::resource_name_invalid(kind, name),
        ))
    }
}

/// A capacity provider strategy: weights 0-1000, bases 0-100000, at most one
/// item with a base, no provider twice, and not both Fargate and Auto Scaling
/// group providers. `exists` says whether a provider name is known.
pub fn capacity_provider_strategy(
    strategy: &[CapacityProviderStrategyItem],
    exists: impl Fn(&str) -> bool,
) -> Result<(), DomainError> {
    if strategy.len() > 20 {
        return Err(DomainError::invalid_parameter(
            ecsbox::STRATEGY_TOO_MANY_PROVIDERS,
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut with_base = 0;
    let (mut fargate, mut other) = (false, false);
    for item in strategy {
        let name = item.capacity_provider.as_deref().unwrap_or("");
        if !exists(name) {
            return Err(DomainError::invalid_parameter(
                ecsbox::capacity_provider_unknown(name),
            ));
        }
        if !seen.insert(name) {
            return Err(DomainError::invalid_parameter(
                ecsbox::strategy_provider_duplicate(name),
            ));
        }
        if let Some(w) = item.weight {
            if !(0..=1000).contains(&w) {
                return Err(DomainError::invalid_parameter(
                    ecsbox::strategy_weight_range(name, w),
                ));
            }
        }
        match item.base {
            Some(b) if !(0..=100_000).contains(&b) => {
                return Err(DomainError::invalid_parameter(ecsbox::strategy_base_range(
                    name, b,
                )));
            }
            Some(b) if b > 0 => with_base += 1,
            _ => {}
        }
        if is_fargate_provider(name) {
            fargate = true
        } else {
            other = true
        }
    }
    if with_base > 1 {
        return Err(DomainError::invalid_parameter(ecsbox::STRATEGY_ONE_BASE));
    }
    if fargate && other {
        return Err(DomainError::invalid_parameter(
            ecsbox::STRATEGY_FARGATE_AND_ASG,
        ));
    }
    Ok(())
}

pub fn is_fargate_provider(name: &str) -> bool {
    name == "FARGATE" || name == "FARGATE_SPOT"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        }
    }

    #[test]
    fn tag_rules() {
        assert!(tags(&[tag("env", "dev")]).is_ok());
        assert!(tags(&[tag("aws:x", "1")]).is_err());
        assert!(tags(&[tag("", "1")]).is_err());
        assert!(tags(&[tag("a", &"v".repeat(257))]).is_err());
        assert!(tags(&(0..51).map(|i| tag(&i.to_string(), "")).collect::<Vec<_>>()).is_err());
        assert!(tags(&[tag("a", "1"), tag("a", "2")]).is_err());
    }

    /// ECS's words for each broken rule, byte for byte as ecsbox has always
    /// sent them (ecsbox's own words; AWS's are not on record here).
    #[test]
    fn tag_messages() {
        let message = |given: Vec<Tag>| tags(&given).unwrap_err().message;
        let k129 = "k".repeat(129);
        let cases = [
            (
                vec![tag("aws:x", "1")],
                "Tag keys beginning with 'aws:' are reserved for AWS use; 'aws:x' cannot be set."
                    .to_string(),
            ),
            (
                vec![tag("AWS:x", "1")],
                "Tag keys beginning with 'aws:' are reserved for AWS use; 'AWS:x' cannot be set."
                    .to_string(),
            ),
            (
                vec![tag("", "1")],
                "Tag keys must be 1 to 128 characters long; got ''.".to_string(),
            ),
            (
                vec![tag(&k129, "1")],
                format!("Tag keys must be 1 to 128 characters long; got '{k129}'."),
            ),
            (
                vec![tag("a", &"v".repeat(257))],
                "The value of tag 'a' is longer than 256 characters.".to_string(),
            ),
            (
                vec![tag("a", "1"), tag("a", "2")],
                "Tag key 'a' is given more than once.".to_string(),
            ),
            (
                (0..51).map(|i| tag(&i.to_string(), "")).collect(),
                "A resource can have at most 50 tags; 51 were given.".to_string(),
            ),
            // The count of the request before any tag's own rules.
            (
                (0..51).map(|_| tag("", "")).collect(),
                "A resource can have at most 50 tags; 51 were given.".to_string(),
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(message(given), expected);
        }
        let fifty: Vec<Tag> = (0..50)
            .map(|i| tag(&format!("k{i}"), &"v".repeat(256)))
            .collect();
        assert_eq!(tags(&fifty).unwrap().len(), 50);
        // Characters are not among ECS's rules in ecsbox.
        assert!(tags(&[tag("a*b", "#")]).is_ok());
    }

    #[test]
    fn names() {
        assert!(resource_name("Cluster", "my-cluster_1").is_ok());
        assert!(resource_name("Cluster", "bad name").is_err());
        assert!(resource_name("Cluster", &"a".repeat(256)).is_err());
    }

    #[test]
    fn strategies() {
        let item = |n: &str, w: i32, b: i32| CapacityProviderStrategyItem {
            capacity_provider: Some(n.into()),
            weight: Some(w),
            base: Some(b),
        };
        let known = |n: &str| n.starts_with("FARGATE") || n == "asg";
        assert!(capacity_provider_strategy(
            &[item("FARGATE", 1, 1), item("FARGATE_SPOT", 4, 0)],
            known
        )
        .is_ok());
        assert!(capacity_provider_strategy(
            &[item("FARGATE", 1, 1), item("FARGATE_SPOT", 4, 2)],
            known
        )
        .is_err());
        assert!(
            capacity_provider_strategy(&[item("FARGATE", 1, 0), item("asg", 1, 0)], known).is_err()
        );
        assert!(capacity_provider_strategy(&[item("nope", 1, 0)], known).is_err());
        assert!(capacity_provider_strategy(&[item("FARGATE", 1001, 0)], known).is_err());
    }
}
