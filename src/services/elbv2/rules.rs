//! CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities.
//! Every change recompiles the listener's spec for the plane. A listener's
//! default rule is its default actions: DescribeRules shows it last, with
//! Priority "default" and IsDefault true; ModifyListener changes it.

use super::{
    actions, arn_suffix, compile, error, listeners_not_found, page, refused, rules_not_found, tags,
    validation, Elbv2Region, RuleRecord,
};
use crate::lb::LoadBalancing;
use crate::model::elbv2::operations::ErrorCode;
use crate::model::elbv2::shapes::*;
use crate::protocol::ApiError;
use std::collections::BTreeSet;

/// AWS's limit of rules per Application Load Balancer listener (default rule excluded).
const MAX_RULES: usize = 100;

/// AWS's words.
fn priority_in_use(priority: i32) -> ApiError {
    error(
        ErrorCode::PriorityInUseException,
        format!("Priority '{priority}' is currently in use"),
    )
}

fn no_transforms(transforms: Option<&Vec<RuleTransform>>) -> Result<(), ApiError> {
    if transforms.is_some_and(|t| !t.is_empty()) {
        return Err(refused(
            "rule Transforms",
            "listeners forward requests without rewriting hosts or URLs",
        ));
    }
    Ok(())
}

/// The listener a default rule ARN is the default rule of.
fn listener_of_default(r: &Elbv2Region, rule_arn: &str) -> Option<String> {
    r.listeners
        .iter()
        .find(|(_, l)| l.default_rule_arn == rule_arn)
        .map(|(arn, _)| arn.clone())
}

fn default_rule_refused(what: &str) -> ApiError {
    // ecsbox's words; AWS refuses both with OperationNotPermitted.
    error(
        ErrorCode::OperationNotPermittedException,
        format!("A listener's default rule cannot be {what}: change the listener's default actions with ModifyListener"),
    )
}

pub(super) fn create(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: CreateRuleInput,
) -> Result<CreateRuleOutput, ApiError> {
    let listener_arn = input.listener_arn.clone().unwrap_or_default();
    let listener = r.listener(&listener_arn)?;
    let lb_arn = listener
        .description
        .load_balancer_arn
        .clone()
        .unwrap_or_default();
    if matches!(
        listener.description.protocol.as_deref(),
        Some("TCP") | Some("TLS")
    ) {
        return Err(error(
            ErrorCode::InvalidConfigurationRequestException,
            "Rules can be added only to the listeners of Application Load Balancers",
        ));
    }
    no_transforms(input.transforms.as_ref())?;
    let priority = input.priority.unwrap_or_default();
    if r.rules_of(&listener_arn)
        .any(|rule| rule.priority == priority as u32)
    {
        return Err(priority_in_use(priority));
    }
    if r.rules_of(&listener_arn).count() >= MAX_RULES {
        return Err(error(
            ErrorCode::TooManyRulesException,
            format!("A listener can have at most {MAX_RULES} rules besides its default rule"),
        ));
    }
    let conditions = actions::checked_conditions(input.conditions)?;
    let rule_actions = actions::checked(r, &lb_arn, input.actions)?;
    let new_tags = tags::checked(input.tags.as_deref())?;
    let listener_id = listener_arn.rsplit('/').next().unwrap_or_default();
    let rule_arn = super::arn_in(
        &listener_arn,
        &format!(
            "listener-rule/{}/{listener_id}/{}",
            arn_suffix(&lb_arn),
            super::new_id()
        ),
    );
    let description = Rule {
        rule_arn: Some(rule_arn.clone()),
        priority: Some(priority.to_string()),
        conditions: Some(conditions),
        actions: Some(rule_actions),
        is_default: Some(false),
        transforms: None,
    };
    r.rules.insert(
        rule_arn,
        RuleRecord {
            description: description.clone(),
            listener_arn: listener_arn.clone(),
            priority: priority as u32,
            tags: new_tags,
        },
    );
    compile::update_listener(r, plane, &listener_arn);
    Ok(CreateRuleOutput {
        rules: Some(vec![description]),
    })
}

/// A listener's default rule as DescribeRules shows it.
fn default_rule(r: &Elbv2Region, listener_arn: &str) -> Option<Rule> {
    let l = r.listeners.get(listener_arn)?;
    Some(Rule {
        rule_arn: Some(l.default_rule_arn.clone()),
        priority: Some("default".into()),
        conditions: Some(Vec::new()),
        actions: l.description.default_actions.clone(),
        is_default: Some(true),
        transforms: None,
    })
}

