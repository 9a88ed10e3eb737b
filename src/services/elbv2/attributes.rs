//! The attributes of load balancers and target groups: every key AWS
//! documents (the model's `LoadBalancerAttribute.Key` and
//! `TargetGroupAttribute.Key`) is in a table here, with the kind of load
//! balancer it belongs to, its default and the values it takes. A key is
//! honoured (the plane acts on it: deregistration delay, slow start,
//! stickiness, algorithm; deletion protection), stored (it describes
//! something a local listener has no use for, like access log buckets or
//! zonal shift), or allowed only at its default, with the reason in the
//! refusal (access logs need S3). A key not in the table is refused by name.

use super::{refused, validation, Elbv2Region, TargetGroupRecord};
use crate::lb::{Algorithm, LoadBalancing};
use crate::model::elbv2::shapes::*;
use crate::protocol::ApiError;
use std::collections::BTreeMap;
use std::time::Duration;

/// Which load balancers (or target groups of which) a key belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum For {
    Both,
    /// Application Load Balancers (HTTP and HTTPS target groups).
    Alb,
    /// Network Load Balancers (TCP and TLS target groups).
    Nlb,
}

#[derive(Clone, Copy)]
enum Kind {
    Bool,
    /// An integer in the range, inclusive.
    Int(i64, i64),
    /// `off`, or an integer in the range.
    OffOr(i64, i64),
    /// `0` (off), or an integer in the range.
    ZeroOr(i64, i64),
    OneOf(&'static [&'static str]),
    Text,
}

struct Attr {
    key: &'static str,
    applies: For,
    /// The default of an ALB (or HTTP target group), of an NLB (or TCP one).
    default: (&'static str, &'static str),
    kind: Kind,
    /// Allowed only at its default: why ecsbox cannot do otherwise.
    only_default: Option<&'static str>,
}

const fn attr(key: &'static str, applies: For, default: &'static str, kind: Kind) -> Attr {
    Attr {
        key,
        applies,
        default: (default, default),
        kind,
        only_default: None,
    }
}

const NO_S3: &str = "there is no S3 to write logs to";
const BOOL: Kind = Kind::Bool;

/// Load balancer attributes, from the model's documentation of
/// `LoadBalancerAttribute.Key` (botocore 1.44.5).
const LOAD_BALANCER: &[Attr] = &[
    attr("deletion_protection.enabled", For::Both, "false", BOOL),
    Attr {
        default: ("true", "false"),
        ..attr("load_balancing.cross_zone.enabled", For::Both, "", BOOL)
    },
    Attr {
        only_default: Some(NO_S3),
        ..attr("access_logs.s3.enabled", For::Both, "false", BOOL)
    },
    attr("access_logs.s3.bucket", For::Both, "", Kind::Text),
    attr("access_logs.s3.prefix", For::Both, "", Kind::Text),
    attr("ipv6.deny_all_igw_traffic", For::Both, "false", BOOL),
    attr("zonal_shift.config.enabled", For::Both, "false", BOOL),
    attr(
        "idle_timeout.timeout_seconds",
        For::Alb,
        "60",
        Kind::Int(1, 4000),
    ),
    attr(
        "client_keep_alive.seconds",
        For::Alb,
        "3600",
        Kind::Int(60, 604800),
    ),
    Attr {
        only_default: Some(NO_S3),
        ..attr("connection_logs.s3.enabled", For::Alb, "false", BOOL)
    },
    attr("connection_logs.s3.bucket", For::Alb, "", Kind::Text),
    attr("connection_logs.s3.prefix", For::Alb, "", Kind::Text),
    Attr {
        only_default: Some(NO_S3),
        ..attr("health_check_logs.s3.enabled", For::Alb, "false", BOOL)
    },
    attr("health_check_logs.s3.bucket", For::Alb, "", Kind::Text),
    attr("health_check_logs.s3.prefix", For::Alb, "", Kind::Text),
    attr(
        "routing.http.desync_mitigation_mode",
        For::Alb,
        "defensive",
        Kind::OneOf(&["monitor", "defensive", "strictest"]),
    ),
    attr(
        "routing.http.drop_invalid_header_fields.enabled",
        For::Alb,
        "false",
        BOOL,
    ),
    attr(
        "routing.http.preserve_host_header.enabled",
        For::Alb,
        "false",
        BOOL,
    ),
    attr(
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
        For::Alb,
        "false",
        BOOL,
    ),
    attr(
        "routing.http.xff_client_port.enabled",
        For::Alb,
        "false",
        BOOL,
    ),
    attr(
        "routing.http.xff_header_processing.mode",
        For::Alb,
        "append",
        Kind::OneOf(&["append", "preserve", "remove"]),
    ),
    attr("routing.http2.enabled", For::Alb, "true", BOOL),
    attr("waf.fail_open.enabled", For::Alb, "false", BOOL),
    attr(
        "dns_record.client_routing_policy",
        For::Nlb,
        "any_availability_zone",
        Kind::OneOf(&[
            "availability_zone_affinity",
            "partial_availability_zone_affinity",
            "any_availability_zone",
        ]),
    ),
    attr(
        "secondary_ips.auto_assigned.per_subnet",
        For::Nlb,
        "0",
        Kind::Int(0, 7),
    ),
];

