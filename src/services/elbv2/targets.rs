//! RegisterTargets, DeregisterTargets, DescribeTargetHealth. Targets live
//! in the plane, which decides their health; this is where a target's id
//! becomes the address the plane connects to:
//!
//! - `ip`: the address itself, if AWS would take it: in the target group's
//!   VPC, or (with an AvailabilityZone, as AWS asks for addresses outside
//!   the VPC) in RFC 1918 or RFC 6598 space. Public and loopback addresses
//!   are refused, as on AWS.
//! - `instance`: the `ec2InstanceId` of an ECS container instance ecsbox
//!   knows (read from ECS's state); its tasks publish their host ports on
//!   the Docker engine's host, so the target is `--lb-instance-address`
//!   at the target's port.

use super::{error, refused, validation, Elbv2, Elbv2Region};
use crate::lb::{LoadBalancing, Target, TargetKey, TargetState};
use crate::model::elbv2::operations::ErrorCode;
use crate::model::elbv2::shapes::*;
use crate::protocol::{ApiError, RequestContext};
use crate::services::ec2::is_id;
use crate::state::container_instances::InstanceStatus;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// AWS's limit of targets per target group.
const MAX_TARGETS: usize = 1000;

/// What registration needs of a target group, read before the lookups.
struct Group {
    target_type: String,
    port: u16,
    vpc_id: String,
}

/// The model's documentation of InvalidTargetException, AWS's words.
const INVALID_TARGET: &str = "The specified target does not exist, is not in the same VPC as the target group, or has an unsupported instance type.";

fn in_cidr(ip: Ipv4Addr, cidr: &str) -> bool {
    let Some((base, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(base), Ok(bits)) = (base.parse::<Ipv4Addr>(), bits.parse::<u32>()) else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    };
    u32::from(ip) & mask == u32::from(base) & mask
}

/// RFC 1918 and RFC 6598 space: what an ip target outside the VPC may be.
fn is_private(ip: Ipv4Addr) -> bool {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]
    .iter()
    .any(|c| in_cidr(ip, c))
}

fn ip_target(t: &TargetDescription, port: u16, vpc_cidr: Option<&str>) -> Result<Target, ApiError> {
    let id = t.id.clone().unwrap_or_default();
    let ip: Ipv4Addr = id
        .parse()
        .map_err(|_| validation(format!("The IP address '{id}' is not a valid IPv4 address")))?;
    let in_vpc = vpc_cidr.is_some_and(|c| in_cidr(ip, c));
    if !in_vpc && !is_private(ip) {
        // ecsbox's words, after the model's documentation of TargetType ip.
        return Err(error(
            ErrorCode::InvalidTargetException,
            format!("The IP address '{id}' cannot be a target: ip targets are addresses of the target group's VPC ({}), of the RFC 1918 ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) or of 100.64.0.0/10, never publicly routable or loopback addresses", vpc_cidr.unwrap_or("unknown")),
        ));
    }
    if !in_vpc && t.availability_zone.is_none() {
        // AWS's words (kubernetes-sigs/aws-load-balancer-controller#3714).
        return Err(validation(format!(
            "The Availability Zone is required for IP address '{id}' because it is not in the VPC"
        )));
    }
    Ok(Target {
        key: TargetKey { id, port },
        address: SocketAddr::new(IpAddr::V4(ip), port),
        availability_zone: t.availability_zone.clone(),
    })
}

fn instance_target(
    svc: &Elbv2,
    ctx: &RequestContext,
    t: &TargetDescription,
    port: u16,
) -> Result<Target, ApiError> {
    let id = t.id.clone().unwrap_or_default();
    if !is_id(&id, "i") {
        // AWS's words (ansible/ansible#30962).
        return Err(validation(format!("Instance ID '{id}' is not valid")));
    }
    if t.availability_zone.is_some() {
        return Err(validation(
            "An Availability Zone cannot be given for instance targets",
        ));
    }
    let zone = svc.ecs.with(&ctx.account, &ctx.region, |s| {
        s.container_instances
            .values()
            .find(|ci| ci.ec2_instance_id == id && ci.status != InstanceStatus::Inactive)
            .map(|ci| ci.availability_zone.clone())
    });
    let Some(zone) = zone else {
        return Err(error(
            ErrorCode::InvalidTargetException,
            format!("{INVALID_TARGET} (ecsbox: '{id}' is not the ec2InstanceId of a registered ECS container instance)"),
        ));
    };
    Ok(Target {
        key: TargetKey { id, port },
        address: SocketAddr::new(svc.plane.settings().instance_address, port),
        availability_zone: Some(zone),
    })
}

