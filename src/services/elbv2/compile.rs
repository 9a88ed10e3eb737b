//! Resources as the plane serves them: a target group's `TargetGroupSpec`,
//! a listener's `ListenerSpec` (its rules by priority, its default
//! actions). The actions and conditions were checked when they were set
//! (`actions`), so compiling them cannot fail.

use super::{attributes, Elbv2Region, ListenerRecord, TargetGroupRecord};
use crate::lb::{
    self, Condition, HealthCheckSpec, LbType, ListenerSpec, TargetGroupSpec, TargetType,
    WeightedGroup,
};
use crate::model::elbv2::shapes::{Action, RuleCondition};
use std::time::Duration;

pub(super) fn protocol(name: &str) -> lb::Protocol {
    match name {
        "HTTPS" => lb::Protocol::Https,
        "TCP" => lb::Protocol::Tcp,
        "TLS" => lb::Protocol::Tls,
        _ => lb::Protocol::Http,
    }
}

/// A matcher's HTTP codes ("200", "200,302", "200-299") as inclusive
/// ranges, or None when they are not codes.
pub(super) fn parse_matcher(codes: &str) -> Option<Vec<(u16, u16)>> {
    codes
        .split(',')
        .map(|part| {
            let (lo, hi) = part
                .trim()
                .split_once('-')
                .unwrap_or((part.trim(), part.trim()));
            let (lo, hi) = (
                lo.trim().parse::<u16>().ok()?,
                hi.trim().parse::<u16>().ok()?,
            );
            (lo <= hi).then_some((lo, hi))
        })
        .collect()
}

pub(super) fn target_group_spec(tg: &TargetGroupRecord) -> TargetGroupSpec {
    let d = &tg.description;
    let secs = |n: Option<i32>| Duration::from_secs(n.unwrap_or_default().max(0) as u64);
    let honoured = attributes::honoured(tg);
    TargetGroupSpec {
        arn: d.target_group_arn.clone().unwrap_or_default(),
        name: d.target_group_name.clone().unwrap_or_default(),
        protocol: protocol(d.protocol.as_deref().unwrap_or_default()),
        port: d.port.map(|p| p as u16),
        target_type: match d.target_type.as_deref() {
            Some("ip") => TargetType::Ip,
            _ => TargetType::Instance,
        },
        health_check: HealthCheckSpec {
            enabled: d.health_check_enabled.unwrap_or(true),
            protocol: protocol(d.health_check_protocol.as_deref().unwrap_or_default()),
            port: d.health_check_port.as_deref().and_then(|p| p.parse().ok()),
            path: d.health_check_path.clone().unwrap_or_else(|| "/".into()),
            interval: secs(d.health_check_interval_seconds),
            timeout: secs(d.health_check_timeout_seconds),
            healthy_threshold: d.healthy_threshold_count.unwrap_or(5) as u32,
            unhealthy_threshold: d.unhealthy_threshold_count.unwrap_or(2) as u32,
            matcher: d
                .matcher
                .as_ref()
                .and_then(|m| m.http_code.as_deref())
                .and_then(parse_matcher)
                .unwrap_or_else(|| vec![(200, 399)]),
        },
        algorithm: honoured.algorithm,
        deregistration_delay: honoured.deregistration_delay,
        slow_start: honoured.slow_start,
        stickiness: honoured.stickiness,
    }
}

