//! CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
//! SetSecurityGroups, SetSubnets.
//!
//! A load balancer is a record: it carries no traffic itself, its listeners
//! do (`listeners`). Both schemes listen on local addresses; the DNS name is
//! a `*.elb.localhost` name, which resolves to loopback on the host.
//! CreateLoadBalancer answers State `provisioning`, every Describe after it
//! `active`, so the `load-balancer-available` waiter sees the transition.

use super::{
    arn, attributes, check_name, error, load_balancers_not_found, names_not_found, new_id, page,
    refused, tags, validation, Elbv2, Elbv2Region, LoadBalancerRecord,
};
use crate::domain::network::NetworkDirectory;
use crate::lb::LoadBalancing;
use crate::model::elbv2::operations::ErrorCode;
use crate::model::elbv2::shapes::*;
use crate::protocol::{ApiError, RequestContext};

/// Why ecsbox refuses the address settings of load balancers.
const IPV4_ONLY: &str = "load balancers are IPv4 only";
const LOCAL_ADDRESSES: &str = "a load balancer listens on this machine's addresses";

/// Where a load balancer is: what its Subnets/SubnetMappings and
/// SecurityGroups resolve to in EC2 (looked up before ELBv2's lock).
struct Placement {
    vpc_id: String,
    zones: Vec<AvailabilityZone>,
    security_groups: Option<Vec<String>>,
}