pub(super) fn describe(
    r: &mut Elbv2Region,
    input: DescribeRulesInput,
) -> Result<DescribeRulesOutput, ApiError> {
    let arns = input.rule_arns.unwrap_or_default();
    // Each rule under a key that sorts by priority, the default rule last.
    let mut found: Vec<(String, Rule)> = Vec::new();
    match (&input.listener_arn, arns.is_empty()) {
        (Some(_), false) => {
            return Err(validation(
                "Listener ARN and rule ARNs cannot be specified at the same time",
            ))
        }
        (None, true) => {
            return Err(validation(
                "You must specify either listener ARN or rules ARNs",
            ))
        }
        (Some(listener_arn), true) => {
            r.listener(listener_arn)?;
            for rule in r.rules_of(listener_arn) {
                found.push((format!("{:05}", rule.priority), rule.description.clone()));
            }
            found.extend(default_rule(r, listener_arn).map(|d| ("default".to_string(), d)));
        }
        (None, false) => {
            for arn in &arns {
                if let Some(rule) = r.rules.get(arn) {
                    found.push((format!("{:05}", rule.priority), rule.description.clone()));
                } else if let Some(listener) = listener_of_default(r, arn) {
                    found.extend(default_rule(r, &listener).map(|d| ("default".to_string(), d)));
                } else {
                    return Err(rules_not_found());
                }
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let (rules, next_marker) = page(
        found.iter().map(|(k, rule)| (k, rule.clone())),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeRulesOutput {
        rules: Some(rules),
        next_marker,
    })
}

pub(super) fn modify(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: ModifyRuleInput,
) -> Result<ModifyRuleOutput, ApiError> {
    let arn = input.rule_arn.clone().unwrap_or_default();
    if listener_of_default(r, &arn).is_some() {
        return Err(default_rule_refused("modified"));
    }
    let rule = r.rules.get(&arn).ok_or_else(rules_not_found)?;
    let listener_arn = rule.listener_arn.clone();
    let lb_arn = r
        .listeners
        .get(&listener_arn)
        .and_then(|l| l.description.load_balancer_arn.clone())
        .ok_or_else(listeners_not_found)?;
    no_transforms(input.transforms.as_ref())?;
    let conditions = match input.conditions {
        Some(c) => Some(actions::checked_conditions(Some(c))?),
        None => None,
    };
    let rule_actions = match input.actions {
        Some(a) => Some(actions::checked(r, &lb_arn, Some(a))?),
        None => None,
    };
    let rule = r.rules.get_mut(&arn).ok_or_else(rules_not_found)?;
    if let Some(c) = conditions {
        rule.description.conditions = Some(c);
    }
    if let Some(a) = rule_actions {
        rule.description.actions = Some(a);
    }
    let answer = rule.description.clone();
    compile::update_listener(r, plane, &listener_arn);
    Ok(ModifyRuleOutput {
        rules: Some(vec![answer]),
    })
}

pub(super) fn delete(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: DeleteRuleInput,
) -> Result<DeleteRuleOutput, ApiError> {
    let arn = input.rule_arn.unwrap_or_default();
    if listener_of_default(r, &arn).is_some() {
        return Err(default_rule_refused("deleted"));
    }
    let rule = r.rules.remove(&arn).ok_or_else(rules_not_found)?;
    compile::update_listener(r, plane, &rule.listener_arn);
    Ok(DeleteRuleOutput {})
}

/// Sets several rules' priorities at once: checked together (no priority
/// twice, none taken by a rule left as it is), then set.
pub(super) fn set_priorities(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: SetRulePrioritiesInput,
) -> Result<SetRulePrioritiesOutput, ApiError> {
    let pairs = input.rule_priorities.unwrap_or_default();
    let mut seen = BTreeSet::new();
    for p in &pairs {
        let arn = p.rule_arn.clone().unwrap_or_default();
        let priority = p.priority.unwrap_or_default();
        if listener_of_default(r, &arn).is_some() {
            return Err(default_rule_refused("given a priority"));
        }
        let rule = r.rules.get(&arn).ok_or_else(rules_not_found)?;
        if !seen.insert((rule.listener_arn.clone(), priority)) {
            return Err(validation(format!(
                "Priority '{priority}' was provided multiple times"
            )));
        }
    }
    let moving: BTreeSet<&str> = pairs.iter().filter_map(|p| p.rule_arn.as_deref()).collect();
    for (listener_arn, priority) in &seen {
        if r.rules_of(listener_arn).any(|rule| {
            rule.priority == *priority as u32
                && !moving.contains(rule.description.rule_arn.as_deref().unwrap_or_default())
        }) {
            return Err(priority_in_use(*priority));
        }
    }
    let mut answer = Vec::new();
    for p in &pairs {
        let arn = p.rule_arn.as_deref().unwrap_or_default();
        let rule = r.rules.get_mut(arn).ok_or_else(rules_not_found)?;
        let priority = p.priority.unwrap_or_default();
        rule.priority = priority as u32;
        rule.description.priority = Some(priority.to_string());
        answer.push(rule.description.clone());
    }
    for (listener_arn, _) in &seen {
        compile::update_listener(r, plane, listener_arn);
    }
    Ok(SetRulePrioritiesOutput {
        rules: Some(answer),
    })
}