/// One action as the plane runs it (`None` for the kinds `actions` refuses).
fn action(a: &Action) -> Option<lb::Action> {
    match a.r#type.as_deref()? {
        "forward" => {
            let (groups, stickiness) = match (&a.forward_config, &a.target_group_arn) {
                (Some(config), _) => {
                    let groups = config
                        .target_groups
                        .iter()
                        .flatten()
                        .map(|t| WeightedGroup {
                            target_group_arn: t.target_group_arn.clone().unwrap_or_default(),
                            weight: t.weight.unwrap_or(1).max(0) as u32,
                        })
                        .collect();
                    let sticky = config
                        .target_group_stickiness_config
                        .as_ref()
                        .filter(|s| s.enabled == Some(true))
                        .map(|s| Duration::from_secs(s.duration_seconds.unwrap_or(3600) as u64));
                    (groups, sticky)
                }
                (None, Some(arn)) => (
                    vec![WeightedGroup {
                        target_group_arn: arn.clone(),
                        weight: 1,
                    }],
                    None,
                ),
                (None, None) => (Vec::new(), None),
            };
            Some(lb::Action::Forward { groups, stickiness })
        }
        "fixed-response" => {
            let c = a.fixed_response_config.as_ref()?;
            Some(lb::Action::FixedResponse {
                status: c.status_code.as_deref()?.parse().ok()?,
                content_type: c.content_type.clone(),
                body: c.message_body.clone(),
            })
        }
        "redirect" => {
            let c = a.redirect_config.as_ref()?;
            let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_string());
            Some(lb::Action::Redirect {
                protocol: or(&c.protocol, "#{protocol}"),
                host: or(&c.host, "#{host}"),
                port: or(&c.port, "#{port}"),
                path: or(&c.path, "/#{path}"),
                query: or(&c.query, "#{query}"),
                status: if c.status_code.as_deref() == Some("HTTP_301") {
                    301
                } else {
                    302
                },
            })
        }
        _ => None,
    }
}

/// Actions in their `Order` (the order given when none has one).
pub(super) fn actions(given: Option<&Vec<Action>>) -> Vec<lb::Action> {
    let mut sorted: Vec<&Action> = given.into_iter().flatten().collect();
    sorted.sort_by_key(|a| a.order.unwrap_or(i32::MAX));
    sorted.into_iter().filter_map(action).collect()
}

/// One condition as the plane matches it; both the old `Values` form and
/// the `*Config` forms are read.
pub(super) fn condition(c: &RuleCondition) -> Option<Condition> {
    let values =
        |config: Option<&Vec<String>>| config.or(c.values.as_ref()).cloned().unwrap_or_default();
    Some(match c.field.as_deref()? {
        "path-pattern" => Condition::PathPattern(values(
            c.path_pattern_config
                .as_ref()
                .and_then(|p| p.values.as_ref()),
        )),
        "host-header" => Condition::HostHeader(values(
            c.host_header_config
                .as_ref()
                .and_then(|p| p.values.as_ref()),
        )),
        "http-header" => {
            let h = c.http_header_config.as_ref()?;
            Condition::HttpHeader {
                name: h.http_header_name.clone().unwrap_or_default(),
                values: h.values.clone().unwrap_or_default(),
            }
        }
        "query-string" => Condition::QueryString(
            c.query_string_config
                .as_ref()?
                .values
                .iter()
                .flatten()
                .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
                .collect(),
        ),
        "source-ip" => Condition::SourceIp(
            c.source_ip_config
                .as_ref()?
                .values
                .clone()
                .unwrap_or_default(),
        ),
        "http-request-method" => Condition::HttpRequestMethod(
            c.http_request_method_config
                .as_ref()?
                .values
                .clone()
                .unwrap_or_default(),
        ),
        _ => return None,
    })
}