/// Target group attributes, from the model's documentation of
/// `TargetGroupAttribute.Key` (botocore 1.44.5). Lambda and Gateway Load
/// Balancer keys are refused by name (`UNSERVED_TARGET_GROUP`).
const TARGET_GROUP: &[Attr] = &[
    attr(
        "deregistration_delay.timeout_seconds",
        For::Both,
        "300",
        Kind::Int(0, 3600),
    ),
    attr("stickiness.enabled", For::Both, "false", BOOL),
    Attr {
        default: ("lb_cookie", "source_ip"),
        ..attr(
            "stickiness.type",
            For::Both,
            "",
            Kind::OneOf(&["lb_cookie", "app_cookie", "source_ip"]),
        )
    },
    attr(
        "load_balancing.cross_zone.enabled",
        For::Both,
        "use_load_balancer_configuration",
        Kind::OneOf(&["true", "false", "use_load_balancer_configuration"]),
    ),
    attr(
        "target_group_health.dns_failover.minimum_healthy_targets.count",
        For::Both,
        "1",
        Kind::OffOr(1, 1000),
    ),
    attr(
        "target_group_health.dns_failover.minimum_healthy_targets.percentage",
        For::Both,
        "off",
        Kind::OffOr(1, 100),
    ),
    attr(
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
        For::Both,
        "1",
        Kind::Int(1, 1000),
    ),
    attr(
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
        For::Both,
        "off",
        Kind::OffOr(1, 100),
    ),
    attr(
        "load_balancing.algorithm.type",
        For::Alb,
        "round_robin",
        Kind::OneOf(&[
            "round_robin",
            "least_outstanding_requests",
            "weighted_random",
        ]),
    ),
    Attr {
        only_default: Some("it needs the weighted_random algorithm, which ecsbox does not have"),
        ..attr(
            "load_balancing.algorithm.anomaly_mitigation",
            For::Alb,
            "off",
            Kind::OneOf(&["on", "off"]),
        )
    },
    attr(
        "slow_start.duration_seconds",
        For::Alb,
        "0",
        // AWS: "The range is 30-900 seconds (15 minutes)", 0 disables it.
        Kind::ZeroOr(30, 900),
    ),
    attr(
        "stickiness.app_cookie.cookie_name",
        For::Alb,
        "",
        Kind::Text,
    ),
    attr(
        "stickiness.app_cookie.duration_seconds",
        For::Alb,
        "86400",
        Kind::Int(1, 604800),
    ),
    attr(
        "stickiness.lb_cookie.duration_seconds",
        For::Alb,
        "86400",
        Kind::Int(1, 604800),
    ),
    attr(
        "deregistration_delay.connection_termination.enabled",
        For::Nlb,
        "false",
        BOOL,
    ),
    attr("preserve_client_ip.enabled", For::Nlb, "true", BOOL),
    Attr {
        only_default: Some("listeners do not send PROXY protocol headers"),
        ..attr("proxy_protocol_v2.enabled", For::Nlb, "false", BOOL)
    },
    attr(
        "target_health_state.unhealthy.connection_termination.enabled",
        For::Nlb,
        "true",
        BOOL,
    ),
    attr(
        "target_health_state.unhealthy.draining_interval_seconds",
        For::Nlb,
        "0",
        Kind::Int(0, 360000),
    ),
];

