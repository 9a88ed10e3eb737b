//! The actions (listeners' default actions, rules' actions) and rule
//! conditions, checked when they are set and kept in the form AWS
//! describes them: a forward to one `TargetGroupArn` is described with its
//! `ForwardConfig` too, a `Values` condition with its `*Config` too.
//!
//! Served: forward (one target group, or several with weights and group
//! stickiness), fixed-response, redirect; conditions path-pattern,
//! host-header, http-header, query-string, source-ip, http-request-method.
//! The authenticate-* and jwt-validation actions and regex conditions are
//! refused by name.

use super::{error, refused, validation, Elbv2Region};
use crate::model::elbv2::operations::ErrorCode;
use crate::model::elbv2::shapes::*;
use crate::protocol::ApiError;

/// Every target group an action forwards to.
pub(super) fn target_groups_of(a: &Action) -> Vec<String> {
    if a.r#type.as_deref() != Some("forward") {
        return Vec::new();
    }
    let mut out: Vec<String> = a.target_group_arn.iter().cloned().collect();
    if let Some(config) = &a.forward_config {
        for t in config.target_groups.iter().flatten() {
            if let Some(arn) = &t.target_group_arn {
                if !out.contains(arn) {
                    out.push(arn.clone());
                }
            }
        }
    }
    out
}