fn port_of(t: &TargetDescription, default: u16) -> u16 {
    t.port.map_or(default, |p| p as u16)
}

pub(super) fn register(
    svc: &Elbv2,
    ctx: &RequestContext,
    input: RegisterTargetsInput,
) -> Result<RegisterTargetsOutput, ApiError> {
    let tg_arn = input.target_group_arn.clone().unwrap_or_default();
    let group = svc.with_region(ctx, |r| {
        let tg = &r.target_group(&tg_arn)?.description;
        Ok(Group {
            target_type: tg.target_type.clone().unwrap_or_default(),
            port: tg.port.unwrap_or_default() as u16,
            vpc_id: tg.vpc_id.clone().unwrap_or_default(),
        })
    })?;
    // EC2 and ECS are asked before ELBv2's lock is taken again.
    let vpc_cidr = svc.ec2.vpc_cidr(&ctx.account, &ctx.region, &group.vpc_id);
    let mut targets = Vec::new();
    for t in input.targets.iter().flatten() {
        if t.quic_server_id.is_some() {
            return Err(refused("QuicServerId", "there are no QUIC target groups"));
        }
        let port = port_of(t, group.port);
        targets.push(match group.target_type.as_str() {
            "ip" => ip_target(t, port, vpc_cidr.as_deref())?,
            _ => instance_target(svc, ctx, t, port)?,
        });
    }
    svc.with_region(ctx, |r| {
        r.target_group(&tg_arn)?;
        let mut keys: Vec<TargetKey> = svc
            .plane
            .target_health(&tg_arn)
            .into_iter()
            .map(|h| h.key)
            .collect();
        keys.extend(targets.iter().map(|t| t.key.clone()));
        keys.sort();
        keys.dedup();
        if keys.len() > MAX_TARGETS {
            return Err(error(
                ErrorCode::TooManyTargetsException,
                format!("A target group can have at most {MAX_TARGETS} targets"),
            ));
        }
        let record = r.target_group_mut(&tg_arn)?;
        for t in &targets {
            record.registered.retain(|kept| kept.key != t.key);
            record.registered.push(t.clone());
        }
        svc.plane.register_targets(&tg_arn, targets);
        Ok(RegisterTargetsOutput {})
    })
}

pub(super) fn deregister(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: DeregisterTargetsInput,
) -> Result<DeregisterTargetsOutput, ApiError> {
    let tg_arn = input.target_group_arn.unwrap_or_default();
    let port = r
        .target_group(&tg_arn)?
        .description
        .port
        .unwrap_or_default() as u16;
    let registered: Vec<TargetKey> = plane
        .target_health(&tg_arn)
        .into_iter()
        .map(|h| h.key)
        .collect();
    let mut keys = Vec::new();
    for t in input.targets.iter().flatten() {
        let key = TargetKey {
            id: t.id.clone().unwrap_or_default(),
            port: port_of(t, port),
        };
        if !registered.contains(&key) {
            return Err(error(
                ErrorCode::InvalidTargetException,
                format!("{INVALID_TARGET} (ecsbox: '{}' on port {} is not registered in the target group)", key.id, key.port),
            ));
        }
        keys.push(key);
    }
    r.target_group_mut(&tg_arn)?
        .registered
        .retain(|kept| !keys.contains(&kept.key));
    plane.deregister_targets(&tg_arn, &keys);
    Ok(DeregisterTargetsOutput {})
}

/// AWS's reason and description for a state the plane gave without one.
fn reason_of(state: TargetState) -> Option<(&'static str, &'static str)> {
    match state {
        TargetState::Initial => Some((
            "Elb.RegistrationInProgress",
            "Target registration is in progress",
        )),
        TargetState::Unhealthy => Some(("Target.FailedHealthChecks", "Health checks failed")),
        TargetState::Draining => Some((
            "Target.DeregistrationInProgress",
            "Target deregistration is in progress",
        )),
        TargetState::Unused => Some((
            "Target.NotInUse",
            "Target group is not configured to receive traffic from the load balancer",
        )),
        TargetState::Healthy | TargetState::Unavailable => None,
    }
}

