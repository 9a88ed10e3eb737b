//! CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup,
//! DeleteTargetGroup. A target group is kept here as AWS describes it and
//! handed to the plane as a `TargetGroupSpec` (`compile`) on every change;
//! its targets live in the plane (`targets`).
//!
//! Served: target types `ip` and `instance`, protocols HTTP, HTTPS, TCP and
//! TLS, HTTP/1.1 (ProtocolVersion HTTP1), IPv4. Health check defaults are
//! the ones the model documents for CreateTargetGroup (botocore 1.44.5).

use super::{
    arn, attributes, check_name, compile, error, load_balancers_not_found, names_not_found, new_id,
    page, refused, tags, target_groups_not_found, validation, Elbv2, Elbv2Region,
    TargetGroupRecord,
};
use crate::lb::LoadBalancing;
use crate::model::elbv2::operations::ErrorCode;
use crate::model::elbv2::shapes::*;
use crate::protocol::{ApiError, RequestContext};

/// The health check members CreateTargetGroup and ModifyTargetGroup share.
#[derive(Default)]
struct HealthCheckInput {
    protocol: Option<String>,
    port: Option<String>,
    enabled: Option<bool>,
    path: Option<String>,
    interval: Option<i32>,
    timeout: Option<i32>,
    healthy: Option<i32>,
    unhealthy: Option<i32>,
    matcher: Option<Matcher>,
}

/// Sets the health check of `tg` from what was given, with AWS's defaults
/// for what was not (`creating`: defaults apply; modifying keeps the rest),
/// and checks the result.
fn apply_health_check(
    tg: &mut TargetGroup,
    given: HealthCheckInput,
    creating: bool,
) -> Result<(), ApiError> {
    let network = attributes::is_network_group(tg);
    let protocol_changed = given.protocol.is_some();
    if let Some(p) = given.protocol {
        tg.health_check_protocol = Some(p);
    } else if creating {
        tg.health_check_protocol = Some(if network { "TCP" } else { "HTTP" }.into());
    }
    let hc = tg.health_check_protocol.clone().unwrap_or_default();
    let http_check = hc == "HTTP" || hc == "HTTPS";
    if !matches!(hc.as_str(), "HTTP" | "HTTPS" | "TCP") {
        return Err(validation(format!(
            "Health check protocol '{hc}' is not supported: use HTTP, HTTPS or TCP"
        )));
    }
    if hc == "TCP" && !network {
        // The model's documentation: TCP is not supported for health checks
        // of HTTP and HTTPS target groups.
        return Err(validation(format!(
            "Health check protocol 'TCP' is not supported for target groups with the {} protocol",
            tg.protocol.as_deref().unwrap_or_default()
        )));
    }
    if let Some(port) = given.port {
        if port != "traffic-port" && !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(validation(format!(
                "Health check port '{port}' must be 'traffic-port' or a port from 1 to 65535"
            )));
        }
        tg.health_check_port = Some(port);
    } else if creating {
        tg.health_check_port = Some("traffic-port".into());
    }
    if given.enabled == Some(false) {
        // The model: for instance and ip targets health checks are always
        // enabled and can't be disabled.
        return Err(validation(format!(
            "Health checks cannot be disabled for target groups with target type '{}'",
            tg.target_type.as_deref().unwrap_or("instance")
        )));
    }
    tg.health_check_enabled = Some(true);
    match (given.path, http_check) {
        (Some(_), false) => {
            return Err(validation(
                "A health check path can be set only for HTTP and HTTPS health checks",
            ))
        }
        (Some(path), true) => tg.health_check_path = Some(path),
        (None, true) if tg.health_check_path.is_none() => tg.health_check_path = Some("/".into()),
        (None, false) => tg.health_check_path = None,
        (None, true) => {}
    }
    let set = |slot: &mut Option<i32>, value: Option<i32>, default: i32| {
        if value.is_some() {
            *slot = value;
        } else if creating {
            *slot = Some(default);
        }
    };
    let default_timeout = match tg.protocol.as_deref() {
        Some("HTTP") => 6,
        _ => 10,
    };
    set(&mut tg.health_check_interval_seconds, given.interval, 30);
    set(
        &mut tg.health_check_timeout_seconds,
        given.timeout,
        default_timeout,
    );
    set(&mut tg.healthy_threshold_count, given.healthy, 5);
    set(&mut tg.unhealthy_threshold_count, given.unhealthy, 2);
    let (interval, timeout) = (
        tg.health_check_interval_seconds.unwrap_or(30),
        tg.health_check_timeout_seconds.unwrap_or(10),
    );
    if timeout >= interval {
        return Err(validation(format!(
            "Health check timeout '{timeout}' must be smaller than the interval '{interval}'"
        )));
    }
    match given.matcher {
        Some(m) if m.grpc_code.is_some() => {
            return Err(refused(
                "GrpcCode matchers",
                "target groups speak HTTP/1.1 (ProtocolVersion HTTP1)",
            ))
        }
        Some(_) if !http_check => {
            return Err(validation(
                "A matcher can be set only for HTTP and HTTPS health checks",
            ))
        }
        Some(m) => {
            let codes = m.http_code.unwrap_or_default();
            let (lo, hi) = if network { (200, 599) } else { (200, 499) };
            if compile::parse_matcher(&codes)
                .is_none_or(|ranges| ranges.iter().any(|(a, b)| *a < lo || *b > hi))
            {
                return Err(validation(format!(
                    "Health check matcher HTTP code '{codes}' must be codes or ranges of codes from {lo} to {hi}"
                )));
            }
            tg.matcher = Some(Matcher {
                http_code: Some(codes),
                grpc_code: None,
            });
        }
        None if http_check && (creating || protocol_changed) && tg.matcher.is_none() => {
            let codes = if network { "200-399" } else { "200" };
            tg.matcher = Some(Matcher {
                http_code: Some(codes.into()),
                grpc_code: None,
            });
        }
        None if !http_check => tg.matcher = None,
        None => {}
    }
    Ok(())
}

