//! ECR lifecycle policies: the JSON read and checked, and the evaluator
//! that says which images a policy expires, by which rule. The handlers
//! (`lifecycle.rs`) and `Ecr::apply_lifecycle_policies` use it; nothing
//! here touches a repository.
//!
//! A policy, as ECR's user guide describes it:
//!
//! ```json
//! {"rules": [{"rulePriority": 1, "description": "…",
//!             "selection": {"tagStatus": "tagged" | "untagged" | "any",
//!                           "tagPrefixList": ["v"], "tagPatternList": ["prod*"],
//!                           "countType": "imageCountMoreThan" | "sinceImagePushed",
//!                           "countUnit": "days", "countNumber": 7},
//!             "action": {"type": "expire"}}]}
//! ```
//!
//! Evaluation follows ECR's rules (user guide, "How lifecycle policies
//! work"): rules are applied from the lowest `rulePriority` up; a rule
//! expires the oldest of the images it selects first; an image is expired by
//! at most one rule; and an image a higher-priority rule selected (by its
//! tags) cannot be expired by a lower-priority rule, though it still counts
//! towards that rule's `imageCountMoreThan`. A `tagPrefixList` or
//! `tagPatternList` of several entries selects images that match all of
//! them (each by one of the image's tags).
//!
//! ecsbox has no archive storage class: rules with `action.type`
//! `transition` and the archive-era count types `sinceImagePulled` and
//! `sinceImageTransitioned` are refused, by name.

use super::repository::wildcard_match;
use serde_json::{Map, Value};
use std::collections::HashSet;

const SECONDS_PER_DAY: f64 = 86_400.0;
/// ECR allows at most four wildcards in one tagPatternList entry.
const MAX_WILDCARDS: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Sorted by priority, lowest (first applied) first.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub priority: i64,
    pub selection: TagSelection,
    pub count: Count,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TagSelection {
    /// Images with at least one tag, each prefix matched by one of them,
    /// or (patterns) each pattern matched by one of them.
    Tagged {
        prefixes: Vec<String>,
        patterns: Vec<String>,
    },
    Untagged,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Count {
    /// Keep the newest N, expire the rest.
    MoreThan(u64),
    /// Expire those pushed more than N days ago.
    SincePushedDays(u64),
}

/// Why a policy is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// Not a policy ECR would take (ECR's InvalidParameterException).
    Invalid(String),
    /// A policy ECR would take that ecsbox cannot honour.
    Unsupported(String),
}

/// What the evaluator needs to know of an image.
#[derive(Debug, Clone)]
pub struct ImageFacts {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at: f64,
}

/// An image a policy expires, and the priority of the rule that does.
#[derive(Debug, Clone, PartialEq)]
pub struct Expiry {
    pub digest: String,
    pub rule_priority: i64,
}

fn invalid(why: impl Into<String>) -> PolicyError {
    PolicyError::Invalid(why.into())
}

fn unsupported(why: impl Into<String>) -> PolicyError {
    PolicyError::Unsupported(why.into())
}

/// Reads and checks a policy's text.
pub fn parse(text: &str) -> Result<Policy, PolicyError> {
    let doc: Value =
        serde_json::from_str(text).map_err(|_| invalid("the policy is not valid JSON"))?;
    let top = doc
        .as_object()
        .ok_or_else(|| invalid("the policy is not a JSON object"))?;
    only_keys(top, &["rules"], "the policy")?;
    let rules = top
        .get("rules")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| invalid("the policy needs a non-empty 'rules' array"))?;
    let mut parsed: Vec<Rule> = rules.iter().map(parse_rule).collect::<Result<_, _>>()?;
    parsed.sort_by_key(|r| r.priority);
    for pair in parsed.windows(2) {
        if pair[0].priority == pair[1].priority {
            return Err(invalid(format!(
                "rulePriority {} is given to more than one rule",
                pair[0].priority
            )));
        }
    }
    if let Some(any) = parsed.iter().position(|r| r.selection == TagSelection::Any) {
        if any != parsed.len() - 1 {
            return Err(invalid(
                "a rule with tagStatus 'any' must have the highest rulePriority",
            ));
        }
    }
    if parsed
        .iter()
        .filter(|r| r.selection == TagSelection::Untagged)
        .count()
        > 1
    {
        return Err(invalid("only one rule may select untagged images"));
    }
    Ok(Policy { rules: parsed })
}