/// The listener with its rules, by ascending priority, as the plane serves it.
pub(super) fn listener_spec(r: &Elbv2Region, listener: &ListenerRecord) -> ListenerSpec {
    let d = &listener.description;
    let arn = d.listener_arn.clone().unwrap_or_default();
    let lb_arn = d.load_balancer_arn.clone().unwrap_or_default();
    let network = r
        .load_balancers
        .get(&lb_arn)
        .is_some_and(|lb| lb.description.r#type.as_deref() == Some("network"));
    let mut rules: Vec<lb::Rule> = r
        .rules_of(&arn)
        .map(|rule| lb::Rule {
            priority: rule.priority,
            conditions: rule
                .description
                .conditions
                .iter()
                .flatten()
                .filter_map(condition)
                .collect(),
            actions: actions(rule.description.actions.as_ref()),
        })
        .collect();
    rules.sort_by_key(|rule| rule.priority);
    ListenerSpec {
        listener_arn: arn,
        load_balancer_arn: lb_arn,
        lb_type: if network {
            LbType::Network
        } else {
            LbType::Application
        },
        protocol: protocol(d.protocol.as_deref().unwrap_or_default()),
        port: d.port.unwrap_or_default() as u16,
        rules,
        default_actions: actions(d.default_actions.as_ref()),
    }
}

/// Hands the plane the listener's spec again after a change to it or its rules.
pub(super) fn update_listener(r: &Elbv2Region, plane: &lb::LoadBalancing, listener_arn: &str) {
    if let Some(l) = r.listeners.get(listener_arn) {
        plane.update_listener(listener_spec(r, l));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ListenerRecord, RuleRecord};
    use super::*;
    use crate::model::elbv2::shapes::{Listener, PathPatternConditionConfig, Rule};

    fn rule(listener: &str, priority: u32, path: &str) -> RuleRecord {
        RuleRecord {
            description: Rule {
                conditions: Some(vec![RuleCondition {
                    field: Some("path-pattern".into()),
                    path_pattern_config: Some(PathPatternConditionConfig {
                        values: Some(vec![path.into()]),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                actions: Some(vec![Action {
                    r#type: Some("forward".into()),
                    target_group_arn: Some(format!("tg-{priority}")),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            listener_arn: listener.into(),
            priority,
            tags: Default::default(),
        }
    }

    #[test]
    fn a_listener_compiles_to_its_rules_by_priority_and_its_default_actions() {
        let mut r = Elbv2Region::default();
        let listener = ListenerRecord {
            description: Listener {
                listener_arn: Some("l".into()),
                load_balancer_arn: Some("lb".into()),
                port: Some(80),
                protocol: Some("HTTP".into()),
                default_actions: Some(vec![Action {
                    r#type: Some("redirect".into()),
                    redirect_config: Some(crate::model::elbv2::shapes::RedirectActionConfig {
                        protocol: Some("HTTPS".into()),
                        status_code: Some("HTTP_301".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            default_rule_arn: "d".into(),
            tags: Default::default(),
        };
        r.rules.insert("r20".into(), rule("l", 20, "/b/*"));
        r.rules.insert("r3".into(), rule("l", 3, "/a/*"));
        r.rules.insert("other".into(), rule("elsewhere", 1, "/"));
        let spec = listener_spec(&r, &listener);
        assert_eq!(spec.port, 80);
        assert_eq!(spec.lb_type, LbType::Application);
        let priorities: Vec<u32> = spec.rules.iter().map(|r| r.priority).collect();
        assert_eq!(priorities, [3, 20]);
        assert!(
            matches!(&spec.rules[0].conditions[0], Condition::PathPattern(p) if p == &["/a/*"])
        );
        assert!(matches!(
            &spec.rules[0].actions[0],
            lb::Action::Forward { groups, stickiness: None } if groups[0].target_group_arn == "tg-3" && groups[0].weight == 1
        ));
        assert!(matches!(
            &spec.default_actions[0],
            lb::Action::Redirect { protocol, host, path, status: 301, .. }
                if protocol == "HTTPS" && host == "#{host}" && path == "/#{path}"
        ));
        r.rules.clear();
        assert!(listener_spec(&r, &listener).rules.is_empty());
    }

    #[test]
    fn matchers_are_codes_and_ranges() {
        assert_eq!(parse_matcher("200"), Some(vec![(200, 200)]));
        assert_eq!(
            parse_matcher("200-299,302"),
            Some(vec![(200, 299), (302, 302)])
        );
        assert_eq!(parse_matcher("299-200"), None);
        assert_eq!(parse_matcher("ok"), None);
    }
}