pub(super) fn create(
    svc: &Elbv2,
    ctx: &RequestContext,
    input: CreateTargetGroupInput,
) -> Result<CreateTargetGroupOutput, ApiError> {
    let name = input.name.clone().unwrap_or_default();
    check_name("Target group", &name)?;
    let target_type = input
        .target_type
        .clone()
        .unwrap_or_else(|| "instance".into());
    if target_type == "lambda" || target_type == "alb" {
        return Err(refused(
            &format!("target type '{target_type}'"),
            "targets are instances (ECS container instances) or IP addresses",
        ));
    }
    let protocol = input
        .protocol
        .clone()
        .ok_or_else(|| validation("A protocol must be specified"))?;
    if !matches!(protocol.as_str(), "HTTP" | "HTTPS" | "TCP" | "TLS") {
        return Err(refused(
            &format!("the protocol {protocol}"),
            "target groups are HTTP, HTTPS, TCP or TLS",
        ));
    }
    let port = input
        .port
        .ok_or_else(|| validation("A port must be specified"))?;
    let vpc_id = input
        .vpc_id
        .clone()
        .ok_or_else(|| validation("A VPC ID must be specified"))?;
    if svc
        .ec2
        .vpc_cidr(&ctx.account, &ctx.region, &vpc_id)
        .is_none()
    {
        return Err(validation(format!("The VPC ID '{vpc_id}' is not found")));
    }
    let http = protocol == "HTTP" || protocol == "HTTPS";
    match input.protocol_version.as_deref() {
        Some(v) if !http => {
            return Err(validation(format!(
                "Protocol version '{v}' can be set only for HTTP and HTTPS target groups"
            )))
        }
        Some("HTTP1") | None => {}
        Some(v) => {
            return Err(refused(
                &format!("ProtocolVersion {v}"),
                "target groups speak HTTP/1.1",
            ))
        }
    }
    if input.ip_address_type.as_deref() == Some("ipv6") {
        return Err(refused("IpAddressType ipv6", "targets are IPv4 addresses"));
    }
    if input.target_control_port.is_some() {
        return Err(refused(
            "TargetControlPort",
            "targets take no control traffic",
        ));
    }
    let new_tags = tags::checked(input.tags.as_deref())?;
    let mut description = TargetGroup {
        target_group_name: Some(name.clone()),
        protocol: Some(protocol.clone()),
        port: Some(port),
        vpc_id: Some(vpc_id),
        target_type: Some(target_type.clone()),
        protocol_version: http.then(|| "HTTP1".to_string()),
        ip_address_type: Some("ipv4".into()),
        load_balancer_arns: Some(Vec::new()),
        ..Default::default()
    };
    apply_health_check(&mut description, health_check_of_create(&input), true)?;
    let request = CreateTargetGroupInput {
        tags: None,
        ..input
    };
    svc.with_region(ctx, |r| {
        if let Some(existing) = r
            .target_groups
            .values()
            .find(|tg| tg.description.target_group_name.as_deref() == Some(name.as_str()))
        {
            if existing.request == request {
                return Ok(CreateTargetGroupOutput {
                    target_groups: Some(vec![described(r, existing)]),
                });
            }
            // AWS's words.
            return Err(error(
                ErrorCode::DuplicateTargetGroupNameException,
                format!("A target group with the same name '{name}' exists, but with different settings"),
            ));
        }
        let tg_arn = arn(ctx, &format!("targetgroup/{name}/{}", new_id()));
        description.target_group_arn = Some(tg_arn.clone());
        let network = attributes::is_network_group(&description);
        let record = TargetGroupRecord {
            description,
            request,
            attributes: attributes::target_group_defaults(network, target_type == "ip"),
            tags: new_tags,
            registered: vec![],
        };
        svc.plane.put_target_group(compile::target_group_spec(&record));
        let answer = record.description.clone();
        r.target_groups.insert(tg_arn, record);
        Ok(CreateTargetGroupOutput {
            target_groups: Some(vec![answer]),
        })
    })
}