fn only_keys(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), PolicyError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(format!("{what} has an unknown member '{k}'"))),
        None => Ok(()),
    }
}

fn string_list(selection: &Map<String, Value>, key: &str) -> Result<Vec<String>, PolicyError> {
    let Some(value) = selection.get(key) else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid(format!("{key} must be a non-empty array of strings")))?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| invalid(format!("{key} must be a non-empty array of strings")))
        })
        .collect()
}

fn positive(v: Option<&Value>, what: &str) -> Result<u64, PolicyError> {
    v.and_then(Value::as_u64)
        .filter(|n| *n >= 1)
        .ok_or_else(|| invalid(format!("{what} must be an integer of at least 1")))
}

fn parse_rule(rule: &Value) -> Result<Rule, PolicyError> {
    let rule = rule
        .as_object()
        .ok_or_else(|| invalid("a rule is not a JSON object"))?;
    only_keys(
        rule,
        &["rulePriority", "description", "selection", "action"],
        "a rule",
    )?;
    let priority = positive(rule.get("rulePriority"), "rulePriority")? as i64;
    let what = format!("the rule with rulePriority {priority}");
    if rule.get("description").is_some_and(|d| !d.is_string()) {
        return Err(invalid(format!(
            "the description of {what} is not a string"
        )));
    }
    let action = rule
        .get("action")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(format!("{what} needs an action")))?;
    match action.get("type").and_then(Value::as_str) {
        Some("expire") => only_keys(action, &["type"], &format!("the action of {what}"))?,
        Some("transition") => {
            return Err(unsupported(format!(
                "{what} transitions images to the archive storage class, which ecsbox does not have"
            )))
        }
        _ => {
            return Err(invalid(format!(
                "the action type of {what} must be 'expire'"
            )))
        }
    }
    let selection = rule
        .get("selection")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(format!("{what} needs a selection")))?;
    only_keys(
        selection,
        &[
            "tagStatus",
            "tagPrefixList",
            "tagPatternList",
            "countType",
            "countUnit",
            "countNumber",
        ],
        &format!("the selection of {what}"),
    )?;
    let prefixes = string_list(selection, "tagPrefixList")?;
    let patterns = string_list(selection, "tagPatternList")?;
    if patterns
        .iter()
        .any(|p| p.matches('*').count() > MAX_WILDCARDS)
    {
        return Err(invalid(format!(
            "a tagPatternList entry of {what} has more than {MAX_WILDCARDS} wildcards"
        )));
    }
    let tag_selection = match selection.get("tagStatus").and_then(Value::as_str) {
        Some("tagged") => {
            if prefixes.is_empty() == patterns.is_empty() {
                return Err(invalid(format!(
                    "{what} selects tagged images: it needs either a tagPrefixList or a tagPatternList, not both"
                )));
            }
            TagSelection::Tagged { prefixes, patterns }
        }
        Some(status @ ("untagged" | "any")) => {
            if !prefixes.is_empty() || !patterns.is_empty() {
                return Err(invalid(format!(
                    "{what} has tagStatus '{status}': it takes no tagPrefixList or tagPatternList"
                )));
            }
            if status == "any" {
                TagSelection::Any
            } else {
                TagSelection::Untagged
            }
        }
        _ => {
            return Err(invalid(format!(
                "the tagStatus of {what} must be 'tagged', 'untagged' or 'any'"
            )))
        }
    };
    let number = positive(
        selection.get("countNumber"),
        &format!("the countNumber of {what}"),
    )?;
    let unit = selection.get("countUnit");
    let count = match selection.get("countType").and_then(Value::as_str) {
        Some("imageCountMoreThan") => {
            if unit.is_some() {
                return Err(invalid(format!(
                    "{what} counts images (imageCountMoreThan): it takes no countUnit"
                )));
            }
            Count::MoreThan(number)
        }
        Some("sinceImagePushed") => {
            if unit.and_then(Value::as_str) != Some("days") {
                return Err(invalid(format!(
                    "{what} counts days (sinceImagePushed): its countUnit must be 'days'"
                )));
            }
            Count::SincePushedDays(number)
        }
        Some(kind @ ("sinceImagePulled" | "sinceImageTransitioned")) => {
            return Err(unsupported(format!(
                "{what} has countType '{kind}', which goes with the archive storage class ecsbox does not have"
            )))
        }
        _ => {
            return Err(invalid(format!(
                "the countType of {what} must be 'imageCountMoreThan' or 'sinceImagePushed'"
            )))
        }
    };
    Ok(Rule {
        priority,
        selection: tag_selection,
        count,
    })
}