/// The Route 53 hosted zone of ALBs and NLBs in a few regions (AWS's
/// "Elastic Load Balancing endpoints and quotas"); elsewhere us-east-1's.
fn hosted_zone(region: &str, network: bool) -> &'static str {
    let zones: &[(&str, &str, &str)] = &[
        ("us-east-1", "Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
        ("us-east-2", "Z3AADJGX6KTTL2", "ZLMOA37VPKANP"),
        ("us-west-1", "Z368ELLRRE2KJ0", "Z24FKFUX50B4VW"),
        ("us-west-2", "Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
        ("eu-west-1", "Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
        ("eu-central-1", "Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"),
        ("ap-southeast-1", "Z1LMS91P8CMLE5", "ZKVM4W9LS7TM"),
        ("ap-northeast-1", "Z14GRHDCWA56QT", "Z31USIVHYNEOWT"),
    ];
    let (_, alb, nlb) = zones
        .iter()
        .find(|(r, _, _)| *r == region)
        .unwrap_or(&zones[0]);
    if network {
        nlb
    } else {
        alb
    }
}

/// Resolves subnets and security groups in EC2, with AWS's checks: one VPC,
/// one subnet per zone, two zones at least for an ALB.
fn place(
    svc: &Elbv2,
    ctx: &RequestContext,
    network: bool,
    subnets: Option<&[String]>,
    mappings: Option<&[SubnetMapping]>,
    security_groups: Option<&[String]>,
) -> Result<Placement, ApiError> {
    let mut ids: Vec<String> = subnets.map(<[String]>::to_vec).unwrap_or_default();
    for m in mappings.unwrap_or_default() {
        if m.allocation_id.is_some() || m.private_i_pv4_address.is_some() {
            return Err(refused(
                "SubnetMappings with an AllocationId or PrivateIPv4Address",
                LOCAL_ADDRESSES,
            ));
        }
        if m.i_pv6_address.is_some() || m.source_nat_ipv6_prefix.is_some() {
            return Err(refused("IPv6 subnet mappings", IPV4_ONLY));
        }
        ids.extend(m.subnet_id.clone());
    }
    if subnets.is_some() && mappings.is_some() {
        return Err(validation(
            "You can specify subnets or subnet mappings, not both",
        ));
    }
    let (account, region) = (ctx.account.as_str(), ctx.region.as_str());
    let mut vpc_id: Option<String> = None;
    let mut zones: Vec<AvailabilityZone> = Vec::new();
    for id in &ids {
        // ecsbox's words for a subnet EC2 does not know or refuses.
        let info = svc
            .ec2
            .subnet(account, region, id)
            .ok()
            .flatten()
            .ok_or_else(|| {
                error(
                    ErrorCode::SubnetNotFoundException,
                    format!("The subnet ID '{id}' is not valid"),
                )
            })?;
        if vpc_id.get_or_insert_with(|| info.vpc_id.clone()) != &info.vpc_id {
            return Err(error(
                ErrorCode::InvalidSubnetException,
                "The subnets of a load balancer must all be in the same VPC",
            ));
        }
        if zones
            .iter()
            .any(|z| z.zone_name.as_deref() == Some(&info.availability_zone))
        {
            // AWS's words.
            return Err(error(
                ErrorCode::InvalidConfigurationRequestException,
                "A load balancer cannot be attached to multiple subnets in the same Availability Zone",
            ));
        }
        zones.push(AvailabilityZone {
            zone_name: Some(info.availability_zone),
            subnet_id: Some(id.clone()),
            load_balancer_addresses: Some(Vec::new()),
            ..Default::default()
        });
    }
    if !network && zones.len() < 2 {
        // AWS's words for an Application Load Balancer in fewer zones.
        return Err(validation(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    let Some(vpc_id) = vpc_id else {
        return Err(validation(
            "At least one subnet must be specified for a Network Load Balancer",
        ));
    };
    let security_groups = match security_groups {
        Some(groups) => {
            check_groups(svc, ctx, &vpc_id, groups)?;
            Some(groups.to_vec())
        }
        // An ALB without groups gets its VPC's default group; an NLB none.
        None if !network => svc
            .ec2
            .default_security_group(account, region, Some(&vpc_id))
            .map(|g| vec![g]),
        None => None,
    };
    Ok(Placement {
        vpc_id,
        zones,
        security_groups,
    })
}

/// Each group is one EC2 knows in the load balancer's VPC.
fn check_groups(
    svc: &Elbv2,
    ctx: &RequestContext,
    vpc_id: &str,
    groups: &[String],
) -> Result<(), ApiError> {
    for id in groups {
        let vpc = svc
            .ec2
            .security_group_vpc(&ctx.account, &ctx.region, id)
            .ok()
            .flatten();
        if vpc.as_deref() != Some(vpc_id) {
            // ecsbox's words; AWS answers InvalidSecurityGroup too.
            return Err(error(
                ErrorCode::InvalidSecurityGroupException,
                format!("Security group '{id}' does not exist in VPC '{vpc_id}'"),
            ));
        }
    }
    Ok(())
}

pub(super) fn create(
    svc: &Elbv2,
    ctx: &RequestContext,
    input: CreateLoadBalancerInput,
) -> Result<CreateLoadBalancerOutput, ApiError> {
    let name = input.name.clone().unwrap_or_default();
    check_name("Load balancer", &name)?;
    if name.starts_with("internal-") {
        return Err(validation(format!(
            "Load balancer name '{name}' cannot begin with 'internal-'"
        )));
    }
    let kind = input.r#type.clone().unwrap_or_else(|| "application".into());
    if kind == "gateway" {
        return Err(refused(
            "Gateway Load Balancers",
            "ecsbox serves Application and Network Load Balancers",
        ));
    }
    let network = kind == "network";
    if input
        .ip_address_type
        .as_deref()
        .is_some_and(|t| t != "ipv4")
    {
        return Err(refused("IpAddressType other than ipv4", IPV4_ONLY));
    }
    if input.customer_owned_ipv4_pool.is_some() || input.ipam_pools.is_some() {
        return Err(refused(
            "CustomerOwnedIpv4Pool and IpamPools",
            LOCAL_ADDRESSES,
        ));
    }
    if input.enable_prefix_for_ipv6_source_nat.as_deref() == Some("on") {
        return Err(refused("EnablePrefixForIpv6SourceNat", IPV4_ONLY));
    }
    let new_tags = tags::checked(input.tags.as_deref())?;
    let placement = place(
        svc,
        ctx,
        network,
        input.subnets.as_deref(),
        input.subnet_mappings.as_deref(),
        input.security_groups.as_deref(),
    )?;
    let scheme = input
        .scheme
        .clone()
        .unwrap_or_else(|| "internet-facing".into());
    let request = CreateLoadBalancerInput {
        tags: None,
        ..input
    };
    svc.with_region(ctx, |r| {
        if let Some(existing) = r
            .load_balancers
            .values()
            .find(|lb| lb.description.load_balancer_name.as_deref() == Some(name.as_str()))
        {
            // The same request again is answered with the same load
            // balancer, as AWS does; AWS's words otherwise.
            if existing.request == request {
                return Ok(CreateLoadBalancerOutput {
                    load_balancers: Some(vec![existing.description.clone()]),
                });
            }
            return Err(error(
                ErrorCode::DuplicateLoadBalancerNameException,
                format!("A load balancer with the same name '{name}' exists, but with different settings"),
            ));
        }
        let short = if network { "net" } else { "app" };
        let id = new_id();
        let lb_arn = arn(ctx, &format!("loadbalancer/{short}/{name}/{id}"));
        let digits = u64::from_str_radix(&id[..10], 16).unwrap_or_default() % 10_000_000_000;
        let prefix = if scheme == "internal" { "internal-" } else { "" };
        let description = LoadBalancer {
            load_balancer_arn: Some(lb_arn.clone()),
            dns_name: Some(format!(
                "{prefix}{name}-{digits:010}.{}.elb.localhost",
                ctx.region
            )),
            canonical_hosted_zone_id: Some(hosted_zone(&ctx.region, network).into()),
            created_time: Some(crate::clock::now_secs().floor()),
            load_balancer_name: Some(name.clone()),
            scheme: Some(scheme),
            vpc_id: Some(placement.vpc_id),
            state: Some(LoadBalancerState {
                code: Some("active".into()),
                reason: None,
            }),
            r#type: Some(kind.clone()),
            availability_zones: Some(placement.zones),
            security_groups: placement.security_groups,
            ip_address_type: Some("ipv4".into()),
            ..Default::default()
        };
        let mut answered = description.clone();
        answered.state = Some(LoadBalancerState {
            code: Some("provisioning".into()),
            reason: None,
        });
        r.load_balancers.insert(
            lb_arn,
            LoadBalancerRecord {
                description,
                request,
                attributes: attributes::load_balancer_defaults(network),
                tags: new_tags,
            },
        );
        Ok(CreateLoadBalancerOutput {
            load_balancers: Some(vec![answered]),
        })
    })
}

pub(super) fn describe(
    r: &mut Elbv2Region,
    input: DescribeLoadBalancersInput,
) -> Result<DescribeLoadBalancersOutput, ApiError> {
    let arns = input.load_balancer_arns.unwrap_or_default();
    let names = input.names.unwrap_or_default();
    if !arns.is_empty() && !names.is_empty() {
        return Err(validation(
            "Load balancer names and load balancer ARNs cannot be specified at the same time",
        ));
    }
    if arns.iter().any(|a| !r.load_balancers.contains_key(a)) {
        return Err(load_balancers_not_found());
    }
    let missing: Vec<String> = names
        .iter()
        .filter(|n| {
            !r.load_balancers
                .values()
                .any(|lb| lb.description.load_balancer_name.as_deref() == Some(n.as_str()))
        })
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(names_not_found(
            ErrorCode::LoadBalancerNotFoundException,
            "Load balancers",
            &missing,
        ));
    }
    let wanted = r.load_balancers.iter().filter(|(arn, lb)| {
        (arns.is_empty() || arns.contains(arn))
            && (names.is_empty()
                || names.contains(lb.description.load_balancer_name.as_ref().unwrap()))
    });
    let (items, next_marker) = page(
        wanted.map(|(k, lb)| (k, lb.description.clone())),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeLoadBalancersOutput {
        load_balancers: Some(items),
        next_marker,
    })
}

/// Deletes the load balancer with its listeners and rules (closed in the
/// plane); its target groups stay. Deleting one that does not exist
/// succeeds, as on AWS.
pub(super) fn delete(
    r: &mut Elbv2Region,
    plane: &LoadBalancing,
    input: DeleteLoadBalancerInput,
) -> Result<DeleteLoadBalancerOutput, ApiError> {
    let lb_arn = input.load_balancer_arn.unwrap_or_default();
    let Some(lb) = r.load_balancers.get(&lb_arn) else {
        return Ok(DeleteLoadBalancerOutput {});
    };
    if lb
        .attributes
        .get("deletion_protection.enabled")
        .map(String::as_str)
        == Some("true")
    {
        // AWS's words.
        return Err(error(
            ErrorCode::OperationNotPermittedException,
            format!(
                "Load balancer '{lb_arn}' cannot be deleted because deletion protection is enabled"
            ),
        ));
    }
    let listeners: Vec<String> = r
        .listeners_of(&lb_arn)
        .filter_map(|l| l.description.listener_arn.clone())
        .collect();
    for listener in &listeners {
        plane.close_listener(listener);
        r.listeners.remove(listener);
        r.rules.retain(|_, rule| &rule.listener_arn != listener);
    }
    r.load_balancers.remove(&lb_arn);
    Ok(DeleteLoadBalancerOutput {})
}

/// What SetSecurityGroups and SetSubnets check against: whether the load
/// balancer is a Network Load Balancer, its VPC and its security groups.
fn current(
    svc: &Elbv2,
    ctx: &RequestContext,
    lb_arn: &str,
) -> Result<(bool, String, Option<Vec<String>>), ApiError> {
    svc.with_region(ctx, |r| {
        let d = &r.load_balancer(lb_arn)?.description;
        Ok((
            d.r#type.as_deref() == Some("network"),
            d.vpc_id.clone().unwrap_or_default(),
            d.security_groups.clone(),
        ))
    })
}

pub(super) fn set_security_groups(
    svc: &Elbv2,
    ctx: &RequestContext,
    input: SetSecurityGroupsInput,
) -> Result<SetSecurityGroupsOutput, ApiError> {
    let lb_arn = input.load_balancer_arn.clone().unwrap_or_default();
    let (network, vpc_id, had_groups) = current(svc, ctx, &lb_arn)?;
    if network && had_groups.is_none() {
        // AWS: an NLB created without security groups cannot get them later.
        return Err(error(
            ErrorCode::InvalidConfigurationRequestException,
            "You cannot set security groups on a Network Load Balancer which was created without any security groups",
        ));
    }
    if input
        .enforce_security_group_inbound_rules_on_private_link_traffic
        .is_some()
    {
        return Err(refused(
            "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
            "there is no PrivateLink here",
        ));
    }
    let groups = input.security_groups.unwrap_or_default();
    check_groups(svc, ctx, &vpc_id, &groups)?;
    svc.with_region(ctx, |r| {
        let lb = r
            .load_balancers
            .get_mut(&lb_arn)
            .ok_or_else(load_balancers_not_found)?;
        lb.description.security_groups = Some(groups.clone());
        Ok(SetSecurityGroupsOutput {
            security_group_ids: Some(groups),
            enforce_security_group_inbound_rules_on_private_link_traffic: None,
        })
    })
}

pub(super) fn set_subnets(
    svc: &Elbv2,
    ctx: &RequestContext,
    input: SetSubnetsInput,
) -> Result<SetSubnetsOutput, ApiError> {
    let lb_arn = input.load_balancer_arn.clone().unwrap_or_default();
    let (network, vpc_id, groups) = current(svc, ctx, &lb_arn)?;
    if input
        .ip_address_type
        .as_deref()
        .is_some_and(|t| t != "ipv4")
    {
        return Err(refused("IpAddressType other than ipv4", IPV4_ONLY));
    }
    let placement = place(
        svc,
        ctx,
        network,
        input.subnets.as_deref(),
        input.subnet_mappings.as_deref(),
        groups.as_deref(),
    )?;
    if placement.vpc_id != vpc_id {
        return Err(error(
            ErrorCode::InvalidSubnetException,
            format!("The subnets must be in the load balancer's VPC '{vpc_id}'"),
        ));
    }
    svc.with_region(ctx, |r| {
        let lb = r
            .load_balancers
            .get_mut(&lb_arn)
            .ok_or_else(load_balancers_not_found)?;
        lb.description.availability_zones = Some(placement.zones.clone());
        Ok(SetSubnetsOutput {
            availability_zones: Some(placement.zones),
            ip_address_type: Some("ipv4".into()),
            enable_prefix_for_ipv6_source_nat: None,
        })
    })
}