fn health_check_of_create(input: &CreateTargetGroupInput) -> HealthCheckInput {
    HealthCheckInput {
        protocol: input.health_check_protocol.clone(),
        port: input.health_check_port.clone(),
        enabled: input.health_check_enabled,
        path: input.health_check_path.clone(),
        interval: input.health_check_interval_seconds,
        timeout: input.health_check_timeout_seconds,
        healthy: input.healthy_threshold_count,
        unhealthy: input.unhealthy_threshold_count,
        matcher: input.matcher.clone(),
    }
}

/// The description with the load balancers that forward to it.
fn described(r: &Elbv2Region, tg: &TargetGroupRecord) -> TargetGroup {
    let mut d = tg.description.clone();
    d.load_balancer_arns =
        Some(r.load_balancers_of(d.target_group_arn.as_deref().unwrap_or_default()));
    d
}

pub(super) fn describe(
    r: &mut Elbv2Region,
    input: DescribeTargetGroupsInput,
) -> Result<DescribeTargetGroupsOutput, ApiError> {
    let arns = input.target_group_arns.unwrap_or_default();
    let names = input.names.unwrap_or_default();
    let given = [
        input.load_balancer_arn.is_some(),
        !arns.is_empty(),
        !names.is_empty(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(validation(
            "A load balancer ARN, target group ARNs and target group names cannot be specified together",
        ));
    }
    if arns.iter().any(|a| !r.target_groups.contains_key(a)) {
        return Err(target_groups_not_found());
    }
    let name_of =
        |tg: &TargetGroupRecord| tg.description.target_group_name.clone().unwrap_or_default();
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !r.target_groups.values().any(|tg| &name_of(tg) == *n))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(names_not_found(
            ErrorCode::TargetGroupNotFoundException,
            "Target groups",
            &missing,
        ));
    }
    let of_lb = match &input.load_balancer_arn {
        Some(lb) => {
            if !r.load_balancers.contains_key(lb) {
                return Err(load_balancers_not_found());
            }
            Some(
                r.forwards()
                    .into_iter()
                    .filter(|(l, _)| l == lb)
                    .map(|(_, tg)| tg)
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let wanted = r.target_groups.iter().filter(|(arn, tg)| {
        (arns.is_empty() || arns.contains(arn))
            && (names.is_empty() || names.contains(&name_of(tg)))
            && of_lb.as_ref().is_none_or(|tgs| tgs.contains(arn))
    });
    let (items, next_marker) = page(
        wanted.map(|(k, tg)| (k, described(r, tg))),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeTargetGroupsOutput {
        target_groups: Some(items),
        next_marker,
    })
}

pub(super) fn modify(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: ModifyTargetGroupInput,
) -> Result<ModifyTargetGroupOutput, ApiError> {
    let arn = input.target_group_arn.clone().unwrap_or_default();
    let tg = r.target_group(&arn)?;
    let mut description = tg.description.clone();
    apply_health_check(
        &mut description,
        HealthCheckInput {
            protocol: input.health_check_protocol,
            port: input.health_check_port,
            enabled: input.health_check_enabled,
            path: input.health_check_path,
            interval: input.health_check_interval_seconds,
            timeout: input.health_check_timeout_seconds,
            healthy: input.healthy_threshold_count,
            unhealthy: input.unhealthy_threshold_count,
            matcher: input.matcher,
        },
        false,
    )?;
    let tg = r
        .target_groups
        .get_mut(&arn)
        .ok_or_else(target_groups_not_found)?;
    tg.description = description;
    plane.put_target_group(compile::target_group_spec(tg));
    let tg = r.target_group(&arn)?;
    Ok(ModifyTargetGroupOutput {
        target_groups: Some(vec![described(r, tg)]),
    })
}

/// Deletes a target group no listener or rule forwards to (AWS's
/// ResourceInUse otherwise), and its targets with it.
pub(super) fn delete(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: DeleteTargetGroupInput,
) -> Result<DeleteTargetGroupOutput, ApiError> {
    let arn = input.target_group_arn.unwrap_or_default();
    r.target_group(&arn)?;
    if r.forwards().iter().any(|(_, tg)| tg == &arn) {
        // AWS's words (aws/copilot-cli#2593, cloudposse/terraform-aws-alb-ingress#24).
        return Err(error(
            ErrorCode::ResourceInUseException,
            format!("Target group '{arn}' is currently in use by a listener or a rule"),
        ));
    }
    r.target_groups.remove(&arn);
    plane.remove_target_group(&arn);
    Ok(DeleteTargetGroupOutput {})
}