/// The content types a fixed response may have (AWS's list).
const CONTENT_TYPES: [&str; 5] = [
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

/// Checks the actions of a listener or rule of the load balancer `lb_arn`
/// and answers them as AWS describes them.
pub(super) fn checked(
    r: &Elbv2Region,
    lb_arn: &str,
    given: Option<Vec<Action>>,
) -> Result<Vec<Action>, ApiError> {
    let given = given.unwrap_or_default();
    if given.is_empty() {
        return Err(validation("At least one action must be specified"));
    }
    let network = r
        .load_balancers
        .get(lb_arn)
        .is_some_and(|lb| lb.description.r#type.as_deref() == Some("network"));
    let mut orders: Vec<i32> = given.iter().filter_map(|a| a.order).collect();
    orders.sort();
    if orders.windows(2).any(|w| w[0] == w[1]) {
        return Err(validation("The action orders must be unique"));
    }
    let mut out = Vec::with_capacity(given.len());
    for a in given {
        let kind = a.r#type.clone().unwrap_or_default();
        match kind.as_str() {
            "authenticate-oidc" | "authenticate-cognito" | "jwt-validation" => {
                return Err(error(
                    ErrorCode::InvalidLoadBalancerActionException,
                    format!("ecsbox does not support the {kind} action: there is no identity provider to authenticate against."),
                ))
            }
            _ if network && kind != "forward" => {
                return Err(error(
                    ErrorCode::InvalidLoadBalancerActionException,
                    format!("A Network Load Balancer's listeners can only forward, not '{kind}'"),
                ))
            }
            "forward" => out.push(forward(r, lb_arn, network, a)?),
            "fixed-response" => {
                let c = a
                    .fixed_response_config
                    .as_ref()
                    .ok_or_else(|| validation("A fixed-response action needs a FixedResponseConfig"))?;
                if let Some(t) = &c.content_type {
                    if !CONTENT_TYPES.contains(&t.as_str()) {
                        return Err(validation(format!(
                            "Content type '{t}' must be one of {}",
                            CONTENT_TYPES.join(", ")
                        )));
                    }
                }
                out.push(a);
            }
            "redirect" => {
                a.redirect_config
                    .as_ref()
                    .ok_or_else(|| validation("A redirect action needs a RedirectConfig"))?;
                out.push(a);
            }
            other => return Err(validation(format!("Unknown action type '{other}'"))),
        }
    }
    Ok(out)
}

/// A forward action: its target groups exist, suit the load balancer and
/// belong to no other load balancer.
fn forward(
    r: &Elbv2Region,
    lb_arn: &str,
    network: bool,
    mut a: Action,
) -> Result<Action, ApiError> {
    let config_groups: Vec<String> = a
        .forward_config
        .iter()
        .flat_map(|c| c.target_groups.iter().flatten())
        .filter_map(|t| t.target_group_arn.clone())
        .collect();
    match (&a.target_group_arn, config_groups.as_slice()) {
        (None, []) => {
            return Err(validation(
                "A forward action needs a TargetGroupArn or a ForwardConfig with target groups",
            ))
        }
        (Some(arn), [only]) if arn != only => {
            return Err(validation(
                "TargetGroupArn and the ForwardConfig's target group must be the same",
            ))
        }
        (Some(_), groups) if groups.len() > 1 => {
            return Err(validation(
                "TargetGroupArn cannot be given with a ForwardConfig of several target groups",
            ))
        }
        _ => {}
    }
    for tg_arn in target_groups_of(&a) {
        let Some(tg) = r.target_groups.get(&tg_arn) else {
            // AWS's words (aws/copilot-cli#3833).
            return Err(error(
                ErrorCode::TargetGroupNotFoundException,
                format!("Target groups '{tg_arn}' not found"),
            ));
        };
        if super::attributes::is_network_group(&tg.description) != network {
            return Err(error(
                ErrorCode::IncompatibleProtocolsException,
                format!(
                    "The target group '{tg_arn}' has the protocol {}, which an {} Load Balancer cannot forward to",
                    tg.description.protocol.as_deref().unwrap_or_default(),
                    if network { "Network" } else { "Application" }
                ),
            ));
        }
        if r.forwards()
            .iter()
            .any(|(lb, tg)| tg == &tg_arn && lb != lb_arn)
        {
            // AWS's words.
            return Err(error(
                ErrorCode::TargetGroupAssociationLimitException,
                format!("The following target groups cannot be associated with more than one load balancer: {tg_arn}"),
            ));
        }
    }
    let config = a.forward_config.get_or_insert_with(Default::default);
    if config.target_groups.as_ref().is_none_or(Vec::is_empty) {
        config.target_groups = Some(vec![TargetGroupTuple {
            target_group_arn: a.target_group_arn.clone(),
            weight: Some(1),
        }]);
    }
    for t in config.target_groups.iter_mut().flatten() {
        let w = *t.weight.get_or_insert(1);
        if !(0..=999).contains(&w) {
            return Err(validation(format!(
                "Target group weight '{w}' must be from 0 to 999"
            )));
        }
    }
    let sticky = config
        .target_group_stickiness_config
        .get_or_insert(TargetGroupStickinessConfig {
            enabled: Some(false),
            duration_seconds: None,
        });
    if sticky.enabled == Some(true) {
        let d = *sticky.duration_seconds.get_or_insert(3600);
        if !(1..=604800).contains(&d) {
            return Err(validation(format!(
                "Target group stickiness duration '{d}' must be from 1 to 604800 seconds"
            )));
        }
    }
    if let [only] = config_groups.as_slice() {
        a.target_group_arn = Some(only.clone());
    }
    Ok(a)
}

/// Checks a rule's conditions and answers them as AWS describes them.
pub(super) fn checked_conditions(
    given: Option<Vec<RuleCondition>>,
) -> Result<Vec<RuleCondition>, ApiError> {
    let given = given.unwrap_or_default();
    if given.is_empty() {
        return Err(validation("A rule must have at least one condition"));
    }
    given.into_iter().map(condition).collect()
}

fn condition(mut c: RuleCondition) -> Result<RuleCondition, ApiError> {
    let field = c
        .field
        .clone()
        .ok_or_else(|| validation("A condition must have a Field"))?;
    let regex = c.regex_values.is_some()
        || c.host_header_config
            .as_ref()
            .is_some_and(|h| h.regex_values.is_some())
        || c.http_header_config
            .as_ref()
            .is_some_and(|h| h.regex_values.is_some())
        || c.path_pattern_config
            .as_ref()
            .is_some_and(|h| h.regex_values.is_some());
    if regex {
        return Err(refused(
            "RegexValues in conditions",
            "conditions match with wildcards (* and ?)",
        ));
    }
    if c.values.is_some() && !matches!(field.as_str(), "path-pattern" | "host-header") {
        return Err(validation(format!(
            "Values can be given only for path-pattern and host-header conditions, not '{field}'; use its {field} config"
        )));
    }
    let nonempty = |values: Option<&Vec<String>>| -> Result<Vec<String>, ApiError> {
        match values {
            Some(v) if !v.is_empty() => Ok(v.clone()),
            _ => Err(validation(format!(
                "A '{field}' condition must have at least one value"
            ))),
        }
    };
    match field.as_str() {
        "path-pattern" => {
            let config = c.path_pattern_config.get_or_insert_with(Default::default);
            let values = nonempty(config.values.as_ref().or(c.values.as_ref()))?;
            config.values = Some(values.clone());
            c.values = Some(values);
        }
        "host-header" => {
            let config = c.host_header_config.get_or_insert_with(Default::default);
            let values = nonempty(config.values.as_ref().or(c.values.as_ref()))?;
            config.values = Some(values.clone());
            c.values = Some(values);
        }
        "http-header" => {
            let h = c
                .http_header_config
                .as_ref()
                .ok_or_else(|| validation("An http-header condition needs an HttpHeaderConfig"))?;
            if h.http_header_name.as_deref().is_none_or(str::is_empty) {
                return Err(validation("An http-header condition needs an HttpHeaderName"));
            }
            nonempty(h.values.as_ref())?;
        }
        "query-string" => {
            let q = c
                .query_string_config
                .as_ref()
                .and_then(|q| q.values.as_ref())
                .filter(|v| !v.is_empty());
            if q.is_none_or(|pairs| pairs.iter().any(|kv| kv.value.is_none())) {
                return Err(validation(
                    "A query-string condition needs key/value pairs, each with a Value",
                ));
            }
        }
        "source-ip" => {
            let values = nonempty(c.source_ip_config.as_ref().and_then(|s| s.values.as_ref()))?;
            for v in values {
                if !is_ipv4_cidr(&v) {
                    return Err(validation(format!(
                        "'{v}' is not a valid CIDR block (source-ip conditions take IPv4 CIDR blocks here)"
                    )));
                }
            }
        }
        "http-request-method" => {
            nonempty(
                c.http_request_method_config
                    .as_ref()
                    .and_then(|m| m.values.as_ref()),
            )?;
        }
        other => {
            return Err(validation(format!(
                "Condition field '{other}' must be one of [path-pattern, host-header, http-header, query-string, source-ip, http-request-method]"
            )))
        }
    }
    Ok(c)
}

fn is_ipv4_cidr(text: &str) -> bool {
    let Some((addr, bits)) = text.split_once('/') else {
        return false;
    };
    addr.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(values: &[&str]) -> RuleCondition {
        RuleCondition {
            field: Some("path-pattern".into()),
            values: Some(values.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn old_values_gain_their_config_form() {
        let c = checked_conditions(Some(vec![path(&["/api/*"])])).unwrap();
        assert_eq!(
            c[0].path_pattern_config.as_ref().unwrap().values,
            Some(vec!["/api/*".to_string()])
        );
    }

    #[test]
    fn bad_conditions_are_refused() {
        assert!(checked_conditions(Some(vec![])).is_err());
        assert!(checked_conditions(Some(vec![path(&[])])).is_err());
        let header_values = RuleCondition {
            field: Some("http-header".into()),
            values: Some(vec!["x".into()]),
            ..Default::default()
        };
        assert!(checked_conditions(Some(vec![header_values])).is_err());
        let source = RuleCondition {
            field: Some("source-ip".into()),
            source_ip_config: Some(SourceIpConditionConfig {
                values: Some(vec!["10.0.0.0/33".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(checked_conditions(Some(vec![source])).is_err());
        let bogus = RuleCondition {
            field: Some("cookie".into()),
            ..Default::default()
        };
        let e = checked_conditions(Some(vec![bogus])).unwrap_err();
        assert!(
            e.message.contains("Condition field 'cookie'"),
            "{}",
            e.message
        );
    }
}