/// Target group keys AWS has for targets or load balancers ecsbox does not serve.
const UNSERVED_TARGET_GROUP: &[(&str, &str)] = &[
    (
        "lambda.multi_value_headers.enabled",
        "there are no Lambda targets",
    ),
    (
        "target_failover.on_deregistration",
        "there are no Gateway Load Balancers",
    ),
    (
        "target_failover.on_unhealthy",
        "there are no Gateway Load Balancers",
    ),
    (
        "send_tcp_reset.on_unhealthy.enabled",
        "there are no Gateway Load Balancers",
    ),
    (
        "send_tcp_reset.on_deregistration.enabled",
        "there are no Gateway Load Balancers",
    ),
];

fn applies(a: &Attr, network: bool) -> bool {
    match a.applies {
        For::Both => true,
        For::Alb => !network,
        For::Nlb => network,
    }
}

fn defaults(table: &[Attr], network: bool) -> BTreeMap<String, String> {
    table
        .iter()
        .filter(|a| applies(a, network))
        .map(|a| {
            let d = if network { a.default.1 } else { a.default.0 };
            (a.key.to_string(), d.to_string())
        })
        .collect()
}

pub(super) fn load_balancer_defaults(network: bool) -> BTreeMap<String, String> {
    defaults(LOAD_BALANCER, network)
}

/// A target group's defaults: its protocol tells ALB from NLB keys; client
/// IP preservation is off by default for ip targets over TCP or TLS.
pub(super) fn target_group_defaults(network: bool, ip_targets: bool) -> BTreeMap<String, String> {
    let mut d = defaults(TARGET_GROUP, network);
    if network && ip_targets {
        d.insert("preserve_client_ip.enabled".into(), "false".into());
    }
    d
}

/// Checks one key and value against `table` (`what`: "Load balancer" or
/// "Target group", as AWS's messages begin).
fn check(
    table: &[Attr],
    what: &str,
    network: bool,
    current: &BTreeMap<String, String>,
    key: &str,
    value: &str,
) -> Result<(), ApiError> {
    let Some(a) = table.iter().find(|a| a.key == key && applies(a, network)) else {
        if let Some((_, why)) = UNSERVED_TARGET_GROUP.iter().find(|(k, _)| *k == key) {
            return Err(refused(&format!("the attribute {key}"), why));
        }
        // AWS's words.
        return Err(validation(format!(
            "{what} attribute key '{key}' is not recognized"
        )));
    };
    let ok = match a.kind {
        Kind::Bool => value == "true" || value == "false",
        Kind::Int(lo, hi) => value.parse::<i64>().is_ok_and(|n| (lo..=hi).contains(&n)),
        Kind::OffOr(lo, hi) => {
            value == "off" || value.parse::<i64>().is_ok_and(|n| (lo..=hi).contains(&n))
        }
        Kind::ZeroOr(lo, hi) => value
            .parse::<i64>()
            .is_ok_and(|n| n == 0 || (lo..=hi).contains(&n)),
        Kind::OneOf(values) => values.contains(&value),
        Kind::Text => true,
    };
    if !ok {
        let expected = match a.kind {
            Kind::Bool => "true or false".to_string(),
            Kind::Int(lo, hi) => format!("an integer from {lo} to {hi}"),
            Kind::OffOr(lo, hi) => format!("off or an integer from {lo} to {hi}"),
            Kind::ZeroOr(lo, hi) => format!("0 or an integer from {lo} to {hi}"),
            Kind::OneOf(values) => format!("one of {}", values.join(", ")),
            Kind::Text => unreachable!("any text is valid"),
        };
        // ecsbox's words.
        return Err(validation(format!(
            "{what} attribute '{key}' must be {expected}, not '{value}'"
        )));
    }
    if let Some(why) = a.only_default {
        if current.get(key).map(String::as_str) != Some(value) {
            return Err(refused(&format!("{key}={value}"), why));
        }
    }
    Ok(())
}