impl TagSelection {
    pub fn selects(&self, tags: &[String]) -> bool {
        match self {
            TagSelection::Any => true,
            TagSelection::Untagged => tags.is_empty(),
            TagSelection::Tagged { prefixes, patterns } => {
                !tags.is_empty()
                    && prefixes
                        .iter()
                        .all(|p| tags.iter().any(|t| t.starts_with(p.as_str())))
                    && patterns
                        .iter()
                        .all(|p| tags.iter().any(|t| wildcard_match(p, t)))
            }
        }
    }
}

/// The images `policy` expires among `images` at `now` (epoch seconds),
/// oldest first within each rule, rules in priority order.
pub fn evaluate(policy: &Policy, images: &[ImageFacts], now: f64) -> Vec<Expiry> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut expired = Vec::new();
    for rule in &policy.rules {
        let mut selected: Vec<&ImageFacts> = images
            .iter()
            .filter(|i| rule.selection.selects(&i.tags))
            .collect();
        // Newest first; the digest breaks ties so the answer is stable.
        selected.sort_by(|a, b| {
            b.pushed_at
                .total_cmp(&a.pushed_at)
                .then_with(|| a.digest.cmp(&b.digest))
        });
        let mut doomed: Vec<&ImageFacts> = match rule.count {
            Count::MoreThan(keep) => selected.iter().skip(keep as usize).copied().collect(),
            Count::SincePushedDays(days) => {
                let cutoff = now - days as f64 * SECONDS_PER_DAY;
                selected
                    .iter()
                    .filter(|i| i.pushed_at < cutoff)
                    .copied()
                    .collect()
            }
        };
        // Oldest first.
        doomed.reverse();
        for image in doomed {
            if !seen.contains(image.digest.as_str()) {
                expired.push(Expiry {
                    digest: image.digest.clone(),
                    rule_priority: rule.priority,
                });
            }
        }
        seen.extend(selected.iter().map(|i| i.digest.as_str()));
    }
    expired
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = SECONDS_PER_DAY;

    fn image(digest: &str, tags: &[&str], pushed_days_ago: f64) -> ImageFacts {
        ImageFacts {
            digest: digest.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            pushed_at: 100.0 * DAY - pushed_days_ago * DAY,
        }
    }

    fn expired(policy: &str, images: &[ImageFacts]) -> Vec<(String, i64)> {
        evaluate(&parse(policy).unwrap(), images, 100.0 * DAY)
            .into_iter()
            .map(|e| (e.digest, e.rule_priority))
            .collect()
    }

    fn pair(d: &str, p: i64) -> (String, i64) {
        (d.to_string(), p)
    }

    #[test]
    fn count_more_than_keeps_the_newest() {
        let images = [
            image("a", &[], 5.0),
            image("b", &[], 4.0),
            image("c", &[], 3.0),
            image("t", &["v1"], 10.0),
        ];
        let policy = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
        assert_eq!(expired(policy, &images), [pair("a", 1), pair("b", 1)]);
    }

    #[test]
    fn since_pushed_expires_what_is_older_than_the_days() {
        let images = [image("old", &["x"], 20.0), image("new", &["x"], 2.0)];
        let policy = r#"{"rules":[{"rulePriority":3,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
        assert_eq!(expired(policy, &images), [pair("old", 3)]);
    }

    /// The user guide's example "filtering on multiple rules": rule 1
    /// keeps one `prod` image, rule 2 one `beta` image; B matches rule 1's
    /// tags, so rule 2 may not expire it, and A is expired once only.
    #[test]
    fn a_higher_priority_rule_protects_what_it_selected() {
        let images = [
            image("A", &["beta-1", "prod-1"], 10.0),
            image("B", &["beta-2", "prod-2"], 9.0),
            image("C", &["beta-3"], 8.0),
        ];
        let policy = r#"{"rules":[
            {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
            {"rulePriority":2,"selection":{"tagStatus":"tagged","tagPrefixList":["beta"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
        assert_eq!(expired(policy, &images), [pair("A", 1)]);
    }

    #[test]
    fn several_prefixes_or_patterns_must_all_match() {
        let images = [
            image("both", &["alpha-1", "beta-1"], 3.0),
            image("one", &["alpha-2"], 2.0),
            image("pat", &["prod-eu-1"], 1.0),
        ];
        let policy = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["alpha","beta"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}"#;
        assert_eq!(expired(policy, &images), [pair("both", 1)]);
        let policy = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["prod*eu*"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
        assert!(expired(policy, &images).is_empty());
        let images = [
            image("p1", &["prod-eu-1"], 3.0),
            image("p2", &["prod-eu-2"], 1.0),
        ];
        assert_eq!(expired(policy, &images), [pair("p1", 1)]);
    }

    #[test]
    fn an_any_rule_counts_images_earlier_rules_selected_but_does_not_expire_them() {
        let images = [
            image("u-old", &[], 9.0),
            image("t-old", &["v1"], 8.0),
            image("t-new", &["v2"], 1.0),
        ];
        let policy = r#"{"rules":[
            {"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":30},"action":{"type":"expire"}},
            {"rulePriority":10,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
        // u-old is selected by rule 1 (too young to expire there) and so
        // protected from rule 10; t-old goes.
        assert_eq!(expired(policy, &images), [pair("t-old", 10)]);
    }

    #[test]
    fn bad_policies_are_invalid_and_archive_rules_unsupported() {
        let rule = |sel: &str, action: &str| {
            format!(r#"{{"rules":[{{"rulePriority":1,"selection":{sel},"action":{action}}}]}}"#)
        };
        let expire = r#"{"type":"expire"}"#;
        for bad in [
            "not json".to_string(),
            r#"{"rules":[]}"#.to_string(),
            rule(r#"{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1}"#, expire),
            rule(r#"{"tagStatus":"untagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1}"#, expire),
            rule(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countUnit":"days","countNumber":1}"#, expire),
            rule(r#"{"tagStatus":"any","countType":"sinceImagePushed","countNumber":1}"#, expire),
            rule(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":0}"#, expire),
            rule(r#"{"tagStatus":"some","countType":"imageCountMoreThan","countNumber":1}"#, expire),
            rule(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}"#, r#"{"type":"delete"}"#),
            r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},{"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#.to_string(),
            r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#.to_string(),
        ] {
            assert!(matches!(parse(&bad), Err(PolicyError::Invalid(_))), "{bad}");
        }
        assert!(matches!(
            parse(&rule(
                r#"{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}"#,
                r#"{"type":"transition","targetStorageClass":"archive"}"#
            )),
            Err(PolicyError::Unsupported(_))
        ));
        assert!(matches!(
            parse(&rule(
                r#"{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":1}"#,
                expire
            )),
            Err(PolicyError::Unsupported(_))
        ));
    }
}