fn described(
    key: &TargetKey,
    state: &str,
    reason: Option<(String, String)>,
    hc_port: String,
) -> TargetHealthDescription {
    TargetHealthDescription {
        target: Some(TargetDescription {
            id: Some(key.id.clone()),
            port: Some(key.port as i32),
            ..Default::default()
        }),
        health_check_port: Some(hc_port),
        target_health: Some(TargetHealth {
            state: Some(state.into()),
            reason: reason.as_ref().map(|(r, _)| r.clone()),
            description: reason.map(|(_, d)| d),
        }),
        ..Default::default()
    }
}

/// The health of the group's targets (or of those asked for: one not
/// registered is `unused`, `Target.NotRegistered`). A group no load
/// balancer forwards to has its targets `unused`, `Target.NotInUse`, as on AWS.
pub(super) fn describe_health(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: DescribeTargetHealthInput,
) -> Result<DescribeTargetHealthOutput, ApiError> {
    let tg_arn = input.target_group_arn.unwrap_or_default();
    let tg = r.target_group(&tg_arn)?;
    if input.include.is_some_and(|i| !i.is_empty()) {
        return Err(refused("Include", "there is no anomaly detection"));
    }
    let port = tg.description.port.unwrap_or_default() as u16;
    let hc_port_of = |target_port: u16| match tg.description.health_check_port.as_deref() {
        Some("traffic-port") | None => target_port.to_string(),
        Some(p) => p.to_string(),
    };
    let in_use = !r.load_balancers_of(&tg_arn).is_empty();
    let health = plane.target_health(&tg_arn);
    let of_registered = |h: &crate::lb::TargetHealth| {
        let state = if in_use || h.state == TargetState::Draining {
            h.state
        } else {
            TargetState::Unused
        };
        let reason = match (h.reason, &h.description) {
            (Some(reason), description) if state == h.state => {
                Some((reason.to_string(), description.clone().unwrap_or_default()))
            }
            _ => reason_of(state).map(|(a, b)| (a.to_string(), b.to_string())),
        };
        described(&h.key, state.as_str(), reason, h.health_check_port.clone())
    };
    let descriptions = match input.targets {
        Some(asked) if !asked.is_empty() => asked
            .iter()
            .map(|t| {
                let key = TargetKey {
                    id: t.id.clone().unwrap_or_default(),
                    port: port_of(t, port),
                };
                match health.iter().find(|h| h.key == key) {
                    Some(h) => of_registered(h),
                    None => described(
                        &key,
                        "unused",
                        Some((
                            "Target.NotRegistered".into(),
                            "Target is not registered to the target group".into(),
                        )),
                        hc_port_of(key.port),
                    ),
                }
            })
            .collect(),
        _ => health.iter().map(of_registered).collect(),
    };
    Ok(DescribeTargetHealthOutput {
        target_health_descriptions: Some(descriptions),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, zone: Option<&str>) -> TargetDescription {
        TargetDescription {
            id: Some(id.into()),
            availability_zone: zone.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn ip_targets_are_vpc_or_private_addresses() {
        let vpc = Some("172.31.0.0/16");
        assert!(ip_target(&target("172.31.5.9", None), 80, vpc).is_ok());
        assert!(ip_target(&target("10.1.2.3", Some("all")), 80, vpc).is_ok());
        assert!(ip_target(&target("100.64.0.7", Some("all")), 80, vpc).is_ok());
        let e = ip_target(&target("10.1.2.3", None), 80, vpc).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        for public in ["127.0.0.1", "8.8.8.8"] {
            let e = ip_target(&target(public, Some("all")), 80, vpc).unwrap_err();
            assert_eq!(e.code, "InvalidTarget", "{public}");
        }
        assert_eq!(
            ip_target(&target("nope", None), 80, vpc).unwrap_err().code,
            "ValidationError"
        );
        let t = ip_target(&target("172.31.5.9", None), 8080, vpc).unwrap();
        assert_eq!(t.address.to_string(), "172.31.5.9:8080");
    }
}