/// `current` with the (key, value) pairs given, each checked before any is set.
fn updated(
    table: &[Attr],
    what: &str,
    network: bool,
    current: &BTreeMap<String, String>,
    given: impl Iterator<Item = (Option<String>, Option<String>)>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut next = current.clone();
    for (key, value) in given {
        let (key, value) = (key.unwrap_or_default(), value.unwrap_or_default());
        check(table, what, network, current, &key, &value)?;
        next.insert(key, value);
    }
    Ok(next)
}

fn to_load_balancer_attributes(map: &BTreeMap<String, String>) -> Vec<LoadBalancerAttribute> {
    map.iter()
        .map(|(k, v)| LoadBalancerAttribute {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

fn to_target_group_attributes(map: &BTreeMap<String, String>) -> Vec<TargetGroupAttribute> {
    map.iter()
        .map(|(k, v)| TargetGroupAttribute {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

pub(super) fn describe_load_balancer(
    r: &mut Elbv2Region,
    input: DescribeLoadBalancerAttributesInput,
) -> Result<DescribeLoadBalancerAttributesOutput, ApiError> {
    let lb = r.load_balancer(input.load_balancer_arn.as_deref().unwrap_or_default())?;
    Ok(DescribeLoadBalancerAttributesOutput {
        attributes: Some(to_load_balancer_attributes(&lb.attributes)),
    })
}

/// Sets the attributes given (all checked before any is set); answers them all.
pub(super) fn modify_load_balancer(
    r: &mut Elbv2Region,
    input: ModifyLoadBalancerAttributesInput,
) -> Result<ModifyLoadBalancerAttributesOutput, ApiError> {
    let arn = input.load_balancer_arn.unwrap_or_default();
    let lb = r
        .load_balancers
        .get_mut(&arn)
        .ok_or_else(super::load_balancers_not_found)?;
    let network = lb.description.r#type.as_deref() == Some("network");
    let given = input.attributes.unwrap_or_default();
    let given = given.into_iter().map(|a| (a.key, a.value));
    lb.attributes = updated(
        LOAD_BALANCER,
        "Load balancer",
        network,
        &lb.attributes,
        given,
    )?;
    Ok(ModifyLoadBalancerAttributesOutput {
        attributes: Some(to_load_balancer_attributes(&lb.attributes)),
    })
}

pub(super) fn describe_target_group(
    r: &mut Elbv2Region,
    input: DescribeTargetGroupAttributesInput,
) -> Result<DescribeTargetGroupAttributesOutput, ApiError> {
    let tg = r.target_group(input.target_group_arn.as_deref().unwrap_or_default())?;
    Ok(DescribeTargetGroupAttributesOutput {
        attributes: Some(to_target_group_attributes(&tg.attributes)),
    })
}

/// Whether a target group serves Network Load Balancers (TCP or TLS).
pub(super) fn is_network_group(tg: &TargetGroup) -> bool {
    matches!(tg.protocol.as_deref(), Some("TCP") | Some("TLS"))
}

pub(super) fn modify_target_group(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: ModifyTargetGroupAttributesInput,
) -> Result<ModifyTargetGroupAttributesOutput, ApiError> {
    let arn = input.target_group_arn.unwrap_or_default();
    let tg = r
        .target_groups
        .get_mut(&arn)
        .ok_or_else(super::target_groups_not_found)?;
    let network = is_network_group(&tg.description);
    let given = input.attributes.unwrap_or_default();
    let given = given.into_iter().map(|a| (a.key, a.value));
    let next = updated(TARGET_GROUP, "Target group", network, &tg.attributes, given)?;
    check_stickiness(&next)?;
    check_algorithm(&next)?;
    tg.attributes = next;
    plane.put_target_group(super::compile::target_group_spec(tg));
    Ok(ModifyTargetGroupAttributesOutput {
        attributes: Some(to_target_group_attributes(&tg.attributes)),
    })
}

/// The plane keeps lb_cookie stickiness only (the AWSALB cookie).
fn check_stickiness(attrs: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let on = attrs.get("stickiness.enabled").map(String::as_str) == Some("true");
    let kind = attrs
        .get("stickiness.type")
        .map(String::as_str)
        .unwrap_or("lb_cookie");
    if on && kind != "lb_cookie" {
        return Err(refused(
            &format!("stickiness.type {kind}"),
            "listeners keep sessions with the load balancer's own cookie (lb_cookie) only",
        ));
    }
    Ok(())
}

fn check_algorithm(attrs: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let algorithm = attrs
        .get("load_balancing.algorithm.type")
        .map(String::as_str);
    if algorithm == Some("weighted_random") {
        return Err(refused(
            "load_balancing.algorithm.type weighted_random",
            "listeners balance round_robin or least_outstanding_requests",
        ));
    }
    let slow_start = attrs
        .get("slow_start.duration_seconds")
        .is_some_and(|v| v != "0");
    if slow_start && algorithm == Some("least_outstanding_requests") {
        // AWS ("Slow start mode"): "You can't enable slow start mode when
        // using the least outstanding requests ... routing algorithm".
        // The message is ecsbox's.
        return Err(super::error(
            crate::model::elbv2::operations::ErrorCode::InvalidConfigurationRequestException,
            "Slow start mode (slow_start.duration_seconds) cannot be combined with the \
             least_outstanding_requests load balancing algorithm",
        ));
    }
    Ok(())
}

/// What the plane honours of a target group's attributes.
pub(super) struct Honoured {
    pub algorithm: Algorithm,
    pub deregistration_delay: Duration,
    pub slow_start: Duration,
    pub stickiness: Option<Duration>,
}

pub(super) fn honoured(tg: &TargetGroupRecord) -> Honoured {
    let secs = |key: &str| {
        Duration::from_secs(
            tg.attributes
                .get(key)
                .and_then(|v| v.parse().ok())
                .unwrap_or_default(),
        )
    };
    let on = tg.attributes.get("stickiness.enabled").map(String::as_str) == Some("true");
    Honoured {
        algorithm: match tg
            .attributes
            .get("load_balancing.algorithm.type")
            .map(String::as_str)
        {
            Some("least_outstanding_requests") => Algorithm::LeastOutstandingRequests,
            _ => Algorithm::RoundRobin,
        },
        deregistration_delay: secs("deregistration_delay.timeout_seconds"),
        slow_start: secs("slow_start.duration_seconds"),
        stickiness: on.then(|| secs("stickiness.lb_cookie.duration_seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_a_valid_default() {
        for (table, what) in [
            (LOAD_BALANCER, "Load balancer"),
            (TARGET_GROUP, "Target group"),
        ] {
            for network in [false, true] {
                let d = defaults(table, network);
                for (k, v) in &d {
                    check(table, what, network, &d, k, v)
                        .unwrap_or_else(|e| panic!("{k}={v}: {e}"));
                }
            }
        }
    }

    #[test]
    fn unknown_wrong_kind_and_unhonourable_values_are_refused() {
        let refusal = |table: &[Attr], what: &str, network: bool, key: &str, value: &str| {
            check(table, what, network, &defaults(table, network), key, value).unwrap_err()
        };
        let lb = |network, key: &str, value: &str| {
            refusal(LOAD_BALANCER, "Load balancer", network, key, value)
        };
        let e = lb(false, "bogus", "1");
        assert_eq!(
            e.message,
            "Load balancer attribute key 'bogus' is not recognized"
        );
        // An ALB's key on an NLB.
        let e = lb(true, "idle_timeout.timeout_seconds", "5");
        assert!(e.message.contains("not recognized"), "{}", e.message);
        let e = lb(false, "idle_timeout.timeout_seconds", "0");
        assert!(e.message.contains("from 1 to 4000"), "{}", e.message);
        let e = lb(false, "access_logs.s3.enabled", "true");
        assert_eq!(e.code, "InvalidConfigurationRequest");
        let e = refusal(
            TARGET_GROUP,
            "Target group",
            false,
            "lambda.multi_value_headers.enabled",
            "true",
        );
        assert!(e.message.contains("Lambda"), "{}", e.message);
    }
}
